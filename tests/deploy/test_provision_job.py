"""deploy/k8s/provision-job.yaml and audit-cronjob.yaml do what they say.

The containers run as their manifests say: in a simulated pod (uid 1000:100, only the
volumeMounts of the exchange volume, read-only where marked; the rosters ConfigMap's keys are
put in the pod's home and ROSTER_DIR pointed there), except the Job's root init container,
run directly (it is a chown of the volume root).
"""

import copy
import os
import subprocess
import sys

import pytest

from podsim import namespaces_available, run_in_pod

from .z2jh import DEPLOY, load_one

JOB = DEPLOY / "k8s" / "provision-job.yaml"
# The base roster is empty (it names no one): the kind overlay's demo roster patches it.
ROSTERS = DEPLOY / "kind" / "rosters.yaml"
CRONJOB = DEPLOY / "k8s" / "audit-cronjob.yaml"

_WHY_NOT = namespaces_available()
if _WHY_NOT and os.environ.get("CI"):
    raise RuntimeError(f"CI must run the pod tests, but: {_WHY_NOT}")


def _env(container):
    return {e["name"]: e["value"] for e in container.get("env") or []}


def _pod(spec, container):
    """The pod podsim runs: ``container`` with its exchange-volume mounts only."""
    claims = {v["name"] for v in spec["volumes"] if "persistentVolumeClaim" in v}
    container = copy.deepcopy(container)
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] in claims]
    volumes = [v for v in spec["volumes"] if v["name"] in claims]
    return {"spec": {"containers": [container], "volumes": volumes}}


def _roster_students():
    students = {}
    for key, text in load_one(ROSTERS)["data"].items():
        lines = [x.strip() for x in text.splitlines()]
        students[key.removesuffix(".txt")] = [x for x in lines if x and not x.startswith("#")]
    return students


def _owner_mode(path):
    st = path.lstat()
    return st.st_uid, st.st_gid, st.st_mode & 0o7777


def test_job_provisions_every_roster_on_a_fresh_volume(tmp_path):
    if _WHY_NOT:
        pytest.skip(f"SKIPPED LOUDLY: cannot simulate pods here: {_WHY_NOT}")
    spec = load_one(JOB)["spec"]["template"]["spec"]
    [init] = spec["initContainers"]
    [provision] = spec["containers"]
    volume = tmp_path / "pvc"
    volume.mkdir(mode=0o755)  # a fresh volume: root-owned, as most provisioners make it
    home = tmp_path / "home"
    (home / "rosters").mkdir(parents=True)
    for key, text in load_one(ROSTERS)["data"].items():
        (home / "rosters" / key).write_text(text)
    pod = _pod(spec, provision)
    volume_dirs = {"nbgrader-exchange": volume}
    run = {"home": home, "env": {"ROSTER_DIR": "/home/jovyan/rosters"}}
    argv = provision["command"]

    # The init container's command (root), with the volume where it mounts it.
    init_env = {**os.environ, **_env(init), "NBGRADER_K8S_ROOT": str(volume)}
    subprocess.run(init["command"], env=init_env, check=True, timeout=60)
    # 02775: the exchange's group with group rwx + setgid, kubelet's OnRootMismatch rule; the
    # keeper (root) owns it.
    assert _owner_mode(volume) == (0, 100, 0o2775)

    for attempt in ("first run", "rerun"):
        proc = run_in_pod(pod, volume_dirs, argv, **run)
        assert proc.returncode == 0, f"{attempt}:\n{proc.stdout}"

    rosters = _roster_students()
    assert rosters and all(rosters.values())
    sealed, shared = 0o2755, 0o2775
    for course, students in rosters.items():
        dirs = {
            course: sealed,
            f"{course}/outbound": shared,
            f"{course}/inbound": sealed,
            f"{course}/feedback_public": sealed,
        }
        for student in students:
            dirs[f"{course}/inbound/{student}"] = shared
            dirs[f"{course}/feedback_public/{student}"] = shared
        for rel, mode in dirs.items():
            assert _owner_mode(volume / rel) == (0, 100, mode), rel
        assert sorted(p.name for p in (volume / course / "inbound").iterdir()) == sorted(students)


def test_job_gives_an_old_deployments_skeleton_to_the_keeper(tmp_path):
    """A volume provisioned before the skeleton (everything 1000:100, 0755): the Job's repair
    step hands every course's directories to the keeper, touching nothing inside them."""
    if _WHY_NOT:
        pytest.skip(f"SKIPPED LOUDLY: cannot simulate pods here: {_WHY_NOT}")
    spec = load_one(JOB)["spec"]["template"]["spec"]
    [provision] = spec["containers"]
    volume = tmp_path / "pvc"
    for rel in ("old101/outbound/ps1", "old101/inbound/ann/ps1+x+y", "old101/feedback_public/ann"):
        (volume / rel).mkdir(parents=True)
    (volume / "old101/inbound/ann/ps1+x+y/work.ipynb").write_text("{}")
    for dirpath, _dirnames, filenames in os.walk(volume):
        for name in [dirpath] + [os.path.join(dirpath, f) for f in filenames]:
            os.chown(name, 1000, 100)
            os.chmod(name, 0o755 if os.path.isdir(name) else 0o644)
    home = tmp_path / "home"
    (home / "rosters").mkdir(parents=True)
    pod = _pod(spec, provision)
    run = {"home": home, "env": {"ROSTER_DIR": "/home/jovyan/rosters"}}
    proc = run_in_pod(pod, {"nbgrader-exchange": volume}, provision["command"], **run)
    assert proc.returncode == 0, proc.stdout
    assert _owner_mode(volume / "old101/inbound") == (0, 100, 0o2755)
    assert _owner_mode(volume / "old101/inbound/ann") == (0, 100, 0o2775)
    assert _owner_mode(volume / "old101/inbound/ann/ps1+x+y") == (1000, 100, 0o755)
    assert _owner_mode(volume / "old101/inbound/ann/ps1+x+y/work.ipynb") == (1000, 100, 0o644)


def test_nightly_audit_passes_a_clean_exchange_and_fails_on_a_planted_symlink(tmp_path):
    if _WHY_NOT:
        pytest.skip(f"SKIPPED LOUDLY: cannot simulate pods here: {_WHY_NOT}")
    volume = tmp_path / "pvc"
    volume.mkdir()
    home = tmp_path / "home"
    (home / "rosters").mkdir(parents=True)
    for key, text in load_one(ROSTERS)["data"].items():
        (home / "rosters" / key).write_text(text)
    rosters = _roster_students()
    for course, students in rosters.items():
        subprocess.run(
            ["nbgrader-k8s", "--root", str(volume), "provision", course, "--students", "-"],
            input="\n".join(students),
            text=True,
            check=True,
            capture_output=True,
            env={**os.environ, "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"},
        )
    spec = load_one(CRONJOB)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [audit] = spec["containers"]
    pod = _pod(spec, audit)
    assert all(m.get("readOnly") for m in pod["spec"]["containers"][0]["volumeMounts"])
    run = {"home": home, "env": {"ROSTER_DIR": "/home/jovyan/rosters"}}

    clean = run_in_pod(pod, {"nbgrader-exchange": volume}, audit["command"], **run)
    assert clean.returncode == 0, clean.stdout
    assert "0 high" in clean.stdout

    course, [student, *_] = next(iter(rosters.items()))
    (volume / course / "inbound" / student / "notes").symlink_to("/etc/passwd")
    planted = run_in_pod(pod, {"nbgrader-exchange": volume}, audit["command"], **run)
    assert planted.returncode == 3, planted.stdout
    assert f"inbound/{student}/notes" in planted.stdout
