"""The whole course lifecycle through the real nbgrader CLI, on the per-student layout."""

import json

from nbgrader_k8s_exchange.demo import score_in_feedback
from tests.tree import visible

STUDENTS = {"alice": True, "bob": False, "carol+x@uni.edu": True}


def _list_json(output: str):
    """`nbgrader list --json` prints one JSON document after the log lines."""
    start = output.index("[")
    return json.loads(output[start:])


def test_full_round_trip(released):
    course = released
    ex = course.exchange / "course101"
    assert sorted(p.name for p in ex.iterdir()) == ["feedback_public", "inbound", "outbound"]
    assert (ex / "outbound" / "ps1" / "squares.ipynb").is_file()

    # Students: fetch, answer, submit. bob submits a wrong answer first, then resubmits.
    for student, correct in STUDENTS.items():
        course.submit_answer(student, "ps1", correct)
    course.submit_answer("bob", "ps1", True)

    # Per-student inbound: each directory holds only its owner's submissions.
    for student in STUDENTS:
        subs = visible(ex / "inbound" / student)
        assert all(s.name.startswith("ps1+") for s in subs)
        assert len(subs) == (2 if student == "bob" else 1)
        for sub in subs:
            assert (sub / "squares.ipynb").is_file()
            assert len((sub / "timestamp.txt").read_text()) > 10
            assert len((sub / "submission_secret.txt").read_text()) == 128

    # The student sees the release as downloaded, and their own submissions only.
    out = course.student("alice", "list")
    assert "course101 ps1 (already downloaded)" in out
    cached = course.student("bob", "list", "--cached")
    assert cached.count("course101 bob ps1") == 2
    assert "alice" not in cached

    # Instructor: list the inbound, collect (newest per student), grade, release feedback.
    inbound = course.instructor("list", "--inbound")
    for student in STUDENTS:
        assert f"course101 {student} ps1" in inbound
    out = course.instructor("collect", "ps1")
    assert "Processing 3 submissions" in out
    bob_ts = visible(ex / "inbound" / "bob")[-1] / "timestamp.txt"
    collected = course.instructor_dir / "submitted" / "bob" / "ps1"
    assert (collected / "timestamp.txt").read_text() == bob_ts.read_text()

    course.instructor("autograde", "ps1")
    course.instructor("generate_feedback", "ps1")
    course.instructor("release_feedback", "ps1")
    for student in STUDENTS:
        assert len(list((ex / "feedback_public" / student).glob("*.html"))) == 1

    # Students see feedback ready, fetch it, and find their own grade in it.
    for student in STUDENTS:
        before = course.student(student, "list", "--cached")
        assert "(feedback ready to be fetched)" in before
        course.student(student, "fetch_feedback", "ps1")
        files = course.feedback_files(student, "ps1")
        assert [f.name for f in files] == ["squares.html"]
        # bob's collected (newest) submission was right.
        assert score_in_feedback(files[0].read_text()) == "2.0 / 2.0"
        after = course.student(student, "list", "--cached")
        assert "(feedback already fetched)" in after
    # Only the newest of bob's two submissions got feedback; the older one has none.
    bob = course.student("bob", "list", "--cached")
    assert bob.count("(no feedback available)") == 1


def test_wrong_answer_scores_zero(released):
    course = released
    course.submit_answer("dave", "ps1", False)
    course.instructor("collect", "ps1")
    course.instructor("autograde", "ps1")
    course.instructor("generate_feedback", "ps1")
    course.instructor("release_feedback", "ps1")
    course.student("dave", "fetch_feedback", "ps1")
    [feedback] = course.feedback_files("dave", "ps1")
    assert score_in_feedback(feedback.read_text()) == "0.0 / 2.0"
