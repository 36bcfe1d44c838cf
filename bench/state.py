"""Put a generated course back into the state a scenario expects.

Scenarios change the course (collect fills ``submitted/``, submit adds submissions,
release_feedback writes feedback). Each measurement starts from a known state, restored
here directly on the backing directory while nothing is mounted.
"""

import os
import shutil
from pathlib import Path
from typing import Set

from .course import ASSIGNMENT, Course


def _move(src: Path, dst: Path) -> None:
    if src.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.rename(src, dst)


def late_in(course: Course, impl: str) -> None:
    """The late resubmissions (one student in ten) arrive in the inbound."""
    root = course.backing_root(impl)
    for sub in course.late.values():
        _move(
            course.late_store(impl) / sub.relpath(impl, "x"),
            root / sub.relpath(impl, course.spec.course),
        )


def late_out(course: Course, impl: str) -> None:
    """Take the late resubmissions out again."""
    root = course.backing_root(impl)
    for sub in course.late.values():
        _move(
            root / sub.relpath(impl, course.spec.course),
            course.late_store(impl) / sub.relpath(impl, "x"),
        )


def clear_submitted(course: Course, impl: str) -> None:
    """An instructor who has collected nothing yet."""
    top = course.instructor_dir(impl)
    for name in ("submitted", "floor-submitted"):
        shutil.rmtree(top / name, ignore_errors=True)


def clear_released_feedback(course: Course, impl: str) -> None:
    """Remove the feedback that releasing ps1 writes (so the release starts fresh)."""
    for student in course.students:
        sub = course.newest(student)
        for nb_id in course.nb_ids:
            path = course.feedback_path(impl, sub, nb_id)
            if path.exists():
                path.unlink()


def _expected_inbound(course: Course, impl: str, with_late: bool) -> Set[str]:
    names = {s.name(impl) for subs in course.subs.values() for s in subs}
    if with_late:
        names |= {s.name(impl) for s in course.late.values()}
    return names


def prune(course: Course, impl: str, with_late: bool = False) -> int:
    """Remove submissions, cache entries and fetched assignments the generator did not
    make (what submit and fetch scenarios added). Returns how many entries went."""
    removed = 0
    expected = _expected_inbound(course, impl, with_late)
    inbound = course.backing_root(impl) / course.spec.course / "inbound"
    dirs = [inbound / s for s in course.students] if impl == "ours" else [inbound]
    for where in dirs:
        for entry in os.scandir(where):
            if entry.name not in expected and not (impl == "ours" and entry.name.startswith(".")):
                shutil.rmtree(entry.path)
                removed += 1
    cached = {s.cache_name() for s in course.cached}
    for student in course.home_students():
        home = course.home(impl, student)
        cache = course.cache_dir(impl, student) / course.spec.course
        if cache.is_dir():
            for entry in os.scandir(cache):
                if entry.name not in cached:
                    shutil.rmtree(entry.path)
                    removed += 1
        fetched = {ASSIGNMENT} | {f"ps{a}" for a in range(2, 6) if student == course.students[0]}
        for entry in os.scandir(home):
            if entry.is_dir() and entry.name.startswith("ps") and entry.name not in fetched:
                shutil.rmtree(entry.path)
                removed += 1
    return removed
