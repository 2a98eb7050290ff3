"""The publishers' harvest sources: register another portal, see every run's log, harvest now, pause.

Thin: access through ``access.can_write`` on the source's organisation, changes
through ``harvesting.runner``; works without JavaScript.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from dikom.opendata import access, actions
from dikom.opendata.harvesting import runner
from dikom.opendata.models import HarvestSource, Organization


class SourceForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), label=gettext_lazy("organisation"))
    title = forms.CharField(label=gettext_lazy("name"), max_length=200)
    url = forms.URLField(
        label=gettext_lazy("address"),
        max_length=1000,
        assume_scheme="https",
        help_text=gettext_lazy("CKAN: the portal's address; DCAT: the address of the catalogue's first page."),
    )
    kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=HarvestSource.Kind.choices)
    every_hours = forms.IntegerField(label=gettext_lazy("harvest every (hours)"), min_value=1, max_value=24 * 30)

    def __init__(self, *args: object, organizations: list[Organization], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["organization"].queryset = Organization.objects.filter(pk__in=[o.pk for o in organizations])  # type: ignore[attr-defined]

    def clean_url(self) -> str:
        url = str(self.cleaned_data["url"])
        runner.check_url(url)
        return url


def _organizations(request: HttpRequest) -> list[Organization]:
    actions.ensure_organizations(access.publishing_municipalities(request.user))
    organizations = access.writable_organizations(request.user)
    if not organizations:
        raise PermissionDenied
    return organizations


def _own_source(request: HttpRequest, source_id: str) -> HarvestSource:
    source = get_object_or_404(HarvestSource.objects.select_related("organization__municipality"), uuid=source_id)
    if not access.can_write(request.user, source.organization):
        raise PermissionDenied
    return source


@login_required
@require_http_methods(["GET", "POST"])
def sources(request: HttpRequest) -> HttpResponse:
    organizations = _organizations(request)
    form = SourceForm(request.POST or None, organizations=organizations, initial={"every_hours": 24, "kind": "dcat"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            source = runner.create_source(
                data["organization"],
                title=data["title"],
                url=data["url"],
                kind=data["kind"],
                every_hours=data["every_hours"],
            )
        except ValidationError as error:
            form.add_error("url", error)
        else:
            messages.success(request, _("The source was saved; it is harvested within a few minutes."))
            return redirect("opendata:harvest_source", source_id=source.uuid)
    listed = (
        HarvestSource.objects.filter(organization__in=organizations)
        .select_related("organization")
        .prefetch_related("runs")
    )
    rows = [(source, source.runs.all()[:1]) for source in listed]
    return render(request, "opendata/harvest_sources.html", {"form": form, "rows": rows})


@login_required
def source_detail(request: HttpRequest, source_id: str) -> HttpResponse:
    source = _own_source(request, source_id)
    return render(
        request,
        "opendata/harvest_source.html",
        {"source": source, "runs": source.runs.all()[:50], "dataset_count": source.datasets.count()},
    )


@login_required
@require_POST
def source_action(request: HttpRequest, source_id: str) -> HttpResponse:
    source = _own_source(request, source_id)
    what = request.POST.get("action")
    if what == "run":
        runner.queue_harvest(source)
        messages.success(request, _("The harvest was queued; reload this page in a moment."))
    elif what in ("pause", "resume"):
        runner.set_source_active(source, what == "resume")
        messages.success(request, _("Saved."))
    return redirect("opendata:harvest_source", source_id=source.uuid)
