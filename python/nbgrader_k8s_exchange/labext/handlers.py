"""``GET nbgrader-k8s/assignments``: what the Assignments tab extension shows.

The answer comes from the configured ``ExchangeList``, built from the same config nbgrader's
own Assignments tab handlers load (``AssignmentList.get_assignment_dir_config``), so it says
what ``nbgrader list`` says: each released assignment's due date for this student
(:mod:`..plugin.deadlines`) and each cached submission's seal status (:mod:`..plugin.seals`).
Only the wording for the tab is made here.
"""

import json
from typing import Any, Dict, List, Optional

from dateutil.parser import isoparse
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeError, ExchangeFactory
from nbgrader.server_extensions.assignment_list.handlers import AssignmentList
from tornado import web

from ..plugin.deadlines import _local
from ..plugin.list import ExchangeList

ROUTE = "nbgrader-k8s/assignments"
#: The jupyter-server authorization resource of the endpoint (action ``read`` for GET).
#: Its own name, as each jupyter-server service and extension has (``contents``, ``kernels``,
#: ``terminals``...), not ``contents``: it answers from the exchange and nbgrader's cache, not
#: from files under the server's root, so an Authorizer (JupyterHub's server sharing with
#: custom scopes, say) can grant a guest ``read:contents`` without the student's due dates,
#: extensions and submission statuses, or grant this one alone.
AUTH_RESOURCE = "nbgrader_k8s"


def due_text(deadline: Optional[Dict[str, Any]]) -> Optional[str]:
    """``due 2026-12-10 18:00:00 CET (2026-12-10 17:00:00 UTC) (extension) · 2d 3h left``,
    or ``... · late by 1h 5m`` once it has passed; None without a due date."""
    if not deadline:
        return None
    text = f"due {deadline['due_local']}"
    if deadline["extension"] is not None:
        text += " (extension)"
    if deadline["seconds_left"] >= 0:
        return f"{text} · {deadline['time_left']} left"
    return f"{text} · late by {deadline['time_left']}"


def _when(ex: ExchangeList, rfc3339: str) -> str:
    """The notary's time in the course's timezone and UTC, like due dates."""
    moment = isoparse(rfc3339).replace(microsecond=0)
    return _local(ex, moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


def seal_text(ex: ExchangeList, status: Dict[str, Any]) -> str:
    """One submission's seal status as the tab shows it."""
    if status["state"] == "not_sealed_yet":
        return "not sealed yet"
    text = f"sealed at {_when(ex, status['sealed'])} · receipt {status['sealed_receipt']}"
    text += {
        "sealed": "",
        "changed": " · modified after it was sealed",
        "vanished": " · deleted after it was sealed",
    }[status["state"]]
    if status["receipt_differs"]:
        text += f" · WARNING: your receipt is {status['receipt']}, not the sealed one"
    return text


def tab_status(root_dir: str, course_id: Optional[str] = None) -> Dict[str, Any]:
    """What the tab shows for the student whose server runs in ``root_dir``:
    ``{"exchange": True, "assignments": [...], "submissions": [...]}``, or
    ``{"exchange": False}`` when the configured exchange is not this one."""
    manager = AssignmentList()
    manager.root_dir = root_dir
    with manager.get_assignment_dir_config() as config:
        if course_id:
            config.CourseDirectory.course_id = course_id
        lister = ExchangeFactory(config=config).List(
            coursedir=CourseDirectory(config=config),
            authenticator=Authenticator(config=config),
            config=config,
        )
        if not isinstance(lister, ExchangeList):
            return {"exchange": False}
        released = lister.start()
        seals = lister.seal_statuses()
    assignments: List[Dict[str, Any]] = [
        {
            "course_id": info["course_id"],
            "assignment_id": info["assignment_id"],
            "deadline": info.get("deadline"),
            "due_text": due_text(info.get("deadline")),
        }
        for info in released
    ]
    submissions = [dict(status, seal_text=seal_text(lister, status)) for status in seals.values()]
    submissions.sort(key=lambda s: (s["course_id"], s["assignment_id"], s["timestamp"]))
    return {"exchange": True, "assignments": assignments, "submissions": submissions}


class AssignmentsStatusHandler(APIHandler):
    """The endpoint; an exchange problem is a JSON ``{"error": ...}``, never a traceback.

    Authenticated, then authorized by the server's Authorizer for ``read`` on
    :data:`AUTH_RESOURCE` (403 when it says no), as jupyter-server's own handlers are.
    """

    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized
    def get(self) -> None:
        course = self.get_argument("course_id", None) or None
        try:
            result = tab_status(self.serverapp.root_dir, course)
        except ExchangeError as err:
            self.log.warning("nbgrader-k8s/assignments: %s", err)
            result = {"exchange": True, "error": str(err)}
        self.finish(json.dumps(result))


def setup_handlers(serverapp: Any) -> None:
    """Add the endpoint under the server's base URL."""
    web_app = serverapp.web_app
    pattern = url_path_join(web_app.settings["base_url"], ROUTE)
    web_app.add_handlers(".*$", [(pattern, AssignmentsStatusHandler)])
