"""The course as its users meet it: formgrader and the Assignments tab, in a real browser.

One local hub (``make hub``) and one test, whose steps build on each other: prof releases
with a due date, alice sees hers (an extension) in the tab, works and submits, sees it sealed
after a notary pass, prof grades and releases feedback, alice fetches it, bob sees none of
it, and Ctrl-C leaves no process behind. (One test, not one per step: pytest-xdist would spread
separate tests over workers, each with its own hub.)
"""

import datetime
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from nbgrader_k8s_exchange import _core
from nbgrader_k8s_exchange.demo import score_in_feedback

from .hubproc import alive, descendants, in_pod, wait_until

WAIT = 120_000  # ms: a pod's first start includes JupyterLab's, on a busy 2-core machine
expect.set_options(timeout=WAIT)
# ps1's course-wide due date, and alice's extension (issue 14: the tab shows hers).
DUE = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(
    days=3
)
ALICE_DUE = DUE + datetime.timedelta(days=1)
RECEIPT = r"[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}"
ANSWER = (
    'def squares(n):\n    """The squares of 1..n."""\n    return [i * i for i in range(1, n + 1)]\n'
)


class Sessions:
    """One browser context per user, logged in through the hub's login form."""

    def __init__(self, hub, browser):
        self.hub = hub
        self.browser = browser
        self.pages = {}

    def log_in(self, user):
        """Submit the login form; the hub then spawns the user's pod, which takes a while."""
        if user not in self.pages:
            context = self.browser.new_context(viewport={"width": 1280, "height": 800})
            context.set_default_timeout(WAIT)
            page = context.new_page()
            page.goto(f"{self.hub.url}/hub/login")
            page.fill("#username_input", user)
            page.fill("#password_input", self.hub.passwords[user])
            page.click("#login_submit")
            self.pages[user] = page

    def refused(self, user, password):
        """Whether the hub turns away ``user`` logging in with ``password``."""
        context = self.browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"{self.hub.url}/hub/login")
            page.fill("#username_input", user)
            page.fill("#password_input", password)
            page.click("#login_submit")
            expect(page.locator(".login_error")).to_contain_text("Invalid username or password")
            return "/user/" not in page.url
        finally:
            context.close()

    def __call__(self, user):
        """``user``'s page, once their server has answered (JupyterLab or formgrader)."""
        self.log_in(user)
        page = self.pages[user]
        page.wait_for_url(re.compile(rf".*/user/{user}/(lab|formgrader).*"))
        return page


@pytest.fixture
def sessions(hub, browser):
    opened = Sessions(hub, browser)
    yield opened
    for page in opened.pages.values():
        page.context.close()


def formgrader_action(page, row, icon, expect_message):
    """Click a formgrader button in ``row`` and accept its result dialog (fail on an error)."""
    row.locator(f".glyphicon-{icon}").click()
    dialog = page.locator("#success-modal, #error-modal")
    expect(dialog).to_be_visible()
    text = dialog.inner_text()
    assert "success-modal" == dialog.get_attribute("id"), text
    assert expect_message in text
    dialog.locator(".modal-footer button").click()
    expect(dialog).to_have_count(0)


def assignment_row(page, name="ps1"):
    return page.locator("tbody tr").filter(has=page.locator("td.name", has_text=name))


def open_assignments_tab(page):
    page.get_by_role("menuitem", name="Nbgrader").click()
    page.get_by_role("menuitem", name="Assignment List").click()
    expect(page.locator("#released_assignments_list_loading")).to_be_hidden()


def nbgrader_k8s(hub, *args):
    """The admin CLI on the exchange, as the hub pod or a Job runs it."""
    script = Path(sys.executable).with_name("nbgrader-k8s")
    proc = subprocess.run(
        [str(script), "--root", str(hub.dir / "exchange"), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def utc(when):
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def instructor_releases_through_formgrader(hub, sessions, shots):
    prof = sessions("prof")
    expect(prof.get_by_role("heading", name="Manage Assignments")).to_be_visible()
    row = assignment_row(prof)
    expect(row.locator(".status")).to_have_text("draft")
    formgrader_action(prof, row, "education", "Successfully created the student version")
    # The due date in prof's gradebook, as in his pod's terminal; the release publishes it.
    nbgrader = Path(sys.executable).with_name("nbgrader")
    due = in_pod(
        hub,
        "prof",
        f"cd /home/jovyan/course101 && {nbgrader} db assignment add ps1 --duedate='{utc(DUE)}'",
    )
    assert due.returncode == 0, due.stdout + due.stderr
    formgrader_action(prof, row, "cloud-upload", "Successfully released 'ps1'")
    expect(row.locator(".status")).to_have_text("released")
    shots(prof, "01-instructor-released")
    assert (hub.dir / "exchange/course101/outbound/ps1/squares.ipynb").is_file()
    nbgrader_k8s(
        hub, "deadlines", "extend", "course101", "ps1", "alice", "--by", "1d", "--new-student"
    )


def student_fetches_edits_validates_and_submits(hub, sessions, shots):
    alice = sessions("alice")
    open_assignments_tab(alice)
    released = alice.locator("#released_assignments_list")
    expect(released).to_contain_text("ps1")
    # Our extension's line under the row: her due date, extension included, and time left.
    due = rf"due {utc(ALICE_DUE)} \(extension\) · 3d 2[0-3]h left"
    expect(released.locator(".nbk8s-due")).to_have_text(re.compile(due))
    shots(alice, "02-student-released")
    released.get_by_role("button", name="Fetch").click()

    fetched = alice.locator("#fetched_assignments_list")
    expect(fetched).to_contain_text("ps1")
    expect(fetched.locator(".nbk8s-due")).to_have_text(re.compile(due))
    shots(alice, "03-student-fetched")
    fetched.get_by_text("ps1").click()  # unfold: the assignment's notebooks
    fetched.get_by_text("squares").click()  # opens it in JupyterLab
    cell = alice.locator(".jp-Notebook .jp-Cell").filter(has_text="raise NotImplementedError")
    editor = cell.locator(".cm-content")
    editor.click()
    alice.keyboard.press("Control+a")
    alice.keyboard.insert_text(ANSWER.rstrip("\n"))
    alice.keyboard.press("Control+s")
    expect(alice.locator(".jp-StatusBar-Widget").filter(has_text="| Idle")).to_be_visible()
    shots(alice, "04-student-edited")
    saved = hub.dir / "homes/alice/ps1/squares.ipynb"
    wait_until(lambda: "i * i for i in" in saved.read_text(), "alice's answer saved")

    alice.get_by_role("tab", name="Assignments").click()
    fetched.get_by_role("button", name="Validate").click()
    dialog = alice.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Success! Your notebook passes all the tests.")
    shots(alice, "05-student-validated")
    dialog.get_by_role("button").last.click()
    expect(dialog).to_have_count(0)

    fetched.get_by_role("button", name="Submit").click()
    submitted = alice.locator("#submitted_assignments_list")
    expect(submitted).to_contain_text("ps1")
    # Not seen by the notary yet, which has confirmed nothing to her: no seal line at all.
    expect(submitted.locator(".nbk8s-seal")).to_have_count(0)
    shots(alice, "06-student-submitted")
    inbox = hub.dir / "exchange/course101/inbound/alice"
    [submission] = [p for p in inbox.iterdir() if not p.name.startswith(".")]
    assert "i * i for i in" in (submission / "squares.ipynb").read_text()
    # inbound/alice/{assignment}+{timestamp}+{random}
    student_sees_it_sealed(hub, alice, shots, submission.name.split("+", 1)[1].rsplit("+", 1)[0])


def student_sees_it_sealed(hub, alice, shots, timestamp):
    """One notary pass (issue 17): the tab then shows when, and the receipt she holds."""
    nbgrader_k8s(hub, "notary", "run", "--once")
    alice.locator("#refresh_assignments_list").click()
    seal = alice.locator("#submitted_assignments_list .nbk8s-seal")
    expect(seal).to_have_text(re.compile(rf"^sealed at \d{{4}}-.* UTC · receipt {RECEIPT}$"))
    cache = hub.dir / "homes/alice/.local/share/jupyter/nbgrader_cache/course101"
    kept = (cache / f"alice+ps1+{timestamp}" / ".nbk8s-receipt").read_text().strip()
    assert seal.inner_text().endswith(f"receipt {_core.short_receipt(kept)}")
    shots(alice, "06b-student-sealed", height=420)


def instructor_collects_autogrades_and_releases_feedback(hub, sessions, shots):
    prof = sessions("prof")
    prof.reload()
    row = assignment_row(prof)
    formgrader_action(prof, row, "cloud-download", "Successfully collected submissions of 'ps1'")
    prof.reload()
    row.locator("td.num-submissions a").click()  # the submissions of ps1
    alice = prof.locator("tbody tr").filter(has=prof.locator("td.student-id", has_text="alice"))
    formgrader_action(prof, alice, "flash", "Successfully autograded 'ps1' for student 'alice'")
    expect(alice.locator("td.score")).to_have_text("2 / 2")
    shots(prof, "07-instructor-autograded", height=370)

    prof.get_by_role("link", name="Manage Assignments").click()
    row = assignment_row(prof)
    formgrader_action(prof, row, "comment", "Successfully generated feedback of 'ps1'")
    formgrader_action(prof, row, "envelope", "Successfully released feedback of 'ps1'")
    shots(prof, "08-instructor-feedback-released")
    assert list((hub.dir / "exchange/course101/feedback_public/alice").glob("*.html"))


def student_sees_feedback_ready_and_fetches_it(hub, sessions, shots):
    alice = sessions("alice")
    alice.get_by_role("tab", name="Assignments").click()
    alice.locator("#refresh_assignments_list").click()
    submitted = alice.locator("#submitted_assignments_list")
    expect(submitted).to_contain_text("(feedback available to fetch)")
    shots(alice, "09-student-feedback-ready", height=360)
    submitted.get_by_role("button", name="Fetch Feedback").click()
    expect(submitted).to_contain_text("(view feedback)")
    submitted.get_by_text("(view feedback)").click()  # the file browser opens the folder
    expect(alice.locator(".jp-DirListing-content")).to_contain_text("squares.html")
    shots(alice, "10-student-feedback-fetched")
    [html] = (hub.dir / "homes/alice/ps1/feedback").glob("*/squares.html")
    assert score_in_feedback(html.read_text()) == "2.0 / 2.0"


def second_student_sees_and_reaches_none_of_the_first(hub, sessions, shots):
    bob = sessions("bob")
    open_assignments_tab(bob)
    expect(bob.locator("#released_assignments_list")).to_contain_text("ps1")
    # The course-wide due date: alice's extension is hers alone.
    expect(bob.locator(".nbk8s-due")).to_have_text(re.compile(rf"due {utc(DUE)} · 2d 2[0-3]h left"))
    expect(bob.locator("#fetched_assignments_list")).to_contain_text(
        "There are no downloaded assignments."
    )
    expect(bob.locator("#submitted_assignments_list")).to_contain_text(
        "There are no submitted assignments."
    )
    shots(bob, "11-second-student-tab")

    # bob's pod, as it runs: alice's submission and feedback are not there to be reached.
    seen = in_pod(hub, "bob", "cd /mnt/exchange && find . | sort")
    assert seen.returncode == 0, seen.stderr
    assert "alice" not in seen.stdout
    assert "./course101/inbound/bob" in seen.stdout.split()
    for path in ("inbound/alice", "feedback_public/alice"):
        probe = in_pod(hub, "bob", f"ls /mnt/exchange/course101/{path}")
        assert probe.returncode != 0 and "No such file" in probe.stderr, path
    assert in_pod(hub, "bob", "id -u").stdout.strip() == "1000"


def ctrl_c_stops_everything(hub):
    processes = descendants(hub.proc.pid)
    commands = " ".join(alive(processes))
    # What is running: the hub, its proxy, and a pod (server and kernel) per user who came.
    for needle in ("jupyterhub", "configurable-http-proxy", "unshare", "ipykernel"):
        assert needle in commands, needle
    assert hub.interrupt() == 0, hub.logs()
    assert alive(processes) == []


def test_a_course_in_the_browser(hub, sessions, shots):
    # Each demo user has their own password: a student's does not open the instructor's hub.
    assert sessions.refused("prof", hub.passwords["alice"])
    for user in ("prof", "alice", "bob"):  # their pods start side by side
        sessions.log_in(user)
    instructor_releases_through_formgrader(hub, sessions, shots)
    student_fetches_edits_validates_and_submits(hub, sessions, shots)
    instructor_collects_autogrades_and_releases_feedback(hub, sessions, shots)
    student_sees_feedback_ready_and_fetches_it(hub, sessions, shots)
    second_student_sees_and_reaches_none_of_the_first(hub, sessions, shots)
    ctrl_c_stops_everything(hub)
