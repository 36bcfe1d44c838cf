"""``nbgrader-k8s migrate`` on a real course run with nbgrader's default exchange.

The course is built with the real ``nbgrader`` CLI and nbgrader's own exchange (the config
without the ``c.ExchangeFactory`` lines): release, several students' submissions with a
resubmission, collect, autograde, feedback released as ``feedback/{hash}.html``. Then it is
migrated, everyone switches to our plugin on the new root, and the students must find their
feedback and the instructor their submissions, in the numbers the migration reported.
"""

import json
import os
import shutil
import subprocess
import sys

from nbgrader_k8s_exchange.demo import Course, score_in_feedback

# Right or wrong answer per student; bob resubmits a right one after his wrong one.
STUDENTS = {"alice": True, "bob": False, "carol": True}


def _switch_exchange(course: Course, exchange) -> None:
    """Point the instructor and every student at the new root, with our plugin (as a
    deployment does when it migrates)."""
    course.exchange = exchange
    course.plugin = True
    course._write_config(
        course.instructor_dir, f"c.CourseDirectory.root = {str(course.instructor_dir)!r}\n"
    )
    for student, home in course.students.items():
        course._write_config(home, course._student_config(student))


def _nbgrader_k8s(*args: str) -> subprocess.CompletedProcess:
    script = os.path.join(os.path.dirname(sys.executable), "nbgrader-k8s")
    return subprocess.run(
        [script if os.path.exists(script) else shutil.which("nbgrader-k8s"), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def _old_course(tmp_path) -> Course:
    """course101 run to released feedback on nbgrader's default exchange."""
    course = Course(
        tmp_path,
        exchange=tmp_path / "old-exchange",
        plugin=False,
        # Every simulated user is the same OS user; the default collect would skip them all.
        extra_config="c.ExchangeCollect.check_owner = False\n",
    )
    course.create_assignment("ps1")
    course.instructor("release_assignment", "ps1")
    for student, correct in STUDENTS.items():
        course.submit_answer(student, "ps1", correct)
    course.submit_answer("bob", "ps1", True)
    course.instructor("collect", "ps1")
    course.instructor("autograde", "ps1")
    course.instructor("generate_feedback", "ps1")
    course.instructor("release_feedback", "ps1")
    return course


def test_migrated_course_works_with_the_plugin(tmp_path):
    course = _old_course(tmp_path)
    old = tmp_path / "old-exchange" / "course101"
    # nbgrader's default layout: flat inbound, feedback by hash only.
    assert len(list((old / "inbound").iterdir())) == 4
    assert all("+ps1+" in p.name for p in (old / "inbound").iterdir())
    assert len(list((old / "feedback").glob("*.html"))) == 3

    new_root = tmp_path / "exchange"
    proc = _nbgrader_k8s(
        "migrate",
        "--from",
        str(tmp_path / "old-exchange"),
        "--to",
        str(new_root),
        "--course-dir",
        str(course.instructor_dir),
        "--uid",
        str(os.getuid()),
        "--gid",
        str(os.getgid()),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    [report] = json.loads(proc.stdout)["courses"]
    assert report["course"] == "course101"
    assert report["releases"] == {"found": 1, "migrated": 1, "already": 0, "skipped": 0}
    assert report["submissions"] == {"found": 4, "migrated": 4, "already": 0, "skipped": 0}
    assert report["feedback"] == {"found": 3, "migrated": 3, "already": 0, "skipped": 0}
    assert report["skipped"] == []

    _switch_exchange(course, new_root)
    ex = new_root / "course101"
    assert sorted(p.name for p in (ex / "inbound").iterdir()) == sorted(STUDENTS)

    # Students: feedback is ready, they fetch it and find their own score.
    for student in STUDENTS:
        listing = course.student(student, "list", "--cached")
        assert "(feedback ready to be fetched)" in listing
        course.student(student, "fetch_feedback", "ps1")
        [feedback] = course.feedback_files(student, "ps1")
        assert feedback.name == "squares.html"
        # bob's collected (newest) submission was the right one.
        assert score_in_feedback(feedback.read_text()) == "2.0 / 2.0"
    bob = course.student("bob", "list", "--cached")
    assert bob.count("course101 bob ps1") == 2
    assert bob.count("(no feedback available)") == 1

    # Instructor: every migrated submission is listed, and collect finds each student.
    inbound = course.instructor("list", "--inbound")
    submissions = sum(inbound.count(f"course101 {s} ps1") for s in STUDENTS)
    assert submissions == report["submissions"]["migrated"]
    out = course.instructor("collect", "--update", "ps1")
    assert f"Processing {len(STUDENTS)} submissions" in out

    # Each one is in the migration record, for the backdating checks.
    record = (ex / ".nbk8s-migrated").read_text().splitlines()
    assert len([line for line in record if not line.startswith("#")]) == 4

    # The audit does not take the copies (fresh ctime, 2024-ish claims) for backdated ones.
    uid, gid = str(os.getuid()), str(os.getgid())
    proc = _nbgrader_k8s("--root", str(new_root), "audit", "course101", "--uid", uid, "--gid", gid)
    assert "backdated" not in proc.stdout, proc.stdout

    # Rerunning is harmless: everything is already there.
    proc = _nbgrader_k8s(
        "migrate", "--from", str(tmp_path / "old-exchange"), "--to", str(new_root), "--json"
    )
    [again] = json.loads(proc.stdout)["courses"]
    assert again["submissions"] == {"found": 4, "migrated": 0, "already": 4, "skipped": 0}
    assert again["feedback"] == {"found": 3, "migrated": 0, "already": 3, "skipped": 0}
