"""Shared fixtures: a course on a fresh local exchange, driven through the real nbgrader CLI."""

import pytest

from nbgrader_k8s_exchange.demo import Course


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
