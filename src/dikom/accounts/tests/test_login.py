"""Log-in by user name or e-mail, the lockout, safe redirects and log-out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dikom.accounts.forms import LOGIN_FAILED_MESSAGE
from dikom.audit.models import AuditEvent

LOGIN = "/konto/anmelden/"


def _post_login(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def _events(action, user):
    return AuditEvent.objects.filter(action=action, object_id=str(user.pk))


def test_login_url_is_german():
    assert reverse("accounts:login") == LOGIN
    assert reverse("accounts:logout") == "/konto/abmelden/"


def test_login_page_has_labelled_credential_fields(client, db):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html
    assert '<label for="id_username"' in html


@pytest.mark.parametrize("identifier", ["citizen", "CITIZEN", "citizen@example.org", "Citizen@Example.ORG"])
def test_login_by_user_name_or_email_case_insensitive(client, citizen, password, identifier):
    response = _post_login(client, identifier, password)
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    assert client.session["_auth_user_id"] == str(citizen.pk)
    event = _events("auth.login", citizen).get()
    assert event.municipality_id is None
    assert event.actor_id == citizen.pk


def test_login_cycles_the_session_key(client, citizen, password):
    client.get(LOGIN)
    client.session.save()
    before = client.session.session_key
    _post_login(client, "citizen", password)
    assert client.session.session_key != before


def test_wrong_password_and_unknown_user_get_the_same_generic_message(client, citizen):
    wrong = _post_login(client, "citizen", "Falsches-Passwort-1")
    unknown = _post_login(client, "nobody", "Falsches-Passwort-1")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session
        assert str(LOGIN_FAILED_MESSAGE) in response.content.decode().replace("&#x27;", "'")
    # Both failures are audited, without any IP address; an unknown name is not recorded (people
    # type their password into the name field).
    event = _events("auth.login_failed", citizen).get()
    assert event.municipality_id is None
    assert set(event.changes) == {"reason", "failed_attempts"}
    unknown_event = AuditEvent.objects.get(action="auth.login_failed", object_id="")
    assert unknown_event.changes == {"reason": "unknown_account"}
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 2


def test_lockout_after_max_failures_even_with_the_right_password(client, citizen, password, settings):
    settings.DIKOM_LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        _post_login(client, "citizen", "Falsches-Passwort-1")
    citizen.refresh_from_db()
    assert citizen.is_locked
    assert _events("auth.lockout", citizen).count() == 1

    response = _post_login(client, "citizen", password)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    # The lock is not revealed: the page says exactly what a wrong password says.
    assert str(LOGIN_FAILED_MESSAGE) in response.content.decode().replace("&#x27;", "'")
    assert _events("auth.login_failed", citizen).filter(changes__reason="locked").count() == 1


def test_hold_expires_after_its_delay(client, citizen, password, settings):
    settings.DIKOM_LOGIN_MAX_FAILURES = 2
    settings.DIKOM_LOGIN_BACKOFF_SECONDS = 60
    for _ in range(2):
        _post_login(client, "citizen", "Falsches-Passwort-1")
    citizen.refresh_from_db()
    assert timedelta(seconds=55) < citizen.locked_until - timezone.now() <= timedelta(seconds=60)
    # Given the delay has passed ...
    type(citizen).objects.filter(pk=citizen.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    # ... the right password works again and resets the counter.
    response = _post_login(client, "citizen", password)
    assert response.status_code == 302
    citizen.refresh_from_db()
    assert citizen.failed_login_count == 0


def test_success_resets_the_failure_counter(client, citizen, password):
    _post_login(client, "citizen", "Falsches-Passwort-1")
    citizen.refresh_from_db()
    assert citizen.failed_login_count == 1
    _post_login(client, "citizen", password)
    citizen.refresh_from_db()
    assert citizen.failed_login_count == 0


def test_inactive_user_cannot_log_in(client, citizen, password):
    type(citizen).objects.filter(pk=citizen.pk).update(is_active=False)
    response = _post_login(client, "citizen", password)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_safe_next_is_followed(client, citizen, password):
    response = _post_login(client, "citizen", password, next="/konto/")
    assert response["Location"] == "/konto/"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "https:evil.example"])
def test_open_redirect_is_ignored(client, citizen, password, target):
    response = client.post(f"{LOGIN}?next={target}", {"username": "citizen", "password": password})
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")


def test_ambiguous_identifier_prefers_the_user_name(client, citizen, password, db):
    from dikom.accounts.tests.factories import UserFactory

    # Someone's user name equals another account's e-mail: no crash, the user name wins.
    other = UserFactory(username="citizen@example.net", email="x@example.org")
    type(citizen).objects.filter(pk=citizen.pk).update(email="citizen@example.net")
    response = _post_login(client, "citizen@example.net", password)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(other.pk)


def test_logout_by_get_is_refused_and_by_post_works(client, citizen, password):
    _post_login(client, "citizen", password)
    response = client.get("/konto/abmelden/")
    assert response.status_code == 405
    assert client.session["_auth_user_id"] == str(citizen.pk)

    response = client.post("/konto/abmelden/")
    assert response.status_code == 302
    assert response["Location"] == reverse("web:landing")
    assert "_auth_user_id" not in client.session
    assert _events("auth.logout", citizen).count() == 1


def test_argon2_is_the_first_password_hasher_in_the_base_settings():
    from dikom.conf import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
