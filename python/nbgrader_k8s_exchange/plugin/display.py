"""Names as people see them: what the plugin logs never shows a student's name raw.

A submission directory, a file in it, a student or assignment id can hold a newline (which
would forge a line of ``nbgrader list --inbound``), a terminal escape sequence or a bidi
override. :func:`escape` shows them visibly, by the core's rule (``_core.escape_text``, the
one ``nbgrader-k8s`` prints by), and :class:`EscapingLog` applies it to every message the
plugin's classes log, so no call site can forget it. JSON output (``nbgrader list --json``,
the Assignments tab) carries the exact names.
"""

import logging
from collections.abc import Mapping
from typing import Any


def escape(text: Any) -> str:
    """``str(text)`` with control characters (C0, DEL, C1), line separators and bidi
    overrides shown visibly (``\\n``, ``\\x1b``, ``\\u{202e}``); everything else as it is."""
    from .. import _core

    return _core.escape_text(str(text))


class EscapingLog(logging.LoggerAdapter):
    """A logger that formats each message with its arguments, then logs it through
    :func:`escape`: what a student named reaches the terminal escaped, whatever the call."""

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg)
        if args:
            # logging's own rule: one non-empty mapping argument formats by name.
            if len(args) == 1 and isinstance(args[0], Mapping) and args[0]:
                args = args[0]  # type: ignore[assignment]
            text = text % args
        self.logger.log(level, escape(text), **kwargs)

    def fatal(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """nbgrader's ``Exchange.fail`` logs with ``fatal``, which ``Logger`` has and
        ``LoggerAdapter`` lacks."""
        self.log(logging.CRITICAL, msg, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # Whatever else a caller expects of a Logger (handlers, propagate...): the logger's.
        if name == "logger":
            raise AttributeError(name)
        return getattr(self.logger, name)
