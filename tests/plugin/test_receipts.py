"""Receipts (issue 17): what `nbgrader submit` prints and keeps, and the sealed status that
`nbgrader list --cached` shows the student. The notary's files come from tests/notary_standin.py.
"""

import hashlib
import os

from nbgrader_k8s_exchange import _core

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
