"""Adoption of a released service by a city, upgrades, and the notifications page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dikom.eservices import access, actions, forms
from dikom.eservices.views.common import (
    _render,
    fee_rows,
)

# --- adoption -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def adoption(request: HttpRequest, slug: str, city: str) -> HttpResponse:
    """A city adopts a released service with its local settings, changes them, and sees what a newer
    version changes before upgrading."""
    from dikom.eservices.definition import diff_definitions

    municipality = access.get_adopting_municipality(request.user, city)
    definition = access.get_definition(request.user, slug)
    latest = definition.latest_released
    if latest is None:
        raise Http404
    current = access.get_adoption(municipality, definition)
    version = current.version if current else latest
    initial = forms.AdoptionForm.initial_from(current) if current else {"active": True}
    form = forms.AdoptionForm(
        request.POST or None,
        municipality=municipality,
        version=version,
        fees=current.fees if current else None,
        lanes=current.lanes if current else None,
        initial=initial,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                if current is None:
                    actions.adopt_service(
                        municipality=municipality, version=latest, actor=request.user, local=form.local_settings()
                    )
                    messages.success(request, _("%(city)s now offers this service.") % {"city": municipality.name})
                else:
                    actions.update_adoption(current, actor=request.user, local=form.local_settings())
                    messages.success(request, _("The local settings were saved."))
            except actions.WorkflowError as exc:
                messages.error(request, exc.message)
            else:
                return redirect("eservices:adoption", slug=definition.slug, city=municipality.slug)
        status = 400
    upgrade = current.pending_upgrade_to if current else None
    if current is not None and upgrade is None and latest.number > current.version.number:
        upgrade = latest
    return _render(
        request,
        "adoption.html",
        {
            "definition": definition,
            "municipality": municipality,
            "adoption": current,
            "version": version,
            "form": form,
            "upgrade": upgrade,
            "upgrade_diff": diff_definitions(current.version.content, upgrade.content) if current and upgrade else None,
            "fee_rows": fee_rows(version.content),
        },
        status=status,
    )


@login_required
@require_POST
def adoption_upgrade(request: HttpRequest, slug: str, city: str) -> HttpResponse:
    municipality = access.get_adopting_municipality(request.user, city)
    definition = access.get_definition(request.user, slug)
    current = access.get_adoption(municipality, definition)
    if current is None:
        raise Http404
    try:
        upgraded = actions.upgrade_adoption(current, actor=request.user)
    except actions.WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _(
                "New applications now start on version %(number)s; applications in progress finish on the version they started on."
            )
            % {"number": upgraded.version.number},
        )
    return redirect("eservices:adoption", slug=definition.slug, city=municipality.slug)


# --- notifications --------------------------------------------------------------------------------


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    items = list(access.notifications_for(request.user)[:100])
    return _render(request, "notifications.html", {"notifications": items})


@login_required
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = access.get_notification(request.user, notification_id)
    actions.mark_notification_read(notification, actor=request.user)
    if request.POST.get("follow") and url_has_allowed_host_and_scheme(
        notification.link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(notification.link)
    return redirect("eservices:notifications")
