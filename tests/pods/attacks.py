"""What a hostile instructor or student does from inside their own pod, as reusable steps.

Each step runs shell in the attacker's pod through ``run(script) -> CompletedProcess`` (e.g.
``lambda script: cluster.sh("prof", script)``) and says whether it worked, so one test can
assert that it works today and another that it fails once the layout forbids it.
"""

import shlex
from subprocess import CompletedProcess
from typing import Callable

PodRunner = Callable[[str], CompletedProcess]


def plant_swap(
    run: PodRunner, course_root: str, student: str, target: str, aside: str = ".swapped"
) -> bool:
    """In an instructor's pod: move ``{course_root}/inbound/{student}`` aside (to ``aside`` in
    the same directory) and put a symlink to ``target`` in its place. ``target`` is written as
    given, so a relative one is resolved from ``inbound/`` wherever the link is looked up: in
    the instructor's pod ``../../B/...`` leaves their mount and dangles; on the node, where
    kubelet resolves the next pod's subPath, it is another course. True when both the rename
    and the link succeeded."""
    inbox = f"{course_root}/inbound/{student}"
    moved = f"{course_root}/inbound/{aside}"
    q = shlex.quote
    proc = run(f"mv -T {q(inbox)} {q(moved)} && ln -s {q(target)} {q(inbox)}")
    return proc.returncode == 0
