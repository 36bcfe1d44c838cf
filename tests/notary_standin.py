"""A STAND-IN for the notary's output, for the client tests of issue 17.

The real notary (`nbgrader-k8s notary run`, crates/admin/src/notary/) is built on another
branch. Until it is merged, these tests need the files it leaves for instructors and students,
so this module writes them exactly as /work/notes/notary-spec.md says (§2 `index.json`, §3
the student's `.nbk8s-seals.json`, sealed copies under `{course}/.nbk8s-notary/sealed/`). It
keeps no ledger: the chain head and seq it writes are made up, consistent only with each
other. Every test that needs the notary goes through :class:`NotaryStandIn`, so switching to
the real `notary run --once` is a change of this one file.
"""

import hashlib
import json
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Optional

from nbgrader_k8s_exchange import _core


def rfc3339(when: datetime) -> str:
    """The spec's time format: RFC 3339 UTC with microseconds."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def claimed_time(submission: str) -> datetime:
    """The time a submission's name claims (UTC), as the core reads it."""
    timestamp = submission.split("+", 1)[1].rsplit("+", 1)[0]
    return datetime.fromisoformat(_core.parse_timestamp(timestamp)).replace(tzinfo=timezone.utc)


class NotaryStandIn:
    """Seals submissions of one course and publishes the instructors' and students' copies."""

    def __init__(self, root: Path, course: str):
        self.root = Path(root)
        self.course = course
        self.seals: Dict[str, Dict[str, Any]] = {}
        self.seq = -1
        self.head = "0" * 64

    @property
    def copies(self) -> Path:
        return self.root / self.course / ".nbk8s-notary"

    def _event(self, what: str) -> None:
        self.seq += 1
        self.head = hashlib.sha256(f"{self.head}{self.seq}{what}".encode()).hexdigest()

    def submissions(self, student: str):
        inbox = self.root / self.course / "inbound" / student
        return sorted(p.name for p in inbox.iterdir() if not p.name.startswith("."))

    def seal(
        self,
        student: str,
        submission: str,
        *,
        sealed: Optional[datetime] = None,
        lag: float = 2.0,
        keep_copy: bool = False,
    ) -> Dict[str, Any]:
        """Seal one submission: first seen at ``sealed`` (default: ``lag`` s after its claim)."""
        src = self.root / self.course / "inbound" / student / submission
        when = sealed or claimed_time(submission) + timedelta(seconds=lag)
        copy = None
        if keep_copy:
            copy = f"sealed/{student}/{submission}"
            dest = self.copies / copy
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(src, dest, symlinks=True)
        entry = {
            "assignment": submission.split("+", 1)[0],
            "claimed": submission.split("+", 1)[1].rsplit("+", 1)[0],
            "sealed": rfc3339(when),
            "receipt": _core.manifest(str(src))["receipt"],
            "state": "sealed",
            "changed_at": None,
            "copy": copy,
        }
        self.seals[f"{student}/{submission}"] = entry
        self._event(f"seal {student}/{submission}")
        return entry

    def seal_all(self, **kwargs: Any) -> None:
        inbound = self.root / self.course / "inbound"
        for student in sorted(p.name for p in inbound.iterdir() if not p.name.startswith(".")):
            for submission in self.submissions(student):
                if f"{student}/{submission}" not in self.seals:
                    self.seal(student, submission, **kwargs)

    def recheck(self) -> None:
        """What a re-check pass finds: sealed submissions changed or gone since."""
        now = rfc3339(datetime.now(timezone.utc))
        for key, entry in self.seals.items():
            if entry["state"] == "vanished":
                continue
            path = self.root / self.course / "inbound" / key
            if not path.is_dir():
                entry.update(state="vanished", changed_at=now)
                self._event(f"vanished {key}")
            elif _core.manifest(str(path))["receipt"] != entry["receipt"]:
                entry.update(state="changed", changed_at=now)
                self._event(f"changed {key}")

    def publish(self) -> None:
        """Write index.json (§2) and every student's confirmations (§3), atomically."""
        index = {
            "copy_of": "ledger",
            "course": self.course,
            "head": self.head,
            "seq": self.seq,
            "updated": rfc3339(datetime.now(timezone.utc)),
            "seals": self.seals,
        }
        _write_atomic(self.copies / "index.json", index)
        students = sorted({key.split("/", 1)[0] for key in self.seals})
        for student in students:
            seals = [
                {
                    "submission": key.split("/", 1)[1],
                    **{k: e[k] for k in ("assignment", "claimed", "sealed", "receipt", "state")},
                }
                for key, e in sorted(self.seals.items())
                if key.split("/", 1)[0] == student
            ]
            doc = {
                "course": self.course,
                "student": student,
                "head": self.head,
                "seq": self.seq,
                "seals": seals,
            }
            public = self.root / self.course / "feedback_public" / student
            _write_atomic(public / ".nbk8s-seals.json", doc)


def _write_atomic(path: Path, doc: Dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".nbk8s-tmp-{os.getpid()}"
    tmp.write_text(json.dumps(doc, indent=1))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
