"""Run the schemathesis command line with one guard against a CPython 3.11 bug.

On CPython 3.11 up to 3.11.7, ``ast.parse`` can raise ``SystemError: AST constructor
recursion depth mismatch`` (CPython issue gh-106905, fixed in later releases). Hypothesis
calls ``ast.parse`` only to *describe* a ``filter(lambda ...)`` in a strategy's repr; when
schemathesis builds such strategies deep in its coverage phase, the bug ends the whole
operation as a "Runtime Error" although nothing about the API was tested wrong. The guard
gives such a lambda the description Hypothesis itself uses when it cannot read the source;
nothing about what is generated or checked changes. It also gives e-mail bodies (message/rfc822)
the serializer of binary bodies.
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

import schemathesis as _schemathesis  # noqa: E402  (after the guard is in place)
from schemathesis.cli import schemathesis  # noqa: E402

# An inbound e-mail (POST /api/v1/mail/inbound/) is sent as the bytes of the message, as an MTA or a
# mail provider's webhook sends it; schemathesis has no serializer for message/rfc822 of its own, so
# it gets the one it uses for application/octet-stream.
_schemathesis.serializer.alias("message/rfc822", "application/octet-stream")

if __name__ == "__main__":
    sys.argv[0] = "schemathesis"
    sys.exit(schemathesis())
