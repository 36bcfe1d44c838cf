"""Bad input of every kind through the real CLI: a clear error naming what and where, no
traceback, and nothing changed in the exchange. Ids that would escape or break the layout, a
read-only exchange, a full one (ENOSPC, a small tmpfs), a missing assignment."""

import contextlib
import os
import shutil
import subprocess

import pytest

from nbgrader_k8s_exchange import _core
from nbgrader_k8s_exchange.demo import write_source_notebook


def _snapshot(root):
    return sorted(
        (str(p.relative_to(root)), p.stat().st_size if p.is_file() else -1) for p in root.rglob("*")
    )


@pytest.fixture
def ready(course):
    """ps1 released (through the core: not under test) and fetched by alice."""
    release = course.instructor_dir / "release" / "ps1"
    write_source_notebook(release / "squares.ipynb")
    ex = str(course.exchange)
    _core.release_assignment(ex, "course101", "ps1", str(release))
    home = course.add_student("alice")
    _core.fetch_assignment(ex, "course101", "ps1", str(home / "ps1"))
    (course.exchange / "course101" / "inbound" / "alice").mkdir()
    return course


def _fails_cleanly(course, user, args, *expected):
    before = _snapshot(course.exchange)
    if user == "instructor":
        proc = course.instructor(*args, check=False)
    else:
        proc = course.student(user, *args, check=False)
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stdout, proc.stdout
    for text in expected:
        assert text in proc.stdout, proc.stdout
    assert _snapshot(course.exchange) == before, "the exchange changed"
    return proc.stdout


@pytest.mark.parametrize(
    "who, args, expected",
    [
        # ("a+b" as an assignment nbgrader itself refuses, before any exchange runs.)
        ("instructor", ("release_assignment", "ps*"), 'invalid assignment id "ps*"'),
        ("instructor", ("release_assignment", ".ps1"), "starts with '.'"),
        ("alice", ("fetch_assignment", "x" * 300), "longer than 255 bytes"),
        ("instructor", ("release_assignment", "ps1", "--course=c+1"), 'invalid course id "c+1"'),
        ("instructor", ("collect", "ps1", "--course=../evil"), 'invalid course id "../evil"'),
        ("alice", ("submit", "ps1", "--student=../bob"), 'invalid student id "../bob"'),
        ("alice", ("fetch_assignment", ".."), 'invalid assignment id ".."'),
    ],
)
def test_bad_ids_are_refused_before_anything_is_written(ready, who, args, expected):
    course = ready
    if who == "instructor":
        # The release dir exists, so what refuses is the id, not a missing source.
        write_source_notebook(course.instructor_dir / "release" / args[1] / "nb.ipynb")
    _fails_cleanly(course, who, args, expected)


def test_nul_and_slash_in_ids_are_refused_by_the_core():
    # NUL cannot pass through argv; every entry point validates through this one function.
    for kind in ("course", "assignment", "student", "notebook"):
        for bad in ("a\0b", "a/b", "..", ".x", "x" * 256, ""):
            with pytest.raises(_core.ExchangeCoreError) as err:
                _core.validate_id(kind, bad)
            assert err.value.kind == "invalid_id" and kind in str(err.value)


def test_missing_assignment_is_a_clear_error(ready):
    course = ready
    shutil.rmtree(course.student_home("alice") / "ps1")
    _fails_cleanly(course, "alice", ("submit", "ps1"), "ps1")


@contextlib.contextmanager
def _mounted(target, *mount_args):
    """Mount over `target` for the block (root only); unmounted whatever happens."""
    if os.geteuid() != 0:
        pytest.skip("SKIPPED LOUDLY: mounting a read-only or full filesystem needs root")
    done = subprocess.run(["mount", *mount_args, str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"SKIPPED LOUDLY: mount failed: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], check=True)


def test_read_only_inbox_fails_clearly_and_changes_nothing(ready):
    course = ready
    inbox = course.exchange / "course101" / "inbound" / "alice"
    cache = course.student_home("alice") / ".local/share/jupyter/nbgrader_cache"
    with _mounted(inbox, "-t", "tmpfs", "-o", "ro,size=1m", "ro-inbox"):
        _fails_cleanly(course, "alice", ("submit", "ps1"), "Read-only file system", str(inbox))
        assert list(inbox.iterdir()) == []
    assert not cache.exists() or not any(cache.rglob("alice+*"))


def test_read_only_outbound_keeps_the_old_release(ready):
    course = ready
    outbound = course.exchange / "course101" / "outbound"
    before = _snapshot(outbound)
    with _mounted(outbound, "--bind", "-o", "ro", str(outbound)):
        _fails_cleanly(course, "instructor", ("release_assignment", "ps1", "--force"), "Read-only")
    assert _snapshot(outbound) == before


def test_full_exchange_enospc_leaves_no_partial_submission(ready):
    course = ready
    inbox = course.exchange / "course101" / "inbound" / "alice"
    (course.student_home("alice") / "ps1" / "data.bin").write_bytes(b"x" * (3 << 20))
    with _mounted(inbox, "-t", "tmpfs", "-o", "size=1m", "small-inbox"):
        _fails_cleanly(course, "alice", ("submit", "ps1"), "No space left on device")
        assert list(inbox.iterdir()) == [], "staging was not cleaned up"
        # Space is back once the student trims their work: the next submit succeeds.
        (course.student_home("alice") / "ps1" / "data.bin").unlink()
        course.student("alice", "submit", "ps1")
        [sub] = inbox.iterdir()
        assert (sub / "squares.ipynb").is_file()
