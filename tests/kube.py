"""Real KubeSpawner pod manifests without a cluster.

KubeSpawner loads a kube config when constructed but never calls the API server to build a
manifest, so a config naming an unreachable server is enough. :func:`pod_manifest` goes through
a spawn in JupyterHub's and KubeSpawner's order: ``pre_spawn_hook``, then (in ``start``)
``load_user_options`` (``profileList`` overrides), ``get_pod_manifest``, ``modify_pod_hook``.
kubernetes_asyncio reads ``KUBECONFIG`` when imported, so it is set before the imports below.
"""

import asyncio
import os
import tempfile
from types import SimpleNamespace

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: none
  cluster: {server: "https://127.0.0.1:9"}
contexts:
- name: none
  context: {cluster: none, user: none}
current-context: none
users:
- name: none
  user: {token: unused}
"""
with tempfile.NamedTemporaryFile("w", prefix="kubeconfig-", delete=False) as _f:
    _f.write(KUBECONFIG)
os.environ["KUBECONFIG"] = _f.name

from jupyterhub.utils import maybe_future  # noqa: E402
from kubernetes_asyncio.client import ApiClient  # noqa: E402
from kubespawner import KubeSpawner  # noqa: E402


class FakeUser:
    """What KubeSpawner and our hook read from a JupyterHub user."""

    def __init__(self, name, groups, user_id=7):
        self.name = name
        self.id = user_id
        self.url = f"/user/{name}/"
        self.groups = [SimpleNamespace(name=g) for g in groups]


def pod_manifest(user, groups, hook=None, user_options=None, server_name="", **spawner_kwargs):
    """The pod (as a plain dict) KubeSpawner creates for ``user`` in ``groups``.

    ``hook`` replaces the spawner's ``pre_spawn_hook``; ``user_options`` are what the user chose
    on the spawn form (e.g. ``{"profile": "gpu"}``); ``server_name`` names a named server
    (JupyterHub's Spawner reads ``name`` from its database row); the rest are KubeSpawner's
    arguments (``config=`` a hub config).
    """

    async def build():
        # KubeSpawner creates its API client on the running loop, so construct it in one.
        if server_name:
            spawner_kwargs["orm_spawner"] = SimpleNamespace(name=server_name, server=None)
        spawner = KubeSpawner(_mock=True, user=FakeUser(user, groups), **spawner_kwargs)
        if hook is not None:
            spawner.pre_spawn_hook = hook
        spawner.user_options = dict(user_options or {})
        await maybe_future(spawner.run_pre_spawn_hook())
        await spawner.load_user_options()
        pod = await spawner.get_pod_manifest()
        if spawner.modify_pod_hook:
            pod = await maybe_future(spawner.modify_pod_hook(spawner, pod))
        async with ApiClient() as api:
            return api.sanitize_for_serialization(pod)

    return asyncio.run(build())
