"""The ``nbgrader-k8s`` console script the wheel installs (Rust admin CLI inside ``_core``)."""

import json
import os
import subprocess

import pytest

from nbgrader_k8s_exchange import _cli
from nbgrader_k8s_exchange.kubespawner import exchange_mounts
from tests.admin_cli import script


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [script(), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize(
    ("user", "student_of", "instructor_of"),
    [
        ("alice", ["course101", "course202"], []),
        ("prof", [], ["course101"]),
        ("ta{x}+y@uni.edu", ["course101", "course202"], ["course202"]),
        ("nobody", [], []),
    ],
)
def test_mounts_match_the_kubespawner_hook(user, student_of, instructor_of):
    args = ["mounts", user, "--format", "json", "--claim-name", "pvc"]
    if student_of:
        args += ["--student-of", *student_of]
    if instructor_of:
        args += ["--instructor-of", *instructor_of]
    proc = _run(*args)
    assert proc.returncode == 0, proc.stderr
    volumes, mounts = exchange_mounts(user, student_of, instructor_of, claim_name="pvc")
    assert json.loads(proc.stdout) == {"volumes": volumes, "volume_mounts": mounts}


def test_init_through_the_entry_point(tmp_path):
    uid, gid = str(os.getuid()), str(os.getgid())
    proc = _run("--root", str(tmp_path), "init", "c1", "--uid", uid, "--gid", gid, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"] == {"created": 6, "fine": 0, "repaired": 0}
    assert (tmp_path / "c1" / "inbound").is_dir()


def test_errors_and_usage_exit_codes(tmp_path):
    proc = _run("--root", str(tmp_path), "init", "../up")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        'nbgrader-k8s: error: cannot initialise course "../up": invalid course id "../up": '
        "it contains '/'"
    ]
    assert _run("no-such-command").returncode == 2
    help_text = _run("--help")
    assert help_text.returncode == 0
    assert "provision" in help_text.stdout


def test_main_exits_with_the_status(capfd):
    with pytest.raises(SystemExit) as exc:
        _cli.main(["whatever", "mounts", "bob", "--student-of", "c1", "--json"])
    assert exc.value.code == 0
    out = json.loads(capfd.readouterr().out)
    assert out["volume_mounts"][1]["subPath"] == "c1/inbound/bob"
