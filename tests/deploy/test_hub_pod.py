"""The hub, as the values run it, can create course directories without privileges.

The hub's modify_pod_hook creates each user's directories on the exchange before their pod
starts. Here the values' hub.extraConfig runs inside a simulated hub pod (podsim) whose
security contexts are the chart's defaults merged with the values, as helm merges them
(:mod:`podsim.chart`): uid 1000, gid 100, fsGroup 100, and ``hub.extraVolumes``/
``extraVolumeMounts`` (the whole exchange volume at ``hubExchangePath``), on a volume whose
root the provisioning Job's init container made 1000:100. The people are the kind overlay's
demo course (the base values name nobody). With the chart's default gid and fsGroup (1000)
instead, the hook cannot give what it creates to gid 100, which is why the values set them.
"""

import copy
import os
import sys
import textwrap

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


def _run_hub(tmp_path, vals, users):
    volume = tmp_path / "pvc"
    volume.mkdir()
    os.chown(volume, 1000, 100)  # the provisioning Job's init container did this
    home = tmp_path / "home"
    home.mkdir()
    (home / "values.yaml").write_text(yaml.safe_dump(vals))
    proc = run_in_pod(
        hub_pod(chart_values(vals)),  # the chart's defaults under the values, as helm merges
        {"nbgrader-exchange": volume},
        [sys.executable, "-c", HUB_SCRIPT, *users],
        home=home,
    )
    return proc, volume


@pytest.fixture
def pods():
    if _WHY_NOT:
        pytest.skip(f"SKIPPED LOUDLY: cannot simulate pods here: {_WHY_NOT}")


def test_hub_as_configured_creates_each_users_tree(pods, tmp_path):
    vals = kind_values()
    proc, volume = _run_hub(tmp_path, vals, ["prof", "alice"])
    assert proc.returncode == 0, proc.stdout
    expected = [
        "course101",
        "course101/outbound",
        "course101/inbound",
        "course101/feedback_public",
        "course101/inbound/alice",
        "course101/feedback_public/alice",
    ]
    for rel in expected:
        st = (volume / rel).lstat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1000, 100, 0o755), rel
    assert sorted(p.name for p in (volume / "course101" / "inbound").iterdir()) == ["alice"]


def test_hub_with_the_charts_default_group_cannot(pods, tmp_path):
    # Without the values' runAsGroup and fsGroup the chart's apply: gid 1000, fsGroup 1000
    # (kubelet adds the fsGroup to the container's groups, so either alone would do).
    vals = copy.deepcopy(kind_values())
    del vals["hub"]["containerSecurityContext"]["runAsGroup"]
    del vals["hub"]["podSecurityContext"]
    proc, _volume = _run_hub(tmp_path, vals, ["alice"])
    assert proc.returncode != 0
    assert "chown 1000:100" in proc.stdout
