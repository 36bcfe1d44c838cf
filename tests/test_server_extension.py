"""The JupyterLab Assignments tab path: nbgrader's own assignment_list handlers, our classes."""

import os

import pytest
from nbgrader.server_extensions.assignment_list.handlers import AssignmentList

SUBMISSION_KEYS = {
    "course_id", "student_id", "assignment_id", "timestamp", "status", "path", "notebooks",
    "has_local_feedback", "has_exchange_feedback", "feedback_updated", "local_feedback_path",
}  # fmt: skip
NOTEBOOK_KEYS = {
    "notebook_id", "path", "has_local_feedback", "has_exchange_feedback",
    "local_feedback_path", "feedback_updated",
}  # fmt: skip


@pytest.fixture
def tab(released, monkeypatch):
    """alice's Assignments tab: the manager the server extension builds, in her home."""
    home = released.add_student("alice")
    for key, value in released._env("alice", home).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(home)
    manager = AssignmentList()
    manager.root_dir = str(home)
    return released, manager


def _by_status(value):
    return {(a["assignment_id"], a["status"]) for a in value}


def test_tab_lists_fetches_submits_and_shows_feedback(tab):
    course, manager = tab
    listed = manager.list_assignments(course_id="course101")
    assert listed["success"], listed
    assert _by_status(listed["value"]) == {("ps1", "released")}
    [released] = listed["value"]
    assert released["notebooks"][0]["notebook_id"] == "squares"

    assert manager.fetch_assignment("course101", "ps1") == {"success": True}
    listed = manager.list_assignments(course_id="course101")["value"]
    assert _by_status(listed) == {("ps1", "fetched")}
    assert listed[0]["path"] == "ps1"  # relative to the server root, as the tab expects

    assert manager.submit_assignment("course101", "ps1") == {"success": True}
    listed = manager.list_assignments(course_id="course101")["value"]
    assert _by_status(listed) == {("ps1", "fetched"), ("ps1", "submitted")}
    [submitted] = [a for a in listed if a["status"] == "submitted"]
    assert submitted["student_id"] == "alice"
    [sub] = submitted["submissions"]
    assert set(sub) == SUBMISSION_KEYS
    assert set(sub["notebooks"][0]) == NOTEBOOK_KEYS
    assert not sub["has_exchange_feedback"]

    # The instructor grades and releases feedback; the tab then offers it, and fetches it.
    course.instructor("collect", "ps1")
    course.instructor("autograde", "ps1")
    course.instructor("generate_feedback", "ps1")
    course.instructor("release_feedback", "ps1")
    listed = manager.list_assignments(course_id="course101")["value"]
    [sub] = [a for a in listed if a["status"] == "submitted"][0]["submissions"]
    assert sub["has_exchange_feedback"] and not sub["has_local_feedback"]
    assert manager.fetch_feedback("course101", "ps1") == {"success": True}
    listed = manager.list_assignments(course_id="course101")["value"]
    [sub] = [a for a in listed if a["status"] == "submitted"][0]["submissions"]
    assert sub["has_local_feedback"] and not sub["feedback_updated"]
    assert os.path.isdir(os.path.join(course.student_home("alice"), sub["local_feedback_path"]))


def test_tab_reports_errors_without_crashing(tab):
    course, manager = tab
    result = manager.fetch_assignment("course101", "nope")
    assert result["success"] is False
    assert "nope" in result["value"]
