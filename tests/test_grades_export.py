"""``nbgrader-k8s grades export``: the real nbgrader's gradebook (a real release, submit,
notary pass, collect and autograde, with a late submission nbgrader penalises, plus grades
and a partial late penalty written through nbgrader's own ``Gradebook`` API) written as the
CSV each LMS imports, checked field by field against the formats named in docs/operate.md
("Grades back to the LMS"), and its scores against what the real ``nbgrader export`` writes."""

import csv
import datetime
import io
import json
import subprocess
import time

import pytest
from nbgrader.api import Gradebook

from nbgrader_k8s_exchange.demo import Course
from tests.admin_cli import events, notary_pass, script

UTC = datetime.timezone.utc

# Canvas's gradebook export: the row of points possible and the test student have no login.
CANVAS_ROSTER = (
    "Student,ID,SIS User ID,SIS Login ID,Section,ps1 (812)\n"
    '"    Points Possible",,,,,10\n'
    '"Adams, Alice",4711,S1001,Alice,Sec 01,\n'
    '"Brown, Bob",4712,S1002,bob,Sec 01,\n'
    '"Clark, Carol",4713,S1003,carol,Sec 02,\n'
    '"Student, Test",4799,,,Sec 01,\n'
)
MOODLE_ROSTER = (
    "\ufeffFirst name,Last name,ID number,Institution,Department,Email address,Username\n"
    "Alice,Adams,1001,Uni,Math,alice@uni.example,Alice\n"
    "Bob,Brown,1002,Uni,Math,bob@uni.example,bob\n"
    "Carol,Clark,1003,Uni,Math,carol@uni.example,carol\n"
)
BLACKBOARD_ROSTER = (
    '"Last Name","First Name","Username","Student ID","Last Access","Availability",'
    '"ps1 [Total Pts: 10 Score] |4711"\n'
    '"Adams","Alice","alice","S1001","","Yes",""\n'
    '"Brown","Bob","BOB","S1002","","Yes",""\n'
    '"Clark","Carol","carol","S1003","","Yes",""\n'
)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """course101: alice on time, bob late (nbgrader's `zero` penalty), dave in the gradebook
    only, carol in the rosters only; ps0 graded through the Gradebook API with fractions,
    extra credit, a manual override and a partial late penalty."""
    course = Course(
        tmp_path_factory.mktemp("grades"),
        extra_config="c.LateSubmissionPlugin.penalty_method = 'zero'\n",
    )
    course.create_assignment("ps1")
    course.instructor("release_assignment", "ps1")
    course.submit_answer("alice", "ps1", correct=True)
    time.sleep(1.2)
    due = datetime.datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    course.instructor("db", "assignment", "add", "ps1", f"--duedate={due}")
    time.sleep(1.2)
    course.submit_answer("bob", "ps1", correct=True)
    notary_pass(course)
    course.instructor("db", "student", "add", "dave")
    course.instructor("collect", "ps1")
    course.instructor("autograde", "ps1")

    db = course.instructor_dir / "gradebook.db"
    with Gradebook(f"sqlite:///{db}") as gb:
        gb.update_or_create_assignment("ps0", duedate="2026-01-01 00:00:00")
        gb.add_notebook("nb", "ps0")
        gb.add_grade_cell("auto", "nb", "ps0", max_score=5, cell_type="code")
        gb.add_grade_cell("hand", "nb", "ps0", max_score=5, cell_type="markdown")
        for student, ts in (("alice", "2025-12-31 23:00:00"), ("bob", "2026-01-02 00:00:00")):
            gb.add_submission("ps0", student, timestamp=ts)
        a = gb.find_grade("auto", "nb", "ps0", "alice")
        a.auto_score, a.extra_credit = 3.5, 0.25
        h = gb.find_grade("hand", "nb", "ps0", "alice")
        h.auto_score, h.manual_score = 1.0, 4.1
        b = gb.find_grade("auto", "nb", "ps0", "bob")
        b.auto_score = 2.5
        gb.find_submission_notebook("nb", "ps0", "bob").late_submission_penalty = 1.2
        gb.db.commit()

    course.instructor("export", "--to", str(course.base / "nbgrader-export.csv"))
    nbgrader = {
        (r["student_id"], r["assignment"]): r
        for r in csv.DictReader((course.base / "nbgrader-export.csv").open())
    }
    return course, nbgrader


def export(course, lms, roster, *extra, root=None):
    path = course.base / f"{lms}-roster.csv"
    path.write_text(roster)
    args = ["grades", "export", "course101", "--lms", lms, "--roster", str(path)]
    args += ["--gradebook", str(course.instructor_dir / "gradebook.db"), *extra]
    root = course.exchange if root is None else root
    return subprocess.run(
        [script(), "--root", str(root), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def rows_of(text):
    return list(csv.reader(io.StringIO(text)))


def seal_of(course, student, assignment):
    (seal,) = [
        e
        for e in events(course, "seal")
        if e["student"] == student and e["assignment"] == assignment
    ]
    return seal


def same_time(a, b):
    parse = lambda t: datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))  # noqa: E731
    return parse(a) == parse(b)


def test_scores_are_what_nbgrader_export_writes(graded):
    course, nbgrader = graded
    proc = export(course, "canvas", CANVAS_ROSTER)
    assert proc.returncode == 0, proc.stderr
    header, *rows = rows_of(proc.stdout)
    by_login = {r[3]: dict(zip(header, r)) for r in rows}
    # nbgrader really penalised bob's late ps1, and ps0 has a partial penalty.
    assert float(nbgrader[("bob", "ps1")]["late_submission_penalty"]) > 0
    assert float(nbgrader[("bob", "ps0")]["late_submission_penalty"]) == 1.2
    for login, student in (("Alice", "alice"), ("bob", "bob")):
        for assignment, column in (("ps0", "ps0"), ("ps1", "ps1 (812)")):
            theirs = float(nbgrader[(student, assignment)]["score"])
            assert float(by_login[login][column]) == round(theirs, 4), (student, assignment)
    assert by_login["Alice"]["ps0"] == "7.85"  # 3.5 + 0.25 + 4.1 (manual over auto)
    assert by_login["bob"]["ps0"] == "1.3"  # 2.5 - 1.2
    assert by_login["bob"]["ps1 (812)"] == "0"  # late, penalty method zero
    assert float(by_login["Alice"]["ps1 (812)"]) > 0


def test_canvas_file_has_canvas_columns_and_its_own_assignment_column(graded):
    course, _ = graded
    proc = export(course, "canvas", CANVAS_ROSTER)
    assert proc.returncode == 0, proc.stderr
    header, *rows = rows_of(proc.stdout)
    # Canvas's import: Student, ID, SIS User ID, SIS Login ID, Section, then one column per
    # assignment; an existing assignment keeps its "Name (id)" header; nothing else (Canvas
    # would make any other column an assignment).
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "ps0", "ps1 (812)"]
    assert [r[:5] for r in rows] == [
        ["Adams, Alice", "4711", "S1001", "Alice", "Sec 01"],
        ["Brown, Bob", "4712", "S1002", "bob", "Sec 01"],
    ]
    # Standard CSV: quotes only where needed (the comma in "Adams, Alice").
    assert proc.stdout.splitlines()[1].startswith('"Adams, Alice",4711,S1001,Alice,Sec 01,')
    assert "sealed" not in proc.stderr
    # One side only: listed, never silently dropped.
    assert "in the gradebook but not in the roster, not exported: dave" in proc.stderr
    assert "in the roster but not in the gradebook, not exported: carol" in proc.stderr


def test_moodle_file_has_its_id_columns_and_a_feedback_column_with_the_seal(graded):
    course, _ = graded
    out = course.base / "moodle.csv"
    proc = export(course, "moodle", MOODLE_ROSTER, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    header, *rows = rows_of(out.read_text())
    assert header == [
        "First name", "Last name", "ID number", "Email address", "Username", "ps0", "ps1",
        "ps0 (feedback)", "ps1 (feedback)",
    ]  # fmt: skip
    alice = dict(zip(header, rows[0]))
    assert (alice["ID number"], alice["Email address"], alice["Username"]) == (
        "1001",
        "alice@uni.example",
        "Alice",
    )
    seal = seal_of(course, "alice", "ps1")
    text = alice["ps1 (feedback)"]
    assert text.startswith("Sealed ") and text.endswith(f", receipt {seal['receipt']}")
    assert same_time(text.split()[1].rstrip(","), seal["sealed"])
    assert alice["ps0 (feedback)"] == ""  # ps0 never went through the exchange
    assert "wrote 2 student(s) x 2 assignment(s) for Moodle" in proc.stderr


def test_blackboard_file_quotes_every_field_and_has_text_columns(graded):
    course, _ = graded
    proc = export(course, "blackboard", BLACKBOARD_ROSTER)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # Blackboard's comma-delimited upload: every field within quotes; Username identifies
    # the student; the existing column keeps its "|column ID"; new columns become text columns.
    assert lines[0] == (
        '"Last Name","First Name","Username","Student ID","ps0",'
        '"ps1 [Total Pts: 10 Score] |4711","ps0 sealed","ps0 receipt","ps1 sealed","ps1 receipt"'
    )
    header, *rows = rows_of(proc.stdout)
    bob = dict(zip(header, rows[1]))
    assert (bob["Username"], bob["Student ID"]) == ("BOB", "S1002")
    seal = seal_of(course, "bob", "ps1")
    assert bob["ps1 receipt"] == seal["receipt"]
    assert same_time(bob["ps1 sealed"], seal["sealed"])
    assert all(line.startswith('"') and line.endswith('"') for line in lines)


def test_without_the_exchange_it_says_so_once_and_writes_scores(graded, tmp_path):
    course, _ = graded
    out = tmp_path / "bb.csv"
    proc = export(
        course, "blackboard", BLACKBOARD_ROSTER, "-o", str(out), "--json", root=tmp_path / "gone"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("no sealed time or receipt columns") == 1
    header = rows_of(out.read_text())[0]
    assert header[-1] == "ps1 [Total Pts: 10 Score] |4711"
    summary = json.loads(proc.stdout)
    assert summary["exported"] == ["alice", "bob"]
    assert (summary["not_in_roster"], summary["not_in_gradebook"]) == (["dave"], ["carol"])
    assert summary["seals"] is False


def test_a_roster_without_the_lms_ids_is_refused(graded):
    course, _ = graded
    proc = export(course, "blackboard", "id,name\nalice,Alice\n")
    assert proc.returncode == 1
    assert "none of the columns Blackboard names students by (Username" in proc.stderr
    proc = export(course, "canvas", "Student,ID,SIS Login ID\nA,1,../eve\n")
    assert proc.returncode == 1
    assert 'line 2: refusing student id "../eve"' in proc.stderr
