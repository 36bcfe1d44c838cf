"""The deployment on each storage setup docs/storage.md documents, through a whole course.

For each setup: a fresh volume as that storage gives it, the provisioning Job (or, where
the docs say it fails, that failure and the documented fix: on a squashing export, the keeper
set to the uid root or everyone acts as), then the course from release to fetched feedback
with the hub pod restarted between phases, every command in its own notebook pod start, and
finally the nightly audit CronJob, which must find nothing at all. Every pod start runs
podsim's kubelet on that storage (fsGroup ownership on the whole volume per the pod's
fsGroupChangePolicy, subPath creation) and its squashing. Afterwards the course's skeleton
(docs/security.md, "The skeleton") belongs to that storage's keeper with the skeleton's modes,
and what pods wrote inside it to 1000:100 with 0755/0644.
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


NOBODY = 65534

# The skeleton's shapes (docs/security.md): sealed where the entries are subPaths, shared
# where pods write; a student's own directories for everyone the lifecycle touches.
SKELETON = {
    "": 0o2755,
    "outbound": 0o2775,
    "inbound": 0o2755,
    "feedback_public": 0o2755,
    ".nbk8s-removed": 0o2775,
    ".nbk8s-notary": 0o2775,
    "inbound/alice": 0o2775,
    "feedback_public/alice": 0o2775,
}


def _fresh_root(cluster, uid, gid):
    """The volume's root as the storage first gives it (mode 0755)."""
    os.chown(cluster.volume.path, uid, gid)
    os.chmod(cluster.volume.path, 0o755)


def _on_the_server(cluster, uid, gid, mode=0o2775):
    """What the admin does as real root on the NFS server (no squashing there)."""
    os.chown(cluster.volume.path, uid, gid)
    os.chmod(cluster.volume.path, mode)


def _clean(cluster, students=2):
    out = cluster.audit().stdout
    assert f"course101: {students} students checked: 0 high, 0 medium, 0 low" in out, out


def _owner_mode(path):
    st = path.lstat()
    return st.st_uid, st.st_gid, st.st_mode & 0o7777


def _assert_skeleton(cluster, keeper, students=("alice",)):
    """The course's skeleton is the keeper's, in its shapes; what pods wrote is 1000:100."""
    course = cluster.volume.path / "course101"
    want = dict(SKELETON)
    for s in students:
        want.update({f"inbound/{s}": 0o2775, f"feedback_public/{s}": 0o2775})
    for rel, mode in want.items():
        assert _owner_mode(course / rel) == (keeper, 100, mode), rel
    if (course / "outbound/ps1").exists():
        assert _owner_mode(course / "outbound/ps1") == (1000, 100, 0o755)
        for f in (course / "outbound/ps1").iterdir():
            assert _owner_mode(f) == (1000, 100, 0o644), f


@pytest.mark.parametrize(
    "storage", [HOST_PATH, CSI_NFS], ids=["hostPath", "csi-nfs-fsGroupPolicy-File"]
)
def test_course_on_storage_where_the_job_runs_as_shipped(tmp_path, storage, course_dir):
    c = Cluster(tmp_path, storage)
    _fresh_root(c, 0, 0)  # the provisioner makes the root as root
    c.job_init()
    assert _owner_mode(c.volume.path) == (0, 100, 0o2775)
    c.job()
    c.start_hub()
    c.lifecycle(course_dir)
    _clean(c)
    assert c.starts >= 12, c.log
    # kubelet never walked the volume (the root matched), so no skeleton directory was
    # unsealed; the keeper (root) owns it and the pods own what they wrote in it.
    _assert_skeleton(c, keeper=0, students=("alice", "bob"))


def test_course_on_all_squash_with_the_keeper_set_to_the_squashed_uid(tmp_path, course_dir):
    """all_squash,anonuid=1000: everyone, root included, is 1000:100 on the server, so no
    directory can have an owner other than the pods' uid. The shipped Job fails on its first
    chown (to the keeper, root); with the keeper set to 1000 as docs/storage.md says, the
    Job, the hub and the audit accept that and the course works. The skeleton cannot hold
    here: an instructor's pod can still rename a student's directory (docs/storage.md)."""
    c = Cluster(tmp_path, NFS_ALL_SQUASH)
    _fresh_root(c, 1000, 100)  # the provisioner itself is squashed
    failed = c.job_init(check=False)
    assert failed.returncode != 0
    assert "Operation not permitted" in failed.stdout

    (tmp_path / "fixed").mkdir()
    c = Cluster(tmp_path / "fixed", NFS_ALL_SQUASH, keeper_uid=1000)
    _fresh_root(c, 1000, 100)
    c.job_init()
    assert _owner_mode(c.volume.path) == (1000, 100, 0o2775)
    c.job()
    c.start_hub()
    c.lifecycle(course_dir)
    _clean(c)
    _assert_skeleton(c, keeper=1000, students=("alice", "bob"))
    # What the docs warn about: the instructor (uid 1000, rw on the course) owns the sealed
    # directories too, so the swap the skeleton prevents elsewhere works here.
    inbound = "/mnt/exchange/course101/inbound"
    c.user("prof", "mv", f"{inbound}/bob", f"{inbound}/x")  # fails the test if refused
    assert not (c.volume.path / "course101/inbound/bob").exists()


def test_course_on_root_squash_after_the_documented_fix(tmp_path, course_dir):
    """root_squash: root is nobody (65534) on the server. The shipped Job's first step cannot
    chown as nobody; the documented fix (docs/storage.md, troubleshooting.md) prepares the root
    on the server as 65534:100 02775 and makes the keeper that uid: the Job (root, so nobody)
    then creates the skeleton as its keeper, and the course works with a clean audit."""
    c = Cluster(tmp_path, NFS_ROOT_SQUASH)
    _fresh_root(c, 0, 0)
    # The Job's root step cannot chown as nobody (docs/troubleshooting.md, root squash) ...
    failed = c.job_init(check=False)
    assert failed.returncode != 0
    assert "Operation not permitted" in failed.stdout
    # ... so the admin gives the root to the export's anonymous uid on the NFS server, sets
    # KEEPER_UID / keeperUid to it, and runs the Job without its init container.
    (tmp_path / "fixed").mkdir()
    c = Cluster(tmp_path / "fixed", NFS_ROOT_SQUASH, keeper_uid=NOBODY)
    _on_the_server(c, NOBODY, 100)
    c.job()
    assert _owner_mode(c.volume.path) == (NOBODY, 100, 0o2775)
    c.start_hub()
    c.lifecycle(course_dir)
    _clean(c)
    _assert_skeleton(c, keeper=NOBODY, students=("alice", "bob"))


def test_csi_nfs_on_root_squash_the_walk_is_skipped_on_the_prepared_root_only(tmp_path):
    """csi-driver-nfs wants no_root_squash; on root_squash with the root prepared as
    documented (65534:100 02775, the keeper 65534) kubelet's fsGroup walk is skipped at every
    start, so the sealed directories stay sealed and audit is clean. The walk runs as nobody,
    who is now the keeper: a root that stops matching gets the skeleton walked and unsealed,
    which the nightly audit reports as high and the Job's repair puts back."""
    c = Cluster(tmp_path, CSI_NFS_ROOT_SQUASH, keeper_uid=NOBODY)
    _on_the_server(c, NOBODY, 100)
    c.job()
    c.start_hub()
    for _ in range(3):
        c.start_hub(build=False)
        c.user("alice", "true")
    _clean(c)
    _assert_skeleton(c, keeper=NOBODY, students=("alice", "bob"))

    os.chmod(c.volume.path, 0o755)  # e.g. an older release's root, or a hand-made one
    c.user("alice", "true")
    out = c.audit(check=False).stdout
    assert "writable_skeleton  inbound " in out, out
    _on_the_server(c, NOBODY, 100)
    c.job()
    _clean(c)
    _assert_skeleton(c, keeper=NOBODY, students=("alice", "bob"))


def test_root_squash_kubelet_creates_a_new_students_directories_as_the_keeper(tmp_path):
    """docs/storage.md: kubelet creates a missing subPath as root, so as nobody on a
    root_squash export; with nobody as the keeper it owns the sealed parents and creates a
    student's directories the hub never made (here: no hubExchangePath), in the skeleton's
    owner and shape, and the student can submit into them."""
    vals = copy.deepcopy(values())
    vals["custom"]["nbgrader"]["hubExchangePath"] = None  # the hub does not make directories
    c = Cluster(tmp_path, NFS_ROOT_SQUASH, vals, keeper_uid=NOBODY)
    _on_the_server(c, NOBODY, 100)
    c.job()  # the roster has alice and bob
    c.values["custom"]["nbgrader"]["courses"]["course101"]["students"].append("carol")
    c.start_hub()
    assert not (c.volume.path / "course101/inbound/carol").exists()
    c.user("carol", "touch", "/mnt/exchange/course101/inbound/carol/x")
    # kubelet gave them the keeper and group 100 (setgid parent) and fchmod-ed them to the
    # root's 02775, but the server drops setgid from a chmod by nobody, who is not in group
    # 100: 0775. Harmless (pods write as gid 100 anyway, and audit accepts it) ...
    for rel in ("inbound/carol", "feedback_public/carol"):
        assert _owner_mode(c.volume.path / "course101" / rel) == (NOBODY, 100, 0o775), rel
    # ... and the Job's next run (repair --apply, as nobody:100) restores the exact shape.
    c.job()
    _assert_skeleton(c, keeper=NOBODY, students=("alice", "bob", "carol"))


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
