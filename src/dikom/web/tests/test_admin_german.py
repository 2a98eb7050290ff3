"""The platform administration speaks German, also on the screens of third-party apps."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dikom.lib.langcheck import foreign_text, visible_texts

pytestmark = pytest.mark.django_db


def test_two_factor_device_screens_are_german(client: Client, login: Any, platform_admin: Any) -> None:
    login(client, platform_admin)

    index = visible_texts(client.get("/plattform-admin/").content.decode())
    add = client.get("/plattform-admin/otp_totp/totpdevice/add/").content.decode()
    texts = visible_texts(add)

    assert "Zwei-Faktor-Authentifizierung: Authenticator-Apps" in index and "Otp_Totp" not in index
    assert "TOTP-Gerät hinzufügen" in texts
    assert {"Identität", "Zustand", "Konfiguration", "Drosselung", "Ist dieses Gerät einsatzbereit?"} <= set(texts)
    assert "Is this device ready for use?" not in texts and "State" not in texts
    assert foreign_text(add, "de") == []


def test_task_results_and_empty_choices_are_german(client: Client, login: Any, platform_admin: Any) -> None:
    login(client, platform_admin)

    tasks = visible_texts(client.get("/plattform-admin/django_tasks_database/dbtaskresult/").content.decode())
    add_city = client.get("/plattform-admin/municipalities/municipality/add/").content.decode()

    assert {"Hintergrundaufgaben", "Aufgabenergebnisse", "Fehlgeschlagen", "Erfolgreich"} <= set(tasks)
    assert "Failed" not in tasks
    assert "Bitte wählen" in visible_texts(add_city) and "---------" not in add_city


def test_site_header_follows_the_language(login: Any, platform_admin: Any) -> None:
    from dikom.lib.testing import english_client

    german = login(Client(), platform_admin).get("/plattform-admin/").content.decode()
    english = login(english_client(), platform_admin).get("/plattform-admin/").content.decode()

    assert "dikom · Plattform-Administration" in german
    assert "dikom · Platform administration" in english
