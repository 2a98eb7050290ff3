"""Public collection endpoints outside the REST API: ``/matomo.php`` and the JavaScript file.

``/matomo.php`` speaks Matomo's HTTP Tracking API so that forms already
instrumented for Matomo feed dikom unchanged. It answers like Matomo: a 1×1
GIF (204 with ``send_image=0``) for single requests, ``{"status": "success",
"tracked", "invalid", "invalid_indices"}`` for bulk requests. Errors are
problem+json. Nothing from the request beyond the mapped values is stored or
logged.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt

from dikom.accounts.service import authenticate_api_key
from dikom.analytics.collect import actions, budget, origins
from dikom.analytics.collect.access import key_may_ingest_for
from dikom.analytics.collect.matomo import MatomoRequest, parse_query
from dikom.analytics.collect.models import CollectionSite
from dikom.api.problems import problem_response
from dikom.lib.clients import client_network
from dikom.lib.jsonparse import loads_limited

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
REFUSED = "refused"  # a bulk item over the budget: not tracked, may be sent again later
SCRIPT_PATH = Path(__file__).resolve().parent / "static" / "dikom" / "analytics" / "collect.js"


def _cors(response: HttpResponse, request: HttpRequest, allowed: bool) -> HttpResponse:
    """Tracking answers may be read by other origins only when the request's origin is allowed.

    ``matomo.js`` sends its XHRs with credentials; a browser hands such an answer
    to the page only with ``Access-Control-Allow-Credentials: true`` and the
    echoed origin (never ``*``). Without them the tracker sees a failed request
    and sends the hit again as an image request.
    """
    response["Vary"] = "Origin"
    origin = request.headers.get("Origin")
    if allowed and origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
    # The GIF is loaded as an image by pages of other origins.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["Cache-Control"] = "no-store"
    return response


def _problem(request: HttpRequest, status: int, detail: str, type_: str, **extra: Any) -> HttpResponse:
    response = problem_response(status, detail, type_, **extra)
    if status == 429:
        response["Retry-After"] = str(extra.get("retry_after", 1))
    return _cors(response, request, allowed=False)


def _decode_items(request: HttpRequest) -> tuple[list[dict[str, str] | None], bool, str] | HttpResponse:
    """(params per request — None for a malformed bulk item —, whether bulk, bulk token) or an error answer."""
    try:
        body = request.body if request.method == "POST" else b""
    except RequestDataTooBig:
        return _problem(
            request, 413, gettext("The request body is larger than this server accepts."), "content-too-large"
        )
    query = {key: request.GET[key] for key in request.GET}
    text = body.decode("utf-8", "replace").strip()
    if not text.startswith("{"):
        params = dict(query)
        if text:
            try:
                params.update(parse_query(text))
            except ValueError:
                return _problem(request, 400, gettext("Too many parameters."), "malformed-request")
        return [params], False, ""
    try:
        data = loads_limited(text)
    except ValueError:
        return _problem(request, 400, gettext("The body is not valid JSON."), "malformed-request")
    requests = data.get("requests") if isinstance(data, dict) else None
    if not isinstance(requests, list) or not requests:
        return _problem(
            request, 400, gettext('A bulk request is an object {"requests": ["?idsite=…", …]}.'), "malformed-request"
        )
    limit = settings.DIKOM_ANALYTICS_MAX_BATCH
    if len(requests) > limit:
        return _problem(
            request, 413, gettext("A bulk request may hold at most %(n)d requests.") % {"n": limit}, "content-too-large"
        )
    items: list[dict[str, str] | None] = []
    for item in requests:
        if isinstance(item, str):
            try:
                items.append(parse_query(item))
            except ValueError:
                items.append(None)
        elif isinstance(item, dict) and all(isinstance(v, str | int | float) for v in item.values()):
            items.append({str(k): str(v) for k, v in item.items()})
        else:
            items.append(None)
    token = data.get("token_auth") or ""
    return items, True, token if isinstance(token, str) else ""


def _apply_budget(
    request: HttpRequest, resolved: list[tuple[CollectionSite | None, MatomoRequest | None]]
) -> tuple[list[int], int]:
    """Indices of the hits refused by the client's and the sites' budgets, and seconds until more fit.

    Per site, the first hits that fit are taken; the rest of that site's hits are refused.
    Hits for unknown or disabled sites cost nothing (they are invalid anyway).
    """
    by_site: dict[int, tuple[CollectionSite, list[int]]] = {}
    for index, (target, _r) in enumerate(resolved):
        if target is not None and target.enabled:
            by_site.setdefault(target.pk, (target, []))[1].append(index)
    refused: list[int] = []
    retry_after = 0
    for site, indices in by_site.values():
        grant = budget.grant_for_site(request, site.site_id, len(indices))
        if grant.allowed < len(indices):
            refused.extend(indices[grant.allowed :])
            retry_after = max(retry_after, grant.retry_after)
    return sorted(refused), retry_after


def _sites(ids: Iterable[int]) -> dict[int, CollectionSite]:
    sites = CollectionSite.objects.filter(matomo_idsite__in=set(ids)).select_related("municipality")
    return {site.matomo_idsite: site for site in sites.prefetch_related("rules") if site.matomo_idsite}


def _preflight_allowed(request: HttpRequest) -> bool:
    """Whether a preflight's origin may send: to the site named by ``idsite`` in the address if there is one,
    else to any enabled site (the body, which names the site, is not part of a preflight)."""
    sites = CollectionSite.objects.filter(enabled=True, matomo_idsite__isnull=False)
    idsite = request.GET.get("idsite", "")
    if idsite.isdigit() and len(idsite) <= 9:
        sites = sites.filter(matomo_idsite=int(idsite))
    own = origins.origin_allowed([], request)
    if own:
        return sites.exists()
    present, origin = origins.request_origin(request)
    if not present or origin is None:
        return False
    return any(origin in site.allowed_origins for site in sites.only("allowed_origins"))


def _reason(site: CollectionSite | None, single: MatomoRequest | None, status: str) -> str:
    """Why a request was not tracked, in the user's language."""
    if status == REFUSED:
        return gettext("Rate limit: not tracked, send it again later.")
    if single is None:
        return gettext("The item is not a query string or an object of parameters.")
    if single.idsite is None:
        return gettext("The request names no site (idsite).")
    if site is None or not site.enabled:
        return gettext("Unknown or disabled site %(idsite)s.") % {"idsite": single.idsite}
    if not single.rec:
        return gettext("The request is not meant for tracking (rec=1 is missing).")
    if status == actions.UNMATCHED:
        return gettext("No rule of the site matches this request.")
    return gettext("The mapped events are invalid.")


@csrf_exempt
def matomo_tracking(request: HttpRequest) -> HttpResponse:
    """Matomo HTTP Tracking API: GET or POST single requests, POST ``{"requests": [...]}`` bulk."""
    if request.method == "OPTIONS":
        # A preflight (application/json bulk bodies, XHRs with credentials): only for allowed origins.
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "86400"
        return _cors(response, request, allowed=_preflight_allowed(request))
    if request.method not in {"GET", "POST", "HEAD"}:
        response = _problem(request, 405, gettext("Use GET or POST."), "method-not-allowed")
        response["Allow"] = "GET, HEAD, POST, OPTIONS"
        return response
    decoded = _decode_items(request)
    if isinstance(decoded, HttpResponse):
        return decoded
    items, bulk, token = decoded
    header_ua = request.headers.get("User-Agent", "")
    # Cookieless browser trackers get a per-day visitor key from network and user agent; senders with an API key
    # are servers (their network says nothing about a visitor), so their requests without visitor id stay unlinked.
    anonymous = not token and not any(p and p.get("token_auth") for p in items)
    network = client_network(request) if anonymous else ""
    day = actions.local_today().isoformat()
    parsed = [
        MatomoRequest.from_params(p, header_user_agent=header_ua, network=network, day=day) if p is not None else None
        for p in items
    ]
    tokens = {r.token_auth for r in parsed if r is not None and r.token_auth} | ({token} if token else set())
    if len(tokens) > 1:
        return _problem(
            request, 400, gettext("All requests of a bulk must use the same token_auth."), "malformed-request"
        )
    sites = _sites(r.idsite for r in parsed if r is not None and r.idsite is not None)
    resolved = [(sites.get(r.idsite) if r is not None and r.idsite is not None else None, r) for r in parsed]
    involved = {site.pk: site for site, _r in resolved if site is not None and site.enabled}

    api_key = None
    if tokens:
        api_key = authenticate_api_key(next(iter(tokens)))
        if api_key is None:
            return _problem(request, 401, gettext("Unknown, revoked or expired API key."), "authentication-failed")
        for site in involved.values():
            if not key_may_ingest_for(api_key, site.municipality_id):
                return _problem(
                    request,
                    403,
                    gettext(
                        "This API key may not send usage data for this site: it belongs to another municipality "
                        "or lacks the scope “analytics:ingest”."
                    ),
                    "forbidden",
                )
        grant = budget.grant_for_key(api_key.prefix)
        if not grant.allowed:
            return _problem(request, 429, gettext("Too many requests."), "rate-limited", retry_after=grant.retry_after)
        refused: list[int] = []
        retry_after = 0
    else:
        for site in involved.values():
            if not origins.origin_allowed(site.allowed_origins, request, require=site.require_origin):
                return _problem(
                    request, 403, gettext("This origin may not send usage data for this site."), "forbidden"
                )
        refused, retry_after = _apply_budget(request, resolved)
        if refused and len(refused) == sum(1 for target, _r in resolved if target is not None and target.enabled):
            return _problem(request, 429, gettext("Too many requests."), "rate-limited", retry_after=retry_after)

    refused_set = set(refused)
    kept = [index for index in range(len(resolved)) if index not in refused_set]
    partial = actions.track_matomo(
        [resolved[index] for index in kept],
        trusted=api_key is not None,
        api_key_prefix=api_key.prefix if api_key is not None else "",
    )
    statuses = [REFUSED] * len(resolved)
    for position, index in enumerate(kept):
        statuses[index] = partial.statuses[position]
    errors: list[list[dict[str, Any]]] = [[] for _ in resolved]
    for position, index in enumerate(kept):
        errors[index] = partial.errors[position]
    cors_ok = bool(involved)
    if bulk:
        invalid = [i for i, status in enumerate(statuses) if status not in (actions.TRACKED, REFUSED)]
        unmatched = [i for i, status in enumerate(statuses) if status == actions.UNMATCHED]
        body: dict[str, Any] = {
            "status": "success",
            "tracked": len(statuses) - len(invalid) - len(refused),
            "invalid": len(invalid),
            "invalid_indices": invalid,
            "unmatched": len(unmatched),
            "unmatched_indices": unmatched,
            # Per item not tracked: why (Matomo's own answer has only the indices).
            "errors": [
                {
                    "index": index,
                    "reason": _reason(resolved[index][0], resolved[index][1], statuses[index]),
                    "errors": errors[index],
                }
                for index, status in enumerate(statuses)
                if status != actions.TRACKED
            ],
        }
        response = JsonResponse(body)
        if refused:
            # Matomo clients read only the fields above; the rest tell a sender what to send again and when.
            body.update(
                refused=len(refused),
                refused_indices=refused,
                retry_after=retry_after,
                detail=gettext(
                    "Rate limit: %(n)d requests of this bulk were not tracked; send them again after %(s)d seconds."
                )
                % {"n": len(refused), "s": retry_after},
            )
            response = JsonResponse(body)
            response["Retry-After"] = str(retry_after)
        return _cors(response, request, cors_ok)
    status = statuses[0]
    if status == actions.INVALID:
        first_site, single = resolved[0]
        detail = _reason(first_site, single, status)
        return _problem(request, 400, detail, "invalid-tracking-request", errors=errors[0])
    if parsed[0] is not None and not parsed[0].send_image:
        return _cors(HttpResponse(status=204), request, cors_ok)
    return _cors(HttpResponse(GIF, content_type="image/gif"), request, cors_ok)


@cache
def _script() -> bytes:
    return SCRIPT_PATH.read_bytes()


def collector_script(request: HttpRequest) -> HttpResponse:
    """``collect.js`` for pages of other origins.

    Served here rather than from ``/static/``: static files carry
    ``Cross-Origin-Resource-Policy: same-origin``, which would stop form
    systems on other hosts from loading the script.
    """
    response = HttpResponse(_script(), content_type="text/javascript; charset=utf-8")
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["Cache-Control"] = "public, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
