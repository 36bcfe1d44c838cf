"""Unreadable entries in a student's submission, met by the instructor's pod (uid 1000).

Root owns what a student's pod cannot make unreadable to the instructor, but a student can
still leave a file or directory the instructor's uid may not read (a mode 000 file they own
on a volume that maps ids, a file written by another tool). Tests run as root, whom no mode
stops, so this runs `nbgrader collect` in the instructor's simulated pod as uid 1000.
"""

import os
import shutil

from nbgrader_k8s_exchange import _core
from nbgrader_k8s_exchange.demo import write_source_notebook

from .conftest import _chown_tree, write_course_source

NOW = "2030-01-01 00:00:00.000000 UTC"  # not backdated: later than any ctime here


def test_unreadable_entries_are_skipped_and_others_collected(cluster):
    cluster.add_user("prof", ["formgrade-course101"])
    course_dir = write_course_source(cluster, "prof")
    # The course, as the admin and a release would leave it (through the core: not under test).
    volume = cluster.volume
    _core.provision_course(str(volume), "course101", ["alice", "bob"])
    release = course_dir / "release" / "ps1"
    write_source_notebook(release / "squares.ipynb")
    _core.release_assignment(str(volume), "course101", "ps1", str(release))
    inbound = volume / "course101" / "inbound"
    for student in ("alice", "bob"):
        sub = inbound / student / f"ps1+{NOW}+planted00000"
        shutil.copytree(volume / "course101" / "outbound" / "ps1", sub)
        (sub / "timestamp.txt").write_text(NOW)
    (inbound / "alice" / f"ps1+{NOW}+planted00000" / "private.txt").write_text("x")
    (inbound / "alice" / f"ps1+{NOW}+planted00000" / "closed").mkdir()
    _chown_tree(volume)
    _chown_tree(cluster.home("prof"))
    sub = inbound / "alice" / f"ps1+{NOW}+planted00000"
    os.chown(sub / "private.txt", 0, 0)
    os.chmod(sub / "private.txt", 0o600)
    os.chown(sub / "closed", 0, 0)
    os.chmod(sub / "closed", 0o700)

    out = cluster.nbgrader("prof", "collect", "ps1", "--CourseDirectory.root=course101").stdout
    assert "Traceback" not in out
    assert "Processing 2 submissions" in out, out
    lines = out.splitlines()
    for name in ("private.txt", "closed"):
        assert any(
            '"alice"' in line and f"/{name}" in line and "Permission denied" in line
            for line in lines
        ), out
    submitted = cluster.home("prof") / "course101" / "submitted"
    for student in ("alice", "bob"):
        assert (submitted / student / "ps1" / "squares.ipynb").is_file(), student
    assert not (submitted / "alice" / "ps1" / "private.txt").exists()
