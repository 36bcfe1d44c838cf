"""``nbgrader fetch_feedback``: copy the student's released feedback next to their work."""

from nbgrader.exchange.abc import ExchangeFetchFeedback as ABCExchangeFetchFeedback

from .. import _core
from .exchange import Exchange


class ExchangeFetchFeedback(Exchange, ABCExchangeFetchFeedback):
    """Fetch from ``feedback_public/{student}/``, which the student's pod mounts read-only."""

    def init_src(self) -> None:
        self.course = self.require_course()
        self.student = self.student_id()
        if self.coursedir.assignment_id:
            self.check_id("assignment", self.coursedir.assignment_id)

    def copy_files(self) -> None:
        result = self.call_core(
            _core.fetch_feedback,
            self.root,
            self.cache,
            self.course,
            self.student,
            self.coursedir.assignment_id or None,
            self.assignment_dir,
            self.path_includes_course,
        )
        for item in result["fetched"]:
            self.log.info("Fetched feedback: %s", item["path"])
        for item in result["missing"]:
            self.log.warning(
                "Could not find feedback for '%s/%s/%s' submitted at %s",
                self.course,
                item["assignment_id"],
                item["notebook_id"],
                item["timestamp"],
            )
