"""podsim's kubelet: a pod's fsGroup applied to its volumes at each start, as kubelet does.

The storage decides whether kubelet manages ownership at all (csi-driver-nfs with
``fsGroupPolicy: File`` does; in-tree NFS and hostPath do not); the pod's
``fsGroupChangePolicy`` decides whether a start walks the whole volume (``Always``) or only
when the root does not match (``OnRootMismatch``).
"""

import os

from podsim import CSI_NFS, HOST_PATH, Volume, run_in_pod

from .simple import CLAIM, manifest, need_pods, owners_modes, provisioned_tree

STUDENT_MOUNTS = [("/mnt/exchange/c/inbound/alice", "c/inbound/alice", False)]


def _start(tmp_path, storage, pod_ctx, mounts=STUDENT_MOUNTS, argv=("true",), **kw):
    volume = Volume(tmp_path / "pvc", storage)
    proc = run_in_pod(
        manifest(pod_ctx, mounts=mounts, **kw),
        {CLAIM: volume},
        list(argv),
        home=tmp_path / "home",
    )
    assert proc.returncode == 0, proc.stdout
    return proc


def test_always_walks_the_whole_volume_not_only_the_subpath(tmp_path):
    need_pods()
    root = provisioned_tree(tmp_path / "pvc")
    os.symlink("/etc/hostname", root / "c/inbound/alice/link")
    target_before = os.stat("/etc/hostname")
    _start(tmp_path, CSI_NFS, {"fsGroup": 1000})  # the chart's hub default

    seen = owners_modes(root)
    for rel, (_uid, gid, mode) in seen.items():
        assert gid == 1000, rel  # chgrp everywhere, the student's subPath or not
        if rel == "c/inbound/alice/link":
            continue
        is_dir = (root / rel).is_dir()
        assert mode == (0o2775 if is_dir else 0o664), (rel, oct(mode))
    # The link was chowned itself (lchown), never followed.
    target_after = os.stat("/etc/hostname")
    assert (target_after.st_gid, target_after.st_mode) == (
        target_before.st_gid,
        target_before.st_mode,
    )


def test_on_root_mismatch_walks_once_then_skips(tmp_path):
    need_pods()
    root = provisioned_tree(tmp_path / "pvc")
    ctx = {"fsGroup": 100, "fsGroupChangePolicy": "OnRootMismatch"}

    # Root 0755: group rwx and setgid missing, so the first start walks (and fixes the root).
    _start(tmp_path, CSI_NFS, ctx)
    assert owners_modes(root)["."] == (1000, 100, 0o2775)
    assert owners_modes(root)["c/outbound/ps1/nb.ipynb"] == (1000, 100, 0o664)

    # Now the root matches: later starts leave everything as it is.
    (root / "c/outbound/ps1/new.ipynb").write_text("{}")
    os.chmod(root / "c/outbound/ps1/new.ipynb", 0o644)
    os.chmod(root / "c/outbound/ps1", 0o755)
    before = owners_modes(root)
    for _ in range(3):
        _start(tmp_path, CSI_NFS, ctx)
    assert owners_modes(root) == before


def test_on_root_mismatch_walks_again_for_another_fs_group(tmp_path):
    need_pods()
    root = provisioned_tree(tmp_path / "pvc")
    os.chmod(root, 0o2775)  # matches fsGroup 100, not 1000
    _start(tmp_path, CSI_NFS, {"fsGroup": 1000, "fsGroupChangePolicy": "OnRootMismatch"})
    assert {gid for _uid, gid, _mode in owners_modes(root).values()} == {1000}


def test_storage_without_ownership_management_is_left_alone(tmp_path):
    need_pods()
    root = provisioned_tree(tmp_path / "pvc")
    before = owners_modes(root)
    _start(tmp_path, HOST_PATH, {"fsGroup": 1000})
    assert owners_modes(root) == before


def test_a_read_only_claim_is_left_alone(tmp_path):
    need_pods()
    root = provisioned_tree(tmp_path / "pvc")
    before = owners_modes(root)
    ro = [("/mnt/exchange", "", True)]
    _start(tmp_path, CSI_NFS, {"fsGroup": 1000}, mounts=ro, read_only_claim=True)
    assert owners_modes(root) == before


def test_the_container_gets_the_fs_group_as_a_supplementary_group(tmp_path):
    need_pods()
    provisioned_tree(tmp_path / "pvc")
    proc = _start(
        tmp_path,
        HOST_PATH,
        {"runAsUser": 1000, "runAsGroup": 100, "fsGroup": 1000, "supplementalGroups": [4242]},
        argv=("sh", "-c", "echo groups: $(id -G)"),
    )
    [line] = [x for x in proc.stdout.splitlines() if x.startswith("groups:")]
    assert sorted(line.split()[1:]) == ["100", "1000", "4242"]


def test_a_missing_subpath_gets_the_volume_roots_mode_and_kubelets_owner(tmp_path):
    need_pods()
    root = provisioned_tree(tmp_path / "pvc")
    os.chmod(root, 0o2775)
    mounts = [("/mnt/exchange/c/inbound/zed", "c/inbound/zed", False)]
    _start(tmp_path, HOST_PATH, {}, mounts=mounts)
    # Created by root (kubelet) with the root's mode; its group inherited from a setgid parent
    # only: c/inbound is not setgid, so root's group.
    assert owners_modes(root)["c/inbound/zed"] == (0, 0, 0o2775)
