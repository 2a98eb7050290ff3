"""The publishers' pages: their datasets in every state, create, edit, publish, withdraw, add resources."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dikom.opendata import access, actions
from dikom.opendata.datastore_types import COLUMN_TYPES, DatastoreError
from dikom.opendata.forms import DatasetForm, ResourceForm
from dikom.opendata.models import Dataset, DatastoreTable, Organization


def _writable(request: HttpRequest) -> list[Organization]:
    actions.ensure_organizations(access.publishing_municipalities(request.user))
    organizations = access.writable_organizations(request.user)
    if not organizations:
        raise PermissionDenied
    return organizations


def _own_dataset(request: HttpRequest, name: str) -> Dataset:
    dataset = get_object_or_404(Dataset.objects.select_related("organization__municipality"), name=name)
    if not access.can_write(request.user, dataset.organization):
        raise PermissionDenied
    return dataset


@login_required
def manage(request: HttpRequest) -> HttpResponse:
    organizations = _writable(request)
    datasets = Dataset.objects.filter(organization__in=organizations).select_related("organization").order_by("title")
    return render(request, "opendata/manage.html", {"organizations": organizations, "datasets": datasets})


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest, org: str) -> HttpResponse:
    organization = get_object_or_404(Organization, name=org)
    if not access.can_write(request.user, organization):
        raise PermissionDenied
    form = DatasetForm(request.POST or None, initial={"license_id": "dl-by-de/2.0"})
    if request.method == "POST" and form.is_valid():
        data = form.package()
        data["state"] = "active" if request.POST.get("publish") else "draft"
        try:
            dataset = actions.create_dataset(organization, data, actor=request.user)
        except actions.InvalidData as error:
            form.add_action_errors(error.errors)
        else:
            messages.success(request, _("The dataset was saved."))
            return redirect("opendata:edit", name=dataset.name)
    return render(request, "opendata/edit.html", {"form": form, "organization": organization, "dataset": None})


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, name: str) -> HttpResponse:
    dataset = _own_dataset(request, name)
    form = DatasetForm(request.POST or None, initial=DatasetForm.initial_for(dataset))
    if request.method == "POST" and form.is_valid():
        try:
            dataset = actions.update_dataset(dataset, form.package(dataset), actor=request.user)
        except actions.InvalidData as error:
            form.add_action_errors(error.errors)
        else:
            messages.success(request, _("The dataset was saved."))
            return redirect("opendata:edit", name=dataset.name)
    return render(
        request,
        "opendata/edit.html",
        {
            "form": form,
            "organization": dataset.organization,
            "dataset": dataset,
            "resource_form": ResourceForm(),
            "revisions": dataset.revisions.all()[:20],
            "tables": _tables(dataset),
            "type_choices": COLUMN_TYPES,
        },
    )


def _tables(dataset: Dataset) -> list[DatastoreTable]:
    return list(
        DatastoreTable.objects.filter(resource__dataset=dataset, state=DatastoreTable.State.DONE).select_related(
            "resource"
        )
    )


@login_required
@require_POST
def datastore_types(request: HttpRequest, name: str, resource_id: str) -> HttpResponse:
    """The publisher corrects the column types of a DataStore table (``actions.correct_datastore_types``)."""
    dataset = _own_dataset(request, name)
    table = get_object_or_404(DatastoreTable, resource__uuid=resource_id, resource__dataset=dataset)
    types = {f["id"]: request.POST.get(f"type-{i}", f["type"]) for i, f in enumerate(table.fields)}
    try:
        changes = actions.correct_datastore_types(table, types, actor=request.user)
    except DatastoreError as error:
        messages.error(request, error.message)
    else:
        if changes:
            messages.success(request, _("The table is rebuilt with the corrected column types."))
        else:
            messages.info(request, _("The column types are unchanged."))
    return redirect("opendata:edit", name=dataset.name)


@login_required
@require_POST
def change_state(request: HttpRequest, name: str) -> HttpResponse:
    dataset = _own_dataset(request, name)
    state = request.POST.get("state", "")
    if state not in Dataset.State.values:
        raise PermissionDenied
    actions.set_state(dataset, state, actor=request.user)
    messages.success(request, _("The dataset is now: %(state)s.") % {"state": Dataset.State(state).label})
    return redirect("opendata:edit", name=dataset.name)


@login_required
@require_POST
def add_resource(request: HttpRequest, name: str) -> HttpResponse:
    dataset = _own_dataset(request, name)
    form = ResourceForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["upload"]
        data = {
            "name": form.cleaned_data["name"],
            "url": form.cleaned_data["url"],
            "format": form.cleaned_data["format"],
        }
        try:
            actions.create_resource(
                dataset, data, upload=upload, filename=upload.name if upload else "", actor=request.user
            )
        except actions.InvalidData as error:
            for key, messages_for_key in error.errors.items():
                for message in messages_for_key:
                    form.add_error(key if key in form.fields else None, message)
        else:
            messages.success(request, _("The resource was added."))
            return redirect("opendata:edit", name=dataset.name)
    return render(
        request,
        "opendata/edit.html",
        {
            "form": DatasetForm(initial=DatasetForm.initial_for(dataset)),
            "organization": dataset.organization,
            "dataset": dataset,
            "resource_form": form,
            "revisions": dataset.revisions.all()[:20],
            "tables": _tables(dataset),
            "type_choices": COLUMN_TYPES,
        },
        status=400,
    )
