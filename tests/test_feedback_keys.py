"""Our feedback keys must equal nbgrader's own `notebook_hash`, byte for byte."""

import random
import string

import pytest
from nbgrader.utils import make_unique_key, notebook_hash

from nbgrader_k8s_exchange import _core

ALPHABET = string.ascii_letters + string.digits + "+-_.@ äöüß€😀"


def _text(rng, lo=1, hi=40):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(lo, hi)))


@pytest.mark.parametrize("seed", range(5))
def test_secret_keys_match(seed):
    rng = random.Random(seed)
    for _ in range(200):
        secret, nb_id = _text(rng, 1, 130), _text(rng)
        assert _core.feedback_key(secret, nb_id) == notebook_hash(secret=secret, notebook_id=nb_id)


@pytest.mark.parametrize("seed", range(3))
def test_legacy_keys_match(tmp_path, seed):
    rng = random.Random(seed)
    for i in range(50):
        path = tmp_path / f"nb{i}.ipynb"
        path.write_bytes(rng.randbytes(rng.randint(0, 5000)))
        key = make_unique_key(_text(rng), _text(rng), _text(rng), _text(rng), _text(rng))
        assert _core.legacy_feedback_key(str(path), key) == notebook_hash(str(path), key)
        assert _core.legacy_feedback_key(str(path)) == notebook_hash(str(path))
