"""Spawn each single-user server as a simulated pod, with the cluster's exchange mounts.

``PodSpawner`` builds its pod the way KubeSpawner does (``kubespawner.objects.make_pod``: uid,
gid, fsGroup, env, ``volumes``/``volume_mounts``) and then runs the same ``modify_pod_hook``
a deployment gives KubeSpawner (:func:`nbgrader_k8s_exchange.kubespawner.configure`), so the
exchange mounts come from the very code the cluster runs. The server then runs as uid 1000 in
a new mount and PID namespace holding the OS, the venv, the user's home and *only* that pod's
mounts of the local exchange directory (the stand-in for the cluster's RWX volume); see
``podsim/``.
"""

import asyncio
from pathlib import Path

from jupyterhub.spawner import Spawner
from jupyterhub.utils import maybe_future, random_port
from kubernetes_asyncio.client import ApiClient
from kubespawner.objects import make_pod
from traitlets import Callable, Integer, List, Unicode

from nbgrader_k8s_exchange import _core
from podsim import start_pod

# What the hub passes to a single-user server; the rest of the hub's environment stays out.
_ENV_PREFIXES = ("JUPYTERHUB_", "JPY_")


class PodSpawner(Spawner):
    """A single-user server in a simulated pod on this machine."""

    exchange_dir = Unicode(
        config=True,
        help="Local directory standing in for the exchange volume (its PVC's contents).",
    )
    homes_dir = Unicode(
        config=True,
        help="Directory holding one home per user, mounted at /home/jovyan in their pod.",
    )
    claim_name = Unicode(
        _core.DEFAULT_CLAIM_NAME,
        config=True,
        help="The claimName whose volumes are backed by exchange_dir.",
    )
    volumes = List(config=True, help="Pod volumes, as KubeSpawner.volumes (list form).")
    volume_mounts = List(
        config=True, help="Container volumeMounts, as KubeSpawner.volume_mounts (list form)."
    )
    uid = Integer(1000, config=True, help="runAsUser of the pod.")
    gid = Integer(100, config=True, help="runAsGroup of the pod.")
    fs_gid = Integer(100, config=True, help="fsGroup of the pod, as KubeSpawner.fs_gid.")
    image = Unicode("local", config=True, help="The pod's image (informational here).")
    modify_pod_hook = Callable(
        None,
        allow_none=True,
        config=True,
        help="As KubeSpawner.modify_pod_hook: (spawner, pod) -> pod, run on the built pod.",
    )

    pod = None

    def home(self) -> Path:
        return Path(self.homes_dir) / self.user.name

    async def manifest(self, env: dict) -> dict:
        """The pod KubeSpawner would create, after the modify_pod_hook, as a plain dict."""
        pod = make_pod(
            name=f"jupyter-{self.user.name}",
            cmd=list(self.cmd) + self.get_args(),
            port=self.port,
            image=self.image,
            uid=self.uid,
            gid=self.gid,
            fs_gid=self.fs_gid,
            env=env,
            volumes=list(self.volumes),
            volume_mounts=list(self.volume_mounts),
        )
        if self.modify_pod_hook:
            pod = await maybe_future(self.modify_pod_hook(self, pod))
        async with ApiClient() as api:
            return api.sanitize_for_serialization(pod)

    async def start(self):
        if not self.port:
            self.port = random_port()
        env = {k: v for k, v in self.get_env().items() if k.startswith(_ENV_PREFIXES)}
        manifest = await self.manifest(env)
        log_path = Path(self.homes_dir).parent / "logs" / f"{self.user.name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            # Started on the hub's own thread: the pod dies with it (see start_pod).
            self.pod = start_pod(
                manifest,
                {self.claim_name: Path(self.exchange_dir)},
                list(self.cmd) + self.get_args(),
                home=self.home(),
                log=log,
            )
        self.log.info("pod for %s started (pid %s), log %s", self.user.name, self.pod.pid, log_path)
        return (self.ip or "127.0.0.1", self.port)

    async def poll(self):
        if self.pod is None:
            return 0
        return self.pod.poll()

    async def stop(self, now=False):
        if self.pod is None:
            return
        pod, self.pod = self.pod, None
        await asyncio.get_running_loop().run_in_executor(None, pod.stop, 0 if now else 10)
        self.log.info("pod for %s stopped", self.user.name)
