"""Run the schemathesis command line with one guard against a CPython 3.11 bug.

On CPython 3.11 up to 3.11.7, ``ast.parse`` can raise ``SystemError: AST constructor
recursion depth mismatch`` (CPython issue gh-106905, fixed in later releases). Hypothesis
calls ``ast.parse`` only to *describe* a ``filter(lambda ...)`` in a strategy's repr; when
schemathesis builds such strategies deep in its coverage phase, the bug ends the whole
operation as a "Runtime Error" although nothing about the API was tested wrong. The guard
gives such a lambda the description Hypothesis itself uses when it cannot read the source;
nothing about what is generated or checked changes.
"""

from __future__ import annotations

import sys

from hypothesis.internal import lambda_sources

_describe = lambda_sources._lambda_description


def _guarded(f: object) -> str:
    try:
        return _describe(f)
    except SystemError:
        return "lambda *args, **kwargs: <unknown>"


lambda_sources._lambda_description = _guarded

from schemathesis.cli import schemathesis  # noqa: E402  (after the guard is in place)

if __name__ == "__main__":
    sys.argv[0] = "schemathesis"
    sys.exit(schemathesis())
