"""release_assignment and its withdrawal (`list --remove`)."""

import pytest

from nbgrader_k8s_exchange.demo import NbgraderFailed, write_source_notebook


def test_release_twice_needs_force_and_force_replaces(released):
    course = released
    outbound = course.exchange / "course101" / "outbound" / "ps1"
    with pytest.raises(NbgraderFailed) as err:
        course.instructor("release_assignment", "ps1")
    assert "already exists, add --force" in err.value.output
    assert "Traceback" not in err.value.output

    # A new notebook in the release appears only with --force, and the old one stays whole.
    write_source_notebook(course.instructor_dir / "source" / "ps1" / "extra.ipynb", "extra")
    course.instructor("generate_assignment", "ps1", "--force")
    assert not (outbound / "extra.ipynb").exists()
    course.instructor("release_assignment", "ps1", "--force")
    assert sorted(p.name for p in outbound.iterdir()) == ["extra.ipynb", "squares.ipynb"]
    # No staging left next to the release; the replaced one waits as dot-named trash (a
    # student fetching it right then gets all of it); readers never list it.
    assert [p.name for p in outbound.parent.iterdir() if not p.name.startswith(".")] == ["ps1"]
    assert [p.name[:13] for p in outbound.parent.glob(".*")] == [".nbk8s-trash-"]


def test_files_are_world_readable_not_writable(released):
    for path in (released.exchange / "course101").rglob("*"):
        mode = path.stat().st_mode & 0o777
        assert mode == (0o755 if path.is_dir() else 0o644), path


def test_list_remove_withdraws_the_release(released):
    course = released
    assert "course101 ps1" in course.student("alice", "list")
    out = course.instructor("list", "--remove", "--course", "course101", "--assignment", "ps1")
    assert "Removing released assignments" in out
    assert not (course.exchange / "course101" / "outbound" / "ps1").exists()
    assert "course101 ps1" not in course.student("alice", "list")


def test_unknown_assignment_is_a_clear_error(course):
    with pytest.raises(NbgraderFailed) as err:
        course.instructor("release_assignment", "nope")
    assert "Assignment not found" in err.value.output
    assert "Traceback" not in err.value.output


def test_bad_course_id_is_refused_before_anything_is_written(tmp_path):
    from nbgrader_k8s_exchange.demo import Course

    for bad in ("a+b", "../up", ".hidden"):
        course = Course(tmp_path / bad.replace("/", "_"), course_id=bad)
        course.create_assignment("ps1")
        with pytest.raises(NbgraderFailed) as err:
            course.instructor("release_assignment", "ps1")
        assert "course" in err.value.output and repr(bad)[1:-1] in err.value.output
        assert list(course.exchange.iterdir()) == []
