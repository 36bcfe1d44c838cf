"""Facts about the machine and the run, for the report's header."""

import datetime
import os
import platform
import subprocess
from pathlib import Path
from typing import Any, Dict, List

from .mounts import REPO


def _run(*argv: str) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, cwd=REPO).stdout.strip()
    except OSError:
        return "?"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def load() -> str:
    """The 1, 5 and 15 minute load averages: what else the 2 cores were doing."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def command(argv: List[str], settings: Dict[str, str], defaults: Dict[str, str]) -> str:
    """The command that reproduces this run: changed settings, then the entry point."""
    changed = [f"{k}={v}" for k, v in settings.items() if v != defaults.get(k)]
    entry = os.environ.get("BENCH_COMMAND") or " ".join([".venv/bin/python -m bench", *argv[1:]])
    return " ".join([*changed, entry])


def facts(argv: List[str], settings: Dict[str, str], defaults: Dict[str, str]) -> Dict[str, Any]:
    import nbgrader

    commit = _run("git", "rev-parse", "--short", "HEAD")
    if _run("git", "status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    return {
        "command": command(argv, settings, defaults),
        "settings": settings,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "nproc": _run("nproc"),
        "free": _run("free", "-h"),
        "kernel": _run("uname", "-srm"),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "nbgrader": nbgrader.__version__,
        "load_before": load(),
    }
