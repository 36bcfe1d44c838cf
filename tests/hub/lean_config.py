"""A lean JupyterHub for the course API tests: no spawner work, the dummy authenticator.

``tests/hub/hubs.py`` sets the environment: LEAN_HUB_DIR (state), LEAN_HUB_PORT,
LEAN_HUB_API_PORT, LEAN_HUB_PROXY_API_PORT, LEAN_HUB_USERS (JSON list, created at start as
allowed users), LEAN_HUB_SERVICES (JSON ``{name: [token, scopes or null]}``: null grants the
package's documented course API role), LEAN_HUB_ROLE_GROUPS (JSON list of groups created at
start, each carrying a role with ``admin:users``, as an admin group of ``hub.loadRoles``
would) and LEAN_HUB_DIE_AT (the Nth group membership call at
which the hub kills itself with SIGKILL, before handling it: a hub killed mid-sync).
"""

import json
import os
import signal
from pathlib import Path

from nbgrader_k8s_exchange.kubespawner import api_service_role

c = get_config()  # noqa: F821

state = Path(os.environ["LEAN_HUB_DIR"])
proxy = Path(__file__).resolve().parents[2] / "hub" / "node_modules" / ".bin"
c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ['LEAN_HUB_PORT']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ["LEAN_HUB_API_PORT"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['LEAN_HUB_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.command = [str(proxy / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = set(json.loads(os.environ.get("LEAN_HUB_USERS", "[]")))

services, roles = [], []
for name, (token, scopes) in json.loads(os.environ.get("LEAN_HUB_SERVICES", "{}")).items():
    services.append({"name": name, "api_token": token})
    if scopes is None:
        roles.append(api_service_role(name))
    elif scopes:
        roles.append({"name": f"{name}-role", "scopes": scopes, "services": [name]})
role_groups = json.loads(os.environ.get("LEAN_HUB_ROLE_GROUPS", "[]"))
c.JupyterHub.load_groups = {g: {"users": []} for g in role_groups}
roles += [{"name": f"staff-{g}", "scopes": ["admin:users"], "groups": [g]} for g in role_groups]
c.JupyterHub.services = services
c.JupyterHub.load_roles = roles

die_at = int(os.environ.get("LEAN_HUB_DIE_AT", "0"))
if die_at:
    from jupyterhub.apihandlers.groups import GroupUsersAPIHandler

    calls = {"n": 0}
    handle = GroupUsersAPIHandler.post

    def post(self, group_name):
        calls["n"] += 1
        if calls["n"] >= die_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return handle(self, group_name)

    GroupUsersAPIHandler.post = post
