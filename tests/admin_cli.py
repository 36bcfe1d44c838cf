"""The `nbgrader-k8s` command as the tests drive it: the installed console script (next to this
interpreter), on a demo course's exchange, and what the notary leaves in its ledger."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


def script() -> str:
    """The installed console script, next to this interpreter."""
    path = os.path.join(os.path.dirname(sys.executable), "nbgrader-k8s")
    return path if os.path.exists(path) else shutil.which("nbgrader-k8s") or path


def admin(course, *args: str) -> subprocess.CompletedProcess:
    """``nbgrader-k8s --root EXCHANGE ARGS...``, its output captured."""
    return subprocess.run(
        [script(), "--root", str(course.exchange), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def admin_ok(course, *args: str) -> str:
    """The same, which must succeed: its stdout."""
    proc = admin(course, *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def notary(course, *args: str) -> subprocess.CompletedProcess:
    return admin(course, "notary", *args)


def notary_pass(course, *extra: str) -> None:
    """One real notary pass (``notary run --once``: it also re-checks every seal)."""
    admin_ok(course, "notary", "run", "--once", *extra)


def ledger(course) -> list:
    path = course.exchange / ".nbk8s-notary" / course.course_id / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def events(course, kind: str) -> list:
    return [r for r in ledger(course) if r["event"] == kind]


def inbox(course, student: str) -> Path:
    return course.exchange / course.course_id / "inbound" / student


def submissions(course, student: str) -> list:
    return sorted(p for p in inbox(course, student).iterdir() if not p.name.startswith("."))
