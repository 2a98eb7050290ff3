"""TEST DOUBLE: a local stand-in of the pmPayment interface, for tests only.

This is NOT pmPayment and NOT code of its operator. It imitates the protocol as
it is publicly visible (see docs/payments-pmpayment.md, "Sources") so that the
adapter in ``dikom.payments.contrib.pmpayment`` can be tested over real HTTP on
127.0.0.1, without network:

- ``POST /payment/secure`` (form): checks the mandatory fields, the SEPA
  character set and length of ``desc`` and the HMAC-SHA256 ``hash`` over the
  values sent (``ags|amount|procedure|desc|accountingRecord|txid|notifyURL|redirectURL``,
  fields not sent left out), keyed with the municipality's salt; answers JSON
  ``{"url": <pay page>, "txid": <txid>}`` or HTTP 400 ``{"Error": ...}``.
- ``GET /payment/status/<ags>/<txid>``: ``{"status": 1|0|-1, "timestamp": ...}``,
  404 for an unknown transaction.
- ``GET /paypage/<txid>``: a minimal pay page (for a human looking at it).

Commands for tests (Python, not HTTP): ``finish(txid, status, method)`` sets the
outcome as the citizen's actions on the pay page would; ``send_notification``
posts the notification to the ``notifyURL`` over real HTTP;
``notification_fields`` / ``return_fields`` give the fields the platform sends
to ``notifyURL`` and (signed) back with the citizen to ``redirectURL``.

Where the public material is silent (e.g. whether notifications carry a hash)
the stand-in follows the public observation and makes the other case
switchable, so both are tested.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REQUEST_FIELDS = ("ags", "amount", "procedure", "desc", "accountingRecord", "txid", "notifyURL", "redirectURL")
RESULT_FIELDS = ("ags", "txid", "amount", "desc", "status", "payment_method", "created_at")
SEPA_TEXT = re.compile(r"[A-Za-z0-9/?:().,'+\- ]+")


def hmac_hex(secret: str, values: list[str]) -> str:
    return hmac.new(secret.encode(), "|".join(values).encode(), hashlib.sha256).hexdigest()


@dataclass
class Transaction:
    ags: str
    txid: str
    amount: str
    procedure: str
    desc: str
    notify_url: str
    redirect_url: str
    accounting_record: str = ""
    status: int = -1
    payment_method: str = ""
    created_at: str = "2026-03-02 10:15:00"
    notifications: list[int] = field(default_factory=list)


class PmPaymentStandIn:
    """The stand-in platform: ``with PmPaymentStandIn({"06631009": ("procedure", "salt")}) as platform: ...``."""

    def __init__(
        self,
        clients: dict[str, tuple[str, str]],
        *,
        desc_max_length: int = 27,
        sign_notifications: bool = False,
    ) -> None:
        self.clients = clients
        self.desc_max_length = desc_max_length
        #: The public material says notifications carry no hash; tests switch this on to cover both.
        self.sign_notifications = sign_notifications
        self.transactions: dict[str, Transaction] = {}
        self.start_requests: list[dict[str, str]] = []
        self.status_queries: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.platform = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> PmPaymentStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    # --- commands for tests ---------------------------------------------------------

    def finish(self, txid: str, status: int, method: str = "") -> Transaction:
        """Set the outcome: 1 paid, 0 not paid (no method: the citizen cancelled), -1 open."""
        with self._lock:
            transaction = self.transactions[txid]
            transaction.status = status
            transaction.payment_method = method
            return transaction

    def _result(self, txid: str) -> dict[str, str]:
        t = self.transactions[txid]
        return {
            "ags": t.ags,
            "txid": t.txid,
            "amount": t.amount,
            "desc": t.desc,
            "status": str(t.status),
            "payment_method": t.payment_method,
            "created_at": t.created_at,
        }

    def _salt(self, ags: str) -> str:
        return self.clients[ags][1]

    def notification_fields(self, txid: str, *, signed: bool | None = None) -> dict[str, str]:
        """What the platform posts to notifyURL (with a hash only when signing is on)."""
        t = self.transactions[txid]
        fields = {**self._result(txid), "procedure": t.procedure}
        if self.sign_notifications if signed is None else signed:
            fields["hash"] = hmac_hex(self._salt(t.ags), [fields[name] for name in RESULT_FIELDS])
        return fields

    def return_fields(self, txid: str) -> dict[str, str]:
        """What the platform's page posts back with the citizen to redirectURL (always signed)."""
        fields = self._result(txid)
        fields["hash"] = hmac_hex(self._salt(fields["ags"]), [fields[name] for name in RESULT_FIELDS])
        return fields

    def return_path(self, txid: str) -> str:
        """Where the citizen's browser is sent back: redirectURL without scheme and host (its query kept)."""
        parts = urllib.parse.urlsplit(self.transactions[txid].redirect_url)
        return f"{parts.path}?{parts.query}" if parts.query else parts.path

    def send_notification(self, txid: str, *, signed: bool | None = None) -> int:
        """POST the notification to the transaction's notifyURL over HTTP; returns the HTTP status."""
        transaction = self.transactions[txid]
        body = urllib.parse.urlencode(self.notification_fields(txid, signed=signed)).encode()
        request = urllib.request.Request(transaction.notify_url, data=body, method="POST")  # noqa: S310 - loopback test URL
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback test URL
                code = int(response.status)
        except urllib.error.HTTPError as error:
            code = error.code
        transaction.notifications.append(code)
        return code

    # --- the protocol ---------------------------------------------------------------

    def start(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.start_requests.append(form)
            missing = [name for name in ("ags", "amount", "procedure", "desc", "hash") if not form.get(name)]
            if missing:
                return 400, {"Error": f"missing {', '.join(missing)}"}
            client = self.clients.get(form["ags"])
            if client is None:
                return 400, {"Error": "unknown ags"}
            procedure, salt = client
            if form["procedure"] != procedure:
                return 400, {"Error": "unknown procedure"}
            if not form["amount"].isdigit() or int(form["amount"]) <= 0:
                return 400, {"Error": "amount must be whole cents"}
            desc = form["desc"]
            if len(desc) > self.desc_max_length or not SEPA_TEXT.fullmatch(desc):
                return 400, {"Error": "desc must be SEPA text"}
            expected = hmac_hex(salt, [form[name] for name in REQUEST_FIELDS if name in form])
            if not hmac.compare_digest(expected, form["hash"]):
                return 400, {"Error": "hash mismatch"}
            txid = form.get("txid") or uuid.uuid4().hex
            if txid in self.transactions:
                return 400, {"Error": "txid already used"}
            self.transactions[txid] = Transaction(
                ags=form["ags"],
                txid=txid,
                amount=form["amount"],
                procedure=procedure,
                desc=desc,
                notify_url=form.get("notifyURL", ""),
                redirect_url=form.get("redirectURL", ""),
                accounting_record=form.get("accountingRecord", ""),
            )
            return 200, {"url": f"{self.url}/paypage/{urllib.parse.quote(txid)}", "txid": txid}

    def status(self, ags: str, txid: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.status_queries.append(txid)
            transaction = self.transactions.get(txid)
            if transaction is None or transaction.ags != ags:
                return 404, {"Error": "unknown transaction"}
            return 200, {"status": transaction.status, "timestamp": transaction.created_at}


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    @property
    def platform(self) -> PmPaymentStandIn:
        return self.server.platform  # type: ignore[attr-defined, no-any-return]

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _json(self, code: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        if self.path != "/payment/secure":
            self._json(404, {"Error": "not found"})
            return
        form = {key: values[-1] for key, values in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
        self._json(*self.platform.start(form))

    def do_GET(self) -> None:
        parts = [urllib.parse.unquote(part) for part in urllib.parse.urlsplit(self.path).path.split("/") if part]
        if len(parts) == 4 and parts[:2] == ["payment", "status"]:
            self._json(*self.platform.status(parts[2], parts[3]))
            return
        if len(parts) == 2 and parts[0] == "paypage" and parts[1] in self.platform.transactions:
            t = self.platform.transactions[parts[1]]
            body = (
                "<!doctype html><title>pmPayment stand-in</title>"
                f"<h1>Test double of pmPayment</h1><p>{html.escape(t.desc)}: {int(t.amount) / 100:.2f} EUR</p>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self._json(404, {"Error": "not found"})
