"""Spawn each single-user server as a simulated pod, with the cluster's exchange mounts.

``PodSpawner`` keeps KubeSpawner's ``volumes`` / ``volume_mounts`` traits, so the very
``pre_spawn_hook`` a deployment gives KubeSpawner
(:func:`nbgrader_k8s_exchange.kubespawner.make_pre_spawn_hook`) fills them here. The server then
runs as uid 1000 in a new mount and PID namespace holding the OS, the venv, the user's home and
*only* those mounts of the local exchange directory (the stand-in for the cluster's RWX volume);
see ``podsim/``.
"""

import asyncio
from pathlib import Path

from jupyterhub.spawner import Spawner
from jupyterhub.utils import random_port
from traitlets import Integer, List, Unicode

from podsim import start_pod

# What the hub passes to a single-user server; the rest of the hub's environment stays out.
_ENV_PREFIXES = ("JUPYTERHUB_", "JPY_")


def _unescape(value):
    """KubeSpawner expands ``{username}``-style fields; our mounts only escape braces."""
    if isinstance(value, str):
        return value.replace("{{", "{").replace("}}", "}")
    if isinstance(value, dict):
        return {k: _unescape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unescape(v) for v in value]
    return value


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
        "nbgrader-exchange",
        config=True,
        help="The claimName whose volumes are backed by exchange_dir.",
    )
    volumes = List(config=True, help="Pod volumes, as KubeSpawner.volumes (list form).")
    volume_mounts = List(
        config=True, help="Container volumeMounts, as KubeSpawner.volume_mounts (list form)."
    )
    uid = Integer(1000, config=True, help="runAsUser of the pod.")
    gid = Integer(100, config=True, help="runAsGroup of the pod.")

    pod = None

    def home(self) -> Path:
        return Path(self.homes_dir) / self.user.name

    def manifest(self) -> dict:
        """The parts of a pod manifest the simulator reads, as KubeSpawner would build them."""
        return {
            "spec": {
                "securityContext": {"runAsUser": self.uid, "runAsGroup": self.gid},
                "volumes": _unescape(list(self.volumes)),
                "containers": [
                    {"name": "notebook", "volumeMounts": _unescape(list(self.volume_mounts))}
                ],
            }
        }

    async def start(self):
        if not self.port:
            self.port = random_port()
        env = {k: v for k, v in self.get_env().items() if k.startswith(_ENV_PREFIXES)}
        log_path = Path(self.homes_dir).parent / "logs" / f"{self.user.name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            # Started on the hub's own thread: the pod dies with it (see start_pod).
            self.pod = start_pod(
                self.manifest(),
                {self.claim_name: Path(self.exchange_dir)},
                list(self.cmd) + self.get_args(),
                home=self.home(),
                env=env,
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
