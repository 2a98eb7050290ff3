"""Staff pages under ``/analytics-erfassung/<slug>/``: collection sites, Matomo rules, dry run, snippet.

Analysts and municipality administrators of the city manage them (403 for
other roles and cities, 404 for another city's sites); every change is audited
by ``actions.py``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery, Sum
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dikom.analytics import rollups
from dikom.analytics.collect import access, actions
from dikom.analytics.collect.forms import DryRunForm, RuleForm, SiteForm
from dikom.analytics.collect.mapping import compile_rules, map_request
from dikom.analytics.collect.matomo import MatomoRequest, parse_query
from dikom.analytics.collect.models import CollectionSite, MatomoRule, UnmatchedRequests
from dikom.analytics.eventcheck import Limits, validate_event
from dikom.municipalities.models import Municipality

UNMATCHED_DAYS = 30


def _attach(form: BaseForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _render(request: HttpRequest, template: str, municipality: Municipality, **context: Any) -> HttpResponse:
    status = context.pop("status", 200)
    context["municipality"] = municipality
    return render(request, f"analytics_collect/{template}", context, status=status)


def _since() -> Any:
    return timezone.now().astimezone(rollups.local_zone()).date() - timedelta(days=UNMATCHED_DAYS - 1)


@login_required
def site_list(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.get_managed_municipality(request.user, slug)
    sites = (
        CollectionSite.objects.filter(municipality=municipality)
        .annotate(
            rule_count=Count("rules", distinct=True),
            # a subquery: a second join would multiply the sum by the number of rules
            unmatched_recent=Subquery(
                UnmatchedRequests.objects.filter(site=OuterRef("pk"), day__gte=_since())
                .order_by()
                .values("site")
                .annotate(total=Sum("count"))
                .values("total")[:1]
            ),
        )
        .order_by("name", "pk")
    )
    return _render(request, "site_list.html", municipality, sites=sites, days=UNMATCHED_DAYS)


@login_required
@require_http_methods(["GET", "POST"])
def site_create(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.get_managed_municipality(request.user, slug)
    form = SiteForm(request.POST or None, instance=CollectionSite(municipality=municipality))
    if request.method == "POST" and form.is_valid():
        try:
            site = actions.create_site(municipality=municipality, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, _("The site “%(name)s” was created.") % {"name": site.name})
            return redirect("analytics_collect:site_detail", slug=municipality.slug, site_id=site.site_id)
    return _render(request, "site_form.html", municipality, form=form, site=None)


@login_required
def site_detail(request: HttpRequest, slug: str, site_id: str) -> HttpResponse:
    municipality = access.get_managed_municipality(request.user, slug)
    site = access.get_site(municipality, site_id)
    rules = list(site.rules.order_by("position", "pk"))
    unmatched = list(UnmatchedRequests.objects.filter(site=site, day__gte=_since()).order_by("-day"))
    base = request.build_absolute_uri("/").rstrip("/")
    return _render(
        request,
        "site_detail.html",
        municipality,
        site=site,
        rules=rules,
        unmatched=unmatched,
        days=UNMATCHED_DAYS,
        script_url=base + reverse("analytics_collect:script"),
        endpoint=base + reverse("analytics_collect_api:collect", kwargs={"site_id": site.site_id}),
        matomo_url=base + reverse("analytics_collect:matomo"),
    )


@login_required
@require_http_methods(["GET", "POST"])
def site_edit(request: HttpRequest, slug: str, site_id: str) -> HttpResponse:
    municipality = access.get_managed_municipality(request.user, slug)
    site = access.get_site(municipality, site_id)
    form = SiteForm(request.POST or None, instance=site)
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        site.refresh_from_db()  # the form wrote into the instance; the action records old → new
        try:
            actions.update_site(site=site, actor=request.user, **values)
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, _("The site was saved."))
            return redirect("analytics_collect:site_detail", slug=municipality.slug, site_id=site.site_id)
    return _render(request, "site_form.html", municipality, form=form, site=site)


@login_required
@require_http_methods(["GET", "POST"])
def site_delete(request: HttpRequest, slug: str, site_id: str) -> HttpResponse:
    municipality = access.get_managed_municipality(request.user, slug)
    site = access.get_site(municipality, site_id)
    if request.method == "POST":
        actions.delete_site(site=site, actor=request.user)
        messages.success(request, _("The site “%(name)s” was deleted.") % {"name": site.name})
        return redirect("analytics_collect:site_list", slug=municipality.slug)
    return _render(request, "site_delete.html", municipality, site=site)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, slug: str, site_id: str, rule_id: int | None = None) -> HttpResponse:
    municipality = access.get_managed_municipality(request.user, slug)
    site = access.get_site(municipality, site_id)
    if rule_id is None:
        last = site.rules.order_by("-position").values_list("position", flat=True).first()
        rule = MatomoRule(site=site, position=(last or 0) + 10)
        before = None
    else:
        rule = access.get_rule(site, rule_id)
        before = actions.rule_values(rule)
    form = RuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_rule(rule=form.instance, actor=request.user, before=before)
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, _("The rule was saved."))
            return redirect("analytics_collect:site_detail", slug=municipality.slug, site_id=site.site_id)
    return _render(request, "rule_form.html", municipality, form=form, site=site, rule=rule if rule_id else None)


@login_required
@require_http_methods(["GET", "POST"])
def rule_delete(request: HttpRequest, slug: str, site_id: str, rule_id: int) -> HttpResponse:
    municipality = access.get_managed_municipality(request.user, slug)
    site = access.get_site(municipality, site_id)
    rule = access.get_rule(site, rule_id)
    if request.method == "POST":
        actions.delete_rule(rule=rule, actor=request.user)
        messages.success(request, _("The rule was deleted."))
        return redirect("analytics_collect:site_detail", slug=municipality.slug, site_id=site.site_id)
    return _render(request, "rule_delete.html", municipality, site=site, rule=rule)


@login_required
def site_test(request: HttpRequest, slug: str, site_id: str) -> HttpResponse:
    """Dry run: which events would a sample Matomo request produce? Nothing is stored."""
    municipality = access.get_managed_municipality(request.user, slug)
    site = access.get_site(municipality, site_id)
    form = DryRunForm(request.GET if "request" in request.GET else None)
    result: dict[str, Any] | None = None
    if form.is_bound and form.is_valid():
        try:
            params = parse_query(form.cleaned_data["request"].strip())
        except ValueError:
            form.add_error("request", _("Too many parameters."))
        else:
            parsed = MatomoRequest.from_params(params)
            now = timezone.now()
            limits = Limits.around(now)
            compiled = compile_rules(site.rules.all())
            produced = []
            for rule, event in map_request(compiled, parsed):
                event = {**event, "occurred_at": now.isoformat()}
                _clean, errors = validate_event(event, limits)
                produced.append({"rule": rule, "event": event, "errors": errors})
            result = {
                "parsed": parsed,
                "idsite_matches": parsed.idsite is not None and parsed.idsite == site.matomo_idsite,
                "dimensions": sorted(parsed.dimensions.items()),
                "produced": produced,
            }
    return _render(request, "site_test.html", municipality, site=site, form=form, result=result)
