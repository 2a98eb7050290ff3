"""The interface every payment platform adapter implements.

Flow: the start view moves a Payment to ``pending`` and calls ``begin`` (a
redirect to the platform). The citizen comes back to ``/zahlung/<uuid>/rueckkehr/``
(``handle_return`` on POST: only signed platform data may change the status).
The platform also tells us server-to-server at ``/zahlung/benachrichtigung/<key>/``
(``handle_notification``). Both return the status the platform *vouches for*;
``actions.record_status`` applies it under a row lock, idempotently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from dikom.payments.models import Payment


class SignatureError(Exception):
    """The platform's data is not signed correctly (or too old): answer 403, change nothing."""


class PaymentProvider:
    key: ClassVar[str]
    label: ClassVar[StrOrPromise]
    methods: ClassVar[tuple[str, ...]]
    demo_only: ClassVar[bool] = False

    def is_available(self) -> bool:
        return True

    def begin(self, payment: Payment, request: HttpRequest) -> HttpResponse:
        """Send the citizen to the platform (the payment is already ``pending``)."""
        raise NotImplementedError

    def handle_return(self, request: HttpRequest, payment: Payment) -> tuple[str, str] | None:
        """Read the signed data the citizen brings back: (new status, method) or None when unsigned.

        Raises SignatureError when data is present but the signature is wrong.
        """
        raise NotImplementedError

    def handle_notification(self, request: HttpRequest) -> tuple[Payment, str, str]:
        """Check and read a server-to-server notification: (payment, new status, method)."""
        raise NotImplementedError

    def attempt_closed(self, payment: Payment) -> bool:
        """True only when the platform can no longer complete this pending attempt.

        The default is the safe answer: we cannot know, so no retry is offered
        while the attempt is pending.
        """
        return False
