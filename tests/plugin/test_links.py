"""An instructor's own commands follow no link in any component of a path (issue 27).

An instructor of course101 can replace any of the course's directories by a link. Inside
their pod a link to ``../course202`` dangles, but the same commands run wherever the whole
volume is mounted (an admin's shell, a Job, the hub), where it would lead into another course.
Here both courses share one local exchange, as on the volume: each link is planted in turn and
the real ``nbgrader`` CLI run; the command must name the link and refuse it, nothing of
course202 may reach the instructor, and course202 must stay exactly as it was.
"""

import os

import pytest

from nbgrader_k8s_exchange.demo import Course

from ..tree import snapshot

LINKS = {
    "course101/inbound": "../course202/inbound",
    "course101/feedback_public": "../course202/feedback_public",
    "course101/outbound": "../course202/outbound",
    "course101/inbound/alice": "../../course202/inbound/bob",
}
COMMANDS = {
    "collect": ("collect", "ps1"),
    "list --inbound": ("list", "--inbound"),
    "release_assignment --force": ("release_assignment", "ps1", "--force"),
}


@pytest.fixture
def two_courses(tmp_path):
    a = Course(tmp_path / "a", exchange=tmp_path / "exchange")
    b = Course(tmp_path / "b", "course202", exchange=tmp_path / "exchange")
    for course, student in ((a, "alice"), (b, "bob")):
        course.create_assignment("ps1")
        course.instructor("release_assignment", "ps1")
        course.submit_answer(student, "ps1", True)
    return a, b


@pytest.mark.parametrize("where", sorted(LINKS))
def test_instructor_commands_refuse_a_link_anywhere_on_the_path(two_courses, where):
    a, _ = two_courses
    exchange = a.exchange
    link = exchange / where
    os.rename(link, link.with_name(f".{link.name}-moved"))
    os.symlink(LINKS[where], link)
    before = snapshot(exchange / "course202")
    named = []
    for label, args in COMMANDS.items():
        proc = a.instructor(*args, check=False)
        shown = f"{label} with {where} -> {LINKS[where]}:\n{proc.stdout}"
        says_link = str(link) in proc.stdout and "symlink" in proc.stdout.replace(
            "symbolic link", "symlink"
        )
        if proc.returncode != 0:
            assert says_link, shown  # a refusal names the link
        named.append(says_link)
        assert "bob" not in proc.stdout, shown
        assert "Traceback" not in proc.stdout, shown
    assert any(named), f"no command named {link}"
    assert snapshot(exchange / "course202") == before
    submitted = a.instructor_dir / "submitted"
    assert not (submitted / "bob").exists()
