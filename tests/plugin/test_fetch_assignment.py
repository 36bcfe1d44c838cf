"""fetch_assignment: first fetch, refusal to clobber, --replace for missing files."""

import pytest

from nbgrader_k8s_exchange import _core
from nbgrader_k8s_exchange.demo import NbgraderFailed


def test_fetch_then_replace_missing_only(released):
    course = released
    course.student("alice", "fetch_assignment", "ps1")
    work = course.student_home("alice") / "ps1"
    assert (work / "squares.ipynb").is_file()

    with pytest.raises(NbgraderFailed) as err:
        course.student("alice", "fetch_assignment", "ps1")
    assert "already have a copy" in err.value.output

    # A deleted notebook comes back with --replace.
    (work / "squares.ipynb").unlink()
    out = course.student("alice", "fetch_assignment", "ps1", "--replace")
    assert "Replacing missing file" in out
    assert (work / "squares.ipynb").is_file()


def test_replace_does_not_overwrite_edits(released):
    course = released
    course.student("alice", "fetch_assignment", "ps1")
    work = course.student_home("alice") / "ps1"
    (work / "squares.ipynb").write_text("my edits")
    course.student("alice", "fetch_assignment", "ps1", "--replace")
    assert (work / "squares.ipynb").read_text() == "my edits"


def test_path_includes_course(tmp_path):
    from nbgrader_k8s_exchange.demo import Course

    course = Course(tmp_path, extra_config="c.Exchange.path_includes_course = True\n")
    course.create_assignment("ps1")
    course.instructor("release_assignment", "ps1")
    course.student("alice", "fetch_assignment", "ps1")
    home = course.student_home("alice")
    assert (home / "course101" / "ps1" / "squares.ipynb").is_file()
    assert "course101 ps1 (already downloaded)" in course.student("alice", "list")
    course.student("alice", "submit", "ps1")
    inbox = course.exchange / "course101" / "inbound" / "alice"
    assert len([p for p in inbox.iterdir() if not p.name.startswith(".")]) == 1
    assert "course101 alice ps1" in course.student("alice", "list", "--cached")


def test_fetch_leaves_the_notarys_marker_and_never_fails_for_it(released):
    course = released
    course.student("alice", "fetch_assignment", "ps1")
    markers = course.exchange / "course101" / "inbound" / "alice" / ".nbk8s-fetched"
    [marker] = markers.iterdir()
    assignment, timestamp = marker.name.split("+", 1)
    assert assignment == "ps1" and marker.stat().st_size == 0
    assert _core.parse_timestamp(timestamp)
    # The marker cannot be written (its directory is a file): the fetch still succeeds.
    (course.exchange / "course101" / "inbound" / "bob").mkdir()
    (course.exchange / "course101" / "inbound" / "bob" / ".nbk8s-fetched").write_text("")
    out = course.student("bob", "fetch_assignment", "ps1")
    assert "This fetch was not recorded" in out
    assert (course.student_home("bob") / "ps1" / "squares.ipynb").is_file()
