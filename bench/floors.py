"""Floors: the least work any exchange could do for the same result, done in parallel.

For collect, a parallel copy of exactly the files collect copies (known up front: no
listing, no selection, no checks). For list, a parallel walk of the same directories (names
only, by ``d_type``: no stat, no reads). An exchange within a small factor of these is
limited by the filesystem, not by its own design.
"""

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from typing import List, Sequence, Tuple


def parallel_copy(root: str, dest: str, files: Sequence[Tuple[str, str]], threads: int) -> int:
    """Copy ``root/src`` to ``dest/dst`` for every pair, ``threads`` at a time."""
    for parent in sorted({os.path.dirname(dst) for _, dst in files}):
        os.makedirs(os.path.join(dest, parent), exist_ok=True)

    def one(pair: Tuple[str, str]) -> None:
        src, dst = pair
        shutil.copyfile(os.path.join(root, src), os.path.join(dest, dst))

    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(one, files):
            pass
    return len(files)


def parallel_walk(root: str, dirs: Sequence[str], threads: int) -> int:
    """List every directory below each of ``dirs`` (relative to ``root``), ``threads``
    listings at a time; returns how many directories were listed."""
    listed = 0

    def listing(path: str) -> List[str]:
        subdirs = []
        with os.scandir(path) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(entry.path)
        return subdirs

    with ThreadPoolExecutor(threads) as pool:
        pending = [pool.submit(listing, os.path.join(root, d)) for d in dirs]
        while pending:
            future = pending.pop()
            listed += 1
            pending.extend(pool.submit(listing, sub) for sub in future.result())
    return listed
