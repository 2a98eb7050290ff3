"""The Content-Security-Policy header, built once per process instead of on every response (issue 21).

django-csp's middleware builds the policy from the settings for each response: it copies the
configuration, fills in the defaults and joins the directives, twice (enforced and report-only),
which cost about as much as the rest of the middleware stack of a cached page. The settings do
not change while a process runs (tests that change them empty the cache through
``setting_changed``), so the policy text is built once, with a placeholder where the request's
nonce goes, and each response gets it with its own nonce put in.

Responses of views with their own policy (``csp_update``, ``csp_replace``, ``csp``,
``csp_exempt``) go through django-csp's code unchanged.
"""

from __future__ import annotations

import http.client
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest
from django.http.response import HttpResponseBase

# Cannot occur in a policy from the settings (a nonce is base64, a source list has no NUL).
_PLACEHOLDER = "\x00nonce\x00"
_PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")
_EXEMPT_IN_DEBUG = (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)

#: (report_only, with a nonce) -> (policy text with the placeholder for the nonce, excluded path prefixes)
_policies: dict[tuple[bool, bool], tuple[str, tuple[str, ...]]] = {}


def _policy(report_only: bool, with_nonce: bool) -> tuple[str, tuple[str, ...]]:
    key = (report_only, with_nonce)
    found = _policies.get(key)
    if found is None:
        text = build_policy(nonce=_PLACEHOLDER if with_nonce else None, report_only=report_only)
        name = "CONTENT_SECURITY_POLICY_REPORT_ONLY" if report_only else "CONTENT_SECURITY_POLICY"
        prefixes = tuple((getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ())
        found = _policies[key] = (text, prefixes)
    return found


def clear() -> None:
    _policies.clear()


def _on_setting_changed(**_kwargs: Any) -> None:
    clear()


setting_changed.connect(_on_setting_changed, dispatch_uid="dikom.web.csp")


class CachedPolicyCSPMiddleware(CSPMiddleware):
    """``csp.middleware.CSPMiddleware`` with the policy text kept per process (same headers)."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if any(getattr(response, name, None) is not None for name in _PER_RESPONSE):
            return super().process_response(request, response)  # a view's own policy
        if response.status_code in _EXEMPT_IN_DEBUG and settings.DEBUG:
            return response
        nonce = getattr(request, "_csp_nonce", None)
        for report_only, header, exempt in (
            (False, HEADER, "_csp_exempt"),
            (True, HEADER_REPORT_ONLY, "_csp_exempt_ro"),
        ):
            text, prefixes = _policy(report_only, bool(nonce))
            if not text or header in response or getattr(response, exempt, False) is not False:
                continue
            if prefixes and request.path_info.startswith(prefixes):
                continue
            response[header] = text.replace(_PLACEHOLDER, nonce) if nonce else text
        if getattr(request, "_csp_nonce", None) is None:
            # As django-csp: a nonce asked for after the header was written would not be in it.
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
