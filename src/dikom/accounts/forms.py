"""Forms of the account pages. They validate input; state changes go through ``actions``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from dikom.accounts import actions, throttling
from dikom.accounts.models import User

LOGIN_FAILED_MESSAGE = _(
    "Log-in failed. Check your user name or e-mail address and your password. "
    "After several failed attempts the account is blocked for a while; you can also reset your password."
)

LOGIN_THROTTLED_MESSAGE = _(
    "Too many failed log-ins from your network. Please wait a few minutes and try again; "
    "you can also reset your password."
)

PASSWORD_RESET_THROTTLED_MESSAGE = _(
    "Too many requests to reset a password. Please wait a while and try again; "
    "a mail sent before may be in your spam folder."
)

SECOND_FACTOR_THROTTLED_MESSAGE = _("Too many wrong codes from your network. Please wait a few minutes and try again.")


def find_login_user(identifier: str) -> User | None:
    """The account for a user name or e-mail address (case-insensitive); a user name wins
    over another account's e-mail address, so an ambiguous entry never raises."""
    value = identifier.strip()
    if not value:
        return None
    return User.objects.filter(username__iexact=value).first() or User.objects.filter(email__iexact=value).first()


class LoginForm(forms.Form):
    """User name or e-mail address and password, with the account lockout.

    Every failure shows the same message, whether the account does not exist, the password
    is wrong or the account is locked, so the form does not tell who has an account.
    """

    username = forms.CharField(
        label=_("User name or e-mail address"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True, "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        self.request = request
        self.user_cache: User | None = None
        self.trusted_device = False
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        identifier, password = cleaned.get("username"), cleaned.get("password")
        if not identifier or not password:
            return cleaned
        client = throttling.login_client(self.request) if self.request is not None else throttling.LoginClient("-")
        user = find_login_user(identifier)
        trusted = client.trusted_for(user)
        # A browser that signed in to this account before is held up by nothing but its own counter.
        refusal = None if trusted else throttling.refusal_for(client, password)
        if refusal is not None:
            # No password hash here: a throttled flood must not cost a hash per request.
            if throttling.first_refusal_in_window(client, refusal):
                actions.record_login_throttled(reason=refusal.value, user=user)
            if refusal is throttling.Refusal.PASSWORD_SPRAY:
                raise forms.ValidationError(LOGIN_FAILED_MESSAGE, code="invalid_login")
            raise forms.ValidationError(LOGIN_THROTTLED_MESSAGE, code="throttled")
        if user is None:
            # Spend the time of a password check anyway, so timing does not reveal the account.
            make_password(password)
            actions.record_unknown_account_failure()
            self._note_failure(client, identifier, password)
            raise forms.ValidationError(LOGIN_FAILED_MESSAGE, code="invalid_login")
        if user.is_locked and not trusted:
            make_password(password)  # as long as a real check, so timing does not reveal the lock
            actions.register_failed_login(user=user)
            self._note_failure(client, identifier, password)
            raise forms.ValidationError(LOGIN_FAILED_MESSAGE, code="invalid_login")
        if not user.check_password(password) or not user.is_active:
            signals = self._note_failure(client, identifier, password, trusted_user=user if trusted else None)
            if trusted and user.is_active:
                actions.record_trusted_device_failure(user=user, distrusted=signals.device_distrusted)
            else:
                actions.register_failed_login(user=user, reason="password" if user.is_active else "inactive")
            raise forms.ValidationError(LOGIN_FAILED_MESSAGE, code="invalid_login")
        self.user_cache = user
        self.trusted_device = trusted
        if trusted:
            throttling.forget_device_failures(client)
        return cleaned

    @staticmethod
    def _note_failure(
        client: throttling.LoginClient, identifier: str, password: str, trusted_user: User | None = None
    ) -> throttling.FailureSignals:
        signals = throttling.note_failure(client, identifier=identifier, password=password, trusted_user=trusted_user)
        for reason, started in (
            (throttling.Refusal.CLIENT_FAILURES, signals.client_failures),
            (throttling.Refusal.CLIENT_ACCOUNTS, signals.client_accounts),
            (throttling.Refusal.PASSWORD_SPRAY, signals.password_spray),
        ):
            if started:
                actions.record_login_throttled(reason=reason.value, started=True)
        return signals

    def get_user(self) -> User | None:
        return self.user_cache


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The six-digit code from your authenticator app, or one of your backup codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false", "autofocus": True}
        ),
    )


class TotpSetupForm(forms.Form):
    token = forms.CharField(
        label=_("Code from the app"),
        max_length=16,
        help_text=_("Enter the six-digit code your authenticator app shows for dikom."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class DisableTwoFactorForm(TokenForm):
    pass


class RegistrationForm(forms.Form):
    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        help_text=_("Letters, digits and . + - _ only; no @. You can log in with it or with your e-mail address."),
        validators=[User.username_validator],
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_("For password resets and notifications."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Repeat the password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"].strip()
        if "@" in username:
            # A user name must never look like someone's e-mail address: both are used to log in.
            raise forms.ValidationError(_("The user name must not contain @."), code="username_at")
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This user name is already taken."), code="username_taken")
        return username

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("An account with this e-mail address exists already. Log in or reset your password."),
                code="email_taken",
            )
        return email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", forms.ValidationError(_("The two passwords differ."), code="password_mismatch"))
        elif password1:
            candidate = User(username=cleaned.get("username", ""), email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Asks for a reset link; throttled per client and per address (see ``throttling``), with
    the same answer whether an account has the address or not."""

    email = forms.EmailField(
        label=_("E-mail address"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )

    def __init__(self, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        client = throttling.login_client(self.request) if self.request is not None else throttling.LoginClient("-")
        refusal = throttling.count_password_reset(client, email)
        if refusal is not None:
            if throttling.first_refusal_in_window(client, refusal):
                actions.record_login_throttled(reason=refusal.value, started=True)
            raise forms.ValidationError(PASSWORD_RESET_THROTTLED_MESSAGE, code="throttled")
        return email

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        super().send_mail(
            subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name
        )
        actions.note_password_reset_requested(user=context["user"])


class SetPasswordForm(auth_forms.SetPasswordForm):
    """A new password by a reset link; saving also lifts a lockout and is audited."""

    def save(self, commit: bool = True) -> Any:
        return actions.set_password(user=self.user, password=self.cleaned_data["new_password1"], reset=True)


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """The logged-in user changes the password; audited."""

    def save(self, commit: bool = True) -> Any:
        return actions.set_password(user=self.user, password=self.cleaned_data["new_password1"], reset=False)
