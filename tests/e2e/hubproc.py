"""The local hub as the e2e tests use it: started as ``make hub`` starts it, stopped by Ctrl-C."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[2]
PROXY = REPO / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_time(pid: int) -> Optional[str]:
    """A process's start time (field 22 of /proc/PID/stat): tells a pid from a reused one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def descendants(pid: int) -> List[Tuple[int, str]]:
    """Every process below ``pid`` (in any PID namespace), as (pid, start time)."""
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            started = _start_time(child)
            if started is not None:
                found.append((child, started))
                todo.append(child)
    return found


def alive(processes: List[Tuple[int, str]]) -> List[str]:
    """The command lines of those still running (same pid, same start time)."""
    left = []
    for pid, started in processes:
        if _start_time(pid) == started:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            left.append(f"{pid}: {cmd}")
    return left


def wait_until(predicate, what: str, limit: float = 120) -> None:
    """Wait (at most ``limit`` seconds) for something the browser set off to reach the disk."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not after {limit} s: {what}")
        time.sleep(0.2)


class LocalHub:
    """``python -m hub`` (what ``make hub`` runs) on free ports in ``base``."""

    def __init__(self, base: Path):
        self.dir = base
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = base / "launcher.log"
        base.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hub", "--fresh", "--dir", str(base)]
                + ["--port", str(self.port), "--api-port", str(_free_port())]
                + ["--proxy-api-port", str(_free_port())],
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_up()
        self.passwords = json.loads((base / "state" / "passwords.json").read_text())

    def _wait_up(self, limit: float = 90) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited {self.proc.returncode}:\n{self.logs()}")
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api", timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"hub not up after {limit} s:\n{self.logs()}")

    def logs(self) -> str:
        parts = [self.log.read_text(errors="replace")]
        for path in sorted((self.dir / "logs").glob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-6000:]}")
        return "\n".join(parts)

    def interrupt(self, limit: float = 60) -> int:
        """Ctrl-C: SIGINT to the launcher, then wait for it to exit."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(limit)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.interrupt()


def pod_pid(hub: LocalHub, user: str) -> int:
    """The pid (seen from here) of ``user``'s single-user server inside its pod."""
    for pid, _ in descendants(hub.proc.pid):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"jupyterhub-singleuser" in cmdline and f"JUPYTERHUB_USER={user}".encode() in environ:
            return pid
    raise LookupError(f"no running server for {user}")


def in_pod(hub: LocalHub, user: str, script: str) -> subprocess.CompletedProcess:
    """Run ``script`` inside ``user``'s running pod: its namespaces, its root, uid 1000."""
    pid = pod_pid(hub, user)
    return subprocess.run(
        ["nsenter", f"--target={pid}", "--mount", "--pid", "--root", "--wd"]
        + ["--setuid=1000", "--setgid=100", "/bin/sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
