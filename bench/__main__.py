"""``python -m bench [run|report]``: run the benchmarks and write BENCHMARKS.md.

Settings come from the environment so ``make bench`` can pass them through:

=========================  =======================  =========================================
variable                   default                  meaning
=========================  =======================  =========================================
BENCH_STUDENTS             500                      S of the main course
BENCH_SUBMISSIONS          3                        K submissions per student
BENCH_FILES                3                        F notebooks per submission
BENCH_LATENCY_MS           1                        simulated round trip
BENCH_ATTR_TIMEOUT_S       1                        kernel entry/attribute cache (actimeo)
BENCH_SERVER_THREADS       16                       requests the simulated server serves at once
BENCH_ENVS                 nfs,nfs-nocache,local,   filesystems to run the scenarios on
                           tmpfs                    (tmpfs: the course in memory, in-process
                                                    only: our CPU and system calls alone)
BENCH_NOCACHE_STUDENTS     100                      S for nfs-nocache (the default exchange
                                                    takes ~1 s per student there)
BENCH_CLI                  1                        also time whole CLI commands (nfs env)
BENCH_REPEATS              3                        runs kept as a median: student ops (nfs,
                                                    local), instructor ops (local)
BENCH_TMPFS_REPEATS        7                        the same on tmpfs (runs are short there)
BENCH_BURST                200                      deadline burst: submits (in-process)
BENCH_BURST_CLI            64                       deadline burst: whole ``nbgrader submit``
BENCH_PARALLEL             16                       burst processes at once
BENCH_GROWTH               100,1000,5000            course sizes for the growth runs
BENCH_GROWTH_DEFAULT_MAX   1000                     largest S the default exchange runs at
BENCH_NOTARY               100,1000,5000            course sizes for the notary's passes
                                                    (``bench/notary.py``; empty: skip)
BENCH_DIR                  artifacts/bench          generated courses, logs, results.json
BENCH_OUT                  BENCHMARKS.md            the report
=========================  =======================  =========================================
"""

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict

from . import growth, machine, notary, report, scenarios
from .course import Course, Spec
from .mounts import LATENCYFS, REPO, Env, ensure_tmpfs
from .runner import PATH, Runner

DEFAULTS = {
    "BENCH_STUDENTS": "500",
    "BENCH_SUBMISSIONS": "3",
    "BENCH_FILES": "3",
    "BENCH_LATENCY_MS": "1",
    "BENCH_ATTR_TIMEOUT_S": "1",
    "BENCH_SERVER_THREADS": "16",
    "BENCH_ENVS": "nfs,nfs-nocache,local,tmpfs",
    "BENCH_NOCACHE_STUDENTS": "100",
    "BENCH_CLI": "1",
    "BENCH_REPEATS": "3",
    "BENCH_TMPFS_REPEATS": "7",
    "BENCH_BURST": "200",
    "BENCH_BURST_CLI": "64",
    "BENCH_PARALLEL": "16",
    "BENCH_GROWTH": "100,1000,5000",
    "BENCH_GROWTH_DEFAULT_MAX": "1000",
    "BENCH_NOTARY": "100,1000,5000",
    "BENCH_DIR": "artifacts/bench",
    "BENCH_OUT": "BENCHMARKS.md",
}


def setting(name: str) -> str:
    return os.environ.get(name, DEFAULTS[name])


def envs() -> Dict[str, Env]:
    latency = float(setting("BENCH_LATENCY_MS"))
    ttl = float(setting("BENCH_ATTR_TIMEOUT_S"))
    threads = int(setting("BENCH_SERVER_THREADS"))
    known = {
        "nfs": Env("nfs", latency, ttl, threads=threads),
        "nfs-nocache": Env("nfs-nocache", latency, 0.0, threads=threads),
        "local": Env("local", fuse=False),
        "tmpfs": Env("tmpfs", fuse=False, tmpfs=True),
    }
    return {name: known[name] for name in setting("BENCH_ENVS").split(",") if name}


def preflight() -> None:
    problems = []
    if os.geteuid() != 0:
        problems.append("run as root: the harness mounts (FUSE and bind mounts)")
    if not os.path.exists("/dev/fuse"):
        problems.append("/dev/fuse is missing")
    if not LATENCYFS.exists():
        problems.append(f"{LATENCYFS} is missing: cargo build --release -p nbgrader-k8s-latencyfs")
    try:
        import nbgrader_k8s_exchange._core  # noqa: F401
    except ImportError as err:
        problems.append(f"our exchange is not built ({err}): make develop")
    if problems:
        raise SystemExit("bench: cannot run:\n  " + "\n  ".join(problems))


def _course(base: Path, main: Spec, env_name: str) -> Course:
    """The main course, or for the uncached network env a smaller one; for tmpfs, the main
    course generated in memory (exchange, instructor directory and homes alike)."""
    spec = main
    if env_name == "tmpfs":
        base = ensure_tmpfs(base / "tmpfs")
    if env_name == "nfs-nocache":
        spec = Spec(
            students=int(setting("BENCH_NOCACHE_STUDENTS")),
            submissions=main.submissions,
            files=main.files,
            seed=main.seed,
        )
    course = Course(base / f"course-{spec.key}", spec)
    t0 = time.time()
    if course.generate():
        took = time.time() - t0
        print(f"[setup] generated {course.base} in {took:.0f} s", file=sys.stderr, flush=True)
    scenarios.write_configs(course)
    return course


def run() -> Dict[str, Any]:
    preflight()
    os.environ["PATH"] = PATH
    base = (REPO / setting("BENCH_DIR")).resolve()
    spec = Spec(
        students=int(setting("BENCH_STUDENTS")),
        submissions=int(setting("BENCH_SUBMISSIONS")),
        files=int(setting("BENCH_FILES")),
        homes=max(int(setting("BENCH_BURST")), int(setting("BENCH_BURST_CLI")), 1),
    )
    started = time.time()
    results: Dict[str, Any] = {
        "meta": machine.facts(sys.argv, {k: setting(k) for k in DEFAULTS}, DEFAULTS),
        "spec": spec.__dict__,
        "envs": {},
    }
    cli = setting("BENCH_CLI") == "1"
    for name, env in envs().items():
        course = _course(base, spec, name)
        print(f"[{name}] {env.label}, {course.spec.key}", file=sys.stderr, flush=True)
        runner = Runner(course, env, base / "logs" / name)
        with_cli = cli and name == "nfs"
        repeats = {"nfs-nocache": 1, "tmpfs": int(setting("BENCH_TMPFS_REPEATS"))}.get(
            name, int(setting("BENCH_REPEATS"))
        )
        res: Dict[str, Any] = {
            "label": env.label,
            "env": env.__dict__,
            "spec": course.spec.__dict__,
        }
        # Instructor runs are long on the network envs; on local disk and tmpfs they are
        # short and noisy, so there they are repeated too.
        instructor_repeats = repeats if name in ("local", "tmpfs") else 1
        res["instructor"] = scenarios.instructor(runner, course, with_cli, instructor_repeats)
        res["student"] = scenarios.student(runner, course, with_cli, repeats)
        parallel = int(setting("BENCH_PARALLEL"))
        if name == "nfs" and int(setting("BENCH_BURST")) > 0:
            n = int(setting("BENCH_BURST"))
            res["burst"] = scenarios.burst(runner, course, n, parallel, cli=False)
        if with_cli and int(setting("BENCH_BURST_CLI")) > 0:
            n = int(setting("BENCH_BURST_CLI"))
            res["burst_cli"] = scenarios.burst(runner, course, n, parallel, cli=True)
        results["envs"][name] = res
    growth_env = envs().get("nfs") or Env("nfs", float(setting("BENCH_LATENCY_MS")))
    sizes = [int(s) for s in setting("BENCH_GROWTH").split(",") if s]
    if sizes:
        results["growth"] = growth.run(
            base, sizes, growth_env, spec, int(setting("BENCH_GROWTH_DEFAULT_MAX"))
        )
    notary_sizes = [int(s) for s in setting("BENCH_NOTARY").split(",") if s]
    if notary_sizes:
        results["notary"] = notary.run(notary_sizes)
    print("[startup] plugin import and nbgrader start-up", file=sys.stderr, flush=True)
    results["import"] = scenarios.plugin_import_ms()
    results["cli_startup_s"] = scenarios.cli_startup_s(course.instructor_dir("default"))
    results["meta"]["duration_s"] = time.time() - started
    results["meta"]["load_after"] = machine.load()
    (base / "results.json").write_text(json.dumps(results, indent=1))
    return results


def main(argv) -> int:
    command = argv[1] if len(argv) > 1 else "run"
    base = (REPO / setting("BENCH_DIR")).resolve()
    if command == "run":
        results = run()
    elif command == "report":
        results = json.loads((base / "results.json").read_text())
    else:
        print(__doc__)
        return 2
    out = REPO / setting("BENCH_OUT")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.render(results))
    print(f"[done] wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
