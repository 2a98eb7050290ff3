"""Generic sign-in views: start, return from the identity service, sign out.

Thin: the state and flow checks live here once for every provider; what an
answer means is the provider's ``complete()`` (or ``accept_post()`` for
answers POSTed across sites). Start, return and ACS answer anyone, so each is
rate-limited per client address (``ratelimit``), and no answer, however
malformed, ends in a server error: a provider failing in an unforeseen way is
logged and shown as a refusal.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dikom.authproviders import handoff, ratelimit, registry
from dikom.authproviders.base import FLOW_SESSION_KEY, AuthError, AuthFlow, current_flow
from dikom.authproviders.service import clear_identity, is_safe_return_to, store_identity

logger = logging.getLogger(__name__)

#: A sign-in attempt older than this is refused at the return.
FLOW_MAX_AGE_SECONDS = 15 * 60


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and is_safe_return_to(candidate, require_https=request.is_secure()):
        return candidate
    return "/"


def _failure(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    return render(request, "authproviders/error.html", {"message": message}, status=status)


def _too_many(request: HttpRequest, scope: str) -> HttpResponse | None:
    """A 429 page when this client has used up its budget for ``scope``, else None."""
    wait = ratelimit.take(request, scope)
    if wait is None:
        return None
    logger.info("Sign-in %s refused: too many requests from one client", scope)
    response = _failure(
        request, _("Too many sign-in attempts from your connection. Please wait a minute and try again."), 429
    )
    response["Retry-After"] = str(wait)
    return response


@require_GET
def start(request: HttpRequest, key: str) -> HttpResponse:
    provider = registry.get(key)
    if provider is None:
        raise Http404
    if (refused := _too_many(request, "start")) is not None:
        return refused
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
    if (refused := _too_many(request, "return")) is not None:
        return refused
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
    except Exception:
        # Whatever the identity service's answer did to the provider, it is a refusal, never a server error.
        logger.exception("Sign-in with %s failed unexpectedly", provider.key)
        return _failure(
            request, _("The answer of the identity service could not be verified. Please start the sign-in again.")
        )
    finally:
        # One use only, whatever the outcome.
        request.session.pop(FLOW_SESSION_KEY, None)
    # A new session key after sign-in: a key planted before cannot ride on the identity.
    request.session.cycle_key()
    store_identity(request, identity)
    return HttpResponseRedirect(flow.next_url)


@csrf_exempt
@require_POST
def post_return(request: HttpRequest, key: str) -> HttpResponse:
    """Where an identity service POSTs its answer across sites (SAML HTTP-POST binding).

    The browser does not send the SameSite=Lax session cookie with this POST, so
    this view never touches the session. The provider verifies the answer here
    (``accept_post``); only its small result is parked (see ``handoff``), and
    the browser is sent on, with a 303, to the return view, a same-site GET
    that carries the cookie. CSRF-exempt: the answer proves itself (for SAML by
    its signature and InResponseTo), and the state must match the session.
    """
    provider = registry.get(key)
    if provider is None or not provider.post_return_state_field:
        raise Http404
    if (refused := _too_many(request, "acs")) is not None:
        return refused
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > handoff.MAX_ANSWER_BYTES + 8 * 1024:
        # Not even read: no identity service sends this much, and the body would be held in memory.
        return _failure(request, _("The answer of the identity service could not be read. Please start again."), 413)
    state = request.POST.get(provider.post_return_state_field, "")
    query = {"state": state[: handoff.MAX_STATE_LENGTH]}
    if state and len(state) <= handoff.MAX_STATE_LENGTH:
        try:
            result = provider.accept_post(request, state)
        except Exception:
            logger.exception("Sign-in answer to %s failed unexpectedly", provider.key)
            result = {"error": "unexpected"}
        parked = handoff.store(provider.key, state, result)
        if parked:
            query[handoff.QUERY_PARAMETER] = parked
    response = HttpResponseRedirect(reverse("authproviders:return", args=[provider.key]) + "?" + urlencode(query))
    response.status_code = 303  # the browser must follow with GET
    return response


@require_GET
def metadata(request: HttpRequest, key: str) -> HttpResponse:
    """Machine-readable description of this installation for the identity service (SAML SP metadata)."""
    provider = registry.get(key)
    describe = getattr(provider, "metadata", None)
    if provider is None or describe is None:
        raise Http404
    response: HttpResponse = describe(request)
    return response


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    clear_identity(request)
    request.session.cycle_key()
    return HttpResponseRedirect(_safe_next(request, request.POST.get("next")))
