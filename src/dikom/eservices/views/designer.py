"""The designer: overview, identity, submission, steps, fields and the live preview."""

from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dikom.eservices import access, actions, forms
from dikom.eservices.models import ReviewComment, ServiceVersion
from dikom.eservices.views.common import (
    _designer_context,
    _editable,
    _hash_matches,
    _locate_field,
    _locator_of,
    _parse_locator,
    _redirect_version,
    _render,
    _save,
    _save_if_current,
    _step,
    _variable_of,
    _version_kwargs,
    designer_view,
    linked_problems,
)
from dikom.eservices.views.preview import (
    _attach,
    _language,
    _walk_preview,
    preview_steps,
)

# --- designer: overview, identity, submit ---------------------------------------------------------


def _editor(request: HttpRequest, version: ServiceVersion, status: int = 200, **forms_: Any) -> HttpResponse:
    content = version.content
    context = _designer_context(
        version,
        "overview",
        identity_form=forms_.get("identity_form")
        or forms.IdentityForm(
            initial={**forms.IdentityForm.initial_from(content), "content_hash": version.content_hash}
        ),
        add_step_form=forms_.get("add_step_form") or forms.AddStepForm(initial={"content_hash": version.content_hash}),
        submit_blocked=forms_.get("submit_blocked", False),
    )
    _attach(context["steps"], context["problems"], "problems")
    context["open_comments"] = ReviewComment.objects.filter(version=version, resolved=False).count()
    return _render(request, "edit.html", context, status=status)


@designer_view
@require_GET
def edit(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """The designer's overview: identity, steps, fees, settings, problems, submission."""
    return _editor(request, _editable(request, slug, number))


@designer_view
@require_POST
def edit_identity(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _editable(request, slug, number)
    form = forms.IdentityForm(request.POST)
    if not form.is_valid():
        return _editor(request, version, status=400, identity_form=form)
    _save_if_current(request, version, form.apply(version.content), _("The identity was saved."))
    return redirect(reverse("eservices:edit", kwargs=_version_kwargs(version)) + "#identity")


@designer_view
@require_POST
def submit(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _editable(request, slug, number)
    if not _hash_matches(request, version):
        return _redirect_version(version, "eservices:edit")
    try:
        actions.submit_for_review(version, actor=request.user)
    except actions.SubmissionBlocked:
        messages.error(request, _("The service cannot be submitted yet. Solve the problems listed below first."))
        return _editor(request, version, status=400, submit_blocked=True)
    except actions.WorkflowError as exc:
        messages.error(request, exc.message)
        return _redirect_version(version, "eservices:edit")
    messages.success(request, _("The version was submitted to the working group for review."))
    return _redirect_version(version)


@login_required
@require_POST
def withdraw(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = access.get_version_for_designer(request.user, slug, number)
    try:
        actions.withdraw_version(version, actor=request.user)
    except actions.WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The version was withdrawn."))
    return _redirect_version(version)


# --- designer: steps -------------------------------------------------------------------------------


@designer_view
@require_POST
def step_add(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _editable(request, slug, number)
    form = forms.AddStepForm(request.POST)
    if not form.is_valid():
        return _editor(request, version, status=400, add_step_form=form)
    if not _hash_matches(request, version):
        return _redirect_version(version, "eservices:edit")
    content, index = form.apply(version.content)
    if _save(request, version, content):
        messages.success(request, _("The step was added."))
        return _redirect_version(version, "eservices:edit_step", step=index)
    return _redirect_version(version, "eservices:edit")


@designer_view
@require_POST
def step_move(request: HttpRequest, slug: str, number: int, step: int) -> HttpResponse:
    version = _editable(request, slug, number)
    content = copy.deepcopy(version.content)
    _step(content, step)
    target = step - 1 if request.POST.get("direction") == "up" else step + 1
    steps = content["steps"]
    if _hash_matches(request, version) and 0 <= target < len(steps):
        steps[step], steps[target] = steps[target], steps[step]
        if _save(request, version, content):
            messages.success(request, _("The step was moved."))
    return redirect(reverse("eservices:edit", kwargs=_version_kwargs(version)) + "#steps")


@designer_view
@require_POST
def step_delete(request: HttpRequest, slug: str, number: int, step: int) -> HttpResponse:
    version = _editable(request, slug, number)
    content = copy.deepcopy(version.content)
    _step(content, step)
    if _hash_matches(request, version):
        del content["steps"][step]
        if _save(request, version, content):
            messages.success(
                request, _("The step was deleted. Rules that referred to its fields are listed as problems.")
            )
    return redirect(reverse("eservices:edit", kwargs=_version_kwargs(version)) + "#steps")


def _step_page(
    request: HttpRequest, version: ServiceVersion, step_index: int, status: int = 200, **extra: Any
) -> HttpResponse:
    content = version.content
    step = _step(content, step_index)
    language = request.GET.get("sprache") if request.GET.get("sprache") in ("de", "en") else _language()
    context = _designer_context(version, "steps", **extra)
    steps = context["steps"]
    if language != _language():
        steps = preview_steps(content, language)
        context["steps"] = steps
    _attach(steps, context["problems"], "problems")
    current = steps[step_index]
    for item in _walk_preview(current.fields):
        located = _locator_of(item.path)
        if located:
            item.locator = located[1]
            item.edit_url = reverse(
                "eservices:edit_field",
                kwargs={**_version_kwargs(version), "step": step_index, "locator": located[1]},
            )
    context.update(
        {
            "step_index": step_index,
            "step": step,
            "current": current,
            "preview_language": language,
            "step_form": extra.get("step_form")
            or forms.StepForm(
                initial={**forms.StepForm.initial_from(step), "content_hash": version.content_hash},
                content=content,
                index=step_index,
            ),
            "add_field_form": extra.get("add_field_form")
            or forms.AddFieldForm(initial={"content_hash": version.content_hash}),
            "field_types": forms.FIELD_TYPE_LABELS,
        }
    )
    return _render(request, "edit_step.html", context, status=status)


@designer_view
@require_http_methods(["GET", "POST"])
def edit_step(request: HttpRequest, slug: str, number: int, step: int) -> HttpResponse:
    """One step: its title and visibility rule, its fields (add, reorder, delete) and the live preview."""
    version = _editable(request, slug, number)
    _step(version.content, step)
    if request.method == "POST":
        form = forms.StepForm(request.POST, content=version.content, index=step)
        if not form.is_valid():
            return _step_page(request, version, step, status=400, step_form=form)
        _save_if_current(request, version, form.apply(version.content), _("The step was saved."))
        return _redirect_version(version, "eservices:edit_step", step=step)
    return _step_page(request, version, step)


@designer_view
@require_POST
def field_add(request: HttpRequest, slug: str, number: int, step: int) -> HttpResponse:
    """A new field at the end of the step, or of a repeating group (``group`` = its locator)."""
    version = _editable(request, slug, number)
    content = copy.deepcopy(version.content)
    step_spec = _step(content, step)
    form = forms.AddFieldForm(request.POST)
    if not form.is_valid():
        return _step_page(request, version, step, status=400, add_field_form=form)
    group = request.POST.get("group", "")
    if group:
        group_spec, _siblings = _locate_field(content, step, _parse_locator(group))
        if group_spec.get("type") != "repeating_group":
            raise Http404
        container = group_spec.setdefault("fields", [])
        prefix = [*_parse_locator(group)]
    else:
        container = step_spec.setdefault("fields", [])
        prefix = []
    if not _hash_matches(request, version):
        return _redirect_version(version, "eservices:edit_step", step=step)
    form.apply(container)
    if _save(request, version, content):
        messages.success(request, _("The field was added. Now set its details."))
        locator = "-".join(str(i) for i in [*prefix, len(container) - 1])
        return _redirect_version(version, "eservices:edit_field", step=step, locator=locator)
    return _redirect_version(version, "eservices:edit_step", step=step)


@designer_view
@require_POST
def field_move(request: HttpRequest, slug: str, number: int, step: int, locator: str) -> HttpResponse:
    version = _editable(request, slug, number)
    content = copy.deepcopy(version.content)
    indexes = _parse_locator(locator)
    _spec, container = _locate_field(content, step, indexes)
    index = indexes[-1]
    target = index - 1 if request.POST.get("direction") == "up" else index + 1
    if _hash_matches(request, version) and 0 <= target < len(container):
        container[index], container[target] = container[target], container[index]
        if _save(request, version, content):
            messages.success(request, _("The field was moved."))
    return redirect(reverse("eservices:edit_step", kwargs={**_version_kwargs(version), "step": step}) + "#fields")


@designer_view
@require_POST
def field_delete(request: HttpRequest, slug: str, number: int, step: int, locator: str) -> HttpResponse:
    version = _editable(request, slug, number)
    content = copy.deepcopy(version.content)
    indexes = _parse_locator(locator)
    _spec, container = _locate_field(content, step, indexes)
    if _hash_matches(request, version):
        del container[indexes[-1]]
        if _save(request, version, content):
            messages.success(request, _("The field was deleted. Rules that referred to it are listed as problems."))
    return redirect(reverse("eservices:edit_step", kwargs={**_version_kwargs(version), "step": step}) + "#fields")


def _apply_field_form(
    version: ServiceVersion, step: int, indexes: list[int], data: Any
) -> tuple[forms.FieldForm, dict[str, Any]]:
    """Bind the field form to ``data`` and return it with the content as it would be after saving."""
    content = copy.deepcopy(version.content)
    spec, container = _locate_field(content, step, indexes)
    form = forms.FieldForm(data, content=content, field=spec, siblings=container)
    if form.is_valid():
        old_variable = _variable_of(content, step, indexes)
        old_key = form.apply(spec)
        if old_key is not None:
            forms.rename_variables(content, old_variable, _variable_of(content, step, indexes))
    return form, content


@designer_view
@require_http_methods(["GET", "POST"])
def edit_field(request: HttpRequest, slug: str, number: int, step: int, locator: str) -> HttpResponse:
    """One field: label, help, required, validation, options, rules; with the step's live preview."""
    version = _editable(request, slug, number)
    indexes = _parse_locator(locator)
    spec, siblings = _locate_field(copy.deepcopy(version.content), step, indexes)
    status = 200
    if request.method == "POST":
        form, content = _apply_field_form(version, step, indexes, request.POST)
        if form.is_valid():
            _save_if_current(request, version, content, _("The field was saved."))
            return _redirect_version(version, "eservices:edit_field", step=step, locator=locator)
        status = 400
    else:
        form = forms.FieldForm(
            initial={**forms.FieldForm.initial_from(spec), "content_hash": version.content_hash},
            content=version.content,
            field=spec,
            siblings=siblings,
        )
    path = f"steps[{step}]" + "".join(f".fields[{i}]" for i in indexes)
    return _step_page(
        request,
        version,
        step,
        status=status,
        field_form=form,
        field_spec=spec,
        field_locator=locator,
        field_path=path,
        field_type_label=forms.FIELD_TYPE_LABELS.get(str(spec.get("type")), spec.get("type")),
        field_problems=[p for p in linked_problems(version) if p.path == path or p.path.startswith(path + ".")],
        preview_url=reverse("eservices:preview", kwargs={**_version_kwargs(version), "step": step}),
    )


@designer_view
@require_http_methods(["GET", "POST"])
def preview(request: HttpRequest, slug: str, number: int, step: int) -> HttpResponse:
    """The citizen's view of one step as an HTML fragment. POSTed with a field form (by
    designer.js while the designer types), it shows the unsaved change; nothing is stored."""
    version = _editable(request, slug, number)
    content = version.content
    locator = request.POST.get("locator", "") if request.method == "POST" else ""
    if locator:
        _form, content = _apply_field_form(version, step, _parse_locator(locator), request.POST)
    language = request.GET.get("sprache") if request.GET.get("sprache") in ("de", "en") else _language()
    steps = preview_steps(content, language)
    if not 0 <= step < len(steps):
        raise Http404
    return _render(request, "_preview_step.html", {"current": steps[step], "standalone": True})
