"""The seal decides (issue 23, items 3-5), through the real nbgrader CLI and the real
``nbgrader-k8s``: a sealed submission hidden under a dot name, edited and returned is caught
in the pass that sees it back and its sealed copy collected; a sealed submission the student
deleted is named by ``list --inbound`` and ``audit`` (an instructor's removal is not); and no
notary copy under ``{course}/.nbk8s-notary/`` is used unchecked: a hand-edited index entry
and a hand-edited sealed copy are refused with a warning naming them."""

import datetime
import json
import shutil
import subprocess
import time
from pathlib import Path

from tests.admin_cli import admin, events, notary, notary_pass, script, submissions
from tests.test_notary_collect import plant_after_the_due_date

UTC = datetime.timezone.utc


def index_path(course):
    return course.exchange / "course101" / ".nbk8s-notary" / "index.json"


def collected(course, student: str):
    return course.instructor_dir / "submitted" / student / "ps1"


def edit(submission, mark: str) -> None:
    notebook = next(submission.glob("*.ipynb"))
    notebook.write_text(notebook.read_text().replace("squares", f"squares  # {mark}"))


def run_passes(course, passes: int, *extra: str, during=None) -> list:
    """The notary daemon (``notary run``, 1 s apart) until it has made `passes` passes,
    calling `during()` once the first has ended; its pass log lines."""
    proc = subprocess.Popen(
        [script(), "--root", str(course.exchange), "notary", "run", "--interval", "1s", *extra],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    seen = []
    try:
        deadline = time.monotonic() + 120
        for line in proc.stderr:
            assert time.monotonic() < deadline, "the notary made too few passes"
            record = json.loads(line)
            if record.get("event") != "pass":
                continue
            seen.append(record)
            if len(seen) == 1 and during is not None:
                during()
            if len(seen) == passes:
                break
    finally:
        proc.terminate()
        proc.wait()
    return seen


def test_hide_and_return_is_caught_at_once_and_the_sealed_copy_collected(released):
    course = released
    course.submit_answer("alice", "ps1", correct=True)
    notary_pass(course, "--keep-sealed", "course101")
    (sub,) = submissions(course, "alice")
    sealed_text = next(sub.glob("*.ipynb")).read_text()
    hidden = sub.with_name(".hidden")
    sub.rename(hidden)
    notary_pass(course, "--keep-sealed", "course101")
    assert [e["submission"] for e in events(course, "vanished")] == [sub.name]
    edit(hidden, "edited while hidden")

    # Back under its name while the notary runs with rechecks far apart: the pass that
    # sees it re-digests it.
    passes = run_passes(
        course,
        3,
        "--recheck-every",
        "1000",
        "--keep-sealed",
        "course101",
        during=lambda: hidden.rename(sub),
    )
    assert [p["recheck"] for p in passes] == [True, False, False]
    (back,) = events(course, "returned")
    assert (back["student"], back["submission"], back["matches"]) == ("alice", sub.name, False)
    assert back["receipt"] != events(course, "seal")[0]["receipt"]
    entry = json.loads(index_path(course).read_text())["seals"][f"alice/{sub.name}"]
    assert entry["state"] == "changed" and entry["changed_at"] == back["time"]
    assert entry["returned"] == back["time"]
    log = notary(course, "log", "course101", "--student", "alice")
    assert " returned " in log.stdout and "NOT as sealed" in log.stdout, log.stdout

    out = course.instructor("collect", "ps1")
    notebook = next(collected(course, "alice").glob("*.ipynb"))
    assert notebook.read_text() == sealed_text
    assert f"{sub.name} hidden and returned changed after it was sealed at " in out, out
    assert "collected the sealed copy" in out


def test_a_sealed_submission_deleted_since_is_shown_by_list_inbound_and_audit(released):
    course = released
    course.submit_answer("alice", "ps1", correct=True)
    course.submit_answer("bob", "ps1", correct=True)
    notary_pass(course)
    (alice,) = submissions(course, "alice")
    (bob,) = submissions(course, "bob")
    seal = {s["student"]: s for s in events(course, "seal")}["alice"]
    short = "-".join(seal["receipt"][i : i + 4] for i in range(0, 16, 4))
    shutil.rmtree(alice)  # the student deletes hers
    course.instructor("list", "ps1", "--inbound", "--remove", "--student=bob")
    notary_pass(course)
    assert [e["student"] for e in events(course, "vanished")] == ["alice"]
    assert [e["student"] for e in events(course, "removed")] == ["bob"]

    out = course.instructor("list", "--inbound")
    note = f"deleted after it was sealed at {seal['sealed']} (receipt {short}"
    assert f"{alice.name} {note}" in out, out
    assert f"{bob.name} deleted" not in out

    proc = admin(course, "audit", "course101", "--json")
    found = [f for f in json.loads(proc.stdout)["findings"] if f["code"] == "deleted_after_seal"]
    assert [(f["student"], Path(f["path"]).name) for f in found] == [("alice", alice.name)]
    assert found[0]["message"].startswith(note), found


def test_a_hand_edited_index_that_would_make_a_plant_on_time_is_refused(released):
    course = released
    due, real, planted, _ = plant_after_the_due_date(course)
    # Someone who can write the course moves the plant's seal to just after its claim.
    index = json.loads(index_path(course).read_text())
    forged = (due - datetime.timedelta(milliseconds=100)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    index["seals"][f"bob/{planted.name}"]["sealed"] = forged
    index_path(course).write_text(json.dumps(index))
    assert notary(course, "verify", "course101").returncode == 0  # the ledger is untouched

    out = course.instructor("collect", "--before-duedate", "ps1", "--Exchange.backdate_tolerance=5")
    assert f"the notary's index entry bob/{planted.name} does not give the sealed time" in out
    assert str(index_path(course)) in out, out
    dest = collected(course, "bob")
    assert "# planted" not in next(dest.glob("*.ipynb")).read_text()
    assert (dest / "timestamp.txt").read_text() == (real / "timestamp.txt").read_text()
    assert f"{planted.name} not counted as before the due date" in out

    # The audit holds the copy to the ledger itself.
    proc = admin(course, "audit", "course101")
    assert "index_mismatch" in proc.stdout, proc.stdout
    assert f"bob/{planted.name}: its sealed time is not the ledger's" in proc.stdout
    assert proc.returncode == 3

    # status judges by the ledger's seals, not the edited copy, and says the copy differs.
    args = ("status", "course101", "ps1", "--backdate-tolerance", "5")
    proc = admin(course, *args, "--json")
    assert proc.returncode == 0, proc.stderr
    (bob,) = [
        s for s in json.loads(proc.stdout)["assignments"][0]["per_student"] if s["student"] == "bob"
    ]
    assert (bob["late"], bob["graded_by"]) == (True, "seal"), bob
    proc = admin(course, *args)
    assert "index.json of course101 differs from its ledger in 1 entry" in proc.stderr, proc.stderr


def test_a_hand_edited_sealed_copy_is_refused_and_not_collected(released):
    course = released
    course.submit_answer("alice", "ps1", correct=True)
    notary_pass(course, "--keep-sealed", "course101")
    (sub,) = submissions(course, "alice")
    edit(sub, "edited after the seal")
    notary_pass(course, "--keep-sealed", "course101")
    assert [e["submission"] for e in events(course, "changed")] == [sub.name]
    copy = course.exchange / "course101" / ".nbk8s-notary" / "sealed" / "alice" / sub.name
    edit(copy, "forged in the sealed copy")

    out = course.instructor("collect", "ps1")
    assert f"refused the notary's sealed copy {copy}: it holds receipt " in out, out
    assert "collected the sealed copy" not in out
    text = next(collected(course, "alice").glob("*.ipynb")).read_text()
    assert "forged in the sealed copy" not in text
    assert "edited after the seal" in text  # the inbox's, with the warning that says so
    assert f"{sub.name} modified after it was sealed at " in out
