from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dikom.accounts.models import Membership, User
from dikom.accounts.roles import Role
from dikom.demo import data
from dikom.demo.actions import load_demo_cooperation
from dikom.municipalities.models import Municipality, OrgUnit, SizeClass

pytestmark = pytest.mark.django_db


def test_demo_cooperation_has_the_real_cities_and_one_user_per_role():
    result = load_demo_cooperation(password="Demo-Passwort-123")

    assert result.created
    founding = Municipality.objects.filter(membership="founding")
    assert sorted(founding.values_list("ags", flat=True)) == sorted(
        ["06631009", "06531005", "06533009", "06534014", "06413000", "06532023"]
    )
    assert set(Municipality.objects.filter(membership="partner").values_list("slug", flat=True)) == {
        "frankfurt",
        "kassel",
        "rheingau-taunus-kreis",
    }
    offenbach = Municipality.objects.get(slug="offenbach")
    assert offenbach.district.name == "Offenbach am Main"
    assert offenbach.size_class == SizeClass.CITY
    assert Municipality.objects.get(slug="limburg").size_class == SizeClass.MEDIUM_TOWN
    for municipality in Municipality.objects.all():
        assert municipality.is_demo
        roles = set(Membership.objects.filter(municipality=municipality).values_list("role", flat=True))
        assert roles == set(Role.values)
        # Dezernat -> Fachbereich/Amt -> Abteilung
        assert OrgUnit.objects.filter(municipality=municipality, parent__parent__isnull=False).exists()
    citizen = User.objects.get(username=data.CITIZEN_USERNAME)
    assert not citizen.memberships.exists()
    assert citizen.check_password("Demo-Passwort-123")
    assert User.objects.get(username=data.PLATFORM_ADMIN_USERNAME).is_platform_admin


def test_loading_twice_changes_nothing():
    load_demo_cooperation(password="Demo-Passwort-123")
    counts = (Municipality.objects.count(), User.objects.count(), Membership.objects.count(), OrgUnit.objects.count())

    again = load_demo_cooperation(password="Demo-Passwort-123")

    assert not again.created
    assert counts == (
        Municipality.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
        OrgUnit.objects.count(),
    )


def test_new_password_applies_to_all_demo_accounts():
    load_demo_cooperation(password="Demo-Passwort-123")

    load_demo_cooperation(password="Anderes-Demo-456", set_password=True)

    assert all(u.check_password("Anderes-Demo-456") for u in User.objects.filter(is_demo=True)[:5])


def test_command_prints_password_and_refuses_without_demo_flag(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.DIKOM_DEMO = True
    out = StringIO()
    call_command("load_demo", usage_days=0, stdout=out)  # usage data: analytics/tests/test_demo_usage.py
    password = (tmp_path / "demo-credentials.txt").read_text().strip()
    assert password in out.getvalue()
    assert "DEMO" in out.getvalue()
    assert User.objects.get(username="fulda-admin").check_password(password)

    settings.DIKOM_DEMO = False
    with pytest.raises(CommandError, match="DIKOM_DEMO"):
        call_command("load_demo", stdout=StringIO())
