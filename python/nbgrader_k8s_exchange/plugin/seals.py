"""What the notary says about submissions, as the list and collect commands print it.

The notary (``nbgrader-k8s notary run``) seals each submission the first time it sees it and
publishes copies of its record: confirmations for each student, an index for instructors.
These helpers turn what the core reads from them into the words beside a listed submission.
"""

import datetime
from typing import Any, Dict, Optional, Tuple

from .. import _core

SealKey = Tuple[str, str, str]


def now_rfc3339() -> str:
    """The time a student's client saw a confirmation, in the notary's format."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def student_seals(exchange: Any, courses, assignment: Optional[str], student: str):
    """``{(course, assignment, timestamp): status}`` for the student's cached submissions;
    the notary's heads are recorded in the cache on the way. Never fails the listing."""
    try:
        result = _core.student_seals(
            exchange.root, exchange.cache, courses, assignment, student, now_rfc3339()
        )
    except _core.ExchangeCoreError as err:
        exchange.log.warning("The notary's confirmations were not read: %s", err)
        return {}
    for warning in result["warnings"]:
        exchange.log.warning(warning)
    return {(s["course_id"], s["assignment_id"], s["timestamp"]): s for s in result["seals"]}


def student_note(status: Optional[Dict[str, Any]]) -> str:
    """The words beside a submission in ``nbgrader list --cached`` ("" when none)."""
    if status is None:
        return ""
    state = status["state"]
    if state == "not_sealed_yet":
        return " [not sealed yet]"
    receipt = status["sealed_receipt"]
    note = {
        "sealed": f" [sealed at {status['sealed']}, receipt {receipt}]",
        "changed": f" [sealed at {status['sealed']}, receipt {receipt}; changed since]",
        "vanished": f" [sealed at {status['sealed']}, receipt {receipt}; deleted since]",
    }[state]
    if status["receipt_differs"]:
        note += f" [WARNING: your receipt is {status['receipt']}, not the sealed one]"
    return note
