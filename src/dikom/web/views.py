from __future__ import annotations

import sys
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template import loader
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache

from dikom.accounts.access import roles_in, staff_municipalities
from dikom.accounts.roles import Role
from dikom.api.problems import (
    RETRY_AFTER_SECONDS,
    api_not_found,
    database_unavailable,
    database_unavailable_detail,
    problem_response,
)
from dikom.lib.pagecache import anonymous_page_cache
from dikom.municipalities.models import Municipality
from dikom.web.branding import brand_for, initials
from dikom.web.modules import MODULES, MODULES_BY_SLUG


@anonymous_page_cache
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "web/landing.html", {"modules": MODULES})


def module(request: HttpRequest, slug: str) -> HttpResponse:
    """The page of a module: what it does (and, while it is not built, that it is in preparation)."""
    try:
        current = MODULES_BY_SLUG[slug]
    except KeyError as exc:
        raise Http404 from exc
    return render(request, "web/module.html", {"module": current})


def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "web/accessibility.html")


def municipality_list(request: HttpRequest) -> HttpResponse:
    municipalities = Municipality.objects.select_related("district").order_by("name")
    return render(request, "web/municipality_list.html", {"municipalities": municipalities})


def municipality_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The citizen-facing page of a member city, in the city's colours."""
    municipality = get_object_or_404(Municipality.objects.select_related("district"), slug=slug)
    return render(
        request,
        "web/municipality_detail.html",
        {
            "municipality": municipality,
            "brand": brand_for(municipality.brand_colour),
            "initials": initials(municipality.name),
            # Online services lead to the city's citizen portal; the library in /dienste/ is for staff.
            "service_modules": [MODULES_BY_SLUG["opendata"]],
        },
    )


# Which module pages a role leads to on the staff start page.
ROLE_MODULES: dict[str, tuple[str, ...]] = {
    Role.PROCESS_DESIGNER: ("dienste",),
    Role.REVIEWER: ("dienste",),
    Role.CASEWORKER: ("faelle",),
    Role.ANALYST: ("analytics",),
    Role.DATA_PUBLISHER: ("opendata", "sensoren"),
    Role.STAFF_MEMBER: ("kompetenzen", "forum"),
    Role.MUNICIPALITY_ADMIN: ("kompetenzen",),
    Role.HUMAN_RESOURCES: ("kompetenzen",),
}


@dataclass
class Workplace:
    municipality: Municipality
    roles: list[str]  # translated role names
    is_admin: bool
    modules: list  # Module objects the roles lead to


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Start page after log-in: the staff member's workplaces, or the citizen's account."""
    user = request.user
    workplaces: list[Workplace] = []
    if user.is_superuser:
        municipalities = list(Municipality.objects.filter(memberships__user=user).distinct())
    else:
        municipalities = list(staff_municipalities(user))
    for municipality in municipalities:
        held = roles_in(user, municipality)
        slugs: list[str] = []
        for role in Role:
            if role in held:
                slugs.extend(s for s in ROLE_MODULES.get(role, ()) if s not in slugs)
        workplaces.append(
            Workplace(
                municipality=municipality,
                roles=[str(role.label) for role in Role if role in held],
                is_admin=Role.MUNICIPALITY_ADMIN in held,
                modules=[MODULES_BY_SLUG[s] for s in slugs],
            )
        )
    return render(
        request,
        "web/home.html",
        {"workplaces": workplaces, "is_staff": bool(workplaces) or user.is_superuser},
    )


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and monitoring."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        database = "ok"
    except Exception:  # any failure means the database is unreachable
        database = "unreachable"
    status = 200 if database == "ok" else 503
    return JsonResponse({"status": "ok" if status == 200 else "degraded", "database": database}, status=status)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return problem_response(400, gettext("The request could not be understood."), "malformed-request")
    return render(request, "web/error.html", {"status": 400}, status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return problem_response(403, gettext("You may not access this resource."), "forbidden")
    return render(request, "web/error.html", {"status": 403}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return api_not_found(request, exception)
    return render(request, "web/error.html", {"status": 404}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while it handles the uncaught exception, so sys.exc_info() names it.
    status = 503 if database_unavailable(sys.exc_info()[1]) else 500
    response: HttpResponse
    if _is_api(request):
        if status == 503:
            response = problem_response(503, database_unavailable_detail(), "unavailable")
        else:
            response = problem_response(
                500, gettext("An unexpected error occurred; it has been logged."), "server-error"
            )
    else:
        # Rendered without the request: no context processors, no session, no database,
        # since any of them may be what just failed.
        html = loader.get_template("web/error.html").render({"status": status, "minimal": True})
        response = HttpResponse(html, status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
