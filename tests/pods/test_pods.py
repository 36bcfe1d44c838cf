"""The exchange in simulated pods: the lifecycle works, and isolation holds.

Every command here runs in the pod the real KubeSpawner builds for that user with our hook:
uid 1000, only the manifest's volumeMounts of the exchange volume visible.
"""

import sys

import pytest

from nbgrader_k8s_exchange.demo import score_in_feedback

from .conftest import write_course_source

ANSWER = (
    "from nbgrader_k8s_exchange.demo import answer_notebook; "
    "answer_notebook(__import__('pathlib').Path('ps1/squares.ipynb'), {correct})"
)


@pytest.fixture
def course(cluster):
    """prof teaches course101; alice and bob take it; course202 exists with someone's work."""
    cluster.add_user("prof", ["formgrade-course101"])
    cluster.add_user("alice", ["nbgrader-course101"])
    cluster.add_user("bob", ["nbgrader-course101"])
    cluster.add_user("zed", ["nbgrader-course202"])
    write_course_source(cluster, "prof")
    cluster.nbgrader("prof", "generate_assignment", "ps1", "--CourseDirectory.root=course101")
    cluster.nbgrader("prof", "release_assignment", "ps1", "--CourseDirectory.root=course101")
    return cluster


def _submit(cluster, student, correct):
    cluster.nbgrader(student, "fetch_assignment", "ps1")
    cluster.run(student, sys.executable, "-c", ANSWER.format(correct=correct))
    cluster.nbgrader(student, "submit", "ps1")


def test_lifecycle_in_pods(course):
    cluster = course
    _submit(cluster, "alice", True)
    _submit(cluster, "bob", False)
    inbound = cluster.volume / "course101" / "inbound"
    assert [p.name.split("+")[0] for p in (inbound / "alice").iterdir() if p.name[0] != "."] == [
        "ps1"
    ]

    prof = ["--CourseDirectory.root=course101"]
    listing = cluster.nbgrader("prof", "list", "--inbound", *prof).stdout
    assert "course101 alice ps1" in listing and "course101 bob ps1" in listing
    out = cluster.nbgrader("prof", "collect", "ps1", *prof).stdout
    assert "Processing 2 submissions" in out
    cluster.nbgrader("prof", "autograde", "ps1", *prof)
    cluster.nbgrader("prof", "generate_feedback", "ps1", *prof)
    cluster.nbgrader("prof", "release_feedback", "ps1", *prof)

    for student, score in (("alice", "2.0 / 2.0"), ("bob", "0.0 / 2.0")):
        assert "feedback ready" in cluster.nbgrader(student, "list", "--cached").stdout
        cluster.nbgrader(student, "fetch_feedback", "ps1")
        [html] = (cluster.home(student) / "ps1" / "feedback").glob("*/squares.html")
        assert score_in_feedback(html.read_text()) == score


def test_student_pod_sees_and_writes_only_its_own(course):
    cluster = course
    _submit(cluster, "bob", True)
    (cluster.volume / "course202" / "outbound" / "secret").mkdir(parents=True)

    # What alice's pod can see of the exchange at all.
    seen = cluster.sh("alice", "cd /mnt/exchange && find . | sort").stdout.split()
    assert seen == sorted(
        [
            ".", "./course101", "./course101/outbound", "./course101/outbound/ps1",
            "./course101/outbound/ps1/squares.ipynb", "./course101/inbound",
            "./course101/inbound/alice", "./course101/feedback_public",
            "./course101/feedback_public/alice",
        ]
    )  # fmt: skip
    attempts = {
        "read bob's inbound": "ls /mnt/exchange/course101/inbound/bob",
        "write outbound": "touch /mnt/exchange/course101/outbound/ps1/x",
        "replace a release": "mv /mnt/exchange/course101/outbound/ps1 /tmp/x",
        "write own feedback": "touch /mnt/exchange/course101/feedback_public/alice/x.html",
        "create bob's inbound": "mkdir /mnt/exchange/course101/inbound/bob2",
        "write the exchange root": "mkdir /mnt/exchange/course303",
        "reach course202": "ls /mnt/exchange/course202",
    }
    for what, cmd in attempts.items():
        assert cluster.sh("alice", cmd).returncode != 0, what
    assert cluster.sh("alice", "touch /mnt/exchange/course101/inbound/alice/ok").returncode == 0


def test_student_pod_cannot_submit_as_someone_else(course):
    cluster = course
    cluster.nbgrader("alice", "fetch_assignment", "ps1")
    proc = cluster.nbgrader("alice", "submit", "ps1", "--student=bob", check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout
    assert not any((cluster.volume / "course101" / "inbound" / "bob").iterdir())


def test_instructor_pod_reaches_only_its_course(course):
    cluster = course
    (cluster.volume / "course202" / "inbound" / "zed" / "ps1+x+y").mkdir(parents=True)
    seen = cluster.sh("prof", "ls /mnt/exchange").stdout.split()
    assert seen == ["course101"]
    assert cluster.sh("prof", "ls /mnt/exchange/course202").returncode != 0
    # ...and can write all of it.
    assert cluster.sh("prof", "mkdir /mnt/exchange/course101/outbound/tmp-x").returncode == 0
