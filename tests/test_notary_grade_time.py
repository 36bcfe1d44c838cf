"""The seal decides (issue 23): the time nbgrader grades a collected submission by is the
notary's seal time where the seal contradicts the student's claim, through the real
``nbgrader collect``, ``autograde`` and ``export`` and the real ``nbgrader-k8s notary run``
and ``status``; and the notary takes a pass at each due date (on latencyfs, a simulated
network volume with an attribute cache), so a plant made seconds after a due date is late."""

import csv
import datetime
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Optional

import pytest

from tests.admin_cli import admin, admin_ok, events, inbox, notary_pass, script, submissions
from tests.test_notary_collect import collected, set_due

UTC = datetime.timezone.utc
STAMP = "%Y-%m-%d %H:%M:%S.%f UTC"


def plant(course, student: str, claimed: datetime.datetime, src: Optional[Path] = None) -> Path:
    """``src`` (else ``student``'s only submission) moved to a name claiming ``claimed``, its
    timestamp.txt to match: what a student writing their inbox directly can do."""
    if src is None:
        (src,) = submissions(course, student)
    stamp = claimed.strftime(STAMP)
    (src / "timestamp.txt").write_text(stamp)
    planted = inbox(course, student) / f"ps1+{stamp}+planted"
    src.rename(planted)
    return planted


def export(course) -> dict:
    """``nbgrader export`` as the instructor: the row of each student."""
    dest = course.instructor_dir / "grades.csv"
    course.instructor("export", f"--CsvExportPlugin.to={dest}")
    with open(dest, newline="") as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh)}


def backdated(course) -> tuple:
    """bob's submission planted 40 minutes before its seal, claiming 10 minutes before a due
    date that passed half an hour ago; the seal the notary gives it."""
    now = datetime.datetime.now(UTC)
    due = (now - datetime.timedelta(minutes=30)).replace(microsecond=0)
    set_due(course, due)
    course.submit_answer("bob", "ps1", correct=True)
    planted = plant(course, "bob", due - datetime.timedelta(minutes=10))
    notary_pass(course)
    (seal,) = [s for s in events(course, "seal") if s["submission"] == planted.name]
    return planted, seal


def test_a_backdated_plant_gets_the_late_penalty_through_autograde_and_export(released):
    course = released
    planted, seal = backdated(course)
    sealed = datetime.datetime.fromisoformat(seal["sealed"].replace("Z", "+00:00"))
    out = course.instructor("collect", "ps1")
    stamp = (collected(course, "bob") / "timestamp.txt").read_text()
    assert stamp == sealed.strftime(STAMP), out
    assert f"{planted.name} graded by its seal time {stamp}, not its claimed time" in out, out
    assert "rule: the notary's seal" in out
    assert "may be backdated" not in out

    course.instructor("autograde", "ps1", "--LateSubmissionPlugin.penalty_method=zero")
    row = export(course)["bob"]
    assert float(row["raw_score"]) == 2.0
    assert float(row["late_submission_penalty"]) == 2.0, row
    assert float(row["score"]) == 0.0
    assert row["timestamp"].startswith(sealed.strftime("%Y-%m-%d %H:%M:%S")), row

    # status judges by the same rule: late, by its seal.
    status = json.loads(admin_ok(course, "status", "course101", "ps1", "--json"))
    (bob,) = [s for s in status["assignments"][0]["per_student"] if s["student"] == "bob"]
    assert (bob["late"], bob["graded_by"]) == (True, "seal"), bob
    assert bob["late_by_seconds"] >= 29 * 60
    table = admin_ok(course, "status", "course101", "ps1")
    assert "yes (seal)" in table, table


def test_grade_time_claim_keeps_the_claim(released):
    course = released
    planted, _ = backdated(course)
    claimed = (planted / "timestamp.txt").read_text()
    out = course.instructor("collect", "ps1")
    assert (collected(course, "bob") / "timestamp.txt").read_text() != claimed
    shutil.rmtree(collected(course, "bob"))

    out = course.instructor("collect", "ps1", "--Exchange.grade_time=claim")
    assert (collected(course, "bob") / "timestamp.txt").read_text() == claimed
    assert "graded by its seal time" not in out
    assert f"{planted.name} may be backdated: claims " in out, out
    course.instructor("autograde", "ps1", "--LateSubmissionPlugin.penalty_method=zero")
    row = export(course)["bob"]
    assert (float(row["late_submission_penalty"]), float(row["score"])) == (0.0, 2.0), row
    status = admin_ok(course, "status", "course101", "ps1", "--grade-time", "claim", "--json")
    (bob,) = json.loads(status)["assignments"][0]["per_student"]
    assert (bob["late"], bob["graded_by"]) == (False, "claim"), bob


def test_without_a_notary_each_claim_stands_and_collect_says_so_once(released):
    course = released
    for student in ("alice", "bob"):
        course.submit_answer(student, "ps1", correct=True)
    out = course.instructor("collect", "ps1")
    assert out.count('the notary has sealed nothing in course "course101"') == 1, out
    assert "every submission is graded by its claimed time" in out
    for student in ("alice", "bob"):
        (sub,) = submissions(course, student)
        stamp = (collected(course, student) / "timestamp.txt").read_text()
        assert stamp == (sub / "timestamp.txt").read_text()


# -- passes at due dates, on a simulated network volume ----------------------------------------

REPO = Path(__file__).resolve().parent.parent
LATENCYFS = REPO / "target" / "release" / "latencyfs"
ATTR_CACHE_S = 1.0


@pytest.fixture
def volume(released, tmp_path):
    """The course's exchange served by latencyfs (1 ms a round trip, 1 s attribute cache) at
    a mount point the notary watches, while students and the instructor write the backing
    directory directly: other clients, as on NFS. Needs root and /dev/fuse."""
    from bench.mounts import Env, FuseMount

    if not Path("/dev/fuse").exists():
        pytest.skip("no /dev/fuse")
    if os.geteuid() != 0:
        pytest.skip("mounting latencyfs needs root")
    if not LATENCYFS.exists():
        subprocess.run(
            ["cargo", "build", "--release", "-q", "-p", "nbgrader-k8s-latencyfs"],
            cwd=REPO,
            check=True,
        )
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    env = Env("1ms", latency_ms=1.0, attr_timeout_s=ATTR_CACHE_S)
    with FuseMount(env, released.exchange, mountpoint):
        yield released, mountpoint


def index(course) -> dict:
    path = course.exchange / "course101" / ".nbk8s-notary" / "index.json"
    return json.loads(path.read_text()) if path.exists() else {}


def wait_for(what, timeout: float = 60.0):
    """Poll ``what()`` until it is truthy (the notary works at its own pace)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = what()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what.__doc__ or what}")


def test_a_plant_seconds_after_a_due_date_is_late_and_one_there_at_it_is_not(volume):
    course, mountpoint = volume
    course.submit_answer("alice", "ps1", correct=True)
    course.submit_answer("bob", "ps1", correct=True)
    (honest,) = submissions(course, "alice")
    (bob_first,) = submissions(course, "bob")
    # Far enough ahead for the gradebook and the published file on a loaded machine.
    due = (datetime.datetime.now(UTC) + datetime.timedelta(seconds=45)).replace(microsecond=0)
    due_key = due.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    set_due(course, due)
    assert datetime.datetime.now(UTC) < due - datetime.timedelta(seconds=3), "machine too slow"

    log = (course.base / "notary.log").open("w")
    notary = subprocess.Popen(
        [
            script(),
            "--root",
            str(mountpoint),
            "notary",
            "run",
            "--interval",
            "20s",
            "--attr-cache",
            f"{ATTR_CACHE_S:g}s",
            "--deadline-grace",
            "15s",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:

        def covered():
            """the pass covering the due date"""
            return index(course).get("due_passes", {}).get(due_key)

        # Right after the pass covering the due date, bob plants a copy claiming a second
        # before it.
        coverage = wait_for(covered, timeout=60)
        planted_at = datetime.datetime.now(UTC)
        copy = inbox(course, "bob") / ".tmp-plant"
        shutil.copytree(bob_first, copy)
        planted = plant(course, "bob", due - datetime.timedelta(seconds=1), copy)
        # A few seconds after the due date, well within the tolerance of its claim.
        assert (planted_at - due).total_seconds() < 10, (coverage, planted_at)

        def snapshots_taken():
            """both students' deadline snapshots, the plant sealed"""
            idx = index(course)
            seals = idx.get("seals", {})
            snaps = idx.get("deadlines", {})
            return f"bob/{planted.name}" in seals and {"alice/ps1", "bob/ps1"} <= set(snaps) and idx

        idx = wait_for(snapshots_taken, timeout=60)
    finally:
        notary.terminate()
        notary.wait(timeout=30)
        log.close()

    seal = idx["seals"][f"bob/{planted.name}"]
    assert seal["sealed"] > coverage["completed"]
    # The deadline snapshot: bob's is his submission from before the due date, not the plant.
    assert idx["deadlines"]["bob/ps1"]["submission"] == bob_first.name
    assert idx["deadlines"]["alice/ps1"]["submission"] == honest.name
    (due_pass,) = events(course, "due_pass")
    assert due_pass["due"] == due_key

    # collect: the plant (bob's newest claim) is graded by its seal time, after the due date;
    # alice's stays at her claim.
    out = course.instructor("collect", "ps1")
    bob_stamp = (collected(course, "bob") / "timestamp.txt").read_text()
    sealed = datetime.datetime.fromisoformat(seal["sealed"].replace("Z", "+00:00"))
    assert bob_stamp == sealed.strftime(STAMP), out
    assert "rule: the notary's seal, pass at the due date" in out, out
    alice_stamp = (collected(course, "alice") / "timestamp.txt").read_text()
    assert alice_stamp == (honest / "timestamp.txt").read_text()

    # status: bob late (by the seal), alice on time.
    status = json.loads(admin_ok(course, "status", "course101", "ps1", "--json"))
    rows = {s["student"]: s for s in status["assignments"][0]["per_student"]}
    assert (rows["bob"]["late"], rows["bob"]["graded_by"]) == (True, "seal"), rows
    assert (rows["alice"]["late"], rows["alice"]["graded_by"]) == (False, "claim"), rows

    # --before-duedate takes bob's submission from before the due date (the snapshot).
    shutil.rmtree(course.instructor_dir / "submitted")
    out = course.instructor("collect", "--before-duedate", "ps1")
    assert (collected(course, "bob") / "timestamp.txt").read_text() == (
        bob_first / "timestamp.txt"
    ).read_text(), out


def test_status_refuses_an_unknown_grade_time(released):
    proc = admin(released, "status", "course101", "--grade-time", "ctime")
    assert proc.returncode != 0
    assert "grade_time must be 'seal' or 'claim'" in proc.stderr
