"""Rendered template fragments kept per process (issue 21).

Some parts of the most frequent pages are the same for every visitor in a language: the
footer, the anonymous navigation of a path, the landing page's text, a city's list of
services for one state of its adoptions. ``{% load fragments %}{% fragment "name" a b %}
… {% endfragment %}`` renders such a part once per process and key (the name, the active
language and the values ``a b``) and reuses the output afterwards.

Only what the key determines may be inside: no CSRF token, no user, no message, nothing
read from the database that is not part of the key. The key is the whole invalidation:
a changed value is a new key, so nothing is ever stale; old keys fall out of the bounded
store (least recently used first). Settings changes (tests) empty the store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from django.core.signals import setting_changed
from django.utils.safestring import SafeString, mark_safe

MAX_ENTRIES = 2048

_store: OrderedDict[Hashable, SafeString] = OrderedDict()
_lock = threading.Lock()


def get_or_render(key: Hashable, render: Callable[[], str]) -> SafeString:
    """The fragment stored for ``key``, rendered by ``render()`` when there is none yet."""
    with _lock:
        found = _store.get(key)
        if found is not None:
            _store.move_to_end(key)
            return found
    rendered = mark_safe(render())  # noqa: S308 - output of a template, escaped by it
    with _lock:
        _store[key] = rendered
        while len(_store) > MAX_ENTRIES:
            _store.popitem(last=False)
    return rendered


def clear() -> None:
    with _lock:
        _store.clear()


def size() -> int:
    return len(_store)


def _on_setting_changed(**_kwargs: object) -> None:
    clear()


setting_changed.connect(_on_setting_changed, dispatch_uid="dikom.lib.fragments")
