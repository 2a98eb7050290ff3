"""Pages of the city comparison: overview, comparison per LeiKa key, sharing switches, open data switch.

Thin: ``access`` decides who may, ``actions`` change state, ``comparison``
computes. Staff pages for analysts and municipality administrators of the city.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from dikom.analytics.dashboards.tables import DECIMAL, PERCENT
from dikom.analytics.models import LEIKA_PATTERN, AuthMethod, PaymentMethod, Service
from dikom.analytics.sharing import access, actions, comparison
from dikom.analytics.sharing.models import ComparisonShare, OpenDataPublication
from dikom.lib.dateranges import DayField

MAX_PERIOD = timedelta(days=3660)


class PeriodForm(forms.Form):
    from_ = DayField(label=gettext_lazy("From"), required=False)
    to = DayField(label=gettext_lazy("To"), required=False)

    def __init__(self, data: Any) -> None:
        data = data.copy()
        if "from" in data:
            data["from_"] = data["from"]
        super().__init__(data)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        yesterday = timezone.localdate() - timedelta(days=1)
        until = cleaned.get("to") or yesterday
        since = cleaned.get("from_") or until - timedelta(days=29)
        if until < since:
            raise forms.ValidationError(_("“To” must not be before “From”."))
        if until - since > MAX_PERIOD:
            raise forms.ValidationError(_("The period may span at most ten years."))
        cleaned["since"], cleaned["until"] = since, until
        return cleaned


def _period(request: HttpRequest) -> tuple[PeriodForm, date, date]:
    form = PeriodForm(request.GET)
    if form.is_valid():
        return form, form.cleaned_data["since"], form.cleaned_data["until"]
    until = timezone.localdate() - timedelta(days=1)
    return form, until - timedelta(days=29), until


@login_required
def overview(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.comparison_municipality(request.user, slug)
    services = Service.objects.filter(municipality=municipality).exclude(leika_key="").order_by("name", "pk")
    shared = set(ComparisonShare.objects.filter(service__in=services).values_list("service_id", flat=True))
    return render(
        request,
        "analytics_sharing/overview.html",
        {
            "municipality": municipality,
            "services": [(s, s.pk in shared) for s in services],
            "can_publish": access.can_publish(request.user, municipality),
        },
    )


@login_required
def compare(request: HttpRequest, slug: str, leika_key: str) -> HttpResponse:
    municipality = access.comparison_municipality(request.user, slug)
    if not re.fullmatch(LEIKA_PATTERN, leika_key):
        raise Http404
    form, since, until = _period(request)
    result = comparison.compare(municipality, leika_key, since, until)
    own_service = Service.objects.filter(municipality=municipality, leika_key=leika_key).first()
    metric_rows = []
    for name in sorted(result["averages"]["all"]):
        metric_rows.append(
            {
                "name": name,
                "label": _metric_label(name),
                "kind": DECIMAL if name == "satisfaction_average" else PERCENT,
                "own": _own_value(result["own"], name, result["abandonment_position"]),
                "groups": [result["averages"][group][name] for group in comparison.GROUPS],
            }
        )
    return render(
        request,
        "analytics_sharing/compare.html",
        {
            "municipality": municipality,
            "leika_key": leika_key,
            "own_service": own_service,
            "form": form,
            "since": since,
            "until": until,
            "result": result,
            "metric_rows": metric_rows,
        },
    )


def _metric_label(name: str) -> str:
    labels = {
        "conversion_rate": _("Conversion rate"),
        "abandonment_rate": _("Abandonment rate"),
        "satisfaction_average": _("Satisfaction (average, 1–5)"),
        "drop_off_rate_at_step": _("Drop-off at your abandonment step (same position)"),
    }
    if name in labels:
        return labels[name]
    prefix, _sep, key = name.partition(":")
    if prefix == "authentication":
        method = AuthMethod(key).label if key in AuthMethod.values else key
        return _("Authentication: %(method)s") % {"method": method}
    method = PaymentMethod(key).label if key in PaymentMethod.values else key
    return _("Payment: %(method)s") % {"method": method}


def _own_value(own: dict[str, Any] | None, name: str, position: int | None) -> Any:
    if own is None:
        return None
    if name == "drop_off_rate_at_step":
        step = own.get("abandonment_step")
        return step["drop_off_rate"] if step else None
    prefix, _sep, key = name.partition(":")
    if prefix in ("authentication", "payment"):
        return own[prefix].get(key)
    return own.get(name)


@login_required
@require_http_methods(["GET", "POST"])
def shares(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.comparison_municipality(request.user, slug)
    if request.method == "POST":
        service = access.shareable_service(request.user, municipality, request.POST.get("service"))
        if request.POST.get("share") == "on":
            actions.enable_share(service=service, actor=request.user)
            messages.success(request, _("“%(name)s” is now shared in the city comparison.") % {"name": service.name})
        else:
            actions.disable_share(service=service, actor=request.user)
            messages.success(request, _("“%(name)s” is no longer shared by name.") % {"name": service.name})
        return redirect("analytics_sharing:shares", slug=municipality.slug)
    services = Service.objects.filter(municipality=municipality).exclude(leika_key="").order_by("name", "pk")
    shared = {
        share.service_id: share
        for share in ComparisonShare.objects.filter(service__in=services).select_related("shared_by")
    }
    return render(
        request,
        "analytics_sharing/shares.html",
        {"municipality": municipality, "services": [(s, shared.get(s.pk)) for s in services]},
    )


@login_required
@require_http_methods(["GET", "POST"])
def open_data(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.comparison_municipality(request.user, slug)
    if not access.can_publish(request.user, municipality):
        raise PermissionDenied
    if request.method == "POST":
        enabled = request.POST.get("enabled") == "on"
        actions.set_open_data_publication(municipality=municipality, enabled=enabled, actor=request.user)
        messages.success(
            request,
            _("The usage statistics are now published as open data.")
            if enabled
            else _("The usage statistics are no longer published."),
        )
        return redirect("analytics_sharing:open_data", slug=municipality.slug)
    publication = OpenDataPublication.objects.filter(municipality=municipality).first()
    return render(
        request,
        "analytics_sharing/open_data.html",
        {"municipality": municipality, "publication": publication},
    )
