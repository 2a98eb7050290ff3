"""The platform administration (``/plattform-admin/``) without a door of its own.

Django's admin brings its own log-in form, which checks the password with ``authenticate()``
and so passes by the platform's lockout, throttles, audit log and second factor. Here the
admin's log-in and password change forward to the platform's pages, and admin pages are open
only to platform administrators (active superusers) in a session that has passed the second factor whenever the account has one or must have
one (the middleware sends such a session to verification or set-up first).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_otp import user_has_device

from dikom.accounts import actions
from dikom.accounts.access import is_staff_member


def second_factor_satisfied(user: Any) -> bool:
    """Whether the session of ``user`` has done all the platform asks of it for a second factor."""
    from django.conf import settings

    if user.is_verified():
        return True
    return not user_has_device(user) and not (settings.DIKOM_REQUIRE_2FA_FOR_STAFF and is_staff_member(user))


class PlatformAdminSite(admin.AdminSite):
    site_header = _("dikom · Platform administration")
    site_title = "dikom"

    def has_permission(self, request: HttpRequest) -> bool:
        """Platform administrators only (active superusers), after their second factor."""
        user: Any = request.user
        return bool(user.is_active and user.is_superuser and second_factor_satisfied(user))

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        from dikom.accounts.views import admin_login

        return admin_login(request)

    def logout(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        actions.record_logout(user=request.user)
        return super().logout(request, extra_context)

    def password_change(  # type: ignore[override]  # a redirect to the platform's page, not a form
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("accounts:password_change"))
