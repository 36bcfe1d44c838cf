"""release_feedback / fetch_feedback: per-student dirs, --student, exclusions, list states."""

import shutil

from nbgrader.utils import notebook_hash


def _graded(course, students):
    for student in students:
        course.submit_answer(student, "ps1", True)
    course.instructor("collect", "ps1")
    course.instructor("autograde", "ps1")
    course.instructor("generate_feedback", "ps1")
    return course


def _public(course, student):
    path = course.exchange / "course101" / "feedback_public" / student
    return sorted(p.name for p in path.glob("*.html")) if path.exists() else []


def test_release_uses_nbgraders_key_in_the_students_dir(released):
    course = _graded(released, ["alice"])
    course.instructor("release_feedback", "ps1")
    secret = course.instructor_dir / "feedback" / "alice" / "ps1" / "submission_secret.txt"
    key = notebook_hash(secret=secret.read_text(), notebook_id="squares")
    assert _public(course, "alice") == [f"{key}.html"]


def test_student_filter_and_exclusion(released):
    course = _graded(released, ["alice", "bob", "carol"])
    course.instructor("release_feedback", "ps1", "--student=bob")
    assert [bool(_public(course, s)) for s in ("alice", "bob", "carol")] == [False, True, False]
    course.instructor("release_feedback", "ps1", "--CourseDirectory.student_id_exclude=alice")
    assert [bool(_public(course, s)) for s in ("alice", "bob", "carol")] == [False, True, True]


def test_list_feedback_states_none_ready_fetched_updated(released):
    course = _graded(released, ["alice"])
    assert "(no feedback available)" in course.student("alice", "list", "--cached")
    course.instructor("release_feedback", "ps1")
    assert "(feedback ready to be fetched)" in course.student("alice", "list", "--cached")
    course.student("alice", "fetch_feedback", "ps1")
    assert "(feedback already fetched)" in course.student("alice", "list", "--cached")

    # The instructor regrades: new feedback is "updated" until fetched again.
    fb = course.instructor_dir / "feedback" / "alice" / "ps1" / "squares.html"
    fb.write_text(fb.read_text() + "<!-- regraded -->")
    course.instructor("release_feedback", "ps1")
    out = course.student("alice", "list", "--cached")
    assert "(feedback ready to be fetched)" in out
    course.student("alice", "fetch_feedback", "ps1")
    [local] = course.feedback_files("alice", "ps1")
    assert local.read_text().endswith("<!-- regraded -->")


def test_legacy_key_when_no_secret(released):
    """Submissions from before nbgrader 0.9.3 have no secret: the content hash is the key."""
    course = _graded(released, ["alice"])
    fb_dir = course.instructor_dir / "feedback" / "alice" / "ps1"
    (fb_dir / "submission_secret.txt").unlink()
    course.instructor("release_feedback", "ps1")
    submitted = course.instructor_dir / "submitted" / "alice" / "ps1"
    timestamp = (fb_dir / "timestamp.txt").read_text()
    unique = "+".join(["course101", "ps1", "squares", "alice", timestamp])
    key = notebook_hash(str(submitted / "squares.ipynb"), unique)
    assert _public(course, "alice") == [f"{key}.html"]
    # The student's cache has no secret either in such old submissions.
    cache = course.student_home("alice") / ".local/share/jupyter/nbgrader_cache/course101"
    for entry in (p for p in cache.iterdir() if not p.name.startswith(".")):
        (entry / "submission_secret.txt").unlink()
        shutil.copy(submitted / "squares.ipynb", entry / "squares.ipynb")
    course.student("alice", "fetch_feedback", "ps1")
    assert len(course.feedback_files("alice", "ps1")) == 1
