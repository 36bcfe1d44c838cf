"""Processes that run in-process measurements: ``python -m bench.worker [--zygote]``.

Protocol (one JSON object per line): the runner writes a job on stdin; the worker prepares
it (config, nbgrader objects) and answers ``{"event": "ready"}``; the runner takes a
request-count snapshot and writes ``go``; the worker runs the exchange call and answers
``{"event": "done", "seconds", "cpu_seconds", "peak_rss_mb", ...}``. Only the call is
timed; ``cpu_seconds`` is the user and system time the process (all its threads) spent on
it, which other load on the machine moves less than the wall clock.

``--zygote`` imports nbgrader and our plugin once, then forks a fresh child per job (the
child speaks the protocol, the zygote waits for it): every measurement gets a process of
its own, without paying nbgrader's ~2 s of imports each time. The zygote must stay
single-threaded for forking to be safe; it checks.

A job with ``"batch": [job, ...]`` (one process of a deadline burst) prepares all its jobs
before ``ready`` and after ``go`` runs them one after the other, timing each.
"""

import json
import logging
import os
import resource
import sys
import time
import traceback


def _cpu_seconds() -> float:
    """User + system time of this process so far, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc (``VmRSS``: now; ``VmHWM``: peak)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


class Channel:
    """The protocol's two ends: job lines in, answers out."""

    def __init__(self) -> None:
        # Answers go to the real stdout; anything else printed goes to stderr (the log).
        self.out = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)

    def read(self) -> str:
        return sys.stdin.readline()

    def answer(self, **fields) -> None:
        self.out.write(json.dumps(fields) + "\n")
        self.out.flush()


def serve(chan: Channel, job: dict) -> int:
    """Prepare ``job``, say ready, wait for go, run it, report."""
    from . import jobs

    if job.get("log"):
        fd = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    if job.get("cwd"):
        os.chdir(job["cwd"])
    try:
        batch = job.get("batch")
        calls = [jobs.prepare(j) for j in batch] if batch else [jobs.prepare(job)]
    except Exception:
        chan.answer(event="error", error=traceback.format_exc())
        return 1
    chan.answer(event="ready", base_rss_mb=_status_mb("VmRSS"))
    if chan.read().strip() != "go":
        return 1
    try:
        runs, results = [], []
        cpu0 = _cpu_seconds()
        t0 = time.perf_counter()
        for call in calls:
            t = time.perf_counter()
            results.append(call())
            runs.append(time.perf_counter() - t)
        seconds = time.perf_counter() - t0
        cpu_seconds = _cpu_seconds() - cpu0
    except BaseException:  # nbgrader's ``fail`` raises ExchangeError; report, do not crash
        chan.answer(event="error", error=traceback.format_exc())
        return 1
    summary = {"runs": runs} if batch else jobs.summary(results[0])
    # Not ru_maxrss: Linux carries the parent's peak over fork and exec into it.
    chan.answer(
        event="done",
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        peak_rss_mb=_status_mb("VmHWM"),
        summary=summary,
    )
    return 0


def zygote(chan: Channel) -> int:
    """Import once, fork a child per job."""
    import nbgrader.api  # noqa: F401
    import nbgrader.auth  # noqa: F401
    import nbgrader.coursedir  # noqa: F401
    import nbgrader.exchange  # noqa: F401

    import nbgrader_k8s_exchange.plugin  # noqa: F401

    from . import jobs  # noqa: F401

    while True:
        line = chan.read()
        if not line:
            return 0
        threads = len(os.listdir("/proc/self/task"))
        if threads != 1:
            chan.answer(event="error", error=f"zygote has {threads} threads; cannot fork")
            return 1
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = serve(chan, json.loads(line))
            finally:
                os._exit(code)
        os.waitpid(pid, 0)


def main(argv) -> int:
    chan = Channel()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    if "--zygote" in argv:
        return zygote(chan)
    return serve(chan, json.loads(chan.read()))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
