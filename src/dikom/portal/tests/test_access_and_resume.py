"""Save and resume; nobody sees another citizen's application."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dikom.lib.testing import english_client
from dikom.portal.models import Application
from dikom.portal.tests.test_journey import PERSON, start, step_url

pytestmark = pytest.mark.django_db


def test_anonymous_save_and_resume_with_token(adoption: Any) -> None:
    client = english_client()
    application = start(client, adoption)
    saved = client.post(step_url(application, 1), {**PERSON, "f-name": "Halb fertig", "action": "save"})
    assert saved.status_code == 200
    link = re.search(r'id="resume-link">([^<]+)<', saved.content.decode()).group(1)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    application.refresh_from_db()
    assert token not in application.resume_token_hash and len(application.resume_token_hash) == 64

    other_browser = english_client()  # e.g. after a server restart, on another device
    assert other_browser.get(step_url(application, 1)).status_code == 404
    resumed = other_browser.get(f"/portal/fortsetzen/{token}/")
    assert resumed["Location"] == step_url(application, 1)
    page = other_browser.get(step_url(application, 1))
    assert page.status_code == 200 and 'value="Halb fertig"' in page.content.decode()
    assert english_client().get(f"/portal/fortsetzen/{token[:-2]}xx/").status_code == 404


def test_logged_in_citizen_sees_draft_in_my_applications(adoption: Any, citizen: Any, login: Any) -> None:
    client = login(english_client(), citizen)
    application = start(client, adoption)
    assert application.citizen == citizen
    saved = client.post(step_url(application, 1), {**PERSON, "action": "save"})
    assert saved["Location"] == "/portal/antraege/"
    mine = client.get("/portal/antraege/")
    assert mine.status_code == 200 and step_url(application, 1) in mine.content.decode()


def test_other_citizens_and_anonymous_visitors_get_404(adoption: Any, citizen: Any, login: Any, outsider: Any) -> None:
    client = login(english_client(), citizen)
    application = start(client, adoption)
    assert english_client().get(step_url(application, 1)).status_code == 404
    stranger = login(english_client(), outsider)
    assert stranger.get(step_url(application, 1)).status_code == 404
    base = f"/portal/{application.municipality.slug}/antrag/{application.uuid}/"
    for suffix in ("zusammenfassung/", "bestaetigung/", "quittung.pdf", "abbrechen/"):
        assert stranger.get(base + suffix).status_code == 404
    assert "Family" not in stranger.get("/portal/antraege/").content.decode()
    # the same uuid under another city's address does not exist either
    assert client.get(step_url(application, 1).replace("/fulda/", "/giessen/")).status_code == 404


def test_cancel_deletes_answers(adoption: Any) -> None:
    client = english_client()
    application = start(client, adoption)
    client.post(step_url(application, 1), {**PERSON, "action": "save"})
    response = client.post(f"/portal/{application.municipality.slug}/antrag/{application.uuid}/abbrechen/")
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == Application.Status.CANCELLED and application.answers == {}


def test_expired_drafts_are_deleted(adoption: Any, settings: Any) -> None:
    import datetime as dt

    from django.utils import timezone

    from dikom.portal.actions import delete_expired_drafts

    settings.DIKOM_PORTAL_DRAFT_DAYS = 30
    application = start(english_client(), adoption)
    Application.objects.filter(pk=application.pk).update(updated_at=timezone.now() - dt.timedelta(days=31))
    assert delete_expired_drafts() == 1
