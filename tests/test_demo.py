"""`make demo` (python -m nbgrader_k8s_exchange.demo DIR) refuses a DIR it cannot build in: one
line naming it, exit 2, no traceback, nothing touched. The round trip itself is
tests/test_lifecycle.py."""

import subprocess
import sys

import pytest


def _demo(target):
    return subprocess.run(
        [sys.executable, "-m", "nbgrader_k8s_exchange.demo", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: p.write_text("x"), "is not a directory"),
        (lambda p: (p.mkdir(), (p / "kept.txt").write_text("x")), "is not empty"),
    ],
    ids=["a file", "a non-empty dir"],
)
def test_a_dir_it_cannot_use_is_refused_in_one_line(tmp_path, make, reason):
    target = tmp_path / "target"
    make(target)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    out = _demo(target)
    assert out.returncode == 2, out
    assert out.stderr.strip() == f"{target} {reason}; give an empty or new directory"
    assert "Traceback" not in out.stdout + out.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
