"""Generic sign-in views: start, return from the identity service, sign out."""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dikom.authproviders import registry
from dikom.authproviders.base import FLOW_SESSION_KEY, AuthError, AuthFlow, current_flow
from dikom.authproviders.service import clear_identity, is_safe_return_to, store_identity

logger = logging.getLogger(__name__)

#: A sign-in attempt older than this is refused at the return.
FLOW_MAX_AGE_SECONDS = 15 * 60


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and is_safe_return_to(candidate, require_https=request.is_secure()):
        return candidate
    return "/"


def _failure(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "authproviders/error.html", {"message": message}, status=400)


@require_GET
def start(request: HttpRequest, key: str) -> HttpResponse:
    provider = registry.get(key)
    if provider is None:
        raise Http404
    flow = AuthFlow(
        provider=provider.key,
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        next_url=_safe_next(request, request.GET.get("next")),
        started_at=time.time(),
    )
    request.session[FLOW_SESSION_KEY] = dataclasses.asdict(flow)
    return provider.begin(request, flow.state)


@require_http_methods(["GET", "POST"])
def return_view(request: HttpRequest, key: str) -> HttpResponse:
    provider = registry.get(key)
    if provider is None:
        raise Http404
    flow = current_flow(request)
    state = request.GET.get("state") or request.POST.get("state") or ""
    if flow is None or flow.provider != provider.key or not state or not constant_time_compare(state, flow.state):
        request.session.pop(FLOW_SESSION_KEY, None)
        logger.info("Sign-in return refused: state missing or not matching (provider %s)", provider.key)
        return _failure(request, _("This sign-in attempt is unknown or has expired. Please start again."))
    if time.time() - flow.started_at > FLOW_MAX_AGE_SECONDS:
        request.session.pop(FLOW_SESSION_KEY, None)
        return _failure(request, _("This sign-in attempt has expired. Please start again."))
    try:
        identity = provider.complete(request)
    except AuthError as error:
        logger.info("Sign-in with %s failed: %s", provider.key, error)
        return _failure(request, str(error))
    finally:
        # One use only, whatever the outcome.
        request.session.pop(FLOW_SESSION_KEY, None)
    # A new session key after sign-in: a key planted before cannot ride on the identity.
    request.session.cycle_key()
    store_identity(request, identity)
    return HttpResponseRedirect(flow.next_url)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    clear_identity(request)
    request.session.cycle_key()
    return HttpResponseRedirect(_safe_next(request, request.POST.get("next")))
