"""The typed contract of `_core` says what the compiled module does (stubtest checks the
signatures in `make lint`; these check what a stub cannot express)."""

import inspect
import typing

from nbgrader_k8s_exchange import _core, _types


def test_error_kinds_are_the_cores():
    assert set(typing.get_args(_types.ErrorKind)) == set(_core.ERROR_KINDS)


def test_every_function_documents_itself():
    """The contract's documentation is the Rust doc comment, shown as ``__doc__``."""
    functions = [f for name, f in vars(_core).items() if callable(f) and not name[0].isupper()]
    assert len(functions) > 15
    for f in functions:
        doc = inspect.getdoc(f) or ""
        body = doc.split("--\n", 1)[-1]  # PyO3 puts the signature line first
        assert len(body.split()) >= 8, f"{f.__name__} has no documentation"


def test_raised_errors_carry_a_listed_kind(tmp_path):
    try:
        _core.validate_id("course", "../x")
    except _core.ExchangeCoreError as err:
        assert err.kind in _core.ERROR_KINDS
        assert err.kind == "invalid_id"
    else:
        raise AssertionError("an unsafe id was accepted")
