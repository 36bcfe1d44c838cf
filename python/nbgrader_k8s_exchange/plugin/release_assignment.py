"""``nbgrader release_assignment``: publish ``release/{assignment}`` to ``outbound/``."""

import os

from nbgrader.exchange.abc import ExchangeReleaseAssignment as ABCExchangeReleaseAssignment

from .. import _core
from .deadlines import publish_from_gradebook
from .exchange import Exchange


class ExchangeReleaseAssignment(Exchange, ABCExchangeReleaseAssignment):
    """Release an assignment; ``--force`` replaces a release without a half-released instant."""

    def init_src(self) -> None:
        coursedir = self.coursedir
        self.src_path = coursedir.format_path(
            coursedir.release_directory, ".", coursedir.assignment_id
        )
        if os.path.isdir(self.src_path):
            return
        source = coursedir.format_path(coursedir.source_directory, ".", coursedir.assignment_id)
        if os.path.isdir(source):
            self.fail(
                f"Assignment found in '{source}' but not '{self.src_path}', "
                "run `nbgrader generate_assignment` first."
            )
        self.fail(f"Assignment not found at: {self.src_path}")

    def init_dest(self) -> None:
        self.course = self.require_course()
        self.check_id("assignment", self.coursedir.assignment_id)

    def copy_files(self) -> None:
        assignment = self.coursedir.assignment_id
        self.log.info("Source: %s", self.src_path)
        result = self.call_core(
            _core.release_assignment,
            self.root,
            self.course,
            assignment,
            self.src_path,
            force=self.force,
            ignore=list(self.coursedir.ignore),
            include=list(self.coursedir.include),
            limits=self.limits(),
        )
        self.log.info("Destination: %s", result["path"])
        if result["replaced"]:
            self.log.info("Overwrote the earlier release: %s %s", self.course, assignment)
        self.log.info("Released as: %s %s (%d files)", self.course, assignment, result["files"])
        publish_from_gradebook(self, self.course, assignment)
