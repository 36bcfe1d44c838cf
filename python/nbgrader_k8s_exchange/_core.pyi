"""Type stubs for the Rust core (`crates/exchange-py`), the only code that touches the exchange.

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
* ``limits`` is a dict with the keys ``max_file_size`` (kB, nbgrader's unit: 1000 bytes),
  ``max_dir_size`` (kB), ``max_files`` and ``max_depth``; every key optional, 0/None = no cap.
* ``ignore`` / ``include`` are lists of fnmatch globs matched against a file's base name,
  like ``CourseDirectory.ignore`` / ``CourseDirectory.include`` (include applies to files only).
"""

from typing import Any, Optional, Sequence

__version__: str

class ExchangeCoreError(Exception):
    """Any failure of the core. ``kind`` is a short machine name (``"invalid_id"``,
    ``"not_found"``, ``"exists"``, ``"io"``, ``"too_big"``, ``"missing_notebooks"``...)."""

    kind: str

def validate_id(kind: str, value: str) -> None:
    """Raise unless ``value`` is a safe id of ``kind`` ("course", "assignment", "student",
    "notebook"). Refused everywhere: empty, ``/``, NUL, ``.``/``..``, a leading ``.``, over 255
    bytes. Course and assignment ids also refuse ``+`` and ``*``."""

def parse_timestamp(value: str) -> str:
    """nbgrader timestamp string -> ISO 8601 UTC (``YYYY-MM-DDTHH:MM:SS.ffffff``, naive).
    Raises on a string it cannot read."""

def feedback_key(secret: str, notebook_id: str) -> str:
    """``nbgrader.utils.notebook_hash(secret=secret, notebook_id=notebook_id)``."""

def legacy_feedback_key(notebook_path: str, unique_key: Optional[str] = None) -> str:
    """``nbgrader.utils.notebook_hash(notebook_path, unique_key)``: md5 of the file's bytes,
    then of the key."""

def release_assignment(
    root: str,
    course: str,
    assignment: str,
    source: str,
    *,
    force: bool = False,
    ignore: Sequence[str] = (),
    include: Sequence[str] = ("*",),
    limits: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """Publish ``source`` as ``{root}/{course}/outbound/{assignment}``.

    Creates the course tree (``course``, ``outbound``, ``inbound``, ``feedback_public``; 0755)
    if missing. Copies into a dot-named staging dir in ``outbound/`` (files 0644, dirs 0755,
    symlinks and special files skipped with a warning), then renames it in. With ``force`` an
    existing release is moved aside to a dot-named trash dir first and kept there (a student
    fetching it at that moment still copies all of it) until a release an hour or more later
    sweeps it; without it an existing release raises (kind ``"exists"``).
    Returns ``{"path", "replaced", "files", "warnings"}``."""

def unrelease_assignment(root: str, course: str, assignment: str) -> dict[str, Any]:
    """Withdraw a release: rename ``outbound/{assignment}`` to dot-named trash (swept by a
    later release or unrelease after an hour, or ``nbgrader-k8s gc``).
    Returns ``{"path", "removed": bool, "warnings"}``."""

def list_released(
    root: str,
    courses: Optional[Sequence[str]],
    assignment: Optional[str],
    assignment_dir: str,
    path_includes_course: bool,
) -> dict[str, Any]:
    """Released assignments, as nbgrader's ``ExchangeList`` reports them.

    ``courses`` None means every course under ``root``. ``assignment`` None means all.
    Returns ``{"assignments": [...], "warnings"}``, each assignment a dict
    ``{"course_id", "assignment_id", "status": "released"|"fetched", "path", "notebooks":
    [{"notebook_id", "path"}]}``: ``fetched`` (with ``path`` the absolute local dir) when
    ``{assignment_dir}/[{course}/]{assignment}`` exists locally, else ``released`` with the
    exchange path. ``notebooks`` are the top-level ``*.ipynb`` of ``path``, sorted."""

def fetch_assignment(
    root: str,
    course: str,
    assignment: str,
    dest: str,
    *,
    replace_missing: bool = False,
    ignore: Sequence[str] = (),
) -> dict[str, Any]:
    """Copy a released assignment to the student's ``dest``.

    If ``dest`` is absent: copy into a dot-named sibling staging dir and rename it in. If it
    exists and ``replace_missing``: copy only files/dirs that are missing, never overwrite.
    If it exists otherwise: raise kind ``"exists"``. A missing release raises kind
    ``"not_found"`` whose message lists the released assignments of the course.
    Returns ``{"path", "created": [relpaths], "warnings"}``."""

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
    ignore: Sequence[str] = (),
    include: Sequence[str] = ("*",),
    limits: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """Submit ``source`` as ``inbound/{student}/{assignment}+{timestamp}+{random}``.

    Checks the release exists (``outbound/{assignment}``) and compares notebooks (relative
    paths of every ``*.ipynb``, recursive): with ``strict`` a missing notebook raises kind
    ``"missing_notebooks"`` and nothing is written; otherwise the difference is a warning.
    A source bigger than ``max_dir_size`` raises kind ``"too_big"``; files over
    ``max_file_size`` are skipped with a warning. Stages in a dot-named dir inside the
    student's inbound dir, writes ``timestamp.txt`` and ``submission_secret.txt`` (128 hex
    chars, like ``secrets.token_hex(64)``), sets modes, renames into place. Then writes the
    same files to the local cache ``{cache}/{course}/{student}+{assignment}+{timestamp}``.
    The student's ``inbound/{student}`` must exist (it is the pod's mount); if it does not
    and ``inbound/`` is writable it is created, else kind ``"not_found"`` tells to ask the
    admin. Returns ``{"name", "path", "cache_path", "timestamp", "warnings"}``."""

def list_inbound(
    root: str,
    courses: Optional[Sequence[str]],
    assignment: Optional[str],
    student: Optional[str],
    *,
    backdate_tolerance: Optional[int] = None,
) -> dict[str, Any]:
    """Submissions in the exchange, grouped as nbgrader's ``ExchangeList --inbound`` does.

    ``student`` is an exact id or an fnmatch glob (None = all). Identity is the directory
    under ``inbound/``. Returns ``{"assignments": [...], "warnings"}``; each entry is
    ``{"course_id", "student_id", "assignment_id", "status": "submitted", "submissions":
    [sub...]}`` sorted by (course, student, assignment); each ``sub`` is ``{"course_id",
    "student_id", "assignment_id", "timestamp", "status": "submitted", "path", "notebooks":
    [{"notebook_id", "path", "has_local_feedback": False, "has_exchange_feedback": bool,
    "local_feedback_path": None, "feedback_updated": False}], "has_local_feedback",
    "has_exchange_feedback", "feedback_updated", "local_feedback_path"}`` sorted by
    timestamp. Malformed names, symlinks and dot-entries are skipped (warned if not ours).
    With ``backdate_tolerance`` (seconds), a submission whose directory or top-level notebooks
    changed more than that after its claimed time is warned about, as :func:`collect` does."""

def list_cached(
    root: str,
    cache: str,
    courses: Optional[Sequence[str]],
    assignment: Optional[str],
    student: str,
    assignment_dir: str,
    path_includes_course: bool,
) -> dict[str, Any]:
    """The student's own submissions from the local cache, with feedback state.

    Cache entries are ``{cache}/{course}/{student}+{assignment}+{timestamp}`` (parsed knowing
    ``student``, so ids holding ``+`` work). For each notebook: the feedback key (secret-based
    if ``submission_secret.txt`` exists, else the legacy keys), whether
    ``feedback_public/{student}/{key}.html`` exists (``has_exchange_feedback``), whether
    ``{assignment_dir}/[{course}/]{assignment}/feedback/{timestamp}/{notebook}.html`` exists
    locally, and ``feedback_updated`` when both exist and differ (md5). Same dict shape and
    grouping as :func:`list_inbound`."""

def collect(
    root: str,
    course: str,
    assignment: str,
    dest_template: str,
    *,
    students: Optional[str] = None,
    update: bool = False,
    before_duedate: bool = False,
    duedate: Optional[str] = None,
    ignore: Sequence[str] = (),
    include: Sequence[str] = ("*",),
    limits: Optional[dict[str, Any]] = None,
    backdate_tolerance: Optional[int] = None,
) -> dict[str, Any]:
    """Copy each student's chosen submission to the instructor's course directory.

    ``dest_template`` is the destination path with one NUL character (``"\\x00"``) where
    the student id goes (the plugin builds it from ``CourseDirectory.format_path``).
    Per student: the newest submission; with ``before_duedate`` and a ``duedate`` (ISO UTC),
    the newest one at or before it, else the newest. If the destination exists it is replaced
    only when ``update`` and the chosen timestamp is newer than ``dest/timestamp.txt``, or when
    ``before_duedate`` and the timestamps differ; replacement stages a complete copy beside it
    first. Returns ``{"records": [{"student_id", "timestamp", "source", "dest", "action":
    "collected"|"updated"|"exists"|"not_newer"}], "warnings"}``. With ``backdate_tolerance``
    (seconds), a copied submission whose directory or any copied entry changed (ctime) more
    than that after the time its name claims gets a warning ``student "s": {path} may be
    backdated: ...``, unless ``{course}/.nbk8s-migrated`` records it; it is still collected.
    Leftover staging and trash (older than an hour) beside a destination are removed."""

def release_feedback(
    root: str,
    course: str,
    assignment: str,
    items: Sequence[tuple[str, str, Optional[str]]],
) -> dict[str, Any]:
    """Publish feedback: ``items`` are ``(student, feedback_dir, submitted_dir)``.

    For every ``*.html`` in ``feedback_dir`` (notebook id = stem): the key from
    ``feedback_dir/submission_secret.txt`` (secret-based), or when that file is missing the
    legacy key of ``{submitted_dir}/{notebook}.ipynb`` with the unique key
    ``course+assignment+notebook+student+timestamp`` (timestamp from ``feedback_dir``'s
    ``timestamp.txt``). Writes ``feedback_public/{student}/{key}.html`` (creating the dir,
    0755) by a dot-named temp file + rename, never following a symlink planted there.
    Returns ``{"released": [{"student_id", "notebook_id", "key", "path"}], "warnings"}``."""

def fetch_feedback(
    root: str,
    cache: str,
    course: str,
    student: str,
    assignment: Optional[str],
    assignment_dir: str,
    path_includes_course: bool,
) -> dict[str, Any]:
    """Copy released feedback for the student's cached submissions to
    ``{assignment_dir}/[{course}/]{assignment}/feedback/{timestamp}/{notebook}.html``.
    Returns ``{"fetched": [{"assignment_id", "notebook_id", "timestamp", "path"}],
    "missing": [same without path], "warnings"}``."""

def exchange_mounts(
    username: str,
    student_courses: Sequence[str],
    instructor_courses: Sequence[str],
    *,
    claim_name: str = "nbgrader-exchange",
    mount_root: str = "/mnt/exchange",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """KubeSpawner ``(volumes, volume_mounts)`` for one user (DESIGN.md's table).

    One volume ``{"name": "nbgrader-exchange", "persistentVolumeClaim": {"claimName":
    claim_name}}``. Per instructor course C: ``{"name", "mountPath": "{mount_root}/C",
    "subPath": "C"}`` (read-write). Per student course C the user does not teach: outbound
    (``"readOnly": True``), ``inbound/{user}`` (read-write, no readOnly key),
    ``feedback_public/{user}`` (``"readOnly": True``). Courses sorted, deduplicated. Every
    ``{``/``}`` in mountPath and subPath is doubled (KubeSpawner ``str.format``s them). The
    username is validated as a student id and courses as course ids (kind ``"invalid_id"``).
    No courses at all gives ``([], [])``."""

def provision_course(
    root: str,
    course: str,
    students: Sequence[str],
    *,
    uid: int = 1000,
    gid: int = 100,
) -> dict[str, Any]:
    """Create or repair the course tree and the students' own dirs, idempotently.

    Ensures ``{course}``, ``outbound``, ``inbound``, ``feedback_public`` and for each student
    ``inbound/{s}`` and ``feedback_public/{s}``: a real directory (a symlink or file in the way
    is an error naming the path, never followed), owned ``uid:gid``, mode 0755. Creates
    ``root`` itself only if its parent exists. All ids are validated before anything is
    written. Returns ``{"entries": [{"path", "outcome": "created"|"fine"|"repaired",
    "detail"}], "warnings"}``; ``detail`` says what was repaired (mode/owner)."""

def run_cli(argv: Sequence[str]) -> int:
    """Run the ``nbgrader-k8s`` admin command line (``argv[0]`` is the program name) and
    return its exit status: 0 done, 1 error, 2 usage error, 3 ``audit`` found high-severity
    problems. It prints to the process's stdout/stderr itself."""
