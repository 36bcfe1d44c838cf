"""The values file's hub.extraConfig, run as the chart runs it, drives a real KubeSpawner.

Users and groups come from the values (``custom.nbgrader.courses`` -> ``load_groups``); each
pod manifest is what KubeSpawner builds, after the configured ``modify_pod_hook``. The manifests
must carry exactly DESIGN.md's exchange mounts plus the role's nbgrader config, and a
course (release, fetch, submit, collect) must run in the simulated pods (podsim/)
built from them; feedback through the same mounts is covered by tests/pods.
"""

import copy
import os
import sys
from pathlib import Path

import kubernetes_validate
import pytest

from nbgrader_k8s_exchange.demo import write_source_notebook
from podsim import namespaces_available, run_in_pod

from ..kube import pod_manifest
from .z2jh import groups_of, hub_config, kind_values, merge, role_configs, values

EXCHANGE = "nbgrader-exchange"

# prof teaches course101; ta teaches course202 and takes course101; alice takes both.
COURSES = {
    "course101": {"instructors": ["prof"], "students": ["alice", "bob", "ta"]},
    "course202": {"instructors": ["ta"], "students": ["alice"]},
}


def _values(volume: Path, courses=None):
    vals = copy.deepcopy(values())
    nb = vals["custom"]["nbgrader"]
    nb["hubExchangePath"] = str(volume)  # where this "hub" has the exchange volume
    if courses is not None:
        nb["courses"] = courses
    return vals


def _manifest(c, user, groups, **kwargs):
    return pod_manifest(user, groups, config=c, **kwargs)


def _image(image):
    return f"{image['name']}:{image['tag']}"


def _design_mounts(user, student_of, instructor_of):
    """DESIGN.md's table, written out: (mountPath, subPath, readOnly)."""
    out = set()
    for course in instructor_of:
        out.add((f"/mnt/exchange/{course}", course, False))
    for course in student_of:
        if course in instructor_of:
            continue
        out |= {
            (f"/mnt/exchange/{course}/outbound", f"{course}/outbound", True),
            (f"/mnt/exchange/{course}/inbound/{user}", f"{course}/inbound/{user}", False),
            (
                f"/mnt/exchange/{course}/feedback_public/{user}",
                f"{course}/feedback_public/{user}",
                True,
            ),
        }
    return out


def _shape(rel):
    """The skeleton's mode of a directory a subPath goes through (docs/security.md)."""
    parts = rel.split("/")
    if len(parts) == 1 or parts[1:] in (["inbound"], ["feedback_public"]):
        return 0o2755  # sealed: its entries are subPaths
    return 0o2775  # shared: pods write inside, and nothing in it is a subPath


def _mounts(manifest, exchange):
    container = manifest["spec"]["containers"][0]
    return {
        (m["mountPath"], m.get("subPath"), bool(m.get("readOnly")))
        for m in container.get("volumeMounts") or []
        if (m["name"] == EXCHANGE) == exchange
    }


def _env(manifest):
    return {e["name"]: e.get("value") for e in manifest["spec"]["containers"][0]["env"]}


def test_groups_come_from_the_values(tmp_path):
    c = hub_config(_values(tmp_path, COURSES))
    assert groups_of(c) == {
        "prof": ["formgrade-course101"],
        "alice": ["nbgrader-course101", "nbgrader-course202"],
        "bob": ["nbgrader-course101"],
        "ta": ["nbgrader-course101", "formgrade-course202"],
    }


def test_a_course_set_to_null_in_an_override_is_dropped(tmp_path):
    vals = merge(
        _values(tmp_path, COURSES), {"custom": {"nbgrader": {"courses": {"course101": None}}}}
    )
    c = hub_config(vals)
    assert sorted(c.JupyterHub.load_groups) == ["formgrade-course202", "nbgrader-course202"]


@pytest.mark.parametrize("user", ["prof", "alice", "bob", "ta"])
def test_manifest_has_exactly_the_design_mounts_and_the_role_config(tmp_path, user):
    vals = _values(tmp_path, COURSES)
    c = hub_config(vals)
    manifest = _manifest(c, user, groups_of(c)[user])
    student_of = sorted(k for k, v in COURSES.items() if user in v["students"])
    instructor_of = sorted(k for k, v in COURSES.items() if user in v["instructors"])

    assert _mounts(manifest, exchange=True) == _design_mounts(user, student_of, instructor_of)
    role = "instructor" if instructor_of else "student"
    assert _mounts(manifest, exchange=False) == {
        ("/etc/jupyter/nbgrader_config.py", f"{role}_nbgrader_config.py", True)
    }
    volumes = {v["name"]: v for v in manifest["spec"]["volumes"]}
    assert volumes == {
        EXCHANGE: {"name": EXCHANGE, "persistentVolumeClaim": {"claimName": EXCHANGE}},
        "nbgrader-config": {"name": "nbgrader-config", "configMap": {"name": "nbgrader-config"}},
    }
    container = manifest["spec"]["containers"][0]
    nb, image = vals["custom"]["nbgrader"], vals["singleuser"]["image"]
    expected_image = _image(nb["instructorImage"] if instructor_of else image)
    assert container["image"] == expected_image
    assert _env(manifest).get("NBGRADER_COURSE_ID") == (instructor_of[0] if instructor_of else None)
    assert _env(manifest)["JUPYTERHUB_USER"] == user
    assert container["securityContext"]["runAsUser"] == 1000
    pod_ctx = manifest["spec"]["securityContext"]
    assert (pod_ctx["fsGroup"], pod_ctx["fsGroupChangePolicy"]) == (100, "OnRootMismatch")
    kubernetes_validate.validate(manifest, "1.30", strict=True)

    # The hook made the skeleton this pod mounts through before the pod could start: here the
    # hub runs as root, so it is the keeper's (root, group 100) in its shapes, every directory
    # on the way sealed where its entries are other pods' subPaths (docs/security.md).
    for _path, sub_path, _ro in _design_mounts(user, student_of, instructor_of):
        parts = sub_path.split("/")
        for depth in range(1, len(parts) + 1):
            rel = "/".join(parts[:depth])
            st = (tmp_path / rel).lstat()
            assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 100, _shape(rel)), rel


def test_profiles_and_an_earlier_hook_in_the_values_keep_the_exchange(tmp_path):
    """A singleuser.profileList entry overriding image and volumes, and a modify_pod_hook set
    by an earlier hub.extraConfig key: the role's pod is still what DESIGN.md says."""
    vals = merge(
        _values(tmp_path, COURSES),
        {
            "singleuser": {
                "profileList": [
                    {"display_name": "Standard", "default": True},
                    {
                        "display_name": "GPU",
                        "slug": "gpu",
                        "kubespawner_override": {
                            "image": "registry.example.org/gpu:1",
                            "volumes": [{"name": "datasets", "emptyDir": {}}],
                            "volume_mounts": [{"name": "datasets", "mountPath": "/data"}],
                        },
                    },
                ]
            },
            "hub": {
                "extraConfig": {
                    "05-site": (
                        "def _label(spawner, pod):\n"
                        "    pod.metadata.labels['site'] = 'yes'\n"
                        "    return pod\n"
                        "c.KubeSpawner.modify_pod_hook = _label\n"
                    )
                }
            },
        },
    )
    c = hub_config(vals)
    for user in ("prof", "alice", "ta"):
        manifest = _manifest(c, user, groups_of(c)[user], user_options={"profile": "gpu"})
        student_of = sorted(k for k, v in COURSES.items() if user in v["students"])
        instructor_of = sorted(k for k, v in COURSES.items() if user in v["instructors"])
        assert _mounts(manifest, exchange=True) == _design_mounts(user, student_of, instructor_of)
        role = "instructor" if instructor_of else "student"
        assert _mounts(manifest, exchange=False) == {
            ("/etc/jupyter/nbgrader_config.py", f"{role}_nbgrader_config.py", True),
            ("/data", None, False),
        }
        container = manifest["spec"]["containers"][0]
        nb = vals["custom"]["nbgrader"]
        expected = _image(nb["instructorImage"]) if instructor_of else "registry.example.org/gpu:1"
        assert container["image"] == expected
        assert manifest["metadata"]["labels"]["site"] == "yes"
        kubernetes_validate.validate(manifest, "1.30", strict=True)


def test_nbgrader_reads_config_where_the_hub_mounts_it(tmp_path):
    """The ConfigMap is mounted at /etc/jupyter/nbgrader_config.py: a directory on the config
    path of both the nbgrader CLI and its server extensions (the Assignments tab)."""
    from jupyter_core.paths import jupyter_config_path
    from nbgrader.apps import NbGraderApp

    manifest = _manifest(hub_config(_values(tmp_path, COURSES)), "alice", ["nbgrader-course101"])
    mounts = manifest["spec"]["containers"][0]["volumeMounts"]
    [mount_dir] = {
        os.path.dirname(m["mountPath"]) for m in mounts if m["name"] == "nbgrader-config"
    }
    assert mount_dir in NbGraderApp().config_file_paths
    assert mount_dir in jupyter_config_path()  # what the server extensions load


def test_user_in_no_course_gets_no_exchange_and_the_default_image(tmp_path):
    vals = _values(tmp_path)
    c = hub_config(vals)
    manifest = _manifest(c, "visitor", ["some-club"])
    assert _mounts(manifest, exchange=True) == set()
    assert _mounts(manifest, exchange=False) == set()
    image = vals["singleuser"]["image"]
    assert manifest["spec"]["containers"][0]["image"] == f"{image['name']}:{image['tag']}"
    assert list(tmp_path.iterdir()) == []


# --- the course in simulated pods ---------------------------------------------------------

_WHY_NOT = namespaces_available()
if _WHY_NOT and os.environ.get("CI"):
    raise RuntimeError(f"CI must run the pod tests, but: {_WHY_NOT}")

ANSWER = (
    "from nbgrader_k8s_exchange.demo import answer_notebook; "
    "answer_notebook(__import__('pathlib').Path('ps1/squares.ipynb'), {correct})"
)


def _chown_tree(path: Path):
    for dirpath, _dirs, files in os.walk(path):
        os.chown(dirpath, 1000, 100)
        for name in files:
            os.chown(os.path.join(dirpath, name), 1000, 100)


class Deployment:
    """Pods built from the values file: each user's manifest, home and role config."""

    def __init__(self, base: Path):
        self.base = base
        self.volume = base / "pvc"
        self.volume.mkdir()
        # The demo course (prof; alice, bob) is the kind overlay's: the base values name nobody.
        self.config = hub_config(
            _values(self.volume, kind_values()["custom"]["nbgrader"]["courses"])
        )
        self.manifests = {}
        configs = role_configs()
        for user, groups in groups_of(self.config).items():
            manifest = _manifest(self.config, user, groups)
            [config_mount] = [
                m
                for m in manifest["spec"]["containers"][0]["volumeMounts"]
                if m["mountPath"] == "/etc/jupyter/nbgrader_config.py"
            ]
            # podsim mounts only the exchange volume; the ConfigMap key this pod would get at
            # /etc/jupyter goes where nbgrader also looks, the working directory.
            self.home(user).mkdir(parents=True)
            (self.home(user) / "nbgrader_config.py").write_text(configs[config_mount["subPath"]])
            container = manifest["spec"]["containers"][0]
            container["volumeMounts"] = [
                m for m in container["volumeMounts"] if m is not config_mount
            ]
            self.manifests[user] = manifest
            _chown_tree(self.home(user))

    def home(self, user):
        return self.base / "homes" / user

    def run(self, user, *argv):
        proc = run_in_pod(
            self.manifests[user], {EXCHANGE: self.volume}, list(argv), home=self.home(user)
        )
        assert proc.returncode == 0, f"{user}$ {' '.join(argv)} -> {proc.returncode}\n{proc.stdout}"
        return proc.stdout

    def nbgrader(self, user, *args):
        return self.run(user, sys.executable, "-m", "nbgrader", *args)


def test_course_runs_in_pods_built_from_the_values(tmp_path):
    if _WHY_NOT:
        pytest.skip(f"SKIPPED LOUDLY: cannot simulate pods here: {_WHY_NOT}")
    d = Deployment(tmp_path)
    assert set(d.manifests) == {"prof", "alice", "bob"}

    # The instructor's config (NBGRADER_COURSE_ID from the hub) finds ~/course101 by itself.
    write_source_notebook(d.home("prof") / "course101" / "source" / "ps1" / "squares.ipynb")
    _chown_tree(d.home("prof"))
    d.nbgrader("prof", "generate_assignment", "ps1")
    d.nbgrader("prof", "release_assignment", "ps1")

    assert "course101 ps1" in d.nbgrader("alice", "list")  # no course_id in students' config
    for student, correct in (("alice", True), ("bob", False)):
        d.nbgrader(student, "fetch_assignment", "ps1", "--course", "course101")
        d.run(student, sys.executable, "-c", ANSWER.format(correct=correct))
        d.nbgrader(student, "submit", "ps1", "--course", "course101")

    assert "Processing 2 submissions" in d.nbgrader("prof", "collect", "ps1")
    # Collected into the course directory the instructor's config names, one per student.
    submitted = d.home("prof") / "course101" / "submitted"
    for student in ("alice", "bob"):
        assert (submitted / student / "ps1" / "squares.ipynb").is_file()
    assert sorted(p.name for p in submitted.iterdir()) == ["alice", "bob"]
