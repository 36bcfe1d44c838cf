"""The demo course of the local hub: who is in it, and what their homes start with."""

import json
import os
import secrets
from pathlib import Path
from typing import Dict

from nbgrader_k8s_exchange.demo import PLUGIN_CONFIG, write_source_notebook

COURSE = "course101"
INSTRUCTORS = ("prof",)
STUDENTS = ("alice", "bob", "carol")
NAMES = {"alice": ("Alice", "Adams"), "bob": ("Bob", "Brown"), "carol": ("Carol", "Chen")}
GROUPS = {
    f"formgrade-{COURSE}": list(INSTRUCTORS),
    f"nbgrader-{COURSE}": list(STUDENTS),
}
UID, GID = 1000, 100

# What every pod's nbgrader reads: our exchange, mounted where the cluster mounts it.
_NBGRADER_CONFIG = (
    "c = get_config()  # noqa\n" + PLUGIN_CONFIG + "c.Exchange.root = '/mnt/exchange'\n"
)
_INSTRUCTOR_CONFIG = (
    f"c.CourseDirectory.course_id = {COURSE!r}\nc.CourseDirectory.root = '/home/jovyan/{COURSE}'\n"
)
# Students get the Assignments tab, not the instructor's tools (as a real deployment's images).
_STUDENT_SERVER_CONFIG = {
    "ServerApp": {
        "jpserver_extensions": {
            "nbgrader.server_extensions.formgrader": False,
            "nbgrader.server_extensions.course_list": False,
        }
    }
}
_STUDENT_LAB_CONFIG = {
    "disabledExtensions": {
        "@jupyterlab/apputils-extension:announcements": True,
        "@jupyter/nbgrader:formgrader": True,
        "@jupyter/nbgrader:course-list": True,
        "@jupyter/nbgrader:create-assignment": True,
    }
}


def passwords(state: Path) -> Dict[str, str]:
    """Each demo user's password, made once per hub directory and kept (root-only) there."""
    path = state / "passwords.json"
    if path.exists():
        return json.loads(path.read_text())
    made = {user: secrets.token_urlsafe(9) for user in INSTRUCTORS + STUDENTS}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(made, f, indent=1)
    return made


#: The hub service whose token ``nbgrader-k8s course``/``roster`` use (hub/jupyterhub_config.py).
API_SERVICE = "nbgrader-k8s"


def api_token_file(state: Path) -> Path:
    """The file holding the API service's token, made once per hub directory (root-only)."""
    path = state / "nbgrader-k8s-token"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    return path


def _roster(db: Path) -> None:
    """The students in the instructor's gradebook, with names, as an instructor adds them."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}", course_id=COURSE) as gradebook:
        for student in STUDENTS:
            first, last = NAMES[student]
            gradebook.update_or_create_student(student, first_name=first, last_name=last)


def prepare_homes(homes: Path) -> None:
    """Homes on first start: nbgrader config for all, the course source for instructors."""
    for user in INSTRUCTORS + STUDENTS:
        home = homes / user
        if home.exists():
            continue
        jupyter = home / ".jupyter"
        jupyter.mkdir(parents=True)
        if user in INSTRUCTORS:
            (jupyter / "nbgrader_config.py").write_text(_NBGRADER_CONFIG + _INSTRUCTOR_CONFIG)
            write_source_notebook(home / COURSE / "source" / "ps1" / "squares.ipynb")
            _roster(home / COURSE / "gradebook.db")
        else:
            (jupyter / "nbgrader_config.py").write_text(_NBGRADER_CONFIG)
            (jupyter / "jupyter_server_config.json").write_text(
                json.dumps(_STUDENT_SERVER_CONFIG, indent=1)
            )
            (jupyter / "labconfig").mkdir()
            (jupyter / "labconfig" / "page_config.json").write_text(
                json.dumps(_STUDENT_LAB_CONFIG, indent=1)
            )
        for dirpath, _dirs, files in os.walk(home):
            os.chown(dirpath, UID, GID)
            for name in files:
                os.chown(os.path.join(dirpath, name), UID, GID)
