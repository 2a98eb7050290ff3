"""Account pages: log-in and log-out, registration, passwords, two-factor authentication.

Views stay thin: forms validate, ``actions`` change state and write the audit log.
"""

from __future__ import annotations

from base64 import b32encode
from typing import Any
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from dikom.accounts import actions, forms, throttling
from dikom.accounts.access import is_staff_member
from dikom.accounts.models import User

# Wrong codes in one session at the second-factor step before the session is logged out.
MAX_SECOND_FACTOR_ATTEMPTS = 5
SECOND_FACTOR_ATTEMPTS_SESSION_KEY = "dikom_2fa_failures"
TOTP_ISSUER = "dikom"


def _backend() -> str:
    return settings.AUTHENTICATION_BACKENDS[0]


def safe_next(request: HttpRequest) -> str:
    """The ``next`` parameter if it points to this site, else an empty string (no open redirects)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _with_next(url_name: str, next_url: str) -> str:
    url = reverse(url_name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _two_factor_required(user: Any) -> bool:
    """Whether the platform requires this user to use two-factor authentication."""
    return bool(settings.DIKOM_REQUIRE_2FA_FOR_STAFF) and is_staff_member(user)


# Set at a password sign-in through ``LoginView`` (or at registration): only such a session may
# set up its first second factor. Holds whether the browser was a trusted device.
SIGN_IN_SESSION_KEY = "dikom_password_sign_in"


def _mark_password_sign_in(request: HttpRequest, *, trusted_device: bool) -> None:
    request.session[SIGN_IN_SESSION_KEY] = {"trusted_device": trusted_device}


def _trusted_device_sign_in(request: HttpRequest) -> bool:
    marker = request.session.get(SIGN_IN_SESSION_KEY)
    return bool(isinstance(marker, dict) and marker.get("trusted_device"))


def _after_password_redirect(request: HttpRequest, user: User, next_url: str) -> HttpResponseRedirect:
    if user_has_device(user):
        return HttpResponseRedirect(_with_next("accounts:two_factor_verify", next_url))
    if _two_factor_required(user):
        return HttpResponseRedirect(_with_next("accounts:two_factor_setup", next_url))
    return HttpResponseRedirect(next_url or reverse(settings.LOGIN_REDIRECT_URL))


# --- Log-in and log-out ------------------------------------------------------------


class LoginView(auth_views.LoginView):
    form_class = forms.LoginForm  # type: ignore[assignment]  # takes the request like AuthenticationForm
    template_name = "accounts/login.html"

    def form_valid(self, form: forms.LoginForm) -> HttpResponse:  # type: ignore[override]
        user = form.get_user()
        assert user is not None  # noqa: S101 - a valid form always has the user
        pending = user_has_device(user)
        auth_login(self.request, user, backend=_backend())  # cycles the session key
        _mark_password_sign_in(self.request, trusted_device=form.trusted_device)
        actions.record_login(user=user, second_factor_pending=pending)
        response = _after_password_redirect(self.request, user, self.get_redirect_url())
        if not pending and not _two_factor_required(user):
            throttling.remember_device(response, self.request, user)  # the sign-in is complete
        return response


def admin_login(request: HttpRequest) -> HttpResponseRedirect:
    """The admin's log-in page: there is only one sign-in, with lockout, throttling, audit and
    the second factor, so this forwards to it (a POST is not checked at all)."""
    actions.record_admin_login_redirect(method=request.method or "")
    next_url = safe_next(request) or reverse("admin:index")
    return HttpResponseRedirect(_with_next("accounts:login", next_url), status=303)


class LogoutView(auth_views.LogoutView):
    """POST only (Django answers GET with 405), so no link or image can log anyone out."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        actions.record_logout(user=request.user)
        return super().post(request, *args, **kwargs)


# --- Registration and account page ---------------------------------------------------


@never_cache
@sensitive_post_parameters("password1", "password2")
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:account")
    form = forms.RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = actions.register_citizen(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
        )
        auth_login(request, user, backend=_backend())
        _mark_password_sign_in(request, trusted_device=False)
        actions.record_login(user=user, second_factor_pending=False)
        messages.success(request, _("Welcome to dikom! Your account has been created."))
        return HttpResponseRedirect(safe_next(request) or reverse(settings.LOGIN_REDIRECT_URL))
    return render(request, "accounts/register.html", {"form": form, "next": safe_next(request)})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    user: Any = request.user  # a User, with ``is_verified`` added by django-otp's middleware
    memberships = user.memberships.select_related("municipality", "org_unit").order_by("municipality__name", "role")
    has_totp = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    return render(
        request,
        "accounts/account.html",
        {
            "memberships": memberships,
            "has_totp": has_totp,
            "backup_codes_left": StaticToken.objects.filter(device__user=user, device__confirmed=True).count(),
            "two_factor_required": _two_factor_required(user),
            "is_verified": user.is_verified(),
        },
    )


# --- Passwords -------------------------------------------------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    """Always answers the same, whether an account has the address or not."""

    form_class = forms.PasswordResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = forms.SetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
    reset_url_token = "neues-passwort"  # noqa: S105 - a URL segment, not a secret


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = forms.PasswordChangeForm
    template_name = "accounts/password_change_form.html"
    success_url = reverse_lazy("accounts:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


# --- Two-factor authentication -------------------------------------------------------------


def _totp_config_url(device: TOTPDevice) -> str:
    label = quote(f"{TOTP_ISSUER}:{device.user.get_username()}")
    params = urlencode(
        {
            "secret": b32encode(device.bin_key).decode("ascii"),
            "issuer": TOTP_ISSUER,
            "algorithm": "SHA1",
            "digits": device.digits,
            "period": device.step,
        }
    )
    return f"otpauth://totp/{label}?{params}"


def _grouped(value: str, size: int = 4) -> str:
    return " ".join(value[i : i + size] for i in range(0, len(value), size))


def _first_factor_refusal(request: HttpRequest, user: Any) -> str | None:
    """Why this session may not set up a first second factor, or None. A verified session may
    (it replaces its device); otherwise the password must have been entered at the platform's
    sign-in in this session, and the account must not be on hold (unless the sign-in came from
    a trusted device, which the hold does not apply to)."""
    if user.is_verified():
        return None
    if request.session.get(SIGN_IN_SESSION_KEY) is None:
        return "no_password_sign_in"
    if user.is_locked and not _trusted_device_sign_in(request):
        return "locked"
    return None


def _show_backup_codes(request: HttpRequest, codes: list[str], next_url: str, *, new_device: bool) -> HttpResponse:
    """The only page that ever shows the backup codes; not cached."""
    response = render(
        request,
        "accounts/two_factor_backup_codes.html",
        {"codes": [f"{c[:4]}-{c[4:]}" for c in codes], "next": next_url, "new_device": new_device},
    )
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponseBase:
    """Set up an authenticator app (or replace it, from a verified session)."""
    user: Any = request.user  # a User, with ``is_verified`` added by django-otp's middleware
    next_url = safe_next(request)
    if user_has_device(user) and not user.is_verified():
        # Without the current second factor nobody may add another one.
        actions.record_two_factor_setup_refused(user=user, reason="device_not_verified")
        return HttpResponseRedirect(_with_next("accounts:two_factor_verify", next_url))
    if (refusal := _first_factor_refusal(request, user)) is not None:
        # Only a session that passed the platform's sign-in (with its lockout and throttles) may
        # enrol the first device: otherwise whoever got past a weaker door could bind their own.
        actions.record_two_factor_setup_refused(user=user, reason=refusal)
        actions.record_logout(user=user)
        auth_logout(request)
        messages.error(request, _("Please log in again to set up two-factor authentication."))
        return HttpResponseRedirect(_with_next("accounts:login", next_url))
    device = actions.start_totp_setup(user=user)
    form = forms.TotpSetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = actions.confirm_totp_device(user=user, device=device, token=form.cleaned_data["token"])
        if codes is not None:
            request.session.cycle_key()
            otp_login(request, TOTPDevice.objects.get(pk=device.pk))
            request.session.pop(SECOND_FACTOR_ATTEMPTS_SESSION_KEY, None)
            response = _show_backup_codes(request, codes, next_url, new_device=True)
            throttling.remember_device(response, request, user)
            return response
        form.add_error("token", _("This code is not correct. Check the time on your phone and enter the current code."))
    qr = segno.make(_totp_config_url(device), error="m")
    response = render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "next": next_url,
            "qr_svg": qr.svg_inline(
                scale=4, border=4, dark="#000", light="#fff", title=_("QR code for your authenticator app")
            ).replace("<svg ", '<svg role="img" ', 1),
            "secret": _grouped(b32encode(device.bin_key).decode("ascii")),
            "replacing": user_has_device(user),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
def two_factor_verify(request: HttpRequest) -> HttpResponseBase:
    """Ask for the second factor after the password."""
    user: Any = request.user  # a User, with ``is_verified`` added by django-otp's middleware
    next_url = safe_next(request)
    if user.is_verified():
        return HttpResponseRedirect(next_url or reverse(settings.LOGIN_REDIRECT_URL))
    if not user_has_device(user):
        return HttpResponseRedirect(_with_next("accounts:two_factor_setup", next_url))
    form = forms.TokenForm(request.POST or None)
    trusted_device = _trusted_device_sign_in(request)
    client = throttling.login_client(request)
    if request.method == "POST" and form.is_valid() and not trusted_device and throttling.second_factor_refused(client):
        # No code is checked: one client may not try codes for account after account.
        if throttling.first_refusal_in_window(client, throttling.Refusal.SECOND_FACTOR_CLIENT):
            actions.record_login_throttled(reason=throttling.Refusal.SECOND_FACTOR_CLIENT.value, user=user)
        form.add_error("token", forms.SECOND_FACTOR_THROTTLED_MESSAGE)
    if request.method == "POST" and form.is_valid():
        check = actions.verify_second_factor(user=user, token=form.cleaned_data["token"], trusted_device=trusted_device)
        result = check.result
        wrong = result in (actions.SecondFactorResult.WRONG, actions.SecondFactorResult.LOCKED)
        if wrong and not trusted_device and throttling.note_second_factor_failure(client):
            actions.record_login_throttled(reason=throttling.Refusal.SECOND_FACTOR_CLIENT.value, started=True)
        if result is actions.SecondFactorResult.VERIFIED:
            request.session.cycle_key()
            otp_login(request, check.device)
            request.session.pop(SECOND_FACTOR_ATTEMPTS_SESSION_KEY, None)
            response = HttpResponseRedirect(next_url or reverse(settings.LOGIN_REDIRECT_URL))
            throttling.remember_device(response, request, user)
            return response
        if result is actions.SecondFactorResult.THROTTLED:
            form.add_error(
                "token", _("Too many wrong codes in a row. Wait a few seconds, then enter the current code.")
            )
        else:
            failures = request.session.get(SECOND_FACTOR_ATTEMPTS_SESSION_KEY, 0) + 1
            request.session[SECOND_FACTOR_ATTEMPTS_SESSION_KEY] = failures
            if result is actions.SecondFactorResult.LOCKED or failures >= MAX_SECOND_FACTOR_ATTEMPTS:
                actions.record_logout(user=user)
                auth_logout(request)
                messages.error(
                    request,
                    _("Too many wrong codes: you have been logged out. Please log in again later."),
                )
                return redirect("accounts:login")
            form.add_error(
                "token", _("This code is not correct. Enter the current code from your app or a backup code.")
            )
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url})


def _verified_or_redirect(request: HttpRequest) -> HttpResponseRedirect | None:
    if not user_has_device(request.user):
        return HttpResponseRedirect(reverse("accounts:two_factor_setup"))
    if not request.user.is_verified():  # type: ignore[union-attr]
        return HttpResponseRedirect(_with_next("accounts:two_factor_verify", request.get_full_path()))
    return None


@never_cache
@login_required
@require_POST
def two_factor_backup_codes(request: HttpRequest) -> HttpResponseBase:
    """Replace the backup codes; the new ones are shown once."""
    if (response := _verified_or_redirect(request)) is not None:
        return response
    codes = actions.regenerate_backup_codes(user=request.user)  # type: ignore[arg-type]
    return _show_backup_codes(request, codes, reverse("accounts:account"), new_device=False)


@never_cache
@login_required
def two_factor_disable(request: HttpRequest) -> HttpResponseBase:
    """Switch two-factor authentication off, confirmed with a current code; not for staff who must use it."""
    if (response := _verified_or_redirect(request)) is not None:
        return response
    user: Any = request.user  # a User, with ``is_verified`` added by django-otp's middleware
    if _two_factor_required(user):
        return render(request, "accounts/two_factor_disable.html", {"form": None, "required": True}, status=403)
    form = forms.DisableTwoFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = actions.verify_second_factor(user=user, token=form.cleaned_data["token"], purpose="disable")
        if check.result is actions.SecondFactorResult.VERIFIED:
            actions.disable_two_factor(user=user)
            messages.success(request, _("Two-factor authentication is switched off."))
            return redirect("accounts:account")
        if check.result is actions.SecondFactorResult.THROTTLED:
            form.add_error(
                "token", _("Too many wrong codes in a row. Wait a few seconds, then enter the current code.")
            )
        else:
            form.add_error(
                "token", _("This code is not correct. Enter the current code from your app or a backup code.")
            )
    return render(request, "accounts/two_factor_disable.html", {"form": form, "required": False})
