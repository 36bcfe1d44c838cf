"""Names a student controls reach people escaped (issue 23): a submission name holding a
newline cannot forge a row of ``nbgrader-k8s notary log``, and terminal escapes, C1 controls
and bidi overrides in it show visibly in ``notary log``, ``audit`` and ``nbgrader list
--inbound``, while JSON (``notary log --json``, the listing the formgrader receives) carries
the exact names. Real CLIs throughout; the class
of hostile strings is a table, each planted by the student in their own inbox."""

import json
import re
import shutil

import pytest

from nbgrader_k8s_exchange import _core
from nbgrader_k8s_exchange.plugin.display import escape
from tests.admin_cli import admin, inbox, notary, notary_pass

TS = "2026-12-01 10:00:00.000000 UTC"

#: What a student puts in a submission's name, and what a person must see of it.
HOSTILE = [
    (
        "\n99  2026-12-01T10:00:00Z  seal  mallory  ps1  forged row",
        "\\n99  2026-12-01T10:00:00Z  seal  mallory  ps1  forged row",
    ),
    ("\r\x1b[2Kerased", "\\r\\x1b[2Kerased"),
    ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
    ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
    ("c1\x9b2J", "c1\\x9b2J"),
    ("del\x7f", "del\\x7f"),
    ("tab\there", "tab\\there"),
    ("evil\u202etxt.exe", "evil\\u{202e}txt.exe"),
    ("iso\u2066late\u2069", "iso\\u{2066}late\\u{2069}"),
    ("line\u2028sep", "line\\u{2028}sep"),
]

#: What must never reach a terminal raw (the line break ending each line aside).
RAW = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _names():
    return [f"ps1+{TS}{raw}+r{i}" for i, (raw, _) in enumerate(HOSTILE)]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """course101 with ps1 released, alice's honest submission, and one planted copy of it
    per hostile name; sealed by one notary pass."""
    from nbgrader_k8s_exchange.demo import Course

    course = Course(tmp_path_factory.mktemp("names"))
    course.create_assignment("ps1")
    course.instructor("release_assignment", "ps1")
    course.submit_answer("alice", "ps1", True)
    [real] = [p for p in inbox(course, "alice").iterdir() if not p.name.startswith(".")]
    for name in _names():
        shutil.copytree(real, inbox(course, "alice") / name)
    notary_pass(course)
    return course


def _no_raw(text):
    found = RAW.search(text)
    assert found is None, f"raw {found.group()!r} in output:\n{text!r}"


def test_the_plugin_escapes_by_the_same_rule():
    for raw, shown in HOSTILE:
        assert escape(raw) == shown
    assert escape("zoë+test@uni ✓ back\\slash") == "zoë+test@uni ✓ back\\slash"


def test_notary_log_shows_each_name_escaped_and_one_row_per_record(planted):
    proc = notary(planted, "log", "course101")
    assert proc.returncode == 0, proc.stderr
    _no_raw(proc.stdout + proc.stderr)
    records = json.loads(notary(planted, "log", "course101", "--json").stdout)
    rows = proc.stdout.splitlines()
    assert len(rows) == len(records) + 1, "a name holding a newline forged a row"
    assert not any("mallory" in row.split()[:4] for row in rows[1:])
    for raw, shown in HOSTILE:
        assert shown in proc.stdout, (raw, proc.stdout)
    # The JSON carries the exact names.
    sealed = {r["submission"] for r in records if r["event"] == "seal"}
    assert set(_names()) <= sealed


def test_audit_shows_names_escaped(planted):
    proc = admin(planted, "audit", "course101")
    _no_raw(proc.stdout + proc.stderr)
    # Each planted submission is a row (its PATH), its name escaped.
    for raw, shown in HOSTILE:
        assert f"inbound/alice/ps1+{TS}{shown}+r" in proc.stdout, (raw, proc.stdout)


def test_nbgrader_list_inbound_shows_names_escaped_and_json_exact(planted):
    out = planted.instructor("list", "--inbound")
    _no_raw(out)
    for raw, shown in HOSTILE:
        assert shown in out, (raw, out)
    lines = [line for line in out.splitlines() if "course101 alice ps1" in line]
    assert len(lines) == len(HOSTILE) + 1, out
    # What the formgrader and the Assignments tab receive carries the exact names.
    listed = _core.list_inbound(str(planted.exchange), ["course101"], None, None)
    timestamps = {s["timestamp"] for a in listed["assignments"] for s in a["submissions"]}
    assert {f"{TS}{raw}" for raw, _ in HOSTILE} <= timestamps


def test_collect_warnings_show_names_escaped(planted):
    """Last: collect writes to the instructor's course directory."""
    out = planted.instructor("collect", "ps1")
    _no_raw(out)
    assert "WARNING" in out and "\\x1b[31mred\\x1b[0m" in out, out
