"""Due dates and notary seals in nbgrader's Assignments tab (JupyterLab).

Two halves, both shipped in the wheel:

- a jupyter-server extension (this module, enabled by
  ``etc/jupyter/jupyter_server_config.d/nbgrader_k8s_exchange.json``) serving
  ``GET {base_url}nbgrader-k8s/assignments[?course_id=...]``: the student's due dates and seal
  statuses, computed by our ``ExchangeList`` exactly as ``nbgrader list`` and
  ``nbgrader list --cached`` compute them (:mod:`.handlers`);
- a prebuilt JupyterLab extension (``labextension/`` in the repository, installed into
  ``share/jupyter/labextensions/nbgrader-k8s-exchange``) that adds those lines under the rows
  of nbgrader's Assignments tab.
"""

from typing import Any, Dict, List

from .handlers import setup_handlers


def _jupyter_server_extension_points() -> List[Dict[str, str]]:
    """What jupyter-server loads: this module."""
    return [{"module": "nbgrader_k8s_exchange.labext"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the endpoint on the running server."""
    setup_handlers(serverapp)
    serverapp.log.info("nbgrader-k8s-exchange: Assignments tab endpoint loaded")
