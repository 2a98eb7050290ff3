"""Forms for the decision tables (DMN) of a service: upload, and the test form built from a table's inputs."""

from __future__ import annotations

import copy
import io
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dikom.cases.dmn import library
from dikom.cases.dmn.tables import Decision, Decisions, DmnRefused, Problem
from dikom.eservices.forms import ConcurrencyMixin

UPLOAD_SUFFIXES = (".dmn", ".xml")
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
_KEY = re.compile(r"[^A-Za-z0-9_-]+")


class DecisionUploadForm(ConcurrencyMixin):
    """A DMN file for the service; it is checked on upload and stored only without problems."""

    file = forms.FileField(
        label=_("DMN file"),
        help_text=_(
            "A .dmn or .xml file (DMN 1.1 to 1.5) as saved by Camunda Modeler, Trisotech or another tool, at most "
            "2 MB. A file with the same id replaces the stored one."
        ),
        widget=forms.FileInput(attrs={"accept": ".dmn,.xml,application/xml,text/xml"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "dmn-%s")
        super().__init__(*args, **kwargs)
        self.problems: list[Problem] = []
        self.decisions: Decisions | None = None
        self.key = ""
        self.xml = ""

    def clean_file(self) -> str:
        from dikom.eservices import process
        from dikom.scanning.service import check_upload

        upload = self.cleaned_data["file"]
        name = str(upload.name or "")
        if not name.lower().endswith(UPLOAD_SUFFIXES):
            raise ValidationError(_("Upload a DMN file: its name must end in .dmn or .xml."))
        data = upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise ValidationError(_("The file is larger than %(size)s MB.") % {"size": MAX_UPLOAD_BYTES // 2**20})
        refused = check_upload(io.BytesIO(data))
        if refused:
            raise ValidationError(refused)
        try:
            xml = process.decode_upload(data)
        except process.UploadError as exc:
            raise ValidationError(exc.message) from exc
        try:
            self.decisions = library.parse(xml)
        except DmnRefused as refused_file:
            self.problems = refused_file.problems
            raise ValidationError(
                _("The decision tables were not stored: %(count)s problems, listed below with element and line.")
                % {"count": len(refused_file.problems)}
            ) from None
        ident = _definitions_id(xml) or PurePosixPath(name).stem
        self.key = _KEY.sub("-", ident).strip("-")[:80] or "entscheidungen"
        self.xml = xml
        return xml


def _definitions_id(xml: str) -> str:
    match = re.search(r"<(?:\w+:)?definitions\b[^>]*?\sid=\"([^\"]+)\"", xml)
    return match.group(1) if match else ""


def with_decisions(content: dict[str, Any], key: str, xml: str | None) -> dict[str, Any]:
    """A copy of ``content`` with DMN file ``key`` stored (or removed when ``xml`` is None)."""
    content = copy.deepcopy(content)
    found = content.get("processing")
    processing: dict[str, Any] = found if isinstance(found, dict) else {}
    stored = processing.get("decisions")
    files: dict[str, Any] = dict(stored) if isinstance(stored, dict) else {}
    if xml is None:
        files.pop(key, None)
    else:
        files[key] = xml
    if files:
        processing["decisions"] = files
    else:
        processing.pop("decisions", None)
    if processing:
        content["processing"] = processing
    else:
        content.pop("processing", None)
    return content


class DecisionTestForm(forms.Form):
    """One field per input column of a decision table; values are read as the column's type says."""

    def __init__(self, decision: Decision, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "test-%s")
        super().__init__(*args, **kwargs)
        self.decision = decision
        self.names: dict[str, str] = {}
        for index, column in enumerate(decision.inputs):
            field_name = f"input_{index}"
            variable = column.text if re.fullmatch(r"[A-Za-z_]\w*", column.text) else ""
            help_text = _("Type: %(type)s") % {"type": column.type_ref or _("any")}
            if column.allowed:
                help_text += " · " + str(_("Allowed: %(values)s") % {"values": column.allowed})
            if column.type_ref == "boolean":
                self.fields[field_name] = forms.TypedChoiceField(
                    label=column.label,
                    required=False,
                    choices=[("", _("empty")), ("true", _("yes (true)")), ("false", _("no (false)"))],
                    help_text=help_text,
                )
            else:
                self.fields[field_name] = forms.CharField(
                    label=column.label, required=False, max_length=500, help_text=help_text
                )
            self.names[field_name] = variable or "_".join(column.text.split())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for index, column in enumerate(self.decision.inputs):
            field_name = f"input_{index}"
            raw = str(cleaned.get(field_name) or "").strip()
            try:
                cleaned[field_name] = _typed(raw, column.type_ref)
            except ValueError as exc:
                self.add_error(field_name, str(exc))
        return cleaned

    def data_for_decision(self) -> dict[str, Any]:
        """The case data the decision is evaluated with (input expression names → typed values)."""
        return {self.names[name]: self.cleaned_data.get(name) for name in self.names}


def _typed(raw: str, type_ref: str) -> Any:
    if raw == "":
        return None
    if type_ref == "boolean":
        return raw == "true"
    if type_ref in {"number", "integer", "long", "double", "decimal"}:
        try:
            number = Decimal(raw.replace(",", "."))
        except InvalidOperation:
            raise ValueError(_("Enter a number.")) from None
        if not number.is_finite():
            raise ValueError(_("Enter a number."))
        return int(number) if number == number.to_integral_value() else float(number)
    if type_ref == "date":
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise ValueError(_("Enter a date as YYYY-MM-DD.")) from None
    return raw


def stored_files(content: Any) -> list[dict[str, Any]]:
    """The service's DMN files for the process page: key, name, decisions (hit policy, rule count)."""
    files = []
    for key, xml in sorted(library.files_of(content).items()):
        try:
            decisions = library.parse(xml)
        except DmnRefused as refused:
            files.append({"key": key, "name": key, "decisions": [], "problems": refused.problems})
            continue
        files.append({"key": key, "name": decisions.name or key, "decisions": decisions.decisions, "problems": []})
    return files
