"""The deploy/ files as the tests read them, and the part of Zero to JupyterHub we rely on.

The chart's hub runs a ``jupyterhub_config.py`` that maps a few values onto KubeSpawner
(``singleuser.image``, ``uid``, ``fsGid``, ``profileList``, ``extraPodConfig``), loads
``hub.config`` into the traitlets config, and then ``exec``s every ``hub.extraConfig`` snippet,
sorted by key, with ``c`` in scope and the chart's ``z2jh`` module importable (its
``get_config("a.b.c", default)`` looks a dotted key up in the values). :func:`hub_config` does
the same with a values dict, so the snippets run exactly as written in the values file.
"""

import sys
import types
from pathlib import Path
from typing import Any, Dict, List

import yaml
from traitlets.config import Config

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DOCS = REPO / "docs"
VALUES = DEPLOY / "z2jh" / "values.yaml"
KIND_VALUES = DEPLOY / "kind" / "values-kind.yaml"
NBGRADER_CONFIG = DEPLOY / "k8s" / "nbgrader-config.yaml"


def yaml_files() -> List[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml"))


def load_all(path: Path) -> List[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def load_one(path: Path) -> Any:
    [doc] = load_all(path)
    return doc


def values() -> Dict[str, Any]:
    return load_one(VALUES)


def kind_values() -> Dict[str, Any]:
    """The base values with the kind overlay (the demo course and its people) merged in."""
    return merge(values(), load_one(KIND_VALUES))


def role_configs() -> Dict[str, str]:
    """The nbgrader ConfigMap's data: file name -> nbgrader_config.py text."""
    return load_one(NBGRADER_CONFIG)["data"]


def merge(base: Dict[str, Any], override: Dict[str, Any]) -> Dict[str, Any]:
    """Helm's merge of two values files: maps merge key by key, everything else replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _get_config_of(vals: Dict[str, Any]):
    def get_config(key: str, default: Any = None) -> Any:
        value: Any = vals
        for level in key.split("."):
            if not isinstance(value, dict) or level not in value:
                return default
            value = value[level]
        return value

    return get_config


def hub_config(vals: Dict[str, Any]) -> Config:
    """The hub's traitlets config for ``vals``: chart mappings, then every hub.extraConfig."""
    get_config = _get_config_of(vals)
    c = Config()
    image = get_config("singleuser.image", {})
    if image.get("name"):
        c.KubeSpawner.image = f"{image['name']}:{image.get('tag', 'latest')}"
    if get_config("singleuser.uid") is not None:
        c.KubeSpawner.uid = get_config("singleuser.uid")
    if get_config("singleuser.fsGid") is not None:
        c.KubeSpawner.fs_gid = get_config("singleuser.fsGid")
    for trait, key in (("profile_list", "profileList"), ("extra_pod_config", "extraPodConfig")):
        if get_config(f"singleuser.{key}") is not None:
            setattr(c.KubeSpawner, trait, get_config(f"singleuser.{key}"))
    for app, cfg in (get_config("hub.config", {}) or {}).items():
        c[app].update(cfg)

    z2jh = types.ModuleType("z2jh")
    z2jh.get_config = get_config
    saved = sys.modules.get("z2jh")
    sys.modules["z2jh"] = z2jh
    try:
        for key, snippet in sorted((get_config("hub.extraConfig", {}) or {}).items()):
            code = compile(snippet, f"<hub.extraConfig.{key}>", "exec")
            exec(code, {"c": c, "__name__": "jupyterhub_config"})  # noqa: S102
    finally:
        if saved is None:
            sys.modules.pop("z2jh", None)
        else:
            sys.modules["z2jh"] = saved
    return c


def groups_of(c: Config) -> Dict[str, List[str]]:
    """user -> the JupyterHub groups ``c.JupyterHub.load_groups`` puts them in."""
    out: Dict[str, List[str]] = {}
    for group, spec in c.JupyterHub.load_groups.items():
        for user in spec["users"]:
            out.setdefault(user, []).append(group)
    return out
