"""submit: the on-disk record, identity, strict, ignore/include and size caps."""

import os

import pytest

from nbgrader_k8s_exchange.demo import NbgraderFailed, write_source_notebook
from tests.tree import visible


def _inbound(course, student):
    path = course.exchange / "course101" / "inbound" / student
    return visible(path)


def test_submission_record_and_cache(released):
    course = released
    course.student("alice", "fetch_assignment", "ps1")
    course.student("alice", "submit", "ps1")
    [sub] = _inbound(course, "alice")
    assignment, timestamp, random = sub.name.split("+")
    assert assignment == "ps1" and "+" not in random and len(random) == 12
    assert (sub / "timestamp.txt").read_text() == timestamp
    secret = (sub / "submission_secret.txt").read_text()
    assert len(secret) == 128 and int(secret, 16) >= 0
    cache = course.student_home("alice") / ".local/share/jupyter/nbgrader_cache/course101"
    [cached] = sorted(cache.iterdir())
    assert cached.name == f"alice+ps1+{timestamp}"
    assert (cached / "submission_secret.txt").read_text() == secret
    assert (cached / "squares.ipynb").read_bytes() == (sub / "squares.ipynb").read_bytes()


def test_identity_order(released):
    """--student wins, then JUPYTERHUB_USER; the OS user only when neither is set."""
    course = released
    course.student("alice", "fetch_assignment", "ps1")
    course.student("alice", "submit", "ps1", "--student=frank")
    assert _inbound(course, "frank") and not _inbound(course, "alice")
    course.student("alice", "submit", "ps1")
    assert len(_inbound(course, "alice")) == 1


def test_student_ids_with_plus_and_unicode(released):
    course = released
    for student in ("zoë+1@uni.edu", "o'brien"):
        course.student(student, "fetch_assignment", "ps1")
        course.student(student, "submit", "ps1")
        assert len(_inbound(course, student)) == 1
        assert f"course101 {student} ps1" in course.student(student, "list", "--cached")


def test_strict_refuses_missing_notebook_and_writes_nothing(course):
    write_source_notebook(course.instructor_dir / "source" / "ps1" / "second.ipynb", "second")
    course.create_assignment("ps1")
    course.instructor("release_assignment", "ps1")
    course.student("alice", "fetch_assignment", "ps1")
    os.remove(course.student_home("alice") / "ps1" / "second.ipynb")
    with pytest.raises(NbgraderFailed) as err:
        course.student("alice", "submit", "ps1", "--strict")
    assert "second.ipynb: MISSING" in err.value.output
    assert "Traceback" not in err.value.output
    assert _inbound(course, "alice") == []
    # Without --strict the same submission goes in, with a warning.
    out = course.student("alice", "submit", "ps1")
    assert "second.ipynb: MISSING" in out
    assert len(_inbound(course, "alice")) == 1


def test_ignore_include_and_file_size(released):
    course = released
    course.student("alice", "fetch_assignment", "ps1")
    work = course.student_home("alice") / "ps1"
    (work / "notes.log").write_text("scratch")
    (work / "data.csv").write_text("a,b\n")
    (work / "big.bin").write_bytes(b"x" * 3000)
    out = course.student(
        "alice",
        "submit",
        "ps1",
        "--CourseDirectory.ignore=['*.log']",
        "--CourseDirectory.max_file_size=2",
    )
    assert "big.bin" in out
    [sub] = _inbound(course, "alice")
    names = sorted(p.name for p in sub.iterdir())
    assert names == ["data.csv", "squares.ipynb", "submission_secret.txt", "timestamp.txt"]

    course.student("bob", "fetch_assignment", "ps1")
    (course.student_home("bob") / "ps1" / "data.csv").write_text("a,b\n")
    course.student("bob", "submit", "ps1", "--CourseDirectory.include=['*.ipynb']")
    [sub] = _inbound(course, "bob")
    assert not (sub / "data.csv").exists() and (sub / "squares.ipynb").exists()


def test_max_dir_size_refuses_whole_submission(released):
    course = released
    course.student("alice", "fetch_assignment", "ps1")
    (course.student_home("alice") / "ps1" / "big.bin").write_bytes(b"x" * 50_000)
    with pytest.raises(NbgraderFailed) as err:
        course.student("alice", "submit", "ps1", "--CourseDirectory.max_dir_size=20")
    assert "too big" in err.value.output.lower()
    assert "Traceback" not in err.value.output
    assert _inbound(course, "alice") == []


def test_submit_without_release_fails_clearly(course):
    home = course.add_student("alice")
    (home / "ps9").mkdir()
    with pytest.raises(NbgraderFailed) as err:
        course.student("alice", "submit", "ps9")
    assert "ps9" in err.value.output and "Traceback" not in err.value.output
