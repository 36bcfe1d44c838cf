"""What the shipped values and manifests do on a real cluster (issue 12).

Each test reads deploy/ (and docs/ where the docs are the config a person copies) and runs it
through the real thing where one is installed here: KubeSpawner for notebook pods, podsim's
kubelet for fsGroup ownership management, the OAuthenticator package for the login example.
"""

import asyncio
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

from podsim import CSI_NFS, Volume, apply_fs_group
from podsim.chart import chart_values, hub_pod

from ..kube import pod_manifest
from .z2jh import DEPLOY, DOCS, hub_config, kind_values, load_all, load_one, merge, values

K8S = DEPLOY / "k8s"
KIND = DEPLOY / "kind"
JOB = K8S / "provision-job.yaml"
CRONJOB = K8S / "audit-cronjob.yaml"
KUSTOMIZATION = K8S / "kustomization.yaml"
EXCHANGE = "nbgrader-exchange"
BIN = Path(sys.prefix) / "bin"


def _job_pod():
    return load_one(JOB)["spec"]["template"]["spec"]


def _cron_pod():
    return load_one(CRONJOB)["spec"]["jobTemplate"]["spec"]["template"]["spec"]


# --- 1. fsGroup: kubelet leaves the exchange as provisioned --------------------------------


def _exchange_claims(spec):
    """{pod volume name: read-only?} of the exchange claim's volumes in a pod spec."""
    return {
        v["name"]: bool(v["persistentVolumeClaim"].get("readOnly"))
        for v in spec.get("volumes") or []
        if v.get("persistentVolumeClaim", {}).get("claimName") == EXCHANGE
    }


def _pods_mounting_the_exchange(tmp_path):
    """name -> pod spec, for every pod of a deployment that mounts the exchange volume."""
    vals = kind_values()
    vals["custom"]["nbgrader"]["hubExchangePath"] = str(tmp_path / "hub-view")
    c = hub_config(vals)
    pods = {"hub": hub_pod(chart_values(values()))["spec"]}
    for user, groups in (("prof", ["formgrade-course101"]), ("alice", ["nbgrader-course101"])):
        pods[user] = pod_manifest(user, groups, config=c)["spec"]
    pods["provision Job"] = _job_pod()
    pods["audit CronJob"] = _cron_pod()
    for name, spec in pods.items():
        assert _exchange_claims(spec), f"{name} does not mount the exchange"
    return pods


def _tree(root: Path):
    """Relative path -> (uid, gid, mode bits incl. setgid) of every entry."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in [".", *dirs, *files]:
            path = Path(dirpath, name) if name != "." else Path(dirpath)
            st = path.lstat()
            out[str(path.relative_to(root))] = (st.st_uid, st.st_gid, st.st_mode & 0o7777)
    return out


def _cli(*args, stdin=None):
    return subprocess.run(
        [str(BIN / "nbgrader-k8s"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="chown and kubelet's chgrp need root")
def test_pod_starts_on_a_csi_driver_with_ownership_management_leave_the_exchange_alone(
    tmp_path,
):
    """csi-driver-nfs (fsGroupPolicy File) applies each pod's fsGroup to the whole volume at
    every start, unless OnRootMismatch and the root already matches. The provisioning Job's
    root and every pod's fsGroup must agree, so many starts change nothing."""
    nb = values()["custom"]["nbgrader"]
    volume = tmp_path / "pvc"
    volume.mkdir(mode=0o755)  # fresh: root-owned
    [init] = _job_pod()["initContainers"]
    env = {e["name"]: e["value"] for e in init["env"]}
    env.update(PATH=os.environ["PATH"], NBGRADER_K8S_ROOT=str(volume))
    subprocess.run(init["command"], env=env, check=True, timeout=60)
    provisioned = _cli(
        "--root", str(volume), "provision", "course101", "--students", "-", stdin="alice\nbob\n"
    )
    assert provisioned.returncode == 0, provisioned.stderr
    (volume / "course101" / "outbound" / "ps1").mkdir(mode=0o755)
    (volume / "course101" / "outbound" / "ps1" / "a.ipynb").write_text("{}")
    for rel in ("course101/outbound/ps1", "course101/outbound/ps1/a.ipynb"):
        os.chown(volume / rel, nb["uid"], nb["gid"])
    os.chmod(volume / "course101" / "outbound" / "ps1", 0o755)  # as release leaves it
    os.chmod(volume / "course101" / "outbound" / "ps1" / "a.ipynb", 0o644)
    before = _tree(volume)
    # The skeleton is the keeper's (root) in its sealed/shared shapes; what pods write inside
    # is 1000:100 0755/0644 (docs/security.md, "The skeleton").
    ps1 = {"course101/outbound/ps1", "course101/outbound/ps1/a.ipynb"}
    skeleton = {path: owner_mode for path, owner_mode in before.items() if path not in ps1}
    assert {mode for (_u, _g, mode) in skeleton.values()} == {0o2755, 0o2775}
    assert {(u, g) for (u, g, _m) in skeleton.values()} == {(0, nb["gid"])}
    assert {before[path] for path in ps1} == {
        (nb["uid"], nb["gid"], 0o755),
        (nb["uid"], nb["gid"], 0o644),
    }

    pods = _pods_mounting_the_exchange(tmp_path)
    exchange = Volume(volume, CSI_NFS)
    for _round in range(5):
        for name, spec in pods.items():
            ctx = spec.get("securityContext") or {}
            for _volume_name, read_only in _exchange_claims(spec).items():
                change = apply_fs_group(
                    exchange, ctx.get("fsGroup"), ctx.get("fsGroupChangePolicy"), read_only
                )
                assert change is None or (change.skipped and not change.errors), (
                    f"{name}: kubelet rewrote the exchange ({change})"
                )
    assert _tree(volume) == before
    # What made that possible: the exchange's group with group rwx + setgid on the root (the
    # keeper's), so the sealed directories below it were never made group-writable.
    assert before["."] == (0, nb["gid"], 0o2775)
    audit = _cli(
        "--root", str(volume), "audit", "course101", "--students", "-", stdin="alice\nbob\n"
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_pods_with_an_fs_group_use_the_exchange_group_and_on_root_mismatch(tmp_path):
    gid = values()["custom"]["nbgrader"]["gid"]
    with_fs_group = []
    for name, spec in _pods_mounting_the_exchange(tmp_path).items():
        ctx = spec.get("securityContext") or {}
        if ctx.get("fsGroup") is None:
            continue  # no fsGroup: kubelet never touches the volume's ownership
        with_fs_group.append(name)
        assert (ctx["fsGroup"], ctx.get("fsGroupChangePolicy")) == (gid, "OnRootMismatch"), name
    # The hub and notebook pods keep an fsGroup: their own home and database volumes need it.
    assert {"hub", "prof", "alice"} <= set(with_fs_group)


# --- 2. the base values define no people ------------------------------------------------------


def _demo_people():
    """Everyone the kind walk-through names (its courses, roster, admins)."""
    kind = load_one(KIND / "values-kind.yaml")
    people = set(kind["hub"]["config"]["Authenticator"].get("admin_users") or [])
    for course in kind["custom"]["nbgrader"]["courses"].values():
        people |= set(course.get("students") or []) | set(course.get("instructors") or [])
    for text in load_one(KIND / "rosters.yaml")["data"].values():
        people |= {x.strip() for x in text.splitlines() if x.strip() and not x.startswith("#")}
    return people


def test_the_base_values_and_manifests_name_no_people():
    vals = values()
    assert vals["custom"]["nbgrader"]["courses"] == {}
    c = hub_config(vals)
    assert not c.JupyterHub.get("load_groups")
    for section in ("Authenticator", "JupyterHub"):
        for key in ("allowed_users", "admin_users", "blocked_users", "load_groups"):
            assert not c[section].get(key), f"{section}.{key}"
    [rosters] = load_all(K8S / "rosters.yaml")
    assert not rosters.get("data")

    people = _demo_people()
    assert {"prof", "alice", "bob"} <= people
    word = re.compile(r"\b(" + "|".join(map(re.escape, sorted(people))) + r")\b")
    shipped = [p for p in DEPLOY.rglob("*") if p.is_file() and KIND not in p.parents]
    assert any(p.name == "values.yaml" for p in shipped)
    found = {str(p.relative_to(DEPLOY)): word.findall(p.read_text()) for p in shipped}
    assert {k: v for k, v in found.items() if v} == {}


# --- 3. the authenticator example can log people in -------------------------------------------


def _docs_overrides():
    """The `# my-values.yaml` block of docs/deploy-z2jh.md, parsed."""
    text = (DOCS / "deploy-z2jh.md").read_text()
    [block] = [
        b for b in re.findall(r"^```yaml\n(.*?)^```", text, re.M | re.S) if "my-values.yaml" in b
    ]
    return yaml.safe_load(block)


def test_the_docs_authenticator_example_lets_course_members_in_and_no_one_else():
    pytest.importorskip("oauthenticator")
    vals = merge(values(), _docs_overrides())
    c = hub_config(vals)
    name = c.JupyterHub.authenticator_class
    [entry] = [e for e in entry_points(group="jupyterhub.authenticators") if e.name == name]
    authenticator = entry.load()(config=c)
    for trait in ("client_id", "client_secret", "oauth_callback_url"):
        assert getattr(authenticator, trait), trait
    assert authenticator.oauth_callback_url.endswith("/hub/oauth_callback")
    assert not authenticator.allow_all

    async def login(username, idp_groups):
        auth_state = {"oauth_user": {"preferred_username": username, "groups": idp_groups}}
        model = {"name": username, "admin": None, "auth_state": auth_state}
        if authenticator.manage_groups:
            model["groups"] = sorted(await authenticator.get_user_groups(auth_state))
        return await authenticator.check_allowed(username, model), model.get("groups", [])

    ok, groups = asyncio.run(login("jdoe", ["formgrade-course101", "staff"]))
    assert ok
    assert not asyncio.run(login("mallory", ["staff"]))[0]
    # The groups the identity provider sent are what the hook mounts by.
    manifest = pod_manifest("jdoe", groups, config=c)
    mounts = {m["mountPath"] for m in manifest["spec"]["containers"][0]["volumeMounts"]}
    assert "/mnt/exchange/course101" in mounts


# --- 7. the hub image is named once, pull secrets have a place --------------------------------


def _containers(spec):
    return list(spec.get("initContainers") or []) + list(spec["containers"])


def test_the_hub_image_is_named_once_for_the_manifests_and_matches_the_values():
    kust = load_one(KUSTOMIZATION)
    manifests = sorted(p.name for p in K8S.glob("*.yaml") if p != KUSTOMIZATION)
    assert sorted(kust["resources"]) == manifests
    [image] = kust["images"]
    hub = values()["hub"]["image"]
    assert (image["newName"], str(image["newTag"])) == (hub["name"], str(hub["tag"]))
    used = {c["image"] for spec in (_job_pod(), _cron_pod()) for c in _containers(spec)}
    assert used == {image["name"]}
    # The registry name appears once in deploy/k8s: in kustomization.yaml.
    mentions = {p.name: p.read_text().count(hub["name"]) for p in K8S.glob("*.yaml")}
    assert {k: v for k, v in mentions.items() if v} == {"kustomization.yaml": 1}
    # The kind overlay reuses deploy/k8s and only renames the image.
    kind = load_one(KIND / "kustomization.yaml")
    assert "../k8s" in kind["resources"]
    assert [i["name"] for i in kind["images"]] == [image["newName"]]


KUBECTL = shutil.which("kubectl")


def _kustomize(directory):
    if not KUBECTL:
        if os.environ.get("CI"):
            raise RuntimeError("CI must render the kustomizations, but kubectl is missing")
        pytest.skip("SKIPPED LOUDLY: no kubectl to run `kubectl kustomize`")
    out = subprocess.run(
        [KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _pod_specs(objects):
    for obj in objects:
        if obj["kind"] == "Job":
            yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]
        elif obj["kind"] == "CronJob":
            yield obj["metadata"]["name"], obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_kubectl_apply_k_runs_the_values_hub_image_everywhere():
    hub = values()["hub"]["image"]
    rendered = _kustomize(K8S)
    images = {name: {c["image"] for c in _containers(spec)} for name, spec in _pod_specs(rendered)}
    assert images == {
        "nbgrader-provision": {f"{hub['name']}:{hub['tag']}"},
        "nbgrader-audit": {f"{hub['name']}:{hub['tag']}"},
        "nbgrader-roster-sync": {f"{hub['name']}:{hub['tag']}"},
    }
    assert {o["metadata"].get("namespace") for o in rendered} == {"jhub"}
    kind = _kustomize(KIND)
    kind_images = {c["image"] for _n, spec in _pod_specs(kind) for c in _containers(spec)}
    assert kind_images == {"nbgrader-k8s-hub:dev"}
    [rosters] = [o for o in kind if o["metadata"]["name"] == "nbgrader-rosters"]
    assert {f"{c}.txt" for c in kind_values()["custom"]["nbgrader"]["courses"]} == set(
        rosters["data"]
    )
    assert any(o["kind"] == "PersistentVolume" for o in kind)


def test_pull_secrets_have_one_place_per_kind_of_pod():
    vals = values()
    assert vals["imagePullSecrets"] == []  # the chart's: hub, notebook and pre-puller pods
    [account] = load_all(K8S / "serviceaccount.yaml")
    assert account["kind"] == "ServiceAccount" and "imagePullSecrets" in account
    for spec in (_job_pod(), _cron_pod()):
        assert spec["serviceAccountName"] == account["metadata"]["name"]
        assert spec["automountServiceAccountToken"] is False


# --- 8. smaller ones -------------------------------------------------------------------------


def test_the_instructor_image_is_pre_pulled():
    vals = values()
    pulled = list(vals["prePuller"]["extraImages"].values())
    assert vals["custom"]["nbgrader"]["instructorImage"] in pulled
    # And it is the image instructors get.
    c = hub_config(
        merge(vals, {"custom": {"nbgrader": {"courses": {"c": {"instructors": ["t"]}}}}})
    )
    image = pod_manifest("t", ["formgrade-c"], config=c)["spec"]["containers"][0]["image"]
    assert [f"{i['name']}:{i['tag']}" for i in pulled] == [image]


def test_exchange_volumes_and_classes_are_retained():
    """With reclaimPolicy Delete, deleting the claim erases every submission."""
    found = {}
    for path in DEPLOY.rglob("*.yaml"):
        for doc in load_all(path):
            if doc.get("kind") == "StorageClass":
                found[f"{path.name}:StorageClass"] = doc.get("reclaimPolicy")
            elif doc.get("kind") == "PersistentVolume":
                found[f"{path.name}:PV"] = doc["spec"].get("persistentVolumeReclaimPolicy")
    assert found and set(found.values()) == {"Retain"}, found
    claim = load_one(K8S / "exchange-pvc.yaml")["spec"]["storageClassName"]
    classes = [
        doc["metadata"]["name"]
        for path in DEPLOY.rglob("*.yaml")
        for doc in load_all(path)
        if doc.get("kind") == "StorageClass"
    ]
    assert claim in classes


def test_base_images_are_pinned():
    for dockerfile in sorted((DEPLOY / "images").glob("*/Dockerfile")):
        text = dockerfile.read_text()
        args = dict(re.findall(r"^ARG (\w+)=(\S+)", text, re.M))
        for ref in re.findall(r"^FROM (\S+)", text, re.M):
            ref = re.sub(r"\$\{(\w+)\}", lambda m, args=args: args[m.group(1)], ref)
            name, _, tag = ref.rpartition(":")
            assert name and tag and "/" not in tag, f"{dockerfile}: {ref} has no tag"
            assert tag != "latest", f"{dockerfile}: {ref}"


# What Zero to JupyterHub 4.2.0 ships (its Chart.yaml appVersion and the hub image's
# requirements.txt), read from the chart's sources.
CHART = {"version": "4.2.0", "JupyterHub": "5.3.0", "KubeSpawner": "7.0.0", "kubeVersion": "1.28"}


def test_compatibility_claims_what_the_pinned_chart_ships():
    hub_dockerfile = (DEPLOY / "images" / "hub" / "Dockerfile").read_text()
    assert re.search(r"^ARG Z2JH_VERSION=(\S+)", hub_dockerfile, re.M)[1] == CHART["version"]
    pinned = set()
    for page in [*DOCS.glob("*.md"), DEPLOY / "z2jh" / "values.yaml"]:
        pinned |= set(re.findall(r"--version (\d+\.\d+\.\d+)", page.read_text()))
    assert pinned == {CHART["version"]}
    text = (DOCS / "compatibility.md").read_text()
    rows = {
        line.split("|")[1].strip(): line
        for line in text.splitlines()
        if line.startswith("| ") and line.count("|") > 3
    }
    assert f"Zero to JupyterHub {CHART['version']}" in rows["Zero to JupyterHub"]
    assert f"JupyterHub {CHART['JupyterHub']}" in rows["JupyterHub"]
    assert f"KubeSpawner {CHART['KubeSpawner']}" in rows["KubeSpawner"]
    assert CHART["kubeVersion"] in rows["Kubernetes"]
    # No vague "what 4.x ships" claim: other 4.x releases pin other versions.
    assert "4.x ships" not in text
