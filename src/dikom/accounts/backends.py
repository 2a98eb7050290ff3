"""The authentication backend: sessions and permissions as Django's, passwords never.

Django's ``authenticate()`` checks a password without the platform's holds, throttles, audit
log and second factor, and every log-in form that comes with a library (the admin's, DRF's
browsable API, HTTP Basic) calls it. Here it signs nobody in, so there is exactly one door:
``accounts.forms.LoginForm`` behind ``/konto/anmelden/``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


class SignInOnlyBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        return None
