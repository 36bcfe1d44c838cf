"""Run a command the way kubelet would run it in a pod built from a Kubernetes pod manifest.

No cluster here, so a "pod" is: a new mount namespace whose root is a fresh tmpfs holding the
OS (``/usr``, ``/etc``... read-only), the Python interpreter and venv (read-only: on this
machine they live under ``/root``, which uid 1000 cannot traverse), a home directory, and
*exactly* the manifest's ``volumeMounts``: each one a bind of ``{volume dir}/{subPath}``,
read-only when ``readOnly``. Nothing else of the volume is visible. The command runs as the
manifest's ``runAsUser``/``runAsGroup`` (default 1000:100, jovyan), via ``chroot --userspec``.

Kubelet's subPath behaviour is reproduced where it matters for us: a missing subPath is created
by root (root-owned, 0755), and a subPath that passes through a symlink is refused.

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
from typing import Dict, List, Mapping, Optional, Sequence

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


def _claims_of(manifest: Mapping) -> Dict[str, str]:
    claims = {}
    for volume in manifest["spec"].get("volumes") or []:
        pvc = volume.get("persistentVolumeClaim")
        if pvc:
            claims[volume["name"]] = pvc["claimName"]
    return claims


def _ids_of(manifest: Mapping) -> (int, int):
    ctx = dict(manifest["spec"].get("securityContext") or {})
    ctx.update(manifest["spec"]["containers"][0].get("securityContext") or {})
    # Unset means the image's user: jovyan, 1000:100. 0 (root) is a real value, not unset.
    uid, gid = ctx.get("runAsUser"), ctx.get("runAsGroup")
    return int(1000 if uid is None else uid), int(100 if gid is None else gid)


def _kubelet_subpath(volume_dir: Path, sub_path: str) -> Path:
    """Resolve a subPath as kubelet does: never through a symlink; create it if missing."""
    current = volume_dir
    for part in [p for p in sub_path.split("/") if p]:
        if part in (".", ".."):
            raise PodError(f"subPath {sub_path!r} must not contain '.' or '..'")
        current = current / part
        if current.is_symlink():
            raise PodError(f"subPath {sub_path!r} passes through a symlink: {current}")
        if not current.exists():
            current.mkdir(mode=0o755)  # kubelet creates missing subPaths as root
            os.chown(current, 0, 0)
    return current


class PodError(RuntimeError):
    """The pod could not be set up (as kubelet would report CreateContainerConfigError)."""


def pod_script(
    manifest: Mapping,
    volume_dirs: Mapping[str, Path],
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
    uid, gid = _ids_of(manifest)
    claims = _claims_of(manifest)
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
    for mount in _mounts_of(manifest):
        claim = claims.get(mount["name"])
        if claim is None or claim not in volume_dirs:
            raise PodError(f"volumeMount {mount['name']!r} has no backing volume here")
        source = _kubelet_subpath(Path(volume_dirs[claim]), mount.get("subPath") or "")
        bind(str(source), mount["mountPath"], bool(mount.get("readOnly")))

    env_args = " ".join(q(f"{k}={v}") for k, v in env.items())
    command = " ".join(q(a) for a in argv)
    run = (
        f"chroot --userspec={uid}:{gid} --groups={gid} {q(str(root))} "
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
    volume_dirs: Mapping[str, Path],
    argv: Sequence[str],
    *,
    home: Path,
    env: Optional[Mapping[str, str]] = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run ``argv`` in the pod ``manifest`` describes; stdout and stderr together."""
    uid, gid = _ids_of(manifest)
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, uid, gid)
    with tempfile.TemporaryDirectory(prefix="pod-") as stage:
        (Path(stage) / "root").mkdir()
        script = pod_script(manifest, volume_dirs, argv, home, pod_env(manifest, env), Path(stage))
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
    volume_dirs: Mapping[str, Path],
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
    uid, gid = _ids_of(manifest)
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, uid, gid)
    stage = tempfile.TemporaryDirectory(prefix="pod-")
    (Path(stage.name) / "root").mkdir()
    script = pod_script(
        manifest, volume_dirs, argv, home, pod_env(manifest, env), Path(stage.name), supervise=True
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
