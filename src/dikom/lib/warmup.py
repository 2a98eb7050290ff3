"""Warm a web process up before its first request, then keep what it loaded out of the garbage collector.

A Django process imports most of its views and compiles its templates only on the first requests
that need them. Everything loaded then lives as long as the process, but Python's garbage
collector scans it again in every full collection: with dikom's URL modules, views and ~250
templates that is well over 100 000 objects, and a full collection then pauses a request for
35–75 ms every few dozen requests (measured in ``benchmarks/bench_opendata.py``, see
docs/benchmarks.md). ``warm_up_and_freeze`` loads all of it before the process serves and then
moves it into the collector's permanent generation (``gc.freeze``), so full collections scan
only what requests create.

Used by ``dikom.wsgi`` (every web process: ``manage.py serve`` loads the application in each
process after the fork) and by the benchmarks that measure requests in-process, so they see
the process as the server runs it.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# Files under template directories that are templates of this project's engines.
TEMPLATE_SUFFIXES = (".html", ".txt", ".xml", ".ttl", ".md", ".svg", ".ics", ".js", ".json", ".csv")


@dataclass(frozen=True)
class WarmUp:
    url_patterns: int
    templates: int
    template_errors: int
    frozen_objects: int


def _count_patterns(patterns: list[object]) -> int:
    count = 0
    for pattern in patterns:
        nested = getattr(pattern, "url_patterns", None)  # a resolver: importing its URLconf imports its views
        count += _count_patterns(list(nested)) if nested is not None else 1
    return count


def _template_names(directory: Path) -> list[str]:
    return sorted(
        path.relative_to(directory).as_posix()
        for path in directory.rglob("*")
        if path.is_file() and path.suffix in TEMPLATE_SUFFIXES
    )


def load_templates() -> tuple[int, int]:
    """Compile every template the Django engines find; (loaded, failed).

    A template that does not compile on its own (a fragment that only works inside another, or
    a third-party template for a feature that is not installed) is counted and skipped: the page
    that uses it compiles it on first use, as without the warm-up.
    """
    from django.template import TemplateDoesNotExist, TemplateSyntaxError, engines
    from django.template.backends.django import DjangoTemplates
    from django.template.library import InvalidTemplateLibrary

    loaded = failed = 0
    for backend in engines.all():
        if not isinstance(backend, DjangoTemplates):
            continue
        seen: set[str] = set()
        for loader in backend.engine.template_loaders:
            for inner in getattr(loader, "loaders", [loader]):
                for directory in inner.get_dirs():
                    root = Path(directory)
                    if not root.is_dir():
                        continue
                    for name in _template_names(root):
                        if name in seen:  # the first directory wins, as for the loader
                            continue
                        seen.add(name)
                        try:
                            backend.get_template(name)
                        except (
                            TemplateSyntaxError,
                            TemplateDoesNotExist,
                            InvalidTemplateLibrary,
                            UnicodeDecodeError,
                            ImportError,
                        ):
                            failed += 1
                        else:
                            loaded += 1
    return loaded, failed


def warm_up_and_freeze(*, templates: bool = True) -> WarmUp:
    """Import every view through the URL configuration, compile the templates, then ``gc.freeze()``."""
    from django.urls import get_resolver

    patterns = _count_patterns(list(get_resolver().url_patterns))
    loaded, failed = load_templates() if templates else (0, 0)
    gc.collect()
    gc.freeze()
    result = WarmUp(patterns, loaded, failed, gc.get_freeze_count())
    logger.info(
        "warmed up: %d URL patterns, %d templates (%d not compiled on their own), %d objects frozen",
        result.url_patterns,
        result.templates,
        result.template_errors,
        result.frozen_objects,
    )
    return result
