"""The deployment on each storage setup docs/storage.md documents, through a whole course.

For each setup: a fresh volume as that storage gives it, the provisioning Job (or, where
the docs say it fails, that failure and the documented fix), then the course from release to
fetched feedback with the hub pod restarted between phases, every command in its own notebook
pod start, and finally the nightly audit CronJob, which must find nothing at all. Every pod
start runs podsim's kubelet on that storage (fsGroup ownership on the whole volume per the
pod's fsGroupChangePolicy, subPath creation) and its squashing.
"""

import copy
import os
import shutil

import pytest

from podsim import (
    CSI_NFS,
    CSI_NFS_ROOT_SQUASH,
    HOST_PATH,
    NFS_ALL_SQUASH,
    NFS_ROOT_SQUASH,
    PodError,
    namespaces_available,
)

from .cluster import Cluster, chown_tree, generated
from .z2jh import values

_WHY_NOT = namespaces_available()
if _WHY_NOT and os.environ.get("CI"):
    raise RuntimeError(f"CI must run the pod tests, but: {_WHY_NOT}")


@pytest.fixture(autouse=True)
def _pods():
    if _WHY_NOT:
        pytest.skip(f"SKIPPED LOUDLY: cannot simulate pods here: {_WHY_NOT}")


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    if _WHY_NOT:
        pytest.skip(f"SKIPPED LOUDLY: cannot simulate pods here: {_WHY_NOT}")
    return generated(tmp_path_factory.mktemp("prof"))


def _fresh_root(cluster, uid, gid):
    """The volume's root as the storage first gives it (mode 0755)."""
    os.chown(cluster.volume.path, uid, gid)
    os.chmod(cluster.volume.path, 0o755)


def _clean(cluster):
    out = cluster.audit().stdout
    assert "course101: 2 students checked: 0 high, 0 medium, 0 low" in out, out


def _owner_mode(path):
    st = path.lstat()
    return st.st_uid, st.st_gid, st.st_mode & 0o7777


@pytest.mark.parametrize(
    "storage",
    [HOST_PATH, CSI_NFS, NFS_ALL_SQUASH],
    ids=["hostPath", "csi-nfs-fsGroupPolicy-File", "nfs-all_squash-1000-100"],
)
def test_course_on_storage_where_the_job_runs_as_shipped(tmp_path, storage, course_dir):
    c = Cluster(tmp_path, storage)
    # Most provisioners make the root as root; under all_squash the provisioner itself is
    # squashed, so the root is 1000:100 from the start.
    _fresh_root(c, *((1000, 100) if storage is NFS_ALL_SQUASH else (0, 0)))
    c.job_init()
    assert _owner_mode(c.volume.path) == (1000, 100, 0o2775)
    c.job()
    c.start_hub()
    c.lifecycle(course_dir)
    _clean(c)
    assert c.starts >= 12, c.log
    # Nothing below the root carries kubelet's bits: the tree is as provisioned and written.
    course = c.volume.path / "course101"
    for rel in ("", "outbound", "outbound/ps1", "inbound/alice", "feedback_public/alice"):
        assert _owner_mode(course / rel) == (1000, 100, 0o755), rel


def test_course_on_root_squash_after_the_documented_fix(tmp_path, course_dir):
    c = Cluster(tmp_path, NFS_ROOT_SQUASH)
    _fresh_root(c, 0, 0)
    # The Job's root step cannot chown as nobody (docs/troubleshooting.md, root squash) ...
    failed = c.job_init(check=False)
    assert failed.returncode != 0
    assert "Operation not permitted" in failed.stdout
    # ... so the admin gives the root its owner and mode on the NFS server and the Job runs
    # without it (docs/storage.md, "Without the Job").
    os.chown(c.volume.path, 1000, 100)
    os.chmod(c.volume.path, 0o2775)
    c.job()
    c.start_hub()
    c.lifecycle(course_dir)
    _clean(c)


def test_csi_nfs_on_root_squash_kubelet_cannot_walk_and_nothing_needs_it(tmp_path):
    """csi-driver-nfs wants no_root_squash; on root_squash its fsGroup walk (as nobody) can
    change nothing, and with the root prepared as documented the pods start and audit is clean."""
    c = Cluster(tmp_path, CSI_NFS_ROOT_SQUASH)
    os.chown(c.volume.path, 1000, 100)
    os.chmod(c.volume.path, 0o755)  # not even matching: the walk is attempted, and refused
    c.job()
    c.start_hub()
    for _ in range(3):
        c.start_hub(build=False)
        c.user("alice", "true")
    _clean(c)


def test_root_squash_a_pod_whose_directories_nobody_made_does_not_start(tmp_path):
    """docs/storage.md: kubelet's mkdir of a missing subPath fails as nobody, so every
    directory a pod mounts must exist first; here a student the hub never provisioned for."""
    vals = copy.deepcopy(values())
    vals["custom"]["nbgrader"]["hubExchangePath"] = None  # the hub does not make directories
    c = Cluster(tmp_path, NFS_ROOT_SQUASH, vals)
    os.chown(c.volume.path, 1000, 100)
    os.chmod(c.volume.path, 0o2775)
    c.job()  # the roster has alice and bob
    c.values["custom"]["nbgrader"]["courses"]["course101"]["students"].append("carol")
    c.start_hub()
    with pytest.raises(PodError, match="CreateContainerConfigError: failed to create subPath"):
        c.user("carol", "true")
    c.user("alice", "true")  # provisioned by the Job: starts


def test_the_charts_default_fs_groups_would_rewrite_the_exchange(tmp_path, course_dir):
    """Without the values' fsGroup settings the chart's default applies: the hub's fsGroup
    1000 (policy Always) regroups the whole exchange at every hub start, and the notebook
    pods' fsGroup 100 regroups it back; the nightly audit reports it. The shipped values
    prevent exactly this."""
    vals = copy.deepcopy(values())
    del vals["hub"]["podSecurityContext"]
    c = Cluster(tmp_path, CSI_NFS, vals)
    _fresh_root(c, 0, 0)
    c.job_init()
    c.job()
    c.start_hub()
    shutil.copytree(course_dir, c.home("prof") / "course101")
    chown_tree(c.home("prof"))
    c.nbgrader("prof", "release_assignment", "ps1")
    c.start_hub(build=False)
    assert c.volume.path.stat().st_gid == 1000
    assert (c.volume.path / "course101/outbound/ps1").stat().st_gid == 1000
    out = c.audit(check=False).stdout
    assert "wrong_owner" in out and "outbound/ps1" in out, out
