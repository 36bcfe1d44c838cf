"""collect: newest per student, --update, --before-duedate, --student."""

import datetime
import time

from nbgrader_k8s_exchange.demo import answer_notebook


def _collected_timestamp(course, student):
    path = course.instructor_dir / "submitted" / student / "ps1" / "timestamp.txt"
    return path.read_text() if path.exists() else None


def _submissions(course, student):
    inbound = course.exchange / "course101" / "inbound" / student
    return [
        (p / "timestamp.txt").read_text()
        for p in sorted(inbound.iterdir())
        if not p.name.startswith(".")
    ]


def test_update_replaces_only_with_newer(released):
    course = released
    course.submit_answer("alice", "ps1", False)
    course.instructor("collect", "ps1")
    first = _collected_timestamp(course, "alice")
    course.submit_answer("alice", "ps1", True)
    newest = _submissions(course, "alice")[-1]
    assert newest != first

    out = course.instructor("collect", "ps1")
    assert "already exists, use --update" in out
    assert _collected_timestamp(course, "alice") == first

    out = course.instructor("collect", "--update", "ps1")
    assert "Updating submission: alice ps1" in out
    assert _collected_timestamp(course, "alice") == newest
    out = course.instructor("collect", "--update", "ps1")
    assert "No newer submission to collect" in out
    # The replaced copy holds the new notebook, and nothing is left beside it.
    siblings = list((course.instructor_dir / "submitted" / "alice").iterdir())
    assert [p.name for p in siblings] == ["ps1"]


def test_before_duedate_picks_last_on_time_submission(released):
    course = released
    course.submit_answer("alice", "ps1", True)
    time.sleep(1.2)
    due = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    course.instructor("db", "assignment", "add", "ps1", f"--duedate={due}")
    time.sleep(1.2)
    course.submit_answer("alice", "ps1", False)
    on_time, late = _submissions(course, "alice")

    course.instructor("collect", "--before-duedate", "ps1")
    assert _collected_timestamp(course, "alice") == on_time
    # Without the flag the newest (late) one is chosen.
    course.instructor("collect", "--update", "ps1")
    assert _collected_timestamp(course, "alice") == late


def test_student_filter(released):
    course = released
    for student in ("alice", "bob"):
        course.submit_answer(student, "ps1", True)
    out = course.instructor("collect", "--student=bob", "ps1")
    assert "Processing 1 submissions" in out
    assert _collected_timestamp(course, "bob") and not _collected_timestamp(course, "alice")


def test_nothing_to_collect_is_a_warning_not_an_error(released):
    out = released.instructor("collect", "ps1")
    assert "No submissions of 'ps1'" in out


def test_answer_helper_changes_notebook(released, tmp_path):
    """Guard for the helpers the other tests rely on."""
    course = released
    course.student("alice", "fetch_assignment", "ps1")
    nb = course.student_home("alice") / "ps1" / "squares.ipynb"
    before = nb.read_text()
    answer_notebook(nb, True)
    assert nb.read_text() != before
