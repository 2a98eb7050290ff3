"""The whole journey through HTTP, as the people of four cities do it:

designer of A drafts → reviewers of B and C review (changes requested, then
approved) → released → admin of D adopts with a local fee → A improves the
service in version 2 → released → D is notified, sees the diff, upgrades.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dikom.accounts.roles import Role
from dikom.audit.models import AuditEvent
from dikom.eservices import service
from dikom.eservices.models import Adoption, Notification, ServiceDefinition, ServiceVersion

pytestmark = pytest.mark.django_db

Status = ServiceVersion.Status


def _hash(version: ServiceVersion) -> str:
    version.refresh_from_db()
    return version.content_hash


def test_draft_review_release_adopt_improve_upgrade(
    as_user, designer_a, reviewer_b, reviewer_c, admin_d, org_unit_d, city_a, city_d, en_client
):
    designer = as_user(designer_a)

    # Given a designer of A creates a service: a draft version 1
    response = designer.post("/dienste/neu/", {"municipality": city_a.pk, "title": "Hundesteuer-Anmeldung"})
    assert response.status_code == 302
    definition = ServiceDefinition.objects.get()
    version = definition.versions.get()
    assert response["Location"] == f"/dienste/{definition.slug}/v1/bearbeiten/"
    assert version.status == Status.DRAFT
    base = f"/dienste/{definition.slug}/v1/bearbeiten/"
    assert designer.get(base).status_code == 200

    # When she fills in the identity, a step and fields (with a visibility rule) and a fee
    response = designer.post(
        base + "identitaet/",
        {
            "content_hash": _hash(version),
            "title_de": "Hundesteuer-Anmeldung",
            "title_en": "Dog tax registration",
            "description_de": "Einen Hund zur Hundesteuer anmelden.",
            "leika_key": "99108001001000",
            "ozg_topic": "Steuern",
            "keywords": "Hund, Steuer",
        },
    )
    assert response.status_code == 302
    response = designer.post(base + "schritte/neu/", {"content_hash": _hash(version), "title_de": "Hund"})
    assert response.status_code == 302
    assert response["Location"] == base + "schritte/1/"
    response = designer.post(
        base + "schritte/1/felder/neu/",
        {"content_hash": _hash(version), "type": "yes_no", "label_de": "Gefährlicher Hund"},
    )
    assert response.status_code == 302
    assert response["Location"] == base + "schritte/1/felder/0/"
    response = designer.post(
        base + "schritte/1/felder/neu/",
        {"content_hash": _hash(version), "type": "file", "label_de": "Sachkundenachweis"},
    )
    field_url = response["Location"]
    assert field_url == base + "schritte/1/felder/1/"
    page = designer.get(field_url)
    assert page.status_code == 200
    assert b"Preview: what citizens see" in page.content
    # An invalid rule is refused with a message next to the field
    bad = {
        "content_hash": _hash(version),
        "key": "sachkunde",
        "label_de": "Sachkundenachweis",
        "required": "on",
        "accept": "application/pdf",
        "max_megabytes": "5",
        "visible_if": '{"==": [{"var": "hund.gibtsnicht"}, "yes"]}',
    }
    response = designer.post(field_url, bad)
    assert response.status_code == 400
    assert b"refers to fields that do not exist: hund.gibtsnicht" in response.content
    response = designer.post(field_url, {**bad, "visible_if": '{"==": [{"var": "hund.gefaehrlicher_hund"}, "yes"]}'})
    assert response.status_code == 302
    version.refresh_from_db()
    field = version.content["steps"][1]["fields"][1]
    assert field["visible_if"] == {"==": [{"var": "hund.gefaehrlicher_hund"}, "yes"]}
    assert field["max_bytes"] == 5 * 1024 * 1024
    response = designer.post(
        base + "gebuehren/",
        {
            "content_hash": _hash(version),
            "label_de": "Anmeldegebühr",
            "amount": "10.00",
            "locally_adjustable": "on",
        },
    )
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.content["fees"] == [
        {"key": "anmeldegebuehr", "label": {"de": "Anmeldegebühr"}, "amount_cents": 1000, "locally_adjustable": True}
    ]

    # And submits it for review
    response = designer.post(base + "einreichen/", {"content_hash": _hash(version)})
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.status == Status.IN_REVIEW
    assert version.review_round == 1
    assert Notification.objects.filter(
        municipality=reviewer_b.memberships.get().municipality, role=Role.REVIEWER
    ).exists()

    # Then the reviewer of B comments on a single field and requests changes
    b = as_user(reviewer_b)
    page = b.get(f"/dienste/{definition.slug}/v1/")
    assert page.status_code == 200
    assert b"Your decision" in page.content
    response = b.post(
        f"/dienste/{definition.slug}/v1/kommentar/",
        {"path": "steps[1].fields[1]", "body": "Bitte auch JPEG zulassen."},
    )
    assert response.status_code == 302
    response = b.post(
        f"/dienste/{definition.slug}/v1/entscheidung/", {"decision": "request_changes", "body": "Siehe Kommentar."}
    )
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.status == Status.CHANGES_REQUESTED
    page = designer.get(f"/dienste/{definition.slug}/v1/")
    assert "Bitte auch JPEG zulassen." in page.content.decode()

    # The designer changes the field and resubmits: a new review round
    response = designer.post(
        field_url, {**bad, "content_hash": _hash(version), "accept": "application/pdf, image/jpeg", "visible_if": ""}
    )
    assert response.status_code == 302
    # and marks the reviewer's comment as resolved (an open comment would hold the release back)
    comment = version.comments.get()
    assert designer.post(f"/dienste/{definition.slug}/v1/kommentar/{comment.pk}/erledigt/").status_code == 302
    assert designer.post(base + "einreichen/", {"content_hash": _hash(version)}).status_code == 302
    version.refresh_from_db()
    assert (version.status, version.review_round) == (Status.IN_REVIEW, 2)

    # B and C approve: the quorum of two cities releases the version
    assert b.post(f"/dienste/{definition.slug}/v1/entscheidung/", {"decision": "approve"}).status_code == 302
    version.refresh_from_db()
    assert version.status == Status.IN_REVIEW
    c = as_user(reviewer_c)
    assert c.post(f"/dienste/{definition.slug}/v1/entscheidung/", {"decision": "approve"}).status_code == 302
    version.refresh_from_db()
    assert version.status == Status.RELEASED
    assert [a["municipality"] for a in version.release_quorum["approvals"]] == ["giessen", "marburg"]
    assert version.release_quorum["required"] == 2

    # Everyone, also without an account, finds it in the library
    library = en_client().get("/dienste/?q=Hund")
    assert library.status_code == 200
    assert "Hundesteuer-Anmeldung" in library.content.decode()
    assert en_client().get(f"/dienste/{definition.slug}/v1/").status_code == 200

    # The admin of D adopts it with an own fee, own org unit and a start date
    d = as_user(admin_d)
    adoption_url = f"/dienste/{definition.slug}/uebernahme/wetzlar/"
    assert d.get(adoption_url).status_code == 200
    response = d.post(
        adoption_url,
        {
            "org_unit": org_unit_d.pk,
            "start_date": "2026-01-01",
            "contact_email": "hundesteuer@wetzlar.example",
            "contact_phone": "06441 99-0",
            "hint_de": "Bitte Steuermarke im Rathaus abholen.",
            "active": "on",
            "fee_anmeldegebuehr": "12.50",
        },
    )
    assert response.status_code == 302
    adoption = Adoption.objects.get()
    assert (adoption.municipality, adoption.version, adoption.fees) == (city_d, version, {"anmeldegebuehr": 1250})
    today = dt.date(2026, 6, 1)
    assert service.active_version_for(city_d, definition, today=today) == version

    # A improves the service: version 2, a copy of the released content, through the same review
    response = designer.post(f"/dienste/{definition.slug}/neue-version/")
    assert response.status_code == 302
    v2 = definition.versions.get(number=2)
    assert (v2.status, v2.based_on, v2.content) == (Status.DRAFT, version, version.content)
    base2 = f"/dienste/{definition.slug}/v2/bearbeiten/"
    response = designer.post(
        base2 + "schritte/1/",
        {"content_hash": _hash(v2), "key": "hund", "title_de": "Angaben zum Hund", "visible_if": ""},
    )
    assert response.status_code == 302
    assert designer.post(base2 + "einreichen/", {"content_hash": _hash(v2)}).status_code == 302
    page = b.get(f"/dienste/{definition.slug}/v2/")
    assert "Changes since version 1" in page.content.decode()
    assert "Angaben zum Hund" in page.content.decode()
    b.post(f"/dienste/{definition.slug}/v2/entscheidung/", {"decision": "approve"})
    c.post(f"/dienste/{definition.slug}/v2/entscheidung/", {"decision": "approve"})
    v2.refresh_from_db()
    assert v2.status == Status.RELEASED

    # D is notified, still starts new applications on version 1, sees the diff and upgrades
    adoption.refresh_from_db()
    assert adoption.pending_upgrade_to == v2
    assert Notification.objects.filter(municipality=city_d, role=Role.MUNICIPALITY_ADMIN, version=v2).count() == 1
    assert service.active_version_for(city_d, definition, today=today) == version
    page = d.get(adoption_url)
    assert "Version 2 is available" in page.content.decode()
    assert "Angaben zum Hund" in page.content.decode()
    notifications = d.get("/dienste/benachrichtigungen/")
    assert "Version 2 of" in notifications.content.decode()
    assert d.post(adoption_url + "aktualisieren/").status_code == 302
    adoption.refresh_from_db()
    assert (adoption.version, adoption.pending_upgrade_to, adoption.fees) == (v2, None, {"anmeldegebuehr": 1250})
    assert service.active_version_for(city_d, definition, today=today) == v2
    # ... and an application started on version 1 still finds its version
    assert service.get_version(definition.slug, 1) == version

    # Every state change is in the audit log
    actions = set(AuditEvent.objects.filter(action__startswith="eservice").values_list("action", flat=True))
    assert {
        "eservice.create",
        "eservice.version.edit",
        "eservice.version.submit",
        "eservice.comment",
        "eservice.review",
        "eservice.version.changes_requested",
        "eservice.version.release",
        "eservice.adopt",
        "eservice.version.create",
        "eservice.adoption.upgrade_available",
        "eservice.adoption.upgrade",
    } <= actions
    release = AuditEvent.objects.filter(action="eservice.version.release").first()
    assert json.loads(json.dumps(release.changes))["approvals"] == ["giessen", "marburg"]
