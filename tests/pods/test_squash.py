"""podsim's NFS squashing: who kubelet and a container are on a squashing export.

``root_squash`` (the NFS server's default) makes root nobody (65534) on the volume, so kubelet
cannot create a missing subPath in a directory owned by 1000 and the pod never starts;
``all_squash,anonuid=1000,anongid=100`` makes everyone 1000:100, so files are always 1000:100
and chown to anything else is refused.
"""

import os

import pytest

from podsim import (
    CSI_NFS_ROOT_SQUASH,
    HOST_PATH,
    NFS_ALL_SQUASH,
    NFS_ROOT_SQUASH,
    PodError,
    Volume,
    run_in_pod,
)
from podsim.storage import acting_as, current_fs_ids

from .simple import CLAIM, manifest, need_pods, owners_modes, provisioned_tree

MISSING = [("/mnt/exchange/c/inbound/zed", "c/inbound/zed", False)]
ROOT = {"runAsUser": 0, "runAsGroup": 0}


def _run(tmp_path, storage, argv, pod_ctx=None, container_ctx=None, mounts=MISSING):
    return run_in_pod(
        manifest(pod_ctx, container_ctx, mounts=mounts),
        {CLAIM: Volume(tmp_path / "pvc", storage)},
        list(argv),
        home=tmp_path / "home",
    )


def test_root_squash_kubelet_cannot_create_a_missing_subpath(tmp_path):
    need_pods()
    root = provisioned_tree(tmp_path / "pvc")
    with pytest.raises(PodError, match="CreateContainerConfigError: failed to create subPath"):
        _run(tmp_path, NFS_ROOT_SQUASH, ["true"])
    assert not (root / "c/inbound/zed").exists()

    # Without squashing kubelet (root) creates it, root-owned: the case the hook prevents.
    assert _run(tmp_path, HOST_PATH, ["true"]).returncode == 0
    assert owners_modes(root)["c/inbound/zed"][:2] == (0, 0)


def test_root_squash_makes_a_root_container_nobody_on_the_volume(tmp_path):
    need_pods()
    root = provisioned_tree(tmp_path / "pvc")
    mounts = [("/mnt/exchange", "", False)]
    proc = _run(
        tmp_path,
        NFS_ROOT_SQUASH,
        ["sh", "-c", "id -u; touch /mnt/exchange/c/x; chown 1000:100 /mnt/exchange/c"],
        container_ctx=ROOT,
        mounts=mounts,
    )
    assert proc.returncode != 0
    assert proc.stdout.splitlines()[0] == "65534"
    assert "Permission denied" in proc.stdout
    assert "Operation not permitted" in proc.stdout
    assert not (root / "c/x").exists()


def test_root_squash_defeats_kubelets_fs_group_walk_but_the_pod_starts(tmp_path):
    need_pods()
    root = provisioned_tree(tmp_path / "pvc")
    before = owners_modes(root)
    proc = _run(
        tmp_path,
        CSI_NFS_ROOT_SQUASH,
        ["true"],
        pod_ctx={"fsGroup": 1000},
        mounts=[("/mnt/exchange/c/inbound/alice", "c/inbound/alice", False)],
    )
    assert proc.returncode == 0, proc.stdout
    assert owners_modes(root) == before  # nobody may chown or chmod 1000's files


def test_all_squash_everyone_is_1000_100_and_chown_is_refused(tmp_path):
    need_pods()
    root = provisioned_tree(tmp_path / "pvc")
    proc = _run(
        tmp_path,
        NFS_ALL_SQUASH,
        [
            "sh",
            "-c",
            "cd /mnt/exchange/c/inbound/zed && touch f && id -u && chown 0:0 f",
        ],
        container_ctx=ROOT,
    )
    assert proc.returncode != 0
    assert proc.stdout.splitlines()[0] == "1000"
    assert "Operation not permitted" in proc.stdout
    seen = owners_modes(root)
    # kubelet (root, squashed to 1000:100) created the missing subPath: 1000:100, root's mode.
    assert seen["c/inbound/zed"] == (1000, 100, 0o755)
    assert seen["c/inbound/zed/f"][:2] == (1000, 100)


def test_acting_as_changes_this_threads_filesystem_ids_only_inside(tmp_path):
    need_pods()
    assert current_fs_ids() == (0, 0)
    with acting_as(65534, 65534):
        assert current_fs_ids() == (65534, 65534)
        with pytest.raises(PermissionError):
            (tmp_path / "x").mkdir()  # tmp_path is root's, 0755
    assert current_fs_ids() == (0, 0)
    (tmp_path / "x").mkdir()
    assert os.stat(tmp_path / "x").st_uid == 0
