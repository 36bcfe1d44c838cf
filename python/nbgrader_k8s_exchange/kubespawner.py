"""KubeSpawner integration: mount into each pod only what its user may see.

Two entry points:

* :func:`exchange_mounts` returns ``(volumes, volume_mounts)`` for one user, as plain dicts in
  KubeSpawner's format. The rules (DESIGN.md's table) live in the Rust core, so this and
  ``nbgrader-k8s mounts`` always agree.
* :func:`make_pre_spawn_hook` returns an async hook for ``c.KubeSpawner.pre_spawn_hook`` that
  reads the user's JupyterHub groups (``nbgrader-{course}`` = student,
  ``formgrade-{course}`` = instructor), adds the mounts, and, given ``exchange_path`` (where
  the hub has the exchange volume mounted), creates the course tree with the right owner and
  modes before the pod starts. Kubelet would otherwise create missing subPaths owned by root,
  which uid 1000 cannot write. Without ``exchange_path``, run ``nbgrader-k8s init`` and
  ``nbgrader-k8s provision`` (e.g. as a Kubernetes Job) before students spawn.

Example ``jupyterhub_config.py``::

    from nbgrader_k8s_exchange.kubespawner import make_pre_spawn_hook
    c.KubeSpawner.pre_spawn_hook = make_pre_spawn_hook(exchange_path="/srv/exchange")
"""

import asyncio
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from . import _core

__all__ = ["exchange_mounts", "make_pre_spawn_hook", "courses_from_groups", "add_mounts"]


def exchange_mounts(
    username: str,
    student_courses: Iterable[str],
    instructor_courses: Iterable[str],
    claim_name: str = _core.DEFAULT_CLAIM_NAME,
    mount_root: str = _core.DEFAULT_MOUNT_ROOT,
) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """The volumes and volumeMounts giving ``username`` its exchange directories.

    Students of a course get ``outbound`` read-only, their own ``inbound/{user}`` read-write
    and their own ``feedback_public/{user}`` read-only; instructors get the whole course
    read-write (and only the courses they teach). Strings are escaped for KubeSpawner's
    ``str.format`` (``{`` and ``}`` doubled). Raises ``ValueError`` for a username or course
    that could escape its directory as a subPath.
    """
    try:
        return _core.exchange_mounts(
            username,
            list(student_courses),
            list(instructor_courses),
            claim_name=claim_name,
            mount_root=mount_root,
        )
    except _core.ExchangeCoreError as err:
        raise ValueError(str(err)) from err


def courses_from_groups(
    groups: Iterable[str],
    student_group_prefix: str = "nbgrader-",
    instructor_group_prefix: str = "formgrade-",
) -> Tuple[List[str], List[str]]:
    """(student courses, instructor courses) from JupyterHub group names."""
    students, instructors = set(), set()
    for group in groups:
        if group.startswith(instructor_group_prefix):
            instructors.add(group[len(instructor_group_prefix) :])
        elif group.startswith(student_group_prefix):
            students.add(group[len(student_group_prefix) :])
    students.discard("")
    instructors.discard("")
    return sorted(students), sorted(instructors)


def _add_unique(existing: Any, items: Sequence[Dict[str, Any]], key: str, label: str) -> Any:
    """Add ``items`` to KubeSpawner's list-or-dict trait value without duplicates."""
    if isinstance(existing, dict):
        present = {v.get(key) for v in existing.values() if isinstance(v, dict)}
        merged = dict(existing)
        for i, item in enumerate(items):
            if item[key] not in present:
                merged[f"{label}-{i}"] = item
                present.add(item[key])
        return merged
    merged = list(existing or [])
    present = {v.get(key) for v in merged if isinstance(v, dict)}
    for item in items:
        if item[key] not in present:
            merged.append(item)
            present.add(item[key])
    return merged


def add_mounts(spawner: Any, volumes: Sequence[dict], mounts: Sequence[dict]) -> None:
    """Merge our volumes/mounts into ``spawner.volumes`` / ``spawner.volume_mounts``.

    KubeSpawner accepts either a list or a dict (keyed, sorted by key) for both; both forms are
    kept. A volume with the same name, or a mount with the same mountPath, is never added twice.
    """
    spawner.volumes = _add_unique(spawner.volumes, volumes, "name", _core.VOLUME_NAME)
    spawner.volume_mounts = _add_unique(
        spawner.volume_mounts, mounts, "mountPath", _core.VOLUME_NAME
    )


def _user_groups(spawner: Any) -> List[str]:
    return [getattr(g, "name", g) for g in getattr(spawner.user, "groups", [])]


def make_pre_spawn_hook(
    *,
    claim_name: str = _core.DEFAULT_CLAIM_NAME,
    mount_root: str = _core.DEFAULT_MOUNT_ROOT,
    student_group_prefix: str = "nbgrader-",
    instructor_group_prefix: str = "formgrade-",
    exchange_path: Optional[str] = None,
    uid: int = 1000,
    gid: int = 100,
) -> Callable[[Any], Any]:
    """An async ``pre_spawn_hook`` that mounts the user's exchange directories.

    ``exchange_path`` is where the hub itself has the exchange volume mounted; when given,
    the hook creates (or repairs) each course tree the user needs, owned by ``uid``:``gid``
    with directories 0755, before the pod starts.
    """

    async def pre_spawn_hook(spawner: Any) -> None:
        username = spawner.user.name
        students, instructors = courses_from_groups(
            _user_groups(spawner), student_group_prefix, instructor_group_prefix
        )
        if not students and not instructors:
            return
        volumes, mounts = exchange_mounts(
            username, students, instructors, claim_name=claim_name, mount_root=mount_root
        )
        if exchange_path is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(
                None, _provision, exchange_path, username, students, instructors, uid, gid
            )
        add_mounts(spawner, volumes, mounts)
        spawner.log.info(
            "nbgrader exchange for %s: student of %s, instructor of %s",
            username,
            students or "-",
            instructors or "-",
        )

    return pre_spawn_hook


def _provision(
    root: str, user: str, students: Sequence[str], instructors: Sequence[str], uid: int, gid: int
) -> None:
    for course in instructors:
        _core.provision_course(root, course, [], uid=uid, gid=gid)
    for course in students:
        if course not in instructors:
            _core.provision_course(root, course, [user], uid=uid, gid=gid)
