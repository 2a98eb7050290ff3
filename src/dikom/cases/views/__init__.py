"""Caseworker pages: the inbox (``/vorgaenge/<slug>/``) and the case page (``/vorgaenge/<slug>/<uuid>/``).

Thin: ``access.py`` decides who sees what (another city's case is a 404), the
forms validate, ``actions.py`` changes state. Every task form carries the
task's ``lock_version``; when someone else was faster, the page is shown again
with the action's message and the user's input kept.

Split by page: ``inbox`` (start page, inbox, bulk actions), ``case_page`` (the case and
its actions), ``documents``; ``common`` holds what they share. ``urls.py`` names the views
through this package.
"""

from dikom.cases.views.case_page import (
    add_note,
    case_detail,
    close,
    consult,
    decide,
    media_break,
    request_information,
    retry_efile,
    task_action,
)
from dikom.cases.views.documents import document
from dikom.cases.views.inbox import bulk, inbox, index

__all__ = [
    "add_note",
    "bulk",
    "case_detail",
    "close",
    "consult",
    "decide",
    "document",
    "inbox",
    "index",
    "media_break",
    "request_information",
    "retry_efile",
    "task_action",
]
