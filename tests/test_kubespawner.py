"""The KubeSpawner hook: literal mount dicts, and real KubeSpawner pod manifests."""

import os
import stat
from types import SimpleNamespace

import kubernetes_validate
import pytest

from nbgrader_k8s_exchange.kubespawner import (
    add_mounts,
    courses_from_groups,
    exchange_mounts,
    make_pre_spawn_hook,
)

from .kube import pod_manifest

VOLUME = {"name": "nbgrader-exchange", "persistentVolumeClaim": {"claimName": "nbgrader-exchange"}}


def _student_mounts(course, user):
    return [
        {
            "name": "nbgrader-exchange",
            "mountPath": f"/mnt/exchange/{course}/outbound",
            "subPath": f"{course}/outbound",
            "readOnly": True,
        },
        {
            "name": "nbgrader-exchange",
            "mountPath": f"/mnt/exchange/{course}/inbound/{user}",
            "subPath": f"{course}/inbound/{user}",
        },
        {
            "name": "nbgrader-exchange",
            "mountPath": f"/mnt/exchange/{course}/feedback_public/{user}",
            "subPath": f"{course}/feedback_public/{user}",
            "readOnly": True,
        },
    ]


def test_student_mounts_literal():
    volumes, mounts = exchange_mounts("alice", ["course101"], [])
    assert volumes == [VOLUME]
    assert mounts == _student_mounts("course101", "alice")


def test_instructor_gets_only_their_course_and_it_wins_over_student():
    volumes, mounts = exchange_mounts("prof", ["course101", "course202"], ["course101"])
    assert volumes == [VOLUME]
    assert mounts == [
        {
            "name": "nbgrader-exchange",
            "mountPath": "/mnt/exchange/course101",
            "subPath": "course101",
        },
        *_student_mounts("course202", "prof"),
    ]


def test_claim_and_root_are_settable_and_no_courses_means_nothing():
    volumes, mounts = exchange_mounts("a", ["c"], [], claim_name="ex2", mount_root="/srv/ex")
    assert volumes[0]["persistentVolumeClaim"] == {"claimName": "ex2"}
    assert mounts[0]["mountPath"] == "/srv/ex/c/outbound"
    assert exchange_mounts("a", [], []) == ([], [])


@pytest.mark.parametrize("user", ["../alice", "a/b", ".hidden", "..", ".", "a\0b", ""])
def test_usernames_that_could_escape_are_refused(user):
    with pytest.raises(ValueError, match="student"):
        exchange_mounts(user, ["course101"], [])


@pytest.mark.parametrize("course", ["a+b", "a*", "../c", ".c", "c/d"])
def test_bad_courses_are_refused(course):
    with pytest.raises(ValueError, match="course"):
        exchange_mounts("alice", [course], [])


def test_groups_to_courses():
    groups = ["nbgrader-course101", "formgrade-course202", "nbgrader-", "other", "nbgrader-c3"]
    assert courses_from_groups(groups) == (["c3", "course101"], ["course202"])


def test_add_mounts_list_and_dict_without_duplicates():
    volumes, mounts = exchange_mounts("alice", ["course101"], [])
    spawner = SimpleNamespace(volumes=[], volume_mounts={"home": {"mountPath": "/home/jovyan"}})
    add_mounts(spawner, volumes, mounts)
    add_mounts(spawner, volumes, mounts)
    assert spawner.volumes == [VOLUME]
    assert len(spawner.volume_mounts) == 4
    assert spawner.volume_mounts["home"] == {"mountPath": "/home/jovyan"}


# -- real KubeSpawner --------------------------------------------------------------------


def _exchange_mounts_of(manifest):
    return [
        m
        for m in manifest["spec"]["containers"][0]["volumeMounts"]
        if m["name"] == "nbgrader-exchange"
    ]


@pytest.mark.parametrize(
    "user", ["alice", "zoë.o'brien+test@uni.edu", "we{ir}d", "user-{username}", "Ünïcödé"]
)
def test_manifest_mounts_raw_username_and_validates(user):
    manifest = pod_manifest(user, ["nbgrader-course101"])
    mounts = _exchange_mounts_of(manifest)
    expected = _student_mounts("course101", user)
    assert [(m["mountPath"], m["subPath"], m.get("readOnly")) for m in mounts] == [
        (m["mountPath"], m["subPath"], m.get("readOnly")) for m in expected
    ]
    assert manifest["spec"]["volumes"] == [VOLUME]
    kubernetes_validate.validate(manifest, "1.30", strict=True)


def test_manifest_keeps_admin_mounts_in_dict_form():
    manifest = pod_manifest(
        "alice",
        ["nbgrader-course101"],
        volumes={"a-home": {"name": "home", "emptyDir": {}}},
        volume_mounts={"a-home": {"name": "home", "mountPath": "/home/jovyan"}},
    )
    paths = [m["mountPath"] for m in manifest["spec"]["containers"][0]["volumeMounts"]]
    assert "/home/jovyan" in paths and len(paths) == 4
    assert {v["name"] for v in manifest["spec"]["volumes"]} == {"home", "nbgrader-exchange"}


def test_user_without_course_groups_gets_nothing():
    manifest = pod_manifest("visitor", ["some-other-group"])
    assert _exchange_mounts_of(manifest) == []


def test_hook_provisions_course_tree_with_owner_and_modes(tmp_path):
    root = tmp_path / "exchange"
    root.mkdir()
    hook = make_pre_spawn_hook(exchange_path=str(root), uid=1000, gid=100)
    pod_manifest("alice", ["nbgrader-course101", "formgrade-course202"], hook=hook)
    expected = [
        "course101",
        "course101/outbound",
        "course101/inbound",
        "course101/feedback_public",
        "course101/inbound/alice",
        "course101/feedback_public/alice",
        "course202",
        "course202/outbound",
        "course202/inbound",
        "course202/feedback_public",
    ]
    for rel in expected:
        st = os.lstat(root / rel)
        assert stat.S_ISDIR(st.st_mode), rel
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 100, 0o755), rel
    assert not (root / "course202" / "inbound" / "alice").exists()
