"""The notary's pass on a simulated network volume: ``python -m bench.notary [S ...]`` (root).

For each course size S (default 100, 1000, 5000), a course of S students with one submission
each is written to a backing directory, served by latencyfs at 1 ms per round trip (cache
1 s), and one ``nbgrader-k8s notary run`` watches it, logging each pass (one JSON line with
its duration). Measured, from its log and latencyfs' counters:

- ``first``: the first pass after a start (seals all S submissions);
- ``idle``: a pass with nothing new (a listing of ``inbound/`` and ``feedback_public/``,
  their entries' attributes brought along), once the directories' times have settled;
- ``burst``: the passes after min(200, S) students submitted at once, until all are sealed.
  The submissions are written straight into the backing directory, as pods on other nodes
  write to the server: the round trips counted are then the notary's alone, and it sees the
  new directories once latencyfs' attribute cache (1 s) lets it;
- ``restart``: the first pass after a restart of the notary on the same volume, every
  submission sealed (it re-digests what its ledger holds, docs/notary.md);
- the notary's peak memory (VmHWM).

``make bench`` runs it for BENCH_NOTARY (its section of BENCHMARKS.md); ``make bench-notary``
prints one JSON object per size.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .mounts import REPO, Env

NOTARY = Path(sys.prefix) / "bin" / "nbgrader-k8s"
ENV = Env("1ms", latency_ms=1.0, attr_timeout_s=1.0)
BURST = 200


def _submission(inbox: Path, name: str, body: str) -> None:
    staging = inbox / f".nbk8s-staging-{name[-6:]}"
    staging.mkdir()
    (staging / "squares.ipynb").write_text(body)
    (staging / "timestamp.txt").write_text(name.split("+")[1])
    (staging / "submission_secret.txt").write_text("s" * 128)
    staging.rename(inbox / name)


def _course(backing: Path, students: int) -> None:
    course = backing / "course101"
    for part in ("outbound/ps1", "inbound", "feedback_public"):
        (course / part).mkdir(parents=True)
    for i in range(students):
        s = f"s{i:05d}"
        (course / "inbound" / s).mkdir()
        (course / "feedback_public" / s).mkdir()
        _submission(
            course / "inbound" / s,
            f"ps1+2026-12-01 10:00:00.{i:06d} UTC+a{i:05d}",
            '{"cells": []}' * 20,
        )


def _passes(proc, want: int):
    """Read the notary's log until `want` pass lines; return them."""
    got = []
    while len(got) < want:
        line = proc.stderr.readline()
        if not line:
            raise RuntimeError(f"the notary exited ({proc.wait()})")
        rec = json.loads(line)
        if rec.get("event") == "pass":
            got.append(rec)
    return got


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _start(mountpoint: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(NOTARY), "--root", str(mountpoint), "notary", "run", "--interval", "3s"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )


def measure(students: int, base: Path) -> dict:
    backing, mountpoint = base / "backing", base / "mnt"
    backing.mkdir()
    mountpoint.mkdir()
    _course(backing, students)
    result = {"students": students, "volume": ENV.label}
    with ENV.mount(backing, mountpoint) as fs:
        before = fs.stats()
        proc = _start(mountpoint)
        try:
            (first,) = _passes(proc, 1)
            after_first = fs.stats()
            # Directories changed within 2 s of a look are looked at again next pass (the
            # first pass writes every student's confirmation as it ends): the passes that
            # began within 3 s of its end still list; the one after them is idle.
            first_end = time.monotonic()
            while True:
                (settle,) = _passes(proc, 1)
                if time.monotonic() - settle["seconds"] >= first_end + 3:
                    break
            after_settle = fs.stats()
            (idle,) = _passes(proc, 1)
            after_idle = fs.stats()
            burst = min(BURST, students)
            before_burst = fs.stats()
            for i in range(burst):
                inbox = backing / "course101" / "inbound" / f"s{i:05d}"
                _submission(inbox, f"ps1+2026-12-01 11:00:00.{i:06d} UTC+b{i:05d}", "{}")
            # The passes that see the burst (the attribute cache may defer some by 1 s).
            sealed, burst_passes = 0, []
            while sealed < burst:
                (p,) = _passes(proc, 1)
                burst_passes.append(p)
                sealed += p["records"]
            after_burst = fs.stats()
            result.update(
                first_s=first["seconds"],
                first_round_trips=after_first["round_trips"] - before["round_trips"],
                idle_s=idle["seconds"],
                idle_round_trips=after_idle["round_trips"] - after_settle["round_trips"],
                burst_students=burst,
                burst_pass_s=[p["seconds"] for p in burst_passes],
                burst_round_trips=after_burst["round_trips"] - before_burst["round_trips"],
                peak_rss_kib=_peak_kib(proc.pid),
            )
        finally:
            proc.kill()
            proc.wait()
        # A restart: everything is sealed; what the first pass costs then.
        before_restart = fs.stats()
        proc = _start(mountpoint)
        try:
            (restart,) = _passes(proc, 1)
            after_restart = fs.stats()
            result.update(
                restart_s=restart["seconds"],
                restart_round_trips=after_restart["round_trips"] - before_restart["round_trips"],
                peak_rss_kib=max(result["peak_rss_kib"], _peak_kib(proc.pid)),
            )
        finally:
            proc.kill()
            proc.wait()
    return result


def run(sizes) -> list:
    """One measurement per course size, each in its own temporary directory."""
    out = []
    for s in sizes:
        print(f"[notary] S={s:,}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-notary-") as base:
            out.append(measure(s, Path(base)))
    return out


def main(argv) -> int:
    if os.geteuid() != 0:
        print("bench.notary mounts latencyfs: run it as root", file=sys.stderr)
        return 1
    sizes = [int(a) for a in argv] or [100, 1000, 5000]
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "nbgrader-k8s-latencyfs"], cwd=REPO, check=True
    )
    for res in run(sizes):
        print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
