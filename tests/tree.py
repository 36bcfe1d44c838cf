"""What tests see in exchange directories: the entries a user means, without our reserved dot
entries (an inbox's `.nbk8s-fetched/` fetch markers, DESIGN.md "Reserved names")."""

from pathlib import Path


def visible(path: Path) -> list[Path]:
    """Sorted entries of `path` whose names do not start with a dot ([] when it is absent):
    an inbox's submissions, a cache's assignments, an outbound's releases."""
    if not path.exists():
        return []
    return sorted(p for p in path.iterdir() if not p.name.startswith("."))


def snapshot(root: Path) -> dict:
    """Every entry under `root` (links not followed) with its kind, owner, mode and content or
    link target: two snapshots are equal only if nothing at all changed."""
    import os
    import stat

    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                body = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                body = ("file", path.read_bytes())
            else:
                body = ("dir" if stat.S_ISDIR(st.st_mode) else "other", None)
            seen[str(path.relative_to(root))] = (body, st.st_uid, st.st_gid, st.st_mode)
    return seen
