"""The citizen app as an installable web app: a manifest and a service worker per city, and the offline page.

The service worker (``/stadt/<city>/sw.js``, scope ``/stadt/<city>/``) keeps an
offline shell: on installation it stores the offline page, the style sheets
and the icons; pages are always fetched from the network and only when the
network fails does it answer with the offline page. It caches no page with
personal content (my trees, forms with request keys) and never a POST. The
pages work without it and without JavaScript.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control

from dikom.smartcity import access
from dikom.web.branding import brand_for

#: Bump when the shell's files change, so installed workers replace their cache.
SHELL_VERSION = "1"


@cache_control(public=True, max_age=3600)
def manifest(request: HttpRequest, city: str) -> JsonResponse:
    municipality = access.get_city(city)
    home = reverse("smartcity:city", args=[municipality.slug])
    brand = brand_for(municipality.brand_colour)
    data = {
        "name": _("Smart city %(city)s") % {"city": municipality.name},
        "short_name": municipality.name[:12],
        "description": _("Street trees, watering, construction sites and litter bins in %(city)s.")
        % {"city": municipality.name},
        "lang": "de",
        "start_url": home,
        "scope": home,
        "id": home,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": brand.colour if brand else "#1e6b34",
        "icons": [
            {"src": static("smartcity/icons/tree-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("smartcity/icons/tree-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("smartcity/icons/tree-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response


@cache_control(no_cache=True)
def service_worker(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    response = render(
        request,
        "smartcity/sw.js",
        {
            "cache_name": f"dikom-stadt-{municipality.slug}-{SHELL_VERSION}",
            "offline_url": reverse("smartcity:offline", args=[municipality.slug]),
            "shell": [
                reverse("smartcity:offline", args=[municipality.slug]),
                static("smartcity/smartcity.css"),
                static("smartcity/icons/tree-192.png"),
            ],
        },
        content_type="text/javascript; charset=utf-8",
    )
    response["Service-Worker-Allowed"] = reverse("smartcity:city", args=[municipality.slug])
    return response


def offline(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    return render(
        request,
        "smartcity/offline.html",
        {"city": municipality, "brand": brand_for(municipality.brand_colour)},
    )
