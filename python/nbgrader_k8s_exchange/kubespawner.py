"""KubeSpawner integration: mount into each pod only what its user may see.

Entry points, from the most to the least complete:

* :func:`configure` sets up a hub from plain settings (the ``custom.nbgrader`` mapping of the
  Zero to JupyterHub values): the course groups, and a ``modify_pod_hook`` that gives each pod
  its exchange mounts, its role's image, nbgrader config and ``NBGRADER_COURSE_ID``. The values
  file only calls it, so a newer wheel fixes a deployment without editing YAML.
* :func:`make_modify_pod_hook` returns that hook alone. It works on the pod KubeSpawner is about
  to create, after ``profileList`` overrides were applied, so a profile that overrides ``image``
  or ``volumes`` cannot drop the exchange. An admin's own hook is kept (see :func:`configure`).
* :func:`exchange_mounts` returns ``(volumes, volume_mounts)`` for one user, as plain dicts in
  KubeSpawner's trait format. The rules (DESIGN.md's table) live in the Rust core, so this and
  ``nbgrader-k8s mounts`` always agree.
* :func:`make_pre_spawn_hook` (older): the mounts as a ``pre_spawn_hook``. JupyterHub runs that
  hook before KubeSpawner applies ``profileList`` overrides, so prefer the modify_pod_hook.

Given ``exchange_path`` (where the hub has the exchange volume mounted), the hooks create or
check each course's skeleton with its owner (the keeper, a uid no pod runs as) and modes before
the pod starts, and refuse a link anywhere on it (docs/security.md, "The skeleton"). Without
it, run ``nbgrader-k8s provision`` (e.g. as the Kubernetes Job, as root) first.

Example ``jupyterhub_config.py`` (Zero to JupyterHub: ``hub.extraConfig``)::

    from nbgrader_k8s_exchange.kubespawner import configure
    configure(c, {"hubExchangePath": "/srv/exchange", "courses": {...}})
"""

import asyncio
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from . import _core

__all__ = [
    "configure",
    "make_modify_pod_hook",
    "exchange_mounts",
    "make_pre_spawn_hook",
    "courses_from_groups",
    "courses_for_server",
    "groups_from_courses",
    "add_mounts",
    "chain_modify_pod_hooks",
    "api_service_role",
    "SETTINGS",
    "API_SCOPES",
    "SOURCE_PROPERTY",
]

#: Name of the pod volume holding the role's nbgrader_config.py (a ConfigMap).
CONFIG_VOLUME = "nbgrader-config"
#: Where that file is mounted: /etc/jupyter is on the config path of nbgrader and Jupyter.
CONFIG_MOUNT_PATH = "/etc/jupyter/nbgrader_config.py"
#: kubelet skips its recursive chgrp of a volume whose root already matches the pod's fsGroup
#: (gid, group rwx, setgid) only under this policy; "Always" rewrites the exchange at each start.
FS_GROUP_CHANGE_POLICY = "OnRootMismatch"
#: What ``nbgrader-k8s course``/``roster`` need of the Hub API, and no more: create, fill, empty
#: and delete groups; list users (do a roster's users exist, whose server runs).
#: ``--create-users`` also needs ``admin:users``. Granted by :func:`api_service_role`.
API_SCOPES = ("admin:groups", "list:users")
#: Group property marking the groups of ``courses`` (the Helm values): the hub reapplies them at
#: each start, so ``nbgrader-k8s course``/``roster`` refuse to change them.
SOURCE_PROPERTY = "nbgrader-k8s-source"


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
    ``str.format`` (``{`` and ``}`` doubled), ready for its ``volumes``/``volume_mounts``
    traits. Raises ``ValueError`` for a username or course that could escape its directory as a
    subPath.
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


def courses_for_server(
    server: str, students: List[str], instructors: List[str]
) -> Tuple[List[str], List[str]]:
    """The (student, instructor) courses of the server named ``server``.

    A named server whose name is a course the user takes or teaches serves that course alone
    (mounts and ``NBGRADER_COURSE_ID``): an instructor of two courses opens one server per
    course (``hub.allowNamedServers: true``). The default server (``""``) and any other name
    get every course.
    """
    if server and server in instructors:
        return [], [server]
    if server and server in students:
        return [server], []
    return students, instructors


def _spawner_courses(
    spawner: Any, student_group_prefix: str, instructor_group_prefix: str
) -> Tuple[List[str], List[str]]:
    """(student, instructor) courses of the server ``spawner`` starts: its user's groups,
    narrowed to one course by a named server called after it (:func:`courses_for_server`)."""
    return courses_for_server(
        getattr(spawner, "name", "") or "",
        *courses_from_groups(_user_groups(spawner), student_group_prefix, instructor_group_prefix),
    )


def groups_from_courses(
    courses: Optional[Mapping[str, Any]],
    student_group_prefix: str = "nbgrader-",
    instructor_group_prefix: str = "formgrade-",
) -> Dict[str, Dict[str, List[str]]]:
    """``c.JupyterHub.load_groups`` for ``{course: {instructors: [...], students: [...]}}``.

    A course whose value is empty (``course101: null`` in a Helm overrides file) is dropped.
    Each group carries the property ``nbgrader-k8s-source: values`` (:data:`SOURCE_PROPERTY`),
    which tells ``nbgrader-k8s course``/``roster`` to leave it to the values.
    """
    groups: Dict[str, Dict[str, Any]] = {}
    marker = {SOURCE_PROPERTY: "values"}
    for course, people in (courses or {}).items():
        if not people:
            continue
        groups[f"{student_group_prefix}{course}"] = {
            "users": list(people.get("students") or []),
            "properties": dict(marker),
        }
        groups[f"{instructor_group_prefix}{course}"] = {
            "users": list(people.get("instructors") or []),
            "properties": dict(marker),
        }
    return groups


def api_service_role(service: str, create_users: bool = False) -> Dict[str, Any]:
    """The ``c.JupyterHub.load_roles`` entry granting ``service`` the scopes of the course API.

    ``create_users`` adds ``admin:users`` (for ``--create-users``; tantamount to superuser over
    users, so only when the hub cannot create them at first login).
    """
    scopes = list(API_SCOPES) + (["admin:users"] if create_users else [])
    return {
        "name": f"{service}-courses",
        "description": "nbgrader-k8s course/roster: manage the course groups",
        "scopes": scopes,
        "services": [service],
    }


def _add_unique(existing: Any, items: Sequence[Dict[str, Any]], key: str, label: str) -> Any:
    """Add ``items`` to KubeSpawner's list-or-dict trait value without duplicates.

    In dict form each item gets a key of its own, derived from what makes it unique (a volume's
    name, a mount's path), so a later call adds to an earlier one instead of replacing it.
    """
    if isinstance(existing, dict):
        present = {v.get(key) for v in existing.values() if isinstance(v, dict)}
        merged = dict(existing)
        for item in items:
            if item[key] not in present:
                merged[f"{label}:{item[key]}"] = item
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
    spawner.volumes = _add_unique(spawner.volumes, volumes, "name", "nbgrader-volume")
    spawner.volume_mounts = _add_unique(
        spawner.volume_mounts, mounts, "mountPath", "nbgrader-mount"
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
    keeper_uid: int = _core.DEFAULT_KEEPER_UID,
) -> Callable[[Any], Any]:
    """An async ``pre_spawn_hook`` that mounts the user's exchange directories.

    ``exchange_path`` is where the hub itself has the exchange volume mounted; when given,
    the hook creates (or repairs) the skeleton each course the user needs, owned by
    ``keeper_uid``:``gid`` (docs/security.md, "The skeleton"), before the pod starts. A
    ``profileList`` ``kubespawner_override`` of ``volumes``/``volume_mounts`` replaces what
    this hook added: use :func:`make_modify_pod_hook` where profiles are offered.
    """

    async def pre_spawn_hook(spawner: Any) -> None:
        username = spawner.user.name
        students, instructors = _spawner_courses(
            spawner, student_group_prefix, instructor_group_prefix
        )
        if not students and not instructors:
            return
        volumes, mounts = exchange_mounts(
            username, students, instructors, claim_name=claim_name, mount_root=mount_root
        )
        if exchange_path is not None:
            await _provision_off_loop(
                exchange_path, username, students, instructors, keeper_uid, gid, spawner.log
            )
        add_mounts(spawner, volumes, mounts)
        spawner.log.info(
            "nbgrader exchange for %s: student of %s, instructor of %s",
            username,
            students or "-",
            instructors or "-",
        )

    return pre_spawn_hook


async def _provision_off_loop(*args: Any) -> None:
    """:func:`_provision` in a thread: it waits on the volume, the hub's loop must not."""
    await asyncio.get_running_loop().run_in_executor(None, _provision, *args)


def _provision(
    root: str,
    user: str,
    students: Sequence[str],
    instructors: Sequence[str],
    keeper_uid: int,
    gid: int,
    log: Any,
) -> None:
    """Create or check the skeleton the user's pod mounts through (docs/security.md, "The
    skeleton"): a link anywhere on it is refused, naming it; what this hub may not give to the
    keeper is logged once per spawn, and a student's own directory it may not create is left
    to kubelet."""
    done = []
    for course in instructors:
        done.append(_core.provision_course(root, course, [], keeper_uid=keeper_uid, gid=gid))
    for course in students:
        if course not in instructors:
            done.append(
                _core.provision_course(root, course, [user], keeper_uid=keeper_uid, gid=gid)
            )
    for warning in sorted({w for d in done for w in d["warnings"]}):
        log.warning("nbgrader: %s", warning)


# -- the pod KubeSpawner is about to create -----------------------------------------------


def _unescape(value: Any) -> Any:
    """Undo :func:`exchange_mounts`' brace doubling: a pod manifest is past ``str.format``."""
    if isinstance(value, str):
        return value.replace("{{", "{").replace("}}", "}")
    if isinstance(value, dict):
        return {k: _unescape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unescape(v) for v in value]
    return value


def _image_ref(image: Any) -> Optional[str]:
    """``name:tag`` from a string or a ``{name, tag}`` mapping (the chart's image shape)."""
    if not image:
        return None
    if isinstance(image, str):
        return image
    name, tag = image.get("name"), image.get("tag")
    if not name:
        raise ValueError(f"an image setting needs a name: {dict(image)!r}")
    return f"{name}:{tag}" if tag else name


def _field(obj: Any, attr: str, key: str) -> Any:
    """A field of a Kubernetes object that may be a client model or a camelCase dict."""
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, attr, None)


def _notebook_container(pod: Any) -> Any:
    containers = pod.spec.containers
    for container in containers:
        if container.name == "notebook":
            return container
    return containers[0]


def _claim_of(volume: Any) -> Optional[str]:
    pvc = _field(volume, "persistent_volume_claim", "persistentVolumeClaim")
    return None if pvc is None else _field(pvc, "claim_name", "claimName")


def _containers(spec: Any) -> List[Any]:
    """Every container of the pod: app containers, init containers (sidecars included) and
    ephemeral ones, each a client model or a camelCase dict (``extra_pod_config`` gives dicts)."""
    kinds = (
        ("containers", "containers"),
        ("init_containers", "initContainers"),
        ("ephemeral_containers", "ephemeralContainers"),
    )
    return [c for attr, key in kinds for c in _field(spec, attr, key) or []]


def _mounts_of(container: Any) -> List[Any]:
    return list(_field(container, "volume_mounts", "volumeMounts") or [])


def _set_mounts(container: Any, mounts: List[Any]) -> None:
    if isinstance(container, dict):
        container["volumeMounts"] = mounts
    else:
        container.volume_mounts = mounts


def _mount_key(mount: Any) -> Tuple[Any, ...]:
    return (
        _field(mount, "name", "name"),
        _field(mount, "mount_path", "mountPath"),
        _field(mount, "sub_path", "subPath") or None,
        _field(mount, "sub_path_expr", "subPathExpr") or None,
        bool(_field(mount, "read_only", "readOnly")),
    )


def _drop_exchange_volumes(
    pod: Any, claim_name: str, names: Iterable[str], ours: Sequence[dict], log: Any
) -> None:
    """Remove every volume of the exchange claim (or named like the hook's), and every mount of
    those names in every container, before the hook adds its own.

    Isolation rests on the exchange being mounted only as the hook mounts it: a profile's
    ``kubespawner_override`` or an admin's ``extra_pod_config`` that mounts the claim whole
    would give a student every other student's directory. A mount needs no volume of its own
    to do that: ``{name: nbgrader-exchange, mountPath: /x}`` from ``volume_mounts``,
    ``extra_container_config``, a sidecar or an init container mounts the whole claim as soon as
    the hook adds its volume under that name. So the rule is by name, in every container:
    whatever mounts one of ``names`` (the hook's volumes) or a volume of the claim goes, and
    only the hook's mounts (``ours``, for the notebook container) come back. A mount identical
    to one of ``ours`` in the notebook container (from :func:`make_pre_spawn_hook`, say) is
    replaced without a warning; every other one is named in a warning.
    """
    spec = pod.spec
    names = set(names)
    dropped = {
        _field(v, "name", "name")
        for v in spec.volumes or []
        if _claim_of(v) == claim_name or _field(v, "name", "name") in names
    }
    if dropped:
        spec.volumes = [v for v in spec.volumes or [] if _field(v, "name", "name") not in dropped]
    foreign = sorted(dropped - names)
    if foreign:
        log.warning("nbgrader: removed pod volume(s) %s mounting the exchange claim", foreign)

    reserved = names | dropped
    notebook = _notebook_container(pod)
    expected = {_mount_key(m) for m in ours}
    stray = []
    for container in _containers(spec):
        kept = []
        for mount in _mounts_of(container):
            if _field(mount, "name", "name") not in reserved:
                kept.append(mount)
            elif not (container is notebook and _mount_key(mount) in expected):
                stray.append(
                    f"{_field(container, 'name', 'name')}:"
                    f"{_field(mount, 'mount_path', 'mountPath')} "
                    f"({_field(mount, 'name', 'name')})"
                )
        _set_mounts(container, kept)
    if stray:
        log.warning(
            "nbgrader: removed volumeMount(s) of the exchange's volumes that the hook did not "
            "add: %s",
            ", ".join(stray),
        )


def _set_pod_fields(
    pod: Any,
    volumes: Sequence[dict],
    mounts: Sequence[dict],
    image: Optional[str],
    env: Mapping[str, str],
    gid: int,
    log: Any,
) -> None:
    from kubernetes_asyncio.client.models import V1EnvVar, V1Volume, V1VolumeMount
    from kubespawner.utils import get_k8s_model

    spec = pod.spec
    ours = {v["name"] for v in volumes}
    kept = [v for v in spec.volumes or [] if _field(v, "name", "name") not in ours]
    spec.volumes = kept + [get_k8s_model(V1Volume, v) for v in volumes]

    container = _notebook_container(pod)
    paths = {m["mountPath"] for m in mounts}
    container.volume_mounts = [
        m
        for m in container.volume_mounts or []
        if _field(m, "mount_path", "mountPath") not in paths
    ] + [get_k8s_model(V1VolumeMount, m) for m in mounts]
    if image:
        container.image = image
    if env:
        container.env = [e for e in container.env or [] if _field(e, "name", "name") not in env] + [
            V1EnvVar(name=k, value=v) for k, v in env.items()
        ]

    # kubelet applies fsGroup to the whole exchange volume; see docs/storage.md.
    ctx = spec.security_context
    fs_group = None if ctx is None else _field(ctx, "fs_group", "fsGroup")
    if fs_group is not None:
        if int(fs_group) != gid:
            log.warning(
                "nbgrader: pod fsGroup %s is not the exchange's gid %s: a CSI driver with "
                "ownership management rewrites the whole exchange at each start (docs/storage.md)",
                fs_group,
                gid,
            )
        if isinstance(ctx, dict):
            ctx.setdefault("fsGroupChangePolicy", FS_GROUP_CHANGE_POLICY)
        elif ctx.fs_group_change_policy is None:
            ctx.fs_group_change_policy = FS_GROUP_CHANGE_POLICY


def make_modify_pod_hook(
    *,
    claim_name: str = _core.DEFAULT_CLAIM_NAME,
    mount_root: str = _core.DEFAULT_MOUNT_ROOT,
    student_group_prefix: str = "nbgrader-",
    instructor_group_prefix: str = "formgrade-",
    exchange_path: Optional[str] = None,
    uid: int = 1000,
    gid: int = 100,
    keeper_uid: int = _core.DEFAULT_KEEPER_UID,
    student_image: Any = None,
    instructor_image: Any = None,
    config_map: Optional[str] = None,
) -> Callable[[Any, Any], Any]:
    """An async ``modify_pod_hook(spawner, pod)`` giving the pod its user's exchange.

    It sees the pod KubeSpawner built, after ``profileList`` overrides, and adds:

    * the exchange volume and the user's mounts (DESIGN.md's table), after removing any other
      volume of the exchange claim (from a profile, say), every mount in any container of such
      a volume or of a volume name the hook uses (each one named in a warning), and any mount
      at the same paths;
    * for a user in a course: ``config_map``'s ``{role}_nbgrader_config.py`` at
      ``/etc/jupyter/nbgrader_config.py`` (read-only), and the role's image (``instructor_image``
      or ``student_image``: ``"name:tag"`` or ``{name, tag}``; unset keeps the pod's);
    * for an instructor: ``NBGRADER_COURSE_ID``, the first course they teach (formgrader serves
      one course per server); a named server called after a course serves that course alone
      (:func:`courses_for_server`);
    * ``fsGroupChangePolicy: OnRootMismatch`` when the pod has an fsGroup and no policy.

    Given ``exchange_path``, it first creates or checks the skeleton of the courses the pod
    mounts (owner ``keeper_uid``:``gid``, docs/security.md "The skeleton"); ``uid`` is the
    pods' own uid. A user in no course group gets nothing.
    """

    async def modify_pod_hook(spawner: Any, pod: Any) -> Any:
        username = spawner.user.name
        students, instructors = _spawner_courses(
            spawner, student_group_prefix, instructor_group_prefix
        )
        volumes: List[Dict[str, Any]] = []
        mounts: List[Dict[str, Any]] = []
        if students or instructors:
            volumes, mounts = exchange_mounts(
                username, students, instructors, claim_name=claim_name, mount_root=mount_root
            )
            volumes, mounts = _unescape(volumes), _unescape(mounts)
        role = "instructor" if instructors else "student"
        if mounts and config_map:
            volumes.append({"name": CONFIG_VOLUME, "configMap": {"name": config_map}})
            mounts.append(
                {
                    "name": CONFIG_VOLUME,
                    "mountPath": CONFIG_MOUNT_PATH,
                    "subPath": f"{role}_nbgrader_config.py",
                    "readOnly": True,
                }
            )
        # Whoever the user is, nothing but this hook mounts the exchange claim or its volumes.
        names = [_core.VOLUME_NAME] + ([CONFIG_VOLUME] if config_map else [])
        _drop_exchange_volumes(pod, claim_name, names, mounts, spawner.log)
        if not mounts:
            return pod
        image = _image_ref(instructor_image if instructors else student_image)
        env = {"NBGRADER_COURSE_ID": instructors[0]} if instructors else {}
        if exchange_path is not None:
            await _provision_off_loop(
                exchange_path, username, students, instructors, keeper_uid, gid, spawner.log
            )
        _set_pod_fields(pod, volumes, mounts, image, env, gid, spawner.log)
        spawner.log.info(
            "nbgrader exchange for %s: student of %s, instructor of %s",
            username,
            students or "-",
            instructors or "-",
        )
        return pod

    return modify_pod_hook


def chain_modify_pod_hooks(*hooks: Optional[Callable[[Any, Any], Any]]) -> Callable:
    """One ``modify_pod_hook`` running ``hooks`` in order (None skipped), sync or async."""
    present = [h for h in hooks if h is not None]

    async def chained(spawner: Any, pod: Any) -> Any:
        for hook in present:
            result = hook(spawner, pod)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                result = await result
            pod = result
        return pod

    return chained


#: custom.nbgrader keys :func:`configure` reads, with their defaults.
SETTINGS = {
    "courses": None,
    "studentGroupPrefix": "nbgrader-",
    "instructorGroupPrefix": "formgrade-",
    "claimName": _core.DEFAULT_CLAIM_NAME,
    "mountRoot": _core.DEFAULT_MOUNT_ROOT,
    "hubExchangePath": None,
    "uid": 1000,
    "gid": 100,
    "keeperUid": _core.DEFAULT_KEEPER_UID,
    "configMap": "nbgrader-config",
    "instructorImage": None,
    "studentImage": None,
    "apiService": None,
    "apiServiceCreateUsers": False,
}


def configure(c: Any, settings: Optional[Mapping[str, Any]] = None, spawner: str = "KubeSpawner"):
    """Set up the hub config ``c`` for the exchange, from ``settings`` (see :data:`SETTINGS`).

    * ``courses`` (``{course: {instructors: [...], students: [...]}}``) become the groups
      ``formgrade-{course}`` and ``nbgrader-{course}``, added to any ``load_groups`` already
      set, marked as the values' (see :func:`groups_from_courses`). Leave it empty when your
      authenticator manages groups, or when ``nbgrader-k8s course`` manages them at runtime.
    * ``apiService`` names a service of ``c.JupyterHub.services`` (``hub.services`` in the
      values) whose token ``nbgrader-k8s course``/``roster`` use: it gets the role of
      :func:`api_service_role` (``apiServiceCreateUsers`` adds ``admin:users``).
    * ``c.{spawner}.modify_pod_hook`` becomes :func:`make_modify_pod_hook` with these settings,
      run after a hook already configured there (which is kept). ``pre_spawn_hook`` is not
      touched.

    Unknown keys are refused, so a typo in the values file is an error at hub start rather than
    a setting silently ignored. ``spawner`` names the config section of the spawner class (the
    local hub's ``PodSpawner`` takes the same hook).
    """
    given = dict(settings or {})
    unknown = sorted(set(given) - set(SETTINGS))
    if unknown:
        raise ValueError(
            f"unknown nbgrader setting(s) {unknown}; known: {', '.join(sorted(SETTINGS))}"
        )
    s = {k: (given[k] if given.get(k) is not None else v) for k, v in SETTINGS.items()}
    groups = groups_from_courses(s["courses"], s["studentGroupPrefix"], s["instructorGroupPrefix"])
    if groups:
        existing = c.JupyterHub.get("load_groups") or {}
        c.JupyterHub.load_groups = {**existing, **groups}
    if s["apiService"]:
        role = api_service_role(s["apiService"], bool(s["apiServiceCreateUsers"]))
        roles = [r for r in c.JupyterHub.get("load_roles") or [] if r.get("name") != role["name"]]
        c.JupyterHub.load_roles = roles + [role]
    hook = make_modify_pod_hook(
        claim_name=s["claimName"],
        mount_root=s["mountRoot"],
        student_group_prefix=s["studentGroupPrefix"],
        instructor_group_prefix=s["instructorGroupPrefix"],
        exchange_path=s["hubExchangePath"] or None,
        uid=int(s["uid"]),
        gid=int(s["gid"]),
        keeper_uid=int(s["keeperUid"]),
        student_image=s["studentImage"],
        instructor_image=s["instructorImage"],
        config_map=s["configMap"] or None,
    )
    section = c[spawner]
    section.modify_pod_hook = chain_modify_pod_hooks(section.get("modify_pod_hook"), hook)
