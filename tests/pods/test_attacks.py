"""Attacks from inside pods, against the exchange's layout as kubelet mounts it.

ISSUE 27 (item 2): these document holes of TODAY's layout. A test named ``..._reaches_...``
asserts that the attack SUCCEEDS, so that the hole is shown, not claimed; the redesign of
ownership must make it fail, and then the assertion is turned around.
"""

import os

from .attacks import plant_swap

EXCHANGE = "/mnt/exchange"


def test_instructor_swap_reaches_other_course_with_uid1000_skeleton(cluster):
    """Today every directory of a course is 1000:100, 0755, and an instructor's pod (uid 1000)
    mounts the whole course read-write: they can rename ``A/inbound/alice`` and put a link
    ``../../courseB/inbound/victim`` in its place. In their own pod the link dangles (only
    ``A`` is mounted); on the node it is courseB's victim's inbox, inside the volume, so
    kubelet mounts it into alice's next pod as her inbox, read-write.

    The hub's hook provisioned alice's inbox at her spawn (``add_user`` below); the swap lands
    after it, before kubelet's mount (a race with the hook, or no check at all when
    ``hubExchangePath`` is unset).
    """
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
