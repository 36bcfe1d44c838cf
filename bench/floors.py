"""Floors: the least work any exchange could do for the same result, done in parallel.

For collect, a parallel copy of exactly the files collect copies (known up front: no
listing, no selection, no checks). For list, a parallel walk of the same directories (names
only, by ``d_type``: no stat, no reads). An exchange within a small factor of these is
limited by the filesystem, not by its own design.
"""

import os
import shutil
import threading
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
    listings at a time; returns how many directories were listed.

    Each listing queues its subdirectories itself as soon as it has read them, so the
    pool never waits on one listing while others could start."""
    lock = threading.Lock()
    done = threading.Event()
    state = {"pending": 0, "listed": 0}
    errors: List[BaseException] = []
    pool = ThreadPoolExecutor(threads)

    def queue(path: str) -> None:
        with lock:
            state["pending"] += 1
        pool.submit(listing, path)

    def listing(path: str) -> None:
        try:
            with os.scandir(path) as it:
                subdirs = [e.path for e in it if e.is_dir(follow_symlinks=False)]
            for sub in subdirs:
                queue(sub)
        except BaseException as err:  # surfaced below, after the pool drains
            errors.append(err)
        with lock:
            state["listed"] += 1
            state["pending"] -= 1
            if state["pending"] == 0:
                done.set()

    for d in dirs:
        queue(os.path.join(root, d))
    done.wait()
    pool.shutdown()
    if errors:
        raise errors[0]
    return state["listed"]
