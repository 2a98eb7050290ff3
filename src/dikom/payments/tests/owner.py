"""Open a payment to a test client's session, as the portal does for the application's owner."""

from __future__ import annotations

from django.test import Client

from dikom.payments import access
from dikom.payments.models import Payment


def open_to(client: Client, payment: Payment) -> Client:
    """Bind ``payment`` to ``client``'s session (``access.bind_to_session`` for a test client)."""
    session = client.session
    session[access.SESSION_KEY] = [*session.get(access.SESSION_KEY, []), str(payment.uuid)]
    session.save()
    return client
