"""The Dockerfiles switch nbgrader's extensions as each role needs.

No Docker here, so the Dockerfiles' own ``jupyter ... extension`` commands run, verbatim, in
a stand-in for the image's Python prefix: a fresh venv seeing this venv's packages, with a copy
of the Jupyter config that installing nbgrader left in ``{prefix}/etc/jupyter`` (what
``--sys-prefix`` edits in the image). Then Jupyter itself reports the result.

Those commands exit 0 even when they do nothing (an unknown lab plugin id is recorded as is; a
server extension not in the prefix's config is only logged), so the effect is what is checked,
and every name must be one that nbgrader really ships.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from .z2jh import DEPLOY

IMAGES = DEPLOY / "images"
NBGRADER = "nbgrader.server_extensions."
LAB = "@jupyter/nbgrader:"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_instructions(dockerfile: Path):
    """The shell commands of every RUN instruction (continuations joined)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    for line in text.splitlines():
        if line.startswith("RUN "):
            yield line[len("RUN ") :].strip()


def jupyter_commands(dockerfile: Path):
    return [
        cmd.strip()
        for run in run_instructions(dockerfile)
        for cmd in run.split("&&")
        if cmd.strip().startswith("jupyter ")
    ]


def shipped_server_extensions():
    """The server extensions nbgrader's install enables (its jupyter_server_config.d file)."""
    conf = Path(sys.prefix, "etc", "jupyter", "jupyter_server_config.d", "nbgrader.json")
    return set(json.loads(conf.read_text())["ServerApp"]["jpserver_extensions"])


def shipped_lab_plugins():
    """The JupyterLab plugin ids in nbgrader's installed labextension bundle."""
    static = Path(sys.prefix, "share", "jupyter", "labextensions", "@jupyter", "nbgrader")
    found = set()
    for path in static.rglob("*.js"):
        found |= set(re.findall(r'"(@jupyter/nbgrader:[a-z-]+)"', path.read_text()))
    return found


def make_prefix(base: Path) -> dict:
    """A venv standing in for the image's prefix; returns the environment to run in it."""
    prefix = base / "prefix"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True, timeout=120
    )
    site = Path(sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)}))
    ours = sysconfig.get_path("purelib")
    (site / "image-packages.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    shutil.copytree(Path(sys.prefix, "etc", "jupyter"), prefix / "etc" / "jupyter")
    (prefix / "share").mkdir(exist_ok=True)
    (prefix / "share" / "jupyter").symlink_to(Path(sys.prefix, "share", "jupyter"))
    for name in ("jupyter", "jupyter-server", "jupyter-labextension"):
        body = Path(sys.prefix, "bin", name).read_text().split("\n", 1)[1]
        script = prefix / "bin" / name
        script.write_text(f"#!{prefix / 'bin' / 'python'}\n{body}")
        script.chmod(0o755)
    home = base / "home"
    home.mkdir()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "VIRTUAL_ENV", "PY"))
    }
    env.update(
        PATH=f"{prefix / 'bin'}:/usr/bin:/bin",
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    env["prefix"] = str(prefix)
    return env


def server_extensions(env) -> dict:
    """Effective enabled state of each server extension, as the server would load them."""
    code = (
        "import json;"
        "from jupyter_core.paths import jupyter_config_path;"
        "from jupyter_server.extension.config import ExtensionConfigManager;"
        "m = ExtensionConfigManager(read_config_path=jupyter_config_path());"
        "print(json.dumps(m.get_jpserver_extensions()))"
    )
    out = subprocess.run(
        ["python", "-c", code], env=env, capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout)


def lab_state(env):
    """(disabled, locked) nbgrader lab plugins, from `jupyter labextension list`."""
    out = subprocess.run(
        ["jupyter", "labextension", "list"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    text = ANSI.sub("", out.stdout + out.stderr)
    disabled = set()
    if "Disabled extensions:" in text:
        block = text.split("Disabled extensions:", 1)[1]
        disabled = set(re.findall(r"^\s+(@jupyter/nbgrader:[a-z-]+)", block, re.M))
    locked = set()
    for match in re.finditer(r"\(plugins: ([^)]*) locked\)", text):
        locked |= set(re.findall(r"@jupyter/nbgrader:[a-z-]+", match.group(1)))
    return disabled, locked


EXPECTED = {
    # role: (server extensions off, lab plugins off and locked)
    "student": (
        {NBGRADER + "formgrader", NBGRADER + "course_list"},
        {LAB + "formgrader", LAB + "course-list", LAB + "create-assignment"},
    ),
    "instructor": (set(), set()),
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_dockerfile_names_only_real_nbgrader_extensions(role):
    commands = jupyter_commands(IMAGES / role / "Dockerfile")
    assert commands
    words = {w for cmd in commands for w in cmd.split()}
    server = {w for w in words if w.startswith(NBGRADER)}
    lab = {w for w in words if w.startswith(LAB)}
    assert server and server <= shipped_server_extensions()
    assert lab and lab <= shipped_lab_plugins()
    # Every command is one of the forms that edit the image's prefix.
    for cmd in commands:
        assert re.match(
            r"jupyter (server extension (enable|disable) --sys-prefix"
            r"|labextension (enable|disable|lock) --level=sys_prefix) ",
            cmd,
        ), cmd


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_dockerfile_commands_leave_the_role_its_tools(tmp_path, role):
    env = make_prefix(tmp_path)
    for cmd in jupyter_commands(IMAGES / role / "Dockerfile"):
        subprocess.run(["sh", "-c", cmd], env=env, check=True, timeout=300, capture_output=True)
    server_off, lab_off = EXPECTED[role]

    enabled = server_extensions(env)
    shipped = shipped_server_extensions()
    assert {e for e in shipped if not enabled.get(e)} == server_off
    assert {e for e in shipped if enabled.get(e)} == shipped - server_off

    disabled, locked = lab_state(env)
    assert disabled == lab_off
    assert locked == lab_off
    # The changes went into the prefix (the image), not a user's config the home PVC keeps.
    assert not (Path(env["HOME"]) / ".jupyter").exists()
    if lab_off:
        page = json.loads(
            (Path(env["prefix"]) / "etc/jupyter/labconfig/page_config.json").read_text()
        )
        assert set(page["disabledExtensions"]) == lab_off


def test_hub_image_needs_neither_nbgrader_nor_its_server():
    """deploy/images/hub installs the wheel with --no-deps: the hook and the CLI must import
    without nbgrader or jupyter_server."""
    code = (
        "import sys\n"
        "for mod in ('nbgrader', 'jupyter_server', 'notebook'):\n"
        "    sys.modules[mod] = None\n"
        "import nbgrader_k8s_exchange.kubespawner, nbgrader_k8s_exchange._cli\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    dockerfile = (IMAGES / "hub" / "Dockerfile").read_text()
    assert "--no-deps" in dockerfile and "nbgrader-k8s --version" in dockerfile
