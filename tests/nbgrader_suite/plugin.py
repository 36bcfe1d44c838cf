"""pytest plugin: nbgrader's own exchange tests, run against this exchange.

nbgrader ships its test suite in the wheel (``nbgrader/tests/apps``). This plugin makes our
eight classes the ``ExchangeFactory`` defaults (what the eight ``c.ExchangeFactory.*`` lines
of ``nbgrader_config.py`` do), so those tests drive our exchange through nbgrader's own
command-line app. Each test that is expected to fail is listed, with its reason and category,
in ``expected_differences.toml`` beside this file; it is marked ``xfail(strict=True)``, so an
unexpected pass fails the run too. Any other failure fails. Run it with
``make test-nbgrader-suite`` (``python -m tests.nbgrader_suite``), which also runs our
re-expressions (``tests/nbgrader_suite/test_*.py``) of the tests that inspect the default's
on-disk layout.
"""

import getpass
import os
import sys
from collections import Counter
from pathlib import Path

import nbgrader
import pytest
import tomllib
from nbgrader.exchange import ExchangeFactory

import nbgrader_k8s_exchange.plugin as ours

HERE = Path(__file__).parent
EXPECTED_FILE = HERE / "expected_differences.toml"

#: nbgrader's test modules of the exchange commands (in ``nbgrader.tests.apps``).
MODULES = [
    f"nbgrader.tests.apps.test_nbgrader_{name}"
    for name in (
        "releaseassignment",
        "fetch_assignment",
        "submit",
        "list",
        "collect",
        "releasefeedback",
        "fetchfeedback",
    )
]

#: ``ExchangeFactory`` trait -> our class: the eight ``c.ExchangeFactory.*`` lines.
CLASSES = {
    "collect": ours.ExchangeCollect,
    "exchange": ours.Exchange,
    "fetch_assignment": ours.ExchangeFetchAssignment,
    "fetch_feedback": ours.ExchangeFetchFeedback,
    "list": ours.ExchangeList,
    "release_assignment": ours.ExchangeReleaseAssignment,
    "release_feedback": ours.ExchangeReleaseFeedback,
    "submit": ours.ExchangeSubmit,
}

#: The categories an expected difference may have.
CATEGORIES = {
    "layout": "inspects the default's on-disk layout (re-expressed for ours)",
    "deliberate": "a documented deliberate difference",
    "default-fails-too": "fails on nbgrader's default exchange too",
}


def load_expected(path: Path = EXPECTED_FILE) -> dict:
    """The expected differences, by test id (``module.py::Class::test[param]``)."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    entries = {}
    for entry in data["difference"]:
        if entry["category"] not in CATEGORIES:
            raise ValueError(f"{path}: {entry['test']}: unknown category {entry['category']!r}")
        if not entry.get("reason"):
            raise ValueError(f"{path}: {entry['test']}: no reason")
        if entry["category"] == "layout" and not entry.get("reexpressed"):
            raise ValueError(f"{path}: {entry['test']}: a layout test needs 'reexpressed'")
        if entry["test"] in entries:
            raise ValueError(f"{path}: {entry['test']} is listed twice")
        entries[entry["test"]] = entry
    return entries


def suite_id(item) -> str:
    """``test_nbgrader_submit.py::TestNbGraderSubmit::test_submit`` for nbgrader's items."""
    path, _, rest = item.nodeid.partition("::")
    return f"{Path(path).name}::{rest}"


def ours_id(item) -> str:
    """``tests/nbgrader_suite/test_x.py::Class::test`` for our items."""
    path, _, rest = item.nodeid.partition("::")
    return f"{Path(item.path).relative_to(HERE.parent.parent).as_posix()}::{rest}"


class Suite:
    """Marks the expected differences and counts the outcomes."""

    def __init__(self, config):
        self.config = config
        self.expected = load_expected()
        self.counts = Counter()
        self.unexpected = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session, config, items):
        ids = {suite_id(item): item for item in items if _is_nbgrader(item)}
        mine = {ours_id(item) for item in items if not _is_nbgrader(item)}
        problems = []
        for test, entry in self.expected.items():
            item = ids.get(test)
            if item is None:
                problems.append(f"{test}: listed but not collected (renamed or gone?)")
                continue
            reason = f"[{entry['category']}] {entry['reason']}"
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
            item.stash[_ENTRY] = entry
            for other in entry.get("reexpressed", []):
                if mine and other not in mine:
                    problems.append(f"{test}: its re-expression {other} was not collected")
        if problems:
            raise pytest.UsageError(
                f"{EXPECTED_FILE.name} does not match the tests:\n  " + "\n  ".join(problems)
            )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        entry = item.stash.get(_ENTRY, None)
        expected = entry.get("teardown_error") if entry else None
        if call.when == "teardown" and expected:
            # nbgrader's fixture cleans up what the default exchange would have created.
            got = call.excinfo.typename if call.excinfo else None
            if hasattr(report, "wasxfail"):
                del report.wasxfail  # the xfail is the call's, not this teardown's
            if got == expected:
                report.outcome = "passed"
                report.longrepr = None
                report.sections.append(("expected teardown error", expected))
            else:
                report.outcome = "failed"
                report.longrepr = (
                    f"expected a {expected} in teardown ({entry['reason']}), got {got}"
                )
        return report

    def pytest_runtest_logreport(self, report):
        if report.when == "call":
            if report.skipped and hasattr(report, "wasxfail"):
                outcome = "expected differences"
            else:
                outcome = report.outcome  # a strict xfail that passed is "failed"
        elif report.failed:
            outcome = "failed"  # an error in setup or teardown
        elif report.skipped:
            outcome = "skipped"
        else:
            return
        self.counts[outcome] += 1
        if outcome == "failed":
            self.unexpected.append(f"{report.nodeid} ({report.when})")

    def pytest_terminal_summary(self, terminalreporter):
        c = self.counts
        line = (
            f"nbgrader {nbgrader.__version__} suite against nbgrader-k8s-exchange: "
            f"{c['passed']} passed, {c['expected differences']} expected differences, "
            f"{c['failed']} failed"
        )
        if c["skipped"]:
            line += f", {c['skipped']} skipped"
        terminalreporter.section("nbgrader suite")
        terminalreporter.write_line(line)
        for nodeid in self.unexpected:
            terminalreporter.write_line(f"  unexpected: {nodeid}")


_ENTRY = pytest.StashKey[dict]()


def _is_nbgrader(item) -> bool:
    return item.module.__name__.startswith("nbgrader.tests.")


def pytest_configure(config):
    traits = ExchangeFactory.class_traits()
    for name, cls in CLASSES.items():
        traits[name].default_value = cls
    # nbgrader's tests run `alembic` (the gradebook's migrations) from PATH, and one reads
    # $USER: what an activated venv and a login shell give them.
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("USER", getpass.getuser())
    config.pluginmanager.register(Suite(config), "nbgrader-suite")
