"""The roadMAP demo: invented staff of the founding cities, profiles, gaps that show in the heat map."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dikom.accounts.models import User
from dikom.competences.demo import load_demo_competences
from dikom.competences.models import Assessment, RoleProfile, StaffProfile
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

    html = login(Client(), User.objects.get(username="fulda-hr")).get("/kompetenzen/fulda/heatmap/").content.decode()
    assert "Bürgerbüro" in html and "Lücke" in html  # a visible cell with its gap as text
    assert "weniger als 5 Personen</td>" in html  # the Stabsstelle (three people) stays hidden

    counts = (StaffProfile.objects.count(), Assessment.objects.count())
    assert not load_demo_competences(password=PASSWORD).created
    assert counts == (StaffProfile.objects.count(), Assessment.objects.count())
