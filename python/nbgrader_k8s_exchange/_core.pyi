"""Types of the Rust core (`crates/exchange-py`), the only code that touches the exchange.

This stub is the typed contract; ``make lint`` checks it against the compiled module with
``mypy.stubtest``, so the two cannot drift. What each function does is its ``__doc__``,
written as the Rust doc comment of that function in ``crates/exchange-py/src/lib.rs``.

Conventions shared by every function:

* ``root`` is ``Exchange.root``; the layout under it is DESIGN.md's contract::

    {root}/{course}/outbound/{assignment}/...
    {root}/{course}/inbound/{student}/{assignment}+{timestamp}+{random}/...
    {root}/{course}/feedback_public/{student}/{key}.html

* Every id that becomes a path component is validated first; a bad one raises
  :class:`ExchangeCoreError` naming the id kind and value, before anything is written.
* Operations return a dict; its ``"warnings"`` key is a list of human-readable strings
  (skipped entries, suspicious names) that the plugin logs. Warnings never abort a run.
* Failures raise :class:`ExchangeCoreError` whose message is meant for a course admin.
* ``ignore`` / ``include`` are lists of fnmatch globs matched against a file's base name,
  like ``CourseDirectory.ignore`` / ``CourseDirectory.include`` (include applies to files only).
"""

from typing import Literal, Optional, Sequence

from ._types import (
    Collected,
    DueDates,
    DuePublished,
    ErrorKind,
    FeedbackFetched,
    FeedbackReleased,
    Fetched,
    Limits,
    Manifest,
    Provisioned,
    Released,
    ReleasedListing,
    Removal,
    StudentsDueDates,
    StudentSeals,
    SubmissionListing,
    Submitted,
    Unreleased,
    Volume,
    VolumeMount,
)

__all__ = [
    "DEFAULT_CLAIM_NAME",
    "DEFAULT_KEEPER_UID",
    "DEFAULT_MOUNT_ROOT",
    "ERROR_KINDS",
    "ExchangeCoreError",
    "VOLUME_NAME",
    "__version__",
    "check_root",
    "collect",
    "due_dates",
    "escape_text",
    "exchange_mounts",
    "feedback_keys",
    "fetch_assignment",
    "fetch_feedback",
    "leave_fetch_marker",
    "list_cached",
    "list_inbound",
    "list_released",
    "local_assignment_path",
    "manifest",
    "parse_timestamp",
    "provision_course",
    "publish_due_date",
    "receipt_matches",
    "release_assignment",
    "release_feedback",
    "remove_cached",
    "remove_submissions",
    "run_cli",
    "short_receipt",
    "student_seals",
    "students_due_dates",
    "submit",
    "unrelease_assignment",
    "validate_id",
]

__version__: str

VOLUME_NAME: str
ERROR_KINDS: list[str]
DEFAULT_CLAIM_NAME: str
DEFAULT_MOUNT_ROOT: str
DEFAULT_KEEPER_UID: int

class ExchangeCoreError(Exception):
    """Any failure of the core; ``kind`` says which (set on every raised instance)."""

    kind: ErrorKind

def validate_id(kind: str, value: str) -> None: ...
def parse_timestamp(value: str) -> str: ...
def escape_text(text: str) -> str: ...
def feedback_keys(
    course: str,
    assignment: str,
    notebook_id: str,
    student: str,
    timestamp: str,
    *,
    secret: Optional[str] = None,
    notebook_path: Optional[str] = None,
) -> list[str]: ...
def local_assignment_path(
    assignment_dir: str, path_includes_course: bool, course: str, assignment: str
) -> str: ...
def release_assignment(
    root: str,
    course: str,
    assignment: str,
    source: str,
    *,
    force: bool = False,
    ignore: Sequence[str] = ...,
    include: Sequence[str] = ...,
    limits: Optional[Limits] = None,
) -> Released: ...
def unrelease_assignment(root: str, course: str, assignment: str) -> Unreleased: ...
def list_released(
    root: str,
    courses: Optional[Sequence[str]],
    assignment: Optional[str],
    assignment_dir: str,
    path_includes_course: bool,
) -> ReleasedListing: ...
def fetch_assignment(
    root: str,
    course: str,
    assignment: str,
    dest: str,
    *,
    replace_missing: bool = False,
    ignore: Sequence[str] = ...,
) -> Fetched: ...
def leave_fetch_marker(
    root: str, course: str, student: str, assignment: str, timestamp: str
) -> str: ...
def submit(
    root: str,
    course: str,
    student: str,
    assignment: str,
    source: str,
    timestamp: str,
    cache: str,
    *,
    strict: bool = False,
    ignore: Sequence[str] = ...,
    include: Sequence[str] = ...,
    limits: Optional[Limits] = None,
) -> Submitted: ...
def list_inbound(
    root: str,
    courses: Optional[Sequence[str]],
    assignment: Optional[str],
    student: Optional[str],
    *,
    backdate_tolerance: Optional[int] = None,
    assignment_dir: Optional[str] = None,
    path_includes_course: bool = False,
) -> SubmissionListing: ...
def list_cached(
    root: str,
    cache: str,
    courses: Optional[Sequence[str]],
    assignment: Optional[str],
    student: str,
    assignment_dir: str,
    path_includes_course: bool,
) -> SubmissionListing: ...
def collect(
    root: str,
    course: str,
    assignment: str,
    course_dir: str,
    directory_structure: str,
    submitted_directory: str,
    *,
    students: Optional[str] = None,
    update: bool = False,
    before_duedate: bool = False,
    duedate: Optional[str] = None,
    ignore: Sequence[str] = ...,
    include: Sequence[str] = ...,
    limits: Optional[Limits] = None,
    backdate_tolerance: Optional[int] = None,
    groupshared: bool = False,
    grade_time: Literal["seal", "claim"] = "seal",
) -> Collected: ...
def check_root(root: str) -> None: ...
def remove_submissions(
    root: str,
    courses: Optional[Sequence[str]],
    assignment: Optional[str],
    student: Optional[str],
    *,
    by: Optional[str] = None,
) -> Removal: ...
def remove_cached(
    cache: str,
    courses: Optional[Sequence[str]],
    assignment: Optional[str],
    student: str,
) -> Removal: ...
def release_feedback(
    root: str,
    course: str,
    assignment: str,
    items: Sequence[tuple[str, str, Optional[str]]],
) -> FeedbackReleased: ...
def fetch_feedback(
    root: str,
    cache: str,
    course: str,
    student: str,
    assignment: Optional[str],
    assignment_dir: str,
    path_includes_course: bool,
) -> FeedbackFetched: ...
def exchange_mounts(
    username: str,
    student_courses: Sequence[str],
    instructor_courses: Sequence[str],
    *,
    claim_name: str = ...,
    mount_root: str = ...,
) -> tuple[list[Volume], list[VolumeMount]]: ...
def provision_course(
    root: str,
    course: str,
    students: Sequence[str],
    *,
    keeper_uid: int = ...,
    gid: int = 100,
) -> Provisioned: ...
def run_cli(argv: Sequence[str]) -> int: ...
def due_dates(
    root: str,
    course: str,
    student: Optional[str] = None,
    *,
    assignment: Optional[str] = None,
    at: Optional[str] = None,
) -> DueDates: ...
def students_due_dates(
    root: str, course: str, assignment: str, students: Sequence[str]
) -> StudentsDueDates: ...
def publish_due_date(
    root: str, course: str, assignment: str, due: Optional[str]
) -> DuePublished: ...
def manifest(dir: str, *, max_files: int = 0, max_bytes: int = 0) -> Manifest: ...
def short_receipt(receipt: str) -> str: ...
def receipt_matches(given: str, receipt: str) -> bool: ...
def student_seals(
    root: str,
    cache: str,
    courses: Optional[Sequence[str]],
    assignment: Optional[str],
    student: str,
    now: str,
) -> StudentSeals: ...
