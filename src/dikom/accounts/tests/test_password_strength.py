"""Passwords are estimated with zxcvbn, next to Django's rules, with the user's own data and
the cities' names as known words; the reasons are given in German."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from dikom.accounts.models import User
from dikom.accounts.tests.factories import UserFactory
from dikom.demo import data as demo_data
from dikom.demo.actions import generate_demo_password

REGISTER = "/konto/registrieren/"


def _register(client, username, password, email=None):
    return client.post(
        REGISTER,
        {
            "username": username,
            "email": email or f"{username}@example.org",
            "password1": password,
            "password2": password,
        },
    )


def test_the_user_name_twice_is_refused_with_a_german_reason(client, db):
    # The password of the outside review: long enough, three character classes, and worthless.
    response = _register(client, "secuser8db05e", "secuser8db05eSecuser8db05e")

    assert response.status_code == 200
    assert not User.objects.filter(username="secuser8db05e").exists()
    errors = " ".join(response.context["form"].errors["password1"])
    assert "Dieses Passwort ist zu leicht zu erraten" in errors


def test_a_city_name_with_a_year_is_refused(client, city_a):
    response = _register(client, "neu", "Fulda-Fulda-2024!")

    assert response.status_code == 200
    assert "zu leicht zu erraten" in " ".join(response.context["form"].errors["password1"])


@pytest.mark.parametrize(
    ("password", "hint"),
    [
        ("Qwertzuiop1!", "Fügen Sie ein oder zwei weitere Wörter hinzu."),
        ("1q2w3e4r5t6Z!", "Das ähnelt einem häufig verwendeten Passwort."),
        ("Passwort123!", "größtenteils aus"),
        ("Secuser8db05e!2024", "größtenteils aus"),
    ],
)
def test_guessable_passwords_are_refused_with_german_reasons(db, password, hint):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, User(username="secuser8db05e", email="neu@example.org"))

    assert hint in " ".join(refused.value.messages)


def test_the_e_mail_address_and_names_are_known_words(db):
    user = User(username="x9", email="annegret.kowalski@stadt.example", first_name="Annegret", last_name="Kowalski")

    with pytest.raises(ValidationError):
        validate_password("Annegret.Kowalski1", user)


def test_a_strong_password_passes_and_registers(client, db):
    response = _register(client, "neu", "Wald-Ofen-Kiesel-93")

    assert response.status_code == 302
    assert User.objects.filter(username="neu").exists()


def test_password_change_uses_the_estimator_too(client, citizen, password):
    client.post("/konto/anmelden/", {"username": "citizen", "password": password})

    response = client.post(
        "/konto/passwort-aendern/",
        {"old_password": password, "new_password1": "citizenCitizen12", "new_password2": "citizenCitizen12"},
    )

    assert response.status_code == 200
    citizen.refresh_from_db()
    assert citizen.check_password(password)


def test_the_demo_password_passes_the_validators(db):
    admin = UserFactory(username=demo_data.PLATFORM_ADMIN_USERNAME)
    for _ in range(20):
        validate_password(generate_demo_password(), admin)


def test_help_text_names_the_estimate(client, db):
    html = client.get(REGISTER).content.decode()

    assert "leicht zu erraten" in html
