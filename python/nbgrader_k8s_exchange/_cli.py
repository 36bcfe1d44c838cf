"""The ``nbgrader-k8s`` console script: the Rust admin CLI linked into ``_core``.

maturin cannot ship a pyo3 module and a Rust binary in one wheel, so the wheel's
``[project.scripts]`` entry point lands here and hands ``sys.argv`` to the Rust code.
"""

import sys
from typing import Optional, Sequence

from . import _core

__all__ = ["main"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``nbgrader-k8s`` with ``argv`` (default ``sys.argv``) and exit with its status."""
    args = list(sys.argv if argv is None else argv)
    args[0:1] = ["nbgrader-k8s"]
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(_core.run_cli(args))


if __name__ == "__main__":
    main()
