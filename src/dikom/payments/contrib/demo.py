"""DEMO payment platform: no money moves. Only available where DIKOM_DEMO is on.

The platform page (for the payment's owner only) offers pay / fail / cancel.
Each button posts the result back to the return link ``/zahlung/<uuid>/rueckkehr/?token=…``
(``access.return_url``), signed with HMAC-SHA256 over
``uuid|status|method|exp`` (secret: DIKOM_PAYMENT_DEMO_SECRET). The same signed
fields, posted to ``/zahlung/benachrichtigung/demo/``, act as the platform's
server-to-server notification. ``exp`` is the end of the attempt's pending
window: later data is refused, so a timed-out attempt can no longer complete.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from dikom.payments import access
from dikom.payments.base import PaymentProvider, SignatureError
from dikom.payments.models import Payment, PaymentStatus

RESULTS = (PaymentStatus.PAID, PaymentStatus.FAILED, PaymentStatus.CANCELLED)


def _secret() -> bytes:
    configured = getattr(settings, "DIKOM_PAYMENT_DEMO_SECRET", None)
    if configured:
        return str(configured).encode()
    return salted_hmac("dikom.payments.demo", "secret").digest()


def sign(uuid: str, status: str, method: str, exp: int) -> str:
    message = f"{uuid}|{status}|{method}|{exp}".encode()
    return hmac.new(_secret(), message, hashlib.sha256).hexdigest()


def signed_fields(payment: Payment, status: str, method: str = "creditcard") -> dict[str, str]:
    from dikom.payments.actions import pending_timeout

    started = payment.started_at.timestamp() if payment.started_at else time.time()
    exp = int(started + pending_timeout().total_seconds())
    return {
        "payment": str(payment.uuid),
        "status": str(status),
        "method": method,
        "exp": str(exp),
        "sig": sign(str(payment.uuid), str(status), method, exp),
    }


def verify(data: dict[str, str]) -> tuple[str, str, str]:
    """(uuid, status, method) of correctly signed, unexpired data; SignatureError otherwise."""
    try:
        uuid, status, method, exp = data["payment"], data["status"], data["method"], int(data["exp"])
        given = data["sig"]
    except (KeyError, ValueError):
        raise SignatureError("incomplete demo payment data") from None
    if not hmac.compare_digest(sign(uuid, status, method, exp), given):
        raise SignatureError("bad signature")
    if exp < time.time():
        raise SignatureError("expired")
    if status not in RESULTS:
        raise SignatureError("unknown status")
    return uuid, status, method


class DemoPaymentProvider(PaymentProvider):
    key = "demo"
    label = _("Demo payment (no money moves)")
    methods = ("creditcard", "paypal", "giropay", "sepa_direct_debit")
    demo_only = True

    def begin(self, payment: Payment, request: HttpRequest) -> HttpResponse:
        return HttpResponseRedirect(reverse("payments:demo_platform", args=[payment.uuid]))

    def handle_return(self, request: HttpRequest, payment: Payment) -> tuple[str, str] | None:
        if "sig" not in request.POST:
            return None
        uuid, status, method = verify(request.POST.dict())
        if uuid != str(payment.uuid):
            raise SignatureError("signed for another payment")
        return status, method

    def handle_notification(self, request: HttpRequest) -> tuple[Payment, str, str]:
        uuid, status, method = verify(request.POST.dict())
        payment = Payment.objects.filter(uuid=uuid, provider=self.key).first()
        if payment is None:
            raise SignatureError("unknown payment")
        return payment, status, method

    def attempt_closed(self, payment: Payment) -> bool:
        # Signed results carry exp = start + pending timeout and are refused afterwards.
        from dikom.payments.actions import pending_timeout

        return (
            payment.started_at is not None
            and time.time() > payment.started_at.timestamp() + pending_timeout().total_seconds()
        )


def demo_platform(request: HttpRequest, uuid: str) -> HttpResponse:
    """The demo platform's page. 404 unless the demo platform is enabled."""
    from dikom.payments import registry

    if registry.get(DemoPaymentProvider.key) is None:
        raise Http404
    # Like a real platform's page, it is reached only by the citizen sent there: the owner's session.
    payment = access.get_payment_for_owner(request, uuid, provider=DemoPaymentProvider.key)
    choices = []
    if payment.status == PaymentStatus.PENDING:
        choices = [
            (_("Pay (demo)"), "button", signed_fields(payment, PaymentStatus.PAID)),
            (_("Simulate a failed payment"), "button button--secondary", signed_fields(payment, PaymentStatus.FAILED)),
            (_("Cancel payment"), "button button--secondary", signed_fields(payment, PaymentStatus.CANCELLED)),
        ]
    context = {"payment": payment, "choices": choices, "return_url": access.return_url(payment)}
    return render(request, "payments/demo_platform.html", context)
