"""What the pages of the service library share: language helpers, locating parts of a definition,
linked problems, fee and settings summaries, and the designer's guard and save helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from dikom.eservices import access, actions, forms
from dikom.eservices.models import ServiceVersion
from dikom.eservices.views.preview import (
    _compact,
    _t,
    preview_steps,
)

Status = ServiceVersion.Status
LOCATOR = re.compile(r"^\d{1,3}(?:-\d{1,3}){0,4}$")
PATH_RE = re.compile(r"^steps\[(\d+)\]((?:\.fields\[\d+\])*)")


# --- locating parts of a definition ----------------------------------------------------------


def _parse_locator(locator: str) -> list[int]:
    if not LOCATOR.match(locator):
        raise Http404
    return [int(part) for part in locator.split("-")]


def _locate_field(content: dict[str, Any], step_index: int, locator: list[int]) -> tuple[dict[str, Any], list[Any]]:
    """The field at ``locator`` (indexes, nested into repeating groups) and the list that holds it."""
    steps = content.get("steps") or []
    if not 0 <= step_index < len(steps) or not isinstance(steps[step_index], dict):
        raise Http404
    container = steps[step_index].setdefault("fields", [])
    spec: dict[str, Any] | None = None
    for depth, index in enumerate(locator):
        if not isinstance(container, list) or not 0 <= index < len(container) or not isinstance(container[index], dict):
            raise Http404
        spec = container[index]
        if depth < len(locator) - 1:
            container = spec.get("fields")
    if spec is None:
        raise Http404
    return spec, container


def _step(content: dict[str, Any], step_index: int) -> dict[str, Any]:
    steps = content.get("steps") or []
    if not 0 <= step_index < len(steps) or not isinstance(steps[step_index], dict):
        raise Http404
    return steps[step_index]


def _locator_of(path: str) -> tuple[int, str] | None:
    match = PATH_RE.match(path)
    if match is None:
        return None
    indexes = re.findall(r"\[(\d+)\]", match.group(2))
    return int(match.group(1)), "-".join(indexes)


def _variable_of(content: dict[str, Any], step_index: int, locator: list[int]) -> str:
    step = _step(content, step_index)
    names = [str(step.get("key", ""))]
    container = step.get("fields") or []
    for index in locator:
        spec = container[index]
        names.append(str(spec.get("key", "")))
        container = spec.get("fields") or []
    return ".".join(names)


@dataclass
class LinkedProblem:
    path: str
    code: str
    message: str
    url: str


def problem_url(version: ServiceVersion, path: str) -> str:
    """Where in the designer a problem at ``path`` is fixed."""
    kwargs = {"slug": version.definition.slug, "number": version.number}
    located = _locator_of(path)
    if located is not None:
        step_index, locator = located
        if locator:
            return reverse("eservices:edit_field", kwargs={**kwargs, "step": step_index, "locator": locator})
        return reverse("eservices:edit_step", kwargs={**kwargs, "step": step_index})
    if path.startswith("fees"):
        match = re.match(r"^fees\[(\d+)\]", path)
        if match:
            return reverse("eservices:edit_fee", kwargs={**kwargs, "index": int(match.group(1))})
        return reverse("eservices:edit_fees", kwargs=kwargs)
    if path.startswith(("trust_level", "auth_methods", "payment_required", "summary_step", "documents")):
        return reverse("eservices:edit_settings", kwargs=kwargs)
    if path.startswith("processing"):
        anchor = "#process" if path.startswith("processing.bpmn") else "#process-settings"
        return reverse("eservices:edit_process", kwargs=kwargs) + anchor
    if path == "steps":
        return reverse("eservices:edit", kwargs=kwargs) + "#steps"
    return reverse("eservices:edit", kwargs=kwargs) + "#identity"


def linked_problems(version: ServiceVersion) -> list[LinkedProblem]:
    from dikom.eservices.definition import validate_definition

    return [
        LinkedProblem(p.path, p.code, p.message, problem_url(version, p.path))
        for p in validate_definition(version.content)
    ]


# --- shared page helpers ----------------------------------------------------------------------


def euros(cents: Any) -> str:
    """1250 → "12,50 €" (German notation, the UI's default)."""
    if not isinstance(cents, int) or isinstance(cents, bool):
        return ""
    whole, rest = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole:,}".replace(",", ".") + f",{rest:02d} €"


def fee_rows(content: Any) -> list[dict[str, Any]]:
    fees = content.get("fees") if isinstance(content, dict) else None
    return [
        {
            "index": index,
            "key": fee.get("key", ""),
            "label": _t(fee.get("label")) or fee.get("key", ""),
            "amount": euros(fee.get("amount_cents")),
            "rule": _compact(fee.get("amount_rule")),
            "adjustable": fee.get("locally_adjustable") is True,
        }
        for index, fee in enumerate(fees if isinstance(fees, list) else [])
        if isinstance(fee, dict)
    ]


def settings_summary(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "trust_level": forms.TRUST_LEVEL_LABELS.get(content.get("trust_level", "none"), content.get("trust_level")),
        "auth_methods": [str(forms.AUTH_METHOD_LABELS.get(m, m)) for m in content.get("auth_methods") or []],
    }


def process_context(content: Any, version: ServiceVersion | None = None) -> dict[str, Any]:
    """The process of a definition for the read-only pages (review, library): diagram, text
    alternative, lanes with their shared mapping, decision settings, letter template, and links to the
    decision tables (DMN) of ``version``."""
    from dikom.eservices import decision_forms, process

    processing = content.get("processing") if isinstance(content, dict) else None
    processing = processing if isinstance(processing, dict) else {}
    template = processing.get("letter_template")
    view = process.process_view(content)
    mapping = process.shared_lane_mapping(content)
    return {
        "process": view,
        "process_lanes": [(lane, mapping.get(lane, "")) for lane in (view.lanes if view else [])],
        "processing": {
            "present": bool(processing),
            "sign_off_required": processing.get("sign_off_required") is True,
            "automatic_decision_allowed": processing.get("automatic_decision_allowed") is True,
            "letter_template": template.get("de", "") if isinstance(template, dict) else "",
        },
        "decision_links": [
            (
                f["name"],
                reverse(
                    "eservices:decision_table",
                    kwargs={"slug": version.definition.slug, "number": version.number, "key": f["key"]},
                ),
            )
            for f in decision_forms.stored_files(content)
        ]
        if version is not None
        else [],
    }


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, f"eservices/{template}", context, status=status)


def _version_kwargs(version: ServiceVersion) -> dict[str, Any]:
    return {"slug": version.definition.slug, "number": version.number}


def _redirect_version(version: ServiceVersion, name: str = "eservices:version", **extra: Any) -> HttpResponse:
    return redirect(reverse(name, kwargs={**_version_kwargs(version), **extra}))


def _hash_matches(request: HttpRequest, version: ServiceVersion) -> bool:
    if request.POST.get("content_hash") == version.content_hash:
        return True
    messages.error(
        request,
        _(
            "The service was changed meanwhile (perhaps by a colleague). Your change was not saved; check the current state and try again."
        ),
    )
    return False


def _editable(request: HttpRequest, slug: str, number: int) -> ServiceVersion:
    """A version the user may edit: 404 if he may not see it, 403 if he does not design for its city,
    and ``NotEditable`` (a redirect to the version page) when its status does not allow editing."""
    version = access.get_version_for_designer(request.user, slug, number)
    if not version.is_editable:
        raise NotEditable(version)
    return version


class NotEditable(Exception):
    def __init__(self, version: ServiceVersion) -> None:
        self.version = version


def designer_view(view: Any) -> Any:
    """Log-in required; a version that is no longer editable leads to its read-only page."""

    @login_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotEditable as exc:
            messages.error(
                request,
                _("This version can no longer be edited (status: %(status)s).")
                % {"status": exc.version.get_status_display()},
            )
            return _redirect_version(exc.version)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _save(request: HttpRequest, version: ServiceVersion, content: dict[str, Any]) -> bool:
    try:
        actions.update_draft(version, actor=request.user, content=content)
    except actions.WorkflowError as exc:
        messages.error(request, exc.message)
        return False
    return True


def _save_if_current(request: HttpRequest, version: ServiceVersion, content: dict[str, Any], done: str) -> None:
    """Save the designer's change unless a colleague changed the draft meanwhile; say what happened."""
    if _hash_matches(request, version) and _save(request, version, content):
        messages.success(request, done)


def _designer_context(version: ServiceVersion, section: str, **extra: Any) -> dict[str, Any]:
    content = version.content
    return {
        "version": version,
        "definition": version.definition,
        "section": section,
        "content_hash": version.content_hash,
        "steps": preview_steps(content),
        "problems": linked_problems(version),
        "fee_rows": fee_rows(content),
        "field_types": forms.FIELD_TYPE_LABELS,
        **extra,
    }
