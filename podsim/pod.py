"""Run a command the way kubelet would run it in a pod built from a Kubernetes pod manifest.

No cluster here, so a "pod" is: a new mount namespace whose root is a fresh tmpfs holding the
OS (``/usr``, ``/etc``... read-only), the Python interpreter and venv (read-only: on this
machine they live under ``/root``, which uid 1000 cannot traverse), a home directory, and
*exactly* the manifest's ``volumeMounts``: each one a bind of ``{volume dir}/{subPath}``,
read-only when ``readOnly``. Nothing else of the volume is visible. The command runs as the
manifest's ``runAsUser``/``runAsGroup`` (default 1000:100, jovyan), via ``chroot --userspec``.

Before the command starts, kubelet's work on the volumes is done as kubelet does it
(:mod:`podsim.kubelet`): the pod's fsGroup applied to each volume whose storage manages
ownership, each subPath created when missing, with the volume root's mode, by root or whom
the export squashes root to (:mod:`podsim.storage`), then resolved following symlinks and
refused only outside the volume, as kubelet resolves it. The
container's groups are its ``runAsGroup`` plus the pod's ``fsGroup`` and
``supplementalGroups``, as kubelet gives them. ``volumes`` maps a claimName to a
:class:`podsim.storage.Volume` (or a bare directory: storage that does no ownership management
and no squashing).

:func:`run_in_pod` runs one command to completion. :func:`start_pod` starts a long-running one
(the local hub's single-user servers) in its own PID namespace as well, so that stopping the
pod ends every process in it, kernels included, as deleting a pod does.
"""

import importlib.util
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .kubelet import PodError, apply_fs_group, subpath_source
from .storage import Volume, VolumeLike, as_volume

# The OS a container image would bring; each bound read-only when present on this machine.
_OS_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/opt")


def namespaces_available() -> Optional[str]:
    """None when pods can be simulated here, else why not (for a loud skip)."""
    if os.geteuid() != 0:
        return "pod simulation needs root (mount namespaces, chroot, setuid)"
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare --mount failed: {probe.stderr.strip()}"
    return None


def python_paths() -> List[str]:
    """What the pod needs to run this venv's Python and our package: the base interpreter,
    the venv, and the package's source dir (an editable install points there)."""
    spec = importlib.util.find_spec("nbgrader_k8s_exchange")
    paths = {os.path.realpath(sys.base_prefix), sys.prefix}
    package_parent = Path(spec.origin).resolve().parent.parent
    paths.add(str(package_parent))
    return sorted(paths)


def _mounts_of(manifest: Mapping) -> List[dict]:
    container = manifest["spec"]["containers"][0]
    return list(container.get("volumeMounts") or [])


def _claims_of(manifest: Mapping) -> Dict[str, dict]:
    """Pod volume name -> its persistentVolumeClaim source."""
    claims = {}
    for volume in manifest["spec"].get("volumes") or []:
        pvc = volume.get("persistentVolumeClaim")
        if pvc:
            claims[volume["name"]] = pvc
    return claims


def _pod_context(manifest: Mapping) -> dict:
    return dict(manifest["spec"].get("securityContext") or {})


def _ids_of(manifest: Mapping) -> Tuple[int, int, Tuple[int, ...]]:
    """The container's uid, gid and supplementary groups, as kubelet would run it."""
    pod_ctx = _pod_context(manifest)
    ctx = dict(pod_ctx)
    ctx.update(manifest["spec"]["containers"][0].get("securityContext") or {})
    # Unset means the image's user: jovyan, 1000:100. 0 (root) is a real value, not unset.
    uid, gid = ctx.get("runAsUser"), ctx.get("runAsGroup")
    uid, gid = int(1000 if uid is None else uid), int(100 if gid is None else gid)
    # kubelet adds the pod's fsGroup and supplementalGroups to every container's groups.
    groups = [gid]
    if pod_ctx.get("fsGroup") is not None:
        groups.append(int(pod_ctx["fsGroup"]))
    groups += [int(g) for g in pod_ctx.get("supplementalGroups") or []]
    return uid, gid, tuple(dict.fromkeys(groups))


def set_up_volumes(
    manifest: Mapping, volumes: Mapping[str, VolumeLike]
) -> List[Tuple[dict, Path, Volume]]:
    """kubelet's work before the container starts: each volume's fsGroup step, then each
    volumeMount's subPath. Returns (mount, source directory, volume) per exchange mount."""
    pod_ctx = _pod_context(manifest)
    claims = _claims_of(manifest)
    backed = {
        name: as_volume(volumes[pvc["claimName"]])
        for name, pvc in claims.items()
        if pvc["claimName"] in volumes
    }
    for name, volume in backed.items():
        apply_fs_group(
            volume,
            pod_ctx.get("fsGroup"),
            pod_ctx.get("fsGroupChangePolicy"),
            bool(claims[name].get("readOnly")),
        )
    container = manifest["spec"]["containers"][0].get("name", "notebook")
    out = []
    for mount in _mounts_of(manifest):
        volume = backed.get(mount["name"])
        if volume is None:
            raise PodError(f"volumeMount {mount['name']!r} has no backing volume here")
        source = subpath_source(volume, mount.get("subPath") or "", mount["name"], container)
        out.append((mount, source, volume))
    return out


def container_identity(
    manifest: Mapping, mounted: Sequence[Tuple[dict, Path, Volume]]
) -> Tuple[int, int, Tuple[int, ...]]:
    """Who the container's processes are: the manifest's ids, as a squashing export maps them
    (for the whole container: see podsim.storage on this limit)."""
    uid, gid, groups = _ids_of(manifest)
    for _mount, _source, volume in mounted:
        if volume.storage.squashes:
            return volume.storage.container_identity(uid, gid, groups)
    return uid, gid, groups


def pod_script(
    mounted: Sequence[Tuple[dict, Path, Volume]],
    identity: Tuple[int, int, Tuple[int, ...]],
    argv: Sequence[str],
    home: Path,
    env: Mapping[str, str],
    stage: Path,
    *,
    supervise: bool = False,
) -> str:
    """The shell script run (as root) inside the new mount namespace.

    With ``supervise`` the script stays as the pod's PID 1 (root, so the kernel keeps its
    parent-death signal) and forwards SIGTERM/SIGINT to the command; else it execs the command.
    """
    uid, gid, groups = identity
    root = stage / "root"
    q = shlex.quote
    lines = [
        "set -eu",
        f"mount -t tmpfs -o mode=0755 pod-root {q(str(root))}",
    ]

    def bind(src: str, dest: str, read_only: bool) -> None:
        target = f"{root}{dest}"
        kind = "-d" if os.path.isdir(src) else "-f"
        lines.append(
            f"[ {kind} {q(target)} ] || {{ mkdir -p {q(os.path.dirname(target))}; "
            + ("mkdir " if kind == "-d" else "touch ")
            + f"{q(target)}; }}"
        )
        lines.append(f"mount --rbind {q(src)} {q(target)}")
        if read_only:
            lines.append(f"mount -o remount,bind,ro {q(target)}")

    # /tmp first: the venv may live under /tmp (a CI clone), and binds go on top of it.
    lines += [
        f"mkdir -p {q(f'{root}/proc')} {q(f'{root}/dev')} {q(f'{root}/tmp')}",
        f"mount -t proc proc {q(f'{root}/proc')}",
        f"mount --rbind /dev {q(f'{root}/dev')}",
        f"mount -t tmpfs -o mode=1777 pod-tmp {q(f'{root}/tmp')}",
    ]
    for path in _OS_DIRS:
        if os.path.islink(path):
            lines.append(f"ln -s {q(os.readlink(path))} {q(f'{root}{path}')}")
        elif os.path.isdir(path):
            bind(path, path, True)
    for path in python_paths():
        bind(path, path, True)
    bind(str(home), "/home/jovyan", False)
    for mount, source, _volume in mounted:
        bind(str(source), mount["mountPath"], bool(mount.get("readOnly")))

    env_args = " ".join(q(f"{k}={v}") for k, v in env.items())
    command = " ".join(q(a) for a in argv)
    run = (
        f"chroot --userspec={uid}:{gid} --groups={','.join(map(str, groups))} {q(str(root))} "
        f"/usr/bin/env -i {env_args} /bin/sh -c {q('cd /home/jovyan && exec ' + command)}"
    )
    if not supervise:
        lines.append(f"exec {run}")
    else:
        lines += [
            f"{run} </dev/null & child=$!",
            "trap 'kill -TERM $child 2>/dev/null' TERM INT HUP",
            "status=0",
            'while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
            'exit "$status"',
        ]
    return "\n".join(lines) + "\n"


def _prepare(manifest: Mapping, volumes: Mapping[str, VolumeLike], home: Path):
    """kubelet's volume work, then who the container is; the home (the user's own volume in
    a real pod) is given to that user."""
    mounted = set_up_volumes(manifest, volumes)
    identity = container_identity(manifest, mounted)
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, identity[0], identity[1])
    return mounted, identity


def pod_env(manifest: Mapping, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The container's env from the manifest (plain values), plus a usable PATH and HOME."""
    env = {}
    for item in manifest["spec"]["containers"][0].get("env") or []:
        if "value" in item and item["value"] is not None:
            env[item["name"]] = str(item["value"])
    env.update(
        PATH=f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin",
        HOME="/home/jovyan",
        USER="jovyan",
        LANG="C.UTF-8",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra or {})
    return env


def run_in_pod(
    manifest: Mapping,
    volumes: Mapping[str, VolumeLike],
    argv: Sequence[str],
    *,
    home: Path,
    env: Optional[Mapping[str, str]] = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run ``argv`` in the pod ``manifest`` describes; stdout and stderr together."""
    mounted, identity = _prepare(manifest, volumes, home)
    with tempfile.TemporaryDirectory(prefix="pod-") as stage:
        (Path(stage) / "root").mkdir()
        script = pod_script(mounted, identity, argv, home, pod_env(manifest, env), Path(stage))
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )


class Pod:
    """A running pod from :func:`start_pod`: ``poll()``, ``stop()``, ``pid``, ``returncode``."""

    def __init__(self, proc: subprocess.Popen, stage: tempfile.TemporaryDirectory):
        self._proc = proc
        self._stage = stage

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> Optional[int]:
        return self._proc.returncode

    def poll(self) -> Optional[int]:
        """None while the pod runs, else the command's exit status."""
        code = self._proc.poll()
        if code is not None:
            self._stage.cleanup()
        return code

    def stop(self, grace: float = 10) -> int:
        """SIGTERM to the command (via the pod's PID 1), then after ``grace`` seconds SIGKILL.

        Either way nothing of the pod survives: when ``unshare`` dies it kills the pod's PID 1,
        and the kernel then kills everything else in the PID namespace.
        """
        if self._proc.poll() is None:
            for child in _children(self._proc.pid):
                _signal(child, signal.SIGTERM)
            try:
                self._proc.wait(grace)
            except subprocess.TimeoutExpired:
                _signal(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        self._stage.cleanup()
        return self._proc.returncode


def _children(pid: int) -> List[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def start_pod(
    manifest: Mapping,
    volumes: Mapping[str, VolumeLike],
    argv: Sequence[str],
    *,
    home: Path,
    env: Optional[Mapping[str, str]] = None,
    log=None,
) -> Pod:
    """Start ``argv`` in the pod ``manifest`` describes and return at once.

    The pod gets its own PID namespace (``/proc`` shows only its processes) and its own
    session, so a Ctrl-C meant for whoever started it does not reach it; stop it with
    :meth:`Pod.stop`. If the thread that called this dies first (say the hub is killed), the
    kernel kills the pod. ``log`` is a file for the command's stdout and stderr.
    """
    mounted, identity = _prepare(manifest, volumes, home)
    stage = tempfile.TemporaryDirectory(prefix="pod-")
    (Path(stage.name) / "root").mkdir()
    script = pod_script(
        mounted, identity, argv, home, pod_env(manifest, env), Path(stage.name), supervise=True
    )
    proc = subprocess.Popen(
        ["setpriv", "--pdeathsig", "KILL"]
        + ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--propagation", "private"]
        + ["sh", "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=log if log is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Pod(proc, stage)
