"""Two-factor enforcement.

A session that has passed the password but not the second factor is only half
logged in. It may reach the 2FA set-up and verification pages, log-out,
language switching and static files, nothing else. That applies to

- every user who has set up a second factor (citizens included: whoever turned
  it on expects it to protect the account), and
- staff (users with a role in a municipality, or platform admins) when
  ``DIKOM_REQUIRE_2FA_FOR_STAFF`` is on; without a device they are sent to the
  set-up page.

Requests to the API from such a session are treated as anonymous.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import user_has_device

from dikom.accounts.access import is_staff_member

ALWAYS_ALLOWED_PREFIXES = ("/static/", "/i18n/", "/healthz")
# The API answers half-logged-in sessions as anonymous (machine clients use API keys, not
# sessions), so a password alone never opens the API and API clients get no HTML redirect.
API_PREFIX = "/api/"


class TwoFactorEnforcementMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        target = self._second_factor_page(request)
        if target is not None and request.path.startswith(API_PREFIX):
            request.user = AnonymousUser()
        elif target is not None:
            allowed = {
                reverse("accounts:two_factor_setup"),
                reverse("accounts:two_factor_verify"),
                reverse("accounts:logout"),
            }
            if request.path not in allowed and not request.path.startswith(ALWAYS_ALLOWED_PREFIXES):
                return HttpResponseRedirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def _second_factor_page(request: HttpRequest) -> str | None:
        """The page the session has to pass first, or None when it may go anywhere."""
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if user.is_verified():  # set by django_otp's OTPMiddleware
            return None
        if user_has_device(user):
            return "accounts:two_factor_verify"
        if settings.DIKOM_REQUIRE_2FA_FOR_STAFF and is_staff_member(user):
            return "accounts:two_factor_setup"
        return None
