"""Receipts (issue 17): what `nbgrader submit` prints and keeps, and the sealed status that
`nbgrader list --cached` shows the student, with the real notary (`nbgrader-k8s notary run
--once`) writing what the student and the instructor read.
"""

import datetime
import hashlib
import json
import os

from nbgrader_k8s_exchange import _core

from ..admin_cli import notary_pass, submissions

CACHE = ".local/share/jupyter/nbgrader_cache/course101"


def canonical_receipt(directory):
    """The receipt recomputed here from its documented definition (receipt.rs), not by the core."""
    records = []
    for dirpath, _dirs, filenames in os.walk(directory):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            rel = os.path.relpath(path, directory).encode()
            data = open(path, "rb").read()
            records.append((rel, hashlib.sha256(data).hexdigest(), len(data)))
    records.sort()
    manifest = b"".join(b"%s %d %s\0" % (sha.encode(), size, rel) for rel, sha, size in records)
    return hashlib.sha256(manifest).hexdigest()


def _submission(course, student):
    inbox = course.exchange / "course101" / "inbound" / student
    [sub] = [p for p in inbox.iterdir() if not p.name.startswith(".")]
    return sub


def test_submit_prints_and_caches_the_receipt_of_what_it_published(released):
    course = released
    course.student("alice", "fetch_assignment", "ps1")
    out = course.student("alice", "submit", "ps1")
    sub = _submission(course, "alice")
    receipt = canonical_receipt(sub)
    short = "-".join(receipt[i : i + 4] for i in range(0, 16, 4))
    assert f"Receipt: {short}" in out
    assert "Keep this receipt" in out
    [cached] = (course.student_home("alice") / CACHE).iterdir()
    assert (cached / ".nbk8s-receipt").read_text() == receipt + "\n"
    assert not (sub / ".nbk8s-receipt").exists()
    assert _core.receipt_matches(short, receipt)
    assert _core.manifest(str(sub))["receipt"] == receipt


def _confirmations(course, student):
    public = course.exchange / "course101" / "feedback_public" / student / ".nbk8s-seals.json"
    return json.loads(public.read_text())


def _seal(course, student, submission):
    [seal] = [s for s in _confirmations(course, student)["seals"] if s["submission"] == submission]
    return seal


def test_list_cached_shows_what_the_notary_sealed_and_keeps_its_heads(released):
    course = released
    course.student("alice", "fetch_assignment", "ps1")
    course.student("alice", "submit", "ps1")
    notary_pass(course)
    [first] = [p.name for p in submissions(course, "alice")]
    sealed = _seal(course, "alice", first)
    course.student("alice", "submit", "ps1")
    [_, second] = [p.name for p in submissions(course, "alice")]
    receipt = course.student_home("alice") / CACHE / f"alice+ps1+{_ts(first)}" / ".nbk8s-receipt"
    short = _core.short_receipt(receipt.read_text().strip())
    assert sealed["receipt"] == receipt.read_text().strip(), "the notary sealed what was handed in"

    out = course.student("alice", "list", "--cached")
    lines = {_ts(sub): _line(out, _ts(sub)) for sub in (first, second)}
    assert f"[sealed at {sealed['sealed']}, receipt {short}]" in lines[_ts(first)]
    assert "[not sealed yet]" in lines[_ts(second)]
    heads = course.student_home("alice") / CACHE / ".nbk8s-heads.jsonl"
    [record] = [json.loads(line) for line in heads.read_text().splitlines()]
    shown = _confirmations(course, "alice")
    assert (record["seq"], record["head"]) == (shown["seq"], shown["head"])

    # The first is edited in place, and the next pass seals the second and records the edit:
    # a new head is kept, the edit shows.
    (course.exchange / "course101" / "inbound" / "alice" / first / "squares.ipynb").write_text("{}")
    notary_pass(course)
    out = course.student("alice", "list", "--cached")
    assert "changed since]" in _line(out, _ts(first))
    assert "[sealed at " in _line(out, _ts(second))
    assert len(heads.read_text().splitlines()) == 2
    course.student("alice", "list", "--cached")
    assert len(heads.read_text().splitlines()) == 2, "a head already kept is not added again"

    # A garbled confirmation file never breaks the listing.
    public = course.exchange / "course101" / "feedback_public" / "alice" / ".nbk8s-seals.json"
    public.write_text('{"head": 12, "seals": "x"')
    out = course.student("alice", "list", "--cached")
    assert "confirmations were not read" in out
    assert f"course101 alice ps1 {_ts(first)}" in out and "sealed at" not in out


def _ts(submission):
    return submission.split("+", 1)[1].rsplit("+", 1)[0]


def _line(output, timestamp):
    [line] = [x for x in output.splitlines() if f" ps1 {timestamp}" in x]
    return line


def test_collect_and_list_inbound_judge_by_the_notarys_seal(released):
    course = released
    course.student("alice", "fetch_assignment", "ps1")
    course.student("alice", "submit", "ps1")
    # Renamed to claim 1000 s earlier before the notary first sees it: a planted, backdated
    # submission, which the notary seals about 1000 s after its claim.
    [real] = submissions(course, "alice")
    claimed = _core.parse_timestamp(_ts(real.name))
    earlier = datetime.datetime.fromisoformat(claimed) - datetime.timedelta(seconds=1000)
    stamp = earlier.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    planted = real.with_name(f"ps1+{stamp}+planted0001")
    real.rename(planted)
    (planted / "timestamp.txt").write_text(stamp)
    notary_pass(course)
    out = course.instructor("list", "--inbound")
    assert "may be backdated" in out and "rule: the notary's seal" in out
    (planted / "squares.ipynb").write_text("{}")
    notary_pass(course)
    sealed = _seal(course, "alice", planted.name)["sealed"]
    out = course.instructor("collect", "ps1")
    assert "the notary first saw it 10" in out and "rule: the notary's seal" in out
    assert f"modified after it was sealed at {sealed}" in out
    # A garbled index never breaks collect: a warning, and the ctime rule.
    (course.exchange / "course101" / ".nbk8s-notary" / "index.json").write_text('{"seals": [')
    out = course.instructor("collect", "--update", "ps1")
    assert "index was not read, using the ctime rule" in out
    assert "rule: the notary's seal" not in out
