"""A simulated cluster on one storage setup, built from the shipped deploy/ files.

Every pod is a podsim pod made from what a real cluster would run: the provisioning Job and the
audit CronJob from ``deploy/k8s``; the hub pod from the chart's defaults merged with the values
files (:mod:`podsim.chart`); the notebook pods as real KubeSpawner builds them *inside that hub
pod*, with the hub's hook creating each user's directories there, as the hub's uid on the
storage. Each pod start goes through podsim's kubelet (the fsGroup step on the whole volume,
subPaths) on the storage under test, so whatever a real start would do to the exchange happens
here too, every time.

Simplifications: the ConfigMaps are not volumes here (the role's nbgrader_config.py and the
rosters are put in the pod's home), and a user's home is a plain directory.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from nbgrader_k8s_exchange.demo import write_source_notebook
from podsim import Volume, run_in_pod
from podsim.chart import chart_values, hub_pod
from podsim.storage import Storage

from .z2jh import DEPLOY, KIND_VALUES, REPO, load_one, role_configs, values

JOB = DEPLOY / "k8s" / "provision-job.yaml"
CRONJOB = DEPLOY / "k8s" / "audit-cronjob.yaml"
KIND_ROSTERS = DEPLOY / "kind" / "rosters.yaml"

ANSWER = (
    "from nbgrader_k8s_exchange.demo import answer_notebook; "
    "answer_notebook(__import__('pathlib').Path('ps1/squares.ipynb'), {correct})"
)

# The instructor's grading, as formgrader runs it (nbgrader's NbGraderAPI, one process).
GRADE = textwrap.dedent(
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.apps.nbgraderapp import NbGraderApp

    app = NbGraderApp()
    app.load_config_file()
    api = NbGraderAPI(config=app.config)
    steps = {
        "collect": lambda: api.collect("ps1"),
        "autograde": lambda: api.autograde("ps1", "alice"),
        "generate_feedback": lambda: api.generate_feedback("ps1"),
        "release_feedback": lambda: api.release_feedback("ps1"),
    }
    for name, step in steps.items():
        result = step()
        assert result["success"], (name, result)
    print("graded:", *steps)
    """
)

# Run in the hub pod: the chart's config for notebook pods, the values' extraConfig, then for
# every user the manifest KubeSpawner builds after the hooks (tests/kube.py's spawn order).
HUB_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    sys.path.insert(0, os.getcwd())
    import kube  # first: it points KUBECONFIG at a dummy cluster
    from chart import spawner_config
    from z2jh import groups_of, hub_config

    vals = json.load(open("values.json"))
    c = spawner_config(vals)
    c.merge(hub_config(vals))
    os.makedirs("manifests", exist_ok=True)
    for user, groups in sorted(groups_of(c).items()):
        with open(f"manifests/{user}.json", "w") as f:
            json.dump(kube.pod_manifest(user, groups, config=c), f)
    print("hub started")
    """
)

# The hub pod's home: the modules HUB_SCRIPT imports (the hub image holds their real
# counterparts: the chart's z2jh module and jupyterhub_config.py, KubeSpawner).
HUB_MODULES = {
    "kube.py": REPO / "tests" / "kube.py",
    "z2jh.py": REPO / "tests" / "deploy" / "z2jh.py",
    "chart.py": REPO / "podsim" / "chart.py",
}


def chown_tree(path: Path, uid: int = 1000, gid: int = 100) -> None:
    for dirpath, _dirs, files in os.walk(path):
        os.chown(dirpath, uid, gid)
        for name in files:
            os.chown(os.path.join(dirpath, name), uid, gid)


def rosters() -> Dict[str, str]:
    """The demo course's rosters (the shipped ConfigMap is empty on purpose)."""
    return dict(load_one(KIND_ROSTERS)["data"])


def _pvc_only(spec: Mapping, container: Mapping) -> dict:
    """``container`` in a pod of ``spec``'s security context, with its PVC mounts only."""
    claims = {v["name"] for v in spec["volumes"] if "persistentVolumeClaim" in v}
    container = json.loads(json.dumps(container))
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] in claims]
    pod = {
        "containers": [container],
        "volumes": [v for v in spec["volumes"] if v["name"] in claims],
    }
    if spec.get("securityContext"):
        pod["securityContext"] = spec["securityContext"]
    return {"spec": pod}


class Cluster:
    """The exchange volume on ``storage``, and the pods of a deployment that uses it."""

    def __init__(
        self,
        base: Path,
        storage: Storage,
        vals: Optional[dict] = None,
        keeper_uid: Optional[int] = None,
    ):
        """``keeper_uid``: what an admin sets where docs/storage.md says to (the Jobs'
        ``KEEPER_UID`` and ``custom.nbgrader.keeperUid``); None keeps the shipped keeper."""
        self.base = base
        self.keeper_uid = keeper_uid
        self.volume = Volume(base / "pvc", storage)
        self.volume.path.mkdir()
        user_values = vals if vals is not None else values()
        kind = load_one(KIND_VALUES)
        # The chart renders its defaults, then the base values, then the overlay (helm order).
        self.values = chart_values(user_values, {"custom": kind["custom"]})
        nb = self.values["custom"]["nbgrader"]
        if keeper_uid is not None:
            assert "keeperUid" in nb, "the values no longer name the keeper"
            nb["keeperUid"] = keeper_uid
        self.claim = nb["claimName"]
        self.starts = 0
        self.manifests: Dict[str, dict] = {}
        self.log: List[str] = []

    # --- pods -----------------------------------------------------------------------------

    def home(self, name: str) -> Path:
        return self.base / "homes" / name

    def run(self, manifest: Mapping, name: str, argv: List[str], env=None, check=True):
        """Start a pod of ``manifest`` with ``name``'s home; its command's output."""
        self.starts += 1
        t0 = time.monotonic()
        proc = run_in_pod(manifest, {self.claim: self.volume}, argv, home=self.home(name), env=env)
        took = time.monotonic() - t0
        self.log.append(f"{took:5.1f}s {name}$ {' '.join(argv)[:70]} -> {proc.returncode}")
        if check and proc.returncode != 0:
            raise AssertionError(f"{name}$ {' '.join(argv)} -> {proc.returncode}\n{proc.stdout}")
        return proc

    def _roster_home(self, name: str) -> dict:
        (self.home(name) / "rosters").mkdir(parents=True, exist_ok=True)
        for key, text in rosters().items():
            (self.home(name) / "rosters" / key).write_text(text)
        return {"ROSTER_DIR": "/home/jovyan/rosters"}

    def _keeper_env(self, container: Mapping) -> Dict[str, str]:
        """The admin's ``KEEPER_UID`` over the container's, when the test sets one."""
        if self.keeper_uid is None:
            return {}
        names = {e["name"] for e in container.get("env") or []}
        assert "KEEPER_UID" in names, f"{container['name']} no longer takes KEEPER_UID"
        return {"KEEPER_UID": str(self.keeper_uid)}

    def job_init(self, check=True):
        """The provisioning Job's root init container (root, no fsGroup)."""
        spec = load_one(JOB)["spec"]["template"]["spec"]
        [init] = spec["initContainers"]
        env = {e["name"]: e["value"] for e in init.get("env") or []}
        env.update(self._keeper_env(init))
        return self.run(_pvc_only(spec, init), "job", init["command"], env=env, check=check)

    def job(self, check=True):
        """The provisioning Job's main container: repair, provision and audit each course."""
        spec = load_one(JOB)["spec"]["template"]["spec"]
        [main] = spec["containers"]
        env = {**self._roster_home("job"), **self._keeper_env(main)}
        return self.run(_pvc_only(spec, main), "job", main["command"], env, check=check)

    def audit(self, check=True):
        """The nightly audit CronJob's container."""
        spec = load_one(CRONJOB)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        [audit] = spec["containers"]
        env = {**self._roster_home("cron"), **self._keeper_env(audit)}
        return self.run(_pvc_only(spec, audit), "cron", audit["command"], env, check=check)

    def start_hub(self, build=True):
        """Start the hub pod. With ``build`` it builds (and its hook provisions for) every
        user's pod, as its first spawn of each would; a restart alone is a pod start."""
        home = self.home("hub")
        if not build:
            self.run(hub_pod(self.values), "hub", ["true"])
            return
        home.mkdir(parents=True, exist_ok=True)
        for name, source in HUB_MODULES.items():
            shutil.copy(source, home / name)
        (home / "values.json").write_text(json.dumps(self.values))
        chown_tree(home)
        out = self.run(hub_pod(self.values), "hub", [sys.executable, "-c", HUB_SCRIPT]).stdout
        assert "hub started" in out, out
        configs = role_configs()
        for path in sorted((home / "manifests").iterdir()):
            user = path.stem
            manifest = json.loads(path.read_text())
            container = manifest["spec"]["containers"][0]
            [config] = [m for m in container["volumeMounts"] if m["name"] == "nbgrader-config"]
            self.home(user).mkdir(parents=True, exist_ok=True)
            (self.home(user) / "nbgrader_config.py").write_text(configs[config["subPath"]])
            chown_tree(self.home(user))
            self.manifests[user] = _pvc_only(manifest["spec"], container)

    def user(self, user: str, *argv: str, check=True):
        return self.run(self.manifests[user], user, list(argv), check=check)

    def nbgrader(self, user: str, *args: str) -> str:
        return self.user(user, sys.executable, "-m", "nbgrader", *args).stdout

    # --- the course -----------------------------------------------------------------------

    def lifecycle(self, course_dir: Path) -> None:
        """release -> fetch -> submit -> collect -> autograde -> feedback -> fetch feedback,
        the hub restarted between phases. ``course_dir`` is the instructor's course after
        ``generate_assignment`` (local to their home: made once, see :func:`generated`)."""
        prof = self.home("prof")
        shutil.copytree(course_dir, prof / "course101")
        chown_tree(prof)
        self.nbgrader("prof", "release_assignment", "ps1")
        self.start_hub(build=False)
        self.nbgrader("alice", "fetch_assignment", "ps1", "--course", "course101")
        self.user("alice", sys.executable, "-c", ANSWER.format(correct=True))
        self.nbgrader("alice", "submit", "ps1", "--course", "course101")
        self.start_hub(build=False)
        out = self.user("prof", sys.executable, "-c", GRADE).stdout
        assert "graded: collect autograde generate_feedback release_feedback" in out, out
        self.start_hub(build=False)
        self.nbgrader("alice", "fetch_feedback", "ps1", "--course", "course101")
        assert list((self.home("alice") / "ps1" / "feedback").rglob("squares.html"))


def generated(base: Path) -> Path:
    """An instructor's course101 after ``nbgrader generate_assignment ps1`` (source, release,
    gradebook), made with the instructor's config; it touches no exchange."""
    course = base / "course101"
    write_source_notebook(course / "source" / "ps1" / "squares.ipynb")
    (base / "nbgrader_config.py").write_text(role_configs()["instructor_nbgrader_config.py"])
    env = {
        **os.environ,
        "NBGRADER_COURSE_ID": "course101",
        "HOME": str(base),
        "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}",  # alembic
    }
    subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", "ps1"],
        cwd=base,
        env=env,
        check=True,
        capture_output=True,
    )
    return course
