"""Notebook and feedback bodies of realistic sizes, made once and reused.

A student's notebook is mostly small (code and text cells, 10-60 kB) and sometimes large
(a plot or two as base64 PNG output, up to ~400 kB). The bodies are valid nbformat-4 JSON
filled with incompressible bytes where outputs would be, so nothing downstream (page cache,
compression) can shortcut them. A fixed pool is enough: the exchanges only copy, list and
hash these files, they never look inside.
"""

import base64
import json
import random
from typing import List

POOL_SIZE = 48


def _cell(rng: random.Random, with_image: bool) -> dict:
    lines = rng.randint(3, 25)
    source = "".join(
        f"x_{i} = compute({rng.random():.6f}, step={i})  # line {i}\n" for i in range(lines)
    )
    outputs = [
        {
            "name": "stdout",
            "output_type": "stream",
            "text": "".join(f"{rng.random():.12f}\n" for _ in range(rng.randint(1, 40))),
        }
    ]
    if with_image:
        png = base64.b64encode(rng.randbytes(rng.randint(30_000, 150_000))).decode("ascii")
        outputs.append(
            {
                "data": {"image/png": png, "text/plain": "<Figure size 640x480 with 1 Axes>"},
                "metadata": {},
                "output_type": "display_data",
            }
        )
    return {
        "cell_type": "code",
        "execution_count": rng.randint(1, 99),
        "metadata": {"nbgrader": {"grade": False, "locked": False, "solution": True}},
        "outputs": outputs,
        "source": source,
    }


def notebook_body(rng: random.Random) -> bytes:
    """One notebook: 8-40 cells; about one in seven carries 1-2 plots."""
    images = rng.randint(1, 2) if rng.random() < 0.15 else 0
    cells = [_cell(rng, with_image=i < images) for i in range(rng.randint(8, 40))]
    rng.shuffle(cells)
    nb = {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(nb, indent=1).encode()


def feedback_body(rng: random.Random) -> bytes:
    """A feedback page: nbconvert's HTML is dominated by inlined CSS (~250 kB)."""
    css = "".join(f".c{i} {{ color: #{rng.getrandbits(24):06x}; }}\n" for i in range(9000))
    score = rng.randint(0, 10)
    return (
        f"<html><head><style>{css}</style></head><body><p>Score: {score} / 10</p></body></html>\n"
    ).encode()


def pool(seed: int) -> List[bytes]:
    """The notebook bodies every generated file picks from."""
    rng = random.Random(seed)
    return [notebook_body(rng) for _ in range(POOL_SIZE)]
