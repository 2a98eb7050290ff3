"""The platform administration has no log-in of its own, and only a session that passed the
platform's sign-in (lockout, throttles, audit) may enrol a first second factor."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from dikom.accounts.tests.test_two_factor import SETUP, code_for
from dikom.audit.models import AuditEvent

ADMIN = "/plattform-admin/"
ADMIN_LOGIN = "/plattform-admin/login/"
LOGIN = "/konto/anmelden/"


def _lock(user):
    type(user).objects.filter(pk=user.pk).update(locked_until=timezone.now() + timedelta(minutes=10))


def test_admin_login_page_forwards_to_the_platform_sign_in(client, db):
    response = client.get(f"{ADMIN_LOGIN}?next=/plattform-admin/accounts/user/")

    assert response.status_code == 303
    assert response["Location"] == f"{LOGIN}?next=%2Fplattform-admin%2Faccounts%2Fuser%2F"
    assert AuditEvent.objects.filter(action="auth.admin_login_redirected", changes__method="GET").count() == 1


def test_admin_pages_send_anonymous_visitors_to_the_platform_sign_in(client, db):
    response = client.get(ADMIN, follow=True)

    assert response.redirect_chain[-1][0] == f"{LOGIN}?next=%2Fplattform-admin%2F"
    assert response.status_code == 200


def test_admin_login_form_checks_no_password_even_a_right_one(client, platform_admin, password):
    response = client.post(ADMIN_LOGIN, {"username": "platform", "password": password, "next": ADMIN})

    assert response.status_code == 303
    assert response["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.admin_login_redirected", changes__method="POST").count() == 1
    assert not AuditEvent.objects.filter(action="auth.login").exists()


def test_locked_platform_admin_cannot_sign_in_through_the_admin(client, platform_admin, password):
    _lock(platform_admin)

    client.post(ADMIN_LOGIN, {"username": "platform", "password": password})
    client.post(LOGIN, {"username": "platform", "password": password})

    assert "_auth_user_id" not in client.session
    assert not TOTPDevice.objects.filter(user=platform_admin).exists()
    # The attempt at the platform's sign-in is in the audit log.
    assert AuditEvent.objects.filter(
        action="auth.login_failed", object_id=str(platform_admin.pk), changes__reason="locked"
    ).exists()


def test_platform_admin_reaches_the_admin_only_after_sign_in_and_second_factor(client, platform_admin, password):
    response = client.post(f"{LOGIN}?next={ADMIN}", {"username": "platform", "password": password})
    assert response["Location"] == f"{SETUP}?next=%2Fplattform-admin%2F"
    # Password only: the admin is closed.
    assert client.get(ADMIN)["Location"].startswith(SETUP)

    client.get(SETUP)
    device = TOTPDevice.objects.get(user=platform_admin, confirmed=False)
    assert client.post(SETUP, {"token": code_for(device), "next": ADMIN}).status_code == 200

    assert client.get(ADMIN).status_code == 200


def test_admin_refuses_an_unverified_session_even_without_enforcement(client, platform_admin, settings):
    # Without the platform-wide rule, an admin who set up a device must still have used it.
    settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False
    TOTPDevice.objects.create(user=platform_admin, name="phone", confirmed=True)
    client.force_login(platform_admin)

    assert client.get(ADMIN).status_code == 302


def test_verified_platform_admin_uses_the_admin_and_others_do_not(client, platform_admin, owner, login):
    login(client, platform_admin)
    assert client.get(ADMIN).status_code == 200

    login(client, owner)  # a municipality admin, verified, but no platform admin
    assert client.get(ADMIN).status_code == 302


def test_admin_password_change_is_the_platform_page(client, platform_admin, login):
    login(client, platform_admin)

    response = client.get(f"{ADMIN}password_change/")

    assert response.status_code == 302
    assert response["Location"] == "/konto/passwort-aendern/"


def test_session_without_the_platform_sign_in_cannot_enrol_a_device(client, platform_admin):
    # A session opened by any other door (here: a test log-in without the password form).
    client.force_login(platform_admin)

    response = client.get(SETUP)

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client.session
    assert not TOTPDevice.objects.filter(user=platform_admin).exists()
    assert AuditEvent.objects.filter(
        action="auth.2fa_setup_refused", object_id=str(platform_admin.pk), changes__reason="no_password_sign_in"
    ).exists()


def test_account_put_on_hold_after_the_password_step_cannot_enrol_a_device(client, platform_admin, password):
    client.post(LOGIN, {"username": "platform", "password": password})
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=platform_admin, confirmed=False)
    # Meanwhile guesses elsewhere put the account on hold.
    _lock(platform_admin)

    response = client.post(SETUP, {"token": code_for(device)})

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert not TOTPDevice.objects.filter(user=platform_admin, confirmed=True).exists()
    assert AuditEvent.objects.filter(action="auth.2fa_setup_refused", changes__reason="locked").exists()


def test_unverified_session_of_a_user_with_a_device_cannot_enrol_another(client, colleague, password):
    TOTPDevice.objects.create(user=colleague, name="phone", confirmed=True)
    client.post(LOGIN, {"username": "colleague", "password": password})

    response = client.get(SETUP)

    assert response["Location"].startswith("/konto/zwei-faktor/pruefen/")
    assert TOTPDevice.objects.filter(user=colleague).count() == 1
    assert AuditEvent.objects.filter(action="auth.2fa_setup_refused", changes__reason="device_not_verified").exists()


def test_django_authenticate_signs_nobody_in(client, platform_admin, password):
    # Any library form that calls authenticate() (HTTP Basic, DRF's log-in, the admin's form)
    # would pass by the holds and the audit log.
    from django.contrib.auth import authenticate

    assert authenticate(username="platform", password=password) is None
    assert not client.login(username="platform", password=password)
