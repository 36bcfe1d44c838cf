"""The instructor's side of the notary, through the real nbgrader CLI and the real
``nbgrader-k8s notary run --once``: collect takes the sealed copy of a submission the student
edited after its seal, ``--before-duedate`` takes the notary's deadline snapshot, and a
submission planted after the due date with an earlier claimed time is not "before the due
date" (docs/notary.md, docs/deadlines.md)."""

import datetime
import json
import shutil
import time

from tests.admin_cli import admin, events, inbox, notary, notary_pass, submissions

UTC = datetime.timezone.utc


def set_due(course, when: datetime.datetime) -> None:
    """The due date in the gradebook, published to the exchange as the instructor would."""
    stamp = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    course.instructor("db", "assignment", "add", "ps1", f"--duedate={stamp}")
    gradebook = course.instructor_dir / "gradebook.db"
    proc = admin(course, "deadlines", "publish", "course101", "--gradebook", str(gradebook))
    assert proc.returncode == 0, proc.stderr


def collected(course, student: str):
    return course.instructor_dir / "submitted" / student / "ps1"


def edit_in_place(submission) -> None:
    notebook = next(submission.glob("*.ipynb"))
    notebook.write_text(notebook.read_text().replace("squares", "squares  # edited later"))


def test_collect_takes_the_sealed_copy_of_a_submission_edited_after_its_seal(released):
    course = released
    course.submit_answer("alice", "ps1", correct=True)
    notary_pass(course, "--keep-sealed", "course101")
    (sub,) = submissions(course, "alice")
    sealed_text = next(sub.glob("*.ipynb")).read_text()
    edit_in_place(sub)
    notary_pass(course, "--keep-sealed", "course101")
    assert [e["submission"] for e in events(course, "changed")] == [sub.name]

    out = course.instructor("collect", "ps1")
    notebook = next(collected(course, "alice").glob("*.ipynb"))
    assert notebook.read_text() == sealed_text
    assert "edited later" not in notebook.read_text()
    assert f"{sub.name} modified after it was sealed at " in out
    assert "collected the sealed copy" in out, out


def test_before_duedate_takes_the_deadline_snapshot_after_an_edit_and_a_late_submit(released):
    course = released
    course.submit_answer("alice", "ps1", correct=True)
    (on_time,) = submissions(course, "alice")
    on_time_text = next(on_time.glob("*.ipynb")).read_text()
    time.sleep(1.2)
    set_due(course, datetime.datetime.now(UTC))
    notary_pass(course, "--deadline-grace", "0s")
    (snap,) = events(course, "deadline_snapshot")
    assert (snap["submission"], snap["copy"]) == (on_time.name, "deadline/alice/ps1")

    # After the deadline: she edits the on-time one in place and submits a late one.
    edit_in_place(on_time)
    time.sleep(1.2)
    course.submit_answer("alice", "ps1", correct=False)
    notary_pass(course, "--deadline-grace", "0s")
    assert len(events(course, "deadline_snapshot")) == 1, "taken once"

    out = course.instructor("collect", "--before-duedate", "ps1")
    dest = collected(course, "alice")
    assert next(dest.glob("*.ipynb")).read_text() == on_time_text
    assert (dest / "timestamp.txt").read_text() == (on_time / "timestamp.txt").read_text()
    assert "taken from the notary's deadline snapshot at " in out, out
    assert f"(submission {on_time.name}, receipt " in out

    log = notary(course, "log", "course101", "--student", "alice")
    assert log.returncode == 0, log.stderr
    for event in ("seal", "changed", "deadline_snapshot"):
        assert f" {event} " in log.stdout, log.stdout
    assert "kept in deadline/alice/ps1" in log.stdout


def plant_after_the_due_date(course):
    """bob submits, sealed at once; a due date passes; 6 s later a copy is planted claiming
    half a second before it, and sealed (no snapshot yet: the rule alone decides). Returns
    (due, real, planted, claimed)."""
    course.submit_answer("bob", "ps1", correct=False)
    notary_pass(course)  # sealed at once: within the tolerance of its claim
    (real,) = submissions(course, "bob")
    time.sleep(1.2)
    due = datetime.datetime.now(UTC).replace(microsecond=0)
    set_due(course, due)
    claimed = (due - datetime.timedelta(milliseconds=500)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    planted = inbox(course, "bob") / f"ps1+{claimed}+planted"
    shutil.copytree(real, planted)
    (planted / "timestamp.txt").write_text(claimed)
    notebook = next(planted.glob("*.ipynb"))
    notebook.write_text(notebook.read_text().replace("squares", "squares  # planted"))
    time.sleep(6)
    notary_pass(course, "--deadline-grace", "1h")
    return due, real, planted, claimed


def test_a_backdated_plant_after_the_due_date_is_not_before_it(released):
    course = released
    _, real, planted, claimed = plant_after_the_due_date(course)
    (plant_seal,) = [s for s in events(course, "seal") if s["submission"] == planted.name]
    assert plant_seal["claimed"] == claimed

    out = course.instructor("collect", "--before-duedate", "ps1", "--Exchange.backdate_tolerance=5")
    dest = collected(course, "bob")
    assert (dest / "timestamp.txt").read_text() == (real / "timestamp.txt").read_text()
    assert "# planted" not in next(dest.glob("*.ipynb")).read_text()
    assert f"{planted.name} not counted as before the due date" in out, out
    assert "rule: the notary's seal" in out
    index = json.loads((course.exchange / "course101/.nbk8s-notary/index.json").read_text())
    assert index["deadlines"] == {}
