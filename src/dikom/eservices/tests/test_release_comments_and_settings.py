"""Designer and adoption journeys: saved local settings keep their date, open review comments hold
the release back, review notifications end with the release, German titles give readable slugs.

Pages are asked for in German (the default), where the date and the messages used to go wrong.
"""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from dikom.eservices.models import Adoption, Notification, ServiceDefinition


def _adoption_url(released: Any, city: str = "wetzlar") -> str:
    return f"/dienste/{released.definition.slug}/uebernahme/{city}/"


def _version_url(version: Any, tail: str = "") -> str:
    return f"/dienste/{version.definition.slug}/v{version.number}/{tail}"


def _start_date_value(html: str) -> str:
    tag = re.search(r"<input[^>]*name=\"start_date\"[^>]*>", html)
    assert tag is not None, "no start date field on the adoption page"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def test_saved_local_settings_show_their_date_in_iso_and_save_again(released, admin_d, org_unit_d, login):
    # Given Wetzlar has adopted the service from 1 March 2026 (German pages)
    client = login(Client(), admin_d)
    form = {"org_unit": org_unit_d.pk, "start_date": "2026-03-01", "active": "on", "fee_ausweis": "30.00"}
    assert client.post(_adoption_url(released), form).status_code == 302
    # When the admin opens the local settings again
    page = client.get(_adoption_url(released)).content.decode()
    # Then the browser's date input gets the ISO date it understands (not "01.03.2026")
    assert _start_date_value(page) == "2026-03-01"
    # And sending the form back as the browser shows it saves the settings
    form["start_date"] = _start_date_value(page)
    form["contact_phone"] = "06441 99-0"
    response = client.post(_adoption_url(released), form)
    assert response.status_code == 302
    assert Adoption.objects.get().contact_phone == "06441 99-0"
    assert "Die örtlichen Einstellungen wurden gespeichert." in client.get(response["Location"]).content.decode()


def test_an_open_comment_holds_the_release_until_it_is_resolved(
    in_review, designer_a, reviewer_b, reviewer_c, city_b, city_c, login
):
    # Given Gießen's reviewer comments on the version and approves it
    gießen = login(Client(), reviewer_b)
    comment = gießen.post(_version_url(in_review, "kommentar/"), {"path": "", "body": "Hilfetext ergänzen?"})
    assert comment.status_code == 302
    gießen.post(_version_url(in_review, "entscheidung/"), {"decision": "approve", "municipality": city_b.pk})
    # When Marburg's approval completes the quorum while the comment is still open
    marburg = login(Client(), reviewer_c)
    response = marburg.post(
        _version_url(in_review, "entscheidung/"), {"decision": "approve", "municipality": city_c.pk}, follow=True
    )
    # Then the version is not released, and the reviewer is told why in German
    in_review.refresh_from_db()
    assert in_review.status == "in_review"
    assert "noch nicht freigegeben" in response.content.decode()
    assert "1 Kommentar(e) der Prüfung sind noch offen" in response.content.decode()
    # and the version page says what holds the release back
    assert "1 Kommentar der Prüfung ist noch offen" in response.content.decode()
    # When the authoring city resolves the comment
    [open_comment] = in_review.comments.filter(resolved=False)
    designer = login(Client(), designer_a)
    resolved = designer.post(_version_url(in_review, f"kommentar/{open_comment.pk}/erledigt/"), follow=True)
    # Then the version is released
    in_review.refresh_from_db()
    assert in_review.status == "released"
    assert ServiceDefinition.objects.get().latest_released == in_review
    assert "die Version ist freigegeben" in resolved.content.decode()


def test_review_notifications_are_read_once_the_version_is_released(
    reviewer_b, reviewer_c, city_b, city_c, draft, designer_a, login
):
    # Given the reviewing cities were notified of the submission
    assert login(Client(), designer_a).post(_version_url(draft, "bearbeiten/einreichen/"),
                                            {"content_hash": draft.content_hash}).status_code == 302  # fmt: skip
    in_review = draft
    asked = Notification.objects.filter(version=in_review, role="reviewer")
    assert asked.count() == 2 and asked.filter(read_at__isnull=True).count() == 2
    # When both approve and the version is released
    for user, city in ((reviewer_b, city_b), (reviewer_c, city_c)):
        login(Client(), user).post(
            _version_url(in_review, "entscheidung/"), {"decision": "approve", "municipality": city.pk}
        )
    in_review.refresh_from_db()
    assert in_review.status == "released"
    # Then nobody is asked to review it any more
    assert asked.filter(read_at__isnull=True).count() == 0


def test_a_german_title_gives_a_readable_slug(city_a, designer_a, login):
    client = login(Client(), designer_a)
    response = client.post(
        "/dienste/neu/", {"municipality": city_a.pk, "title": "Straßenfeste und Gebühren für Märkte"}
    )
    assert response.status_code == 302
    assert ServiceDefinition.objects.get().slug == "strassenfeste-und-gebuehren-fuer-maerkte"
