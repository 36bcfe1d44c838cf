"""``nbgrader submit``: publish the student's work into their own ``inbound/{student}``."""

import os

from nbgrader.exchange.abc import ExchangeSubmit as ABCExchangeSubmit
from traitlets import Bool

from .. import _core
from .deadlines import check_late_submit
from .exchange import Exchange


class ExchangeSubmit(Exchange, ABCExchangeSubmit):
    """Submit to ``inbound/{student}/{assignment}+{timestamp}+{random}``."""

    add_random_string = Bool(
        True,
        help=(
            "Accepted for compatibility with nbgrader's default exchange. This exchange always "
            "ends submission names with a random part, which its layout relies on."
        ),
    ).tag(config=True)

    def init_src(self) -> None:
        self.src_path = self.local_assignment_path(
            self.coursedir.course_id, self.coursedir.assignment_id
        )
        self.coursedir.assignment_id = os.path.basename(self.src_path)
        if not os.path.isdir(self.src_path):
            self.fail(f"Assignment not found at: {self.src_path}")

    def init_dest(self) -> None:
        self.course = self.require_course()
        self.check_id("assignment", self.coursedir.assignment_id)
        self.student = self.student_id()
        if not self.authenticator.has_access(self.student, self.course):
            self.fail("You do not have access to this course.")

    def copy_files(self) -> None:
        self.log.info("Source: %s", self.src_path)
        check_late_submit(self, self.course, self.student, self.coursedir.assignment_id)
        result = self.call_core(
            _core.submit,
            self.root,
            self.course,
            self.student,
            self.coursedir.assignment_id,
            self.src_path,
            self.timestamp,
            self.cache,
            strict=self.strict,
            ignore=list(self.coursedir.ignore),
            include=list(self.coursedir.include),
            limits=self.limits(),
        )
        self.log.info("Destination: %s", result["path"])
        self.log.info(
            "Submitted as: %s %s %s", self.course, self.coursedir.assignment_id, self.timestamp
        )
        self.log.info("Receipt: %s", _core.short_receipt(result["receipt"]))
        self.log.info(
            "Keep this receipt: it names exactly the files you handed in, and your course "
            "admin can check it against the exchange's sealed record "
            "(`nbgrader list --cached` shows when it was sealed)."
        )
