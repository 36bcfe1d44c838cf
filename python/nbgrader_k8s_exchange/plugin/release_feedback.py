"""``nbgrader release_feedback``: publish feedback into ``feedback_public/{student}/``."""

import glob
import os
import re

from nbgrader.exchange.abc import ExchangeReleaseFeedback as ABCExchangeReleaseFeedback

from .. import _core
from .exchange import Exchange


class ExchangeReleaseFeedback(Exchange, ABCExchangeReleaseFeedback):
    """Release generated feedback; each student's goes only into their own directory."""

    def init_dest(self) -> None:
        self.course = self.require_course()
        self.check_id("assignment", self.coursedir.assignment_id)

    def _feedback_dirs(self):
        """(student, feedback dir) for every student with generated feedback, from the
        instructor's course directory (``feedback/{student}/{assignment}``)."""
        coursedir = self.coursedir
        assignment = coursedir.assignment_id
        pattern = coursedir.format_path(
            coursedir.feedback_directory, self.student_filter() or "*", assignment
        )
        regexp = coursedir.format_path(
            coursedir.feedback_directory, "(?P<student_id>[^/]+)", assignment, escape=True
        )
        excluded = set(filter(None, coursedir.student_id_exclude.split(",")))
        for path in sorted(glob.glob(pattern)):
            match = re.fullmatch(regexp, path)
            if match is None or not os.path.isdir(path):
                self.log.warning("Not a student's feedback directory, skipped: %s", path)
                continue
            student = match.group("student_id")
            if student in excluded:
                self.log.debug("Skipping student '%s'", student)
                continue
            yield student, path

    def copy_files(self) -> None:
        coursedir = self.coursedir
        assignment = coursedir.assignment_id
        items = [
            (
                student,
                path,
                coursedir.format_path(coursedir.submitted_directory, student, assignment),
            )
            for student, path in self._feedback_dirs()
        ]
        if not items:
            self.log.warning(
                "No feedback for '%s' in course '%s' to release", assignment, self.course
            )
            return
        result = self.call_core(_core.release_feedback, self.root, self.course, assignment, items)
        for rel in result["released"]:
            self.log.info(
                "Releasing feedback for student '%s' on assignment '%s/%s/%s'",
                rel["student_id"],
                self.course,
                assignment,
                rel["notebook_id"],
            )
            self.log.info("Feedback released to: %s", rel["path"])
