"""Real JupyterHub processes for the course API tests, and the CLI that talks to them."""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
PROXY = REPO / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
CLI = Path(sys.prefix) / "bin" / "nbgrader-k8s"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen, log: Path, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"hub exited {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"hub not up after {limit} s:\n{log.read_text()[-4000:]}")


class LeanHub:
    """``jupyterhub -f tests/hub/lean_config.py`` in ``base``; restartable on the same DB."""

    def __init__(
        self,
        base: Path,
        users: Sequence[str],
        services: Dict[str, Optional[list]],
        role_groups: Sequence[str] = (),
    ):
        self.dir = base
        self.role_groups = list(role_groups)
        base.mkdir(parents=True, exist_ok=True)
        self.users = list(users)
        self.tokens = {name: secrets.token_hex(16) for name in services}
        self.services = {name: [self.tokens[name], scopes] for name, scopes in services.items()}
        self.api_port = free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}/hub/api"
        self.proc: Optional[subprocess.Popen] = None

    def start(self, die_at: int = 0) -> "LeanHub":
        env = dict(os.environ)
        env.update(
            LEAN_HUB_DIR=str(self.dir),
            LEAN_HUB_PORT=str(free_port()),
            LEAN_HUB_API_PORT=str(self.api_port),
            LEAN_HUB_PROXY_API_PORT=str(free_port()),
            LEAN_HUB_USERS=json.dumps(self.users),
            LEAN_HUB_SERVICES=json.dumps(self.services),
            LEAN_HUB_DIE_AT=str(die_at),
            LEAN_HUB_ROLE_GROUPS=json.dumps(self.role_groups),
        )
        self.log = self.dir / "jupyterhub.log"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(REPO / "tests/hub/lean_config.py")],
                cwd=self.dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_up(self.api_url, self.proc, self.log)
        return self

    def wait_dead(self, limit: float = 30) -> int:
        code = self.proc.wait(limit)
        # The proxy outlives a SIGKILLed hub; the next start would find its port taken.
        pid_file = self.dir / "proxy.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), 15)
            except (ProcessLookupError, ValueError):
                pass
        return code

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.proc:
            self.wait_dead()

    def api(self, path: str, token: str) -> object:
        req = urllib.request.Request(
            self.api_url + path, headers={"Authorization": f"token {token}"}
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def members(self, group: str, token: str) -> List[str]:
        return sorted(self.api(f"/groups/{group}", token)["users"])


def cli(
    *args: str,
    root: Path,
    api_url: str,
    token: Optional[str],
    check: bool = True,
    wrap: Sequence[str] = (),
) -> subprocess.CompletedProcess:
    """``nbgrader-k8s ARGS`` as an admin runs it: hub URL and token from the environment (no
    token variable when ``token`` is None), the command run under ``wrap`` if given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB", "NBGRADER"))}
    env.update(JUPYTERHUB_API_URL=api_url, NBGRADER_K8S_ROOT=str(root))
    if token is not None:
        env.update(JUPYTERHUB_API_TOKEN=token)
    command = [*wrap, str(CLI), *args]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"nbgrader-k8s {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
        )
    return proc
