"""The designer: fees, settings and documents."""

from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dikom.eservices import forms
from dikom.eservices.models import ServiceVersion
from dikom.eservices.views.common import (
    _designer_context,
    _editable,
    _hash_matches,
    _redirect_version,
    _render,
    _save,
    _save_if_current,
    _version_kwargs,
    designer_view,
)
from dikom.eservices.views.preview import (
    _t,
)

# --- designer: fees and settings -------------------------------------------------------------------


def _fees_page(request: HttpRequest, version: ServiceVersion, status: int = 200, **extra: Any) -> HttpResponse:
    context = _designer_context(
        version,
        "fees",
        fee_form=extra.pop("fee_form", None)
        or forms.FeeForm(initial={"content_hash": version.content_hash}, content=version.content),
        **extra,
    )
    return _render(request, "edit_fees.html", context, status=status)


@designer_view
@require_http_methods(["GET", "POST"])
def edit_fees(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """The fees: a fixed amount or a calculation rule each, and whether cities may set their own amount."""
    version = _editable(request, slug, number)
    if request.method == "POST":
        form = forms.FeeForm(request.POST, content=version.content)
        if not form.is_valid():
            return _fees_page(request, version, status=400, fee_form=form)
        _save_if_current(request, version, form.apply(version.content), _("The fee was added."))
        return _redirect_version(version, "eservices:edit_fees")
    return _fees_page(request, version)


def _fee(content: dict[str, Any], index: int) -> dict[str, Any]:
    fees = content.get("fees") or []
    if not 0 <= index < len(fees) or not isinstance(fees[index], dict):
        raise Http404
    return fees[index]


@designer_view
@require_http_methods(["GET", "POST"])
def edit_fee(request: HttpRequest, slug: str, number: int, index: int) -> HttpResponse:
    version = _editable(request, slug, number)
    fee = _fee(version.content, index)
    if request.method == "POST":
        form = forms.FeeForm(request.POST, content=version.content, index=index)
        if form.is_valid():
            _save_if_current(request, version, form.apply(version.content), _("The fee was saved."))
            return _redirect_version(version, "eservices:edit_fees")
        status = 400
    else:
        form = forms.FeeForm(
            initial={**forms.FeeForm.initial_from(fee), "content_hash": version.content_hash},
            content=version.content,
            index=index,
        )
        status = 200
    context = _designer_context(version, "fees", fee_form=form, fee=fee, fee_index=index)
    return _render(request, "edit_fee.html", context, status=status)


@designer_view
@require_POST
def fee_delete(request: HttpRequest, slug: str, number: int, index: int) -> HttpResponse:
    version = _editable(request, slug, number)
    content = copy.deepcopy(version.content)
    _fee(content, index)
    if _hash_matches(request, version):
        del content["fees"][index]
        if _save(request, version, content):
            messages.success(request, _("The fee was deleted."))
    return _redirect_version(version, "eservices:edit_fees")


def _settings_page(request: HttpRequest, version: ServiceVersion, status: int = 200, **extra: Any) -> HttpResponse:
    content = version.content
    context = _designer_context(
        version,
        "settings",
        settings_form=extra.pop("settings_form", None)
        or forms.SettingsForm(
            initial={**forms.SettingsForm.initial_from(content), "content_hash": version.content_hash}
        ),
        document_form=extra.pop("document_form", None)
        or forms.DocumentForm(initial={"content_hash": version.content_hash}),
        documents=[
            {
                "index": i,
                "title": _t(d.get("title")),
                "kind": forms.DOCUMENT_KIND_LABELS.get(str(d.get("kind")), d.get("kind")),
            }
            for i, d in enumerate(content.get("documents") or [])
            if isinstance(d, dict)
        ],
        **extra,
    )
    return _render(request, "edit_settings.html", context, status=status)


@designer_view
@require_http_methods(["GET", "POST"])
def edit_settings(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """Trust level, authentication methods, payment, summary step and the documents citizens receive."""
    version = _editable(request, slug, number)
    if request.method == "POST":
        form = forms.SettingsForm(request.POST)
        if not form.is_valid():
            return _settings_page(request, version, status=400, settings_form=form)
        _save_if_current(request, version, form.apply(version.content), _("The settings were saved."))
        return _redirect_version(version, "eservices:edit_settings")
    return _settings_page(request, version)


@designer_view
@require_POST
def document_add(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _editable(request, slug, number)
    form = forms.DocumentForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, version, status=400, document_form=form)
    _save_if_current(request, version, form.apply(version.content), _("The document was added."))
    return redirect(reverse("eservices:edit_settings", kwargs=_version_kwargs(version)) + "#documents")


@designer_view
@require_POST
def document_delete(request: HttpRequest, slug: str, number: int, index: int) -> HttpResponse:
    version = _editable(request, slug, number)
    content = copy.deepcopy(version.content)
    documents = content.get("documents") or []
    if not 0 <= index < len(documents):
        raise Http404
    if _hash_matches(request, version):
        del documents[index]
        if _save(request, version, content):
            messages.success(request, _("The document was removed."))
    return redirect(reverse("eservices:edit_settings", kwargs=_version_kwargs(version)) + "#documents")
