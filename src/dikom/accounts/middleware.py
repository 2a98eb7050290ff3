"""Two-factor enforcement for staff.

Staff are users with a role in a municipality (or platform admins). When
``DIKOM_REQUIRE_2FA_FOR_STAFF`` is on, a staff session that has not been
verified with a TOTP device may only reach the 2FA set-up and verification
pages, log-out, language switching and static files.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from dikom.accounts.access import is_staff_member

ALWAYS_ALLOWED_PREFIXES = ("/static/", "/i18n/", "/healthz", "/api/")


class TwoFactorEnforcementMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.DIKOM_REQUIRE_2FA_FOR_STAFF and self._needs_second_factor(request):
            allowed = {
                reverse("accounts:two_factor_setup"),
                reverse("accounts:two_factor_verify"),
                reverse("accounts:logout"),
            }
            if request.path not in allowed and not request.path.startswith(ALWAYS_ALLOWED_PREFIXES):
                from django_otp import user_has_device

                target = "accounts:two_factor_verify" if user_has_device(request.user) else "accounts:two_factor_setup"
                return HttpResponseRedirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def _needs_second_factor(request: HttpRequest) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        if user.is_verified():  # set by django_otp's OTPMiddleware
            return False
        return is_staff_member(user)
