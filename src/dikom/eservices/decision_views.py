"""Decision tables (DMN) of a service: upload and removal in the designer, and a read-only page per table
with a test form for everyone who may see the version (designers, reviewers, adopting cities).

Thin views: access through ``access``, the content change through the designer's save path (the same
concurrency check as every designer form), the checks in ``cases.dmn``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from dikom.cases.dmn import feel, library
from dikom.cases.dmn.tables import DecisionError, Decisions, DmnRefused
from dikom.eservices import access, decision_forms
from dikom.eservices.views.common import (
    _editable,
    _render,
    _save_if_current,
    _version_kwargs,
    designer_view,
)
from dikom.eservices.views.designer_process import _process_page


def _process_url(version: Any) -> str:
    return reverse("eservices:edit_process", kwargs=_version_kwargs(version)) + "#decisions"


@designer_view
@require_POST
def decision_upload(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """A DMN file is checked (every FEEL text translated); with problems nothing is stored and each problem is
    listed with its element, line and exact expression."""
    version = _editable(request, slug, number)
    form = decision_forms.DecisionUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _process_page(request, version, status=400, decision_form=form, dmn_problems=form.problems)
    content = decision_forms.with_decisions(version.content, form.key, form.xml)
    assert form.decisions is not None  # noqa: S101 - set by a valid form
    count = len(form.decisions.decisions)
    _save_if_current(
        request,
        version,
        content,
        ngettext(
            "The decision tables “%(name)s” were stored (%(count)s decision).",
            "The decision tables “%(name)s” were stored (%(count)s decisions).",
            count,
        )
        % {"name": form.decisions.name or form.key, "count": count},
    )
    return redirect(_process_url(version))


@designer_view
@require_POST
def decision_delete(request: HttpRequest, slug: str, number: int, key: str) -> HttpResponse:
    version = _editable(request, slug, number)
    if key not in library.files_of(version.content):
        raise Http404
    _save_if_current(
        request,
        version,
        decision_forms.with_decisions(version.content, key, None),
        _("The decision tables “%(name)s” were removed.") % {"name": key},
    )
    return redirect(_process_url(version))


def _stored(version: Any, key: str) -> Decisions:
    xml = library.files_of(version.content).get(key)
    if xml is None:
        raise Http404
    try:
        return library.parse(xml)
    except DmnRefused as refused:  # stored before a check became stricter: show nothing rather than fail
        raise Http404 from refused


@login_required
@require_GET
def decision_table(request: HttpRequest, slug: str, number: int, key: str) -> HttpResponse:
    """The decisions of one DMN file as tables (inputs, outputs, rules, hit policy, annotations, the translated
    tests), and a test form: enter a value per input column and see the result and the matching rules."""
    version = access.get_version(request.user, slug, number)
    decisions = _stored(version, key)
    chosen = decisions.get(request.GET.get("entscheidung", "")) or decisions.decisions[0]
    tested = "entscheidung" in request.GET
    form = decision_forms.DecisionTestForm(chosen, request.GET if tested else None)
    result: dict[str, Any] | None = None
    if tested and form.is_valid():
        values = {c.id: form.cleaned_data.get(f"input_{i}") for i, c in enumerate(chosen.inputs)}
        try:
            evaluation = decisions.evaluate(chosen.id, form.data_for_decision(), column_values=values)
            result = {"value": evaluation.value, "matched": evaluation.matched, "error": ""}
        except DecisionError as error:
            result = {"value": None, "matched": [], "error": error.message}
    tables = [
        {
            "decision": decision,
            "rows": [
                {
                    "rule": rule,
                    "cells": [
                        {
                            "text": entry.text or "-",
                            "safe": feel.readable(entry.safe, column.text) if entry.safe else "",
                        }
                        for entry, column in zip(rule.inputs, decision.inputs, strict=True)
                    ],
                    "matched": result is not None and decision.id == chosen.id and rule.number in result["matched"],
                }
                for rule in decision.rules
            ],
        }
        for decision in decisions.decisions
    ]
    can_edit = access.can_design(request.user, version.municipality) and version.is_editable
    return _render(
        request,
        "decision_table.html",
        {
            "version": version,
            "definition": version.definition,
            "key": key,
            "decisions": decisions,
            "tables": tables,
            "chosen": chosen,
            "form": form,
            "result": result,
            "can_edit": can_edit,
        },
    )
