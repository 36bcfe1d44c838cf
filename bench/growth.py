"""Growth: collect and list --inbound at several course sizes, with peak memory, plus the
round trips of a student's list and submit at each size (which must not grow)."""

import sys
from pathlib import Path
from typing import Any, Dict, Sequence

from . import scenarios, state
from .course import ASSIGNMENT, IMPLS, MEASURED_STUDENT, Course, Spec
from .mounts import Env
from .runner import Runner


def run(
    base: Path,
    sizes: Sequence[int],
    env: Env,
    template: Spec,
    default_max: int,
) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for students in sizes:
        spec = Spec(
            students=students,
            submissions=template.submissions,
            files=template.files,
            seed=template.seed,
        )
        course = Course(base / f"course-{spec.key}", spec)
        print(f"[growth] S={students}", file=sys.stderr, flush=True)
        if course.generate():
            print(f"[setup] generated {course.base}", file=sys.stderr, flush=True)
        scenarios.write_configs(course)
        runner = Runner(course, env, base / "logs" / f"growth-S{students}")
        res: Dict[str, Any] = {}
        for impl in IMPLS:
            if impl == "default" and students > default_max:
                continue
            res[impl] = _one(runner, course, impl)
        res["floor"] = scenarios.floors(runner, course)
        out[str(students)] = res
    return out


def _one(runner: Runner, course: Course, impl: str) -> Dict[str, Any]:
    state.late_out(course, impl)
    state.clear_submitted(course, impl)
    state.prune(course, impl)
    tag = f"growth-S{course.spec.students}-{impl}"
    res = {
        "collect": runner.inproc(
            scenarios.instructor_job(course, impl, "collect", assignment=ASSIGNMENT),
            f"{tag}-collect",
        ),
        "list_inbound": runner.inproc(
            scenarios.instructor_job(course, impl, "list_inbound"), f"{tag}-list"
        ),
        "student_list": runner.inproc(
            scenarios.student_job(course, impl, "student_list", MEASURED_STUDENT),
            f"{tag}-student-list",
        ),
        "submit": runner.inproc(
            scenarios.student_job(course, impl, "submit", MEASURED_STUDENT, assignment=ASSIGNMENT),
            f"{tag}-submit",
        ),
    }
    state.prune(course, impl)
    state.clear_submitted(course, impl)
    return res
