"""What tests see in exchange directories: the entries a user means, without our reserved dot
entries (an inbox's `.nbk8s-fetched/` fetch markers, DESIGN.md "Reserved names")."""

from pathlib import Path


def visible(path: Path) -> list[Path]:
    """Sorted entries of `path` whose names do not start with a dot ([] when it is absent):
    an inbox's submissions, a cache's assignments, an outbound's releases."""
    if not path.exists():
        return []
    return sorted(p for p in path.iterdir() if not p.name.startswith("."))
