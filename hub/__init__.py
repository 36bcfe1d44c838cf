"""A local JupyterHub that behaves like the cluster: ``make hub`` (``python -m hub``).

Every user's server runs as a simulated pod (:mod:`hub.podspawner`) with exactly the exchange
mounts our KubeSpawner hook gives the real one; ``hub/jupyterhub_config.py`` wires it up and
``hub/__main__.py`` prepares the demo course and starts the hub.
"""
