"""The maintained level sums never go stale: random sequences of every path that changes levels or staff.

After each operation the table is compared with a full rebuild from the assessments, and the sums
the heat map and the roadMAP page read with the recomputation over all assessments
(``gaps.level_sums_recomputed``, the aggregate the pages ran before). Runs on SQLite and, with
``DATABASE_URL`` pointing at PostgreSQL, on PostgreSQL (the triggers differ per database).
"""

from __future__ import annotations

import datetime
import random
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from dikom.accounts.roles import Role
from dikom.competences import actions, gaps, levelsums
from dikom.competences.models import Assessment, FrameworkVersion, LevelSum, RoleProfile, StaffProfile
from dikom.competences.tests.conftest import staff_user
from dikom.competences.tests.level_sum_check import assert_level_sums_consistent
from dikom.municipalities.models import Municipality, OrgUnit

pytestmark = pytest.mark.django_db

CODES = ["1.1", "1.2", "2.1", "2.2"]


def _framework(label: str, municipality: Municipality) -> FrameworkVersion:
    return actions.import_framework(
        {
            "format": "dikom-competence-framework/1",
            "key": "levelsum-test",
            "name": {"de": "Testrahmen", "en": "Test framework"},
            "version_label": label,
            "levels": [
                {"value": v, "title": {"de": f"Stufe {v}", "en": f"Level {v}"}, "descriptor": {"de": "…", "en": "…"}}
                for v in range(1, 9)
            ],
            "areas": [
                {
                    "code": area,
                    "title": {"de": f"Bereich {area}", "en": f"Area {area}"},
                    "competences": [
                        {"code": code, "title": {"de": f"K {code}", "en": f"C {code}"}}
                        for code in CODES
                        if code.startswith(area)
                    ],
                }
                for area in ("1", "2")
            ],
        },
        municipality=municipality,
    )


class World:
    """Two cities with units, profiles (two framework versions) and staff, changed by random operations."""

    def __init__(self, rng: random.Random, city_a: Municipality, city_b: Municipality) -> None:
        self.rng = rng
        self.cities = [city_a, city_b]
        self.versions = {c.pk: [_framework("1", c), _framework("2", c)] for c in self.cities}
        self.manager = staff_user(city_a, "levelsum-manager", Role.HUMAN_RESOURCES)
        self.serial = 0
        for city in self.cities:
            department = OrgUnit.objects.create(municipality=city, name="Dezernat", kind=OrgUnit.Kind.DEPARTMENT)
            for n in range(2):
                OrgUnit.objects.create(municipality=city, name=f"Amt {n}", kind=OrgUnit.Kind.OFFICE, parent=department)
            for _n in range(2):
                self.new_profile(city)
        for _ in range(8):
            self.new_person()

    # helpers -------------------------------------------------------------------------------------

    def city(self) -> Municipality:
        return self.rng.choice(self.cities)

    def leaf_units(self, city: Municipality) -> list[OrgUnit]:
        return list(OrgUnit.objects.filter(municipality=city, children__isnull=True).order_by("pk"))

    def new_profile(self, city: Municipality) -> RoleProfile:
        self.serial += 1
        return actions.create_role_profile(
            municipality=city,
            name=f"Profil {self.serial}",
            framework_version=self.rng.choice(self.versions[city.pk]),
            requirements={code: self.rng.randint(1, 8) for code in CODES},
        )

    def staff(self, **filters: Any) -> StaffProfile | None:
        found = list(StaffProfile.objects.filter(**filters).order_by("pk"))
        return self.rng.choice(found) if found else None

    def assessment(self, **filters: Any) -> Assessment | None:
        found = list(Assessment.objects.filter(**filters).order_by("pk"))
        return self.rng.choice(found) if found else None

    def moment(self) -> datetime.datetime:
        """A time in the last 20 months; one in four exactly at the start of a quarter (UTC)."""
        moment = timezone.now() - datetime.timedelta(days=self.rng.uniform(0, 600))
        if self.rng.random() < 0.25:
            month = (moment.month - 1) // 3 * 3 + 1
            return datetime.datetime(moment.year, month, 1, tzinfo=datetime.UTC)
        return moment

    def placement(self, city: Municipality) -> tuple[OrgUnit | None, RoleProfile | None]:
        units = self.leaf_units(city)
        profiles = list(RoleProfile.objects.filter(municipality=city).order_by("pk"))
        unit = self.rng.choice(units) if units and self.rng.random() < 0.9 else None
        profile = self.rng.choice(profiles) if profiles and self.rng.random() < 0.9 else None
        return unit, profile

    # operations ----------------------------------------------------------------------------------

    def new_person(self) -> None:
        city = self.city()
        self.serial += 1
        user = staff_user(city, f"person{self.serial}")
        unit, profile = self.placement(city)
        actions.enrol_staff(user=user, municipality=city, org_unit=unit, role_profile=profile)

    def self_assessment(self) -> None:
        staff = self.staff(role_profile__isnull=False)
        if staff is not None:
            levels = {code: self.rng.randint(1, 8) for code in self.rng.sample(CODES, self.rng.randint(1, 4))}
            actions.submit_self_assessment(staff, levels, actor=staff.user)

    def assess_and_review(self) -> None:
        """The usual flow: a new self-assessment, confirmed or corrected; the earlier level is superseded."""
        staff = self.staff(role_profile__isnull=False, assessments__confirmed_level__isnull=False) or self.staff(
            role_profile__isnull=False
        )
        if staff is not None:
            levels = {code: self.rng.randint(1, 8) for code in self.rng.sample(CODES, self.rng.randint(1, 4))}
            for assessment in actions.submit_self_assessment(staff, levels, actor=staff.user):
                actions.review_assessment(assessment, manager=self.manager, level=self.rng.randint(1, 8))

    def review(self) -> None:
        assessment = self.assessment(status=Assessment.Status.PENDING) or self.assessment()
        if assessment is not None:
            actions.review_assessment(assessment, manager=self.manager, level=self.rng.randint(1, 8))

    def backdate(self) -> None:
        """As the demo does: reviews moved into the past, the superseded time with them."""
        assessment = self.assessment(reviewed_at__isnull=False)
        if assessment is not None:
            when = self.moment()
            Assessment.objects.filter(pk=assessment.pk).update(reviewed_at=when)
            if self.rng.random() < 0.5:
                Assessment.objects.filter(
                    staff_id=assessment.staff_id, competence_code=assessment.competence_code
                ).exclude(pk=assessment.pk).filter(superseded_at__isnull=False).update(superseded_at=self.moment())

    def evidence(self) -> None:
        assessment = self.assessment()
        if assessment is not None:
            actions.add_evidence(assessment, actor=self.manager, note="Zertifikat (Test)")

    def move(self) -> None:
        staff = self.staff()
        if staff is not None:
            unit, profile = self.placement(staff.municipality)
            actions.enrol_staff(user=staff.user, municipality=staff.municipality, org_unit=unit, role_profile=profile)

    def depart(self) -> None:
        staff = self.staff(left_on__isnull=True)
        if staff is not None:
            actions.record_departure(staff, left_on=timezone.localdate(), actor=self.manager)

    def retention_deletion(self) -> None:
        actions.delete_departed(today=timezone.localdate() + datetime.timedelta(days=3650))

    def delete_staff(self) -> None:
        """Deleted with the ORM (cascading to the assessments), as the admin would."""
        staff = self.staff()
        if staff is not None:
            staff.delete()

    def bulk_import(self) -> None:
        """``bulk_create`` of confirmed levels with history, as an import or the benchmark loads them."""
        staff = self.staff(role_profile__isnull=False)
        if staff is None or staff.role_profile is None:
            return
        rows = []
        for code in self.rng.sample(CODES, 2):
            reviewed = self.moment()
            level = self.rng.randint(1, 8)
            version = staff.role_profile.framework_version if self.rng.random() < 0.8 else None
            rows.append(
                Assessment(
                    staff=staff,
                    framework_version=version or self.rng.choice(self.versions[staff.municipality_id]),
                    competence_code=code,
                    self_level=level,
                    status=Assessment.Status.CONFIRMED,
                    confirmed_level=level,
                    reviewed_at=reviewed,
                    superseded_at=reviewed + datetime.timedelta(days=self.rng.uniform(-10, 200))
                    if self.rng.random() < 0.4
                    else None,
                )
            )
        Assessment.objects.bulk_create(rows)

    def mass_update(self) -> None:
        staff = self.staff()
        if staff is not None:
            changes: list[dict[str, Any]] = [
                {"confirmed_level": self.rng.randint(1, 8)},
                {"confirmed_level": None},
                {"reviewed_at": None},
                {"superseded_at": None},
                {"competence_code": self.rng.choice(CODES)},
                {"framework_version": self.rng.choice(self.versions[staff.municipality_id])},
            ]
            Assessment.objects.filter(staff=staff).update(**self.rng.choice(changes))

    def delete_assessments(self) -> None:
        staff = self.staff()
        if staff is not None:
            Assessment.objects.filter(staff=staff, competence_code=self.rng.choice(CODES)).delete()

    def mass_move(self) -> None:
        """A reorganisation: everyone of one unit into another with ``update()``."""
        city = self.city()
        units = self.leaf_units(city)
        if len(units) >= 2:
            source, target = self.rng.sample(units, 2)
            StaffProfile.objects.filter(org_unit=source).update(org_unit=target)

    def profile_version(self) -> None:
        """A profile switched to another framework version (old levels stop counting for it)."""
        profile = RoleProfile.objects.order_by("?").first()
        if profile is not None:
            profile.framework_version = self.rng.choice(self.versions[profile.municipality_id])
            profile.requirements = {code: self.rng.randint(1, 8) for code in CODES}
            profile.save()

    def delete_unit(self) -> None:
        city = self.city()
        units = self.leaf_units(city)
        if units:
            unit = self.rng.choice(units)
            parent = unit.parent
            unit.delete()
            self.serial += 1
            OrgUnit.objects.create(
                municipality=city, name=f"Amt {self.serial}", kind=OrgUnit.Kind.OFFICE, parent=parent
            )

    def delete_profile(self) -> None:
        profile = RoleProfile.objects.order_by("?").first()
        if profile is not None:
            city = profile.municipality
            profile.delete()
            self.new_profile(city)

    def change_city(self) -> None:
        staff = self.staff()
        if staff is not None:
            other = next(c for c in self.cities if c.pk != staff.municipality_id)
            if not StaffProfile.objects.filter(user_id=staff.user_id, municipality=other).exists():
                unit, profile = self.placement(other)
                StaffProfile.objects.filter(pk=staff.pk).update(municipality=other, org_unit=unit, role_profile=profile)

    def raw_delete_staff_first(self) -> None:
        """Raw SQL deleting the person before their assessments (foreign keys are checked at commit)."""
        staff = self.staff(enrolments__isnull=True, expert__isnull=True)
        if staff is not None:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("DELETE FROM competences_staffprofile WHERE id = %s", [staff.pk])
                cursor.execute(
                    "DELETE FROM competences_evidence WHERE assessment_id IN "
                    "(SELECT id FROM competences_assessment WHERE staff_id = %s)",
                    [staff.pk],
                )
                cursor.execute("DELETE FROM competences_assessment WHERE staff_id = %s", [staff.pk])


OPERATIONS = [
    ("new_person", 3),
    ("self_assessment", 6),
    ("review", 4),
    ("assess_and_review", 6),
    ("backdate", 4),
    ("evidence", 1),
    ("move", 3),
    ("depart", 2),
    ("retention_deletion", 1),
    ("delete_staff", 1),
    ("bulk_import", 3),
    ("mass_update", 2),
    ("delete_assessments", 1),
    ("mass_move", 1),
    ("profile_version", 1),
    ("delete_unit", 1),
    ("delete_profile", 1),
    ("change_city", 1),
    ("raw_delete_staff_first", 1),
]


@pytest.mark.parametrize("seed", range(5))
def test_random_operations_keep_the_level_sums_current(seed: int, city_a: Municipality, city_b: Municipality) -> None:
    rng = random.Random(seed)
    world = World(rng, city_a, city_b)
    assert_level_sums_consistent()
    names = [name for name, _weight in OPERATIONS]
    weights = [weight for _name, weight in OPERATIONS]
    done = []
    confirmed_levels_seen = False
    for _ in range(60):
        name = rng.choices(names, weights)[0]
        getattr(world, name)()
        done.append(name)
        try:
            assert_level_sums_consistent()
        except AssertionError as error:
            raise AssertionError(f"stale after {done}") from error
        confirmed_levels_seen = confirmed_levels_seen or LevelSum.objects.exclude(delta=0).exists()
    # the sequence did produce confirmed levels at some point (at its end they may all be gone again:
    # the review dates are relative to today, so deletions and supersessions can net them out)
    assert confirmed_levels_seen


def test_the_pages_show_what_a_recomputation_shows(
    city_a: Municipality, city_b: Municipality, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(random.Random(99), city_a, city_b)
    for _ in range(20):
        world.new_person()
    for _ in range(150):
        world.review() if world.rng.random() < 0.6 else world.self_assessment()
        if world.rng.random() < 0.3:
            world.backdate()
    maintained = (gaps.city_heat_map(city_a.pk), gaps.city_roadmap(city_a.pk))
    monkeypatch.setattr(gaps, "_level_sums", gaps.level_sums_recomputed)
    recomputed = (gaps.city_heat_map(city_a.pk), gaps.city_roadmap(city_a.pk))
    assert maintained == recomputed
    assert any(cell.gap is not None for cell in maintained[0].cells.values())


def test_rebuild_restores_a_damaged_table_and_the_check_reports_it(team: Any) -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    for assessment in actions.submit_self_assessment(team.clerk, {"1.1": 3}, actor=team.clerk.user):
        actions.review_assessment(assessment, manager=team.manager, level=3)
    LevelSum.objects.update(delta=42)
    with pytest.raises(CommandError):
        call_command("rebuild_level_sums", "--check")
    call_command("rebuild_level_sums")
    call_command("rebuild_level_sums", "--check")
    assert_level_sums_consistent()


def test_quarter_index_is_utc_year_times_four_plus_quarter() -> None:
    moment = datetime.datetime(2026, 10, 1, 0, 0, tzinfo=datetime.UTC)
    assert levelsums.quarter_index(moment) == 2026 * 4 + 3
    assert levelsums.quarter_index(moment - datetime.timedelta(microseconds=1)) == 2026 * 4 + 2
