"""Shared fixtures: a course on a fresh local exchange, driven through the real nbgrader CLI."""

import pytest

from nbgrader_k8s_exchange.demo import Course


def pytest_ignore_collect(collection_path, config):
    """tests/nbgrader_suite runs in its own session (`make test-nbgrader-suite`): its plugin
    makes our classes nbgrader's defaults for the whole process, which other tests (the
    default exchange's runs) must not see."""
    if collection_path.name == "nbgrader_suite":
        return not config.pluginmanager.has_plugin("nbgrader-suite")
    return None


@pytest.fixture
def course(tmp_path):
    """An empty course101 with its exchange; add assignments with ``create_assignment``."""
    return Course(tmp_path)


@pytest.fixture
def released(course):
    """course101 with ps1 generated and released."""
    course.create_assignment("ps1")
    course.instructor("release_assignment", "ps1")
    return course
