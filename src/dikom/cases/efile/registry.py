"""Which e-file connector this installation uses (``DIKOM_EFILE_CONNECTOR``).

Empty: no e-file system is connected and closed cases are not exported.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from dikom.cases.efile.base import EfileConnector

#: Every connector this code base ships, by key (imported on first use).
KNOWN: dict[str, str] = {
    "filedrop": "dikom.cases.efile.contrib.filedrop.FileDropConnector",
    "webhook": "dikom.cases.efile.contrib.webhook.WebhookConnector",
}


def connector_class(key: str) -> type[EfileConnector]:
    path = KNOWN.get(key)
    if path is None:
        raise ImproperlyConfigured(
            f"DIKOM_EFILE_CONNECTOR names an unknown e-file connector {key!r} (known: {', '.join(sorted(KNOWN))})"
        )
    cls: type[EfileConnector] = import_string(path)
    return cls


def configured_key() -> str:
    return (getattr(settings, "DIKOM_EFILE_CONNECTOR", "") or "").strip()


def get_connector(key: str | None = None) -> EfileConnector | None:
    """The configured connector (or the one named), or None when e-file export is off."""
    chosen = configured_key() if key is None else key
    if not chosen:
        return None
    return connector_class(chosen)()
