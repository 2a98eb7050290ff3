"""The roadMAP demo: invented staff of the founding cities, profiles, gaps that show in the heat map."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dikom.accounts.models import User
from dikom.competences.demo import load_demo_competences
from dikom.competences.models import Assessment, RoleProfile, StaffProfile
from dikom.competences.tests.level_sum_check import assert_level_sums_consistent
from dikom.demo.actions import load_demo_cooperation

pytestmark = pytest.mark.django_db

PASSWORD = "Demo-Passwort-123"


def test_demo_shows_gaps_in_visible_cells_and_loads_once(login: Any) -> None:
    load_demo_cooperation(password=PASSWORD)
    result = load_demo_competences(password=PASSWORD)
    assert result.created and result.people >= 6 * 14
    assert StaffProfile.objects.filter(municipality__slug="wetzlar").count() == 14
    assert all(u.is_demo for u in User.objects.filter(username__contains="-roadmap-"))
    assert RoleProfile.objects.filter(name="Digitallotsin", shared=True).count() == 1
    assert Assessment.objects.filter(staff__municipality__slug="fulda", status="confirmed").exists()
    # The caseworker has a profile but no assessment yet (for the self-assessment journey).
    caseworker = StaffProfile.objects.get(user__username="fulda-caseworker")
    assert caseworker.role_profile is not None and not caseworker.assessments.exists()
    assert User.objects.get(username="fulda-teamleitung").check_password(PASSWORD)
    # The demo's reviews, backdated with update(), are in the maintained level sums the heat map reads
    assert_level_sums_consistent()

    html = login(Client(), User.objects.get(username="fulda-hr")).get("/kompetenzen/fulda/heatmap/").content.decode()
    assert "Bürgerbüro" in html and "Lücke" in html  # a visible cell with its gap as text
    assert "weniger als 5 Personen</td>" in html  # the Stabsstelle (three people) stays hidden

    counts = (StaffProfile.objects.count(), Assessment.objects.count())
    assert not load_demo_competences(password=PASSWORD).created
    assert counts == (StaffProfile.objects.count(), Assessment.objects.count())


def test_demo_trainings_experts_and_forum_make_the_journey_clickable(login: Any, settings: Any, tmp_path: Any) -> None:
    from dikom.competences.models import ClusterDocument, Enrolment, Expert, Training
    from dikom.forum.demo import load_demo_forum
    from dikom.forum.models import Event, Topic

    settings.MEDIA_ROOT = tmp_path
    load_demo_cooperation(password=PASSWORD)
    load_demo_competences(password=PASSWORD)
    # an enrolment awaiting the line manager's approval, and a cluster document with two versions
    waiting = Enrolment.objects.get(status=Enrolment.Status.REQUESTED)
    assert waiting.staff.user.username == "fulda-caseworker"
    manager = User.objects.get(username="fulda-teamleitung")
    assert "Schulungsanfrage" in login(Client(), manager).get("/kompetenzen/").content.decode()
    document = ClusterDocument.objects.get(cluster__key="e-akte")
    assert list(document.versions.values_list("number", flat=True).order_by("number")) == [1, 2]
    assert "Demo" in document.title
    assert load_demo_forum()
    assert Training.objects.values("offered_by").distinct().count() >= 4  # offered by different cities
    assert Expert.objects.values("staff__municipality").distinct().count() == 3
    assert Topic.objects.filter(accepted_answer__isnull=False).count() == 2 and Event.objects.count() == 2
    assert not load_demo_forum()  # once
    # A Bürgerbüro clerk of Fulda with a confirmed gap sees trainings of other cities and an expert link
    staff = StaffProfile.objects.filter(municipality__slug="fulda", org_unit__short_name="32.1").exclude(
        user__username="fulda-caseworker"
    )[0]
    staff.user.set_password(PASSWORD)
    staff.user.save()
    html = login(Client(), staff.user).get(f"/kompetenzen/personen/{staff.uuid}/").content.decode()
    assert "Lücken schließen" in html and "/kompetenzen/schulungen/" in html
    forum = login(Client(), User.objects.get(username="fulda-caseworker")).get("/transferforum/").content.decode()
    assert "Wie schwärzt ihr" in forum and "Forumstag E-Akte" in forum
