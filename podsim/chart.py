"""The Zero to JupyterHub chart's say in who a pod is: its defaults, merged with our values.

A deployment's pods get their security contexts from the chart's defaults *merged with* the
values files, so a key our values leave out keeps the chart's value (the hub's
``podSecurityContext.fsGroup: 1000``, for one). :func:`merge` is helm's rule for that:
maps merge key by key, a later file wins, lists and scalars are replaced whole, and ``null``
removes a key (the way to drop a chart default). :func:`chart_values` applies it to
:data:`CHART_DEFAULTS` and the given values files, in ``helm --values`` order.

:data:`CHART_DEFAULTS` holds only the defaults that decide identities and volumes, written out
here from the chart at version 4.2.0 (``jupyterhub/values.yaml``: ``hub.podSecurityContext``,
``hub.containerSecurityContext``, ``hub.extraVolumes``/``extraVolumeMounts``,
``singleuser.uid``, ``fsGid``, ``allowPrivilegeEscalation``, ``extraPodConfig``). What the chart
does with them: ``templates/hub/deployment.yaml`` renders ``hub.podSecurityContext`` and
``hub.containerSecurityContext`` as given (:func:`hub_pod`); ``files/hub/jupyterhub_config.py``
maps ``singleuser.uid`` to ``KubeSpawner.uid``, ``fsGid`` to ``fs_gid`` (each only when not
null), ``allowPrivilegeEscalation`` to ``allow_privilege_escalation``, then loads
``hub.config`` into the config, then runs ``hub.extraConfig`` (:func:`spawner_config`; KubeSpawner
turns ``fs_gid`` into the pod's ``fsGroup`` and ``uid`` into the container's ``runAsUser``).
"""

import copy
from typing import Any, Dict, List, Mapping, Optional

from traitlets.config import Config

CHART_VERSION = "4.2.0"

CHART_DEFAULTS: Dict[str, Any] = {
    "hub": {
        "podSecurityContext": {
            "runAsNonRoot": True,
            "fsGroup": 1000,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containerSecurityContext": {
            "runAsUser": 1000,
            "runAsGroup": 1000,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "extraVolumes": [],
        "extraVolumeMounts": [],
        "config": {},
    },
    "singleuser": {
        "uid": 1000,
        "fsGid": 100,
        "allowPrivilegeEscalation": False,
        "extraPodConfig": {},
    },
}


def merge(base: Mapping[str, Any], override: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """Helm's merge of values: ``override`` over ``base``; neither is modified."""
    out = copy.deepcopy(dict(base))
    for key, value in (override or {}).items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def chart_values(*values: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The values the chart renders with: its defaults, then each values file in order."""
    out = copy.deepcopy(CHART_DEFAULTS)
    for v in values:
        out = merge(out, v)
    return out


def hub_pod(values: Mapping[str, Any], container: str = "hub") -> Dict[str, Any]:
    """The parts of the hub Deployment's pod that podsim reads, rendered from merged values."""
    hub = values.get("hub") or {}
    container_spec: Dict[str, Any] = {
        "name": container,
        "volumeMounts": copy.deepcopy(hub.get("extraVolumeMounts") or []),
    }
    if hub.get("containerSecurityContext"):
        container_spec["securityContext"] = copy.deepcopy(hub["containerSecurityContext"])
    spec: Dict[str, Any] = {
        "containers": [container_spec],
        "volumes": copy.deepcopy(hub.get("extraVolumes") or []),
    }
    if hub.get("podSecurityContext"):
        spec["securityContext"] = copy.deepcopy(hub["podSecurityContext"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hub"}, "spec": spec}


def spawner_config(values: Mapping[str, Any]) -> Config:
    """What the chart's jupyterhub_config.py configures about notebook pods' identities,
    before ``hub.extraConfig`` runs (merge the extraConfig's config over this)."""
    c = Config()
    single = values.get("singleuser") or {}
    for trait, key in (("uid", "uid"), ("fs_gid", "fsGid"), ("extra_pod_config", "extraPodConfig")):
        if single.get(key) is not None:
            c.KubeSpawner[trait] = copy.deepcopy(single[key])
    c.KubeSpawner.allow_privilege_escalation = single.get("allowPrivilegeEscalation")
    for app, cfg in ((values.get("hub") or {}).get("config") or {}).items():
        c[app].update(copy.deepcopy(cfg))
    return c


def security_contexts(manifest: Mapping[str, Any]) -> List[Optional[dict]]:
    """[pod securityContext, first container's securityContext] of a manifest (for tests)."""
    spec = manifest["spec"]
    return [spec.get("securityContext"), spec["containers"][0].get("securityContext")]
