"""Fixtures for tests that run users' commands in simulated pods (see podsim/)."""

import os
import sys
from pathlib import Path

import pytest

from nbgrader_k8s_exchange.demo import PLUGIN_CONFIG, write_source_notebook
from nbgrader_k8s_exchange.kubespawner import make_pre_spawn_hook
from podsim import namespaces_available, run_in_pod

from ..kube import pod_manifest

_WHY_NOT = namespaces_available()
if _WHY_NOT and os.environ.get("CI"):
    raise RuntimeError(f"CI must run the pod tests, but: {_WHY_NOT}")


class Cluster:
    """A stand-in cluster: one exchange volume (a local dir) and a home per user.

    Users are defined by their JupyterHub groups; each command runs in the pod that the real
    KubeSpawner (with our hook) builds for that user.
    """

    def __init__(self, base: Path):
        self.base = base
        self.volume = base / "pvc"
        self.volume.mkdir()
        self.hook = make_pre_spawn_hook(exchange_path=str(self.volume))
        self.groups = {}
        self.manifests = {}

    def add_user(self, name, groups, config=""):
        self.manifests[name] = pod_manifest(name, groups, hook=self.hook)
        self.groups[name] = groups
        home = self.home(name)
        home.mkdir(parents=True, exist_ok=True)
        (home / "nbgrader_config.py").write_text(
            "c = get_config()  # noqa\n"
            + PLUGIN_CONFIG
            + "c.Exchange.root = '/mnt/exchange'\n"
            + "c.CourseDirectory.course_id = 'course101'\n"
            + config
        )
        _chown_tree(home)
        return self.manifests[name]

    def home(self, name):
        return self.base / "homes" / name

    def run(self, name, *argv, check=True):
        proc = run_in_pod(
            self.manifests[name],
            {"nbgrader-exchange": self.volume},
            list(argv),
            home=self.home(name),
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"{name}$ {' '.join(argv)} -> {proc.returncode}\n{proc.stdout}")
        return proc

    def nbgrader(self, name, *args, check=True):
        return self.run(name, sys.executable, "-m", "nbgrader", *args, check=check)

    def sh(self, name, script, check=False):
        return self.run(name, "/bin/sh", "-c", script, check=check)


def _chown_tree(path: Path, uid=1000, gid=100):
    for dirpath, _dirs, filenames in os.walk(path):
        os.chown(dirpath, uid, gid)
        for f in filenames:
            os.chown(os.path.join(dirpath, f), uid, gid)


@pytest.fixture
def cluster(tmp_path):
    if _WHY_NOT:
        pytest.skip(f"SKIPPED LOUDLY: cannot simulate pods here: {_WHY_NOT}")
    return Cluster(tmp_path)


def write_course_source(cluster, instructor, assignment="ps1"):
    """The instructor's course dir in their home, with one source notebook."""
    course_dir = cluster.home(instructor) / "course101"
    write_source_notebook(course_dir / "source" / assignment / "squares.ipynb")
    (course_dir / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa\nc.CourseDirectory.root = '/home/jovyan/course101'\n"
    )
    _chown_tree(cluster.home(instructor))
    return course_dir
