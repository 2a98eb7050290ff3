"""Hand-over pages for a city's staff: deliveries (admins and caseworkers), targets (admins).

Thin: ``access.py`` decides who sees what, forms validate, ``actions.py`` changes state.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from dikom.handover import access, actions
from dikom.handover.forms import DeliveryFilterForm, TargetForm
from dikom.handover.models import Delivery, DeliveryTarget
from dikom.municipalities.forms import validation_error_to_form
from dikom.municipalities.models import Municipality

PAGE_SIZE = 50


def _render(
    request: HttpRequest, template: str, municipality: Municipality, section: str, **context: Any
) -> HttpResponse:
    status = context.pop("status", 200)
    context.update(
        municipality=municipality,
        section=section,
        can_manage_targets=access.can_manage_targets(request.user, municipality),
    )
    return render(request, f"handover/{template}", context, status=status)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """Straight to the user's city; a choice when there are several."""
    cities = list(access.handover_municipalities(request.user).order_by("name"))
    if not cities:
        raise PermissionDenied
    if len(cities) == 1:
        return redirect("handover:deliveries", slug=cities[0].slug)
    return render(request, "handover/index.html", {"cities": cities})


# --- deliveries ---------------------------------------------------------------------------------


@login_required
def deliveries(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.get_municipality_for_deliveries(request.user, slug)
    form = DeliveryFilterForm(request.GET or None)
    rows = (
        Delivery.objects.filter(municipality=municipality)
        .select_related("target", "application__adoption__definition")
        .defer("application__answers", "application__submission_data")
        .order_by("-created_at", "-pk")
    )
    status = 200
    if form.is_bound and not form.is_valid():
        status = 400
    elif form.is_bound and form.cleaned_data["status"]:
        rows = rows.filter(status=form.cleaned_data["status"])
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(request, "deliveries.html", municipality, "deliveries", form=form, page=page, status=status)


@login_required
@require_POST
def delivery_retry(request: HttpRequest, slug: str, delivery_uuid: Any) -> HttpResponse:
    municipality = access.get_municipality_for_deliveries(request.user, slug)
    delivery = access.get_delivery_for_staff(request.user, municipality, delivery_uuid)
    try:
        actions.retry_now(delivery, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("The delivery of %(reference)s to “%(target)s” is being tried again.")
            % {"reference": delivery.application.reference, "target": delivery.target.name},
        )
    return redirect("handover:deliveries", slug=municipality.slug)


# --- targets ------------------------------------------------------------------------------------


@login_required
def targets(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.get_municipality_for_targets(request.user, slug)
    rows = DeliveryTarget.objects.filter(municipality=municipality).order_by("-active", "name", "pk")
    return _render(request, "targets.html", municipality, "targets", targets=rows)


def _secret_page(
    request: HttpRequest, municipality: Municipality, target: DeliveryTarget, secret: str, *, created: bool
) -> HttpResponse:
    response = _render(
        request, "target_secret.html", municipality, "targets", target=target, secret=secret, created=created
    )
    add_never_cache_headers(response)
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def target_create(request: HttpRequest, slug: str) -> HttpResponse:
    """Create a target. A webhook's secret is rendered once, straight into this POST response."""
    municipality = access.get_municipality_for_targets(request.user, slug)
    form = TargetForm(request.POST if request.method == "POST" else None, municipality=municipality)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = actions.create_target(
                municipality=municipality,
                actor=request.user,
                request=request,
                name=data["name"],
                kind=data["kind"],
                url=data["url"],
                email=data["email"],
                services=data["services"],
            )
        except ValidationError as exc:
            validation_error_to_form(form, exc)
        else:
            if created.secret:
                return _secret_page(request, municipality, created.target, created.secret, created=True)
            messages.success(request, _("The target “%(name)s” was created.") % {"name": created.target.name})
            return redirect("handover:targets", slug=municipality.slug)
    status = 400 if form.is_bound and form.errors else 200
    return _render(request, "target_form.html", municipality, "targets", form=form, target=None, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def target_edit(request: HttpRequest, slug: str, target_uuid: Any) -> HttpResponse:
    municipality = access.get_municipality_for_targets(request.user, slug)
    target = access.get_target_for_admin(request.user, municipality, target_uuid)
    form = TargetForm(request.POST if request.method == "POST" else None, municipality=municipality, instance=target)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            target = actions.update_target(
                target,
                actor=request.user,
                request=request,
                name=data["name"],
                url=data.get("url", ""),
                email=data.get("email", ""),
                services=data["services"],
                active=data["active"],
            )
        except ValidationError as exc:
            validation_error_to_form(form, exc)
        else:
            messages.success(request, _("The target “%(name)s” was saved.") % {"name": target.name})
            return redirect("handover:targets", slug=municipality.slug)
    status = 400 if form.is_bound and form.errors else 200
    return _render(request, "target_form.html", municipality, "targets", form=form, target=target, status=status)


@login_required
@require_POST
def target_active(request: HttpRequest, slug: str, target_uuid: Any) -> HttpResponse:
    """Deactivate (``active=0``) or activate (``active=1``) a target."""
    municipality = access.get_municipality_for_targets(request.user, slug)
    target = access.get_target_for_admin(request.user, municipality, target_uuid)
    active = request.POST.get("active") == "1"
    try:
        actions.set_target_active(target, actor=request.user, active=active, request=request)
    except ValidationError as exc:
        # e.g. a stored address that today's rules refuse: edit it first
        messages.error(request, " ".join(exc.messages))
    else:
        text = _("The target “%(name)s” is active.") if active else _("The target “%(name)s” was deactivated.")
        messages.success(request, text % {"name": target.name})
    return redirect("handover:targets", slug=municipality.slug)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def target_rotate_secret(request: HttpRequest, slug: str, target_uuid: Any) -> HttpResponse:
    """Confirm, then replace the signing secret and show the new one once."""
    municipality = access.get_municipality_for_targets(request.user, slug)
    target = access.get_target_for_admin(request.user, municipality, target_uuid)
    if target.kind != DeliveryTarget.Kind.WEBHOOK:
        raise PermissionDenied
    if request.method == "POST":
        secret = actions.rotate_secret(target, actor=request.user, request=request)
        return _secret_page(request, municipality, target, secret, created=False)
    return _render(request, "target_rotate_secret.html", municipality, "targets", target=target)
