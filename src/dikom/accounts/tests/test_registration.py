"""Citizens register themselves."""

from __future__ import annotations

from django.urls import reverse

from dikom.accounts.models import User
from dikom.audit.models import AuditEvent

REGISTER = "/konto/registrieren/"
STRONG = "Sonnen-Blume-77!"


def _data(**overrides):
    return {"username": "neu", "email": "neu@example.org", "password1": STRONG, "password2": STRONG, **overrides}


def test_register_url_is_german():
    assert reverse("accounts:register") == REGISTER


def test_page_has_new_password_autocomplete(client, db):
    html = client.get(REGISTER).content.decode()
    assert 'autocomplete="new-password"' in html
    assert 'autocomplete="email"' in html


def test_registration_creates_a_citizen_and_logs_them_in(client, db):
    response = client.post(REGISTER, _data())
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    user = User.objects.get(username="neu")
    assert user.check_password(STRONG)
    assert not user.memberships.exists()
    assert not user.is_superuser
    assert client.session["_auth_user_id"] == str(user.pk)
    assert AuditEvent.objects.filter(action="user.register", object_id=str(user.pk)).count() == 1
    # A citizen is not forced into two-factor set-up.
    assert client.get("/start/").status_code == 200


def test_weak_password_is_rejected_with_a_message(client, db):
    response = client.post(REGISTER, _data(password1="passwort", password2="passwort"))
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert not User.objects.filter(username="neu").exists()


def test_mismatched_passwords_are_rejected(client, db):
    response = client.post(REGISTER, _data(password2=STRONG + "x"))
    assert response.context["form"].errors["password2"]
    assert not User.objects.exists()


def test_duplicate_email_is_rejected_case_insensitively(client, citizen):
    response = client.post(REGISTER, _data(email="CITIZEN@Example.org"))
    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert User.objects.count() == 1


def test_duplicate_user_name_and_at_sign_are_rejected(client, citizen):
    taken = client.post(REGISTER, _data(username="Citizen"))
    assert taken.context["form"].errors["username"]
    at_sign = client.post(REGISTER, _data(username="a@b.example"))
    assert at_sign.context["form"].errors["username"]
    assert User.objects.count() == 1


def test_logged_in_user_is_sent_to_the_account_page(client, citizen, login):
    login(client, citizen)
    response = client.get(REGISTER)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:account")
