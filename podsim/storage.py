"""What the storage behind a volume does to ownership: kubelet's fsGroup support and NFS squashing.

A :class:`Volume` is a local directory standing in for a PersistentVolume, plus the
:class:`Storage` it lives on. Two properties of real storage touch the exchange:

- ``fs_group_policy``: whether kubelet manages ownership of the volume for a pod with
  ``securityContext.fsGroup`` (see :mod:`podsim.kubelet`). It is the CSI driver's
  ``CSIDriver.spec.fsGroupPolicy``: ``File`` (csi-driver-nfs since its chart 4.0.0,
  ``feature.enableFSGroupPolicy``) means always; ``ReadWriteOnceWithFSType`` only for a
  ReadWriteOnce volume with an fsType, so never for the exchange's ReadWriteMany one; ``None``
  never. The in-tree ``nfs`` volume plugin (what nfs-subdir-external-provisioner's volumes
  use) and ``hostPath`` never manage ownership either: write those as ``None``.
- ``squash``: the NFS export's identity mapping (exports(5)). ``no_root_squash``: everyone is
  who they are. ``root_squash`` (the NFS server's default): uid 0 and gid 0 act as
  ``anonuid``/``anongid`` (65534, nobody/nogroup, unless set). ``all_squash``: every uid and gid
  acts as ``anonuid``/``anongid``.

Simulation limits, honestly: squashing is applied to *processes*, not to the wire. Kubelet's own
work on a volume (the fsGroup walk, creating a missing subPath) runs on a thread whose filesystem
uid/gid are set to the squashed identity (``setfsuid``/``setfsgid``, which also drop root's
file capabilities), so the kernel refuses exactly what an NFS server would; its supplementary
groups stay root's ([0]), which matters only for files whose group is 0. A container on a
squashed volume runs *entirely* as its squashed identity (:meth:`Storage.container_identity`),
including on its own root filesystem, where a real one would still be root: fine for the
commands we run (they touch the exchange and their home), wrong for a container that needs root
elsewhere. There is no attribute caching, no lock semantics and no latency (``latencyfs`` does
latency for the benchmark).
"""

import contextlib
import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence, Tuple, Union

NOBODY = 65534

FS_GROUP_POLICIES = ("File", "ReadWriteOnceWithFSType", "None")
SQUASHES = ("no_root_squash", "root_squash", "all_squash")


@dataclass(frozen=True)
class Storage:
    """A storage setup: the driver's fsGroup policy and the export's squashing."""

    name: str
    fs_group_policy: str = "None"
    squash: str = "no_root_squash"
    anonuid: int = NOBODY
    anongid: int = NOBODY

    def __post_init__(self):
        if self.fs_group_policy not in FS_GROUP_POLICIES:
            raise ValueError(f"fs_group_policy must be one of {FS_GROUP_POLICIES}")
        if self.squash not in SQUASHES:
            raise ValueError(f"squash must be one of {SQUASHES}")

    def manages_ownership(self, access_modes: Sequence[str] = ("ReadWriteMany",)) -> bool:
        """Whether kubelet applies a pod's fsGroup to this volume (csi_mounter's rule)."""
        if self.fs_group_policy == "File":
            return True
        if self.fs_group_policy == "ReadWriteOnceWithFSType":
            return "ReadWriteOnce" in access_modes  # and an fsType, which NFS volumes lack
        return False

    def acts_as(self, uid: int, gid: int) -> Tuple[int, int]:
        """Who a process of ``uid``:``gid`` is on this storage."""
        if self.squash == "all_squash":
            return self.anonuid, self.anongid
        if self.squash == "root_squash":
            return (self.anonuid if uid == 0 else uid), (self.anongid if gid == 0 else gid)
        return uid, gid

    def container_identity(
        self, uid: int, gid: int, groups: Sequence[int]
    ) -> Tuple[int, int, Tuple[int, ...]]:
        """A container's uid, gid and supplementary groups as this storage sees them."""
        new_uid, new_gid = self.acts_as(uid, gid)
        if not self.squashes:
            return uid, gid, tuple(groups)
        if self.squash == "all_squash":
            return new_uid, new_gid, (new_gid,)
        # root_squash maps group 0 wherever it appears, supplementary groups included.
        mapped = (self.anongid if g == 0 else g for g in groups)
        return new_uid, new_gid, tuple(dict.fromkeys(mapped))

    @property
    def squashes(self) -> bool:
        return self.squash != "no_root_squash"


# The setups the tests run; docs/storage.md says which real storage each stands for.
HOST_PATH = Storage("hostPath / in-tree nfs, no_root_squash")
CSI_NFS = Storage("csi-driver-nfs (fsGroupPolicy File), no_root_squash", fs_group_policy="File")
NFS_ROOT_SQUASH = Storage("in-tree nfs, root_squash", squash="root_squash")
CSI_NFS_ROOT_SQUASH = Storage(
    "csi-driver-nfs (fsGroupPolicy File), root_squash", fs_group_policy="File", squash="root_squash"
)
NFS_ALL_SQUASH = Storage(
    "in-tree nfs, all_squash,anonuid=1000,anongid=100",
    squash="all_squash",
    anonuid=1000,
    anongid=100,
)


@dataclass(frozen=True)
class Volume:
    """A PersistentVolume here: its contents (a local directory) and its storage."""

    path: Path
    storage: Storage = HOST_PATH
    access_modes: Tuple[str, ...] = ("ReadWriteMany",)


VolumeLike = Union[Volume, Path, str]


def as_volume(value: VolumeLike) -> Volume:
    """A :class:`Volume`; a bare path is a hostPath-like volume (no ownership management)."""
    if isinstance(value, Volume):
        return value
    return Volume(Path(value))


_libc = ctypes.CDLL(None, use_errno=True)
_acting = threading.local()


@contextlib.contextmanager
def acting_as(uid: int, gid: int) -> Iterator[None]:
    """Run the body's filesystem calls, on this thread only, as ``uid``:``gid``.

    Linux keeps a filesystem uid/gid per thread; setting a non-zero one also clears root's
    filesystem capabilities (CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER...) for this thread, so the
    kernel checks permissions as it would for that user. Only root may do this.
    """
    if (uid, gid) == (0, 0) or getattr(_acting, "on", False):
        yield
        return
    _libc.setfsgid(gid)
    _libc.setfsuid(uid)
    _acting.on = True
    try:
        yield
    finally:
        _libc.setfsuid(0)
        _libc.setfsgid(0)
        _acting.on = False


@contextlib.contextmanager
def as_node_root() -> Iterator[None]:
    """Inside :func:`acting_as`, run the body's filesystem calls as real root again: kubelet's
    lookups on the node itself, outside any volume, which no export squashes."""
    ids = current_fs_ids() if getattr(_acting, "on", False) else None
    if ids is None or ids == (0, 0):
        yield
        return
    _libc.setfsuid(0)
    _libc.setfsgid(0)
    try:
        yield
    finally:
        _libc.setfsgid(ids[1])
        _libc.setfsuid(ids[0])


def kubelet_identity(storage: Storage) -> Tuple[int, int]:
    """Kubelet runs as root; this is who it is on ``storage``."""
    return storage.acts_as(0, 0)


def current_fs_ids() -> Optional[Tuple[int, int]]:
    """This thread's filesystem uid and gid (for tests of :func:`acting_as`)."""
    try:
        status = Path(f"/proc/self/task/{threading.get_native_id()}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["Uid"].split()[3]), int(fields["Gid"].split()[3])


__all__ = [
    "CSI_NFS",
    "CSI_NFS_ROOT_SQUASH",
    "HOST_PATH",
    "NFS_ALL_SQUASH",
    "NFS_ROOT_SQUASH",
    "Storage",
    "Volume",
    "VolumeLike",
    "acting_as",
    "as_volume",
    "current_fs_ids",
    "kubelet_identity",
]
