"""The notary in a simulated pod, as deploy/k8s/notary.yaml runs it (the whole volume, uid
1000, no fsGroup): it seals what a student submits from their own pod, and its ledger is out
of reach of every student's and instructor's pod (their mounts never include it).
"""

import json
import os
import sys

from nbgrader_k8s_exchange.kubespawner import exchange_mounts

from ..deploy.z2jh import DEPLOY, load_all
from .conftest import write_course_source
from .test_pods import _submit

NOTARY = os.path.join(sys.prefix, "bin", "nbgrader-k8s")


def _notary_pod():
    """The Pod the notary Deployment creates."""
    (deployment,) = [
        d for d in load_all(DEPLOY / "k8s" / "notary.yaml") if d["kind"] == "Deployment"
    ]
    template = deployment["spec"]["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "notary"},
        "spec": template["spec"],
    }


def test_notary_pod_seals_and_its_ledger_is_out_of_reach(cluster):
    # The volume root as the provisioning Job's init container leaves it (docs/storage.md).
    os.chown(cluster.volume, 1000, 100)
    cluster.add_user("prof", ["formgrade-course101"])
    cluster.add_user("alice", ["nbgrader-course101"])
    write_course_source(cluster, "prof")
    cluster.nbgrader("prof", "generate_assignment", "ps1", "--CourseDirectory.root=course101")
    cluster.nbgrader("prof", "release_assignment", "ps1", "--CourseDirectory.root=course101")
    _submit(cluster, "alice", True)

    cluster.manifests["notary"] = _notary_pod()
    proc = cluster.run("notary", NOTARY, "notary", "run", "--once", "--quiet")
    assert proc.returncode == 0, proc.stdout
    ledger = cluster.volume / ".nbk8s-notary" / "course101" / "ledger.jsonl"
    records = [json.loads(line) for line in ledger.read_text().splitlines()]
    (seal,) = [r for r in records if r["event"] == "seal"]
    assert seal["student"] == "alice"
    assert (ledger.stat().st_uid, ledger.stat().st_gid) == (1000, 100)
    assert cluster.run("notary", NOTARY, "notary", "verify").returncode == 0

    ledger_in_pod = "/mnt/exchange/.nbk8s-notary/course101/ledger.jsonl"
    for user in ("alice", "prof"):
        mounts = cluster.manifests[user]["spec"]["containers"][0]["volumeMounts"]
        sub_paths = [m.get("subPath", "") for m in mounts if m["name"] == "nbgrader-exchange"]
        assert sub_paths and not any(p.startswith(".nbk8s-notary") for p in sub_paths), sub_paths
        assert cluster.sh(user, f"cat {ledger_in_pod}").returncode != 0, user
        listing = cluster.sh(user, "ls -a /mnt/exchange").stdout.split()
        assert ".nbk8s-notary" not in listing, (user, listing)
    # The same holds for the mounts the hook computes for any user.
    for student_of, instructor_of in ((["course101"], []), ([], ["course101"])):
        _volumes, mounts = exchange_mounts("alice", student_of, instructor_of)
        assert mounts and not any(m["subPath"].startswith(".nbk8s-") for m in mounts), mounts
    # alice reads her confirmation and cannot rewrite it; prof sees the index (a copy).
    conf = "/mnt/exchange/course101/feedback_public/alice/.nbk8s-seals.json"
    shown = json.loads(cluster.sh("alice", f"cat {conf}", check=True).stdout)
    assert shown["seals"][0]["receipt"] == seal["receipt"]
    assert cluster.sh("alice", f"echo x > {conf}").returncode != 0
    index = cluster.sh("prof", "cat /mnt/exchange/course101/.nbk8s-notary/index.json", check=True)
    assert json.loads(index.stdout)["copy_of"] == "ledger"
