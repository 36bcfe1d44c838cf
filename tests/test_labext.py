"""The Assignments tab extension's endpoint (``GET nbgrader-k8s/assignments``, issues 14 and
17), served by a real jupyter-server as alice, on a course driven by the real nbgrader CLI and
sealed by the real notary (``nbgrader-k8s notary run --once``). The browser side is in
tests/e2e/test_browser.py."""

import datetime
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from dateutil.tz import gettz

from nbgrader_k8s_exchange import _core
from nbgrader_k8s_exchange.demo import Course
from nbgrader_k8s_exchange.labext.handlers import tab_status
from tests.admin_cli import admin_ok

UTC = datetime.timezone.utc
TOKEN = "labext-test-token"
CACHE = ".local/share/jupyter/nbgrader_cache/course101"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``jupyter server`` in a student's home, as their pod runs it."""

    def __init__(self, course, student, args=()):
        home = course.add_student(student)
        self.url = f"http://127.0.0.1:{_free_port()}"
        self.log = open(home / "server.log", "w+b")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root"]
            + ["--ip=127.0.0.1"]
            + [f"--port={self.url.rsplit(':', 1)[1]}", f"--IdentityProvider.token={TOKEN}"]
            + [f"--ServerApp.root_dir={home}", *args],
            cwd=home,
            env=course._env(student, home),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.get("api/status")
                return
            except (urllib.error.URLError, OSError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter server did not start:\n{self.output()}") from None
                time.sleep(0.2)

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def get(self, path, token=TOKEN):
        request = urllib.request.Request(f"{self.url}/{path}")
        if token:
            request.add_header("Authorization", f"token {token}")
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


@pytest.fixture
def course(tmp_path):
    course = Course(tmp_path, extra_config="c.Exchange.timezone = 'Europe/Berlin'\n")
    course.create_assignment("ps1")
    course.create_assignment("ps2")
    return course


@pytest.fixture
def alice(course):
    server = Server(course, "alice")
    yield server
    server.stop()


def _shown(when):
    local = when.astimezone(gettz("Europe/Berlin")).strftime("%Y-%m-%d %H:%M:%S %Z")
    return f"{local} ({when.strftime('%Y-%m-%d %H:%M:%S')} UTC)"


def _by_assignment(status):
    return {a["assignment_id"]: a["due_text"] for a in status["assignments"]}


def test_the_tab_endpoint_gives_due_dates_and_seal_statuses(course, alice):
    due = datetime.datetime.now(UTC).replace(microsecond=0) + datetime.timedelta(days=2, minutes=30)
    stamp = due.strftime("%Y-%m-%d %H:%M:%S UTC")
    course.instructor("db", "assignment", "add", "ps1", f"--duedate={stamp}")
    course.instructor("release_assignment", "ps1")
    course.instructor("release_assignment", "ps2")  # no due date

    status = alice.get("nbgrader-k8s/assignments")
    assert status["exchange"] is True and status["submissions"] == []
    assert _by_assignment(status) == {"ps1": f"due {_shown(due)} · 2d 0h left", "ps2": None}

    # Her extension, hers alone: the tab says so, bob's course-wide date stays.
    admin_ok(
        course, "deadlines", "extend", "course101", "ps1", "alice", "--by", "1d", "--new-student"
    )
    later = due + datetime.timedelta(days=1)
    shown = _by_assignment(alice.get("nbgrader-k8s/assignments?course_id=course101"))
    assert shown["ps1"] == f"due {_shown(later)} (extension) · 3d 0h left"

    # Submitted, before the notary ever ran: nothing to say about seals.
    course.submit_answer("alice", "ps1", True)
    assert alice.get("nbgrader-k8s/assignments")["submissions"] == []
    # Sealed by a notary pass; a second submission is not sealed yet.
    admin_ok(course, "notary", "run", "--once")
    course.student("alice", "submit", "ps1")
    [first, second] = alice.get("nbgrader-k8s/assignments")["submissions"]
    assert first["timestamp"] < second["timestamp"]
    cached = course.student_home("alice") / CACHE / f"alice+ps1+{first['timestamp']}"
    receipt = _core.short_receipt((cached / ".nbk8s-receipt").read_text().strip())
    sealed = datetime.datetime.fromisoformat(first["sealed"].replace("Z", "+00:00"))
    assert (
        first["seal_text"]
        == f"sealed at {_shown(sealed.replace(microsecond=0))} · receipt {receipt}"
    )
    assert second["seal_text"] == "not sealed yet"

    # Edited in the inbox after the seal: the next pass exposes it, and the tab says so.
    inbox = course.exchange / "course101" / "inbound" / "alice"
    edited = next(p for p in sorted(inbox.iterdir()) if first["timestamp"] in p.name)
    (edited / "squares.ipynb").write_text("{}")
    admin_ok(course, "notary", "run", "--once")
    [first, second] = alice.get("nbgrader-k8s/assignments")["submissions"]
    assert first["seal_text"].endswith(" · modified after it was sealed"), first
    assert second["seal_text"].startswith("sealed at ")

    # The exchange not mounted: the tab gets the plugin's message, not a traceback.
    course.exchange.rename(course.exchange.with_name("unmounted"))
    status = alice.get("nbgrader-k8s/assignments")
    assert str(course.exchange) in status["error"], status

    # Only for the server's own user.
    with pytest.raises(urllib.error.HTTPError) as refused:
        alice.get("nbgrader-k8s/assignments", token=None)
    assert refused.value.code == 403


#: A jupyter-server config with a second user on alice's server (a guest, as JupyterHub's
#: server sharing makes one) whom the deployment's Authorizer allows everything but this
#: extension's resource: the endpoint must ask the Authorizer, as jupyter-server's own do.
GUEST_CONFIG = """
from jupyter_server.auth import Authorizer, IdentityProvider, User


class WithGuest(IdentityProvider):
    async def get_user(self, handler):
        if handler.request.headers.get("Authorization") == "token guest-token":
            return User(username="guest")
        return await super().get_user(handler)


class NoExchangeForGuests(Authorizer):
    def is_authorized(self, handler, user, action, resource):
        return not (user.username == "guest" and resource == "nbgrader_k8s")


c.ServerApp.identity_provider_class = WithGuest
c.ServerApp.authorizer_class = NoExchangeForGuests
"""


def test_the_endpoint_asks_the_servers_authorizer(course, tmp_path):
    config = tmp_path / "guest_config.py"
    config.write_text(GUEST_CONFIG)
    course.instructor("release_assignment", "ps1")
    server = Server(course, "alice", args=[f"--config={config}"])
    try:
        # The guest is a user of this server (the rest of it answers them)...
        assert server.get("api/contents", token="guest-token")["type"] == "directory"
        # ...but the Authorizer does not let them read the exchange's resource; alice may.
        with pytest.raises(urllib.error.HTTPError) as refused:
            server.get("nbgrader-k8s/assignments", token="guest-token")
        assert refused.value.code == 403
        owner = server.get("nbgrader-k8s/assignments")
        assert [a["assignment_id"] for a in owner["assignments"]] == ["ps1"]
    finally:
        server.stop()


def _in_process(course, student, monkeypatch):
    """The endpoint's answer computed here, in ``student``'s home and environment."""
    home = course.add_student(student)
    for key, value in course._env(student, home).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(home)
    return tab_status(str(home))


def test_a_late_assignment_says_late_by(course, monkeypatch):
    due = datetime.datetime.now(UTC).replace(microsecond=0) - datetime.timedelta(hours=2, minutes=5)
    stamp = due.strftime("%Y-%m-%d %H:%M:%S UTC")
    course.instructor("db", "assignment", "add", "ps1", f"--duedate={stamp}")
    course.instructor("release_assignment", "ps1")
    shown = _by_assignment(_in_process(course, "bob", monkeypatch))
    assert shown == {"ps1": f"due {_shown(due)} · late by 2h 5m"}


def test_another_exchange_configured_means_nothing_to_show(tmp_path, monkeypatch):
    course = Course(tmp_path, plugin=False)
    course.create_assignment("ps1")
    course.instructor("release_assignment", "ps1")
    assert _in_process(course, "alice", monkeypatch) == {"exchange": False}
