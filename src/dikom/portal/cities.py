"""The portal's front door at ``/portal/``: every member city, each leading to its own portal."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dikom.municipalities.models import Municipality
from dikom.web.branding import brand_for, initials


def index(request: HttpRequest) -> HttpResponse:
    """The cities whose portals are here, in their colours (one query)."""
    cities = [
        {"municipality": m, "brand": brand_for(m.brand_colour), "initials": initials(m.name)}
        for m in Municipality.objects.select_related("district").order_by("name")
    ]
    return render(request, "portal/index.html", {"cities": cities})
