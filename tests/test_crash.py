"""Crash tests through the real `nbgrader` CLI: each writing operation is SIGKILLed once it has
started writing (its staging appeared; for feedback, also its directories' mtime changed),
after a further random delay; then what a reader finds
is checked (the old state or the new, never a half-written file or tree), and a rerun must
succeed. The core's own crash tests (crates/exchange-core/tests/crash.rs) kill hundreds of
times; these few show the same holds for the process a user actually runs.
"""

import datetime
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from nbgrader.utils import notebook_hash

from nbgrader_k8s_exchange import _core
from nbgrader_k8s_exchange.demo import Course, write_source_notebook
from tests.tree import visible

KILLS = int(os.environ.get("NBK8S_CLI_CRASH_KILLS", "2"))
STUDENTS = 30


def _fill(dir: Path, tag: str) -> None:
    """A tree large enough that writing it takes a while: many files and one big one."""
    for i in range(200):
        p = dir / f"data{i % 4}" / f"f{i}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(f"{tag}:{i};".encode() * 800)
    (dir / "big.bin").write_bytes(tag.encode() * ((8 << 20) // len(tag)))


def _stamp() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _tree(dir: Path) -> dict:
    """{relative path: bytes} of the non-dot entries (the exchange's staging is dot-named)."""
    out = {}
    for p in sorted(dir.rglob("*")):
        rel = p.relative_to(dir)
        if p.is_file() and not rel.parts[0].startswith("."):
            out[str(rel)] = p.read_bytes()
    return out


def _data_entries(dir: Path) -> list:
    return visible(dir)


def _staging(dirs) -> set:
    """The exchange's dot-named staging/temporary entries in `dirs`."""
    found = set()
    for d in dirs:
        try:
            found.update((d, e.name) for e in os.scandir(d) if e.name.startswith(".nbk8s-"))
        except FileNotFoundError:
            pass
    return found


def _touched(dirs) -> set:
    """`_staging(dirs)` and each dir's mtime: a sign of writing that outlasts a temp file too
    short-lived for the poll to see on a loaded machine."""
    found = _staging(dirs)
    for d in dirs:
        try:
            found.add((d, os.stat(d).st_mtime_ns))
        except FileNotFoundError:
            pass
    return found


def _run_and_kill(course, user, args, watch, cwd, delay, started=_staging):
    """Start `nbgrader ARGS` as `user`; once `started` finds something new in the dirs
    `watch()` gives (it has started writing), wait 0-`delay` s more and SIGKILL it.
    Returns whether it was killed (it may finish first)."""
    before = started(watch())
    proc = subprocess.Popen(
        [course.python, "-m", "nbgrader", *args],
        cwd=cwd,
        env=course._env(user, cwd),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        while proc.poll() is None and not (started(watch()) - before):
            time.sleep(0.0005)
        time.sleep(random.uniform(0, delay))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture
def course(tmp_path):
    """course101 with ps1 in release/ (large), released through the core (not under test)."""
    course = Course(tmp_path)
    release = course.instructor_dir / "release" / "ps1"
    write_source_notebook(release / "squares.ipynb")
    _fill(release, "A")
    _core.release_assignment(str(course.exchange), "course101", "ps1", str(release))
    return course


def _killed_runs(course, user, args, watch, cwd, check, before=lambda: None, started=_staging):
    """Runs until KILLS of them were killed mid-write, each followed by `check`, then a rerun
    that must succeed. `before` gives each run work to do. A run that finished before its kill
    halves the delay before the next kill (on a loaded machine the writes take less time than
    the delay); after 3 * KILLS + 3 runs with fewer kills the test fails."""
    killed, runs, delay = 0, 0, 0.03
    while killed < KILLS and runs < 3 * KILLS + 3:
        before()
        if _run_and_kill(course, user, args, watch, cwd, delay, started):
            killed += 1
        else:
            delay /= 2
        runs += 1
        check()
    assert killed == KILLS, f"only {killed} of {runs} runs were killed mid-write"
    before()
    out = course._run(user, cwd, args, check=True)
    check()
    return out


def test_killed_release_force(course):
    outbound = course.exchange / "course101" / "outbound"
    release = course.instructor_dir / "release" / "ps1"
    old = _tree(release)
    shutil.rmtree(release)
    write_source_notebook(release / "squares.ipynb")
    _fill(release, "B")
    new = _tree(release)

    def check():
        # Complete old or complete new; absent only between move-aside and rename.
        entries = _data_entries(outbound)
        assert [p.name for p in entries] in ([], ["ps1"])
        if entries:
            assert _tree(outbound / "ps1") in (old, new)

    args = ("release_assignment", "ps1", "--force")
    _killed_runs(course, "instructor", args, lambda: [outbound], course.instructor_dir, check)
    assert _tree(outbound / "ps1") == new


def test_killed_submit_and_fetch(course):
    home = course.add_student("alice")
    inbox = course.exchange / "course101" / "inbound" / "alice"
    inbox.mkdir(parents=True)
    released = _tree(course.exchange / "course101" / "outbound" / "ps1")

    def check_fetch():
        if (home / "ps1").exists():
            assert _tree(home / "ps1") == released

    def fresh():
        if (home / "ps1").exists():
            shutil.rmtree(home / "ps1")

    args = ("fetch_assignment", "ps1")
    _killed_runs(course, "alice", args, lambda: [home], home, check_fetch, before=fresh)

    def check_submit():
        for sub in _data_entries(inbox):
            got = _tree(sub)
            assert got.pop("timestamp.txt").decode() in sub.name
            assert len(got.pop("submission_secret.txt")) == 128
            assert got == released, f"{sub} is not a complete submission"

    _killed_runs(course, "alice", ("submit", "ps1"), lambda: [inbox], home, check_submit)
    assert _data_entries(inbox)


def test_killed_collect_update(course):
    # A first submission collected, then a newer one (through the core: not under test);
    # collect --update is killed while replacing the old copy.
    home = course.add_student("alice")
    shutil.copytree(course.exchange / "course101" / "outbound" / "ps1", home / "ps1")
    ex, cache = str(course.exchange), str(home / "cache")
    _core.submit(ex, "course101", "alice", "ps1", str(home / "ps1"), _stamp(), cache)
    structure = "{nbgrader_step}/{student_id}/{assignment_id}"
    _core.collect(ex, "course101", "ps1", str(course.instructor_dir), structure, "submitted")
    (home / "ps1" / "data0" / "f0.txt").write_text("changed")
    _core.submit(ex, "course101", "alice", "ps1", str(home / "ps1"), _stamp(), cache)
    submitted = course.instructor_dir / "submitted" / "alice"
    inbox = course.exchange / "course101" / "inbound" / "alice"

    def check():
        dest = submitted / "ps1"
        if dest.exists():
            got = _tree(dest)
            [source] = [s for s in _data_entries(inbox) if got["timestamp.txt"].decode() in s.name]
            assert got == _tree(source)

    def newer():
        # A run that finished took the newest; each run gets a newer one to replace it with.
        _core.submit(ex, "course101", "alice", "ps1", str(home / "ps1"), _stamp(), cache)

    args = ("collect", "ps1", "--update")
    out = _killed_runs(
        course, "instructor", args, lambda: [submitted], course.instructor_dir, check, newer
    )
    assert (submitted / "ps1" / "data0" / "f0.txt").read_text() == "changed", out


def test_killed_release_feedback(course):
    public = course.exchange / "course101" / "feedback_public"
    versions = {}
    for tag in ("old", "new"):
        for s in range(STUDENTS):
            d = course.base / tag / f"s{s}"
            d.mkdir(parents=True)
            (d / "submission_secret.txt").write_text(f"secret{s}")
            for nb in ("n1", "n2"):
                body = f"<html>{tag} s{s} {nb}</html>".encode() * 20000
                (d / f"{nb}.html").write_bytes(body)
                key = notebook_hash(secret=f"secret{s}", notebook_id=nb)
                versions.setdefault(key, set()).add(body)
    feedback = course.instructor_dir / "feedback"

    def check():
        for html in public.glob("s*/*.html"):
            assert html.read_bytes() in versions[html.stem], f"{html} is half-written"

    def stage(tag):
        for s in range(STUDENTS):
            dest = feedback / f"s{s}" / "ps1"
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(course.base / tag / f"s{s}", dest)

    # The old feedback is out (released through the core); the new one's release is killed.
    stage("old")
    items = [(f"s{s}", str(feedback / f"s{s}" / "ps1"), None) for s in range(STUDENTS)]
    _core.release_feedback(str(course.exchange), "course101", "ps1", items)
    stage("new")
    watch = lambda: list(public.glob("s*"))  # noqa: E731
    args = ("release_feedback", "ps1")
    # Each student's files are replaced through a temp file living well under a millisecond.
    _killed_runs(course, "instructor", args, watch, course.instructor_dir, check, started=_touched)
    for s in range(STUDENTS):
        for html in (public / f"s{s}").glob("*.html"):
            assert html.read_bytes().startswith(b"<html>new")
