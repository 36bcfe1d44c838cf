"""Measuring one thing: a fresh mount, a fresh process, a request-count snapshot either side.

Every measurement mounts the exchange anew (the client's caches start cold, as in a pod
that has not touched the volume yet) and reports wall seconds, round trips (requests the
simulated server served, per kind), the most requests in flight at once, and for
in-process runs the worker's peak resident memory.
"""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from .course import Course
from .mounts import REPO, Env, delta

PYTHON = sys.executable
# The venv's scripts (nbgrader runs ``alembic``), as in an activated environment.
PATH = os.pathsep.join([os.path.dirname(PYTHON), os.environ.get("PATH", "")])
Result = Dict[str, Any]


class Runner:
    """Runs measurements of one course on one filesystem setting."""

    def __init__(self, course: Course, env: Env, logdir: Path):
        self.course = course
        self.env = env
        self.logdir = logdir
        logdir.mkdir(parents=True, exist_ok=True)
        self._n = 0

    def mount(self):
        return self.env.mount(self.course.backing, self.course.mountpoint)

    def _log(self, label: str) -> Path:
        self._n += 1
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
        return self.logdir / f"{self._n:03d}-{safe}.log"

    def _worker(self, job: Dict[str, Any], log) -> subprocess.Popen:
        """A worker of its own (for bursts, where many run at once)."""
        proc = subprocess.Popen(
            [PYTHON, "-m", "bench.worker"],
            cwd=str(REPO),
            env=worker_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        _send(proc, json.dumps(job))
        return proc

    def inproc(self, job: Dict[str, Any], label: str) -> Result:
        """Time the exchange call alone, in a fresh process forked from the zygote."""
        log = self._log(label)
        job = dict(job, log=str(log), cwd=job.get("home") or job.get("instructor_dir"))
        zygote = Zygote.get()
        with self.mount() as m:
            _send(zygote, json.dumps(job))
            ready = _answer(zygote, label)
            before = m.stats()
            _send(zygote, "go")
            done = _answer(zygote, label)
            after = m.stats()
        return _progress(
            label,
            {
                "seconds": done["seconds"],
                "cpu_seconds": done["cpu_seconds"],
                "peak_rss_mb": done["peak_rss_mb"],
                "base_rss_mb": ready["base_rss_mb"],
                "summary": done["summary"],
                "net": delta(before, after),
            },
        )

    def cli(self, argvs: Sequence[Sequence[str]], cwd: Path, user: str, label: str) -> Result:
        """Time whole ``nbgrader`` commands (start-up included), one after the other."""
        env = cli_env(cwd, user)
        with open(self._log(label), "w") as log, self.mount() as m:
            before = m.stats()
            t0 = time.perf_counter()
            for argv in argvs:
                log.write(f"$ nbgrader {' '.join(argv)}\n")
                log.flush()
                proc = subprocess.run(
                    [PYTHON, "-m", "nbgrader", *argv],
                    cwd=cwd,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
                if proc.returncode != 0:
                    raise RuntimeError(f"{label}: nbgrader {' '.join(argv)} failed, see {log.name}")
            seconds = time.perf_counter() - t0
            after = m.stats()
        return _progress(label, {"seconds": seconds, "net": delta(before, after)})

    def burst_inproc(self, batches: List[List[Dict[str, Any]]], label: str) -> Result:
        """Start one worker per batch, let all go at once; each runs its submits in turn."""
        with open(self._log(label), "w") as log, self.mount() as m:
            procs = [self._worker({"batch": batch}, log) for batch in batches]
            for proc in procs:
                _answer(proc, label)
            before = m.stats()
            t0 = time.perf_counter()
            for proc in procs:
                _send(proc, "go")
            runs: List[float] = []
            for proc in procs:
                runs += _answer(proc, label)["summary"]["runs"]
            seconds = time.perf_counter() - t0
            after = m.stats()
            for proc in procs:
                proc.wait()
        return _progress(label, {"seconds": seconds, "runs": runs, "net": delta(before, after)})

    def burst_cli(self, commands: List[tuple], parallel: int, label: str) -> Result:
        """Run ``(cwd, user, argv)`` commands, ``parallel`` at a time, all queued at once."""

        def one(cmd) -> float:
            cwd, user, argv = cmd
            t0 = time.perf_counter()
            proc = subprocess.run(
                [PYTHON, "-m", "nbgrader", *argv],
                cwd=cwd,
                env=cli_env(cwd, user),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"{label}: {user} failed:\n{proc.stdout}")
            return time.perf_counter() - t0

        with self.mount() as m:
            before = m.stats()
            t0 = time.perf_counter()
            with ThreadPoolExecutor(parallel) as pool:
                runs = list(pool.map(one, commands))
            seconds = time.perf_counter() - t0
            after = m.stats()
        return _progress(label, {"seconds": seconds, "runs": runs, "net": delta(before, after)})


def worker_env() -> Dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), PATH=PATH)


def _send(proc: subprocess.Popen, line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def _answer(proc: subprocess.Popen, label: str) -> Dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"{label}: worker exited ({proc.wait()})")
    answer = json.loads(line)
    if answer["event"] == "error":
        raise RuntimeError(f"{label}: {answer['error']}")
    return answer


class Zygote:
    """The one process with nbgrader imported that forks a child per measurement."""

    _proc: Optional[subprocess.Popen] = None

    @classmethod
    def get(cls) -> subprocess.Popen:
        if cls._proc is None or cls._proc.poll() is not None:
            cls._proc = subprocess.Popen(
                [PYTHON, "-m", "bench.worker", "--zygote"],
                cwd=str(REPO),
                env=worker_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        return cls._proc


def _progress(label: str, result: Result) -> Result:
    net = result.get("net") or {}
    trips = f"{net['round_trips']:>7} round trips" if net else ""
    print(f"  {label:<48} {result['seconds']:9.3f} s {trips}", file=sys.stderr, flush=True)
    return result


def cli_env(home: Path, user: Optional[str]) -> Dict[str, str]:
    """The environment of a user's pod: their HOME and Jupyter dirs, their hub name."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(
        PATH=PATH,
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"),
    )
    if user:
        env["JUPYTERHUB_USER"] = user
    return env
