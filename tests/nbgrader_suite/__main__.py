"""``python -m tests.nbgrader_suite [PYTEST_ARGS...]``: nbgrader's shipped exchange tests and
our re-expressions of the layout ones, against this exchange (``make test-nbgrader-suite``)."""

import sys

import pytest

from .plugin import HERE, MODULES


def main(argv) -> int:
    args = ["-p", "tests.nbgrader_suite.plugin", "-p", "no:cacheprovider", "-q", "-rfE"]
    args += ["--pyargs", *MODULES, str(HERE), *argv]
    return int(pytest.main(args))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
