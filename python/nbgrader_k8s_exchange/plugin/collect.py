"""``nbgrader collect``: copy each student's chosen submission into ``submitted/``."""

from nbgrader.exchange.abc import ExchangeCollect as ABCExchangeCollect

from .. import _core
from .deadlines import publish_from_gradebook, sync_extensions
from .exchange import Exchange

_MESSAGES = {
    "collected": "Collecting submission: {student} {assignment}",
    "updated": "Updating submission: {student} {assignment}",
    "exists": "Submission already exists, use --update to update: {student} {assignment}",
    "not_newer": "No newer submission to collect: {student} {assignment}",
}


class ExchangeCollect(Exchange, ABCExchangeCollect):
    """Collect from ``inbound/{student}/``; the directory name is the student's identity.

    ``check_owner`` is accepted but unused: every pod writes as uid 1000, so Unix owners say
    nothing about who submitted.
    """

    def init_src(self) -> None:
        self.course = self.require_course()
        self.check_id("assignment", self.coursedir.assignment_id)
        # The gradebook's due date is published for students (and the notary) on the way.
        due = publish_from_gradebook(self, self.course, self.coursedir.assignment_id)
        self.duedate = due if self.before_duedate else None

    def copy_files(self) -> None:
        assignment = self.coursedir.assignment_id
        # The core fills in CourseDirectory.format_path(submitted_directory, student, ...)
        # for each student it finds.
        result = self.call_core(
            _core.collect,
            self.root,
            self.course,
            assignment,
            self.coursedir.root,
            self.coursedir.directory_structure,
            self.coursedir.submitted_directory,
            students=self.student_filter(),
            update=self.update,
            before_duedate=self.before_duedate,
            duedate=self.duedate,
            ignore=list(self.coursedir.ignore),
            include=list(self.coursedir.include),
            limits=self.limits(),
            backdate_tolerance=self.backdate_tolerance,
            groupshared=self.coursedir.groupshared,
            grade_time=self.grade_time,
        )
        records = result["records"]
        if not records:
            self.log.warning(
                "No submissions of '%s' for course '%s' to collect", assignment, self.course
            )
            return
        self.log.info(
            "Processing %d submissions of '%s' for course '%s'",
            len(records),
            assignment,
            self.course,
        )
        for rec in records:
            message = _MESSAGES[rec["action"]]
            self.log.info(message.format(student=rec["student_id"], assignment=assignment))
        sync_extensions(self, self.course, assignment, [rec["student_id"] for rec in records])
