"""Reading Matomo HTTP Tracking API requests.

Only what the mapping needs is kept: the site, the *path* of the page URL,
event category/action/name/value, custom dimensions, the visitor id (handed
to the analytics core as a per-visit id, which hashes it with the daily salt),
a coarse device class, and ``cdt`` for authenticated senders. ``uid``,
``cip``, ``ua``, ``urlref``, ``res``, the URL's host and query string and
everything else are never read into a ``MatomoRequest``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, unquote, urlsplit

from dikom.analytics.models import DeviceClass

MAX_PARAMS = 200
MAX_VALUE_LENGTH = 2000
VISIT_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,100}")
DIMENSION_PATTERN = re.compile(r"dimension([1-9][0-9]{0,2})")
NON_PAGE_VIEW_PARAMS = ("e_c", "e_a", "link", "download", "c_n", "c_i", "search", "ca")


def parse_query(text: str) -> dict[str, str]:
    """A Matomo query string (with or without leading ``?`` or path) as a flat dict; the last value wins."""
    if "?" in text:
        text = text.split("?", 1)[1]
    pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_PARAMS)
    return dict(pairs)


def device_class(user_agent: str) -> str:
    """A coarse class from a user agent; the user agent itself is dropped right after."""
    if not user_agent:
        return ""
    ua = user_agent[:500]
    if re.search(r"iPad|Tablet|Nexus (7|9|10)|SM-T\d", ua):
        return DeviceClass.TABLET.value
    if re.search(r"Mobi|iPhone|Android", ua):
        return DeviceClass.MOBILE.value
    return DeviceClass.DESKTOP.value


def _path(url: str) -> str:
    """The path of a page URL (percent-decoded), without host, query string and fragment."""
    if not url:
        return ""
    try:
        path = urlsplit(url[:MAX_VALUE_LENGTH]).path
    except ValueError:
        return ""
    return unquote(path) or "/"


def _timestamp(value: str) -> datetime | None:
    """``cdt``: a UNIX timestamp or ``YYYY-MM-DD HH:MM:SS`` in UTC, as Matomo reads it."""
    if not value:
        return None
    try:
        if re.fullmatch(r"\d{9,11}(\.\d+)?", value):
            return datetime.fromtimestamp(float(value), tz=UTC)
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


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

    @property
    def rating(self) -> int | None:
        value = self.event_value.strip()
        if re.fullmatch(r"[1-5](\.0+)?", value):
            return int(float(value))
        return None

    @classmethod
    def from_params(cls, params: Mapping[str, str], *, header_user_agent: str = "") -> MatomoRequest:
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
        # cid (set by a server-side sender) overrides the tracker's _id, as in Matomo.
        visit = get("cid") or get("_id")
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
            visit_id=visit if VISIT_ID_PATTERN.fullmatch(visit) else "",
            device_class=device_class(get("ua") or header_user_agent),
            custom_time=_timestamp(cdt),
            custom_time_given=bool(cdt),
            token_auth=get("token_auth"),
            send_image=get("send_image") != "0",
            ping=get("ping") == "1",
            is_page_view=not any(get(name) for name in NON_PAGE_VIEW_PARAMS) and get("ping") != "1",
        )
