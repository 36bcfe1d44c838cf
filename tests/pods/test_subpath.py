"""podsim resolves a subPath as kubelet does (``makeMounts``, ``SafeMakeDir``,
``doBindSubPath`` in kubernetes): links on the path are followed, each relative to the
directory it is in, and only a result outside the volume is refused; a missing subPath is
created; a name that is a dangling link cannot be created over."""

import os

import pytest

from podsim import HOST_PATH, NFS_ROOT_SQUASH, PodError, Volume, subpath_source

from .simple import need_pods, provisioned_tree


def _volume(tmp_path, storage=HOST_PATH):
    need_pods()  # acting as kubelet's identity on the storage needs root
    return Volume(provisioned_tree(tmp_path / "pvc"), storage)


def _source(volume, sub_path):
    return subpath_source(volume, sub_path, "ex", "notebook")


@pytest.mark.parametrize("storage", [HOST_PATH, NFS_ROOT_SQUASH], ids=["host", "root_squash"])
def test_links_on_a_subpath_are_followed_inside_the_volume(tmp_path, storage):
    volume = _volume(tmp_path, storage)
    root = volume.path
    (root / "d/inbound/victim").mkdir(parents=True)
    # Last component: a relative link, resolved from where it is (c/inbound).
    os.rename(root / "c/inbound/alice", root / "c/inbound/.aside")
    os.symlink("../../d/inbound/victim", root / "c/inbound/alice")
    assert _source(volume, "c/inbound/alice") == (root / "d/inbound/victim").resolve()
    # A component in the middle, and an absolute link that lands back in the volume.
    os.symlink("c", root / "c2")
    assert _source(volume, "c2/outbound") == (root / "c/outbound").resolve()
    os.symlink(str(root.resolve() / "c"), root / "c3")
    assert _source(volume, "c3/outbound") == (root / "c/outbound").resolve()


@pytest.mark.parametrize("target", ["/etc", "../../../outside", "../../.."])
def test_a_link_out_of_the_volume_is_refused(tmp_path, target):
    volume = _volume(tmp_path)
    (tmp_path / "outside").mkdir()
    link = volume.path / "c/inbound/alice"
    os.rename(link, volume.path / "c/inbound/.aside")
    os.symlink(target, link)
    with pytest.raises(PodError, match="subpath .* not within volume path"):
        _source(volume, "c/inbound/alice")


def test_a_dangling_link_is_not_created_over(tmp_path):
    volume = _volume(tmp_path)
    link = volume.path / "c/inbound/zed"
    os.symlink("../../nowhere/zed", link)
    with pytest.raises(PodError, match="CreateContainerConfigError: failed to create subPath"):
        _source(volume, "c/inbound/zed")
    assert link.is_symlink() and not (volume.path / "nowhere").exists()
