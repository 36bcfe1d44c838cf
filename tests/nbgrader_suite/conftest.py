"""nbgrader's own fixtures (a course dir, an exchange, a cache, a cwd with its
nbgrader_config.py), so our re-expressions run exactly like the tests they re-express."""

from nbgrader.tests.apps.conftest import (  # noqa: F401
    cache,
    course_dir,
    db,
    exchange,
    temp_cwd,
)
