"""A course added while the local hub (``make hub``) runs: its student spawns a simulated pod,
fetches and submits, its instructor collects; the hub is never restarted."""

import json
import sys
import urllib.parse
from pathlib import Path

import pytest
import requests

from podsim import namespaces_available

from ..e2e.hubproc import LocalHub, in_pod, wait_until
from .hubs import PROXY, cli

BIN = Path(sys.prefix) / "bin"
_WHY_NOT = namespaces_available() or (None if PROXY.exists() else f"{PROXY} missing")


def _spawn(hub: LocalHub, user: str) -> None:
    """Log in through the hub's form as ``user`` and start their server, as a browser does."""
    s = requests.Session()
    s.get(f"{hub.url}/hub/login", timeout=30)
    xsrf = s.cookies.get("_xsrf")
    s.post(
        f"{hub.url}/hub/login",
        data={"username": user, "password": hub.passwords[user], "_xsrf": xsrf},
        allow_redirects=False,
        timeout=30,
    )
    headers = {"X-XSRFToken": s.cookies.get("_xsrf") or xsrf}
    api = f"{hub.url}/hub/api/users/{urllib.parse.quote(user)}"
    r = s.post(f"{api}/server", headers=headers, timeout=60)
    assert r.status_code in (201, 202), r.text

    def ready():
        model = s.get(api, headers=headers, timeout=30).json()
        server = model.get("servers", {}).get("")
        return bool(server and server.get("ready"))

    wait_until(ready, f"{user}'s server ready", limit=120)


def _sh(hub: LocalHub, user: str, script: str):
    """``script`` in ``user``'s pod, with HOME and JUPYTERHUB_USER as the pod has them."""
    return in_pod(
        hub, user, f"export HOME=/home/jovyan JUPYTERHUB_USER={user} PATH={BIN}:$PATH; {script}"
    )


@pytest.fixture
def hub(tmp_path_factory):
    if _WHY_NOT:
        pytest.skip(f"SKIPPED LOUDLY: cannot run the local hub here: {_WHY_NOT}")
    running = LocalHub(tmp_path_factory.mktemp("hub"))
    yield running
    running.close()


def test_a_course_added_at_runtime_is_taught_without_a_hub_restart(hub):
    hub_pid = hub.proc.pid
    state = hub.dir / "state"
    log = (hub.dir / "launcher.log").read_text()
    api_url = log.split("JUPYTERHUB_API_URL=", 1)[1].split()[0]
    token = (state / "nbgrader-k8s-token").read_text().strip()
    root = hub.dir / "exchange"

    # prof already teaches course101 (the values' course); carol takes it. Now course202.
    out = cli(
        "course",
        "add",
        "course202",
        "--instructor",
        "prof",
        "--student",
        "carol",
        root=root,
        api_url=api_url,
        token=token,
    )
    assert "effective at each member's next server start" in out.stdout
    listed = json.loads(
        cli("course", "list", "--json", root=root, api_url=api_url, token=token).stdout
    )
    assert {c["course"]: c["source"] for c in listed["courses"]} == {
        "course101": "helm values",
        "course202": "hub api",
    }

    _spawn(hub, "prof")
    release = _sh(
        hub,
        "prof",
        "set -e; mkdir -p ~/course202/source/ps1; "
        "cp ~/course101/source/ps1/*.ipynb "
        "~/course202/source/ps1/; cd ~/course202; C='--course course202 --CourseDirectory.root=.'; "
        "nbgrader generate_assignment ps1 $C; nbgrader release_assignment ps1 $C; "
        "ls /mnt/exchange",
    )
    assert release.returncode == 0, release.stdout + release.stderr
    # An instructor of two courses sees both, and only those, in one pod.
    assert release.stdout.split()[-2:] == ["course101", "course202"]

    _spawn(hub, "carol")
    student = _sh(
        hub,
        "carol",
        "set -e; cd ~; nbgrader fetch_assignment ps1 --course course202; "
        "nbgrader submit ps1 --course course202; ls /mnt/exchange/course202/inbound",
    )
    assert student.returncode == 0, student.stdout + student.stderr
    assert student.stdout.split()[-1] == "carol"

    collect = _sh(
        hub,
        "prof",
        "cd ~/course202 && nbgrader collect ps1 --course course202 --CourseDirectory.root=.",
    )
    assert collect.returncode == 0, collect.stdout + collect.stderr
    submitted = hub.dir / "homes" / "prof" / "course202" / "submitted" / "carol" / "ps1"
    assert (submitted / "squares.ipynb").is_file()

    shown = json.loads(
        cli("course", "show", "course202", "--json", root=root, api_url=api_url, token=token).stdout
    )
    assert {m["user"]: m["running"] for m in shown["members"]} == {"prof": True, "carol": True}
    assert hub.proc.pid == hub_pid and hub.proc.poll() is None
