"""The skeleton holds against the pods themselves (docs/security.md, "The skeleton").

kubelet resolves a subPath following symlinks, so a pod that could rename or replace a
directory on another pod's subPath could point that pod elsewhere. Here every such directory
of a provisioned course is attacked from inside the instructor's pod (uid 1000, read-write on
the whole course) and from a student's pod, with the mounts the real KubeSpawner hook gives:
rename it away, replace it by a link, remove it, chmod it, and plant a link where a student's
directory will go. Every attempt must fail and leave the tree exactly as it was.
"""

import os

import pytest

from ..tree import snapshot

SKELETON = (
    "course101",
    "course101/outbound",
    "course101/inbound",
    "course101/feedback_public",
    "course101/inbound/alice",
    "course101/feedback_public/alice",
)

ATTACKS = {
    "rename away": "mv {d} {d}.gone",
    "replace by a link": "mv {d} {d}.old && ln -s ../../course202/inbound/zed {d}",
    "remove": "rmdir {d}",
    "chmod": "chmod 0777 {d}",
}


@pytest.fixture
def course(cluster):
    cluster.add_user("prof", ["formgrade-course101"])
    cluster.add_user("alice", ["nbgrader-course101"])
    cluster.add_user("zed", ["nbgrader-course202"])
    cluster.sh("alice", "true", check=True)
    cluster.sh("zed", "echo zed-work > /mnt/exchange/course202/inbound/zed/work", check=True)
    return cluster


@pytest.mark.parametrize("attack", sorted(ATTACKS))
@pytest.mark.parametrize("user", ["prof", "alice"])
def test_no_pod_can_change_a_directory_another_pods_subpath_goes_through(course, user, attack):
    before = snapshot(course.volume)
    for rel in SKELETON:
        d = f"/mnt/exchange/{rel}"
        proc = course.sh(user, f"[ -e {d} ] || exit 0; {ATTACKS[attack].format(d=d)}")
        assert proc.returncode != 0, f"{user} could {attack} {rel}: {proc.stdout}"
    assert snapshot(course.volume) == before


def test_no_pod_can_plant_a_link_where_a_students_directory_will_go(course):
    """A student with no directory yet: kubelet would follow a link planted under their name."""
    before = snapshot(course.volume)
    for parent in ("inbound", "feedback_public"):
        d = f"/mnt/exchange/course101/{parent}"
        proc = course.sh("prof", f"ln -s ../../course202/inbound/zed {d}/newcomer")
        assert proc.returncode != 0, proc.stdout
        assert "Permission denied" in proc.stdout, proc.stdout
    assert snapshot(course.volume) == before
    assert not os.path.lexists(course.volume / "course101" / "inbound" / "newcomer")


def test_the_instructor_still_works_inside_the_skeleton(course):
    """What instructors do keeps working: write a release, remove a submission, write
    feedback; and the student writes in their own inbox."""
    v = "/mnt/exchange/course101"
    script = (
        f"mkdir {v}/outbound/ps1 && echo x > {v}/outbound/ps1/a.txt"
        f" && echo fb > {v}/feedback_public/alice/key.html"
        f" && mkdir -p {v}/.nbk8s-removed/alice"
    )
    course.sh("prof", script, check=True)
    course.sh(
        "alice", f"mkdir {v}/inbound/alice/sub && echo s > {v}/inbound/alice/sub/f", check=True
    )
    course.sh("prof", f"mv {v}/inbound/alice/sub {v}/.nbk8s-removed/alice/sub", check=True)
    assert (course.volume / "course101/.nbk8s-removed/alice/sub/f").read_text() == "s\n"
