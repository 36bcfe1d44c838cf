"""nbgrader's exchange tests that read the default's on-disk layout, re-expressed for ours.

Each test here asserts what its namesake in ``nbgrader/tests/apps`` asserts that a user sees
(exit codes, ``nbgrader list`` lines, the files and modes in the directories they read), with
the paths of our layout (DESIGN.md): ``{course}/inbound/{student}/{assignment}+{timestamp}+
{random}/`` and ``{course}/feedback_public/{student}/{key}.html``. They run in nbgrader's own
way (its fixtures and in-process app, ``make test-nbgrader-suite``) with our classes as the
``ExchangeFactory`` defaults. ``expected_differences.toml`` maps each original to these.
"""

import datetime
import os
import stat
import time
from os.path import exists, isfile, join
from textwrap import dedent

import pytest
from nbgrader.tests import run_nbgrader
from nbgrader.tests.apps.base import BaseTestApp
from nbgrader.utils import get_username, notebook_hash, parse_utc

ME = get_username()


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def submissions(exchange: str, course: str = "abc101", student: str = ME) -> list:
    """Our submission directories of ``student``, oldest first (names sort by timestamp)."""
    inbox = join(exchange, course, "inbound", student)
    return sorted(n for n in os.listdir(inbox) if not n.startswith("."))


def name_parts(name: str):
    """``{assignment}+{timestamp}+{random}`` split at the first and last ``+``."""
    assignment, rest = name.split("+", 1)
    timestamp, random = rest.rsplit("+", 1)
    return assignment, timestamp, random


class _Exchange(BaseTestApp):
    def _release(self, assignment, exchange, course_dir, course="abc101", source=False):
        notebook = join(course_dir, "source" if source else "release", assignment, "p1.ipynb")
        self._copy_file(join("files", "test.ipynb"), notebook)
        if source:
            run_nbgrader(["generate_assignment", assignment, "--course", course])
        run_nbgrader(
            ["release_assignment", assignment, "--course", course, f"--Exchange.root={exchange}"]
        )

    def _student(self, command, assignment, exchange, cache, course="abc101", flags=()):
        run_nbgrader(
            [command, assignment, "--course", course]
            + [f"--Exchange.root={exchange}", f"--Exchange.cache={cache}", *flags]
        )

    def _list(self, exchange, cache, *flags, retcode=0):
        return run_nbgrader(
            ["list", f"--Exchange.root={exchange}", f"--Exchange.cache={cache}", *flags],
            retcode=retcode,
        )


class TestSubmit(_Exchange):
    def test_submit(self, exchange, cache, course_dir):
        self._release("ps1", exchange, course_dir)
        self._student("fetch_assignment", "ps1", exchange, cache)
        now = datetime.datetime.utcnow()
        time.sleep(1)
        self._student("submit", "ps1", exchange, cache)
        (name,) = submissions(exchange)
        assignment, timestamp1, _ = name_parts(name)
        assert assignment == "ps1" and parse_utc(timestamp1) > now
        sub = join(exchange, "abc101", "inbound", ME, name)
        assert isfile(join(sub, "p1.ipynb"))
        with open(join(sub, "timestamp.txt")) as fh:
            assert fh.read() == timestamp1
        (cached,) = os.listdir(join(cache, "abc101"))
        assert cached == f"{ME}+ps1+{timestamp1}"
        assert isfile(join(cache, "abc101", cached, "p1.ipynb"))

        time.sleep(1)
        self._student("submit", "ps1", exchange, cache)
        first, second = submissions(exchange)
        assert first == name
        timestamp2 = name_parts(second)[1]
        assert parse_utc(timestamp2) > parse_utc(timestamp1)
        with open(join(exchange, "abc101", "inbound", ME, second, "timestamp.txt")) as fh:
            assert fh.read() == timestamp2
        assert len(os.listdir(join(cache, "abc101"))) == 2

    def test_submit_readonly(self, exchange, cache, course_dir):
        self._release("ps1", exchange, course_dir)
        self._student("fetch_assignment", "ps1", exchange, cache)
        os.chmod(join("ps1", "p1.ipynb"), stat.S_IRUSR)
        self._student("submit", "ps1", exchange, cache)
        (name,) = submissions(exchange)
        assert mode(join(exchange, "abc101", "inbound", ME, name, "p1.ipynb")) == 0o644

    def test_submit_multiple_courses(self, exchange, cache, course_dir):
        flags = ["--Exchange.path_includes_course=True"]
        for course in ("abc101", "abc102"):
            self._release("ps1", exchange, course_dir, course=course)
            self._student("fetch_assignment", "ps1", exchange, cache, course=course, flags=flags)
        for course in ("abc101", "abc102"):
            self._student("submit", "ps1", exchange, cache, course=course, flags=flags)
            (name,) = submissions(exchange, course)
            assert name_parts(name)[0] == "ps1"
            sub = join(exchange, course, "inbound", ME, name)
            assert isfile(join(sub, "p1.ipynb")) and isfile(join(sub, "timestamp.txt"))
            (cached,) = os.listdir(join(cache, course))
            assert cached.startswith(f"{ME}+ps1+")

    def test_submit_max_file_size(self, exchange, cache, course_dir):
        self._release("ps1", exchange, course_dir)
        self._student("fetch_assignment", "ps1", exchange, cache)
        self._make_file(join("ps1", "small_file"), contents="x" * 2000)
        self._make_file(join("ps1", "large_file"), contents="x" * 2001)
        self._make_file(join("ps1", "foo.pyc"))
        self._student("submit", "ps1", exchange, cache, flags=["--CourseDirectory.max_file_size=2"])
        (name,) = submissions(exchange)
        sub = join(exchange, "abc101", "inbound", ME, name)
        assert exists(join(sub, "small_file"))
        assert not exists(join(sub, "large_file"))
        # nbgrader's test_submit_exclude looks for this at its own path (and so passes
        # whatever happens here): CourseDirectory.ignore's *.pyc stays out.
        assert not exists(join(sub, "foo.pyc"))


class TestList(_Exchange):
    def _submitted(self, exchange, cache, flag):
        out = self._list(exchange, cache, "ps1", flag)
        return [line for line in out.splitlines() if "Submitted assignments" not in line]

    def test_list_inbound(self, exchange, cache, course_dir):
        self._release("ps1", exchange, course_dir)
        assert self._submitted(exchange, cache, "--inbound") == []
        self._student("fetch_assignment", "ps1", exchange, cache)
        self._student(
            "submit", "ps1", exchange, cache, flags=["--ExchangeSubmit.add_random_string=False"]
        )
        time.sleep(1)
        self._student("submit", "ps1", exchange, cache)
        stamps = [name_parts(n)[1] for n in submissions(exchange)]
        assert self._submitted(exchange, cache, "--inbound") == [
            f"[ListApp | INFO] abc101 {ME} ps1 {t} (no feedback available)" for t in stamps
        ]

    def test_list_remove_inbound(self, exchange, cache, course_dir):
        for assignment in ("ps1", "ps2"):
            self._release(assignment, exchange, course_dir)
            self._student("fetch_assignment", assignment, exchange, cache)
            self._student("submit", assignment, exchange, cache)
        ps1, ps2 = submissions(exchange)
        self._list(exchange, cache, "ps1", "--inbound", "--remove")
        assert self._list(exchange, cache, "--inbound") == dedent(
            f"""\
            [ListApp | INFO] Submitted assignments:
            [ListApp | INFO] abc101 {ME} ps2 {name_parts(ps2)[1]} (no feedback available)
            """
        )
        assert submissions(exchange) == [ps2]
        removed = join(exchange, "abc101", ".nbk8s-removed", ME)
        assert os.listdir(removed) == [ps1]
        self._list(exchange, cache, "ps2", "--inbound", "--remove")
        assert self._submitted(exchange, cache, "--inbound") == []
        assert submissions(exchange) == []
        assert sorted(os.listdir(removed)) == [ps1, ps2]
        # The student's own cache keeps both.
        assert len(os.listdir(join(cache, "abc101"))) == 2

    def test_list_feedback(self, exchange, cache, course_dir):
        """test_list_feedback_inbound and test_list_feedback_cached, on our feedback dir."""
        self._release("ps1", exchange, course_dir, source=True)
        self._student("fetch_assignment", "ps1", exchange, cache)
        self._student("submit", "ps1", exchange, cache)
        self._make_feedback(exchange)
        time.sleep(1)
        self._student("submit", "ps1", exchange, cache)
        t1, t2 = (name_parts(n)[1] for n in submissions(exchange))

        def expect(first, second):
            for flag in ("--inbound", "--cached"):
                assert self._submitted(exchange, cache, flag) == [
                    f"[ListApp | INFO] abc101 {ME} ps1 {t1} ({first})",
                    f"[ListApp | INFO] abc101 {ME} ps1 {t2} ({second})",
                ], flag

        expect("feedback ready to be fetched", "no feedback available")
        self._student("fetch_feedback", "ps1", exchange, cache)
        expect("feedback already fetched", "no feedback available")
        feedback_dir = join(exchange, "abc101", "feedback_public", ME)
        (feedback_file,) = os.listdir(feedback_dir)
        with open(join(feedback_dir, feedback_file), "a") as fh:
            fh.write("blahblahblah")
        expect("feedback ready to be fetched", "no feedback available")
        self._make_feedback(exchange)
        expect("feedback ready to be fetched", "feedback ready to be fetched")
        self._student("fetch_feedback", "ps1", exchange, cache)
        expect("feedback already fetched", "feedback already fetched")

    def _make_feedback(self, exchange):
        course = ["--course", "abc101", f"--Exchange.root={exchange}"]
        run_nbgrader(["collect", "ps1", "--update", *course])
        run_nbgrader(["autograde", "ps1", *course])
        run_nbgrader(["generate_feedback", "ps1", *course])
        run_nbgrader(["release_feedback", "ps1", *course])


class TestCollect(_Exchange):
    @pytest.mark.parametrize("groupshared", [False, True])
    def test_permissions(self, exchange, cache, course_dir, groupshared):
        if groupshared:
            with open("nbgrader_config.py", "a") as fh:
                fh.write("c.CourseDirectory.groupshared = True\n")
        self._release("ps1", exchange, course_dir)
        self._student("fetch_assignment", "ps1", exchange, cache)
        self._student("submit", "ps1", exchange, cache, flags=["--student=foobar_student"])
        run_nbgrader(["collect", "ps1", "--course", "abc101", f"--Exchange.root={exchange}"])
        assert mode(join(exchange, "abc101", "inbound", "foobar_student")) == 0o755
        copy = join(course_dir, "submitted", "foobar_student", "ps1")
        assert mode(copy) == (0o2775 if groupshared else 0o755)
        assert mode(join(copy, "p1.ipynb")) == (0o664 if groupshared else 0o644)


class TestReleaseFeedback(_Exchange):
    def _graded(self, db, course_dir, students):
        run_nbgrader(["db", "assignment", "add", "ps1", "--db", db])
        for student in students:
            run_nbgrader(["db", "student", "add", student, "--db", db])
        source = join(course_dir, "source", "ps1", "p1.ipynb")
        self._copy_file(join("files", "submitted-unchanged.ipynb"), source)
        run_nbgrader(["generate_assignment", "ps1", "--db", db])
        secrets = {}
        for student, secret in zip(students, ["submission_secret.txt", "submission_secret2.txt"]):
            sub = join(course_dir, "submitted", student, "ps1")
            self._copy_file(join("files", "submitted-unchanged.ipynb"), join(sub, "p1.ipynb"))
            self._copy_file(join("files", "timestamp.txt"), join(sub, "timestamp.txt"))
            self._copy_file(join("files", secret), join(sub, "submission_secret.txt"))
            with open(join(sub, "submission_secret.txt")) as fh:
                secrets[student] = notebook_hash(secret=fh.read(), notebook_id="p1")
        run_nbgrader(["autograde", "ps1", "--db", db])
        run_nbgrader(["generate_feedback", "ps1", "--db", db])
        return secrets

    def _release_feedback(self, exchange, *flags):
        run_nbgrader(
            ["release_feedback", "ps1", f"--Exchange.root={exchange}", "--course", "abc101"]
            + list(flags)
        )

    def test_single_file(self, db, course_dir, exchange):
        """Also test_permissions[False/True]: our modes, with or without groupshared."""
        keys = self._graded(db, course_dir, ["foo"])
        self._release_feedback(exchange)
        mine = join(exchange, "abc101", "feedback_public", "foo")
        released = join(mine, f"{keys['foo']}.html")
        assert isfile(released)
        assert (mode(mine), mode(released)) == (0o755, 0o644)
        # Releasing again overwrites without error, groupshared or not.
        self._release_feedback(exchange, "--CourseDirectory.groupshared=True")
        assert (mode(mine), mode(released)) == (0o755, 0o644)

    def test_single_student(self, db, course_dir, exchange):
        """Also test_student_id_exclude: the filters choose whose feedback is released."""
        keys = self._graded(db, course_dir, ["foo", "bar"])
        public = join(exchange, "abc101", "feedback_public")
        self._release_feedback(exchange, "--student", "foo")
        assert os.listdir(public) == ["foo"]
        assert os.listdir(join(public, "foo")) == [f"{keys['foo']}.html"]
        self._release_feedback(exchange, "--CourseDirectory.student_id_exclude=bar,baz")
        assert os.listdir(public) == ["foo"]
        self._release_feedback(exchange)
        assert os.listdir(join(public, "bar")) == [f"{keys['bar']}.html"]
