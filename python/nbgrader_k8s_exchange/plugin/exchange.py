"""The base class every plugin class shares: config traits, identity, and the call into Rust.

Python knows what only nbgrader knows (config, ``CourseDirectory`` paths, the gradebook, the
logger); every filesystem operation on the exchange happens in :mod:`.._core`. Errors from the
core become ``self.fail(...)``, so nbgrader prints one clear line instead of a traceback.
"""

import datetime
import getpass
import os
from textwrap import dedent
from typing import Any, Callable, Dict, List, Optional

from dateutil.parser import parse as parse_date
from jupyter_core.paths import jupyter_data_dir
from nbgrader.exchange.abc import Exchange as ABCExchange
from traitlets import Bool, Enum, Integer, Unicode, default, validate
from traitlets.config import LoggingConfigurable, TraitError
from traitlets.log import get_logger

from .. import _core
from .display import EscapingLog

# Ids that nbgrader uses as "no filter" on the command line.
_WILDCARDS = ("", "*")


class Exchange(ABCExchange):
    """Common traits and helpers of the per-student exchange."""

    root = Unicode(
        "/usr/local/share/nbgrader/exchange",
        help=dedent(
            """
            The exchange directory: the shared ReadWriteMany volume as mounted in this pod or
            machine (our deployment uses /mnt/exchange). Student pods mount only their own
            parts of it; it does not need to be writable by students.
            """
        ),
    ).tag(config=True)

    cache = Unicode(
        "",
        help=dedent(
            """
            Local cache for `nbgrader submit` and `nbgrader list --cached` (the student's own
            copies of submissions). Defaults to $JUPYTER_DATA_DIR/nbgrader_cache.
            """
        ),
    ).tag(config=True)

    @default("cache")
    def _cache_default(self) -> str:
        return os.path.join(jupyter_data_dir(), "nbgrader_cache")

    path_includes_course = Bool(
        False,
        help=dedent(
            """
            Whether fetched and submitted assignments live under a course folder
            (`./course101/ps1` instead of `./ps1`).
            """
        ),
    ).tag(config=True)

    max_files = Integer(
        10000,
        help=dedent(
            """
            Most files one submission may hold. Enforced when the instructor collects, since a
            student can write to their inbound directory without going through `submit`.
            0 means no cap.
            """
        ),
    ).tag(config=True)

    max_depth = Integer(
        16,
        help=dedent(
            """
            Deepest directory nesting allowed inside a submission; deeper entries are skipped
            with a warning when collecting. 0 means no cap.
            """
        ),
    ).tag(config=True)

    backdate_tolerance = Integer(
        300,
        help=dedent(
            """
            Seconds a submission's claimed timestamp (its name, as written by `submit`) may
            precede the time the filesystem saw it change (its ctime, which a student cannot
            set) before collect and `list --inbound` warn that it may be backdated, naming the
            student and path. Flagged submissions are still collected; submissions recorded by
            `nbgrader-k8s migrate` are exempt. Where the notary's index
            ({course}/.nbk8s-notary/index.json) holds a submission, the time the notary first
            saw it is used instead of ctime, and the warning says which rule was used (see
            docs/receipts.md). See SECURITY.md for what this can and cannot catch.
            """
        ),
    ).tag(config=True)

    grade_time = Enum(
        ["seal", "claim"],
        default_value="seal",
        help=dedent(
            """
            The time a collected submission is graded by (its `timestamp.txt`, which
            nbgrader's gradebook timestamp and late penalty use, through autograde and
            `nbgrader export`). 'seal' (the default): where the notary sealed the submission
            and its seal contradicts the time the submission claims (first seen more than
            `backdate_tolerance` after the claim, or not there when the notary's pass at a due
            date the claim precedes had completed), the seal's time, and collect names the
            student and says why; everywhere else the claim. Without a notary (no
            {course}/.nbk8s-notary/index.json) every claim stands and collect says so once.
            'claim': always the claimed time (the seal is only a warning), as before
            the notary decided. See docs/receipts.md and docs/notary.md.
            """
        ),
    ).tag(config=True)

    late_submissions = Enum(
        ["accept", "warn", "refuse"],
        default_value="warn",
        help=dedent(
            """
            What `nbgrader submit` does after the student's due date (their extension
            included, from the exchange's published due dates): 'accept' submits and says
            so in the log, 'warn' (the default) submits with a warning saying how late it is,
            'refuse' stops before anything is written. This is a courtesy of the student's
            own client, which a student can reconfigure: what enforces due dates is the
            instructor's side (`collect --before-duedate`, `nbgrader-k8s status`, the late
            penalty of autograde). See docs/deadlines.md.
            """
        ),
    ).tag(config=True)

    @default("log")
    def _escaping_log(self) -> EscapingLog:
        # The application's logger, through display.escape: every message of ours shows a
        # student's names escaped (a newline cannot forge a line of `list --inbound`).
        parent = self.parent.log if isinstance(self.parent, LoggingConfigurable) else None
        return EscapingLog(parent or get_logger())

    @validate("max_files", "max_depth", "backdate_tolerance")
    def _not_negative(self, proposal: Dict[str, Any]) -> int:
        if proposal["value"] < 0:
            raise TraitError(f"{proposal['trait'].name} must be 0 or more")
        return proposal["value"]

    @validate("timestamp_format")
    def _no_slash_in_timestamps(self, proposal: Dict[str, Any]) -> str:
        # A '/' would split the submission name into two path components.
        value = proposal["value"]
        sample = datetime.datetime.now(datetime.timezone.utc).strftime(value)
        try:
            parse_date(sample)
        except (ValueError, OverflowError) as err:
            raise TraitError(
                f"Invalid timestamp_format: {value} - could not be parsed by dateutil"
            ) from err
        if "/" in sample or "\0" in sample:
            raise TraitError(
                f"Invalid timestamp_format {value!r}: it produces '/' ({sample!r}), "
                "which cannot be part of a submission directory name"
            )
        return value

    def start(self):
        """Refuse to run on a missing ``root``: the volume is not mounted here, and creating
        it (as nbgrader's default release does) would put work where nobody sees it."""
        try:
            _core.check_root(self.root)
        except _core.ExchangeCoreError as err:
            self.fail(str(err))
        return super().start()

    # -- helpers shared by the eight classes ------------------------------------------------

    def call_core(self, func: Callable[..., Dict[str, Any]], *args: Any, **kwargs: Any):
        """Run a core operation; log its warnings; turn its errors into ``self.fail``."""
        try:
            result = func(*args, **kwargs)
        except _core.ExchangeCoreError as err:
            self.fail(str(err))
        for warning in result.get("warnings", ()):
            self.log.warning(warning)
        return result

    def require_course(self) -> str:
        """The course id, validated; fails like nbgrader when it is missing."""
        course = self.coursedir.course_id
        if course == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.check_id("course", course)
        return course

    def check_id(self, kind: str, value: str) -> None:
        """Fail with the core's message unless ``value`` is a safe ``kind`` id."""
        try:
            _core.validate_id(kind, value)
        except _core.ExchangeCoreError as err:
            self.fail(str(err))

    def student_id(self) -> str:
        """Who is acting: ``CourseDirectory.student_id`` if set, else ``JUPYTERHUB_USER``,
        else the OS user. In a pod every OS user is ``jovyan``, so the hub's name wins."""
        explicit = self.coursedir.student_id
        if explicit not in _WILDCARDS:
            student = explicit
        else:
            student = os.environ.get("JUPYTERHUB_USER") or getpass.getuser()
        self.check_id("student", student)
        return student

    def student_filter(self) -> Optional[str]:
        """The instructor's ``--student`` filter (an id or a glob), or None for everyone."""
        student = self.coursedir.student_id
        return None if student in _WILDCARDS else student

    def course_filter(self, student: Optional[str]) -> Optional[List[str]]:
        """Courses to look at: the ``--course`` given, narrowed by what the authenticator
        says the student may see. None means every course."""
        courses = [self.coursedir.course_id] if self.coursedir.course_id else None
        allowed = None
        if student is not None and self.authenticator is not None:
            allowed = self.authenticator.get_student_courses(student)
        if allowed is None:
            return courses
        if courses is None:
            return list(allowed)
        return [c for c in courses if c in allowed]

    def limits(self) -> Dict[str, int]:
        """The size and shape caps, in the units the core expects (kB like nbgrader)."""
        return {
            "max_file_size": self.coursedir.max_file_size,
            "max_dir_size": self.coursedir.max_dir_size,
            "max_files": self.max_files,
            "max_depth": self.max_depth,
        }

    def local_assignment_path(self, course: str, assignment: str) -> str:
        """Where a student's copy of an assignment lives (``path_includes_course`` aware)."""
        return _core.local_assignment_path(
            self.assignment_dir, self.path_includes_course, course, assignment
        )

    def init_src(self) -> None:
        """Most operations resolve everything in ``copy_files``."""

    def init_dest(self) -> None:
        """Most operations resolve everything in ``copy_files``."""

    def copy_files(self) -> None:
        """The base exchange copies nothing."""
