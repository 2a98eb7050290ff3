"""The municipality administration: pages for the administrators of one city.

Views are thin: ``dikom.accounts.access`` decides who may see what (403 for a
city where the user is not an administrator, 404 for another city's objects),
the forms validate, ``actions.py`` (and ``dikom.accounts.actions``) change state.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from dikom.accounts import access
from dikom.accounts import actions as account_actions
from dikom.accounts.models import ApiKey, Membership, User
from dikom.accounts.roles import Role
from dikom.audit.models import AuditEvent
from dikom.lib import spreadsheet_safety
from dikom.municipalities import actions
from dikom.municipalities.forms import (
    ApiKeyForm,
    AuditFilterForm,
    AuthorityForm,
    ExistingStaffForm,
    NewStaffForm,
    OrgUnitForm,
    validation_error_to_form,
)
from dikom.municipalities.models import Municipality
from dikom.municipalities.tree import OrgUnitTree

AUDIT_PAGE_SIZE = 50
EMPTY = "\N{EN DASH}"


def _render(
    request: HttpRequest, template: str, municipality: Municipality, section: str, **context: Any
) -> HttpResponse:
    status = context.pop("status", 200)
    context.update(municipality=municipality, section=section)
    return render(request, f"municipalities/{template}", context, status=status)


# --- index and overview -------------------------------------------------------------------------


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The municipalities the user administers; straight to the overview when there is one."""
    if request.user.is_superuser:
        cities = list(Municipality.objects.all())
    else:
        cities = list(
            Municipality.objects.filter(
                memberships__user=cast(User, request.user), memberships__role=Role.MUNICIPALITY_ADMIN
            ).distinct()
        )
    if not cities:
        raise PermissionDenied
    if len(cities) == 1:
        return redirect("municipalities:overview", slug=cities[0].slug)
    return render(request, "municipalities/index.html", {"cities": cities})


@login_required
def overview(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.get_admin_municipality(request.user, slug)
    now = timezone.now()
    counts = {
        "staff": Membership.objects.filter(municipality=municipality).values("user").distinct().count(),
        "org_units": municipality.org_units.count(),
        "api_keys": ApiKey.objects.filter(municipality=municipality, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .count(),
    }
    return _render(request, "overview.html", municipality, "overview", counts=counts)


@login_required
@require_http_methods(["GET", "POST"])
def authority(request: HttpRequest, slug: str) -> HttpResponse:
    """The authority's name, head, address and contact, as decision letters and receipts print them."""
    municipality = access.get_admin_municipality(request.user, slug)
    form = AuthorityForm(request.POST or None, instance=Municipality.objects.get(pk=municipality.pk))
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            actions.update_authority_details(municipality=municipality, actor=request.user, request=request, **fields)
        except ValidationError as exc:
            validation_error_to_form(form, exc)
        else:
            messages.success(request, _("The details for letters were saved."))
            return redirect("municipalities:authority", slug=municipality.slug)
    return _render(request, "authority.html", municipality, "authority", form=form)


# --- organisational units -----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def org_units(request: HttpRequest, slug: str) -> HttpResponse:
    """The tree, and the form to create a unit."""
    municipality = access.get_admin_municipality(request.user, slug)
    tree = OrgUnitTree.load(municipality)
    form = OrgUnitForm(request.POST or None, tree=tree)
    if request.method == "POST" and form.is_valid():
        try:
            unit = actions.create_org_unit(
                municipality=municipality, actor=request.user, request=request, **form.cleaned_data
            )
        except ValidationError as exc:
            validation_error_to_form(form, exc)
        else:
            messages.success(request, _("The unit “%(name)s” was created.") % {"name": unit.name})
            return redirect("municipalities:org_units", slug=municipality.slug)
    return _render(request, "org_units.html", municipality, "org_units", tree=tree, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def org_unit_edit(request: HttpRequest, slug: str, unit_id: int) -> HttpResponse:
    """Edit a unit; changing the parent moves it within the tree."""
    municipality = access.get_admin_municipality(request.user, slug)
    unit = access.get_org_unit_for_admin(request.user, municipality, unit_id)
    tree = OrgUnitTree.load(municipality)
    form = OrgUnitForm(request.POST or None, tree=tree, instance=unit)
    if request.method == "POST" and form.is_valid():
        try:
            unit = actions.update_org_unit(org_unit=unit, actor=request.user, request=request, **form.cleaned_data)
        except ValidationError as exc:
            validation_error_to_form(form, exc)
        else:
            messages.success(request, _("The unit “%(name)s” was saved.") % {"name": unit.name})
            return redirect("municipalities:org_units", slug=municipality.slug)
    return _render(request, "org_unit_edit.html", municipality, "org_units", unit=unit, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def org_unit_delete(request: HttpRequest, slug: str, unit_id: int) -> HttpResponse:
    municipality = access.get_admin_municipality(request.user, slug)
    unit = access.get_org_unit_for_admin(request.user, municipality, unit_id)
    error = None
    if request.method == "POST":
        try:
            actions.delete_org_unit(org_unit=unit, actor=request.user, request=request)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("The unit “%(name)s” was deleted.") % {"name": unit.name})
            return redirect("municipalities:org_units", slug=municipality.slug)
    context = {
        "unit": unit,
        "error": error,
        "child_count": unit.children.count(),
        "membership_count": unit.memberships.count(),
        "status": 409 if error else 200,
    }
    return _render(request, "org_unit_delete.html", municipality, "org_units", **context)


# --- staff and roles ----------------------------------------------------------------------------


def _staff_rows(municipality: Municipality) -> list[dict[str, Any]]:
    """This city's memberships grouped by person, in one query."""
    rows: dict[int, dict[str, Any]] = {}
    memberships = (
        Membership.objects.filter(municipality=municipality)
        .select_related("user", "org_unit")
        .order_by("user__username", "role")
    )
    for membership in memberships:
        row = rows.setdefault(membership.user_id, {"user": membership.user, "memberships": [], "org_units": []})
        row["memberships"].append(membership)
        if membership.org_unit and membership.org_unit not in row["org_units"]:
            row["org_units"].append(membership.org_unit)
    return list(rows.values())


@login_required
@require_http_methods(["GET", "POST"])
def staff(request: HttpRequest, slug: str) -> HttpResponse:
    """Memberships of this city, and the forms to grant a role or create an account."""
    municipality = access.get_admin_municipality(request.user, slug)
    tree = OrgUnitTree.load(municipality)
    submitted = request.POST.get("form") if request.method == "POST" else None
    existing_form = ExistingStaffForm(request.POST if submitted == "existing" else None, tree=tree, prefix="existing")
    new_form = NewStaffForm(request.POST if submitted == "new" else None, tree=tree, prefix="new")
    status = 200
    if submitted == "existing" and existing_form.is_valid():
        data = existing_form.cleaned_data
        try:
            membership = actions.add_staff_member(
                municipality=municipality,
                user=data["identifier"],
                role=data["role"],
                org_unit=data["org_unit"],
                actor=request.user,
            )
        except ValidationError as exc:
            validation_error_to_form(existing_form, exc)
        else:
            messages.success(
                request,
                _("%(user)s now holds the role “%(role)s”.")
                % {"user": membership.user.get_username(), "role": membership.get_role_display()},
            )
            return redirect("municipalities:staff", slug=municipality.slug)
    elif submitted == "new" and new_form.is_valid():
        data = new_form.cleaned_data
        try:
            membership = actions.create_staff_account(municipality=municipality, actor=request.user, **data)
        except ValidationError as exc:
            validation_error_to_form(new_form, exc)
        else:
            messages.success(
                request,
                _(
                    "The account %(user)s was created with the role “%(role)s”. It has no password yet: ask the "
                    "person to choose one with “Forgot password” (Passwort vergessen) on the login page."
                )
                % {"user": membership.user.get_username(), "role": membership.get_role_display()},
            )
            return redirect("municipalities:staff", slug=municipality.slug)
    elif request.method == "POST":
        status = 400 if submitted not in {"existing", "new"} else 200
    return _render(
        request,
        "staff.html",
        municipality,
        "staff",
        rows=_staff_rows(municipality),
        existing_form=existing_form,
        new_form=new_form,
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def membership_revoke(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    municipality = access.get_admin_municipality(request.user, slug)
    membership = access.get_membership_for_admin(request.user, municipality, membership_id)
    error = None
    if request.method == "POST":
        try:
            actions.remove_staff_role(membership=membership, actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request,
                _("The role “%(role)s” of %(user)s was revoked.")
                % {"role": membership.get_role_display(), "user": membership.user.get_username()},
            )
            return redirect("municipalities:staff", slug=municipality.slug)
    return _render(
        request,
        "membership_revoke.html",
        municipality,
        "staff",
        membership=membership,
        error=error,
        status=409 if error else 200,
    )


# --- API keys -----------------------------------------------------------------------------------


@login_required
def api_keys(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.get_admin_municipality(request.user, slug)
    keys = ApiKey.objects.filter(municipality=municipality).select_related("created_by").order_by("-created_at")
    now = timezone.now()
    rows = []
    for key in keys:
        if key.revoked_at is not None:
            status = "revoked"
        elif key.expires_at is not None and key.expires_at <= now:
            status = "expired"
        else:
            status = "active"
        rows.append({"key": key, "status": status})
    return _render(request, "api_keys.html", municipality, "api_keys", rows=rows)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def api_key_create(request: HttpRequest, slug: str) -> HttpResponse:
    """Create a key. The token is rendered once, straight into this POST response, and never stored."""
    municipality = access.get_admin_municipality(request.user, slug)
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = account_actions.create_api_key(
                municipality=municipality,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                actor=request.user,
                expires_at=form.expires_at,
            )
        except ValidationError as exc:
            validation_error_to_form(form, exc)
        else:
            response = _render(
                request,
                "api_key_created.html",
                municipality,
                "api_keys",
                api_key=created.api_key,
                token=created.token,
            )
            add_never_cache_headers(response)
            return response
    return _render(request, "api_key_create.html", municipality, "api_keys", form=form)


@login_required
@require_http_methods(["GET", "POST"])
def api_key_revoke(request: HttpRequest, slug: str, key_uuid: Any) -> HttpResponse:
    municipality = access.get_admin_municipality(request.user, slug)
    api_key = access.get_api_key_for_admin(request.user, municipality, key_uuid)
    if request.method == "POST":
        account_actions.revoke_api_key(api_key=api_key, actor=request.user)
        messages.success(request, _("The API key “%(name)s” was revoked.") % {"name": api_key.name})
        return redirect("municipalities:api_keys", slug=municipality.slug)
    return _render(request, "api_key_revoke.html", municipality, "api_keys", api_key=api_key)


# --- audit log ----------------------------------------------------------------------------------


def _filtered_events(municipality: Municipality, form: AuditFilterForm) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(municipality=municipality).order_by("-occurred_at", "-id")
    if form.is_valid():
        if form.cleaned_data["action"]:
            events = events.filter(action__startswith=form.cleaned_data["action"])
        start, end = form.period()
        if start:
            events = events.filter(occurred_at__gte=start)
        if end:
            events = events.filter(occurred_at__lt=end)
    return events


def _change_items(changes: Any) -> list[tuple[str, str]]:
    """``{field: [old, new]}`` and other details as (term, description) pairs."""
    if not isinstance(changes, dict):
        return [("", json.dumps(changes, ensure_ascii=False))]
    items = []
    for key, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            old, new = (EMPTY if v in (None, "") else str(v) for v in value)
            items.append((str(key), f"{old} → {new}"))
        elif isinstance(value, (list, dict)):
            items.append((str(key), json.dumps(value, ensure_ascii=False)))
        else:
            items.append((str(key), EMPTY if value in (None, "") else str(value)))
    return items


@login_required
def audit_log(request: HttpRequest, slug: str) -> HttpResponseBase:
    municipality = access.get_admin_municipality(request.user, slug)
    if not access.can_view_audit_log(cast(User, request.user), municipality):
        raise PermissionDenied
    form = AuditFilterForm(request.GET or None)
    bound_invalid = form.is_bound and not form.is_valid()
    events = _filtered_events(municipality, form)
    if request.GET.get("format") == "csv":
        if bound_invalid:
            return _render(request, "audit_log.html", municipality, "audit", form=form, page=None, status=400)
        return _audit_csv(municipality, events)
    if bound_invalid:
        # Show the errors instead of an unfiltered list that would look filtered.
        return _render(request, "audit_log.html", municipality, "audit", form=form, page=None)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(event, _change_items(event.changes)) for event in page.object_list]
    return _render(request, "audit_log.html", municipality, "audit", form=form, page=page, rows=rows)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _audit_csv(municipality: Municipality, events: QuerySet[AuditEvent]) -> StreamingHttpResponse:
    writer = spreadsheet_safety.csv_writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(["time", "actor", "action", "object_type", "object_id", "object", "source", "details"])
        for event in events.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    timezone.localtime(event.occurred_at).isoformat(),
                    event.actor_label,
                    event.action,
                    event.object_type,
                    event.object_id,
                    event.object_repr,
                    event.source,
                    json.dumps(event.changes, ensure_ascii=False, sort_keys=True),
                ]
            )

    filename = f"protokoll-{municipality.slug}-{timezone.localdate():%Y-%m-%d}.csv"
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    add_never_cache_headers(response)
    return response
