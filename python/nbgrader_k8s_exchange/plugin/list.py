"""``nbgrader list``: released assignments, the student's own submissions, or the inbound.

What :meth:`ExchangeList.start` returns is read by JupyterLab's Assignments tab and by
formgrader, so the dicts have exactly the keys of nbgrader's default exchange.
"""

import getpass
import os
from typing import Any, Dict, List, Optional

from nbgrader.exchange.abc import ExchangeList as ABCExchangeList

from .. import _core
from . import seals
from .deadlines import add_to_released, describe
from .exchange import Exchange


class ExchangeList(Exchange, ABCExchangeList):
    """List (or with ``--remove``, withdraw) assignments on the per-student layout."""

    def _assignment_filter(self):
        return self.coursedir.assignment_id or None

    def _query(self) -> List[Dict[str, Any]]:
        assignment = self._assignment_filter()
        if assignment is not None and assignment != "*":
            self.check_id("assignment", assignment)
        else:
            assignment = None
        if self.inbound:
            result = self.call_core(
                _core.list_inbound,
                self.root,
                self.course_filter(None),
                assignment,
                self.student_filter(),
                backdate_tolerance=self.backdate_tolerance,
                assignment_dir=self.assignment_dir,
                path_includes_course=self.path_includes_course,
            )
        elif self.cached:
            student = self.student_id()
            result = self.call_core(
                _core.list_cached,
                self.root,
                self.cache,
                self.course_filter(student),
                assignment,
                student,
                self.assignment_dir,
                self.path_includes_course,
            )
        else:
            result = self.call_core(
                _core.list_released,
                self.root,
                self.course_filter(self.student_id()),
                assignment,
                self.assignment_dir,
                self.path_includes_course,
            )
        return result["assignments"]

    def list_files(self) -> List[Dict[str, Any]]:
        assignments = self._query()
        if self.inbound or self.cached:
            notes = self._seal_notes()
            self.log.info("Submitted assignments:")
            for assignment in assignments:
                for info in assignment["submissions"]:
                    self.log.info(_format_submission(info) + notes(info))
        else:
            add_to_released(self, assignments, self.student_id())
            self.log.info("Released assignments:")
            for info in assignments:
                self.log.info(_format_released(info) + describe(self, info))
        return assignments

    def seal_statuses(self) -> Dict[seals.SealKey, Dict[str, Any]]:
        """The notary's word on each of the student's cached submissions, keyed by
        ``(course, assignment, timestamp)``: what ``nbgrader list --cached`` prints and the
        Assignments tab extension (:mod:`nbgrader_k8s_exchange.labext`) shows."""
        student = self.student_id()
        assignment = self._assignment_filter()
        return seals.student_seals(
            self, self.course_filter(student), None if assignment == "*" else assignment, student
        )

    def _seal_notes(self):
        """What the notary says beside each listed submission (see :mod:`.seals`)."""
        if not self.cached:
            return lambda info: ""
        found = self.seal_statuses()

        def note(info):
            key = (info["course_id"], info["assignment_id"], info["timestamp"])
            return seals.student_note(found.get(key))

        return note

    def remove_files(self) -> List[Dict[str, Any]]:
        if self.inbound or self.cached:
            return self._remove_submissions()
        assignments = self._query()
        self.log.info("Removing released assignments:")
        for info in assignments:
            self.log.info(_format_released(info))
            self.call_core(
                _core.unrelease_assignment, self.root, info["course_id"], info["assignment_id"]
            )
            info["status"] = "removed"
        return assignments

    def _remove_submissions(self) -> List[Dict[str, Any]]:
        """``--inbound --remove`` moves submissions to the course's ``.nbk8s-removed/``
        (logged there, cleared by ``nbgrader-k8s gc``); ``--cached --remove`` deletes the
        student's own cache entries, as nbgrader does."""
        assignments = self._query()
        assignment = self._assignment_filter()
        assignment = None if assignment == "*" else assignment
        if self.inbound:
            result = self.call_core(
                _core.remove_submissions,
                self.root,
                self.course_filter(None),
                assignment,
                self.student_filter(),
                by=_remover(),
            )
        else:
            student = self.student_id()
            result = self.call_core(
                _core.remove_cached, self.cache, self.course_filter(student), assignment, student
            )
        removed = {item["path"]: item for item in result["removed"]}
        self.log.info("Removing submitted assignments:")
        for group in assignments:
            for info in group["submissions"]:
                item = removed.get(info["path"])
                if item is None:
                    continue
                info["status"] = group["status"] = "removed"
                msg = "{course_id} {student_id} {assignment_id} {timestamp}".format(**info)
                if item["moved_to"]:
                    msg += f" (moved to {item['moved_to']})"
                self.log.info(msg)
        return assignments


def _remover() -> Optional[str]:
    """Who removes, for the removal log: the hub user, else the OS user, else unknown."""
    try:
        return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()
    except (KeyError, OSError):
        return None


def _format_released(info: Dict[str, Any]) -> str:
    msg = "{course_id} {assignment_id}".format(**info)
    if info["status"] == "fetched":
        msg += " (already downloaded)"
    return msg


def _format_submission(info: Dict[str, Any]) -> str:
    msg = "{course_id} {student_id} {assignment_id} {timestamp}".format(**info)
    if info["has_local_feedback"] and not info["feedback_updated"]:
        msg += " (feedback already fetched)"
    elif info["has_exchange_feedback"]:
        msg += " (feedback ready to be fetched)"
    else:
        msg += " (no feedback available)"
    return msg
