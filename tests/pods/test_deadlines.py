"""Due dates and extensions in simulated pods: each student's pod sees the course-wide due
date and its own extension, and nobody else's."""

import datetime
import os
import sys

from .conftest import write_course_source

PROF = ["--CourseDirectory.root=course101"]
EXCHANGE = "/mnt/exchange/course101"


def test_a_students_pod_sees_its_own_extension_and_nobody_elses(cluster):
    cluster.add_user("prof", ["formgrade-course101"])
    cluster.add_user("alice", ["nbgrader-course101"])
    cluster.add_user("bob", ["nbgrader-course101"])
    write_course_source(cluster, "prof")
    cluster.nbgrader("prof", "generate_assignment", "ps1", *PROF)
    due = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)
    stamp = due.strftime("%Y-%m-%d %H:%M:%S UTC")
    cluster.nbgrader("prof", "db", "assignment", "add", "ps1", f"--duedate={stamp}", *PROF)
    cluster.nbgrader("prof", "release_assignment", "ps1", *PROF)
    script = os.path.join(os.path.dirname(sys.executable), "nbgrader-k8s")
    extend = [script, "deadlines", "extend", "course101", "ps1", "alice", "--by", "1d"]
    cluster.run("prof", *extend, "--new-student")

    alice = cluster.nbgrader("alice", "list").stdout
    assert "with your extension, 3d 23h left" in alice
    bob = cluster.nbgrader("bob", "list").stdout
    assert "course101 ps1, due" in bob and "extension" not in bob

    own = f"{EXCHANGE}/feedback_public/alice/.nbk8s-deadlines.json"
    theirs = f"{EXCHANGE}/feedback_public/alice/.nbk8s-deadlines.json".replace("alice", "bob")
    # A student cannot grant an extension from their pod, not even to themselves.
    grant = [*extend[:5], "bob", "--by", "1w", "--new-student"]
    assert cluster.run("bob", *grant, check=False).returncode != 0
    assert "extension" not in cluster.nbgrader("bob", "list").stdout
    assert cluster.sh("alice", f"cat {own}").returncode == 0
    assert cluster.sh("bob", f"cat {own}").returncode != 0, "bob reads alice's extension"
    assert cluster.sh("alice", f"cat {theirs}").returncode != 0
    # Neither the course-wide file nor her own can be rewritten from her pod.
    for path in (own, f"{EXCHANGE}/outbound/.nbk8s-deadlines.json"):
        assert cluster.sh("alice", f"echo '{{}}' > {path}").returncode != 0, path
        assert cluster.sh("alice", f"mv {path} {path}.x").returncode != 0, path
