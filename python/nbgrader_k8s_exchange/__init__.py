"""nbgrader-k8s-exchange: an nbgrader exchange for JupyterHub on Kubernetes.

Every student gets their own exchange directories (``inbound/{student}``,
``feedback_public/{student}``) so that a pod can mount only its owner's. The filesystem work is
done by the Rust core (:mod:`nbgrader_k8s_exchange._core`); :mod:`nbgrader_k8s_exchange.plugin`
holds the eight nbgrader classes that ``c.ExchangeFactory`` points at.
"""

from ._core import __version__

__all__ = ["__version__"]
