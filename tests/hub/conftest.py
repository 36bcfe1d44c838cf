"""Fixtures: a lean JupyterHub (dummy authenticator) per test, stopped afterwards."""

import os

import pytest

from .hubs import PROXY, LeanHub

_WHY_NOT = None if PROXY.exists() else f"{PROXY} missing (make hub-setup)"
if _WHY_NOT and os.environ.get("CI"):
    raise RuntimeError(f"CI must run the hub API tests, but: {_WHY_NOT}")


@pytest.fixture
def lean_hub(tmp_path):
    """``make(users, services)`` -> a started :class:`LeanHub`; all stopped at the end."""
    if _WHY_NOT:
        pytest.skip(f"SKIPPED LOUDLY: {_WHY_NOT}")
    made = []

    def make(users, services, die_at=0, role_groups=()):
        hub = LeanHub(tmp_path / f"hub{len(made)}", users, services, role_groups)
        made.append(hub)
        return hub.start(die_at)

    yield make
    for hub in made:
        hub.stop()
