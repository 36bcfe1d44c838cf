"""The notary (`nbgrader-k8s notary`) on a course driven through the real nbgrader CLI: what a
student submits is sealed within one pass with a receipt anyone can recompute from the
documented canonical manifest (docs/notary.md), and what happens after (edits in place,
deletions, backdated plants, a hand-edited ledger) is exposed.
"""

import datetime
import hashlib
import json
import shutil
from pathlib import Path

from tests.admin_cli import events, inbox, notary, notary_pass, submissions


def receipt(submission: Path) -> str:
    """The receipt by the documented canonical manifest, computed here independently."""
    records = []
    for path in submission.rglob("*"):
        if path.is_file() and not path.is_symlink():
            rel = path.relative_to(submission).as_posix().encode()
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()
            records.append((rel, f"{digest} {len(body)} ".encode() + rel + b"\0"))
    return hashlib.sha256(b"".join(r for _, r in sorted(records))).hexdigest()


def utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_submit_seal_receipt_edit_backdate_delete_and_tamper(released):
    course = released
    course.submit_answer("alice", "ps1", correct=True)
    course.submit_answer("bob", "ps1", correct=False)
    notary_pass(course)
    (alice,) = submissions(course, "alice")
    seals = {s["student"]: s for s in events(course, "seal")}
    assert set(seals) == {"alice", "bob"}
    assert seals["alice"]["submission"] == alice.name
    assert seals["alice"]["receipt"] == receipt(alice)
    # The student's confirmation, readable in their own feedback dir.
    conf = json.loads(
        (course.exchange / "course101/feedback_public/alice/.nbk8s-seals.json").read_text()
    )
    assert conf["seals"][0]["receipt"] == receipt(alice)
    assert conf["seals"][0]["state"] == "sealed"
    short = "-".join(receipt(alice)[i : i + 4] for i in range(0, 16, 4))
    proc = notary(course, "receipt", "course101", "alice", short)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f'matches "{alice.name}" of alice: sealed at ')
    assert notary(course, "receipt", "course101", "bob", short).returncode == 3

    # Edited in place after the seal: recorded on the next (re)start's pass.
    sealed_receipt = receipt(alice)
    notebook = next(alice.glob("*.ipynb"))
    notebook.write_text(notebook.read_text().replace("squares", "squares  # improved later"))
    # Planted directly in the inbox with a claimed time a day back.
    claimed = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    stamp = claimed.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    (bob_first,) = submissions(course, "bob")
    planted = inbox(course, "bob") / f"ps1+{stamp}+planted"
    shutil.copytree(bob_first, planted)
    (planted / "timestamp.txt").write_text(stamp)
    # And bob deletes his real submission.
    shutil.rmtree(bob_first)
    notary_pass(course)

    (changed,) = events(course, "changed")
    assert (changed["student"], changed["submission"]) == ("alice", alice.name)
    assert changed["was"] == sealed_receipt and changed["receipt"] == receipt(alice)
    index = json.loads((course.exchange / "course101/.nbk8s-notary/index.json").read_text())
    assert index["seals"][f"alice/{alice.name}"]["state"] == "changed"
    (plant_seal,) = [s for s in events(course, "seal") if s["submission"] == planted.name]
    assert plant_seal["claimed"] == stamp
    # What exposes the plant: the notary first saw it a day after the time it claims.
    lag = utc(plant_seal["sealed"]) - claimed
    assert lag > datetime.timedelta(hours=23), lag
    (vanished,) = events(course, "vanished")
    assert (vanished["student"], vanished["submission"]) == ("bob", bob_first.name)
    log = notary(course, "log", "course101", "--student", "bob")
    assert log.returncode == 0
    assert "vanished" in log.stdout and "planted" in log.stdout

    # A hand-edited ledger: verify fails, naming the record.
    assert notary(course, "verify").returncode == 0
    path = course.exchange / ".nbk8s-notary/course101/ledger.jsonl"
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if '"event":"seal"' in line and "planted" in line)
    seal = json.loads(lines[at])
    lines[at] = lines[at].replace(seal["sealed"], claimed.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    path.write_text("".join(f"{line}\n" for line in lines))
    proc = notary(course, "verify", "course101")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert f"record seq {at} (line {at + 1}) was edited" in proc.stdout, proc.stdout
