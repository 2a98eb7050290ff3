"""The markup of a step's fields without the template engine (issue 21, fourth round).

``portal/_field.html`` is the definition of a field's markup; rendering it once per field
through ``{% include %}`` was about a fifth of a step page's CPU. ``render_fields`` writes the
same bytes in Python for the field types whose values are plain strings (the usual case) and
falls back to the template for everything else: repeating groups, and any value that the
template would localise or format (numbers, dates, anything but ``str``/``None``), so no
formatting rule of the template is re-implemented here. ``portal/tests/test_field_html.py``
renders every field type in German and English, with and without help, errors, required
marks, values with HTML characters and chosen options, through both and compares the bytes.

Escaping is the template's: every value goes through ``conditional_escape`` as ``{{ … }}``
does, texts of ``{% translate %}`` too; the info text through ``linebreaks`` as the filter does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.template.loader import get_template
from django.utils.html import conditional_escape as e
from django.utils.html import linebreaks
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from dikom.portal.steps import BoundField

TEMPLATE = "portal/_field.html"

_INPUT_TYPES = {
    "email": 'type="email" autocomplete="email"',
    "phone": 'type="tel" autocomplete="tel"',
    "date": 'type="date"',
    "number": 'type="text" inputmode="decimal"',
    "postcode": 'type="text" inputmode="numeric" autocomplete="postal-code"',
}
_TEXT_TYPE = 'type="text"'
_ADDRESS_PARTS = ("street", "house_number", "postcode", "city")


def render_fields(fields: Iterable[BoundField]) -> SafeString:
    """What ``{% for field in fields %}{% include "portal/_field.html" %}{% endfor %}`` renders."""
    return mark_safe("".join(_field(field) for field in fields))  # noqa: S308 - every part escaped below


def _template(field: BoundField) -> str:
    return str(get_template(TEMPLATE).render({"field": field}))


def _plain(value: Any) -> bool:
    return value is None or type(value) is str


def _field(field: BoundField) -> str:
    kind = field.type
    value = field.value
    if kind == "info":
        branch = f'\n<div class="notice" id="{e(field.id)}">{linebreaks(field.text, autoescape=True)}</div>\n'
    elif kind in ("yes_no", "multi_select", "address"):
        if not _fieldset_value(kind, value):
            return _template(field)
        branch = _fieldset(field)
    elif kind == "checkbox":
        branch = _checkbox(field)
    elif kind == "repeating_group" or (kind != "file" and not _plain(value)):  # a file shows only its name
        return _template(field)
    else:
        branch = _plain_field(field)
    return f"\n{branch}\n"


def _fieldset_value(kind: str, value: Any) -> bool:
    """Values this module writes as the template does: a choice, a list of choices, address parts."""
    if value is None:
        return True
    if kind == "yes_no":
        return type(value) is str
    if kind == "multi_select":
        return type(value) is list and all(type(v) is str for v in value)
    return type(value) is dict and all(_plain(value.get(part)) for part in _ADDRESS_PARTS)


def _described(field: BoundField) -> str:
    ids = field.described_by
    return f' aria-describedby="{e(ids)}"' if ids else ""


def _invalid(field: BoundField) -> str:
    return ' aria-invalid="true"' if field.errors else ""


def _required(field: BoundField) -> str:
    return f' <span class="required">({e(gettext("required"))})</span>' if field.required else ""


def _help(field: BoundField) -> str:
    return f'<p class="help" id="{e(field.id)}-help">{e(field.help)}</p>' if field.help else ""


def _errors(field: BoundField) -> str:
    if not field.errors:
        return ""
    items = "".join(f"<li>{e(message)}</li>" for message in field.errors)
    return f'<ul class="errorlist" id="{e(field.id)}-error">{items}</ul>'


def _fieldset(field: BoundField) -> str:
    fid, name, kind, value = e(field.id), e(field.name), field.type, field.value
    if kind == "yes_no":
        radios = []
        for choice, label in (("yes", "Yes"), ("no", "No")):
            checked = " checked" if value == choice else ""
            radios.append(
                f'  <div><input type="radio" name="{name}" id="{fid}-{choice}" value="{choice}"{checked}{_invalid(field)}>'
                f' <label for="{fid}-{choice}">{e(gettext(label))}</label></div>\n'
            )
        inner = "\n" + "".join(radios) + "  "
    elif kind == "multi_select":
        chosen = value if type(value) is list else []
        options = "".join(
            f'<div><input type="checkbox" name="{name}" id="{fid}-{n}" value="{e(o["value"])}"'
            f'{" checked" if o["value"] in chosen else ""}> <label for="{fid}-{n}">{e(o["label"])}</label></div>'
            for n, o in enumerate(field.options, start=1)
        )
        inner = f"\n  {options}\n  "
    else:
        parts = value if type(value) is dict else {}

        def part(key: str) -> str:
            return e(parts.get(key) or "")

        inner = (
            f'\n  <div><label for="{fid}-street">{e(gettext("Street"))}</label><input type="text" id="{fid}-street"'
            f' name="{name}-street" value="{part("street")}" autocomplete="address-line1"></div>\n'
            f'  <div><label for="{fid}-house_number">{e(gettext("House number"))}</label><input type="text"'
            f' id="{fid}-house_number" name="{name}-house_number" value="{part("house_number")}"></div>\n'
            f'  <div><label for="{fid}-postcode">{e(gettext("Postcode"))}</label><input type="text" inputmode="numeric"'
            f' id="{fid}-postcode" name="{name}-postcode" value="{part("postcode")}" autocomplete="postal-code"></div>\n'
            f'  <div><label for="{fid}-city">{e(gettext("City"))}</label><input type="text" id="{fid}-city"'
            f' name="{name}-city" value="{part("city")}" autocomplete="address-level2"></div>\n  '
        )
    return (
        f'\n<fieldset class="form__field" id="{fid}"{_described(field)}>\n'
        f"  <legend>{e(field.label)}{_required(field)}</legend>\n"
        f"  {_help(field)}\n"
        f"  {_errors(field)}\n"
        f"  {inner}\n"
        "</fieldset>\n"
    )


def _checkbox(field: BoundField) -> str:
    fid = e(field.id)
    checked = " checked" if field.value is True else ""
    return (
        '\n<div class="form__field">\n'
        f"  {_errors(field)}\n"
        f'  <input type="checkbox" name="{e(field.name)}" id="{fid}"{checked}{_described(field)}{_invalid(field)}>\n'
        f'  <label for="{fid}">{e(field.label)}{_required(field)}</label>\n'
        f"  {_help(field)}\n"
        "</div>\n"
    )


def _plain_field(field: BoundField) -> str:
    fid, name, kind, value = e(field.id), e(field.name), field.type, field.value
    aria = f"{_described(field)}{_invalid(field)}"
    if kind == "long_text":
        control = f'\n  <textarea id="{fid}" name="{name}" rows="5"{aria}>{e(value or "")}</textarea>\n  '
    elif kind == "select":
        options = "".join(
            f'<option value="{e(o["value"])}"{" selected" if o["value"] == value else ""}>{e(o["label"])}</option>'
            for o in field.options
        )
        control = (
            f'\n  <select id="{fid}" name="{name}"{aria}>\n'
            f'    <option value="">{e(gettext("Please choose"))}</option>\n'
            f"    {options}\n"
            "  </select>\n  "
        )
    elif kind == "file":
        uploaded = ""
        if field.file_name:
            note = gettext("Uploaded: %(name)s") % {"name": e(field.file_name)}
            uploaded = (
                f"<p>{note}\n"
                f'    <input type="checkbox" name="{name}-remove" id="{fid}-remove"> <label for="{fid}-remove">'
                f"{e(gettext('Remove this file'))}</label></p>"
            )
        accept = f' accept="{e(field.accept)}"' if field.accept else ""
        control = f'\n  {uploaded}\n  <input type="file" id="{fid}" name="{name}"{accept}{aria}>\n  '
    else:
        shown = e(value) if value is not None else ""
        control = (
            f'\n  <input id="{fid}" name="{name}" value="{shown}"\n'
            f"    {_INPUT_TYPES.get(kind, _TEXT_TYPE)}\n"
            f"    {aria}>\n  "
        )
    return (
        '\n<div class="form__field">\n'
        f'  <label for="{fid}">{e(field.label)}{_required(field)}</label>\n'
        f"  {_help(field)}\n"
        f"  {_errors(field)}\n"
        f"  {control}\n"
        "</div>\n"
    )
