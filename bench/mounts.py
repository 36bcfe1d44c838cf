"""The filesystems a scenario runs on: latencyfs (a simulated network volume), a bind
mount of the same directory (local disk), or a bind mount of a copy held in memory (tmpfs),
all at the same path so configs never change."""

import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parent.parent
LATENCYFS = REPO / "target" / "release" / "latencyfs"


@dataclass(frozen=True)
class Env:
    """One filesystem setting."""

    name: str
    latency_ms: float = 0.0
    attr_timeout_s: float = 1.0
    fuse: bool = True
    threads: int = 16
    # The course lives on a tmpfs (no disk, no latency: only CPU and system calls count).
    tmpfs: bool = False

    @property
    def label(self) -> str:
        if self.tmpfs:
            return "tmpfs"
        if not self.fuse:
            return "local disk"
        return f"{self.latency_ms:g} ms, cache {self.attr_timeout_s:g} s"

    def mount(self, source: Path, mountpoint: Path):
        if self.fuse:
            return FuseMount(self, source, mountpoint)
        return BindMount(source, mountpoint)


def is_mounted(path: Path) -> bool:
    wanted = str(path)
    with open("/proc/self/mountinfo") as fh:
        return any(line.split(" ")[4] == wanted for line in fh)


def ensure_tmpfs(path: Path) -> Path:
    """A tmpfs mounted at ``path`` (kept across runs while the machine is up, so a generated
    course there is reused; ``umount`` it to give the memory back)."""
    path.mkdir(parents=True, exist_ok=True)
    if not is_mounted(path):
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "bench", str(path)], check=True)
    return path


def force_unmount(path: Path) -> None:
    """Clear a mount a crashed run left behind."""
    while is_mounted(path):
        subprocess.run(["umount", "-l", str(path)], check=True)


class FuseMount:
    """``latencyfs`` serving ``source`` at ``mountpoint`` for the ``with`` block."""

    def __init__(self, env: Env, source: Path, mountpoint: Path):
        self.env = env
        self.source = source
        self.mountpoint = mountpoint
        self.proc: Optional[subprocess.Popen] = None

    def __enter__(self) -> "FuseMount":
        force_unmount(self.mountpoint)
        if not LATENCYFS.exists():
            raise SystemExit(
                f"{LATENCYFS} is missing: cargo build --release -p nbgrader-k8s-latencyfs"
            )
        self.proc = subprocess.Popen(
            [
                str(LATENCYFS),
                "--latency-ms",
                str(self.env.latency_ms),
                "--attr-timeout-s",
                str(self.env.attr_timeout_s),
                "--threads",
                str(self.env.threads),
                "--die-with-parent",
                str(self.source),
                str(self.mountpoint),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        first = self._line()
        if first.get("event") != "mounted":
            raise RuntimeError(f"latencyfs did not mount: {first}")
        return self

    def _line(self) -> dict:
        assert self.proc is not None and self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise RuntimeError(f"latencyfs exited ({code})")
        return json.loads(line)

    def stats(self) -> Optional[dict]:
        """The counters now."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGUSR1)
        return self._line()

    def __exit__(self, *exc) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                while self._line().get("event") != "final":
                    pass
            except RuntimeError:
                pass
        self.proc.wait(timeout=60)
        force_unmount(self.mountpoint)


class BindMount:
    """The same directory, no FUSE: local-disk speed at the same path."""

    def __init__(self, source: Path, mountpoint: Path):
        self.source = source
        self.mountpoint = mountpoint

    def __enter__(self) -> "BindMount":
        force_unmount(self.mountpoint)
        # Start clean: the previous step's dirty pages must not be written back during
        # this one (on local disk that is the noise that matters).
        os.sync()
        subprocess.run(["mount", "--bind", str(self.source), str(self.mountpoint)], check=True)
        return self

    def stats(self) -> Optional[dict]:
        return None

    def __exit__(self, *exc) -> None:
        force_unmount(self.mountpoint)


def delta(before: Optional[dict], after: Optional[dict]) -> Optional[dict]:
    """Requests served between two snapshots: round trips, per op, peak concurrency."""
    if before is None or after is None:
        return None
    ops = {
        op: after["ops"][op] - before["ops"].get(op, 0)
        for op in after["ops"]
        if after["ops"][op] - before["ops"].get(op, 0)
    }
    return {
        "round_trips": after["round_trips"] - before["round_trips"],
        "ops": ops,
        "max_in_flight": after["max_in_flight"],
    }
