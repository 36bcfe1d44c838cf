"""The differences nbgrader's suite showed that are closed (or decided), through nbgrader's app.

- a missing ``Exchange.root`` is refused, saying the exchange volume is not mounted;
- ``list --inbound --remove`` moves submissions to ``{course}/.nbk8s-removed/{student}/`` and
  logs each in ``removals.jsonl`` (the notary's contract, docs/DESIGN.md);
- ``list --cached --remove`` (nbgrader's test_list_remove_cached and test_list_cached) and
  ``(feedback already fetched)`` / ``groupshared`` (test_layout.py) are covered there.
"""

import datetime
import json
import os
from os.path import join

from nbgrader.tests import run_nbgrader
from nbgrader.utils import get_username

from .test_layout import _Exchange, name_parts, submissions


class TestMissingRoot(_Exchange):
    def test_refused_not_created(self, exchange, cache, course_dir):
        self._copy_file(join("files", "test.ipynb"), join(course_dir, "release", "ps1", "p1.ipynb"))
        root = join(exchange, "not-mounted")
        for args in (
            ["release_assignment", "ps1", "--course", "abc101"],
            ["list", "--course", "abc101"],
            ["fetch_assignment", "ps1", "--course", "abc101"],
        ):
            out = run_nbgrader([*args, f"--Exchange.root={root}"], retcode=1)
            assert f"the exchange root {root} does not exist" in out, out
            assert "volume is not mounted" in out
            assert not os.path.exists(root)


class TestRemoveInbound(_Exchange):
    def test_moved_and_logged(self, exchange, cache, course_dir):
        self._release("ps1", exchange, course_dir)
        self._student("fetch_assignment", "ps1", exchange, cache)
        for student in ("alice", "bob+1"):
            self._student("submit", "ps1", exchange, cache, flags=[f"--student={student}"])
        (alice,) = submissions(exchange, student="alice")
        (bob,) = submissions(exchange, student="bob+1")
        before = datetime.datetime.now(datetime.timezone.utc)
        env = dict(os.environ, JUPYTERHUB_USER="prof")
        out = run_nbgrader(
            ["list", "ps1", "--inbound", "--remove", "--student=alice"]
            + [f"--Exchange.root={exchange}", "--course", "abc101"],
            env=env,
        )
        moved = join(exchange, "abc101", ".nbk8s-removed", "alice", alice)
        assert "Removing submitted assignments:" in out
        assert f"abc101 alice ps1 {name_parts(alice)[1]} (moved to {moved})" in out
        # bob's stays, alice's is gone from her inbox (and from every listing) but kept.
        assert submissions(exchange, student="alice") == []
        assert submissions(exchange, student="bob+1") == [bob]
        assert os.path.isfile(join(moved, "p1.ipynb"))
        listed = run_nbgrader(["list", "--inbound", f"--Exchange.root={exchange}"])
        assert "alice" not in listed and "bob+1 ps1" in listed
        out = run_nbgrader(["collect", "ps1", "--course", "abc101", f"--Exchange.root={exchange}"])
        assert "alice" not in out and not os.path.exists(join(course_dir, "submitted", "alice"))

        with open(join(exchange, "abc101", ".nbk8s-removed", "removals.jsonl")) as fh:
            (line,) = fh.read().splitlines()
        entry = json.loads(line)
        assert list(entry) == ["time", "course", "student", "assignment", "submission", "by"]
        assert entry["course"] == "abc101" and entry["student"] == "alice"
        assert (entry["assignment"], entry["submission"], entry["by"]) == ("ps1", alice, "prof")
        when = datetime.datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
        assert entry["time"].endswith("Z") and when >= before - datetime.timedelta(seconds=1)

        # Removing everything of ps1 now takes bob's too, logged after alice's.
        run_nbgrader(["list", "ps1", "--inbound", "--remove", f"--Exchange.root={exchange}"])
        with open(join(exchange, "abc101", ".nbk8s-removed", "removals.jsonl")) as fh:
            lines = [json.loads(x) for x in fh.read().splitlines()]
        assert [x["student"] for x in lines] == ["alice", "bob+1"]
        assert lines[1]["by"] == (os.environ.get("JUPYTERHUB_USER") or get_username())
        assert os.listdir(join(exchange, "abc101", ".nbk8s-removed", "bob+1")) == [bob]

    def test_cached_remove_is_the_students_own(self, exchange, cache, course_dir):
        self._release("ps1", exchange, course_dir)
        self._student("fetch_assignment", "ps1", exchange, cache)
        self._student("submit", "ps1", exchange, cache)
        self._list(exchange, cache, "ps1", "--cached", "--remove", "--course", "abc101")
        assert os.listdir(join(cache, "abc101")) == []
        # The exchange keeps the submission: only the student's local copy went.
        assert len(submissions(exchange)) == 1
        assert not os.path.exists(join(exchange, "abc101", ".nbk8s-removed"))
