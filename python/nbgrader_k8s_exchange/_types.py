"""The shapes of what the Rust core (``_core``) returns, as ``TypedDict``s.

``_core.pyi`` imports them, so type checkers know each result's keys, and the plugin can
annotate with them; ``mypy.stubtest`` (``make lint``) checks that stub against the compiled
module.
"""

from typing import Literal, Optional, TypedDict

ErrorKind = Literal[
    "invalid_id",
    "invalid_timestamp",
    "invalid_argument",
    "not_found",
    "exists",
    "too_big",
    "missing_notebooks",
    "unsafe_path",
    "io",
]


class Limits(TypedDict, total=False):
    """Size and shape caps; every key optional, 0/None/negative = no cap."""

    max_file_size: Optional[float]  # kB (nbgrader's unit: 1000 bytes); larger files skipped
    max_dir_size: Optional[float]  # kB; a larger tree raises kind "too_big"
    max_files: Optional[int]  # files per tree; more raises kind "too_big"
    max_depth: Optional[int]  # nesting (1 = top level only); deeper entries skipped


class Released(TypedDict):
    path: str
    replaced: bool
    files: int
    warnings: list[str]


class Unreleased(TypedDict):
    path: str
    removed: bool
    warnings: list[str]


class RemovedSubmission(TypedDict):
    course_id: str
    student_id: str
    assignment_id: str
    timestamp: str
    path: str
    moved_to: Optional[str]


class Removal(TypedDict):
    removed: list[RemovedSubmission]
    warnings: list[str]


class NotebookRef(TypedDict):
    notebook_id: str
    path: str


class ReleasedAssignment(TypedDict):
    course_id: str
    assignment_id: str
    status: Literal["released", "fetched"]
    path: str
    notebooks: list[NotebookRef]


class ReleasedListing(TypedDict):
    assignments: list[ReleasedAssignment]
    warnings: list[str]


class Fetched(TypedDict):
    path: str
    created: list[str]
    warnings: list[str]


class Submitted(TypedDict):
    name: str
    path: str
    cache_path: str
    timestamp: str
    receipt: str  # 64 lowercase hex: the manifest digest of what was published
    warnings: list[str]


class FileDigest(TypedDict):
    path: str  # relative, '/'-separated
    size: int
    sha256: str


class Manifest(TypedDict):
    receipt: str
    short: str  # e.g. "3f2a-9c01-77be-d410"
    bytes: int
    files: list[FileDigest]
    skipped: list[str]


class NotebookFeedback(TypedDict):
    notebook_id: str
    path: str
    has_local_feedback: bool
    has_exchange_feedback: bool
    local_feedback_path: Optional[str]
    feedback_updated: bool


class Submission(TypedDict):
    course_id: str
    student_id: str
    assignment_id: str
    timestamp: str
    status: Literal["submitted"]
    path: str
    notebooks: list[NotebookFeedback]
    has_local_feedback: bool
    has_exchange_feedback: bool
    feedback_updated: bool
    local_feedback_path: Optional[str]


class SubmissionGroup(TypedDict):
    course_id: str
    student_id: str
    assignment_id: str
    status: Literal["submitted"]
    submissions: list[Submission]


class SubmissionListing(TypedDict):
    assignments: list[SubmissionGroup]
    warnings: list[str]


class CollectRecord(TypedDict):
    student_id: str
    timestamp: str
    source: str
    dest: str
    action: Literal["collected", "updated", "exists", "not_newer"]


class Collected(TypedDict):
    records: list[CollectRecord]
    warnings: list[str]


class ReleasedFeedback(TypedDict):
    student_id: str
    notebook_id: str
    key: str
    path: str


class FeedbackReleased(TypedDict):
    released: list[ReleasedFeedback]
    warnings: list[str]


class MissingFeedback(TypedDict):
    assignment_id: str
    notebook_id: str
    timestamp: str


class FetchedFeedback(MissingFeedback):
    path: str


class FeedbackFetched(TypedDict):
    fetched: list[FetchedFeedback]
    missing: list[MissingFeedback]
    warnings: list[str]


class ClaimRef(TypedDict):
    claimName: str


class Volume(TypedDict):
    name: str
    persistentVolumeClaim: ClaimRef


class _VolumeMount(TypedDict):
    name: str
    mountPath: str
    subPath: str


class VolumeMount(_VolumeMount, total=False):
    readOnly: Literal[True]  # present only on read-only mounts


class ProvisionEntry(TypedDict):
    path: str
    outcome: Literal["created", "fine", "repaired"]
    detail: str


class Provisioned(TypedDict):
    entries: list[ProvisionEntry]
    warnings: list[str]


class ExtensionInfo(TypedDict):
    by_seconds: Optional[int]  # extra time after the course-wide due date (`--by`)
    until: Optional[str]  # a due date of its own, RFC 3339 UTC (`--until`)
    granted: str  # RFC 3339 UTC


class DueInfo(TypedDict):
    assignment_id: str
    due: Optional[str]  # this student's due date (extension applied), RFC 3339 UTC
    course_due: Optional[str]  # the course-wide due date, RFC 3339 UTC
    extension: Optional[ExtensionInfo]
    seconds_left: Optional[float]  # negative once the due date has passed
    time_left: Optional[str]  # |seconds_left| for people: "2d 3h"
    late_by_seconds: Optional[float]  # 0 when on time
    late_by: Optional[str]


class DueDates(TypedDict):
    assignments: list[DueInfo]
    warnings: list[str]


class StudentsDueDates(TypedDict):
    students: dict[str, DueInfo]  # student -> their due date for the assignment
    warnings: list[str]


class DuePublished(TypedDict):
    path: str
    changed: bool
    warnings: list[str]


class SealStatus(TypedDict):
    course_id: str
    assignment_id: str
    timestamp: str
    state: Literal["sealed", "changed", "vanished", "not_sealed_yet"]
    sealed: Optional[str]  # RFC 3339 UTC, the notary's clock
    sealed_receipt: Optional[str]  # short form
    receipt: Optional[str]  # short form, the one submit kept
    receipt_differs: bool


class StudentSeals(TypedDict):
    seals: list[SealStatus]
    warnings: list[str]
