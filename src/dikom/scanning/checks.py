"""System checks: the upload scanner named in the settings exists, and clamd has an address."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured


@register("dikom")
def check_upload_scanner(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from dikom.scanning.contrib.clamd import parse_address
    from dikom.scanning.registry import scanner_class

    try:
        scanner = scanner_class()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="scanning.E001")]
    key = getattr(scanner, "key", "")
    if key == "clamd":
        try:
            parse_address(str(getattr(settings, "DIKOM_CLAMD_ADDRESS", "") or ""))
        except ValueError as exc:
            return [Error(str(exc), hint="Set DIKOM_CLAMD_ADDRESS.", id="scanning.E002")]
    elif key == "none" and getattr(settings, "IS_PRODUCTION", False):
        return [
            Warning(
                "No virus scanner checks uploads (DIKOM_UPLOAD_SCANNER=none); files are kept as 'unscanned'.",
                hint="Run clamd and set DIKOM_UPLOAD_SCANNER=clamd and DIKOM_CLAMD_ADDRESS.",
                id="scanning.W001",
            )
        ]
    return []
