"""The KubeSpawner hooks: literal mount dicts, and real KubeSpawner pod manifests."""

import asyncio
import os
import stat
from types import SimpleNamespace

import kubernetes_validate
import pytest
from traitlets.config import Config

from nbgrader_k8s_exchange.kubespawner import (
    add_mounts,
    configure,
    courses_from_groups,
    exchange_mounts,
    make_modify_pod_hook,
    make_pre_spawn_hook,
)

from .kube import pod_manifest

VOLUME = {"name": "nbgrader-exchange", "persistentVolumeClaim": {"claimName": "nbgrader-exchange"}}


def _student_mounts(course, user):
    return [
        {
            "name": "nbgrader-exchange",
            "mountPath": f"/mnt/exchange/{course}/outbound",
            "subPath": f"{course}/outbound",
            "readOnly": True,
        },
        {
            "name": "nbgrader-exchange",
            "mountPath": f"/mnt/exchange/{course}/inbound/{user}",
            "subPath": f"{course}/inbound/{user}",
        },
        {
            "name": "nbgrader-exchange",
            "mountPath": f"/mnt/exchange/{course}/feedback_public/{user}",
            "subPath": f"{course}/feedback_public/{user}",
            "readOnly": True,
        },
    ]


def test_student_mounts_literal():
    volumes, mounts = exchange_mounts("alice", ["course101"], [])
    assert volumes == [VOLUME]
    assert mounts == _student_mounts("course101", "alice")


def test_instructor_gets_only_their_course_and_it_wins_over_student():
    volumes, mounts = exchange_mounts("prof", ["course101", "course202"], ["course101"])
    assert volumes == [VOLUME]
    assert mounts == [
        {
            "name": "nbgrader-exchange",
            "mountPath": "/mnt/exchange/course101",
            "subPath": "course101",
        },
        *_student_mounts("course202", "prof"),
    ]


def test_claim_and_root_are_settable_and_no_courses_means_nothing():
    volumes, mounts = exchange_mounts("a", ["c"], [], claim_name="ex2", mount_root="/srv/ex")
    assert volumes[0]["persistentVolumeClaim"] == {"claimName": "ex2"}
    assert mounts[0]["mountPath"] == "/srv/ex/c/outbound"
    assert exchange_mounts("a", [], []) == ([], [])


@pytest.mark.parametrize("user", ["../alice", "a/b", ".hidden", "..", ".", "a\0b", ""])
def test_usernames_that_could_escape_are_refused(user):
    with pytest.raises(ValueError, match="student"):
        exchange_mounts(user, ["course101"], [])


@pytest.mark.parametrize("course", ["a+b", "a*", "../c", ".c", "c/d"])
def test_bad_courses_are_refused(course):
    with pytest.raises(ValueError, match="course"):
        exchange_mounts("alice", [course], [])


def test_groups_to_courses():
    groups = ["nbgrader-course101", "formgrade-course202", "nbgrader-", "other", "nbgrader-c3"]
    assert courses_from_groups(groups) == (["c3", "course101"], ["course202"])


def test_add_mounts_list_and_dict_without_duplicates():
    volumes, mounts = exchange_mounts("alice", ["course101"], [])
    spawner = SimpleNamespace(volumes=[], volume_mounts={"home": {"mountPath": "/home/jovyan"}})
    add_mounts(spawner, volumes, mounts)
    add_mounts(spawner, volumes, mounts)
    assert spawner.volumes == [VOLUME]
    assert len(spawner.volume_mounts) == 4
    assert spawner.volume_mounts["home"] == {"mountPath": "/home/jovyan"}


# -- real KubeSpawner --------------------------------------------------------------------


def _exchange_mounts_of(manifest):
    return [
        m
        for m in manifest["spec"]["containers"][0]["volumeMounts"]
        if m["name"] == "nbgrader-exchange"
    ]


@pytest.mark.parametrize(
    "user", ["alice", "zoë.o'brien+test@uni.edu", "we{ir}d", "user-{username}", "Ünïcödé"]
)
@pytest.mark.parametrize("hook", ["pre_spawn_hook", "modify_pod_hook"])
def test_manifest_mounts_raw_username_and_validates(user, hook):
    if hook == "pre_spawn_hook":
        manifest = pod_manifest(user, ["nbgrader-course101"], hook=make_pre_spawn_hook())
    else:
        manifest = pod_manifest(
            user, ["nbgrader-course101"], modify_pod_hook=make_modify_pod_hook()
        )
    mounts = _exchange_mounts_of(manifest)
    expected = _student_mounts("course101", user)
    assert [(m["mountPath"], m["subPath"], m.get("readOnly")) for m in mounts] == [
        (m["mountPath"], m["subPath"], m.get("readOnly")) for m in expected
    ]
    assert manifest["spec"]["volumes"] == [VOLUME]
    kubernetes_validate.validate(manifest, "1.30", strict=True)


def test_manifest_keeps_admin_mounts_in_dict_form():
    manifest = pod_manifest(
        "alice",
        ["nbgrader-course101"],
        hook=make_pre_spawn_hook(),
        volumes={"a-home": {"name": "home", "emptyDir": {}}},
        volume_mounts={"a-home": {"name": "home", "mountPath": "/home/jovyan"}},
    )
    paths = [m["mountPath"] for m in manifest["spec"]["containers"][0]["volumeMounts"]]
    assert "/home/jovyan" in paths and len(paths) == 4
    assert {v["name"] for v in manifest["spec"]["volumes"]} == {"home", "nbgrader-exchange"}


def test_user_without_course_groups_gets_nothing():
    manifest = pod_manifest("visitor", ["some-other-group"], hook=make_pre_spawn_hook())
    assert _exchange_mounts_of(manifest) == []
    c = Config()
    configure(c, {"instructorImage": "teach:1", "studentImage": "learn:1"})
    manifest = pod_manifest("visitor", ["some-other-group"], config=c, image="default:1")
    assert _exchange_mounts_of(manifest) == []
    assert manifest["spec"]["containers"][0]["image"] == "default:1"


def test_hook_provisions_the_skeleton_with_its_keeper_and_modes(tmp_path):
    """Every directory a pod's subPath goes through belongs to the keeper (no pod runs as it),
    sealed (2755) where its entries are subPaths, shared (2775) where pods write inside."""
    root = tmp_path / "exchange"
    root.mkdir()
    hook = make_pre_spawn_hook(exchange_path=str(root), uid=1000, gid=100, keeper_uid=4242)
    pod_manifest("alice", ["nbgrader-course101", "formgrade-course202"], hook=hook)
    sealed, shared = 0o2755, 0o2775
    expected = {
        "course101": sealed,
        "course101/outbound": shared,
        "course101/inbound": sealed,
        "course101/feedback_public": sealed,
        "course101/.nbk8s-removed": shared,
        "course101/.nbk8s-notary": shared,
        "course101/inbound/alice": shared,
        "course101/feedback_public/alice": shared,
        "course202": sealed,
        "course202/outbound": shared,
        "course202/inbound": sealed,
        "course202/feedback_public": sealed,
    }
    for rel, mode in expected.items():
        st = os.lstat(root / rel)
        assert stat.S_ISDIR(st.st_mode), rel
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (4242, 100, mode), rel
    assert not (root / "course202" / "inbound" / "alice").exists()


# -- dict-form traits (issue 12, item 4) ----------------------------------------------------


def test_two_add_mounts_calls_on_dict_traits_keep_both_through_kubespawner():
    """The values used to call add_mounts twice (exchange, then the config map): in dict form
    the second call must add to the first, not overwrite its entries."""
    volumes, mounts = exchange_mounts("alice", ["course101"], [])
    config_volume = {"name": "nbgrader-config", "configMap": {"name": "nbgrader-config"}}
    config_mount = {"name": "nbgrader-config", "mountPath": "/etc/jupyter/nbgrader_config.py"}

    async def hook(spawner):
        add_mounts(spawner, volumes, mounts)
        add_mounts(spawner, [config_volume], [config_mount])

    manifest = pod_manifest(
        "alice",
        [],
        hook=hook,
        volumes={"home": {"name": "home", "emptyDir": {}}},
        volume_mounts={"home": {"name": "home", "mountPath": "/home/jovyan"}},
    )
    paths = {m["mountPath"] for m in manifest["spec"]["containers"][0]["volumeMounts"]}
    assert paths == {
        "/home/jovyan",
        "/etc/jupyter/nbgrader_config.py",
        *(m["mountPath"] for m in mounts),
    }
    names = {v["name"] for v in manifest["spec"]["volumes"]}
    assert names == {"home", "nbgrader-exchange", "nbgrader-config"}
    kubernetes_validate.validate(manifest, "1.30", strict=True)


# -- configure() and the modify_pod_hook (issue 12, items 5, 8, 9) --------------------------

SETTINGS = {
    "courses": {"course101": {"instructors": ["prof"], "students": ["alice"]}},
    "instructorImage": {"name": "registry.example.org/teach", "tag": "2"},
    "studentImage": "registry.example.org/learn:2",
}
PROFILES = [
    {"display_name": "Default", "slug": "default", "default": True},
    {
        "display_name": "Big data",
        "slug": "big",
        "kubespawner_override": {
            "image": "registry.example.org/bigdata:1",
            "volumes": [{"name": "scratch", "emptyDir": {}}],
            "volume_mounts": [{"name": "scratch", "mountPath": "/scratch"}],
            "environment": {"SCRATCH": "/scratch"},
        },
    },
]


def _container(manifest):
    [container] = manifest["spec"]["containers"]
    return container


def _env_of(manifest):
    return {e["name"]: e.get("value") for e in _container(manifest).get("env") or []}


def _config(settings=SETTINGS, profiles=PROFILES):
    c = Config()
    c.KubeSpawner.profile_list = profiles
    c.KubeSpawner.image = "registry.example.org/default:1"
    configure(c, settings)
    return c


@pytest.mark.parametrize(
    ("user", "groups", "image", "paths"),
    [
        (
            "prof",
            ["formgrade-course101"],
            "registry.example.org/teach:2",
            ["/mnt/exchange/course101"],
        ),
        (
            "alice",
            ["nbgrader-course101"],
            "registry.example.org/learn:2",
            [
                "/mnt/exchange/course101/outbound",
                "/mnt/exchange/course101/inbound/alice",
                "/mnt/exchange/course101/feedback_public/alice",
            ],
        ),
    ],
)
def test_a_profile_overriding_image_and_volumes_keeps_the_exchange(user, groups, image, paths):
    manifest = pod_manifest(user, groups, config=_config(), user_options={"profile": "big"})
    container = _container(manifest)
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    # The profile's own volume is there, and so is everything the exchange needs.
    assert "/scratch" in mounts and _env_of(manifest)["SCRATCH"] == "/scratch"
    assert set(paths) <= set(mounts)
    role = "instructor" if user == "prof" else "student"
    assert mounts["/etc/jupyter/nbgrader_config.py"]["subPath"] == f"{role}_nbgrader_config.py"
    assert container["image"] == image
    names = {v["name"] for v in manifest["spec"]["volumes"]}
    assert names == {"scratch", "nbgrader-exchange", "nbgrader-config"}
    kubernetes_validate.validate(manifest, "1.30", strict=True)


def test_the_default_profile_gets_the_same_pod():
    big = pod_manifest("prof", ["formgrade-course101"], config=_config(), user_options={})
    assert _container(big)["image"] == "registry.example.org/teach:2"
    assert _env_of(big)["NBGRADER_COURSE_ID"] == "course101"


def test_hooks_the_admin_set_are_kept_and_run(tmp_path):
    ran = []

    def admin_pre_spawn(spawner):
        ran.append("pre_spawn")

    async def admin_modify(spawner, pod):
        ran.append("modify")
        pod.metadata.labels["site/extra"] = "yes"
        return pod

    c = Config()
    c.KubeSpawner.pre_spawn_hook = admin_pre_spawn
    c.KubeSpawner.modify_pod_hook = admin_modify
    configure(c, {**SETTINGS, "hubExchangePath": str(tmp_path)})
    assert c.KubeSpawner.pre_spawn_hook is admin_pre_spawn
    manifest = pod_manifest("alice", ["nbgrader-course101"], config=c)
    assert ran == ["pre_spawn", "modify"]
    assert manifest["metadata"]["labels"]["site/extra"] == "yes"
    assert "/mnt/exchange/course101/inbound/alice" in {
        m["mountPath"] for m in _container(manifest)["volumeMounts"]
    }
    assert (tmp_path / "course101" / "inbound" / "alice").is_dir()


def test_course_id_with_braces_reaches_the_pod_verbatim():
    """Course ids may hold braces; KubeSpawner str.formats env and mounts it is given."""
    course = "stats{2026}"
    c = Config()
    configure(c, {"courses": {course: {"instructors": ["prof"], "students": ["a{b}"]}}})
    prof = pod_manifest("prof", [f"formgrade-{course}"], config=c)
    assert _env_of(prof)["NBGRADER_COURSE_ID"] == course
    assert f"/mnt/exchange/{course}" in {m["mountPath"] for m in _container(prof)["volumeMounts"]}
    student = pod_manifest("a{b}", [f"nbgrader-{course}"], config=c)
    assert {m["subPath"] for m in _exchange_mounts_of(student)} == {
        f"{course}/outbound",
        f"{course}/inbound/a{{b}}",
        f"{course}/feedback_public/a{{b}}",
    }


def test_pods_with_an_fs_group_get_on_root_mismatch():
    c = Config()
    c.KubeSpawner.fs_gid = 100
    configure(c, SETTINGS)
    manifest = pod_manifest("alice", ["nbgrader-course101"], config=c)
    ctx = manifest["spec"]["securityContext"]
    assert (ctx["fsGroup"], ctx["fsGroupChangePolicy"]) == (100, "OnRootMismatch")
    # An admin's explicit policy is theirs to keep.
    c.KubeSpawner.pod_security_context = {"fsGroupChangePolicy": "Always"}
    manifest = pod_manifest("alice", ["nbgrader-course101"], config=c)
    assert manifest["spec"]["securityContext"]["fsGroupChangePolicy"] == "Always"


VALUES_MARK = {"nbgrader-k8s-source": "values"}


def test_configure_groups_and_refuses_unknown_settings():
    c = Config()
    c.JupyterHub.load_groups = {"staff": {"users": ["root"]}}
    configure(c, {**SETTINGS, "courses": {**SETTINGS["courses"], "dropped": None}})
    assert c.JupyterHub.load_groups == {
        "staff": {"users": ["root"]},
        "nbgrader-course101": {"users": ["alice"], "properties": VALUES_MARK},
        "formgrade-course101": {"users": ["prof"], "properties": VALUES_MARK},
    }
    with pytest.raises(ValueError, match="instructorimage"):
        configure(Config(), {"instructorimage": "x:1"})


def test_configure_grants_the_api_service_its_scopes_once():
    c = Config()
    c.JupyterHub.load_roles = [{"name": "other", "scopes": ["read:users"]}]
    configure(c, {**SETTINGS, "apiService": "nbgrader-k8s"})
    configure(c, {**SETTINGS, "apiService": "nbgrader-k8s"})
    assert c.JupyterHub.load_roles == [
        {"name": "other", "scopes": ["read:users"]},
        {
            "name": "nbgrader-k8s-courses",
            "description": "nbgrader-k8s course/roster: manage the course groups",
            "scopes": ["admin:groups", "list:users"],
            "services": ["nbgrader-k8s"],
        },
    ]


def test_a_profile_cannot_mount_the_exchange_claim_whole():
    """Isolation rests on the hook's subPath mounts: a profile (or extra_pod_config) mounting
    the claim itself would show a student everyone's directories."""
    sneaky = {
        "display_name": "Sneaky",
        "slug": "sneaky",
        "kubespawner_override": {
            "volumes": [
                {"name": "all", "persistentVolumeClaim": {"claimName": "nbgrader-exchange"}},
                {"name": "scratch", "emptyDir": {}},
            ],
            "volume_mounts": [
                {"name": "all", "mountPath": "/everything"},
                {"name": "scratch", "mountPath": "/scratch"},
            ],
        },
    }
    c = _config(profiles=[PROFILES[0], sneaky])
    for user, groups in (("alice", ["nbgrader-course101"]), ("visitor", [])):
        manifest = pod_manifest(user, groups, config=c, user_options={"profile": "sneaky"})
        mounts = {m["mountPath"]: m for m in _container(manifest)["volumeMounts"]}
        assert "/everything" not in mounts and "/scratch" in mounts
        whole = [
            m for m in mounts.values() if m["name"] == "nbgrader-exchange" and not m.get("subPath")
        ]
        assert whole == []
        claims = [v for v in manifest["spec"]["volumes"] if "persistentVolumeClaim" in v]
        assert [v["name"] for v in claims] == (["nbgrader-exchange"] if groups else [])
        kubernetes_validate.validate(manifest, "1.30", strict=True)


# -- the local hub's spawner takes the same path (make hub, the browser test) --------------


def test_the_local_pod_spawner_gets_the_pod_kubespawner_gets(tmp_path):
    from hub.podspawner import PodSpawner

    from .kube import FakeUser

    def config(section):
        c = Config()
        c[section].fs_gid = 100
        configure(c, {**SETTINGS, "hubExchangePath": str(tmp_path)}, spawner=section)
        return c

    async def local(user, groups):
        spawner = PodSpawner(
            user=FakeUser(user, groups),
            config=config("PodSpawner"),
            exchange_dir=str(tmp_path),
            homes_dir=str(tmp_path / "homes"),
            cmd=["jupyterhub-singleuser"],
        )
        spawner.port = 8888
        return await spawner.manifest({"JUPYTERHUB_USER": user})

    def exchange_part(manifest):
        spec = manifest["spec"]
        container = spec["containers"][0]
        env = {e["name"]: e.get("value") for e in container.get("env") or []}
        return (
            sorted(spec["volumes"], key=lambda v: v["name"]),
            sorted(container["volumeMounts"], key=lambda m: m["mountPath"]),
            container["image"],
            env.get("NBGRADER_COURSE_ID"),
            spec["securityContext"],
        )

    for user, groups in (("prof", ["formgrade-course101"]), ("alice", ["nbgrader-course101"])):
        cluster = pod_manifest(user, groups, config=config("KubeSpawner"))
        assert exchange_part(asyncio.run(local(user, groups))) == exchange_part(cluster)


# -- no mount of the exchange volume but the hook's (issue 27, item 4) ----------------------

#: Mounts naming a volume the hook itself defines, with no volume of that name in the pod: they
#: reach the claim once the hook adds its volume (the whole claim without subPath, every inbox
#: with a wider one), or the nbgrader config with the config volume's name. And a mount of
#: another volume of the claim (CLAIM_VOLUME, put in the pod by the same route).
CLAIM_VOLUME = {"name": "all", "persistentVolumeClaim": {"claimName": "nbgrader-exchange"}}
STRAY_MOUNTS = [
    {"name": "all", "mountPath": "/all"},
    {"name": "nbgrader-exchange", "mountPath": "/everything"},
    {"name": "nbgrader-exchange", "mountPath": "/inboxes", "subPath": "course101/inbound"},
    {"name": "nbgrader-exchange", "mountPath": "/mine", "subPathExpr": "$(POD_NAME)"},
    {"name": "nbgrader-config", "mountPath": "/etc/jupyter/other.py", "subPath": "x.py"},
]


def _stray_config(route):
    """The hub config putting STRAY_MOUNTS into a pod by ``route``, and the user_options."""
    c = Config()
    options = {}
    mounts = [dict(m) for m in STRAY_MOUNTS]
    c.KubeSpawner.volumes = [CLAIM_VOLUME]
    if route == "volume_mounts":
        c.KubeSpawner.volume_mounts = mounts
    elif route == "extra_container_config":
        c.KubeSpawner.extra_container_config = {"volumeMounts": mounts}
    elif route == "profile":
        c.KubeSpawner.profile_list = [
            PROFILES[0],
            {
                "display_name": "P",
                "slug": "p",
                "kubespawner_override": {"volume_mounts": mounts, "volumes": [CLAIM_VOLUME]},
            },
        ]
        options = {"profile": "p"}
    elif route == "extra_containers":
        c.KubeSpawner.extra_containers = [
            {"name": "sidecar", "image": "s:1", "volumeMounts": mounts}
        ]
    elif route == "init_containers":
        c.KubeSpawner.init_containers = [{"name": "init", "image": "i:1", "volumeMounts": mounts}]
    elif route == "ephemeral_containers":
        c.KubeSpawner.extra_pod_config = {
            "ephemeralContainers": [{"name": "debug", "image": "d:1", "volumeMounts": mounts}]
        }
    configure(c, SETTINGS)
    return c, options


def _mounts_everywhere(manifest):
    """(container, mount) for every volumeMount of every kind of container in the pod."""
    spec = manifest["spec"]
    return [
        (container["name"], mount)
        for kind in ("containers", "initContainers", "ephemeralContainers")
        for container in spec.get(kind) or []
        for mount in container.get("volumeMounts") or []
    ]


@pytest.mark.parametrize(
    "route",
    [
        "volume_mounts",
        "extra_container_config",
        "profile",
        "extra_containers",
        "init_containers",
        "ephemeral_containers",
    ],
)
@pytest.mark.parametrize(
    ("user", "groups"),
    [("alice", ["nbgrader-course101"]), ("prof", ["formgrade-course101"]), ("visitor", [])],
)
def test_no_mount_of_the_exchange_survives_but_the_hooks(route, user, groups, caplog):
    """Whatever route put it there, a mount naming the hook's volumes (or any volume of the
    claim) in any container is gone, with a warning naming it; the hook's own mounts, in the
    notebook container, are the only ones left."""
    c, options = _stray_config(route)
    manifest = pod_manifest(user, groups, config=c, user_options=options)
    claim_volumes = {
        v["name"]
        for v in manifest["spec"]["volumes"]
        if (v.get("persistentVolumeClaim") or {}).get("claimName") == "nbgrader-exchange"
    }
    ours = claim_volumes | {m["name"] for m in STRAY_MOUNTS}
    found = sorted(
        (name, m["mountPath"], m.get("subPath"), m.get("subPathExpr"))
        for name, m in _mounts_everywhere(manifest)
        if m["name"] in ours
    )
    students, instructors = courses_from_groups(groups)
    _, expected = exchange_mounts(user, students, instructors)
    if groups:
        role = "instructor" if instructors else "student"
        expected.append(
            {
                "mountPath": "/etc/jupyter/nbgrader_config.py",
                "subPath": f"{role}_nbgrader_config.py",
            }
        )
    assert found == sorted(("notebook", m["mountPath"], m.get("subPath"), None) for m in expected)
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    for stray in STRAY_MOUNTS:
        assert stray["mountPath"] in warned, warned
    if route != "ephemeral_containers":  # the API refuses those at creation; nothing to check
        kubernetes_validate.validate(manifest, "1.30", strict=True)


@pytest.mark.parametrize(
    ("server", "groups", "course_id", "whole", "student_of"),
    [
        # An instructor of two courses: one named server per course, each serving it alone.
        ("ml201", ["formgrade-ds101", "formgrade-ml201"], "ml201", {"ml201"}, set()),
        ("ds101", ["formgrade-ds101", "formgrade-ml201"], "ds101", {"ds101"}, set()),
        # Teaching one course and taking another: the server named after the taken one.
        ("ds101", ["formgrade-ml201", "nbgrader-ds101"], None, set(), {"ds101"}),
        # The default server, and a name that is no course of theirs: every course, as before.
        ("", ["formgrade-ds101", "formgrade-ml201"], "ds101", {"ds101", "ml201"}, set()),
        ("scratch", ["formgrade-ml201", "nbgrader-ds101"], "ml201", {"ml201"}, {"ds101"}),
        # A course they are not in gives nothing of it.
        ("cs999", ["nbgrader-ds101"], None, set(), {"ds101"}),
    ],
)
def test_a_named_server_called_after_a_course_serves_that_course(
    server, groups, course_id, whole, student_of
):
    """docs/configure.md suggests one named server per course: its mounts and
    NBGRADER_COURSE_ID follow the server's name (KubeSpawner's ``name``)."""
    c = Config()
    configure(c, {})
    manifest = pod_manifest("prof", groups, config=c, server_name=server)
    mounts = _exchange_mounts_of(manifest)
    assert {m["subPath"] for m in mounts if "/" not in m["subPath"]} == whole
    assert {m["subPath"].split("/")[0] for m in mounts if "/" in m["subPath"]} == student_of
    assert _env_of(manifest).get("NBGRADER_COURSE_ID") == course_id
