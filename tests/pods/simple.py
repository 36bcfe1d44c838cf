"""Small pod manifests for podsim's own tests: one container, one exchange claim."""

import os
import stat
from pathlib import Path
from typing import Optional

import pytest

from podsim import namespaces_available

CLAIM = "exchange"


def need_pods():
    reason = namespaces_available()
    if reason:
        pytest.skip(f"SKIPPED LOUDLY: cannot simulate pods here: {reason}")


def manifest(
    pod_ctx: Optional[dict] = None,
    container_ctx: Optional[dict] = None,
    mounts=(),
    read_only_claim: bool = False,
) -> dict:
    """A pod mounting ``mounts`` ((mountPath, subPath, readOnly) triples) of the claim."""
    container = {
        "name": "notebook",
        "image": "x",
        "volumeMounts": [
            {"name": "ex", "mountPath": path, "subPath": sub, "readOnly": ro}
            for path, sub, ro in mounts
        ],
    }
    if container_ctx is not None:
        container["securityContext"] = container_ctx
    pvc = {"claimName": CLAIM}
    if read_only_claim:
        pvc["readOnly"] = True
    spec = {"containers": [container], "volumes": [{"name": "ex", "persistentVolumeClaim": pvc}]}
    if pod_ctx is not None:
        spec["securityContext"] = pod_ctx
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def provisioned_tree(root: Path) -> Path:
    """A volume as `nbgrader-k8s provision` leaves it: 1000:100, dirs 0755, files 0644."""
    root.mkdir(mode=0o755, exist_ok=True)
    for rel in ("c/outbound/ps1", "c/inbound/alice/ps1+t+r", "c/feedback_public/alice"):
        (root / rel).mkdir(parents=True, exist_ok=True)
    (root / "c/outbound/ps1/nb.ipynb").write_text("{}")
    (root / "c/inbound/alice/ps1+t+r/nb.ipynb").write_text("{}")
    for dirpath, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = os.path.join(dirpath, name)
            os.chown(path, 1000, 100)
            os.chmod(path, 0o755 if name in dirs else 0o644)
    os.chown(root, 1000, 100)
    os.chmod(root, 0o755)
    return root


def owners_modes(root: Path) -> dict:
    """Relative path -> (uid, gid, mode bits incl. setgid) of every entry, the root as '.'."""
    out = {".": _om(root)}
    for dirpath, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(dirpath) / name
            out[str(path.relative_to(root))] = _om(path)
    return out


def _om(path: Path):
    st = path.lstat()
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)
