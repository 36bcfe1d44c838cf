"""Due dates and extensions in the plugin: small hooks that release, collect, list and submit
call (docs/deadlines.md). The rules (a student's effective due date, late-by, the two files)
live in the Rust core (``_core.due_dates``, ``_core.publish_due_date``); Python adds what only
nbgrader knows: the gradebook, ``Exchange.timezone`` and the log.
"""

import datetime
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional

from dateutil.tz import gettz
from nbgrader.api import Gradebook, MissingEntry

from .. import _core

if TYPE_CHECKING:
    from .exchange import Exchange


def gradebook_due_date(ex: "Exchange", course: str, assignment: str) -> Optional[str]:
    """The assignment's due date in nbgrader's gradebook (naive UTC, ISO), None without one.
    Raises ``MissingEntry`` when the gradebook does not know the assignment."""
    with Gradebook(ex.coursedir.db_url, course) as gb:
        due = gb.find_assignment(assignment).duedate
    return due.isoformat() if due is not None else None


def publish_from_gradebook(ex: "Exchange", course: str, assignment: str) -> Optional[str]:
    """Publish the gradebook's due date of ``assignment`` to ``outbound/`` (release and
    collect call this, so students see what the gradebook says without a separate step).
    An assignment the gradebook does not know leaves the published date alone. Returns the
    gradebook's due date. Never fails the command: a problem is a warning."""
    try:
        due = gradebook_due_date(ex, course, assignment)
    except MissingEntry:
        ex.log.debug("No gradebook entry for %s; its published due date is kept", assignment)
        return None
    except Exception as err:  # noqa: BLE001 - a gradebook problem must not stop a release
        ex.log.warning("Could not read the due date of %s from the gradebook: %s", assignment, err)
        return None
    try:
        result = _core.publish_due_date(ex.root, course, assignment, due)
    except _core.ExchangeCoreError as err:
        ex.log.warning("Could not publish the due date of %s: %s", assignment, err)
        return due
    for warning in result["warnings"]:
        ex.log.warning(warning)
    if result["changed"]:
        shown = f"due {due} UTC" if due else "no due date"
        ex.log.info("Published to students: %s %s, %s", course, assignment, shown)
    return due


def _tz(ex: "Exchange") -> datetime.tzinfo:
    return gettz(ex.timezone) or datetime.timezone.utc


def _parse(rfc3339: str) -> Optional[datetime.datetime]:
    """An RFC 3339 time from the core, None when Python cannot hold it (the core bounds due
    dates to years 1970-9998, so this is only a guard: nothing a file holds may crash us)."""
    try:
        return datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    except (ValueError, OverflowError, AttributeError):
        return None


def _local(ex: "Exchange", rfc3339: str) -> str:
    when = _parse(rfc3339)
    try:
        local = when.astimezone(_tz(ex)).strftime("%Y-%m-%d %H:%M:%S %Z") if when else None
    except (ValueError, OverflowError):
        local = None
    if when is None or local is None:
        ex.log.warning("A due date the exchange gave cannot be shown here: %s", rfc3339)
        return f"{rfc3339} (UTC)"
    utc = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    return local if local == utc else f"{local} ({utc})"


def due_info(
    ex: "Exchange", course: str, student: str, assignment: str, at: Optional[str] = None
) -> Optional[Dict[str, Any]]:
    """``student``'s due date for ``assignment`` (``_core.due_dates``), warnings logged;
    None when the files cannot be read at all."""
    try:
        result = _core.due_dates(ex.root, course, student, assignment=assignment, at=at)
    except _core.ExchangeCoreError as err:
        ex.log.warning("Could not read the due date of %s %s: %s", course, assignment, err)
        return None
    for warning in result["warnings"]:
        ex.log.warning(warning)
    return dict(result["assignments"][0]) if result["assignments"] else None


def add_to_released(ex: "Exchange", assignments: Iterable[Dict[str, Any]], student: str) -> None:
    """Give each released assignment of ``nbgrader list`` a ``"deadline"`` key: this
    student's ``_core.due_dates`` entry (their extension included) plus ``"due_local"``
    (in ``Exchange.timezone``) and ``"timezone"``, or None without a due date. The
    Assignments tab receives the same dicts."""
    by_course: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for info in assignments:
        course = info["course_id"]
        if course not in by_course:
            by_course[course] = {}
            try:
                found = _core.due_dates(ex.root, course, student)
            except _core.ExchangeCoreError as err:
                ex.log.warning("Could not read the due dates of %s: %s", course, err)
                found = {"assignments": [], "warnings": []}
            for warning in found["warnings"]:
                ex.log.warning(warning)
            by_course[course] = {d["assignment_id"]: dict(d) for d in found["assignments"]}
        deadline = by_course[course].get(info["assignment_id"])
        if deadline is not None and deadline["due"] is not None:
            deadline["due_local"] = _local(ex, deadline["due"])
            deadline["timezone"] = ex.timezone
            info["deadline"] = deadline
        else:
            info["deadline"] = None


def describe(ex: "Exchange", info: Dict[str, Any]) -> str:
    """What ``nbgrader list`` adds after a released assignment: its due date and time left."""
    deadline = info.get("deadline")
    if not deadline:
        return ""
    text = f", due {deadline['due_local']}"
    if deadline["extension"] is not None:
        text += " with your extension"
    if deadline["seconds_left"] >= 0:
        return text + f", {deadline['time_left']} left"
    return text + f", passed {deadline['time_left']} ago"


def check_late_submit(ex: "Exchange", course: str, student: str, assignment: str) -> None:
    """Before ``submit`` writes: say that the submission is late and by how much, and with
    ``Exchange.late_submissions = 'refuse'`` stop it. Only a courtesy: the instructor's
    side (collect, status, the late penalty) is what enforces due dates."""
    policy = ex.late_submissions
    info = due_info(ex, course, student, assignment, at=ex.timestamp)
    if not info or info["due"] is None or not info["late_by_seconds"]:
        return
    message = (
        f"This submission of {assignment} is late by {info['late_by']}: "
        f"it was due {_local(ex, info['due'])}"
    )
    if info["extension"] is not None:
        message += " (your extension included)"
    if policy == "refuse":
        ex.fail(
            message + ". This course refuses late submissions "
            "(Exchange.late_submissions = 'refuse'); nothing was submitted. "
            "Ask your instructor for an extension."
        )
    elif policy == "warn":
        ex.log.warning(message)
    else:
        ex.log.info(message)


def sync_extensions(ex: "Exchange", course: str, assignment: str, students: List[str]) -> None:
    """Make nbgrader's gradebook hold each collected student's published extension, so
    its late penalty (``SubmittedAssignment.total_seconds_late``, read by autograde's
    ``AssignLatePenalties``) sees the same due date as the exchange.

    ``Gradebook.grant_extension`` needs the student's submission row, which autograde
    creates; until then an extension waits in ``feedback_public/{student}/``. So for a
    student with an extension this creates the row (and the student) the way autograde
    does (``update_or_create_submission``, which autograde then keeps, extension included),
    and grants the extension as the interval after the gradebook's due date. A row whose
    extension the exchange no longer has is cleared."""
    if not students:
        return
    try:
        with Gradebook(ex.coursedir.db_url, course) as gb:
            try:
                gb_assignment = gb.find_assignment(assignment)
            except MissingEntry:
                return
            found = _core.students_due_dates(ex.root, course, assignment, students)
            for warning in found["warnings"]:
                ex.log.warning(warning)
            # One query for the assignment's rows, not one per collected student.
            rows = {sub.student_id: sub for sub in gb_assignment.submissions}
            for student in students:
                info = found["students"].get(student)
                _sync_one(ex, gb, gb_assignment, info, rows.get(student), student)
    except Exception as err:  # noqa: BLE001 - collect itself succeeded; say what is missing
        ex.log.warning(
            "Could not copy the extensions of %s into the gradebook: %s", assignment, err
        )


def _sync_one(ex, gb, gb_assignment, info, submission, student: str) -> None:
    assignment = gb_assignment.name
    wanted: Optional[datetime.timedelta] = None
    if info and info["extension"] is not None:
        if gb_assignment.duedate is None or info["due"] is None:
            ex.log.warning(
                "Extension of %s on %s not put in the gradebook: the gradebook has no due "
                "date to extend",
                student,
                assignment,
            )
            return
        due = _parse(info["due"])
        if due is None:
            ex.log.warning(
                "Extension of %s on %s not put in the gradebook: due %s",
                student,
                assignment,
                info["due"],
            )
            return
        wanted = due.replace(tzinfo=None) - gb_assignment.duedate
    if submission is None:
        if wanted is None:
            return
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student)
    if submission.extension == wanted:
        return
    minutes = wanted.total_seconds() / 60 if wanted is not None else 0
    gb.grant_extension(assignment, student, minutes=minutes)
    if wanted is None:
        ex.log.info("Extension of %s on %s removed from the gradebook", student, assignment)
    else:
        ex.log.info(
            "Extension of %s on %s in the gradebook: due %s UTC",
            student,
            assignment,
            info["due"] if info else "?",
        )
