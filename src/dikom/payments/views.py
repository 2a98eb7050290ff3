"""Thin payment views: start, the citizen's return, platform notifications.

Who may open a payment's pages is decided in ``access.py`` (the owner's
session, or the signed return link); state changes are ``actions.py``'s.
"""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from dikom.payments import access, actions, registry
from dikom.payments.base import SignatureError
from dikom.payments.models import EventSource, PaymentStatus

logger = logging.getLogger(__name__)


@require_http_methods(["GET", "POST"])
def start(request: HttpRequest, uuid: str) -> HttpResponse:
    """GET shows the amount and a button; POST moves the attempt to pending and goes to the platform.

    Only for the owner's session (404 for anyone else who knows the UUID).
    """
    payment = access.get_payment_for_owner(request, uuid)
    try:
        attempt = actions.attempt_to_start(payment)
    except actions.PaymentStillOpen:
        return render(request, "payments/still_open.html", {"payment": payment}, status=409)
    if attempt.status == PaymentStatus.PAID:
        return render(request, "payments/already_paid.html", {"payment": attempt})
    if attempt.pk != payment.pk:
        # A retry: continue with the new attempt (it keeps the reference), bound to the same owner.
        access.bind_to_session(request, attempt)
        return HttpResponseRedirect(reverse("payments:start", args=[attempt.uuid]))
    provider = registry.get(payment.provider)
    if provider is None:
        raise Http404
    if request.method == "GET":
        return render(request, "payments/start.html", {"payment": payment, "provider": provider})
    payment, _changed = actions.record_status(payment.pk, PaymentStatus.PENDING, source=EventSource.SYSTEM)
    if payment.status != PaymentStatus.PENDING:
        return HttpResponseRedirect(reverse("payments:start", args=[payment.uuid]))
    return provider.begin(payment, request)


@csrf_exempt  # platforms post back from their own site; the signature is the protection
@require_http_methods(["GET", "POST"])
def return_view(request: HttpRequest, uuid: str) -> HttpResponse:
    """The citizen comes back. GET only shows the status; POST applies signed platform data.

    Answers the owner's session, or the signed return link the platform was
    given (``?token=``); a visitor with only the link sees the outcome and
    nothing else. Anyone else gets a 404.
    """
    token = request.GET.get(access.LINK_PARAMETER)
    payment, is_owner = access.get_payment_for_return(request, uuid, token)
    if request.method == "POST":
        provider = registry.get(payment.provider)
        if provider is None:
            raise Http404
        try:
            result = provider.handle_return(request, payment)
        except SignatureError as error:
            logger.warning("Payment return for %s refused: %s", payment.uuid, error)
            return HttpResponseForbidden("invalid signature")
        if result is not None:
            status, method = result
            actions.record_status(payment.pk, status, source=EventSource.RETURN, method=method)
        target = reverse("payments:return", args=[payment.uuid])
        if token is not None and access.return_token_valid(payment, token):
            target = f"{target}?{urlencode({access.LINK_PARAMETER: token})}"
        return HttpResponseRedirect(target)
    payment.refresh_from_db()
    if not is_owner:
        return render(request, "payments/return_outcome.html", {"status": payment.status})
    return render(request, "payments/return.html", {"payment": payment})


@csrf_exempt
@require_POST
def notification(request: HttpRequest, provider_key: str) -> HttpResponse:
    provider = registry.get(provider_key)
    if provider is None:
        raise Http404
    try:
        payment, status, method = provider.handle_notification(request)
    except SignatureError as error:
        logger.warning("Payment notification from %s refused: %s", provider_key, error)
        return HttpResponseForbidden("invalid signature")
    payment, changed = actions.record_status(payment.pk, status, source=EventSource.NOTIFICATION, method=method)
    if not changed and payment.status != status:
        logger.warning("Late %s notification for payment %s ignored (it is %s)", status, payment.uuid, payment.status)
    return HttpResponse("ok", content_type="text/plain")
