"""Typed helpers that read settings from the environment.

Every helper registers the setting with its help text, so that
``docs/configuration.md`` can be generated from the code (``manage.py
configuration_docs``) and a test keeps the two in sync.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class SettingDoc:
    name: str
    kind: str
    default: str
    help: str
    secret: bool = False


REGISTRY: dict[str, SettingDoc] = {}


def _register(name: str, kind: str, default: object, help: str, secret: bool = False) -> None:
    shown = "(not set)" if default is None else repr(default) if not secret else "(secret)"
    REGISTRY[name] = SettingDoc(name=name, kind=kind, default=shown, help=help, secret=secret)


def env_str(name: str, default: str | None, help: str) -> str | None:
    """Read a string setting."""
    _register(name, "string", default, help)
    return os.environ.get(name, default)


def env_bool(name: str, default: bool, help: str) -> bool:
    """Read a boolean setting (1/0, true/false, yes/no, on/off)."""
    _register(name, "bool", default, help)
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int, help: str, minimum: int | None = None) -> int:
    """Read an integer setting, optionally with a lower bound."""
    _register(name, "int", default, help)
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str], help: str) -> list[str]:
    """Read a comma-separated list setting."""
    _register(name, "list", ",".join(default), help)
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, default: str | None, help: str) -> str | None:
    """Read a secret from ``NAME`` or from the file named in ``NAME_FILE``.

    The file form suits container secrets; trailing newlines are stripped.
    """
    _register(name, "secret", default, help + f" Also read from the file named in {name}_FILE.", secret=True)
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            with open(file_name, encoding="utf-8") as handle:
                return handle.read().rstrip("\r\n")
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE points to {file_name!r}, which cannot be read: {exc}") from exc
    return os.environ.get(name, default)
