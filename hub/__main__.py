"""Start the local hub: ``python -m hub [--dir DIR] [--port 8000]`` (what ``make hub`` runs).

Prepares DIR (default ``artifacts/hub``): ``exchange/`` (the exchange volume), ``homes/`` (one per
user), ``logs/`` (one per pod), ``state/`` (hub database, secrets, passwords). Prints the users
and their passwords, then runs JupyterHub until Ctrl-C or SIGTERM, which stops every pod and
the proxy before this exits. Needs root: pods are mount and PID namespaces.
"""

import argparse
import fcntl
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from hub.course import COURSE, GROUPS, INSTRUCTORS, api_token_file, passwords, prepare_homes
from podsim import namespaces_available

REPO = Path(__file__).resolve().parent.parent
PROXY = REPO / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=REPO / "artifacts" / "hub")
    parser.add_argument("--port", type=int, default=8000, help="where browsers connect")
    parser.add_argument("--api-port", type=int, default=8081, help="the hub's API, for pods")
    parser.add_argument("--proxy-api-port", type=int, default=8001, help="the proxy's API")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start over: delete the course, homes and hub state in DIR",
    )
    args = parser.parse_args(argv)

    why_not = namespaces_available()
    if why_not:
        print(f"cannot start the local hub: {why_not}", file=sys.stderr)
        return 1
    if not PROXY.exists():
        print(f"{PROXY} missing: run `make hub-setup`", file=sys.stderr)
        return 1
    hub_dir = args.dir.resolve()
    (hub_dir / "state").mkdir(parents=True, exist_ok=True)
    lock = open(hub_dir / "state" / "launcher.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another local hub is running on {hub_dir}", file=sys.stderr)
        return 1
    if args.fresh:
        for sub in ("exchange", "homes", "logs"):
            shutil.rmtree(hub_dir / sub, ignore_errors=True)
        for entry in (hub_dir / "state").iterdir():
            if entry.name != "launcher.lock":
                entry.unlink()
    for sub in ("exchange", "homes", "logs"):
        (hub_dir / sub).mkdir(exist_ok=True)
    # nbgrader (the gradebook here, the hub's tools later) runs this venv's tools by name.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    prepare_homes(hub_dir / "homes")
    _print_welcome(args.port, passwords(hub_dir / "state"), hub_dir)
    token_file = api_token_file(hub_dir / "state")
    print(
        "Courses at runtime: export JUPYTERHUB_API_URL="
        f"http://127.0.0.1:{args.api_port}/hub/api NBGRADER_K8S_ROOT={hub_dir / 'exchange'}\n"
        f"  nbgrader-k8s course list --token-file {token_file}",
        flush=True,
    )

    env = dict(os.environ)
    env.update(
        NBK8S_HUB_DIR=str(hub_dir),
        NBK8S_HUB_PORT=str(args.port),
        NBK8S_HUB_API_PORT=str(args.api_port),
        NBK8S_PROXY_API_PORT=str(args.proxy_api_port),
        PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    config = REPO / "hub" / "jupyterhub_config.py"
    with open(hub_dir / "logs" / "jupyterhub.log", "ab") as log:
        # Its own session: a Ctrl-C is handled once, here, and becomes one orderly SIGTERM;
        # the same SIGTERM reaches it should this process be killed outright.
        hub = subprocess.Popen(
            ["setpriv", "--pdeathsig", "TERM", sys.executable, "-m", "jupyterhub"]
            + ["-f", str(config)],
            cwd=hub_dir / "state",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def forward(signum, _frame):
        if hub.poll() is None:
            hub.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    code = hub.wait()
    print(f"hub stopped (exit {code}); log: {hub_dir / 'logs' / 'jupyterhub.log'}", flush=True)
    return 0 if code in (0, -signal.SIGTERM) else code


def _print_welcome(port: int, creds: dict, hub_dir: Path) -> None:
    print(f"Local hub for {COURSE}: http://127.0.0.1:{port}/  (Ctrl-C stops it)")
    for group, users in GROUPS.items():
        for user in users:
            role = "instructor" if user in INSTRUCTORS else "student"
            print(f"  {user:<6} {creds[user]:<14} {role:<10} group {group}")
    print(f"Exchange: {hub_dir / 'exchange'}   homes: {hub_dir / 'homes'}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
