"""What the case page reads about one case, compiled once per thread and database (issue 21, item 4).

The case page ran seven statements about its case (open and finished tasks, documents, history,
notes, messages), each built anew by the ORM on every request. These are the same querysets as
the case's related managers give (``case.tasks.filter(...)``, ``case.events.all()``, …), with the
same joins and order, through ``dikom.lib.prepared``: the statement is built once, each request
binds the case's id. Each object gets the case itself as its ``case`` (as the related manager
sets it), so reading ``x.case`` costs no statement. ``cases/tests/test_case_reads.py`` compares
every list with the related manager's.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import Field, Model

from dikom.cases.models import Case, CaseDocument, CaseEvent, CaseMessage, CaseNote, Task
from dikom.lib.prepared import PreparedQuery

_SAMPLE = -7101  # an id no case has: only used to build the statements


def _by_case(model: type[Model], build: Any) -> PreparedQuery[Any]:
    return PreparedQuery(model, build, fields=(cast(Field, model._meta.get_field("case")),), samples=(_SAMPLE,))


_OPEN_TASKS = _by_case(
    Task,
    lambda case_id: (
        Task.objects.filter(case_id=case_id, status=Task.Status.OPEN)
        .select_related("org_unit", "assignee")
        .order_by("created_at", "pk")
    ),
)
_DONE_TASKS = _by_case(
    Task,
    lambda case_id: (
        Task.objects.filter(case_id=case_id).exclude(status=Task.Status.OPEN).select_related("org_unit", "completed_by")
    ),
)
_DOCUMENTS = _by_case(
    CaseDocument, lambda case_id: CaseDocument.objects.filter(case_id=case_id).select_related("created_by")
)
_EVENTS = _by_case(CaseEvent, lambda case_id: CaseEvent.objects.filter(case_id=case_id))
_NOTES = _by_case(CaseNote, lambda case_id: CaseNote.objects.filter(case_id=case_id).select_related("author"))
_MESSAGES = _by_case(
    CaseMessage,
    lambda case_id: CaseMessage.objects.filter(case_id=case_id).select_related("document", "sent_by"),
)


def _of(query: PreparedQuery[Any], case: Case) -> list[Any]:
    found = query.all(case.pk)
    for obj in found:
        obj.case = case
    return found


def open_tasks(case: Case) -> list[Task]:
    """``case.tasks.filter(status=OPEN).select_related("org_unit", "assignee").order_by("created_at", "pk")``"""
    return _of(_OPEN_TASKS, case)


def done_tasks(case: Case) -> list[Task]:
    """``case.tasks.exclude(status=OPEN).select_related("org_unit", "completed_by")``"""
    return _of(_DONE_TASKS, case)


def documents(case: Case) -> list[CaseDocument]:
    """``case.documents.select_related("created_by")``"""
    return _of(_DOCUMENTS, case)


def events(case: Case) -> list[CaseEvent]:
    """``case.events.all()``"""
    return _of(_EVENTS, case)


def notes(case: Case) -> list[CaseNote]:
    """``case.notes.select_related("author")``"""
    return _of(_NOTES, case)


def messages(case: Case) -> list[CaseMessage]:
    """``case.messages.select_related("document", "sent_by")``"""
    return _of(_MESSAGES, case)
