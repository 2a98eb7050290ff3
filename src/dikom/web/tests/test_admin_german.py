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


@pytest.mark.django_db(transaction=True)
def test_every_admin_page_of_the_demo_is_german(login: Any) -> None:
    """Each model's list, add and change page (of the demo's first object) in the platform administration.

    Checked as the browser crawler checks pages (its English word list) and against the catalogue
    (English originals of translated texts, Django's "---------").
    """
    from django.contrib import admin
    from django.contrib.auth import get_user_model

    from dikom.demo.actions import load_demo_cooperation
    from dikom.demo.data import PLATFORM_ADMIN_USERNAME
    from tests.browser.test_crawler import english_words

    load_demo_cooperation(password="Demo-Passwort-123")
    client = login(Client(), get_user_model().objects.get(username=PLATFORM_ADMIN_USERNAME))
    pages = ["/plattform-admin/"]
    for model in admin.site._registry:
        base = f"/plattform-admin/{model._meta.app_label}/{model._meta.model_name}/"
        pages += [base, base + "add/"]
        first = model.objects.order_by("pk").first()
        if first is not None:
            pages.append(f"{base}{first.pk}/change/")
    user = get_user_model().objects.get(username="marburg-caseworker")
    pages.append(f"/plattform-admin/accounts/user/{user.pk}/password/")

    found = {}
    for url in pages:
        response = client.get(url)
        if url.endswith("/add/") and response.status_code == 403:
            continue  # read-only in the admin (audit log, API keys, task results)
        assert response.status_code == 200, url
        html = response.content.decode()
        problems = english_words(visible_texts(html)) + foreign_text(html, "de")
        if problems:
            found[url] = problems
    assert found == {}
    assert len(pages) > 20


def test_admin_scripts_texts_and_permission_names_are_german(client: Client, login: Any, platform_admin: Any) -> None:
    login(client, platform_admin)

    catalogue = client.get("/plattform-admin/jsi18n/").content.decode()
    group_page = client.get("/plattform-admin/auth/group/add/").content.decode()

    # The two-list picker's texts, which Django 5.2's German catalogue lacks
    assert '"Choose all %s": "Alle %s ausw\\u00e4hlen"' in catalogue
    assert '"Remove selected %s": "Markierte %s entfernen"' in catalogue
    # Permission names are stored in English; the lists compose them in German
    assert "Benutzerkonten | Benutzerkonto | Kann Benutzerkonto löschen" in visible_texts(group_page)
    assert "Can delete" not in group_page


def test_admin_date_time_inputs_have_labels_and_the_admin_has_its_corrections(
    client: Client, login: Any, platform_admin: Any
) -> None:
    login(client, platform_admin)

    page = client.get("/plattform-admin/otp_totp/totpdevice/add/").content.decode()

    assert '<label class="datetime-part" for="id_throttling_failure_timestamp_0">Datum:</label>' in page
    assert '<label class="datetime-part" for="id_throttling_failure_timestamp_1">Zeit:</label>' in page
    assert "dikom/css/admin.css" in page and "dikom/js/admin.js" in page
