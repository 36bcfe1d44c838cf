"""The hub, as the values run it, creates what it may on the exchange without privileges.

The hub's modify_pod_hook creates or checks each user's directories on the exchange before
their pod starts. Here the values' hub.extraConfig runs inside a simulated hub pod (podsim)
whose security contexts are the chart's defaults merged with the values, as helm merges them
(:mod:`podsim.chart`): uid 1000, gid 100, fsGroup 100, and ``hub.extraVolumes``/
``extraVolumeMounts`` (the whole exchange volume at ``hubExchangePath``), on a volume whose
root the provisioning Job's init container made keeper:100 02775. The people are the kind
overlay's demo course (the base values name nobody). The hub runs as the pods' uid, so what it
creates cannot be the keeper's (docs/security.md, "The skeleton"): it says so, and the Job's
``repair --apply`` hands it over. Once the Job has made a course, the hub creates nothing in
its sealed directories: a new student's are left to kubelet. With the chart's default gid and
fsGroup (1000) instead, the hub cannot create a course at the group-100 root at all, which is
why the values set them.
"""

import copy
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from podsim import namespaces_available, run_in_pod
from podsim.chart import chart_values, hub_pod

from .z2jh import kind_values

_WHY_NOT = namespaces_available()
if _WHY_NOT and os.environ.get("CI"):
    raise RuntimeError(f"CI must run the pod tests, but: {_WHY_NOT}")

# In the hub pod: the chart's z2jh.get_config over the values, the extraConfig snippets run as
# the chart runs them, then the configured modify_pod_hook for each user as KubeSpawner would.
HUB_SCRIPT = textwrap.dedent(
    """
    import asyncio, logging, sys, types
    import yaml
    from kubespawner.objects import make_pod
    from traitlets.config import Config

    vals = yaml.safe_load(open("values.yaml"))

    def get_config(key, default=None):
        value = vals
        for level in key.split("."):
            if not isinstance(value, dict) or level not in value:
                return default
            value = value[level]
        return value

    sys.modules["z2jh"] = types.SimpleNamespace(get_config=get_config)
    c = Config()
    for _key, snippet in sorted(get_config("hub.extraConfig").items()):
        exec(snippet, {"c": c})

    class User:
        def __init__(self, name, groups):
            self.name = name
            self.groups = [types.SimpleNamespace(name=g) for g in groups]

    async def spawn(name):
        groups = [g for g, spec in c.JupyterHub.load_groups.items() if name in spec["users"]]
        spawner = types.SimpleNamespace(user=User(name, groups), log=logging.getLogger("hub"))
        pod = make_pod(name=f"jupyter-{name}", cmd=["true"], port=8888, image="student")
        await c.KubeSpawner.modify_pod_hook(spawner, pod)

    for name in sys.argv[1:]:
        asyncio.run(spawn(name))
    print("spawned", *sys.argv[1:])
    """
)


BIN = Path(sys.prefix) / "bin"


def _volume(tmp_path):
    volume = tmp_path / "pvc"
    volume.mkdir()
    os.chown(volume, 0, 100)  # the provisioning Job's init container did this (keeper 0)
    os.chmod(volume, 0o2775)
    return volume


def _run_hub(tmp_path, vals, users, volume=None):
    volume = volume or _volume(tmp_path)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "values.yaml").write_text(yaml.safe_dump(vals))
    proc = run_in_pod(
        hub_pod(chart_values(vals)),  # the chart's defaults under the values, as helm merges
        {"nbgrader-exchange": volume},
        [sys.executable, "-c", HUB_SCRIPT, *users],
        home=home,
    )
    return proc, volume


def _job(volume, *args, students="alice\nbob\n"):
    """``nbgrader-k8s`` as the provision Job runs it: root, the keeper."""
    return subprocess.run(
        [str(BIN / "nbgrader-k8s"), "--root", str(volume), *args],
        input=students,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _owner_mode(path):
    st = path.lstat()
    return st.st_uid, st.st_gid, st.st_mode & 0o7777


# What the hub creates for prof (the course) and alice (her own): the skeleton's shapes.
SHAPES = {
    "course101": 0o2755,
    "course101/outbound": 0o2775,
    "course101/inbound": 0o2755,
    "course101/feedback_public": 0o2755,
    "course101/inbound/alice": 0o2775,
    "course101/feedback_public/alice": 0o2775,
}


@pytest.fixture
def pods():
    if _WHY_NOT:
        pytest.skip(f"SKIPPED LOUDLY: cannot simulate pods here: {_WHY_NOT}")


def test_hub_as_configured_creates_each_users_tree(pods, tmp_path):
    """A course nobody provisioned yet: the hub creates it in the skeleton's shapes and group,
    owned by itself (it may not chown), warns that `repair --apply` must run, and the Job's
    repair then gives it to the keeper with a clean audit."""
    vals = kind_values()
    proc, volume = _run_hub(tmp_path, vals, ["prof", "alice"])
    assert proc.returncode == 0, proc.stdout
    for rel, mode in SHAPES.items():
        assert _owner_mode(volume / rel) == (1000, 100, mode), rel
    assert sorted(p.name for p in (volume / "course101" / "inbound").iterdir()) == ["alice"]
    assert "cannot give the course's directories to the keeper (uid 0)" in proc.stdout
    assert "nbgrader-k8s repair --apply" in proc.stdout

    # Until the Job runs, the nightly audit says the skeleton is not the keeper's ...
    audit = _job(volume, "audit", "course101", "--students", "-", students="alice\n")
    assert audit.returncode == 3 and "wrong_owner" in audit.stdout, audit.stdout
    # ... and the Job's repair hands it over.
    repaired = _job(volume, "repair", "--apply")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    for rel, mode in SHAPES.items():
        assert _owner_mode(volume / rel) == (0, 100, mode), rel
    audit = _job(volume, "audit", "course101", "--students", "-", students="alice\n")
    assert audit.returncode == 0, audit.stdout


def test_hub_after_the_job_creates_nothing_and_leaves_new_students_to_kubelet(pods, tmp_path):
    """The Job made course101 for its roster (alice, bob): the hub finds it as it should be,
    and for carol, whom the Job never saw, it may not create in the sealed inbound/ and
    feedback_public/ and leaves that to kubelet at her pod's start. No warning: nothing to
    repair."""
    volume = _volume(tmp_path)
    provisioned = _job(volume, "provision", "course101", "--students", "-")
    assert provisioned.returncode == 0, provisioned.stdout + provisioned.stderr
    before = {p: _owner_mode(p) for p in volume.rglob("*")}
    vals = copy.deepcopy(kind_values())
    vals["custom"]["nbgrader"]["courses"]["course101"]["students"].append("carol")
    proc, _ = _run_hub(tmp_path, vals, ["prof", "alice", "carol"], volume)
    assert proc.returncode == 0, proc.stdout
    assert "spawned prof alice carol" in proc.stdout
    assert "repair" not in proc.stdout, proc.stdout
    assert {p: _owner_mode(p) for p in volume.rglob("*")} == before


def test_hub_with_the_charts_default_group_cannot(pods, tmp_path):
    # Without the values' runAsGroup and fsGroup the chart's apply: gid 1000, fsGroup 1000
    # (kubelet adds the fsGroup to the container's groups, so either alone would do). The
    # root is keeper:100 02775: a hub outside group 100 cannot create a course there.
    vals = copy.deepcopy(kind_values())
    del vals["hub"]["containerSecurityContext"]["runAsGroup"]
    del vals["hub"]["podSecurityContext"]
    proc, volume = _run_hub(tmp_path, vals, ["alice"])
    assert proc.returncode != 0
    assert "Permission denied" in proc.stdout and "course101" in proc.stdout, proc.stdout
    assert list(volume.iterdir()) == []
