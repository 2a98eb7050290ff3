"""Who may see which application. Everything else is a 404."""

from __future__ import annotations

import hmac
import uuid as uuid_module

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from dikom.eservices.service import fill_released_content
from dikom.lib.prepared import PreparedQuery
from dikom.municipalities.models import Municipality
from dikom.portal.models import Application

SESSION_KEY = "portal_applications"


def remember_in_session(request: HttpRequest, application: Application) -> None:
    """Bind an anonymous application to this browser session."""
    known = list(request.session.get(SESSION_KEY, []))
    if str(application.uuid) not in known:
        known.append(str(application.uuid))
        request.session[SESSION_KEY] = known[-50:]


def may_access(request: HttpRequest, application: Application) -> bool:
    if application.citizen_id is not None:
        return bool(request.user.is_authenticated and request.user.pk == application.citizen_id)
    return str(application.uuid) in request.session.get(SESSION_KEY, [])


def _city_by_slug(slug: str) -> QuerySet[Municipality]:
    return Municipality.objects.filter(slug=slug).order_by()[:1]  # unique slug: no ORDER BY


# Compiled once per thread and database (``dikom.lib.prepared``): every portal page reads its city.
_CITY = PreparedQuery(
    Municipality, _city_by_slug, fields=(Municipality._meta.get_field("slug"),), samples=("\x00prepared-sample",)
)


def get_municipality(slug: str) -> Municipality:
    city = _CITY.first(slug)
    if city is None:
        raise Http404
    return city


def get_application_for_request(request: HttpRequest, municipality: Municipality, uuid: str) -> Application:
    """The application if this visitor owns it (signed-in citizen, or anonymous session); else 404."""
    try:
        key = uuid_module.UUID(str(uuid))
    except ValueError as exc:
        raise Http404 from exc
    application = (
        Application.objects.filter(municipality=municipality, uuid=key)
        .select_related("adoption__definition", "version", "municipality")
        .first()
    )
    if application is None or not may_access(request, application):
        raise Http404
    return application


def get_application_in_city(request: HttpRequest, city: str, uuid: str) -> Application:
    """``get_application_for_request`` for the city with slug ``city``, in one query (the step
    pages, which a citizen loads most often): 404 for an unknown city as for a foreign application."""
    try:
        key = uuid_module.UUID(str(uuid))
    except ValueError as exc:
        raise Http404 from exc
    # The uuid is unique: no ORDER BY. The statement is compiled once per thread (building it
    # cost more than running it); the version's definition comes from the per-process store of
    # released versions (``eservices.service.fill_released_content``), not from the row.
    found = _APPLICATION_IN_CITY.all(city, key)
    application = found[0] if found else None
    if application is None or not may_access(request, application):
        raise Http404
    fill_released_content(application.version)
    return application


def _application_in_city(city: str, key: uuid_module.UUID) -> QuerySet[Application]:
    return (
        Application.objects.filter(municipality__slug=city, uuid=key)
        .select_related("adoption__definition", "version", "municipality")
        .defer("version__content")
        .order_by()[:1]
    )


_APPLICATION_IN_CITY = PreparedQuery(
    Application,
    _application_in_city,
    fields=(Municipality._meta.get_field("slug"), Application._meta.get_field("uuid")),
    samples=("\x00prepared-sample", uuid_module.UUID(int=0x5A17_0000_0000_0000_0000_0000_0000_0001)),
)


def application_for_token(token: str) -> Application | None:
    """The anonymous draft a resume token belongs to (compared in constant time)."""
    from dikom.portal.actions import hash_token

    if not token or len(token) > 200:
        return None
    digest = hash_token(token)
    application = (
        Application.objects.filter(resume_token_hash=digest, status=Application.Status.DRAFT, citizen__isnull=True)
        .select_related("municipality")
        .first()
    )
    if application is None or not hmac.compare_digest(application.resume_token_hash, digest):
        return None
    return application
