"""Feedback keys must equal nbgrader's own `notebook_hash`, byte for byte, in every operation.

One core function decides every key (`keys::feedback_keys`); these tests hold it, and each
operation that writes or reads a key through it, to nbgrader's `notebook_hash` on random
inputs: release writes the key nbgrader's release_feedback would, and list (student and
instructor views) and fetch find feedback released under the keys nbgrader's list and fetch
would look for.
"""

import random
import string
from pathlib import Path

import pytest
from nbgrader.utils import make_unique_key, notebook_hash

from nbgrader_k8s_exchange import _core

ALPHABET = string.ascii_letters + string.digits + "-_.@ äöüß€😀"
TS = "2024-03-01 12:00:00.000000 UTC"


def _text(rng, lo=1, hi=40, alphabet=ALPHABET):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def _id(rng):
    return _text(rng, 1, 20, string.ascii_letters + string.digits + "_-")


def _nbgrader_keys(course, assignment, nb_id, student, timestamp, secret, nb_path):
    """The keys nbgrader uses: its release writes the first, its list and fetch try them."""
    if secret:
        return [notebook_hash(secret=secret, notebook_id=nb_id)]
    unique = make_unique_key(course, assignment, nb_id, student, timestamp)
    return [notebook_hash(str(nb_path), unique), notebook_hash(str(nb_path))]


@pytest.mark.parametrize("seed", range(5))
def test_the_one_rule_matches_nbgrader(tmp_path, seed):
    rng = random.Random(seed)
    for i in range(200):
        course, assignment, nb_id, student, ts = (_text(rng) for _ in range(5))
        path = tmp_path / f"nb{i}.ipynb"
        path.write_bytes(rng.randbytes(rng.randint(0, 3000)))
        secret = _text(rng, 1, 130) if rng.random() < 0.5 else None
        ours = _core.feedback_keys(
            course, assignment, nb_id, student, ts, secret=secret, notebook_path=str(path)
        )
        assert ours == _nbgrader_keys(course, assignment, nb_id, student, ts, secret, path)
    # An empty secret is no secret (nbgrader's fetch falls back; its notebook_hash refuses "").
    assert _core.feedback_keys("c", "a", "n", "s", "t", secret="", notebook_path=str(path)) == [
        notebook_hash(str(path), make_unique_key("c", "a", "n", "s", "t")),
        notebook_hash(str(path)),
    ]


class _Case:
    """One student's submission of one notebook, graded, with random ids and content."""

    def __init__(self, base: Path, rng: random.Random, i: int, legacy: bool):
        self.student = f"{_id(rng)}{i}"
        self.nb_id = _id(rng)
        self.secret = None if legacy else _text(rng, 1, 64, string.ascii_letters + "0123456789")
        self.body = rng.randbytes(rng.randint(1, 2000))
        self.feedback_dir = base / "feedback" / self.student
        self.submitted_dir = base / "submitted" / self.student
        self.cache = base / "cache" / self.student
        for d in (self.feedback_dir, self.submitted_dir):
            d.mkdir(parents=True)
            (d / "timestamp.txt").write_text(TS)
        (self.submitted_dir / f"{self.nb_id}.ipynb").write_bytes(self.body)
        (self.feedback_dir / f"{self.nb_id}.html").write_text(f"<p>{self.student}</p>")
        if self.secret is not None:
            (self.feedback_dir / "submission_secret.txt").write_text(self.secret)

    def expected(self, course, assignment):
        nb = self.submitted_dir / f"{self.nb_id}.ipynb"
        return _nbgrader_keys(course, assignment, self.nb_id, self.student, TS, self.secret, nb)

    def place_submission(self, root: Path, course, assignment):
        """The same submission in the exchange (for list --inbound) and the student's cache."""
        name = f"{assignment}+{TS}+r{self.student}"
        inbox = root / course / "inbound" / self.student / name
        cached = self.cache / course / f"{self.student}+{assignment}+{TS}"
        for d in (inbox, cached):
            d.mkdir(parents=True)
            (d / f"{self.nb_id}.ipynb").write_bytes(self.body)
            (d / "timestamp.txt").write_text(TS)
            if self.secret is not None:
                (d / "submission_secret.txt").write_text(self.secret)


@pytest.mark.parametrize("legacy", [False, True], ids=["secret", "legacy"])
def test_release_list_and_fetch_use_nbgraders_keys(tmp_path, legacy):
    rng = random.Random(7 + legacy)
    course, assignment = "c" + _id(rng), "a" + _id(rng)
    root = tmp_path / "exchange"
    (root / course / "feedback_public").mkdir(parents=True)
    cases = [_Case(tmp_path, rng, i, legacy) for i in range(25)]

    released = _core.release_feedback(
        str(root),
        course,
        assignment,
        [(c.student, str(c.feedback_dir), str(c.submitted_dir)) for c in cases],
    )
    assert not released["warnings"]
    for case in cases:
        # Release writes nbgrader's key (the first it would try).
        public = root / course / "feedback_public" / case.student
        assert sorted(p.name for p in public.iterdir()) == [
            f"{case.expected(course, assignment)[0]}.html"
        ]
        case.place_submission(root, course, assignment)

    inbound = _core.list_inbound(str(root), [course], assignment, None)
    flags = {
        g["student_id"]: [
            nb["has_exchange_feedback"] for s in g["submissions"] for nb in s["notebooks"]
        ]
        for g in inbound["assignments"]
    }
    assert flags == {c.student: [True] for c in cases}

    for case in cases:
        home = tmp_path / "home" / case.student
        cached = _core.list_cached(
            str(root), str(case.cache), [course], None, case.student, str(home), False
        )
        [group] = cached["assignments"]
        [sub] = group["submissions"]
        assert sub["has_exchange_feedback"], case.student
        fetched = _core.fetch_feedback(
            str(root), str(case.cache), course, case.student, None, str(home), False
        )
        assert [f["notebook_id"] for f in fetched["fetched"]] == [case.nb_id]
        assert not fetched["missing"]

    # Feedback released by nbgrader's oldest releases (the key without the unique key) is
    # still found by list and fetch, as nbgrader's fetch finds it.
    if legacy:
        case = cases[0]
        public = root / course / "feedback_public" / case.student
        [only] = public.iterdir()
        only.rename(public / f"{case.expected(course, assignment)[1]}.html")
        fetched = _core.fetch_feedback(
            str(root), str(case.cache), course, case.student, None, str(tmp_path / "h2"), False
        )
        assert [f["notebook_id"] for f in fetched["fetched"]] == [case.nb_id]
