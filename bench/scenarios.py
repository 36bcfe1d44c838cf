"""The scenarios of the issue, each run for our exchange, nbgrader's default, and a floor.

Instructor: ``collect`` (fresh and ``--update``), ``list --inbound``, ``release_feedback``.
Student (``s00000``): the Assignments tab's ``list``, ``fetch_assignment``, ``submit``.
Deadline burst: many students submit at once, a bounded number of processes at a time.
Each is timed in-process (the exchange call only) and, where asked, as whole CLI commands.
"""

import statistics
import subprocess
from pathlib import Path
from typing import Any, Dict, List

from . import state
from .course import ASSIGNMENT, DEADLINE, IMPLS, MEASURED_STUDENT, Course
from .runner import PYTHON, Runner

FLOOR_THREADS = 16


def write_configs(course: Course) -> None:
    """``nbgrader_config.py`` for the instructor and each student home, per exchange."""
    from nbgrader_k8s_exchange.demo import PLUGIN_CONFIG

    for impl in IMPLS:
        common = (
            "c = get_config()  # noqa\n"
            + (PLUGIN_CONFIG if impl == "ours" else "")
            + f"c.Exchange.root = {str(course.root(impl))!r}\n"
            + f"c.CourseDirectory.course_id = {course.spec.course!r}\n"
        )
        top = course.instructor_dir(impl)
        top.mkdir(parents=True, exist_ok=True)
        (top / "nbgrader_config.py").write_text(common + f"c.CourseDirectory.root = {str(top)!r}\n")
        _gradebook(course, top)
        for student in course.home_students():
            home = course.home(impl, student)
            home.mkdir(parents=True, exist_ok=True)
            (home / "nbgrader_config.py").write_text(
                common
                + f"c.CourseDirectory.student_id = {student!r}\n"
                + f"c.Exchange.cache = {str(course.cache_dir(impl, student))!r}\n"
            )


def _gradebook(course: Course, top: Path) -> None:
    """Create the course's gradebook up front: a new one costs nbgrader an ``alembic``
    subprocess, which no exchange should be charged for."""
    if (top / "gradebook.db").exists():
        return
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{top / 'gradebook.db'}", course.spec.course) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=DEADLINE.replace(tzinfo=None))


def _job(course: Course, impl: str, kind: str, **more) -> Dict[str, Any]:
    job = {"kind": kind, "impl": impl, "root": str(course.root(impl)), "course": course.spec.course}
    job.update(more)
    return job


def instructor_job(course: Course, impl: str, kind: str, **more) -> Dict[str, Any]:
    return _job(course, impl, kind, instructor_dir=str(course.instructor_dir(impl)), **more)


def student_job(course: Course, impl: str, kind: str, student: str, **more) -> Dict[str, Any]:
    home = str(course.home(impl, student))
    return _job(course, impl, kind, student=student, home=home, **more)


def instructor(runner: Runner, course: Course, cli: bool, repeats: int = 1) -> Dict[str, Any]:
    """collect, collect --update, list --inbound, release_feedback; both exchanges.
    In-process, the whole sequence runs ``repeats`` times and each scenario keeps its
    median run (worth it where one run is short and noisy, as on local disk)."""
    course.ensure_feedback()
    out: Dict[str, Any] = {}
    for impl in IMPLS:
        runs = [_instructor_once(runner, course, impl, "inproc") for _ in range(repeats)]
        res: Dict[str, Any] = {"inproc": {k: _median([r[k] for r in runs]) for k in runs[0]}}
        if cli:
            res["cli"] = _instructor_once(runner, course, impl, "cli")
        out[impl] = res
    out["floor"] = floors(runner, course)
    return out


def _instructor_once(runner: Runner, course: Course, impl: str, mode: str) -> Dict[str, Any]:
    top = course.instructor_dir(impl)
    res: Dict[str, Any] = {}

    def measure(name: str, kind: str, argv: List[str], **more) -> None:
        label = f"{runner.env.name}-{impl}-{mode}-{name}"
        if mode == "inproc":
            job = instructor_job(course, impl, kind, **more)
            res[name] = runner.inproc(job, label)
        else:
            res[name] = runner.cli([argv], top, None, label)

    # Before feedback is released: the moment an instructor collects and lists. (A run
    # must not see the previous run's released feedback: the default reads every page.)
    state.late_out(course, impl)
    state.clear_submitted(course, impl)
    state.clear_released_feedback(course, impl)
    measure("collect", "collect", ["collect", ASSIGNMENT], assignment=ASSIGNMENT)
    state.late_in(course, impl)
    measure(
        "collect_update",
        "collect",
        ["collect", "--update", ASSIGNMENT],
        assignment=ASSIGNMENT,
        update=True,
    )
    state.late_out(course, impl)
    measure("list_inbound", "list_inbound", ["list", "--inbound"])
    state.clear_released_feedback(course, impl)
    measure(
        "release_feedback",
        "release_feedback",
        ["release_feedback", ASSIGNMENT],
        assignment=ASSIGNMENT,
    )
    return res


def floors(runner: Runner, course: Course) -> Dict[str, Any]:
    """The plain parallel copy and walk, on our layout."""
    state.clear_submitted(course, "ours")
    files = list(course.collect_files("ours"))
    dest = course.instructor_dir("ours") / "floor-submitted"
    copy = {
        "kind": "floor_copy",
        "root": str(course.root("ours")),
        "dest": str(dest),
        "files": files,
        "threads": FLOOR_THREADS,
    }
    walk = {
        "kind": "floor_walk",
        "root": str(course.root("ours")),
        "dirs": [f"{course.spec.course}/inbound", f"{course.spec.course}/feedback_public"],
        "threads": FLOOR_THREADS,
    }
    res = {
        "collect": runner.inproc(copy, f"{runner.env.name}-floor-copy"),
        "list_inbound": runner.inproc(walk, f"{runner.env.name}-floor-walk"),
    }
    state.clear_submitted(course, "ours")
    return res


def student(runner: Runner, course: Course, cli: bool, repeats: int) -> Dict[str, Any]:
    """The measured student's Assignments tab list, fetch of ps6, submit of ps1."""
    out: Dict[str, Any] = {}
    s = MEASURED_STUDENT
    for impl in IMPLS:
        state.prune(course, impl)
        home = course.home(impl, s)
        res: Dict[str, Any] = {"inproc": {}, "cli": {}}
        ops = {
            "list": ("student_list", {}, [["list"], ["list", "--cached"]]),
            "fetch_assignment": ("fetch", {"assignment": "ps6"}, [["fetch_assignment", "ps6"]]),
            "submit": ("submit", {"assignment": ASSIGNMENT}, [["submit", ASSIGNMENT]]),
        }
        for name, (kind, more, argvs) in ops.items():
            runs = []
            for i in range(repeats):
                state.prune(course, impl)
                job = student_job(course, impl, kind, s, **more)
                runs.append(runner.inproc(job, f"{runner.env.name}-{impl}-{name}-{i}"))
            res["inproc"][name] = _median(runs)
            if cli:
                state.prune(course, impl)
                label = f"{runner.env.name}-{impl}-cli-{name}"
                res["cli"][name] = runner.cli(argvs, home, s, label)
        state.prune(course, impl)
        out[impl] = res
    return out


def _median(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The run with the median time, with every run's seconds beside it."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    pick = dict(ordered[len(ordered) // 2])
    pick["all_seconds"] = [r["seconds"] for r in runs]
    return pick


def burst(runner: Runner, course: Course, n: int, parallel: int, cli: bool) -> Dict[str, Any]:
    """``n`` students submit ps1 at the same moment, ``parallel`` processes at a time:
    in-process (workers already started, only the submits timed) or as whole CLI runs."""
    students = course.home_students()[:n]
    out: Dict[str, Any] = {"students": len(students), "parallel": parallel}
    for impl in IMPLS:
        state.prune(course, impl)
        label = f"{runner.env.name}-{impl}-burst{'-cli' if cli else ''}"
        if cli:
            cmds = [(course.home(impl, s), s, ["submit", ASSIGNMENT]) for s in students]
            out[impl] = runner.burst_cli(cmds, parallel, label)
        else:
            jobs = [student_job(course, impl, "submit", s, assignment=ASSIGNMENT) for s in students]
            out[impl] = runner.burst_inproc([jobs[i::parallel] for i in range(parallel)], label)
        state.prune(course, impl)
    return out


def plugin_import_ms(repeats: int = 7) -> Dict[str, float]:
    """What importing our plugin adds to a process that already imported nbgrader's apps
    (as ``nbgrader`` has when it reads the config), median of fresh processes."""
    code = (
        "import time, nbgrader.apps\n"
        "t = time.perf_counter()\n"
        "import nbgrader_k8s_exchange.plugin\n"
        "print((time.perf_counter() - t) * 1000)\n"
    )
    samples = []
    for _ in range(repeats):
        out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True)
        samples.append(float(out.stdout.strip()))
    return {"median_ms": statistics.median(samples), "samples_ms": samples}


def cli_startup_s(home: Path, repeats: int = 3) -> float:
    """Seconds for ``nbgrader --version`` (Python and nbgrader start-up, no exchange)."""
    import time

    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([PYTHON, "-m", "nbgrader", "--version"], cwd=home, capture_output=True)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)
