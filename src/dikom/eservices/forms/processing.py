"""The designer's processing forms: BPMN process upload, lanes, decision settings, letter template."""

from __future__ import annotations

import copy
import io
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from dikom.eservices.forms.base import (
    ConcurrencyMixin,
)

# --- processing: BPMN process, lanes, decision settings, letter template ------------------------


class ProcessUploadForm(ConcurrencyMixin):
    """A BPMN 2.0 file for the service. It is checked on upload; with errors it is not stored."""

    file = forms.FileField(
        label=_("BPMN 2.0 file"),
        help_text=_(
            "A .bpmn or .xml file as saved by a modelling tool (Camunda Modeler, Signavio, ADONIS, Bizagi, …), "
            "at most 5 MB. It replaces the current process."
        ),
        widget=forms.FileInput(attrs={"accept": ".bpmn,.xml,application/xml,text/xml"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "upload-%s")  # shares its page with the settings form
        super().__init__(*args, **kwargs)
        self.report: Any = None

    def clean_file(self) -> str:
        from dikom.cases.bpmn.checks import inspect
        from dikom.eservices import process
        from dikom.scanning.service import check_upload

        upload = self.cleaned_data["file"]
        if not str(upload.name or "").lower().endswith(process.UPLOAD_SUFFIXES):
            raise ValidationError(_("Upload a BPMN file: its name must end in .bpmn or .xml."))
        limit_mb = process.MAX_UPLOAD_BYTES // 2**20
        if upload.size > process.MAX_UPLOAD_BYTES:
            raise ValidationError(_("The file is larger than %(size)s MB.") % {"size": limit_mb})
        data = upload.read(process.MAX_UPLOAD_BYTES + 1)
        if len(data) > process.MAX_UPLOAD_BYTES:
            raise ValidationError(_("The file is larger than %(size)s MB.") % {"size": limit_mb})
        refused = check_upload(io.BytesIO(data))
        if refused:
            raise ValidationError(refused)
        try:
            xml = process.decode_upload(data)
        except process.UploadError as exc:
            raise ValidationError(exc.message) from exc
        from dikom.eservices.service import released_process

        self.report = report = inspect(xml, resolve_process=released_process)
        if report.errors:
            first = report.errors[0]
            if report.process_id is None and len(report.errors) == 1:
                reason = str(first.message)
                if first.line:
                    reason += " " + str(_("(line %(line)s)") % {"line": first.line})
                raise ValidationError(_("The process was not stored: %(reason)s") % {"reason": reason})
            raise ValidationError(
                ngettext_lazy(
                    "The process was not stored: the file contains %(count)s error that dikom cannot run. "
                    "The import report below names the element and line.",
                    "The process was not stored: the file contains %(count)s errors that dikom cannot run. "
                    "The import report below names the elements and lines.",
                    "count",
                )
                % {"count": len(report.errors)}
            )
        if report.process_id is None:
            raise ValidationError(_("The process was not stored: the file contains no process."))
        return xml


class ProcessSettingsForm(ConcurrencyMixin):
    """Lane mapping, decision settings and the letter template of ``processing``."""

    sign_off_required = forms.BooleanField(
        label=_("Decisions need a second sign-off"),
        required=False,
        help_text=_("A second person of the unit signs each decision off before the letter is sent."),
    )
    automatic_decision_allowed = forms.BooleanField(
        label=_("May be decided automatically"),
        required=False,
        help_text=_("For fully rule-based services: a city's automation rule may decide; the letter says so."),
    )
    letter_template_de = forms.CharField(
        label=_("Letter template (German)"),
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 12, "class": "code", "spellcheck": "false"}),
        help_text=_(
            "HTML with Django template tags, placed into the city's letter frame. Available: "
            "{{ case.reference }}, {{ case.service }}, {{ case.outcome_label }}, {{ case.reasons }}, "
            "{{ case.decided_at }}, {{ answers.<step>.<field> }}, {{ fees.total }}, {{ municipality.name }}. "
            "No include, extends or load."
        ),
    )

    def __init__(self, *args: Any, lanes: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lanes = lanes
        self.lane_fields: list[str] = []
        for index, lane in enumerate(lanes):
            name = f"lane_{index}"
            self.fields[name] = forms.CharField(
                label=_("Lane “%(lane)s”") % {"lane": lane},
                required=False,
                max_length=200,
                help_text=_("Name or short name of the organisational unit, as the cities call it."),
            )
            self.lane_fields.append(name)
        # lanes first, as on the page
        self.order_fields([*self.lane_fields, "sign_off_required", "automatic_decision_allowed"])

    @staticmethod
    def initial_from(content: dict[str, Any], lanes: list[str]) -> dict[str, Any]:
        found = content.get("processing")
        processing: dict[str, Any] = found if isinstance(found, dict) else {}
        mapping: dict[str, Any] = processing["lanes"] if isinstance(processing.get("lanes"), dict) else {}
        template = processing.get("letter_template")
        initial: dict[str, Any] = {
            "sign_off_required": processing.get("sign_off_required") is True,
            "automatic_decision_allowed": processing.get("automatic_decision_allowed") is True,
            "letter_template_de": template.get("de", "") if isinstance(template, dict) else "",
        }
        for index, lane in enumerate(lanes):
            value = mapping.get(lane)
            initial[f"lane_{index}"] = value if isinstance(value, str) else ""
        return initial

    def clean_letter_template_de(self) -> str:
        from dikom.cases.letters import LetterTemplateError, check_template

        source = self.cleaned_data["letter_template_de"].replace("\r\n", "\n")
        if source.strip():
            try:
                check_template(source)
            except LetterTemplateError as error:
                raise ValidationError(
                    _("The letter template cannot be used: %(reason)s") % {"reason": error}
                ) from error
        return source

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("sign_off_required") and data.get("automatic_decision_allowed"):
            self.add_error(
                "automatic_decision_allowed",
                _("A service whose decisions need a second sign-off cannot be decided automatically."),
            )
        return data

    def apply(self, content: dict[str, Any]) -> dict[str, Any]:
        data = self.cleaned_data
        content = copy.deepcopy(content)
        processing = content.get("processing")
        if not isinstance(processing, dict):
            processing = content["processing"] = {}
        processing["sign_off_required"] = data["sign_off_required"]
        processing["automatic_decision_allowed"] = data["automatic_decision_allowed"]
        lanes = {
            lane: data[f"lane_{index}"].strip()
            for index, lane in enumerate(self.lanes)
            if data[f"lane_{index}"].strip()
        }
        if lanes:
            processing["lanes"] = lanes
        else:
            processing.pop("lanes", None)
        if data["letter_template_de"].strip():
            processing["letter_template"] = {"de": data["letter_template_de"]}
        else:
            processing.pop("letter_template", None)
        return content


def with_process(content: dict[str, Any], xml: str | None, lanes: list[str]) -> dict[str, Any]:
    """A copy of ``content`` with the process ``xml`` (None: without a process). The lane mapping
    keeps the lanes the new process still has."""
    content = copy.deepcopy(content)
    processing = content.get("processing")
    if not isinstance(processing, dict):
        processing = {}
    old: dict[str, Any] = processing["lanes"] if isinstance(processing.get("lanes"), dict) else {}
    mapping = {lane: target for lane, target in old.items() if lane in lanes}
    if xml is None:
        processing.pop("bpmn", None)
    else:
        processing["bpmn"] = xml
    if mapping:
        processing["lanes"] = mapping
    else:
        processing.pop("lanes", None)
    if processing:
        content["processing"] = processing
    else:
        content.pop("processing", None)
    return content
