"""The inbox's table rows without the template engine (issue 21, item 4, third round).

``cases/inbox.html`` rendered each of a page's 25 rows through the engine: a ``{% url %}``, a
``{% blocktranslate %}``, an ``{% include %}`` of ``cases/_due.html`` and a dozen variables per
row, about a third of the inbox's CPU. These functions write the same bytes in Python.
``cases/tests/test_inbox_rows.py`` renders the rows as the template wrote them (kept there as the
reference) and through these functions, for tasks and cases of every kind and status, with and
without due date, unit, assignee and outcome, overdue or not, names with HTML characters, in
German and English, and compares the bytes.

Escaping is the template's: every value goes through ``conditional_escape`` as ``{{ … }}`` does,
texts of ``{% translate %}`` too; the values of ``{% blocktranslate %}`` are escaped, its
translated text is not (as the tag does). Dates are converted to the current time zone and
formatted by the ``date`` filter itself.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.formats import localize
from django.utils.safestring import SafeString
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in the stubs
from django.utils.translation import gettext

from dikom.cases.models import Case, Task

_PLACEHOLDER = uuid.UUID(int=0)


def e(value: Any) -> str:
    """``conditional_escape`` without its wrappers: a value with ``__html__`` as it says, else escaped."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


def _memo(compute: Callable[[Any], str]) -> Callable[[Any], str]:
    """``compute`` once per distinct value within one page (a page's rows share dates, statuses, units)."""
    seen: dict[Any, str] = {}

    def get(value: Any) -> str:
        if value not in seen:
            seen[value] = compute(value)
        return seen[value]

    return get


def _case_url(slug: str) -> tuple[str, str]:
    """The case page's URL around its UUID, reversed once per page instead of once per row."""
    url = reverse("cases:case", args=[slug, _PLACEHOLDER])
    head, _sep, tail = url.rpartition(str(_PLACEHOLDER))
    return head, tail


def _date(value: Any, fmt: str) -> str:
    return e(date_filter(template_localtime(value), fmt))


def due(value: Any, active: bool, now: Any) -> str:
    """``cases/_due.html`` with its trailing newline, as ``{% include %}`` wrote it."""
    if not value:
        return "–\n"
    html = f'<time datetime="{_date(value, "c")}">{_date(value, "d.m.Y H:i")}</time>'
    if active and value < now:
        html += f' <span class="overdue">{e(gettext("overdue"))}</span>'
    return html + "\n"


def _labels(choices: Any) -> Callable[[Any], str]:
    """A field's display value, escaped, as ``get_FOO_display`` gives it (the stored value if not a choice)."""
    labels = dict(choices)
    return _memo(lambda value: e(labels.get(value, value)))


def task_rows(tasks: Iterable[Task], slug: str, now: Any) -> SafeString:
    """The rows of the "mine" and "unit" tabs (``{% for task in page.object_list %}`` without ``{% empty %}``)."""
    head, tail = _case_url(slug)
    nobody = e(gettext("nobody yet"))
    select = gettext("Select “%(task)s” of %(reference)s")
    kinds = _labels(Task.Kind.choices)
    statuses = _labels(Case.Status.choices)
    due_of = _memo(lambda value: due(value, True, now))
    versions = _memo(lambda value: e(localize(value)))
    parts = []
    for task in tasks:
        case = task.case
        key = e(str(task.uuid))
        reference = e(case.reference)
        kind = "" if task.kind == "workflow" else f' <span class="badge badge--muted">{kinds(task.kind)}</span>'
        assignee = task.assignee
        who = e(assignee.get_full_name() or assignee.username) if assignee else nobody
        unit = e(task.org_unit or "–")
        parts.append(
            f'<tr>\n<td><input type="checkbox" name="task" value="{key}" id="select-{key}">\n'
            f'<label for="select-{key}"><span class="visually-hidden">'
            f"{select % {'task': e(task.name), 'reference': reference}}</span></label>\n"
            f'<input type="hidden" name="version-{key}" value="{versions(task.lock_version)}"></td>\n'
            f'<th scope="row"><a href="{e(head + str(case.uuid) + tail)}">{reference}</a></th>\n'
            f"<td>{e(task.name)}{kind}</td>\n"
            f"<td>{e(case.service_title)}</td>\n"
            f"<td>{unit}</td>\n"
            f"<td>{who}</td>\n"
            f"<td>{statuses(case.status)}</td>\n"
            f"<td>{due_of(task.due_at)}</td>\n"
            "</tr>"
        )
    return SafeString("".join(parts))


def case_rows(cases: Iterable[Case], slug: str, now: Any) -> SafeString:
    """The rows of the "all" tab (``{% for case in page.object_list %}`` without ``{% empty %}``)."""
    head, tail = _case_url(slug)
    statuses = _labels(Case.Status.choices)
    outcomes = _labels(Case.Outcome.choices)
    due_of = _memo(lambda key: due(key[0], key[1], now))
    opened_of = _memo(lambda value: f'<time datetime="{_date(value, "c")}">{_date(value, "d.m.Y")}</time>')
    parts = []
    for case in cases:
        outcome = f"<br><small>{outcomes(case.outcome)}</small>" if case.outcome else ""
        parts.append(
            f'<tr>\n<th scope="row"><a href="{e(head + str(case.uuid) + tail)}">{e(case.reference)}</a></th>\n'
            f"<td>{e(case.service_title)}</td>\n"
            f"<td>{statuses(case.status)}{outcome}</td>\n"
            f"<td>{e(case.org_unit or '–')}</td>\n"
            f"<td>{due_of((case.due_at, case.is_open))}</td>\n"
            f"<td>{opened_of(case.opened_at)}</td>\n"
            "</tr>"
        )
    return SafeString("".join(parts))
