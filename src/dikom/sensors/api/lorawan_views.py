"""Webhooks for LoRaWAN network servers: ``POST /sta/lorawan/<city>/tts`` and ``…/chirpstack``.

Authenticated like STA writes (``Authorization: Api-Key <key>`` or ``Bearer <key>``, scope
``sensors:write``), with a key of the city in the address. Answers: 201 with the created
Observation ids, 200 for a retried uplink already stored, 204 for other message types (joins,
acks, status), problem+json 400 (malformed), 401/403 (key), 404 (unknown city or device),
409 (the device's mapping is incomplete), 413 (body too large).
"""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dikom.municipalities.models import Municipality
from dikom.sensors import lorawan
from dikom.sensors.access import NotAllowed, NotAuthenticated, writer_for_request
from dikom.sensors.api.views import _error


def _problem(status: int, message: str) -> JsonResponse:
    if status == 413:
        body = {"type": "about:blank", "title": "Content Too Large", "status": 413, "detail": message}
        return JsonResponse(body, status=413, content_type="application/problem+json")
    return _error(status, message)


@csrf_exempt
@require_POST
def uplink(request: HttpRequest, city: str, stack: str) -> HttpResponse:
    municipality = Municipality.objects.filter(slug=city).first()
    if municipality is None:
        return _problem(404, f"No city {city!r}")
    try:
        writer = writer_for_request(request)
    except NotAuthenticated:
        return _problem(401, "An API key with the scope sensors:write is required (Authorization: Api-Key <key>)")
    except NotAllowed:
        return _problem(403, "The API key lacks the scope sensors:write")
    if writer.municipality.pk != municipality.pk:
        return _problem(403, "The API key belongs to another city")
    if len(request.body) > lorawan.MAX_BODY:
        return _problem(413, f"The message is larger than {lorawan.MAX_BODY} bytes")
    try:
        body: Any = orjson.loads(request.body)
    except orjson.JSONDecodeError as exc:
        return _problem(400, f"The body is not JSON: {exc}")
    try:
        if stack == "tts":
            message = lorawan.parse_tts(body)
        else:
            message = lorawan.parse_chirpstack(body, request.GET.get("event"))
    except lorawan.Ignored:
        return HttpResponse(status=204)
    except lorawan.UplinkError as exc:
        return _problem(exc.status, exc.message)
    stored = lorawan.receive(municipality, message, stack)
    if stored.held is not None:
        held = {"devEui": message.dev_eui, "held": True, "reason": stored.reason, "created": []}
        return JsonResponse(held, status=202)
    answer = {
        "devEui": message.dev_eui,
        "created": stored.created,
        "duplicate": stored.duplicate,
        "unmappedFields": stored.unmapped,
    }
    return JsonResponse(answer, status=200 if stored.duplicate else 201)
