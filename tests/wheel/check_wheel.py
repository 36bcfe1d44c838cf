"""Check what `make wheel` wrote to dist/ before anyone installs it.

    python tests/wheel/check_wheel.py dist/*.whl dist/*.tar.gz

Each wheel is abi3, tagged and (by `auditwheel show`, which reads the glibc symbol versions the
native module needs) really compatible with manylinux2014 = manylinux_2_17 or older, and holds
the `_core` abi3 module, the `nbgrader-k8s` console script and the built Assignments tab
extension; each sdist holds what a source build needs. Exits 1 with every problem found.
"""

import configparser
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

# manylinux2014 is manylinux_2_17: glibc 2.17 (CentOS 7), the oldest the images need and the
# newest a user's distribution may be asked for.
MAX_GLIBC = (2, 17)
CORE = "nbgrader_k8s_exchange/_core.abi3.so"
SCRIPT = ("nbgrader-k8s", "nbgrader_k8s_exchange._cli:main")
# The Assignments tab extension (`make labext`) and the config that enables its server half,
# installed under sys.prefix from the wheel's .data/data/.
DATA = (
    "share/jupyter/labextensions/nbgrader-k8s-exchange/package.json",
    "etc/jupyter/jupyter_server_config.d/nbgrader_k8s_exchange.json",
)


def platform_tag(wheel: Path) -> str:
    """The most compatible tag `auditwheel show` finds the wheel consistent with."""
    out = subprocess.run(
        [Path(sys.executable).with_name("auditwheel"), "show", wheel],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    print(out.strip())
    found = re.search(r'consistent with the following platform tag:\s*"([^"]+)"', out)
    if not found:
        raise SystemExit(f"cannot read a platform tag from auditwheel show:\n{out}")
    return found.group(1)


def glibc_of(tag: str):
    """(2, 17) for manylinux_2_17_x86_64 or manylinux2014_x86_64, None for linux_x86_64."""
    legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
    found = re.match(r"manylinux_(\d+)_(\d+)_", tag)
    if found:
        return int(found.group(1)), int(found.group(2))
    return legacy.get(tag.split("_", 1)[0])


def check_wheel(wheel: Path) -> list:
    problems = []
    # name-version-pythontag-abitag-platformtags.whl; platform tags may be dotted (several).
    _, _, python_tag, abi_tag, platforms = wheel.name[: -len(".whl")].split("-")
    if abi_tag != "abi3" or python_tag != "cp39":
        problems.append(f"{wheel.name}: tagged {python_tag}-{abi_tag}, want cp39-abi3")
    for name in platforms.split("."):
        glibc = glibc_of(name)
        if glibc is None or glibc > MAX_GLIBC:
            problems.append(f"{wheel.name}: platform tag {name} is not manylinux2014-compatible")
    tag = platform_tag(wheel)
    glibc = glibc_of(tag)
    if glibc is None or glibc > MAX_GLIBC:
        problems.append(
            f"auditwheel: the native module needs {tag}, newer than manylinux_2_17 "
            "(built without --zig against this machine's glibc?)"
        )
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        if CORE not in names:
            problems.append(f"{wheel.name} has no {CORE}")
        entry_points = configparser.ConfigParser(delimiters=("=",))
        for name in names:
            if name.endswith(".dist-info/entry_points.txt"):
                entry_points.read_string(zf.read(name).decode())
        for data in DATA:
            if not any(n.endswith(f".data/data/{data}") for n in names):
                problems.append(f"{wheel.name} has no {data} (make labext)")
        if not any("/labextensions/nbgrader-k8s-exchange/static/remoteEntry." in n for n in names):
            problems.append(f"{wheel.name} has no built labextension (remoteEntry.*.js)")
        script, target = SCRIPT
        if entry_points.get("console_scripts", script, fallback=None) != target:
            problems.append(f"{wheel.name} has no console script {script} = {target}")
    return problems


def check_sdist(sdist: Path) -> list:
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    need = [
        "pyproject.toml",
        "Cargo.lock",
        "crates/exchange-core/Cargo.toml",
        "crates/exchange-py/Cargo.toml",
        "crates/admin/Cargo.toml",
        "python/nbgrader_k8s_exchange/_cli.py",
        *(f"python/nbgrader_k8s_exchange.data/data/{d}" for d in DATA),
    ]
    return [f"{sdist.name} lacks {n}" for n in need if n not in names]


def main(paths: list) -> int:
    if not paths:
        print("usage: check_wheel.py WHEEL_OR_SDIST...", file=sys.stderr)
        return 2
    problems = []
    for path in map(Path, paths):
        if path.name.endswith(".whl") and path.is_file():
            problems += check_wheel(path)
        elif path.name.endswith(".tar.gz") and path.is_file():
            problems += check_sdist(path)
        else:
            problems.append(f"{path}: no such wheel or sdist")
    for problem in problems:
        print(f"check_wheel: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_wheel: OK: {' '.join(Path(p).name for p in paths)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
