"""Managing targets through the pages: create (secret once), edit, deactivate, replace the secret; bad input."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dikom.audit.models import AuditEvent
from dikom.handover.models import DeliveryTarget
from dikom.handover.tests.conftest import make_target
from dikom.lib.testing import english_client

pytestmark = pytest.mark.django_db


def test_webhook_target_secret_is_shown_once_and_never_logged(owner: Any, login: Any, adoption: Any) -> None:
    client = login(english_client(), owner)
    form = client.get("/uebergabe/fulda/ziele/neu/")
    assert form.status_code == 200
    assert adoption.definition.slug in form.content.decode()  # the city's services to choose from

    response = client.post(
        "/uebergabe/fulda/ziele/neu/",
        {
            "name": "Sozialamt-Fachverfahren",
            "kind": "webhook",
            "url": "https://fachverfahren.fulda.example/dikom",
            "services": [adoption.definition.slug],
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    target = DeliveryTarget.objects.get()
    assert target.services == [adoption.definition.slug] and target.active
    html = response.content.decode()
    assert target.secret.startswith("whsec_") and f'value="{target.secret}"' in html
    assert "It is shown only this once." in html

    for url in ("/uebergabe/fulda/ziele/", f"/uebergabe/fulda/ziele/{target.uuid}/", "/uebergabe/fulda/"):
        assert target.secret not in client.get(url).content.decode()
    event = AuditEvent.objects.get(action="handover.target.create")
    assert event.changes["url"] == "https://fachverfahren.fulda.example/dikom"
    assert target.secret not in str(event.changes) and "secret" not in event.changes


def test_email_target_has_no_secret(owner: Any, login: Any) -> None:
    client = login(english_client(), owner)
    response = client.post(
        "/uebergabe/fulda/ziele/neu/", {"name": "Poststelle", "kind": "email", "email": "post@fulda.example"}
    )
    assert response.status_code == 302 and response["Location"] == "/uebergabe/fulda/ziele/"
    target = DeliveryTarget.objects.get()
    assert target.email == "post@fulda.example" and target.secret == "" and target.url == ""
    assert client.get(f"/uebergabe/fulda/ziele/{target.uuid}/neues-geheimnis/").status_code == 403


def test_edit_deactivate_activate_and_replace_the_secret(owner: Any, login: Any, city_a: Any) -> None:
    created = make_target(city_a, owner, url="https://alt.fulda.example/")
    target = created.target
    client = login(english_client(), owner)

    response = client.post(
        f"/uebergabe/fulda/ziele/{target.uuid}/",
        {"name": "Neuer Name", "url": "https://neu.fulda.example/", "active": "on"},
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.name, target.url, target.active, target.kind) == (
        "Neuer Name",
        "https://neu.fulda.example/",
        True,
        "webhook",
    )
    assert target.secret == created.secret  # editing keeps the secret
    update = AuditEvent.objects.get(action="handover.target.update")
    assert update.changes == {
        "name": ["Fachverfahren", "Neuer Name"],
        "url": ["https://alt.fulda.example/", "https://neu.fulda.example/"],
    }

    assert client.post(f"/uebergabe/fulda/ziele/{target.uuid}/aktiv/", {"active": "0"}).status_code == 302
    target.refresh_from_db()
    assert not target.active
    assert AuditEvent.objects.filter(action="handover.target.deactivate").count() == 1
    assert "inactive" in client.get("/uebergabe/fulda/ziele/").content.decode()
    client.post(f"/uebergabe/fulda/ziele/{target.uuid}/aktiv/", {"active": "1"})
    target.refresh_from_db()
    assert target.active and AuditEvent.objects.filter(action="handover.target.activate").count() == 1

    confirm = client.get(f"/uebergabe/fulda/ziele/{target.uuid}/neues-geheimnis/")
    assert confirm.status_code == 200 and created.secret not in confirm.content.decode()
    rotated = client.post(f"/uebergabe/fulda/ziele/{target.uuid}/neues-geheimnis/")
    target.refresh_from_db()
    assert target.secret != created.secret
    assert f'value="{target.secret}"' in rotated.content.decode()
    event = AuditEvent.objects.get(action="handover.target.rotate_secret")
    assert event.changes == {"secret": "replaced"}


def test_deactivating_works_even_if_the_address_is_no_longer_allowed(
    local_targets: Any, owner: Any, login: Any, city_a: Any
) -> None:
    target = make_target(city_a, owner, url="http://127.0.0.1:9/").target
    local_targets.DIKOM_HANDOVER_ALLOW_HTTP = False
    client = login(english_client(), owner)
    client.post(f"/uebergabe/fulda/ziele/{target.uuid}/aktiv/", {"active": "0"})
    target.refresh_from_db()
    assert not target.active
    page = client.post(f"/uebergabe/fulda/ziele/{target.uuid}/aktiv/", {"active": "1"}, follow=True)
    assert "The address must start with https://." in page.content.decode()
    target.refresh_from_db()
    assert not target.active


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "This field is required."),
        ({"name": "X", "kind": "fax"}, "Select a valid choice."),
        ({"name": "X", "kind": "webhook"}, "Please enter the webhook address."),
        ({"name": "X", "kind": "email"}, "Please enter the e-mail address."),
        ({"name": "X", "kind": "email", "email": "kein-at"}, "Enter a valid email address."),
        ({"name": "X", "kind": "webhook", "url": "https://a.example/", "services": ["gibt-es-nicht"]}, "valid choice"),
        ({"name": "X" * 500, "kind": "webhook", "url": "https://a.example/"}, "at most 200 characters"),
        ({"name": "X", "kind": "webhook", "url": "https://a.example/" + "x" * 600}, "at most 500 characters"),
        ({"name": "X", "kind": "webhook", "url": "https://[zz::1/"}, "Please enter a valid address."),
    ],
)
def test_bad_input_gets_a_clear_error_not_a_500(owner: Any, login: Any, data: dict[str, Any], message: str) -> None:
    client = login(english_client(), owner)
    response = client.post("/uebergabe/fulda/ziele/neu/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert re.search(r'class="notice notice--warning" role="alert"', response.content.decode())
    assert not DeliveryTarget.objects.exists()


def test_bad_edit_input_and_bad_filters(owner: Any, login: Any, city_a: Any) -> None:
    target = make_target(city_a, owner, url="https://a.fulda.example/").target
    client = login(english_client(), owner)
    response = client.post(f"/uebergabe/fulda/ziele/{target.uuid}/", {"name": "", "url": "http://a.example/"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html and "The address must start with https://." in html
    assert client.get("/uebergabe/fulda/?status=verloren").status_code == 400
    assert client.get("/uebergabe/fulda/?page=abc").status_code == 200
    assert client.get("/uebergabe/fulda/?page=99999").status_code == 200
    assert client.get("/uebergabe/fulda/ziele/nicht-eine-uuid/").status_code == 404
    assert client.get("/uebergabe/fulda/ziele/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_pages_are_german_by_default(owner: Any, login: Any, client: Any) -> None:
    page = login(client, owner).get("/uebergabe/fulda/")
    assert page.status_code == 200
    assert '<html lang="de">' in page.content.decode()
