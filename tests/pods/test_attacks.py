"""Attacks from inside pods, against the exchange's layout as kubelet mounts it.

kubelet follows links on a subPath (podsim does as kubelet does), so an instructor who can
swap a directory on a student's subPath chooses what the student's pod mounts. With the old
ownership (every directory uid 1000, the pods' own uid) the swap works: that test shows the
hole, not claims it. With the skeleton (docs/security.md, "The skeleton") the same swap fails
in the instructor's own pod, and the student's next pod mounts their own inbox.
"""

import os

from nbgrader_k8s_exchange.kubespawner import make_pre_spawn_hook

from .attacks import plant_swap

EXCHANGE = "/mnt/exchange"


def test_instructor_swap_reaches_other_course_with_uid1000_skeleton(cluster):
    """With the old ownership every directory of a course was 1000:100, and an instructor's
    pod (uid 1000) mounts the whole course read-write: they can rename ``A/inbound/alice``
    and put a link ``../../courseB/inbound/victim`` in its place. In their own pod the link
    dangles (only ``A`` is mounted); on the node it is courseB's victim's inbox, inside the
    volume, so kubelet mounts it into alice's next pod as her inbox, read-write.

    The hub's hook provisioned alice's inbox at her spawn (``add_user`` below); the swap lands
    after it, before kubelet's mount (a race with the hook, or no check at all when
    ``hubExchangePath`` is unset).
    """
    # The old ownership: the skeleton's owner is the pods' own uid.
    cluster.hook = make_pre_spawn_hook(exchange_path=str(cluster.volume), keeper_uid=1000)
    cluster.add_user("prof", ["formgrade-courseA"])
    cluster.add_user("alice", ["nbgrader-courseA"])
    cluster.add_user("victim", ["nbgrader-courseB"])
    victim_inbox = f"{EXCHANGE}/courseB/inbound/victim"
    cluster.sh("victim", f"echo victim-answers > {victim_inbox}/answers.txt", check=True)

    def prof(script):
        return cluster.sh("prof", script)

    assert plant_swap(prof, f"{EXCHANGE}/courseA", "alice", "../../courseB/inbound/victim")
    link = f"{EXCHANGE}/courseA/inbound/alice"
    assert prof(f"[ -L {link} ] && [ ! -e {link} ]").returncode == 0, "dangles in prof's pod"

    inbox = f"{EXCHANGE}/courseA/inbound/alice"
    seen = cluster.sh("alice", f"cat {inbox}/answers.txt && echo from-alice > {inbox}/mine.txt")
    assert seen.returncode == 0, seen.stdout
    assert "victim-answers" in seen.stdout
    victim_dir = cluster.volume / "courseB" / "inbound" / "victim"
    assert (victim_dir / "mine.txt").read_text() == "from-alice\n"
    assert os.path.islink(cluster.volume / "courseA" / "inbound" / "alice")


def test_with_the_skeleton_the_instructors_swap_fails_in_their_own_pod(cluster):
    """The same attack on a course provisioned as the hook does by default: the skeleton
    belongs to the keeper (root), so prof cannot rename ``courseA/inbound/alice`` nor put
    anything in ``courseA/inbound``; alice's next pod mounts her own inbox."""
    cluster.add_user("prof", ["formgrade-courseA"])
    cluster.add_user("alice", ["nbgrader-courseA"])
    cluster.add_user("victim", ["nbgrader-courseB"])
    cluster.sh("victim", f"echo victim-answers > {EXCHANGE}/courseB/inbound/victim/answers.txt")

    def prof(script):
        return cluster.sh("prof", script)

    target = "../../courseB/inbound/victim"
    assert not plant_swap(prof, f"{EXCHANGE}/courseA", "alice", target)
    alice_inbox = cluster.volume / "courseA" / "inbound" / "alice"
    assert alice_inbox.is_dir() and not alice_inbox.is_symlink()
    inbox = f"{EXCHANGE}/courseA/inbound/alice"
    seen = cluster.sh("alice", f"ls -A {inbox}; echo from-alice > {inbox}/mine.txt")
    assert seen.returncode == 0, seen.stdout
    assert "answers.txt" not in seen.stdout
    assert not (cluster.volume / "courseB" / "inbound" / "victim" / "mine.txt").exists()
    assert (alice_inbox / "mine.txt").read_text() == "from-alice\n"
