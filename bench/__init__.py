"""The benchmark harness: our exchange beside nbgrader's default, on a simulated NFS.

``make bench`` (or ``.venv/bin/python -m bench``, as root) generates a synthetic course in
both exchanges' layouts (:mod:`.course`), mounts it through ``latencyfs``
(``crates/latencyfs``: every request waits a set latency and is counted), runs every
scenario of :mod:`.scenarios` and :mod:`.growth` for both exchanges and the floors
(:mod:`.floors`), and writes ``BENCHMARKS.md`` (:mod:`.report`, :mod:`.targets`).
Settings: see :mod:`.__main__`.
"""
