"""pmPayment adapter: the payment platform of GovConnect, used by many municipalities in Hesse.

Written after the interface as it is publicly visible (two open-source
integrations; sources and the open questions are in
``docs/payments-pmpayment.md``). Where that material is silent, the adapter
does the safe thing and the documentation says "to be confirmed with the
operator".

The flow:

1. ``begin``: a server-to-server POST to ``<DIKOM_PMPAYMENT_URL>/payment/secure``
   with ``ags``, ``amount`` (cents), ``procedure``, ``desc``, optionally
   ``accountingRecord``, ``txid`` (our payment UUID), ``notifyURL``,
   ``redirectURL`` and ``hash`` = HMAC-SHA256, keyed with the municipality's
   salt, over the values sent, joined with ``|`` in that order. The platform
   answers JSON with the ``url`` of its pay page; the citizen is redirected there.
2. The platform posts ``ags, txid, amount, desc, status, payment_method,
   procedure, created_at`` to ``notifyURL``. The public material says this
   notification carries no hash, so it is never believed on its own: the
   adapter asks ``GET <DIKOM_PMPAYMENT_URL>/payment/status/<ags>/<txid>``
   (status 1 paid, 0 not paid, -1 still open) and records what the platform
   answers there. A hash, if one is sent, must be right (403 otherwise).
3. The citizen comes back to ``redirectURL`` (the return page with a signed,
   expiring token, ``access.return_url``) with the result fields and a
   ``hash`` over ``ags|txid|amount|desc|status|payment_method|created_at``.
   Only a correct hash for this payment, municipality and amount counts.

Secrets never leave this module: they are read from ``DIKOM_PMPAYMENT_CLIENTS``
(AGS → procedure and salt) and used only as HMAC keys.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.checks import Warning as CheckWarning
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from dikom.lib.jsonparse import loads_limited
from dikom.municipalities.models import Municipality
from dikom.payments import actions
from dikom.payments.access import return_url
from dikom.payments.base import PaymentProvider, SignatureError
from dikom.payments.models import EventSource, Payment, PaymentMethod, PaymentStatus

logger = logging.getLogger(__name__)

KEY = "pmpayment"

#: Fields of the start request in hash order; a field that is not sent is left out of the hash.
REQUEST_FIELDS = ("ags", "amount", "procedure", "desc", "accountingRecord", "txid", "notifyURL", "redirectURL")
#: Fields of the signed result in hash order; a missing field counts as empty.
RESULT_FIELDS = ("ags", "txid", "amount", "desc", "status", "payment_method", "created_at")

PLATFORM_PAID = "1"
PLATFORM_NOT_PAID = "0"
PLATFORM_OPEN = "-1"

#: Characters a SEPA purpose text may hold (the public integrations restrict desc to these).
NOT_SEPA = re.compile(r"[^A-Za-z0-9/?:().,'+\- ]")
GERMAN_LETTERS = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}

#: The platform's payment method names (lower case) → ours. Unknown names become "other".
METHODS: dict[str, str] = {
    "giropay": PaymentMethod.GIROPAY,
    "paydirekt": PaymentMethod.PAYDIREKT,
    "paydirect": PaymentMethod.PAYDIREKT,
    "creditcard": PaymentMethod.CREDITCARD,
    "credit_card": PaymentMethod.CREDITCARD,
    "kreditkarte": PaymentMethod.CREDITCARD,
    "paypal": PaymentMethod.PAYPAL,
    "sepa": PaymentMethod.SEPA_DIRECT_DEBIT,
    "sepa_direct_debit": PaymentMethod.SEPA_DIRECT_DEBIT,
    "directdebit": PaymentMethod.SEPA_DIRECT_DEBIT,
    "lastschrift": PaymentMethod.SEPA_DIRECT_DEBIT,
    "invoice": PaymentMethod.INVOICE,
    "rechnung": PaymentMethod.INVOICE,
}

#: Largest answer read from the platform (its answers are a few hundred bytes of JSON).
MAX_ANSWER_BYTES = 64 * 1024


class PlatformError(Exception):
    """The platform could not be reached or gave an answer we cannot use."""


class PlatformUnavailable(SignatureError):
    """A notification could not be checked with the platform: answer 403, change nothing, let it come again."""


@dataclass(frozen=True)
class Client:
    """One municipality's access to pmPayment."""

    ags: str
    procedure: str
    secret: str = ""
    accounting_record: str = ""

    def __repr__(self) -> str:  # never show the salt in logs or tracebacks
        return f"Client(ags={self.ags!r}, procedure={self.procedure!r})"


# --- Configuration --------------------------------------------------------------------


def clients() -> dict[str, Client]:
    """``DIKOM_PMPAYMENT_CLIENTS`` parsed: AGS → Client. Raises ImproperlyConfigured on bad content."""
    raw = getattr(settings, "DIKOM_PMPAYMENT_CLIENTS", None)
    if not raw:
        return {}
    if isinstance(raw, str):
        try:
            raw = loads_limited(raw)
        except ValueError:
            raise ImproperlyConfigured("DIKOM_PMPAYMENT_CLIENTS is not valid JSON") from None
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured("DIKOM_PMPAYMENT_CLIENTS must be a JSON object keyed by AGS")
    result = {}
    for ags, entry in raw.items():
        if not isinstance(entry, Mapping):
            raise ImproperlyConfigured(f"DIKOM_PMPAYMENT_CLIENTS[{ags!r}] must be an object")
        procedure, secret = entry.get("procedure"), entry.get("secret")
        if not isinstance(procedure, str) or not procedure or not isinstance(secret, str) or not secret:
            raise ImproperlyConfigured(f"DIKOM_PMPAYMENT_CLIENTS[{ags!r}] needs a non-empty procedure and secret")
        record = entry.get("accounting_record", "")
        if not isinstance(record, str):
            raise ImproperlyConfigured(f"DIKOM_PMPAYMENT_CLIENTS[{ags!r}].accounting_record must be text")
        result[str(ags)] = Client(ags=str(ags), procedure=procedure, secret=secret, accounting_record=record)
    return result


def client_for(municipality: Municipality) -> Client | None:
    """The pmPayment access of this municipality, found by its AGS, or None."""
    if not municipality.ags:
        return None
    try:
        return clients().get(municipality.ags)
    except ImproperlyConfigured as error:
        logger.error("pmPayment configuration unusable: %s", error)
        return None


def base_url() -> str | None:
    """The configured platform URL without trailing slash; None when unset or unsafe (http in production)."""
    url = (getattr(settings, "DIKOM_PMPAYMENT_URL", None) or "").strip().rstrip("/")
    if not url:
        return None
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme != "https" and (scheme != "http" or getattr(settings, "IS_PRODUCTION", False)):
        return None
    return url


def timeout() -> float:
    return float(getattr(settings, "DIKOM_PMPAYMENT_TIMEOUT_SECONDS", 10))


def configuration_messages() -> list[CheckMessage]:
    """System check messages for an enabled pmpayment provider (used by ``payments.checks``)."""
    messages: list[CheckMessage] = []
    url = (getattr(settings, "DIKOM_PMPAYMENT_URL", None) or "").strip()
    scheme = urllib.parse.urlsplit(url).scheme
    if not url:
        messages.append(
            Error(
                "pmpayment is enabled but DIKOM_PMPAYMENT_URL is not set.",
                hint="Set it to the platform's base URL, e.g. https://payment.govconnect.de.",
                id="payments.E003",
            )
        )
    elif scheme not in {"http", "https"}:
        messages.append(Error("DIKOM_PMPAYMENT_URL must be an http(s) URL.", id="payments.E004"))
    elif scheme != "https" and getattr(settings, "IS_PRODUCTION", False):
        messages.append(
            Error(
                "DIKOM_PMPAYMENT_URL must use https in production.",
                hint="Payment data and the platform's status answers must not travel unencrypted.",
                id="payments.E004",
            )
        )
    try:
        configured = clients()
    except ImproperlyConfigured as error:
        messages.append(Error(str(error), id="payments.E005"))
    else:
        if not configured:
            messages.append(
                CheckWarning(
                    "pmpayment is enabled but DIKOM_PMPAYMENT_CLIENTS names no municipality.",
                    hint="No municipality can take payments through pmPayment until its AGS, procedure and salt are set.",
                    id="payments.W001",
                )
            )
    return messages


# --- What is sent and checked -----------------------------------------------------------


def sepa_text(text: str, max_length: int) -> str:
    """``text`` reduced to the SEPA character set (umlauts spelt out), single-spaced, cut to ``max_length``."""
    for letter, spelt in GERMAN_LETTERS.items():
        text = text.replace(letter, spelt)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = " ".join(NOT_SEPA.sub(" ", text).split())
    return text[:max_length].rstrip()


def description(payment: Payment) -> str:
    """The purpose text (desc): our reference first, as the city's cash office reconciles by it."""
    max_length = int(getattr(settings, "DIKOM_PMPAYMENT_DESCRIPTION_MAX_LENGTH", 27))
    return (
        sepa_text(f"{payment.reference} {payment.description}", max_length)
        or sepa_text(payment.description, max_length)
        or "dikom"
    )


def sign(secret: str, values: list[str]) -> str:
    """HMAC-SHA256 (hex) keyed with ``secret`` over ``values`` joined with ``|``."""
    return hmac.new(secret.encode("utf-8"), "|".join(values).encode("utf-8"), hashlib.sha256).hexdigest()


def start_fields(payment: Payment, request: HttpRequest, client: Client) -> dict[str, str]:
    """The fields of the start request, in hash order, with the hash last."""
    fields = {
        "ags": client.ags,
        "amount": str(payment.amount_cents),
        "procedure": client.procedure,
        "desc": description(payment),
    }
    if client.accounting_record:
        record = client.accounting_record.replace("{reference}", payment.reference)
        fields["accountingRecord"] = sepa_text(record, 200)
    fields["txid"] = str(payment.uuid)
    fields["notifyURL"] = request.build_absolute_uri(reverse("payments:notification", args=[KEY]))
    # The signed return link: it shows the outcome even where the session cookie does not come along.
    fields["redirectURL"] = return_url(payment, request)
    fields["hash"] = sign(client.secret, [fields[name] for name in REQUEST_FIELDS if name in fields])
    return fields


def verify_result(client: Client, data: Mapping[str, str]) -> None:
    """Raise SignatureError unless ``data['hash']`` is the HMAC of the result fields with this client's salt."""
    given = str(data.get("hash", "")).strip().lower()
    expected = sign(client.secret, [str(data.get(name, "")) for name in RESULT_FIELDS])
    if not given or not hmac.compare_digest(expected, given):
        raise SignatureError("bad hash")


def payment_method(name: str) -> str:
    """Our method for the platform's ``payment_method`` name; empty stays empty, unknown is "other"."""
    name = name.strip().lower()
    if not name:
        return ""
    return METHODS.get(name, PaymentMethod.OTHER)


def status_for(platform_status: str, method_name: str) -> str | None:
    """Our status for the platform's (1 paid, 0 not paid, -1 open); None while open or unknown.

    A "not paid" without a payment method means the citizen left the pay page
    (cancelled); with a method, the payment was tried and failed.
    """
    platform_status = platform_status.strip()
    if platform_status == PLATFORM_PAID:
        return PaymentStatus.PAID
    if platform_status == PLATFORM_NOT_PAID:
        return PaymentStatus.FAILED if method_name.strip() else PaymentStatus.CANCELLED
    return None


# --- Talking to the platform -------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The platform's API answers directly; a redirect is an error, not something to follow."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _call(url: str, form: Mapping[str, str] | None = None) -> dict[str, Any]:
    """GET (or POST ``form``) ``url`` and return the JSON object answered; PlatformError otherwise."""
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        raise PlatformError("not an http(s) URL")
    body = urllib.parse.urlencode(form).encode("ascii") if form is not None else None
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if form is not None else "GET")  # noqa: S310 - scheme checked above
    try:
        with _opener.open(request, timeout=timeout()) as response:
            raw = response.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as error:
        detail = error.read(512).decode("utf-8", "replace") if error.fp is not None else ""
        raise PlatformError(f"HTTP {error.code} {detail[:200]!r}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise PlatformError(f"unreachable: {error}") from None
    try:
        answer = loads_limited(raw.decode("utf-8"))
    except ValueError:
        raise PlatformError("answer is not JSON") from None
    if not isinstance(answer, dict):
        raise PlatformError("answer is not a JSON object")
    return answer


def query_status(client: Client, txid: str) -> dict[str, Any]:
    """The platform's status answer for ``txid`` (``{"status": 1|0|-1, ...}``); PlatformError otherwise."""
    url = base_url()
    if url is None:
        raise PlatformError("DIKOM_PMPAYMENT_URL is not usable")
    quote = urllib.parse.quote
    answer = _call(f"{url}/payment/status/{quote(client.ags, safe='')}/{quote(txid, safe='')}")
    if "status" not in answer:
        raise PlatformError("status answer without status")
    return answer


def _form_data(request: HttpRequest) -> dict[str, str]:
    """The posted fields as text (form-encoded as described; JSON accepted too)."""
    if request.content_type == "application/json":
        try:
            loaded = loads_limited(request.body or b"{}")
        except ValueError:
            raise SignatureError("unreadable notification") from None
        if not isinstance(loaded, dict):
            raise SignatureError("unreadable notification")
        return {str(key): "" if value is None else str(value) for key, value in loaded.items()}
    return {key: str(value) for key, value in request.POST.items()}


def _payment_for(txid: str) -> Payment | None:
    try:
        value = uuid.UUID(txid)
    except ValueError:
        return None
    return Payment.objects.select_related("municipality").filter(uuid=value, provider=KEY).first()


# --- The provider ---------------------------------------------------------------------------


class PmPaymentProvider(PaymentProvider):
    key = KEY
    label = _("pmPayment")
    methods = (
        PaymentMethod.GIROPAY,
        PaymentMethod.PAYDIREKT,
        PaymentMethod.CREDITCARD,
        PaymentMethod.PAYPAL,
        PaymentMethod.SEPA_DIRECT_DEBIT,
        PaymentMethod.INVOICE,
        PaymentMethod.OTHER,
    )

    def is_available(self) -> bool:
        return base_url() is not None

    def begin(self, payment: Payment, request: HttpRequest) -> HttpResponse:
        url = base_url()
        client = client_for(payment.municipality)
        if url is None or client is None:
            logger.error(
                "pmPayment: no access configured for %s (AGS %r); payment %s refused",
                payment.municipality,
                payment.municipality.ags,
                payment.uuid,
            )
            return self._refuse(payment, request, "not_configured", "pmPayment not configured for this municipality")
        try:
            answer = _call(f"{url}/payment/secure", start_fields(payment, request, client))
        except PlatformError as error:
            logger.error("pmPayment: starting payment %s failed: %s", payment.uuid, error)
            return self._refuse(payment, request, "unreachable", "pmPayment start failed")
        paypage = answer.get("url")
        if not isinstance(paypage, str) or not _acceptable_paypage(paypage, url):
            logger.error("pmPayment: start answer for %s has no usable pay page URL: %r", payment.uuid, paypage)
            return self._refuse(payment, request, "unreachable", "pmPayment answered without pay page")
        echoed = answer.get("txid")
        if echoed not in (None, "", str(payment.uuid)):
            # Notifications would name a transaction we cannot find: better not to start at all.
            logger.error("pmPayment: platform assigned its own txid %r to payment %s", echoed, payment.uuid)
            return self._refuse(payment, request, "unreachable", "pmPayment changed the transaction id")
        return HttpResponseRedirect(paypage)

    def handle_return(self, request: HttpRequest, payment: Payment) -> tuple[str, str] | None:
        if not getattr(settings, "DIKOM_PMPAYMENT_SIGNED_RETURN", True) or "hash" not in request.POST:
            return None
        client = client_for(payment.municipality)
        if client is None:
            raise SignatureError("no pmPayment access for this municipality")
        data = {key: str(value) for key, value in request.POST.items()}
        verify_result(client, data)
        if data.get("txid") != str(payment.uuid) or data.get("ags") != client.ags:
            raise SignatureError("signed for another payment")
        if data.get("amount") != str(payment.amount_cents):
            raise SignatureError("amount does not match")
        status = status_for(data.get("status", ""), data.get("payment_method", ""))
        if status is None:
            return None
        return status, payment_method(data.get("payment_method", ""))

    def handle_notification(self, request: HttpRequest) -> tuple[Payment, str, str]:
        data = _form_data(request)
        payment = _payment_for(data.get("txid", ""))
        if payment is None:
            raise SignatureError("unknown transaction")
        client = client_for(payment.municipality)
        if client is None:
            raise SignatureError("no pmPayment access for this municipality")
        if data.get("ags") != client.ags:
            raise SignatureError("ags does not match the transaction")
        if "hash" in data:
            verify_result(client, data)
            if data.get("amount") != str(payment.amount_cents):
                raise SignatureError("amount does not match")
        # The notification itself is not trusted: the platform's status answer is.
        try:
            answer = query_status(client, str(payment.uuid))
        except PlatformError as error:
            raise PlatformUnavailable(f"status query for {payment.uuid} failed: {error}") from None
        if "amount" in answer and str(answer["amount"]).strip() != str(payment.amount_cents):
            logger.error("pmPayment: status answer for %s names amount %r", payment.uuid, answer["amount"])
            raise SignatureError("amount does not match")
        method_name = str(answer.get("payment_method") or data.get("payment_method") or "")
        status = status_for(str(answer["status"]), method_name)
        if data.get("status") is not None and str(answer["status"]).strip() != data["status"].strip():
            logger.info(
                "pmPayment: notification for %s says status %r, the platform answers %r",
                payment.uuid,
                data["status"],
                answer["status"],
            )
        if status is None:
            return payment, PaymentStatus.PENDING, ""
        return payment, status, payment_method(method_name)

    def attempt_closed(self, payment: Payment) -> bool:
        """Closed only when the platform itself answers "not paid" (0) for this transaction.

        An open (-1) or unknown answer, or no answer at all, keeps the attempt
        open: a new attempt could otherwise be paid next to this one.
        """
        client = client_for(payment.municipality)
        if client is None:
            return False
        try:
            answer = query_status(client, str(payment.uuid))
        except PlatformError as error:
            logger.warning("pmPayment: status query for %s failed: %s", payment.uuid, error)
            return False
        return str(answer["status"]).strip() == PLATFORM_NOT_PAID

    def _refuse(self, payment: Payment, request: HttpRequest, reason: str, note: str) -> HttpResponse:
        """Close an attempt the platform never showed to the citizen, and say why."""
        # The pay page URL never reached the citizen, so nothing can be paid on this attempt.
        payment, _changed = actions.record_status(
            payment.pk, PaymentStatus.FAILED, source=EventSource.SYSTEM, note=note
        )
        status = 503 if reason == "not_configured" else 502
        return render(
            request, "payments/pmpayment_unavailable.html", {"payment": payment, "reason": reason}, status=status
        )


def _acceptable_paypage(paypage: str, platform_url: str) -> bool:
    """An absolute http(s) URL, and https whenever the platform itself is reached over https."""
    parts = urllib.parse.urlsplit(paypage)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return False
    return not (urllib.parse.urlsplit(platform_url).scheme == "https" and parts.scheme != "https")
