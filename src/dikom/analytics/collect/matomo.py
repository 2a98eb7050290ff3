"""Reading Matomo HTTP Tracking API requests.

Only what the mapping needs is kept: the site, the *path* of the page URL,
event category/action/name/value, custom dimensions, the visitor id (handed
to the analytics core as a per-visit id, which hashes it with the daily salt),
a coarse device class, and ``cdt`` for authenticated senders. ``uid``,
``cip``, ``ua``, ``urlref``, ``res``, the URL's host and query string and
everything else are never read into a ``MatomoRequest``.

Two values are derived from the whole request and kept only as keyed hashes:
``fingerprint`` (the request's parameters, so that a tracker's resend of the
same hit — ``matomo.js`` falls back from a failed XHR to an image request with
the same parameters — is stored once) and, for cookieless trackers (empty
``_id``), a per-day visitor key from the client's network and user agent,
which the core hashes once more with the daily salt (docs/privacy.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, unquote, urlsplit

from django.conf import settings

from dikom.analytics.models import DeviceClass

MAX_PARAMS = 200
MAX_VALUE_LENGTH = 2000
VISIT_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,100}")
DIMENSION_PATTERN = re.compile(r"dimension([1-9][0-9]{0,2})")
NON_PAGE_VIEW_PARAMS = ("e_c", "e_a", "link", "download", "c_n", "c_i", "search", "ca")
# A request carrying one of these nonces is idempotent: the tracker sends a new value with every new hit
# (matomo.js ``r``, the PHP and other official trackers ``rand``), and the same value when it resends one.
NONCE_PARAMS = ("r", "rand")
# Parameters a resend may change without being another hit (matomo.js sets send_image=1 for its image fallback).
NOT_IN_FINGERPRINT = frozenset({"send_image", "token_auth"})
# Client hint form factors (``uadata``, https://wicg.github.io/ua-client-hints/#sec-ch-ua-form-factors).
FORM_FACTORS = {
    "tablet": DeviceClass.TABLET.value,
    "mobile": DeviceClass.MOBILE.value,
    "desktop": DeviceClass.DESKTOP.value,
}


def parse_query(text: str) -> dict[str, str]:
    """A Matomo query string (with or without leading ``?`` or path) as a flat dict; the last value wins."""
    if "?" in text:
        text = text.split("?", 1)[1]
    pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_PARAMS)
    return dict(pairs)


TABLET_UA = re.compile(
    r"iPad|Tablet|PlayBook|Kindle|Silk/|Nexus (7|9|10)\b|SM-[TPX]\d|GT-P\d|Lenovo Tab|MediaPad|Tab[ _]?[A-Z]?\d"
)


def form_factor(uadata: str) -> str:
    """The device class named by User-Agent Client Hints (``uadata``, JSON) or ""; only form factors are read."""
    if not uadata or len(uadata) > MAX_VALUE_LENGTH:
        return ""
    try:
        hints = json.loads(uadata)
    except ValueError:
        return ""
    if not isinstance(hints, dict):
        return ""
    factors = hints.get("formFactors")
    if isinstance(factors, list):
        names = {str(name).lower() for name in factors if isinstance(name, str)}
        for name, value in FORM_FACTORS.items():  # tablet before mobile: a tablet may name both
            if name in names:
                return value
    if hints.get("mobile") is True:
        return DeviceClass.MOBILE.value
    return ""


def device_class(user_agent: str, uadata: str = "") -> str:
    """A coarse class from client hints or a user agent; both are dropped right after.

    Client hints' form factors win. Android devices without "Mobile" in their
    user agent are tablets (Google's rule for Android browsers); iPads since
    iPadOS 13 present a desktop user agent and are counted as desktops unless
    client hints say otherwise.
    """
    hinted = form_factor(uadata)
    if hinted:
        return hinted
    if not user_agent:
        return ""
    ua = user_agent[:500]
    if TABLET_UA.search(ua):
        return DeviceClass.TABLET.value
    if "Android" in ua and "Mobi" not in ua:
        return DeviceClass.TABLET.value
    if re.search(r"Mobi|iPhone|iPod|Android|Windows Phone", ua):
        return DeviceClass.MOBILE.value
    return DeviceClass.DESKTOP.value


def _keyed_hash(purpose: str, text: str) -> str:
    key = hashlib.sha256(f"dikom-matomo-{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def fingerprint(params: Mapping[str, str]) -> str:
    """A keyed hash of a request's parameters when it carries a nonce (``r``/``rand``), else "".

    The same hit sent twice (a resend) has the same fingerprint; two hits differ
    at least in their nonce. Requests without a nonce are not deduplicated: a
    server-side sender may well send the same request twice on purpose.
    """
    if not any(params.get(name) for name in NONCE_PARAMS):
        return ""
    canonical = "&".join(
        f"{name}={params[name]}" for name in sorted(params) if name not in NOT_IN_FINGERPRINT and params[name] != ""
    )
    return _keyed_hash("request", canonical)


def cookieless_visitor(network: str, user_agent: str, idsite: int | None, day: str) -> str:
    """A visitor key for trackers without a visitor id (``disableCookies``): the same client network, user agent
    and site on one day give the same key. Handed to the core like a visit id (which stores only its salted daily
    hash); the network and user agent themselves are never stored."""
    return "cl-" + _keyed_hash("cookieless", f"{day}|{idsite}|{network}|{user_agent[:500]}")


def _path(url: str) -> str:
    """The path of a page URL (percent-decoded), without host, query string and fragment."""
    if not url:
        return ""
    try:
        path = urlsplit(url[:MAX_VALUE_LENGTH]).path
    except ValueError:
        return ""
    return unquote(path) or "/"


ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?")


def _timestamp(value: str) -> datetime | None:
    """``cdt``: a UNIX timestamp, ``YYYY-MM-DD HH:MM:SS`` in UTC (as Matomo reads it) or ISO 8601 with or without
    an offset (without one: UTC, like Matomo's own format)."""
    if not value:
        return None
    value = value.strip()
    try:
        if re.fullmatch(r"\d{9,11}(\.\d+)?", value):
            return datetime.fromtimestamp(float(value), tz=UTC)
        if not ISO_8601.fullmatch(value):
            return None
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class MatomoRequest:
    idsite: int | None
    rec: bool
    path: str = ""
    event_category: str = ""
    event_action: str = ""
    event_name: str = ""
    event_value: str = ""
    dimensions: dict[int, str] = field(default_factory=dict)
    visit_id: str = ""
    device_class: str = ""
    custom_time: datetime | None = None
    custom_time_given: bool = False
    token_auth: str = ""
    send_image: bool = True
    ping: bool = False
    is_page_view: bool = True
    fingerprint: str = ""
    cookieless: bool = False

    @property
    def rating(self) -> int | None:
        value = self.event_value.strip()
        if re.fullmatch(r"[1-5](\.0+)?", value):
            return int(float(value))
        return None

    @classmethod
    def from_params(
        cls, params: Mapping[str, str], *, header_user_agent: str = "", network: str = "", day: str = ""
    ) -> MatomoRequest:
        """Read ``params``; ``network`` (the client's network, already reduced) and ``day`` give cookieless
        requests their visitor key."""

        def get(name: str) -> str:
            value = params.get(name, "")
            return value[:MAX_VALUE_LENGTH] if isinstance(value, str) else str(value)[:MAX_VALUE_LENGTH]

        idsite_text = get("idsite").strip()
        idsite = int(idsite_text) if idsite_text.isdigit() and len(idsite_text) <= 9 else None
        dimensions: dict[int, str] = {}
        for name in params:
            match = DIMENSION_PATTERN.fullmatch(name)
            if match:
                dimensions[int(match.group(1))] = get(name)
        # cid (set by a server-side sender) overrides the tracker's _id, as in Matomo; very old trackers sent id.
        visit = get("cid") or get("_id") or get("id")
        visit = visit if VISIT_ID_PATTERN.fullmatch(visit) else ""
        user_agent = get("ua") or header_user_agent
        cookieless = not visit and bool(network)
        if cookieless:
            visit = cookieless_visitor(network, user_agent, idsite, day)
        cdt = get("cdt")
        return cls(
            idsite=idsite,
            rec=get("rec") == "1",
            path=_path(get("url")),
            event_category=get("e_c"),
            event_action=get("e_a"),
            event_name=get("e_n"),
            event_value=get("e_v"),
            dimensions=dimensions,
            visit_id=visit,
            device_class=device_class(user_agent, get("uadata")),
            custom_time=_timestamp(cdt),
            custom_time_given=bool(cdt),
            token_auth=get("token_auth"),
            send_image=get("send_image") != "0",
            ping=get("ping") == "1",
            is_page_view=not any(get(name) for name in NON_PAGE_VIEW_PARAMS) and get("ping") != "1",
            fingerprint=fingerprint({str(k): get(str(k)) for k in params}),
            cookieless=cookieless,
        )
