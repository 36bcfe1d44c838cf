"""Due dates students can see, per-student extensions, and the instructor side that enforces
them: all through the real nbgrader CLI and the real ``nbgrader-k8s`` script."""

import datetime
import json
import time

from dateutil.tz import gettz
from nbgrader.api import Gradebook
from nbgrader.server_extensions.assignment_list.handlers import AssignmentList

from nbgrader_k8s_exchange.demo import Course
from tests.admin_cli import admin_ok
from tests.tree import visible

UTC = datetime.timezone.utc


def _set_due(course, when):
    stamp = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    course.instructor("db", "assignment", "add", "ps1", f"--duedate={stamp}")


def _shown(when, zone):
    local = when.astimezone(gettz(zone)).strftime("%Y-%m-%d %H:%M:%S %Z")
    return f"{local} ({when.strftime('%Y-%m-%d %H:%M:%S')} UTC)"


def _line(output, prefix):
    return next(line for line in output.splitlines() if prefix in line)


def test_students_see_their_own_due_date_and_time_left(tmp_path):
    course = Course(tmp_path, extra_config="c.Exchange.timezone = 'Europe/Berlin'\n")
    course.create_assignment("ps1")
    due = datetime.datetime.now(UTC).replace(microsecond=0) + datetime.timedelta(days=2, minutes=30)
    _set_due(course, due)
    out = course.instructor("release_assignment", "ps1")
    assert "Published to students: course101 ps1" in out

    line = _line(course.student("bob", "list"), "course101 ps1")
    assert line.endswith(f"course101 ps1, due {_shown(due, 'Europe/Berlin')}, 2d 0h left")

    # alice has not submitted yet, so no inbox says she is a student here: --new-student.
    admin_ok(
        course, "deadlines", "extend", "course101", "ps1", "alice", "--by", "1d", "--new-student"
    )
    later = due + datetime.timedelta(days=1)
    line = _line(course.student("alice", "list"), "course101 ps1")
    assert line.endswith(f"due {_shown(later, 'Europe/Berlin')} with your extension, 3d 0h left")
    # Nobody else sees it.
    line = _line(course.student("bob", "list"), "course101 ps1")
    assert "extension" not in line and _shown(due, "Europe/Berlin") in line

    # A changed due date in the gradebook reaches students with the next collect.
    _set_due(course, due + datetime.timedelta(hours=5))
    course.instructor("collect", "ps1")
    line = _line(course.student("bob", "list"), "course101 ps1")
    assert _shown(due + datetime.timedelta(hours=5), "Europe/Berlin") in line
    # alice's extension is extra time, so it moves with the due date.
    line = _line(course.student("alice", "list"), "course101 ps1")
    assert _shown(later + datetime.timedelta(hours=5), "Europe/Berlin") in line


def test_the_assignments_tab_gets_the_due_date_in_the_list_data(released, monkeypatch):
    """What nbgrader's Assignments tab handlers receive carries each student's due date."""
    course = released
    due = datetime.datetime.now(UTC).replace(microsecond=0) + datetime.timedelta(hours=3)
    _set_due(course, due)
    course.instructor("release_assignment", "ps1", "--force")
    until = (due + datetime.timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")
    admin_ok(
        course, "deadlines", "extend", "course101", "ps1", "alice", "--until", until,
        "--new-student",
    )  # fmt: skip
    for student, expected_due, extension in (
        ("bob", due.strftime("%Y-%m-%dT%H:%M:%S.000000Z"), False),
        ("alice", until.replace(" ", "T") + ".000000Z", True),
    ):
        home = course.add_student(student)
        for key, value in course._env(student, home).items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(home)
        manager = AssignmentList()
        manager.root_dir = str(home)
        listed = manager.list_assignments(course_id="course101")
        assert listed["success"], listed
        [item] = listed["value"]
        deadline = item["deadline"]
        assert deadline["due"] == expected_due, student
        assert (deadline["extension"] is not None) == extension, student
        assert deadline["seconds_left"] > 0 and deadline["timezone"] == "UTC"


def test_late_submit_warns_and_refuse_stops_it(released):
    course = released
    _set_due(course, datetime.datetime.now(UTC) - datetime.timedelta(hours=2))
    course.instructor("release_assignment", "ps1", "--force")
    admin_ok(
        course, "deadlines", "extend", "course101", "ps1", "alice", "--by", "1w", "--new-student"
    )
    inbound = course.exchange / "course101" / "inbound"

    out = course.submit_answer("bob", "ps1", True)
    assert "This submission of ps1 is late by 2h 0m" in out
    assert len(visible(inbound / "bob")) == 1

    refuse = "c.Exchange.late_submissions = 'refuse'\n"
    for student in ("alice", "bob"):
        config = course.add_student(student) / "nbgrader_config.py"
        config.write_text(config.read_text() + refuse)
    proc = course.student("bob", "submit", "ps1", check=False)
    assert proc.returncode != 0
    assert "late by 2h 0m" in proc.stdout and "refuses late submissions" in proc.stdout
    assert len(visible(inbound / "bob")) == 1, "nothing written"
    # alice's extension makes hers on time: no word about lateness.
    out = course.submit_answer("alice", "ps1", True)
    assert "is late by" not in out
    assert len(visible(inbound / "alice")) == 1


def test_accept_submits_late_and_says_so_without_a_warning(released):
    course = released
    _set_due(course, datetime.datetime.now(UTC) - datetime.timedelta(hours=3))
    course.instructor("release_assignment", "ps1", "--force")
    config = course.add_student("carol") / "nbgrader_config.py"
    config.write_text(config.read_text() + "c.Exchange.late_submissions = 'accept'\n")
    out = course.submit_answer("carol", "ps1", True)
    line = _line(out, "is late by")
    assert "late by 3h 0m" in line and "WARNING" not in line, out
    assert "INFO" in line, out
    assert len(visible(course.exchange / "course101" / "inbound" / "carol")) == 1


def test_collect_before_duedate_uses_each_students_own_due_date(released):
    course = released
    course.submit_answer("alice", "ps1", False)
    course.submit_answer("bob", "ps1", False)
    time.sleep(1.2)
    _set_due(course, datetime.datetime.now(UTC))
    time.sleep(1.2)
    course.submit_answer("alice", "ps1", True)
    course.submit_answer("bob", "ps1", True)
    admin_ok(course, "deadlines", "extend", "course101", "ps1", "alice", "--by", "1h")

    course.instructor("collect", "--before-duedate", "ps1")
    submitted = course.instructor_dir / "submitted"
    for student, wanted in (("alice", -1), ("bob", 0)):
        inbox = sorted(
            visible(course.exchange / "course101" / "inbound" / student),
            key=lambda p: (p / "timestamp.txt").read_text(),
        )
        chosen = (submitted / student / "ps1" / "timestamp.txt").read_text()
        assert chosen == (inbox[wanted] / "timestamp.txt").read_text(), student


def test_late_penalty_and_status_use_the_extension(tmp_path):
    course = Course(tmp_path, extra_config="c.LateSubmissionPlugin.penalty_method = 'zero'\n")
    course.create_assignment("ps1")
    _set_due(course, datetime.datetime.now(UTC) - datetime.timedelta(hours=1))
    course.instructor("release_assignment", "ps1")
    course.submit_answer("alice", "ps1", True)
    course.submit_answer("bob", "ps1", True)
    admin_ok(course, "deadlines", "extend", "course101", "ps1", "alice", "--by", "2h")

    status = json.loads(admin_ok(course, "status", "course101", "ps1", "--json"))
    rows = {r["student"]: r for r in status["assignments"][0]["per_student"]}
    assert rows["alice"]["extension"] and rows["alice"]["late_by_seconds"] == 0
    assert not rows["bob"]["extension"] and rows["bob"]["late_by_seconds"] >= 3600

    out = course.instructor("collect", "ps1")
    assert "Extension of alice on ps1 in the gradebook" in out
    course.instructor("autograde", "ps1")
    with Gradebook(f"sqlite:///{course.instructor_dir / 'gradebook.db'}", "course101") as gb:
        alice = gb.find_submission("ps1", "alice")
        bob = gb.find_submission("ps1", "bob")
        assert alice.extension == datetime.timedelta(hours=2)
        # penalty_method 'zero': a late submission loses all its points.
        assert alice.total_seconds_late == 0 and alice.late_submission_penalty == 0
        assert bob.total_seconds_late >= 3600 and bob.late_submission_penalty == 2

    # Removing the extension reaches the gradebook with the next collect.
    admin_ok(course, "deadlines", "extend", "course101", "ps1", "alice", "--remove")
    out = course.instructor("collect", "ps1")
    assert "Extension of alice on ps1 removed from the gradebook" in out
    with Gradebook(f"sqlite:///{course.instructor_dir / 'gradebook.db'}", "course101") as gb:
        assert gb.find_submission("ps1", "alice").extension is None


def test_a_garbled_deadline_file_warns_but_list_and_submit_work(released):
    course = released
    (course.exchange / "course101" / "outbound" / ".nbk8s-deadlines.json").write_text("{oops")
    out = course.student("alice", "list")
    assert ".nbk8s-deadlines.json: ignored: not valid JSON" in out
    assert "course101 ps1" in out
    out = course.submit_answer("alice", "ps1", True)
    assert "Submitted as: course101 ps1" in out


def _extension(entry: str) -> str:
    return json.dumps({"version": 1, "extensions": {"ps1": "ENTRY"}}).replace('"ENTRY"', entry)


#: What a student's deadline file may hold (written by hand, by an old or broken tool, or
#: by an instructor's typo): none of it may crash the student's client, and none of it may
#: leave them without the course-wide due date.
HOSTILE_DEADLINE_FILES = [
    ("not JSON", "{not json"),
    ("not an object", "[]"),
    ("null", "null"),
    ("too deep", "[" * 50_000),
    ("no version", '{"extensions": {"ps1": {"by_seconds": 60}}}'),
    ("500000 weeks", _extension('{"by_seconds": 302400000000}')),
    ("i64 max", _extension('{"by_seconds": 9223372036854775807}')),
    ("past u64", _extension('{"by_seconds": 184467440737095516150}')),
    ("float", _extension('{"by_seconds": 1.5e300}')),
    ("negative", _extension('{"by_seconds": -3600}')),
    ("a string", _extension('{"by_seconds": "2d"}')),
    ("year 11609", _extension('{"until": "+11609-08-10T00:00:00Z"}')),
    ("year 9999", _extension('{"until": "9999-12-31T23:59:59Z"}')),
    ("year 1", _extension('{"until": "0001-01-01T00:00:00Z"}')),
    ("bad offset", _extension('{"until": "2026-12-01T00:00:00+99:00"}')),
    ("both", _extension('{"until": "2026-12-01T00:00:00Z", "by_seconds": 60}')),
    ("bad assignment key", '{"version": 1, "extensions": {"../ps1": {"by_seconds": 60}}}'),
    ("control characters", _extension('{"until": "\\u001b[2J\\n"}')),
    ("huge", '{"version": 1, "extensions": {}, "pad": "' + "x" * (5 << 20) + '"}'),
]


def test_no_deadline_file_crashes_list_or_submit(released):
    """Each hostile file in turn as alice's own extensions: `nbgrader list` and `submit`
    succeed without a traceback, warn, and the course-wide due date stands."""
    course = released
    due = datetime.datetime.now(UTC).replace(microsecond=0) + datetime.timedelta(days=2)
    _set_due(course, due)
    course.instructor("release_assignment", "ps1", "--force")
    course.student("alice", "fetch_assignment", "ps1")
    mine = course.exchange / "course101" / "feedback_public" / "alice" / ".nbk8s-deadlines.json"
    mine.parent.mkdir(parents=True, exist_ok=True)
    for label, text in HOSTILE_DEADLINE_FILES:
        mine.write_text(text)
        out = course.student("alice", "list")
        assert "Traceback" not in out, (label, out)
        line = _line(out, "course101 ps1")
        assert f"due {_shown(due, 'UTC').split(' (')[0]}" in line, (label, out)
        assert "extension" not in line, (label, out)
        assert "WARNING" in out and ".nbk8s-deadlines.json" in out, (label, out)
        proc = course.student("alice", "submit", "ps1", check=False)
        assert proc.returncode == 0 and "Traceback" not in proc.stdout, (label, proc.stdout)
        assert "late" not in proc.stdout, (label, proc.stdout)


def test_a_course_wide_due_date_no_reader_can_use_is_a_warning(released):
    course = released
    outbound = course.exchange / "course101" / "outbound" / ".nbk8s-deadlines.json"
    course.student("bob", "fetch_assignment", "ps1")
    for due in ("+11609-08-10T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"):
        outbound.write_text(json.dumps({"version": 1, "assignments": {"ps1": {"due": due}}}))
        out = course.student("bob", "list")
        assert "Traceback" not in out, (due, out)
        assert "due" not in _line(out, "course101 ps1"), (due, out)
        assert "WARNING" in out, (due, out)
        proc = course.student("bob", "submit", "ps1", check=False)
        assert proc.returncode == 0 and "Traceback" not in proc.stdout, (due, proc.stdout)
