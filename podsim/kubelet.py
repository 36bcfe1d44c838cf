"""What kubelet does to a pod's volumes before its containers start.

Modelled on kubelet's own code (kubernetes ``pkg/volume/volume_linux.go``,
``pkg/volume/csi/csi_mounter.go``, ``pkg/kubelet/kubelet_pods.go`` and
``pkg/volume/util/subpath/subpath_linux.go``), in the order kubelet runs it:

1. **Ownership** (:func:`apply_fs_group`), once per pod start for every volume of the pod,
   on the *whole* volume, whatever subPaths the containers mount: when the pod has
   ``securityContext.fsGroup``, the volume is not read-only and its storage manages ownership
   (:meth:`podsim.storage.Storage.manages_ownership`). With ``fsGroupChangePolicy:
   OnRootMismatch`` the walk is skipped when the volume root already has gid == fsGroup, group
   rwx and the setgid bit; otherwise (``Always``, the default) every entry, the root last, gets
   its group set to fsGroup (symlinks too, never followed), then, symlinks excepted, its mode
   ORed with ``0660`` and, for directories, ``0110`` and setgid. A failed chown or chmod is
   logged and skipped, as kubelet does; a directory it cannot read fails the mount.
2. **SubPaths** (:func:`subpath_source`), per volumeMount: a missing one is created,
   component by component, with the volume root's mode (setgid included, umask bypassed) by
   kubelet, that is by root, or by whom the export squashes root to; if that fails the
   container is not created (``CreateContainerConfigError``). Then the subPath is resolved
   **following symlinks** (each relative to where it is, as the node's kernel resolves it) and
   refused only when the result is not inside the volume: kubelet's fix of CVE-2017-1002101
   keeps a pod inside its volume, not inside its subPath. Whoever can swap a directory on a
   subPath (rename it, put a link there) chooses what another pod mounts.

Both run as kubelet would be seen by the storage (:func:`podsim.storage.kubelet_identity`).
"""

import contextlib
import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional

from .storage import Volume, acting_as, as_node_root, kubelet_identity

# kubelet's masks (volume_linux.go): group and owner read-write; x on directories.
RW_MASK = 0o660
RO_MASK = 0o440
EXEC_MASK = 0o110


class PodError(RuntimeError):
    """The pod could not be set up (kubelet would report the reason and not start it)."""


@dataclass
class OwnershipChange:
    """What one pod start's fsGroup step did to a volume."""

    volume: Path
    fs_group: int
    skipped: bool = False
    changed: int = 0
    errors: List[str] = field(default_factory=list)


def root_needs_change(root: Path, fs_group: int, read_only: bool = False) -> bool:
    """kubelet's OnRootMismatch test: False only when the root already looks walked."""
    try:
        st = os.stat(root)
    except OSError:
        return True
    if st.st_gid != fs_group or not stat.S_ISDIR(st.st_mode):
        return True
    wanted = (RO_MASK if read_only else RW_MASK) | EXEC_MASK
    return (st.st_mode & wanted) != wanted or not st.st_mode & stat.S_ISGID


@contextlib.contextmanager
def kubelet_view(volume: Volume) -> Iterator[Path]:
    """The volume's root as kubelet sees it on its storage, for this thread.

    kubelet reaches the mount point through node directories as real root; only inside the
    volume does the storage see a (possibly squashed) identity. So the root is opened as root
    and used through ``/proc/self/fd`` while acting as kubelet's identity on the storage.
    """
    fd = os.open(volume.path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with acting_as(*kubelet_identity(volume.storage)):
            yield Path(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def apply_fs_group(
    volume: Volume,
    fs_group: Optional[int],
    policy: Optional[str],
    read_only: bool,
) -> Optional[OwnershipChange]:
    """Apply a pod's fsGroup to ``volume`` as kubelet would at pod start; None if it does not."""
    if fs_group is None or read_only:  # the CSI mounter skips read-only volumes
        return None
    if not volume.storage.manages_ownership(volume.access_modes):
        return None
    change = OwnershipChange(volume.path, int(fs_group))
    with kubelet_view(volume) as base:
        if policy == "OnRootMismatch" and not root_needs_change(base, change.fs_group):
            change.skipped = True
            return change
        _walk(base, base, os.stat(base), change)
    return change


def _walk(base: Path, path: Path, st: os.stat_result, change: OwnershipChange) -> None:
    """Children first, then ``path`` itself; links are never followed."""
    if stat.S_ISDIR(st.st_mode):
        try:
            names = os.listdir(path)
        except OSError as e:
            shown = change.volume / path.relative_to(base)
            raise PodError(
                f"MountVolume.SetUp failed: applying fsGroup {change.fs_group} to "
                f"{change.volume}: cannot read {shown}: {e.strerror}"
            ) from e
        for name in names:
            child = path / name
            _walk(base, child, os.lstat(child), change)
    _change_one(path, st, change, follow=path == base)


def _change_one(path: Path, st: os.stat_result, change: OwnershipChange, follow: bool) -> None:
    """One entry; ``follow`` only for the root, reached through its /proc/self/fd link."""
    before = (st.st_gid, stat.S_IMODE(st.st_mode))
    try:
        os.chown(path, st.st_uid, change.fs_group, follow_symlinks=follow)
    except OSError as e:
        change.errors.append(f"chown {path}: {e.strerror}")
    if stat.S_ISLNK(st.st_mode):
        return
    mask = RW_MASK
    if stat.S_ISDIR(st.st_mode):
        mask |= stat.S_ISGID | EXEC_MASK
    try:
        os.chmod(path, stat.S_IMODE(st.st_mode) | mask)
    except OSError as e:
        change.errors.append(f"chmod {path}: {e.strerror}")
    after = os.stat(path, follow_symlinks=follow)
    if (after.st_gid, stat.S_IMODE(after.st_mode)) != before:
        change.changed += 1


def subpath_source(volume: Volume, sub_path: str, mount_name: str, container: str) -> Path:
    """The directory a volumeMount binds: ``sub_path`` of ``volume``, created if missing.

    As kubelet does it (``makeMounts``, then ``doBindSubPath``): a missing subPath is created
    first (:func:`_safe_make_dir`); then the path is resolved *following* symlinks, each one
    relative to the directory it is in, as the node's kernel would (``filepath.EvalSymlinks``),
    and refused only when the result is not inside the volume. So a link that dangles in the
    pod that planted it (``../../B/inbound/x`` seen from a mount of ``A``) resolves on the node,
    inside the volume, and is mounted. The result is returned as a real path, without links:
    kubelet binds the directory it opened, not the path.
    """
    parts = [p for p in (sub_path or "").split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise PodError(f"subPath {sub_path!r} must not contain '.' or '..'")
    with kubelet_view(volume) as base:
        real_base = os.readlink(base)
        node = _NodeView(real_base, str(base))
        host_path = os.path.join(real_base, *parts)
        try:
            node.resolve(parts)  # kubelet's PathExists: a stat that follows links
            missing = False
        except FileNotFoundError:
            missing = True
        except OSError:  # kubelet logs it and goes on, to fail resolving below
            missing = False
        if missing:
            _safe_make_dir(node, parts, mount_name, container)
        try:
            resolved = node.resolve(parts)
        except OSError as e:
            raise PodError(f"error resolving symlinks in {host_path!r}: {e.strerror}") from e
        if not node.inside(resolved):
            raise PodError(f"subpath {resolved!r} not within volume path {real_base!r}")
        return Path(resolved)


class _NodeView:
    """Paths as the node sees them, looked up as kubelet's identity on the storage.

    ``real`` is the volume's path on the node; inside it every lookup goes through ``view``
    (the root opened as root, see :func:`kubelet_view`), since the acting identity may not
    traverse the directories above the volume. Paths outside it (a link may lead there) are
    looked up as real root, as kubelet looks them up on the node.
    """

    def __init__(self, real: str, view: str):
        self.real = real
        self._view = view

    def inside(self, path: str) -> bool:
        return path == self.real or path.startswith(self.real.rstrip("/") + "/")

    def view(self, path: str) -> str:
        """Where to look ``path`` up from here ("/." for the root: the view itself is a link)."""
        return self._view + (path[len(self.real) :] or "/.") if self.inside(path) else path

    def lstat(self, path: str) -> os.stat_result:
        if self.inside(path):
            return os.lstat(self.view(path))
        with as_node_root():
            return os.lstat(path)

    def readlink(self, path: str) -> str:
        if self.inside(path):
            return os.readlink(self.view(path))
        with as_node_root():
            return os.readlink(path)

    def resolve(self, parts: List[str]) -> str:
        """The real path of ``parts`` under the volume, links followed as the kernel follows
        them (relative to their directory; absolute ones from the node's root). A missing
        component raises FileNotFoundError, a loop ELOOP."""
        pending = list(parts)
        current = self.real
        links = 0
        while pending:
            part = pending.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                current = os.path.dirname(current)
                continue
            candidate = os.path.join(current, part)
            st = self.lstat(candidate)
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > 40:  # the kernel's MAXSYMLINKS
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), candidate)
                target = self.readlink(candidate)
                if target.startswith("/"):
                    current = "/"
                pending = target.split("/") + pending
            else:
                if pending and not stat.S_ISDIR(st.st_mode):
                    raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), candidate)
                current = candidate
        return current


def _safe_make_dir(node: _NodeView, parts: List[str], mount_name: str, container: str) -> None:
    """kubelet's ``SafeMakeDir``: the longest existing prefix of ``parts`` (links followed),
    which must resolve inside the volume, then each missing component created with the volume
    root's mode (setgid included, umask bypassed); a name that exists as a dangling link makes
    the mkdir fail, and the container is not created."""
    existing = len(parts)
    for i in range(len(parts)):
        try:
            node.resolve(parts[: i + 1])
        except FileNotFoundError:
            existing = i
            break
        except OSError:
            break
    perm = stat.S_IMODE(os.stat(node.view(node.real)).st_mode)
    current = node.real
    try:
        current = node.resolve(parts[:existing])
        if not node.inside(current):
            raise OSError(errno.EXDEV, "path is outside of allowed base", current)
        for part in parts[existing:]:
            current = os.path.join(current, part)
            os.mkdir(node.view(current), perm)
            os.chmod(node.view(current), perm)  # mkdir honoured the umask; kubelet fchmods
    except OSError as e:
        raise PodError(
            f"CreateContainerConfigError: failed to create subPath directory for "
            f"volumeMount {mount_name!r} of container {container!r} ({current}: {e.strerror})"
        ) from e
