"""The docs cannot rot: their runnable commands run, the CLI they describe exists, links hold.

A fenced block whose info string is ``bash runnable`` (or ``sh runnable``) is run: all such
blocks of a page in order, as one ``bash -euo pipefail`` script, in a scratch directory, with
this venv's ``bin`` first on PATH and ``NBGRADER_K8S_ROOT`` pointing at a scratch exchange (the
pages say ``/mnt/exchange``, the CLI's default, which is where the volume is in a pod). A page
whose blocks run ``nbgrader-k8s course``/``roster`` gets a real JupyterHub (tests/hub), its
address and a token with the documented scopes in ``JUPYTERHUB_API_URL``/``_TOKEN``.
"""

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .z2jh import DEPLOY, DOCS, REPO, yaml_files

PAGES = sorted(p for p in DOCS.glob("*.md") if p.name != "DESIGN.md")
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
INLINE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CLI = re.compile(r"(?<![\w./-])nbgrader-k8s(?![\w-])")
BIN = Path(sys.prefix) / "bin"


def fenced(text):
    """(info words, body) of each fenced code block."""
    return [(m.group(1).split(), m.group(2)) for m in FENCE.finditer(text)]


def runnable(page):
    return [
        body
        for info, body in fenced(page.read_text())
        if info[:1] in (["bash"], ["sh"]) and "runnable" in info
    ]


@functools.cache
def _help(*sub):
    out = subprocess.run(
        [str(BIN / "nbgrader-k8s"), *sub, "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return out


def subcommands(*sub):
    text = _help(*sub)
    if "Commands:" not in text:
        return set()
    block = text.split("Commands:", 1)[1].split("Options:", 1)[0]
    return set(re.findall(r"^\s{2}([a-z][a-z-]*)\s", block, re.M))


def flags(*sub):
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", _help(*sub)))


def cli_invocations(text):
    """Argument lists of every `nbgrader-k8s ...` in the code of a page or manifest."""
    code = [body for _info, body in fenced(text)]
    code += INLINE.findall(FENCE.sub("", text))
    found = []
    for snippet in code:
        snippet = snippet.replace("\\\n", " ")
        for line in snippet.splitlines():
            for segment in re.split(r"\|\||&&|[|;`()]", line):
                for match in CLI.finditer(segment):
                    rest = segment[match.end() :].split("#", 1)[0]
                    found.append(rest.split())
    return found


def _check_invocation(args):
    """Problems with one `nbgrader-k8s ARGS` (empty when the CLI accepts its shape)."""
    subs, problems = subcommands(), []
    top = flags()
    i = 0
    while i < len(args) and args[i].startswith("-"):
        name = args[i].split("=", 1)[0]
        if name not in top:
            problems.append(f"unknown global option {name}")
        i += 2 if name == "--root" and "=" not in args[i] else 1
    if i >= len(args) or not re.fullmatch(r"[a-z][a-z-]*", args[i]):
        return problems  # a mention of the command itself, or a placeholder
    sub = args[i]
    if sub not in subs:
        return problems + [f"unknown subcommand {sub!r}"]
    path = [sub]
    # `course add`, `roster sync`: the options are the nested subcommand's.
    if sub != "help" and i + 1 < len(args) and args[i + 1] in subcommands(sub):
        path.append(args[i + 1])
        i += 1
    known = flags(*path) if sub != "help" else set()
    for arg in args[i + 1 :]:
        if arg.startswith("--"):
            name = arg.split("=", 1)[0]
            if name not in known:
                problems.append(f"{sub}: unknown option {name}")
    return problems


def test_docs_index_links_every_page():
    index = (DOCS / "README.md").read_text()
    linked = {Path(t).name for t in LINK.findall(index)}
    assert {p.name for p in DOCS.glob("*.md")} - {"README.md"} <= linked


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_resolve(page):
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#", 1)[0]).resolve()
        assert path.exists(), f"{page.name}: broken link {target}"
        assert REPO in path.parents, f"{page.name}: link leaves the repository: {target}"


def test_cli_mentions_are_real():
    """Every subcommand and option the docs and manifests use exists in the CLI."""
    sources = PAGES + [p for p in yaml_files()] + [DEPLOY / "images" / "hub" / "Dockerfile"]
    seen, problems = 0, []
    for source in sources:
        for args in cli_invocations(source.read_text()):
            seen += 1
            problems += [
                f"{source.name}: nbgrader-k8s {' '.join(args)}: {p}"
                for p in _check_invocation(args)
            ]
    assert not problems, "\n".join(problems)
    assert seen > 20


def test_cli_check_catches_a_wrong_flag_and_subcommand():
    assert _check_invocation(["provision", "course101", "--roster", "x"]) == [
        "provision: unknown option --roster"
    ]
    assert _check_invocation(["--root", "/x", "statuz", "c"]) == ["unknown subcommand 'statuz'"]
    assert _check_invocation(["--root", "/x", "gc", "c", "--keep-last", "2", "--yes"]) == []
    assert _check_invocation(["course", "add", "c", "--instructor", "p"]) == []
    assert _check_invocation(["roster", "sync", "c", "--instructor", "p"]) == [
        "roster: unknown option --instructor"
    ]
    assert _check_invocation(["notary", "run", "--once", "--keep-sealed", "c"]) == []
    assert _check_invocation(["notary", "log", "c", "--once"]) == ["notary: unknown option --once"]


def test_operations_are_all_documented():
    """Each subcommand of the CLI appears in operate.md as a command."""
    used = {args[0] for args in cli_invocations((DOCS / "operate.md").read_text()) if args}
    assert subcommands() - {"help"} <= used


def test_every_page_but_the_cluster_ones_runs_something():
    with_blocks = {p.name for p in PAGES if runnable(p)}
    assert {"install.md", "configure.md", "operate.md", "troubleshooting.md"} <= with_blocks


# Users the pages' course commands name, on the hub started for those pages.
HUB_USERS = ["prof", "alice", "bob", "carol"]


def _hub_for(page, tmp_path):
    """A real JupyterHub (tests/hub) when the page runs `course`/`roster` commands."""
    if not re.search(r"nbgrader-k8s (course|roster) ", "".join(runnable(page))):
        return None
    from ..hub.hubs import PROXY, LeanHub

    if not PROXY.exists():
        if os.environ.get("CI"):
            raise RuntimeError(f"CI must run {page.name}'s hub commands, but {PROXY} is missing")
        pytest.skip(f"SKIPPED LOUDLY: {page.name} needs a hub: {PROXY} missing (make hub-setup)")
    return LeanHub(tmp_path / "hub", HUB_USERS, {"nbgrader-k8s": None}).start()


@pytest.mark.parametrize("page", [p for p in PAGES if runnable(p)], ids=lambda p: p.name)
def test_runnable_blocks_run(page, tmp_path):
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    script = "set -euo pipefail\n" + "".join(
        f"echo '### block {n}'\n{body}\n" for n, body in enumerate(runnable(page), 1)
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "NBGRADER"))}
    env.update(
        PATH=f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}",
        HOME=str(home),
        NBGRADER_K8S_ROOT=str(tmp_path / "exchange"),
    )
    hub = _hub_for(page, tmp_path)
    if hub:
        env.update(JUPYTERHUB_API_URL=hub.api_url, JUPYTERHUB_API_TOKEN=hub.tokens["nbgrader-k8s"])
    try:
        proc = subprocess.run(
            ["bash", "-c", script],
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
        )
    finally:
        if hub:
            hub.stop()
    assert proc.returncode == 0, f"{page.name} failed ({proc.returncode}):\n{proc.stdout}"
