"""The demo form of Gießen's bulky-waste service, instrumented with the JavaScript snippet (DEMO only).

It stands for a city's form system on another server: its pages load
``collect.js`` with the demo collection site (``collect/demo.py``) and send the
start, the three steps, an abort, the submission and a rating, declared with
``data-dikom-event`` attributes, without a line of JavaScript of their own. The
visit id is random per application and travels from page to page in the
address (``?besuch=``), as a form system would keep it server-side: no cookie,
no browser storage. The fields have no ``name``, so nothing entered leaves the
browser. Only where ``DIKOM_DEMO`` is on and the demo site exists; else 404.
"""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from dikom.analytics.collect import demo
from dikom.analytics.collect.models import CollectionSite

# The form's pages: the steps of the demo site (key, position) with their titles.
TITLES = {"adresse": "Abholadresse", "gegenstaende": "Gegenstände", "termin": "Wunschtermin"}
STEPS = tuple((key, position, TITLES[key]) for key, position in demo.STEPS)
VISIT = re.compile(r"[0-9a-f]{32}")


def _site() -> CollectionSite:
    if not settings.DIKOM_DEMO:
        raise Http404
    site = CollectionSite.objects.filter(
        municipality__slug=demo.CITY, municipality__is_demo=True, name=demo.NAME, enabled=True
    ).first()
    if site is None:
        raise Http404
    return site


def _visit(request: HttpRequest) -> str:
    visit = request.GET.get("besuch", "")
    return visit if VISIT.fullmatch(visit) else secrets.token_hex(16)


@require_safe
def form_page(request: HttpRequest, step: str = "") -> HttpResponse:
    site = _site()
    index = next((i for i, (key, _position, _title) in enumerate(STEPS) if key == step), None)
    if step and index is None and step != "fertig":
        raise Http404
    current = STEPS[index] if index is not None else None
    following = STEPS[index + 1] if index is not None and index + 1 < len(STEPS) else None
    return render(
        request,
        "analytics_collect/demo_form.html",
        {
            "site": site,
            "service": demo.SERVICE,
            "visit": _visit(request),
            "steps": STEPS,
            "step": current,
            "next_step": following,
            "done": step == "fertig",
            "rated": request.GET.get("bewertet") == "1",
            "ratings": range(1, 6),
        },
    )
