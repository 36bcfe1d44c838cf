"""podsim: Kubernetes pods simulated on one machine, for the tests and the local hub.

A pod here is a mount (and, for long-running ones, PID) namespace holding exactly the
volumeMounts its manifest names, run as the user the manifest names, after kubelet's work on
its volumes (fsGroup ownership, subPath creation) done as kubelet would do it on the storage
the volume lives on (ownership management, NFS squashing). Not shipped in the wheel: the wheel
packages only ``python/nbgrader_k8s_exchange``.

Modules, one concern each:

- :mod:`podsim.pod`: build and run the namespace (:func:`run_in_pod`, :func:`start_pod`).
- :mod:`podsim.kubelet`: what kubelet does to volumes before a container starts.
- :mod:`podsim.storage`: storage setups (fsGroup policy, squashing) and acting as a user.
- :mod:`podsim.chart`: the Zero to JupyterHub chart's defaults merged with values files.
"""

from .kubelet import OwnershipChange, PodError, apply_fs_group, root_needs_change, subpath_source
from .pod import Pod, namespaces_available, run_in_pod, set_up_volumes, start_pod
from .storage import (
    CSI_NFS,
    CSI_NFS_ROOT_SQUASH,
    HOST_PATH,
    NFS_ALL_SQUASH,
    NFS_ROOT_SQUASH,
    Storage,
    Volume,
)

__all__ = [
    "CSI_NFS",
    "CSI_NFS_ROOT_SQUASH",
    "HOST_PATH",
    "NFS_ALL_SQUASH",
    "NFS_ROOT_SQUASH",
    "OwnershipChange",
    "Pod",
    "PodError",
    "Storage",
    "Volume",
    "apply_fs_group",
    "namespaces_available",
    "root_needs_change",
    "run_in_pod",
    "set_up_volumes",
    "start_pod",
    "subpath_source",
]
