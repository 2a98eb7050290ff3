"""Who may open a payment's pages. Everyone else gets a 404, as if the payment did not exist.

A payment's UUID is no secret: it travels to the platform, into its logs and
into the citizen's browser history. So the pages at ``/zahlung/<uuid>/…``
answer only:

- **the owner's browser session.** The app that creates a payment knows whose
  it is (the portal: the application's owner, a signed-in citizen or the
  anonymous session that started the draft). After its own access check it
  binds the payment to that session with ``bind_to_session``; the start page,
  the demo platform page and the full return page answer only sessions the
  payment is bound to. A retry started from a bound attempt is bound too.
- **the holder of the return link.** The URL the platform sends the citizen
  back to carries a signed token that expires a day after the attempt's
  pending window (``return_url``). The platform posts its signed result there
  from its own site, where the browser sends no ``SameSite=Lax`` session
  cookie; the page it then redirects to is a top-level GET, where the cookie
  normally comes along again. If it does not (another browser, an expired
  session), the token shows the outcome, and nothing else: no amount, no
  reference, no link to the application.

Server-to-server notifications (``/zahlung/benachrichtigung/<key>/``) are
authenticated by the platform's signature, not here.
"""

from __future__ import annotations

import datetime as dt
import uuid as uuid_module
from typing import Any

from django.core import signing
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.http import urlencode

from dikom.payments.models import Payment

SESSION_KEY = "payments_bound"
#: How many payments one session remembers (the oldest are forgotten first).
SESSION_LIMIT = 50
LINK_SIGNING_NAMESPACE = "dikom.payments.return"
LINK_PARAMETER = "token"
#: How long after the pending window a return link still shows the outcome.
RETURN_LINK_GRACE = dt.timedelta(days=1)


def bind_to_session(request: HttpRequest, payment: Payment) -> None:
    """Let this browser session open ``payment``'s pages; call it only for the payment's owner."""
    bound = [value for value in request.session.get(SESSION_KEY, []) if value != str(payment.uuid)]
    bound.append(str(payment.uuid))
    if bound != request.session.get(SESSION_KEY):
        request.session[SESSION_KEY] = bound[-SESSION_LIMIT:]


def is_bound(request: HttpRequest, payment: Payment) -> bool:
    return str(payment.uuid) in request.session.get(SESSION_KEY, [])


def return_token(payment: Payment) -> str:
    """A signed, timestamped token for ``payment``'s return page (the UUID itself is not repeated)."""
    signed = signing.TimestampSigner(salt=LINK_SIGNING_NAMESPACE).sign(str(payment.uuid))
    return signed[len(str(payment.uuid)) + 1 :]


def return_token_valid(payment: Payment, token: Any) -> bool:
    from dikom.payments.actions import pending_timeout

    if not isinstance(token, str) or not token or len(token) > 200:
        return False
    max_age = pending_timeout() + RETURN_LINK_GRACE
    try:
        signing.TimestampSigner(salt=LINK_SIGNING_NAMESPACE).unsign(f"{payment.uuid}:{token}", max_age=max_age)
    except signing.BadSignature:  # also SignatureExpired
        return False
    return True


def return_url(payment: Payment, request: HttpRequest | None = None) -> str:
    """The return page with a fresh token: where the platform sends the citizen back (absolute with ``request``)."""
    path = f"{reverse('payments:return', args=[payment.uuid])}?{urlencode({LINK_PARAMETER: return_token(payment)})}"
    return request.build_absolute_uri(path) if request is not None else path


def _payment(uuid: Any, **filters: Any) -> Payment:
    try:
        key = uuid if isinstance(uuid, uuid_module.UUID) else uuid_module.UUID(str(uuid))
    except ValueError as exc:
        raise Http404 from exc
    payment = Payment.objects.select_related("municipality").filter(uuid=key, **filters).first()
    if payment is None:
        raise Http404
    return payment


def get_payment_for_owner(request: HttpRequest, uuid: Any, **filters: Any) -> Payment:
    """The payment if this session is bound to it; 404 otherwise (unknown and foreign look the same)."""
    payment = _payment(uuid, **filters)
    if not is_bound(request, payment):
        raise Http404
    return payment


def get_payment_for_return(request: HttpRequest, uuid: Any, token: Any) -> tuple[Payment, bool]:
    """(payment, whether the owner's session asks) for the owner or a valid return link; 404 otherwise."""
    payment = _payment(uuid)
    if is_bound(request, payment):
        return payment, True
    if return_token_valid(payment, token):
        return payment, False
    raise Http404
