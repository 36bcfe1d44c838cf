"""Real KubeSpawner pod manifests without a cluster.

KubeSpawner loads a kube config when constructed but never calls the API server to build a
manifest, so a config naming an unreachable server is enough. kubernetes_asyncio reads
``KUBECONFIG`` when imported, so it is set before the imports below.
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

from kubernetes_asyncio.client import ApiClient  # noqa: E402
from kubespawner import KubeSpawner  # noqa: E402

from nbgrader_k8s_exchange.kubespawner import make_pre_spawn_hook  # noqa: E402


class FakeUser:
    """What KubeSpawner and our hook read from a JupyterHub user."""

    def __init__(self, name, groups, user_id=7):
        self.name = name
        self.id = user_id
        self.url = f"/user/{name}/"
        self.groups = [SimpleNamespace(name=g) for g in groups]


def pod_manifest(user, groups, hook=None, **spawner_kwargs):
    """The pod (as a plain dict) KubeSpawner creates for ``user`` after our hook ran."""

    async def build():
        # KubeSpawner creates its API client on the running loop, so construct it in one.
        spawner = KubeSpawner(_mock=True, user=FakeUser(user, groups), **spawner_kwargs)
        await (hook or make_pre_spawn_hook())(spawner)
        pod = await spawner.get_pod_manifest()
        return ApiClient().sanitize_for_serialization(pod)

    return asyncio.run(build())
