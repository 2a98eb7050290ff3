"""Unbound forms of the staff pages rendered once per process (issue 21, item 4): the inbox's filter,
the case page's forms, the analytics pages' period filter.

Rendering a Django form goes through a template per field, per widget and per ``<option>``:
on the inbox and the case page that was about a third of the web process's CPU, for output
that only depends on the form's definition, its choices and initial values and the language.
An unbound form's HTML is therefore kept per process under a key built from exactly these
(so two cities with other units or colleagues never share an entry, and a renamed unit or a
new colleague gives a new key: nothing to invalidate). Bound forms (the user's input, errors)
are always rendered afresh.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from typing import Any

from django import forms
from django.utils.safestring import SafeString
from django.utils.translation import get_language

MAX_ENTRIES = 512
# Rendered in place of a form's prefix, then replaced by it: the task forms of the case page carry the
# task's id in their prefix, and one entry serves every task. Random per process, so no user's text
# can contain it; a prefix is only replaced back when it is made of characters HTML leaves unchanged.
_TOKEN = f"p{secrets.token_hex(16)}"
_PLAIN_PREFIX = re.compile(r"[A-Za-z0-9_-]+")

_lock = threading.Lock()
_rendered: OrderedDict[tuple[Any, ...], SafeString] = OrderedDict()


def _plain(value: Any) -> Any:
    """Choices, attributes and initial values as a hashable value (lazy texts resolved)."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _plain(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_plain(item) for item in value)
    if value is None or isinstance(value, (bool, int)):
        return value
    return (type(value).__name__, str(value))


def _field_key(field: forms.Field) -> tuple[Any, ...]:
    widget = field.widget
    return (
        type(field),
        type(widget),
        str(field.label),
        str(field.help_text),
        field.required,
        field.disabled,
        _plain(field.initial),
        _plain(widget.attrs),
        _plain(list(getattr(field, "choices", ()))),
    )


def form_key(form: forms.BaseForm) -> tuple[Any, ...]:
    """Everything an unbound form's HTML depends on."""
    return (
        type(form),
        form.prefix if not _swappable(form) else _TOKEN,
        form.auto_id,
        form.label_suffix,
        form.use_required_attribute,
        get_language(),
        _plain(form.initial),
        tuple((name, _field_key(field)) for name, field in form.fields.items()),
    )


def _swappable(form: forms.BaseForm) -> bool:
    prefix = form.prefix
    return prefix is not None and _PLAIN_PREFIX.fullmatch(prefix) is not None


def _render(form: forms.BaseForm) -> str:
    if not _swappable(form):
        return str(form)
    prefix = form.prefix
    form.prefix = _TOKEN
    try:
        return str(form)
    finally:
        form.prefix = prefix
        form._bound_fields_cache = {}  # type: ignore[attr-defined] # the fields' names with the token: forgotten


def rendered(form: forms.BaseForm) -> Any:
    """The form's HTML, from the per-process cache when unbound; a bound form is returned as it is."""
    if form.is_bound or getattr(form, "_bound_fields_cache", None):
        # Bound, or its fields already looked at (their names fixed with the prefix): rendered as it is.
        return form
    if any(callable(value) for value in form.initial.values()) or any(
        callable(field.initial) for field in form.fields.values()
    ):
        return form  # an initial value computed on each rendering (a date of today, say): never kept
    key = form_key(form)
    with _lock:
        html = _rendered.get(key)
        if html is not None:
            _rendered.move_to_end(key)
    if html is None:
        html = SafeString(_render(form))
        with _lock:
            _rendered[key] = html
            while len(_rendered) > MAX_ENTRIES:
                _rendered.popitem(last=False)
    if _swappable(form):
        return SafeString(html.replace(_TOKEN, form.prefix or ""))
    return html


def clear() -> None:
    with _lock:
        _rendered.clear()
