"""Fixtures for the browser tests: a local hub and a headless Chromium.

Playwright drives Debian's ``chromium`` (``make hub-setup`` installs it); it never downloads a
browser. Screenshots of every step go to ``artifacts/e2e/``.
"""

import os
import shutil

import pytest

from podsim import namespaces_available

from .hubproc import PROXY, REPO, LocalHub

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = REPO / "artifacts" / "e2e"


def _why_not():
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is missing (make setup)"
    if not CHROMIUM:
        return "no chromium (make hub-setup)"
    if not PROXY.exists():
        return f"{PROXY} missing (make hub-setup)"
    return namespaces_available()


_WHY_NOT = _why_not()
if _WHY_NOT and os.environ.get("CI"):
    raise RuntimeError(f"CI must run the browser tests, but: {_WHY_NOT}")


@pytest.fixture
def hub(tmp_path_factory):
    if _WHY_NOT:
        pytest.skip(f"SKIPPED LOUDLY: cannot run the local hub here: {_WHY_NOT}")
    running = LocalHub(tmp_path_factory.mktemp("hub"))
    yield running
    running.close()


@pytest.fixture
def browser(hub):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def shots():
    """``shots(page, "01-name")`` saves a screenshot as artifacts/e2e/01-name.png; with
    ``height``, only the top of the page (what the README shows)."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name, height=None):
        clip = None
        if height:
            clip = {"x": 0, "y": 0, "width": page.viewport_size["width"], "height": height}
        page.screenshot(path=str(SHOTS / f"{name}.png"), clip=clip)

    return save
