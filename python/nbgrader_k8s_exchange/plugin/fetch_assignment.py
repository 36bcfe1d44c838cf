"""``nbgrader fetch_assignment``: copy a released assignment into the student's workspace."""

import os

from nbgrader.exchange.abc import ExchangeFetchAssignment as ABCExchangeFetchAssignment

from .. import _core
from .exchange import Exchange


class ExchangeFetchAssignment(Exchange, ABCExchangeFetchAssignment):
    """Fetch from ``outbound/``, which student pods mount read-only."""

    def init_src(self) -> None:
        self.course = self.require_course()
        self.check_id("assignment", self.coursedir.assignment_id)
        self.student = self.student_id()
        if not self.authenticator.has_access(self.student, self.course):
            self.fail("You do not have access to this course.")

    def init_dest(self) -> None:
        self.dest_path = self.local_assignment_path(self.course, self.coursedir.assignment_id)
        self.dest_existed = os.path.isdir(self.dest_path)
        if self.dest_existed and not self.replace_missing_files:
            self.fail(
                "You already have a copy of the assignment in this directory: "
                f"{os.path.relpath(self.dest_path, self.assignment_dir)}"
            )

    def copy_files(self) -> None:
        self.log.info("Destination: %s", self.dest_path)
        result = self.call_core(
            _core.fetch_assignment,
            self.root,
            self.course,
            self.coursedir.assignment_id,
            self.dest_path,
            replace_missing=self.replace_missing_files,
            ignore=list(self.coursedir.ignore),
        )
        if self.dest_existed:
            for rel in result["created"]:
                self.log.warning("Replacing missing file '%s'", rel)
        self.log.info("Fetched as: %s %s", self.course, self.coursedir.assignment_id)
        self._report_fetch()

    def _report_fetch(self) -> None:
        """Leave the fetch marker the notary records; the fetch itself is done either way."""
        try:
            _core.leave_fetch_marker(
                self.root, self.course, self.student, self.coursedir.assignment_id, self.timestamp
            )
        except _core.ExchangeCoreError as err:
            self.log.warning("This fetch was not recorded for the course's history: %s", err)
