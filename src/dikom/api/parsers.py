"""The API's JSON parser: DRF's, decoding through ``dikom.lib.jsonparse.loads_limited``.

DRF's own ``JSONParser`` lets ``RecursionError`` from deeply nested bodies
escape as a 500. This one answers 400 (``malformed-request``) for them, as for
any other malformed body. It is the default parser (``REST_FRAMEWORK``), and
the parsers of single endpoints derive from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from dikom.lib.jsonparse import MAX_DEPTH, JSONHasNul, JSONTooDeep, loads_limited


class LimitedJSONParser(JSONParser):
    def parse(
        self, stream: IO[bytes] | None, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        body = stream.read() if stream is not None else b""
        try:
            return loads_limited(body.decode(encoding))
        except JSONTooDeep:
            raise ParseError(
                gettext("The JSON body is nested deeper than %(depth)d levels.") % {"depth": MAX_DEPTH}
            ) from None
        except JSONHasNul:
            raise ParseError(gettext("The text contains a NUL character, which is not allowed.")) from None
        except (UnicodeDecodeError, LookupError) as error:
            raise ParseError(gettext("The body is not valid JSON: %(error)s") % {"error": error}) from None
        except json.JSONDecodeError as error:
            # DRF's own wording: the problem handler explains it in the caller's language with line and column.
            raise ParseError(f"JSON parse error - {error}") from None
