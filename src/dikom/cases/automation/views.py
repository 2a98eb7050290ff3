"""Automation pages of a city: rules, their dry run and the execution log.

Thin: ``access.py`` decides who sees what, forms check input, ``actions.py``
changes rules, ``runner.dry_run`` shows what a rule would do.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from dikom.accounts.access import roles_in, staff_municipalities
from dikom.cases.automation import access, actions, runner
from dikom.cases.automation.forms import DryRunForm, ExecutionFilterForm, RuleForm
from dikom.cases.automation.models import Rule, RuleExecution
from dikom.municipalities.forms import validation_error_to_form
from dikom.municipalities.models import Municipality

PAGE_SIZE = 50


def _render(
    request: HttpRequest, template: str, municipality: Municipality, section: str, **context: Any
) -> HttpResponse:
    status = context.pop("status", 200)
    context.update(municipality=municipality, section=section, can_manage=access.can_manage(request.user, municipality))
    return render(request, f"cases_automation/{template}", context, status=status)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """Straight to the user's city; a choice when there are several."""
    cities = [
        city
        for city in staff_municipalities(request.user).order_by("name")
        if access.READ_ROLES & roles_in(request.user, city)
    ]
    if not cities:
        raise PermissionDenied
    if len(cities) == 1:
        return redirect("cases_automation:rules", slug=cities[0].slug)
    return render(request, "cases_automation/index.html", {"cities": cities})


@login_required
def rule_list(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.get_municipality(request.user, slug)
    latest = RuleExecution.objects.filter(rule=OuterRef("pk"), dry_run=False).order_by("-started_at", "-pk")
    rows = (
        Rule.objects.filter(municipality=municipality)
        .annotate(last_run_at=Subquery(latest.values("started_at")[:1]), last_outcome=Subquery(latest.values("outcome")[:1]))
        .order_by("-active", "name", "pk")
    )  # fmt: skip
    outcomes = dict(RuleExecution.Outcome.choices)
    rules = list(rows)
    for rule in rules:
        rule.last_outcome_label = outcomes.get(rule.last_outcome or "", "")  # type: ignore[attr-defined]
    return _render(request, "rule_list.html", municipality, "rules", rules=rules)


def _save(request: HttpRequest, form: RuleForm, municipality: Municipality, rule: Rule | None) -> Rule | None:
    data = {name: form.cleaned_data.get(name) for name in actions.EDITABLE}
    try:
        if rule is None:
            return actions.create_rule(municipality=municipality, actor=request.user, request=request, **data)
        return actions.update_rule(rule, actor=request.user, request=request, **data)
    except ValidationError as exc:
        validation_error_to_form(form, exc)
        return None


def _form_page(request: HttpRequest, municipality: Municipality, rule: Rule | None) -> HttpResponse:
    form = RuleForm(request.POST if request.method == "POST" else None, municipality=municipality, instance=rule)
    dry_rows = None
    dry_form = DryRunForm(request.POST if request.method == "POST" else None, prefix="dry")
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "dry_run":
            days = dry_form.cleaned_data["days"] if dry_form.is_valid() else 90
            dry_rows = runner.dry_run(form.unsaved_rule(), days=days)
        else:
            saved = _save(request, form, municipality, rule)
            if saved is not None:
                messages.success(request, _("The rule “%(name)s” was saved.") % {"name": saved.name})
                return redirect("cases_automation:rules", slug=municipality.slug)
    status = 400 if form.is_bound and form.errors else 200
    return _render(
        request, "rule_form.html", municipality, "rules", form=form, rule=rule, dry_form=dry_form,
        dry_rows=dry_rows, status=status,
    )  # fmt: skip


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def rule_create(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.get_municipality(request.user, slug, manage=True)
    return _form_page(request, municipality, None)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, slug: str, rule_uuid: Any) -> HttpResponse:
    municipality = access.get_municipality(request.user, slug, manage=True)
    rule = access.get_rule(request.user, municipality, rule_uuid, manage=True)
    return _form_page(request, municipality, rule)


@login_required
@require_POST
def rule_active(request: HttpRequest, slug: str, rule_uuid: Any) -> HttpResponse:
    """Deactivate (``active=0``) or activate (``active=1``) a rule."""
    municipality = access.get_municipality(request.user, slug, manage=True)
    rule = access.get_rule(request.user, municipality, rule_uuid, manage=True)
    active = request.POST.get("active") == "1"
    try:
        actions.set_rule_active(rule, actor=request.user, active=active, request=request)
    except ValidationError as exc:
        messages.error(
            request,
            _("The rule “%(name)s” cannot be activated: %(problems)s")
            % {"name": rule.name, "problems": " ".join(exc.messages)},
        )
    else:
        text = _("The rule “%(name)s” is active.") if active else _("The rule “%(name)s” was deactivated.")
        messages.success(request, text % {"name": rule.name})
    return redirect("cases_automation:rules", slug=municipality.slug)


@never_cache
@login_required
@require_POST
def rule_rotate_secret(request: HttpRequest, slug: str, rule_uuid: Any) -> HttpResponse:
    municipality = access.get_municipality(request.user, slug, manage=True)
    rule = access.get_rule(request.user, municipality, rule_uuid, manage=True)
    actions.rotate_webhook_secret(rule, actor=request.user, request=request)
    messages.success(request, _("The rule “%(name)s” has a new webhook signing secret.") % {"name": rule.name})
    return redirect("cases_automation:rule_edit", slug=municipality.slug, rule_uuid=rule.uuid)


@login_required
@require_http_methods(["GET", "POST"])
def rule_dry_run(request: HttpRequest, slug: str, rule_uuid: Any) -> HttpResponse:
    """Choose a period (GET), then see what the saved rule would have done with those cases (POST, logged)."""
    municipality = access.get_municipality(request.user, slug, manage=True)
    rule = access.get_rule(request.user, municipality, rule_uuid, manage=True)
    form = DryRunForm(request.POST if request.method == "POST" else None, prefix="dry")
    rows = None
    if request.method == "POST" and form.is_valid():
        rows = runner.dry_run(rule, days=form.cleaned_data["days"], record=True)
    status = 400 if form.is_bound and form.errors else 200
    return _render(
        request, "rule_dry_run.html", municipality, "rules", rule=rule, dry_form=form, dry_rows=rows, status=status
    )


@login_required
def execution_log(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.get_municipality(request.user, slug)
    form = ExecutionFilterForm(request.GET or None, municipality=municipality)
    rows = (
        access.visible_executions(request.user, municipality)
        .select_related("rule", "case")
        .defer("case__workflow_state", "case__process_xml")
        .order_by("-started_at", "-pk")
    )
    status = 200
    mode = "real"
    if form.is_bound and not form.is_valid():
        status = 400
    elif form.is_bound:
        data = form.cleaned_data
        mode = data["mode"] or "real"
        if data["rule"]:
            rows = rows.filter(rule__uuid=data["rule"])
        if data["reference"].strip():
            rows = rows.filter(case__reference__iexact=data["reference"].strip())
        if data["outcome"]:
            rows = rows.filter(outcome=data["outcome"])
    if mode == "real":
        rows = rows.filter(dry_run=False)
    elif mode == "dry":
        rows = rows.filter(dry_run=True)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(request, "log.html", municipality, "log", form=form, page=page, status=status)
