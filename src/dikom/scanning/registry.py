"""Which virus scanner checks uploads, and the one call every upload path makes.

``DIKOM_UPLOAD_SCANNER`` is a key of ``KNOWN`` (``none``, ``clamd``) or the
dotted path of an ``UploadScanner`` subclass. Before it, the built-in EICAR
check runs on every installation (see ``eicar.py``: a test signature, not
protection).
"""

from __future__ import annotations

import logging
from typing import IO

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from dikom.scanning import eicar
from dikom.scanning.base import FAILED, ScanResult, UploadScanner

logger = logging.getLogger(__name__)

#: Every scanner adapter this code base ships, by key (imported on first use).
KNOWN: dict[str, str] = {
    "none": "dikom.scanning.contrib.none.NoScanner",
    "clamd": "dikom.scanning.contrib.clamd.ClamdScanner",
}


def scanner_class(name: str | None = None) -> type[UploadScanner]:
    """The configured scanner's class; ImproperlyConfigured for an unknown key or path."""
    name = (name if name is not None else str(getattr(settings, "DIKOM_UPLOAD_SCANNER", "") or "")) or "none"
    path = KNOWN.get(name, name if "." in name else "")
    if not path:
        raise ImproperlyConfigured(f"DIKOM_UPLOAD_SCANNER names an unknown scanner {name!r}; known: {sorted(KNOWN)}")
    try:
        loaded: type[UploadScanner] = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"DIKOM_UPLOAD_SCANNER: cannot import {path!r}") from exc
    return loaded


def scan(stream: IO[bytes]) -> ScanResult:
    """Scan an upload: the EICAR test signature first, then the configured scanner.

    The stream is read from its start and left at its start. A scanner that
    raises counts as a failed scan (the upload is refused, never waved through).
    """
    try:
        stream.seek(0)
        found = eicar.scan(stream)
        if found is not None:
            return found
        stream.seek(0)
        try:
            return scanner_class()().scan(stream)
        except ImproperlyConfigured:
            raise
        except Exception as exc:
            logger.exception("upload scanner failed")
            return ScanResult(FAILED, f"{type(exc).__name__}")
    finally:
        stream.seek(0)
