"""A synthetic course: S students x K submissions x F notebooks, in both exchanges' layouts.

Everything is written straight into the backing directory (no mount), once per course size,
and reused by every run that asks for the same :class:`Spec`. The same bytes go into both
layouts::

    ours     {root}/{course}/inbound/{student}/{assignment}+{timestamp}+{random}/...
             {root}/{course}/feedback_public/{student}/{key}.html
    default  {root}/{course}/inbound/{student}+{assignment}+{timestamp}+{random}/...
             {root}/{course}/feedback/{key}.html

``{root}`` is ``{base}/mnt/{impl}`` as the exchanges see it (a FUSE or bind mount of
``{base}/exchange``). Beside the exchange: one instructor course directory per exchange
(``{base}/instructor-{impl}/{course}``) holding generated feedback for release, and student
homes (``{base}/homes-{impl}/{student}``) with fetched work and a submission cache.

Student ``s00000`` is the one whose Assignments tab is measured: 10 released assignments,
5 of them fetched and submitted, each with released feedback.
"""

import base64
import datetime
import json
import os
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

from . import notebooks

IMPLS = ("ours", "default")
ASSIGNMENT = "ps1"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
DEADLINE = datetime.datetime(2024, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)
MEASURED_STUDENT = "s00000"
SUBMITTED_BY_MEASURED = 5
LATE_SHARE = 10  # one student in LATE_SHARE resubmits after the first collect


@dataclass(frozen=True)
class Spec:
    """What to generate."""

    students: int
    submissions: int = 3
    files: int = 3
    released: int = 10
    homes: int = 1
    seed: int = 1
    course: str = "course101"

    @property
    def key(self) -> str:
        return f"S{self.students}-K{self.submissions}-F{self.files}-H{self.homes}-seed{self.seed}"


def student_id(i: int) -> str:
    return f"s{i:05d}"


def notebook_ids(spec: Spec) -> List[str]:
    return [f"problem{j}" for j in range(1, spec.files + 1)]


def stamp(when: datetime.datetime) -> str:
    return when.strftime(TIMESTAMP_FORMAT)


@dataclass(frozen=True)
class Submission:
    """One generated submission of ps1 (or, for the measured student, of ps1..ps5)."""

    student: str
    assignment: str
    timestamp: str
    random: str
    secret: str
    bodies: Tuple[int, ...]  # index into the notebook pool, one per notebook

    def name(self, impl: str) -> str:
        tail = f"{self.assignment}+{self.timestamp}+{self.random}"
        return tail if impl == "ours" else f"{self.student}+{tail}"

    def relpath(self, impl: str, course: str) -> str:
        """The submission directory relative to the exchange root."""
        if impl == "ours":
            return f"{course}/inbound/{self.student}/{self.name(impl)}"
        return f"{course}/inbound/{self.name(impl)}"

    def cache_name(self) -> str:
        return f"{self.student}+{self.assignment}+{self.timestamp}"


class Course:
    """A generated course under ``base``, and where each part of it is."""

    def __init__(self, base: Path, spec: Spec):
        self.base = Path(base)
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.pool = notebooks.pool(spec.seed)
        self.students = [student_id(i) for i in range(spec.students)]
        self.nb_ids = notebook_ids(spec)
        self.subs: Dict[str, List[Submission]] = {}
        self.late: Dict[str, Submission] = {}
        self.cached: List[Submission] = []
        self._plan()

    # -- where things are ----------------------------------------------------------------

    @property
    def backing(self) -> Path:
        return self.base / "exchange"

    @property
    def mountpoint(self) -> Path:
        return self.base / "mnt"

    def root(self, impl: str) -> Path:
        """``Exchange.root`` as the exchanges see it (through the mount)."""
        return self.mountpoint / impl

    def backing_root(self, impl: str) -> Path:
        return self.backing / impl

    def instructor_dir(self, impl: str) -> Path:
        return self.base / f"instructor-{impl}" / self.spec.course

    def home(self, impl: str, student: str) -> Path:
        return self.base / f"homes-{impl}" / student

    def cache_dir(self, impl: str, student: str) -> Path:
        return self.home(impl, student) / ".nbgrader_cache"

    def late_store(self, impl: str) -> Path:
        return self.base / f"late-{impl}"

    def home_students(self) -> List[str]:
        return self.students[: max(1, min(self.spec.homes, len(self.students)))]

    # -- the plan: every id, timestamp and secret, decided up front -----------------------

    def _submission(self, student: str, assignment: str, when: datetime.datetime):
        rng = self.rng
        return Submission(
            student=student,
            assignment=assignment,
            timestamp=stamp(when),
            random=base64.urlsafe_b64encode(rng.randbytes(9)).decode("ascii"),
            secret=f"{rng.getrandbits(512):0128x}",
            bodies=tuple(rng.randrange(len(self.pool)) for _ in self.nb_ids),
        )

    def _plan(self) -> None:
        spec = self.spec
        for i, student in enumerate(self.students):
            subs = []
            for k in range(spec.submissions):
                hours_early = spec.submissions - k
                when = DEADLINE - datetime.timedelta(hours=hours_early, seconds=i % 3600)
                subs.append(self._submission(student, ASSIGNMENT, when))
            self.subs[student] = subs
            if i % LATE_SHARE == 0:
                when = DEADLINE + datetime.timedelta(minutes=30, seconds=i % 3600)
                self.late[student] = self._submission(student, ASSIGNMENT, when)
        # The measured student's cache: their newest ps1 submission, plus ps2..ps5.
        measured = self.students[0]
        self.cached = [self.subs[measured][-1]]
        for a in range(2, SUBMITTED_BY_MEASURED + 1):
            when = DEADLINE - datetime.timedelta(days=7 * (a - 1))
            self.cached.append(self._submission(measured, f"ps{a}", when))

    def newest(self, student: str) -> Submission:
        return self.subs[student][-1]

    # -- generation -----------------------------------------------------------------------

    def generate(self) -> bool:
        """Write the course unless this exact spec is already there; True if written."""
        marker = self.base / "spec.json"
        wanted = json.dumps(asdict(self.spec), sort_keys=True)
        if marker.exists() and marker.read_text() == wanted:
            return False
        if self.base.exists():
            shutil.rmtree(self.base)
        self.mountpoint.mkdir(parents=True)
        for impl in IMPLS:
            self._write_exchange(impl)
            for student in self.home_students():
                self._write_home(impl, student)
        marker.write_text(wanted)
        return True

    def _write_notebooks(self, where: Path, bodies) -> None:
        where.mkdir(parents=True, exist_ok=True)
        for nb_id, body in zip(self.nb_ids, bodies):
            (where / f"{nb_id}.ipynb").write_bytes(self.pool[body])

    def write_submission(self, where: Path, sub: Submission) -> None:
        self._write_notebooks(where, sub.bodies)
        (where / "timestamp.txt").write_text(sub.timestamp)
        (where / "submission_secret.txt").write_text(sub.secret)

    def feedback_key(self, sub: Submission, nb_id: str) -> str:
        from nbgrader.utils import notebook_hash

        return notebook_hash(secret=sub.secret, notebook_id=nb_id)

    def feedback_path(self, impl: str, sub: Submission, nb_id: str) -> Path:
        """Where released feedback for ``sub`` lives in the backing directory."""
        course = self.backing_root(impl) / self.spec.course
        name = f"{self.feedback_key(sub, nb_id)}.html"
        if impl == "ours":
            return course / "feedback_public" / sub.student / name
        return course / "feedback" / name

    def _write_exchange(self, impl: str) -> None:
        root = self.backing_root(impl)
        course = root / self.spec.course
        for sub in ("outbound", "inbound", "feedback_public" if impl == "ours" else "feedback"):
            (course / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o777)  # nbgrader's default exchange insists on a world-writable root
        for a in range(1, self.spec.released + 1):
            bodies = [(a * 7 + j) % len(self.pool) for j in range(self.spec.files)]
            self._write_notebooks(course / "outbound" / f"ps{a}", bodies)
        for student in self.students:
            if impl == "ours":
                (course / "inbound" / student).mkdir()
                (course / "feedback_public" / student).mkdir()
            for sub in self.subs[student]:
                self.write_submission(root / sub.relpath(impl, self.spec.course), sub)
            if student in self.late:
                late = self.late[student]
                self.write_submission(self.late_store(impl) / late.relpath(impl, "x"), late)
        fb = notebooks.feedback_body(random.Random(self.spec.seed))
        for sub in self.cached:
            for nb_id in self.nb_ids:
                path = self.feedback_path(impl, sub, nb_id)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(fb)

    def ensure_feedback(self) -> None:
        """The instructor's generated feedback for ps1 (one page per notebook of each
        student's newest submission), written on first need: it is large, and only
        ``release_feedback`` reads it."""
        for impl in IMPLS:
            marker = self.instructor_dir(impl) / "feedback" / ".complete"
            if not marker.exists():
                shutil.rmtree(marker.parent, ignore_errors=True)
                self._write_instructor(impl)
                marker.write_text("")

    def _write_instructor(self, impl: str) -> None:
        fb = notebooks.feedback_body(random.Random(self.spec.seed + 1))
        top = self.instructor_dir(impl)
        for student in self.students:
            sub = self.newest(student)
            where = top / "feedback" / student / ASSIGNMENT
            where.mkdir(parents=True)
            for nb_id in self.nb_ids:
                (where / f"{nb_id}.html").write_bytes(fb)
            (where / "timestamp.txt").write_text(sub.timestamp)
            (where / "submission_secret.txt").write_text(sub.secret)

    def _write_home(self, impl: str, student: str) -> None:
        home = self.home(impl, student)
        # The work to submit, and (measured student) fetched copies of ps1..ps5.
        fetched = SUBMITTED_BY_MEASURED if student == MEASURED_STUDENT else 1
        for a in range(1, fetched + 1):
            self._write_notebooks(home / f"ps{a}", self.newest(student).bodies)
        if student == MEASURED_STUDENT:
            for sub in self.cached:
                cache = self.cache_dir(impl, student) / self.spec.course / sub.cache_name()
                self.write_submission(cache, sub)

    # -- what the floors copy and walk -----------------------------------------------------

    def collect_files(self, impl: str) -> Iterator[Tuple[str, str]]:
        """(source relative to the exchange root, destination relative to the instructor's
        course dir) for every file a fresh collect copies."""
        for student in self.students:
            sub = self.newest(student)
            src = sub.relpath(impl, self.spec.course)
            dest = f"submitted/{student}/{ASSIGNMENT}"
            for name in [f"{n}.ipynb" for n in self.nb_ids] + [
                "timestamp.txt",
                "submission_secret.txt",
            ]:
                yield f"{src}/{name}", f"{dest}/{name}"

    def collect_bytes(self, impl: str) -> int:
        root = self.backing_root(impl)
        return sum((root / src).stat().st_size for src, _ in self.collect_files(impl))
