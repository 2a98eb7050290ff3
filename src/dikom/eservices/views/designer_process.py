"""The designer: the process (BPMN, lanes, decisions, letter template)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from dikom.eservices import forms
from dikom.eservices.models import ServiceVersion
from dikom.eservices.views.common import (
    _designer_context,
    _editable,
    _hash_matches,
    _render,
    _save,
    _save_if_current,
    _version_kwargs,
    designer_view,
)

# --- designer: the process (BPMN, lanes, decisions, letter template) ------------------------------


def _letter_preview(source: str, content: dict[str, Any]) -> tuple[Any, str]:
    """The letter template rendered with sample data, or the reason it cannot be rendered."""
    from dikom.cases.letters import LetterTemplateError
    from dikom.eservices import process

    if not source.strip():
        return None, ""
    try:
        return process.render_letter_preview(source, content), ""
    except LetterTemplateError as error:
        return None, _("The letter template cannot be used: %(reason)s") % {"reason": error}


def _process_page(request: HttpRequest, version: ServiceVersion, status: int = 200, **extra: Any) -> HttpResponse:
    from dikom.eservices import process

    content = version.content
    stored = process.process_view(content)
    lanes = stored.lanes if stored else []
    settings_form = extra.pop("settings_form", None) or forms.ProcessSettingsForm(
        initial={**forms.ProcessSettingsForm.initial_from(content, lanes), "content_hash": version.content_hash},
        lanes=lanes,
    )
    if settings_form.is_bound:
        source = settings_form.cleaned_data.get("letter_template_de", "") if settings_form.is_valid() else ""
    else:
        source = settings_form.initial.get("letter_template_de", "")
    preview, preview_error = _letter_preview(source, content)
    from dikom.eservices import decision_forms

    decision_form = extra.pop("decision_form", None) or decision_forms.DecisionUploadForm(
        initial={"content_hash": version.content_hash}
    )
    context = _designer_context(
        version,
        "process",
        process=stored,
        upload_form=extra.pop("upload_form", None)
        or forms.ProcessUploadForm(initial={"content_hash": version.content_hash}),
        settings_form=settings_form,
        letter_preview=preview,
        letter_preview_error=preview_error,
        max_upload_mb=process.MAX_UPLOAD_BYTES // 2**20,
        decision_form=decision_form,
        decision_files=decision_forms.stored_files(content),
        **extra,
    )
    context["process_problems"] = [p for p in context["problems"] if p.path.startswith("processing")]
    return _render(request, "edit_process.html", context, status=status)


@designer_view
@require_http_methods(["GET", "POST"])
def edit_process(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """The process of the service: its diagram and import report, the lanes' org units, sign-off and
    automatic decisions, the letter template with a preview from sample data."""
    from dikom.eservices import process

    version = _editable(request, slug, number)
    if request.method == "POST":
        stored = process.process_view(version.content)
        form = forms.ProcessSettingsForm(request.POST, lanes=stored.lanes if stored else [])
        if not form.is_valid():
            return _process_page(request, version, status=400, settings_form=form)
        if request.POST.get("action") == "preview":
            return _process_page(request, version, settings_form=form, previewing=True)
        _save_if_current(request, version, form.apply(version.content), _("The processing settings were saved."))
        return redirect(reverse("eservices:edit_process", kwargs=_version_kwargs(version)) + "#process-settings")
    return _process_page(request, version)


@designer_view
@require_POST
def process_upload(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """A BPMN file replaces the process. It is checked first: with errors nothing is stored and the
    import report names each problem with its element and line; notes do not stop it."""
    from dikom.eservices import process

    version = _editable(request, slug, number)
    form = forms.ProcessUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        report = form.report
        return _process_page(
            request,
            version,
            status=400,
            upload_form=form,
            refused_errors=process.report_lines(report.errors) if report is not None else [],
            refused_notes=process.report_lines(report.notes) if report is not None else [],
        )
    report = form.report
    lanes = process.lane_names(report)
    content = forms.with_process(version.content, form.cleaned_data["file"], lanes)
    if _hash_matches(request, version) and _save(request, version, content):
        notes = len(report.notes)
        if notes:
            messages.success(
                request,
                ngettext(
                    "The process was stored. The import report lists %(count)s note.",
                    "The process was stored. The import report lists %(count)s notes.",
                    notes,
                )
                % {"count": notes},
            )
        else:
            messages.success(request, _("The process was stored."))
    return redirect(reverse("eservices:edit_process", kwargs=_version_kwargs(version)) + "#process")


@designer_view
@require_POST
def process_delete(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """Remove the process; cases of this version then follow the default one-task process."""
    version = _editable(request, slug, number)
    _save_if_current(
        request,
        version,
        forms.with_process(version.content, None, []),
        _("The process was removed. Cases of this version get one task for the responsible unit."),
    )
    return redirect(reverse("eservices:edit_process", kwargs=_version_kwargs(version)) + "#process")
