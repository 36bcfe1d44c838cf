"""`nbgrader-k8s course` and `roster` against a real JupyterHub (the pip package), through its
REST API with a service token holding the documented scopes (the package's role)."""

import json
import urllib.request

from nbgrader_k8s_exchange.kubespawner import API_SCOPES

from .hubs import cli

# Shaped like the real exports: Canvas's gradebook (its "Points Possible" row, the numeric
# Canvas ID beside the SIS Login ID, "Last, First" names, a Test Student without a login) and
# Moodle's grade export (a BOM, "ID number", "Email address", no username column by default).
CANVAS = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (87568490),Current Score\n"
    '"    Points Possible",,,,,10,\n'
    '"Adams, Alice",4711,S1001,alice,Sec 01,9,90\n'
    '"Brown, Bob",4712,S1002,bob,Sec 01,7,70\n'
    '"Student, Test",4799,,,Sec 01,,\n'
)
MOODLE = (
    "\ufeffFirst name,Last name,ID number,Institution,Department,Email address,"
    '"Assignment: PS1 (Real)",Last downloaded from this course\n'
    "Bob,Brown,1002,Uni,Maths,bob@uni.example,7.00,1712345678\n"
    "Dave,Diaz,1004,Uni,Maths,dave@uni.example,-,1712345678\n"
)
USERS = ["prof", "alice", "bob", "carol", "bob@uni.example", "dave@uni.example"]


def _run(hub, root, *args, check=True, token=None):
    return cli(
        *args, root=root, api_url=hub.api_url, token=token or hub.tokens["admin"], check=check
    )


def test_course_lifecycle_and_lms_roster_sync(lean_hub, tmp_path):
    hub = lean_hub(USERS, {"admin": None})
    root = tmp_path / "exchange"
    out = _run(hub, root, "course", "add", "c1", "--instructor", "prof", "--student", "carol")
    assert "group nbgrader-c1: created, 1 added (carol)" in out.stdout
    assert hub.members("nbgrader-c1", hub.tokens["admin"]) == ["carol"]
    assert hub.members("formgrade-c1", hub.tokens["admin"]) == ["prof"]
    assert (root / "c1" / "inbound" / "carol").is_dir()

    (tmp_path / "canvas.csv").write_text(CANVAS)
    dry = _run(
        hub, root, "roster", "sync", "c1", "--csv", str(tmp_path / "canvas.csv"), "--dry-run"
    )
    assert "would add 2: alice, bob" in dry.stdout and "would remove 1: carol" in dry.stdout
    assert hub.members("nbgrader-c1", hub.tokens["admin"]) == ["carol"]

    # carol submitted something before she left the course: it stays.
    work = root / "c1" / "inbound" / "carol" / "ps1+2024-01-01 00:00:00.000000 UTC+abc"
    work.mkdir(parents=True)
    (work / "squares.ipynb").write_text("{}")
    done = _run(hub, root, "roster", "sync", "c1", "--csv", str(tmp_path / "canvas.csv"))
    assert "add 2: alice, bob" in done.stdout and "remove 1: carol" in done.stdout
    assert "submissions and feedback stay" in done.stdout
    assert hub.members("nbgrader-c1", hub.tokens["admin"]) == ["alice", "bob"]
    assert (work / "squares.ipynb").exists()
    assert (root / "c1" / "inbound" / "alice").is_dir()
    assert (root / "c1" / "feedback_public" / "bob").is_dir()
    again = _run(hub, root, "roster", "sync", "c1", "--csv", str(tmp_path / "canvas.csv"))
    assert "add 0" in again.stdout and "unchanged 2" in again.stdout

    csv_out = _run(
        hub, root, "roster", "gradebook-csv", "c1", "--csv", str(tmp_path / "canvas.csv")
    )
    assert csv_out.stdout.splitlines() == [
        "id,first_name,last_name,email",
        "alice,Alice,Adams,",
        "bob,Bob,Brown,",
    ]

    (tmp_path / "moodle.csv").write_text(MOODLE)
    refused = _run(
        hub, root, "roster", "sync", "c1", "--csv", str(tmp_path / "moodle.csv"), check=False
    )
    assert refused.returncode == 1 and "--id-column" in refused.stderr
    moodle = _run(
        hub,
        root,
        "roster",
        "sync",
        "c1",
        "--csv",
        str(tmp_path / "moodle.csv"),
        "--id-column",
        "Email address",
        "--json",
    )
    result = json.loads(moodle.stdout)
    assert result["added"] == ["bob@uni.example", "dave@uni.example"]
    assert result["removed"] == ["alice", "bob"] and result["complete"]

    listed = json.loads(_run(hub, root, "course", "list", "--json").stdout)["courses"]
    assert listed == [
        {
            "course": "c1",
            "instructors": ["prof"],
            "students": 2,
            "on_exchange": True,
            "source": "hub api",
        }
    ]
    shown = json.loads(_run(hub, root, "course", "show", "c1", "--json").stdout)
    assert {m["user"]: m["provisioned"] for m in shown["members"]} == {
        "prof": True,
        "bob@uni.example": True,
        "dave@uni.example": True,
    }

    gone = _run(hub, root, "course", "remove", "c1")
    assert "nothing was deleted" in gone.stdout
    groups = [g["name"] for g in hub.api("/groups", hub.tokens["admin"])]
    assert "nbgrader-c1" not in groups and "formgrade-c1" not in groups
    assert (work / "squares.ipynb").exists() and (root / "c1" / "outbound").is_dir()


def test_unsafe_or_unknown_ids_change_nothing(lean_hub, tmp_path):
    hub = lean_hub(USERS, {"admin": None})
    root = tmp_path / "exchange"
    _run(hub, root, "course", "add", "c1", "--instructor", "prof", "--student", "carol")
    (tmp_path / "bad.csv").write_text("username\nalice\n../carol\n")
    bad = _run(hub, root, "roster", "sync", "c1", "--csv", str(tmp_path / "bad.csv"), check=False)
    assert bad.returncode == 1
    assert 'line 3: refusing student id "../carol"' in bad.stderr
    (tmp_path / "ghost.csv").write_text("username\nalice\nghost\n")
    ghost = _run(
        hub, root, "roster", "sync", "c1", "--csv", str(tmp_path / "ghost.csv"), check=False
    )
    assert ghost.returncode == 1 and "unknown to the hub: ghost" in ghost.stderr
    # Ids are compared as the hub stores them (lower case): GHOST is the unknown ghost.
    (tmp_path / "case.csv").write_text("username\nAlice\nGHOST\n")
    case = _run(hub, root, "roster", "sync", "c1", "--csv", str(tmp_path / "case.csv"), check=False)
    assert case.returncode == 1 and "unknown to the hub: ghost;" in case.stderr
    assert hub.members("nbgrader-c1", hub.tokens["admin"]) == ["carol"]
    assert not (root / "c1" / "inbound" / "alice").exists()


def test_sync_interrupted_by_a_killed_hub_resumes_on_rerun(lean_hub, tmp_path):
    """150 new students go in two membership calls; the hub is SIGKILLed as the second
    arrives. The CLI says what was applied and what was not; after a restart, a rerun
    finishes the job."""
    students = [f"s{i:03}" for i in range(150)]
    hub = lean_hub(["prof", *students], {"admin": None})
    root = tmp_path / "exchange"
    _run(hub, root, "course", "add", "big", "--instructor", "prof")
    hub.stop()
    hub.start(die_at=2)
    (tmp_path / "roster.csv").write_text("username\n" + "\n".join(students) + "\n")
    cut = _run(
        hub, root, "roster", "sync", "big", "--csv", str(tmp_path / "roster.csv"), check=False
    )
    assert cut.returncode == 1
    assert "interrupted: applied 100 of 150 additions" in cut.stderr
    assert "rerun the same command" in cut.stderr
    assert "NOT applied: add 50" in cut.stdout
    assert hub.wait_dead() != 0

    hub.start()
    assert len(hub.members("nbgrader-big", hub.tokens["admin"])) == 100
    rest = _run(hub, root, "roster", "sync", "big", "--csv", str(tmp_path / "roster.csv"))
    assert "add 50" in rest.stdout and "unchanged 100" in rest.stdout
    assert hub.members("nbgrader-big", hub.tokens["admin"]) == students


def test_the_documented_scopes_suffice_and_a_weaker_token_is_told_what_it_lacks(lean_hub, tmp_path):
    # Exactly API_SCOPES (the package's role, as docs/configure.md grants it), and a token that
    # can only read groups.
    hub = lean_hub(
        USERS,
        {"exact": list(API_SCOPES), "reader": ["read:groups", "list:groups"], "none": []},
    )
    root = tmp_path / "exchange"
    exact = hub.tokens["exact"]
    _run(
        hub, root, "course", "add", "c1", "--instructor", "prof", "--student", "alice", token=exact
    )
    (tmp_path / "r.csv").write_text("username\nbob\n")
    _run(hub, root, "roster", "sync", "c1", "--csv", str(tmp_path / "r.csv"), token=exact)
    _run(hub, root, "course", "show", "c1", token=exact)
    _run(hub, root, "course", "list", token=exact)
    _run(hub, root, "roster", "gradebook-csv", "c1", token=exact)
    assert hub.members("nbgrader-c1", exact) == ["bob"]

    weak = _run(
        hub,
        root,
        "roster",
        "sync",
        "c1",
        "--csv",
        str(tmp_path / "r.csv"),
        token=hub.tokens["reader"],
        check=False,
    )
    assert weak.returncode == 1
    assert "lacks the scopes admin:groups, list:users: nothing was changed" in weak.stderr
    none = _run(
        hub,
        root,
        "course",
        "add",
        "c2",
        "--instructor",
        "prof",
        token=hub.tokens["none"],
        check=False,
    )
    assert "lacks the scopes admin:groups, list:users" in none.stderr
    creating = _run(
        hub,
        root,
        "course",
        "add",
        "c2",
        "--instructor",
        "newprof",
        "--create-users",
        token=exact,
        check=False,
    )
    assert "lacks the scope admin:users" in creating.stderr
    groups = [g["name"] for g in hub.api("/groups", exact)]
    assert "nbgrader-c2" not in groups and not (root / "c2").exists()


def test_courses_of_the_helm_values_are_left_to_them(tmp_path, lean_hub):
    """configure()'s groups (custom.nbgrader.courses) are marked; the runtime commands refuse
    them, so the values and the API never fight over one course."""
    from nbgrader_k8s_exchange.kubespawner import groups_from_courses

    groups = groups_from_courses({"c101": {"instructors": ["prof"], "students": ["alice"]}})
    hub = lean_hub(USERS, {"admin": None})
    token = hub.tokens["admin"]
    # What load_groups does at start: create the groups with their properties.
    for name, spec in groups.items():
        _api_post(hub, f"/groups/{name}", token, {"users": spec["users"]})
        _api_put(hub, f"/groups/{name}/properties", token, spec["properties"])
    root = tmp_path / "exchange"
    (tmp_path / "r.csv").write_text("username\nbob\n")
    refused = _run(
        hub, root, "roster", "sync", "c101", "--csv", str(tmp_path / "r.csv"), check=False
    )
    assert refused.returncode == 1 and "defined by the Helm values" in refused.stderr
    assert "--take-over" in refused.stderr
    assert _run(hub, root, "course", "remove", "c101", check=False).returncode == 1
    assert hub.members("nbgrader-c101", token) == ["alice"]
    listed = json.loads(_run(hub, root, "course", "list", "--json").stdout)["courses"]
    assert listed[0]["source"] == "helm values"
    _run(hub, root, "course", "add", "c101", "--instructor", "prof", "--take-over")
    _run(hub, root, "roster", "sync", "c101", "--csv", str(tmp_path / "r.csv"))
    assert hub.members("nbgrader-c101", token) == ["bob"]


def _api_call(hub, method, path, token, body):
    req = urllib.request.Request(
        hub.api_url + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def _api_post(hub, path, token, body):
    return _api_call(hub, "POST", path, token, body)


def _api_put(hub, path, token, body):
    return _api_call(hub, "PUT", path, token, body)


def test_a_mixed_case_roster_syncs_as_the_hub_stores_names(lean_hub, tmp_path):
    """JupyterHub lower-cases usernames: a roster's `Alice` is created as `alice`. Before,
    the next sync saw `alice` as not on the roster and `Alice` as new: it added and removed
    the same students each run and left directories named `Alice` that no one logs in as."""
    hub = lean_hub(["prof"], {"admin": None, "creator": [*API_SCOPES, "admin:users"]})
    root = tmp_path / "exchange"
    _run(hub, root, "course", "add", "c1", "--instructor", "Prof")
    assert hub.members("formgrade-c1", hub.tokens["admin"]) == ["prof"]
    roster = tmp_path / "roster.csv"
    roster.write_text("username,email\nAlice,a@x\nBOB,b@x\ncarol,c@x\n")
    sync = ("roster", "sync", "c1", "--csv", str(roster), "--create-users")
    first = _run(hub, root, *sync, token=hub.tokens["creator"])
    assert "add 3: alice, bob, carol" in first.stdout
    assert "lower case" in first.stderr
    assert hub.members("nbgrader-c1", hub.tokens["admin"]) == ["alice", "bob", "carol"]
    for _ in range(2):
        again = _run(hub, root, *sync, token=hub.tokens["creator"])
        assert "add 0" in again.stdout and "remove 0" in again.stdout, again.stdout
        assert "unchanged 3" in again.stdout
    assert hub.members("nbgrader-c1", hub.tokens["admin"]) == ["alice", "bob", "carol"]
    assert sorted(p.name for p in (root / "c1" / "inbound").iterdir()) == ["alice", "bob", "carol"]
    assert sorted(p.name for p in (root / "c1" / "feedback_public").iterdir()) == [
        "alice",
        "bob",
        "carol",
    ]
    csv_out = _run(hub, root, "roster", "gradebook-csv", "c1", "--csv", str(roster))
    assert "alice,,,a@x" in csv_out.stdout.splitlines()


def test_an_empty_roster_is_refused_unless_allowed(lean_hub, tmp_path):
    """A roster whose rows all lack a login (an unrecognised column, a Moodle export read as
    Canvas) would take every student out of the course."""
    hub = lean_hub(USERS, {"admin": None})
    root = tmp_path / "exchange"
    _run(hub, root, "course", "add", "c1", "--instructor", "prof", "--student", "alice", "bob")
    empty = tmp_path / "empty.csv"
    empty.write_text('Student,ID,SIS User ID,SIS Login ID\n"    Points Possible",,,\n"A",1,S1,\n')
    refused = _run(hub, root, "roster", "sync", "c1", "--csv", str(empty), check=False)
    assert refused.returncode == 1
    assert "has no student" in refused.stderr and "--allow-empty" in refused.stderr
    assert hub.members("nbgrader-c1", hub.tokens["admin"]) == ["alice", "bob"]
    allowed = _run(hub, root, "roster", "sync", "c1", "--csv", str(empty), "--allow-empty")
    assert "remove 2: alice, bob" in allowed.stdout
    assert hub.members("nbgrader-c1", hub.tokens["admin"]) == []


def test_a_course_group_that_carries_a_role_is_never_managed(lean_hub, tmp_path):
    """`admin:groups` lets the token put anyone in any group: a group with a role (here one
    holding admin:users, like an admin group of hub.loadRoles) named like a course group would
    hand its scopes to whoever the course commands add. Every command refuses it."""
    hub = lean_hub(USERS, {"admin": None}, role_groups=["formgrade-staff", "nbgrader-staff"])
    root = tmp_path / "exchange"
    roster = tmp_path / "roster.csv"
    roster.write_text("username\nalice\n")
    for args in (
        ("course", "add", "staff", "--instructor", "prof", "--student", "alice"),
        ("course", "add", "staff", "--instructor", "prof", "--take-over"),
        ("roster", "sync", "staff", "--csv", str(roster)),
        ("course", "remove", "staff"),
    ):
        refused = _run(hub, root, *args, check=False)
        assert refused.returncode == 1, args
        assert "carries the role staff-" in refused.stderr, refused.stderr
        assert "nothing was changed" in refused.stderr
    assert hub.members("formgrade-staff", hub.tokens["admin"]) == []
    assert hub.members("nbgrader-staff", hub.tokens["admin"]) == []
    assert not (root / "staff").exists()


def test_in_the_hub_pod_the_token_the_chart_mounted_is_read(lean_hub, tmp_path):
    """The z2jh chart keeps each service's token in its Secret and mounts it in the hub pod
    at /usr/local/etc/jupyterhub/secret/hub.services.NAME.apiToken: run there, the commands
    need no token typed. Shown in a mount namespace holding that file (as the hub pod does)."""
    hub = lean_hub(USERS, {"nbgrader-k8s": None})
    root = tmp_path / "exchange"
    secret_dir = "/usr/local/etc/jupyterhub/secret"
    script = (
        f"set -e; mount -t tmpfs tmpfs /usr/local/etc; mkdir -p {secret_dir}; "
        f"printf '%s\\n' \"$TOKEN\" > {secret_dir}/hub.services.nbgrader-k8s.apiToken; "
        'exec "$@"'
    )
    wrap = [
        "env",
        f"TOKEN={hub.tokens['nbgrader-k8s']}",
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
    ]
    out = cli(
        "course",
        "add",
        "c1",
        "--instructor",
        "prof",
        root=root,
        api_url=hub.api_url,
        token=None,
        wrap=wrap,
    )
    assert "group formgrade-c1: created" in out.stdout
    assert hub.members("formgrade-c1", hub.tokens["nbgrader-k8s"]) == ["prof"]
    # Without it (outside the hub pod) the error says where a token is looked for.
    missing = cli("course", "list", root=root, api_url=hub.api_url, token=None, check=False)
    assert missing.returncode == 1
    assert "JUPYTERHUB_API_TOKEN" in missing.stderr
