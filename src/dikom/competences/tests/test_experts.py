"""Virtual Competence Center: clusters, the expert directory across cities (opt in, opt out), and
"find an expert" from a gap."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dikom.competences import actions, programme
from dikom.competences.models import Cluster, Expert
from dikom.competences.tests.conftest import Team, make_unit, staff_user

pytestmark = pytest.mark.django_db


def test_expert_of_another_city_is_found_from_a_gap_and_opting_out_removes_them(
    team: Team, city_b: Any, login: Any
) -> None:
    # Given a Gießen colleague opts in as expert for 4.2 and the E-Akte cluster
    expert_user = staff_user(city_b, "zora-expert")
    expert_user.email = "expertin@example.org"
    expert_user.save()
    actions.enrol_staff(user=expert_user, municipality=city_b, org_unit=make_unit(city_b, "IT"), role_profile=None)
    client_b = login(Client(), expert_user)
    response = client_b.post(
        "/kompetenzen/experten/mein-eintrag/",
        {"competences": ["4.2"], "clusters": [Cluster.objects.get(key="e-akte").pk], "availability": "dienstags"},
    )
    assert response.status_code == 302
    # When the Fulda clerk follows "find an expert" from her gap in 4.2
    created = actions.submit_self_assessment(team.clerk, {"4.2": 2}, actor=team.clerk.user)
    actions.review_assessment(created[0], manager=team.manager, level=2)
    clerk = login(Client(), team.clerk.user)
    assert (
        "/kompetenzen/experten/?kompetenz=4.2"
        in clerk.get(f"/kompetenzen/personen/{team.clerk.uuid}/").content.decode()
    )
    html = clerk.get("/kompetenzen/experten/?kompetenz=4.2").content.decode()
    # Then she finds the expert with city, availability and a way to write
    assert "Zora-Expert" in html and "Gießen" in html and "dienstags" in html
    # ... the contact form, not her e-mail address (another city; she did not agree to show it)
    expert_entry = Expert.objects.get()
    assert f"/kompetenzen/experten/{expert_entry.uuid}/kontakt/" in html and "expertin@example.org" not in html
    assert "Zora-Expert" not in clerk.get("/kompetenzen/experten/?kompetenz=1.1").content.decode()
    assert "Zora-Expert" in clerk.get("/kompetenzen/cluster/e-akte/").content.decode()
    # ... but the directory is no way into the expert's assessments
    expert_staff = Expert.objects.get().staff
    assert clerk.get(f"/kompetenzen/personen/{expert_staff.uuid}/").status_code == 404
    # When the expert opts out, she disappears everywhere
    assert client_b.post("/kompetenzen/experten/austragen/").status_code == 302
    assert not Expert.objects.exists()
    assert "Zora-Expert" not in clerk.get("/kompetenzen/experten/?kompetenz=4.2").content.decode()
    assert "Zora-Expert" not in clerk.get("/kompetenzen/cluster/e-akte/").content.decode()


def test_opt_in_needs_a_choice_and_departed_experts_are_hidden(team: Team, login: Any) -> None:
    client = login(Client(), team.clerk.user)
    response = client.post("/kompetenzen/experten/mein-eintrag/", {"availability": "immer"})
    assert response.status_code == 400
    assert "Bitte wählen Sie mindestens eine Kompetenz oder einen Cluster" in response.content.decode()
    programme.opt_in_as_expert(team.clerk, competence_codes=["1.1"], clusters=[], availability="", actor=None)
    manager = login(Client(), team.manager)
    assert "Clerk" in manager.get("/kompetenzen/experten/").content.decode()
    team.clerk.left_on = team.clerk.created_at.date()
    team.clerk.save()
    assert "Clerk" not in manager.get("/kompetenzen/experten/").content.decode()


def test_directory_and_clusters_are_for_staff_only(team: Team, citizen: Any, login: Any) -> None:
    assert Client().get("/kompetenzen/experten/").status_code == 302
    assert login(Client(), citizen).get("/kompetenzen/experten/").status_code == 403
    assert login(Client(), citizen).get("/kompetenzen/cluster/").status_code == 403
    staff = login(Client(), team.clerk.user)
    html = staff.get("/kompetenzen/cluster/").content.decode()
    assert "OZG-Umsetzung" in html and "Open Data" in html
    assert staff.get("/kompetenzen/cluster/gibt-es-nicht/").status_code == 404


def _expert(city: Any, name: str, **entry: Any) -> Expert:
    user = staff_user(city, name)
    user.email = f"{name}@{city.slug}.example"
    user.save()
    staff = actions.enrol_staff(user=user, municipality=city, org_unit=None, role_profile=None)
    return programme.opt_in_as_expert(
        staff, competence_codes=["4.2"], clusters=[], availability="montags", actor=user, **entry
    )


def test_contact_request_mails_the_expert_without_showing_her_address(
    team: Team, city_b: Any, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core import mail

    from dikom.audit.models import AuditEvent
    from dikom.lib.testing import run_task_worker

    expert = _expert(city_b, "zora")
    team.clerk.user.email = "clerk@fulda.example"
    team.clerk.user.save()
    clerk = login(Client(), team.clerk.user)
    url = f"/kompetenzen/experten/{expert.uuid}/kontakt/"
    page = clerk.get(url).content.decode()
    assert "Zora" in page and "zora@giessen.example" not in page
    assert clerk.post(url, {"message": ""}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk.post(url, {"message": "Wie habt ihr die E-Akte im Bürgerbüro eingeführt?"})
    assert response.status_code == 302
    run_task_worker()
    assert [m.to for m in mail.outbox] == [["zora@giessen.example"]]
    body = mail.outbox[0].body
    assert "E-Akte im Bürgerbüro" in body and "clerk@fulda.example" in body and "Fulda" in body
    assert AuditEvent.objects.filter(action="competences.expert.contact", actor=team.clerk.user).exists()
    # the address appears once the expert agrees; her own city sees it anyway
    assert "zora@giessen.example" not in clerk.get("/kompetenzen/experten/").content.decode()
    Expert.objects.filter(pk=expert.pk).update(share_email=True)
    assert "mailto:zora@giessen.example" in clerk.get("/kompetenzen/experten/").content.decode()
    Expert.objects.filter(pk=expert.pk).update(share_email=False)
    colleague = login(Client(), staff_user(city_b, "kollege"))
    assert "mailto:zora@giessen.example" in colleague.get("/kompetenzen/experten/").content.decode()


def test_an_expert_on_holiday_cannot_be_contacted_until_she_is_back(team: Team, city_b: Any, login: Any) -> None:
    import datetime

    from django.core import mail
    from django.utils import timezone

    back = timezone.localdate() + datetime.timedelta(days=10)
    expert = _expert(city_b, "zora", unavailable_until=back)
    clerk = login(Client(), team.clerk.user)
    listing = clerk.get("/kompetenzen/experten/").content.decode()
    assert f"Nicht verfügbar bis {back:%d.%m.%Y}" in listing
    assert f"/kompetenzen/experten/{expert.uuid}/kontakt/" not in listing
    response = clerk.post(f"/kompetenzen/experten/{expert.uuid}/kontakt/", {"message": "Hallo?"})
    assert response.status_code == 400 and "nicht verfügbar" in response.content.decode()
    assert not mail.outbox
    # the entry form keeps the date; once it has passed, requests work again
    Expert.objects.filter(pk=expert.pk).update(unavailable_until=timezone.localdate() - datetime.timedelta(days=1))
    assert f"/kompetenzen/experten/{expert.uuid}/kontakt/" in clerk.get("/kompetenzen/experten/").content.decode()


def test_contact_requests_are_limited_per_day_and_need_staff(team: Team, city_b: Any, citizen: Any, login: Any) -> None:
    expert = _expert(city_b, "zora")
    assert login(Client(), citizen).get(f"/kompetenzen/experten/{expert.uuid}/kontakt/").status_code == 403
    for _i in range(programme.MAX_CONTACTS_PER_DAY):
        programme.contact_expert(expert, sender=team.clerk.user, message="Frage")
    clerk = login(Client(), team.clerk.user)
    response = clerk.post(f"/kompetenzen/experten/{expert.uuid}/kontakt/", {"message": "noch eine"})
    assert response.status_code == 400 and "morgen" in response.content.decode()
