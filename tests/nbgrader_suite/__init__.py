"""nbgrader's own exchange tests as a gate against this exchange (see plugin.py)."""
