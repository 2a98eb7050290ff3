"""Password reset by e-mail and password change."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from dikom.audit.models import AuditEvent

RESET = "/konto/passwort-vergessen/"
NEW_PASSWORD = "Neues-Passwort-2024!"


def _reset_link(message) -> str:
    match = re.search(r"https?://testserver(/konto/passwort-zuruecksetzen/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_reset_urls_are_german():
    assert reverse("accounts:password_reset") == RESET
    assert reverse("accounts:password_reset_done") == "/konto/passwort-vergessen/gesendet/"
    assert reverse("accounts:password_change") == "/konto/passwort-aendern/"


def test_reset_mail_for_existing_address_and_same_answer_for_unknown(client, citizen):
    known = client.post(RESET, {"email": "CITIZEN@example.org"})
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["citizen@example.org"]
    assert "dikom" in mail.outbox[0].subject
    assert AuditEvent.objects.filter(action="auth.password_reset_requested", object_id=str(citizen.pk)).count() == 1

    unknown = client.post(RESET, {"email": "nobody@example.org"})
    assert len(mail.outbox) == 1  # nothing sent, nothing revealed
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("accounts:password_reset_done")


def test_reset_link_sets_a_new_password_which_must_be_strong(client, citizen):
    client.post(RESET, {"email": "citizen@example.org"})
    link = _reset_link(mail.outbox[0])
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"]
    form_url = form_page.redirect_chain[-1][0]
    assert "neues-passwort" in form_url

    weak = client.post(form_url, {"new_password1": "kurz", "new_password2": "kurz"})
    assert weak.status_code == 200
    assert weak.context["form"].errors["new_password2"]
    no_classes = client.post(form_url, {"new_password1": "nurkleinbuchstaben", "new_password2": "nurkleinbuchstaben"})
    assert "mindestens drei" in str(no_classes.context["form"].errors)
    citizen.refresh_from_db()
    assert not citizen.check_password("kurz")

    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert done["Location"] == reverse("accounts:password_reset_complete")
    citizen.refresh_from_db()
    assert citizen.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="auth.password_reset", object_id=str(citizen.pk)).count() == 1
    # The link works once only.
    assert not client.get(link, follow=True).context["validlink"]


def test_reset_lifts_the_lockout(client, citizen):
    type(citizen).objects.filter(pk=citizen.pk).update(
        failed_login_count=3, locked_until=timezone.now() + timedelta(minutes=10)
    )
    client.post(RESET, {"email": "citizen@example.org"})
    form_url = client.get(_reset_link(mail.outbox[0]), follow=True).redirect_chain[-1][0]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    citizen.refresh_from_db()
    assert not citizen.is_locked
    assert citizen.failed_login_count == 0
    response = client.post("/konto/anmelden/", {"username": "citizen", "password": NEW_PASSWORD})
    assert response.status_code == 302


def test_invalid_reset_link_gives_a_clear_page(client, db):
    response = client.get("/konto/passwort-zuruecksetzen/xx/yy-zz/")
    assert response.status_code == 200
    assert not response.context["validlink"]


def test_password_change_needs_the_old_password_and_is_audited(client, citizen, password, login):
    login(client, citizen)
    wrong = client.post(
        "/konto/passwort-aendern/",
        {"old_password": "Falsch-Falsch-1", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 200
    assert wrong.context["form"].errors["old_password"]

    response = client.post(
        "/konto/passwort-aendern/",
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_change_done")
    citizen.refresh_from_db()
    assert citizen.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="auth.password_change", object_id=str(citizen.pk)).count() == 1
    # Still logged in afterwards (the session hash was updated).
    assert client.get("/konto/").status_code == 200


def test_password_change_requires_login(client, db):
    response = client.get("/konto/passwort-aendern/")
    assert response.status_code == 302
    assert response["Location"].startswith("/konto/anmelden/")


def test_reset_pages_render(client, db):
    for url in (
        "/konto/passwort-vergessen/",
        "/konto/passwort-vergessen/gesendet/",
        "/konto/passwort-zuruecksetzen/fertig/",
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert " style=" not in response.content.decode()
    assert 'autocomplete="email"' in client.get(RESET).content.decode()
