"""JupyterHub config of the local hub; ``python -m hub`` sets NBK8S_HUB_DIR and NBK8S_HUB_PORT.

As on the cluster, a user's JupyterHub groups decide what the exchange hook mounts into their
pod (``formgrade-course101``: the whole course; ``nbgrader-course101``: the release, their own
inbound and feedback): the same ``configure`` call the Zero to JupyterHub values make, on the
same kind of pod. Instructors land in formgrader, students in JupyterLab.
"""

import os
import sys
from pathlib import Path

from hub.auth import DemoAuthenticator
from hub.course import API_SERVICE, COURSE, INSTRUCTORS, STUDENTS, api_token_file, passwords
from hub.podspawner import PodSpawner
from nbgrader_k8s_exchange.kubespawner import configure, courses_from_groups

c = get_config()  # noqa: F821

HUB_DIR = Path(os.environ["NBK8S_HUB_DIR"])
STATE = HUB_DIR / "state"
REPO = Path(__file__).resolve().parent.parent

c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ.get('NBK8S_HUB_PORT', '8000')}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("NBK8S_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = (
    f"http://127.0.0.1:{os.environ.get('NBK8S_PROXY_API_PORT', '8001')}"
)
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.command = [
    str(REPO / "hub" / "node_modules" / ".bin" / "configurable-http-proxy")
]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

c.JupyterHub.authenticator_class = DemoAuthenticator
c.DemoAuthenticator.passwords = passwords(STATE)
c.Authenticator.allowed_users = set(passwords(STATE))
# Users that `nbgrader-k8s course add --create-users` makes at runtime may log in too (given
# a password in passwords.json).
c.Authenticator.allow_existing_users = True

# The token of `nbgrader-k8s course`/`roster` (state/nbgrader-k8s-token): a service with only
# the course API's scopes, granted by configure() below (apiService).
c.JupyterHub.services = [
    {"name": API_SERVICE, "api_token": api_token_file(STATE).read_text().strip()}
]

c.JupyterHub.spawner_class = PodSpawner
c.PodSpawner.exchange_dir = str(HUB_DIR / "exchange")
c.PodSpawner.homes_dir = str(HUB_DIR / "homes")
c.Spawner.cmd = [str(Path(sys.prefix) / "bin" / "jupyterhub-singleuser")]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# The cluster's hook (a modify_pod_hook on the pod PodSpawner builds as KubeSpawner would).
# No ConfigMap here: each home holds its nbgrader_config.py (hub/course.py), and there are no
# images to choose.
# The demo course comes from these settings as it would from the Helm values
# (custom.nbgrader.courses); courses added with `nbgrader-k8s course add` live in the hub's
# database only.
configure(
    c,
    {
        "hubExchangePath": str(HUB_DIR / "exchange"),
        "configMap": "",
        "courses": {COURSE: {"instructors": list(INSTRUCTORS), "students": list(STUDENTS)}},
        "apiService": API_SERVICE,
    },
    spawner="PodSpawner",
)


def _pre_spawn(spawner):
    _students, instructors = courses_from_groups(g.name for g in spawner.user.groups)
    spawner.default_url = "/formgrader" if instructors else "/lab"


# configure() leaves pre_spawn_hook alone: this one picks the landing page.
c.Spawner.pre_spawn_hook = _pre_spawn
