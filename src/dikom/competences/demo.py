"""roadMAP demo data for the six founding cities (idempotent; only where DIKOM_DEMO is on).

Invented staff (flagged ``is_demo``, names marked "Demo"), role profiles
against DigComp 2.2 and confirmed assessments spread over the last four
quarters, so that gaps show: the Bürgerbüro (six people) and the Ordnungsamt
(five) fill heat-map cells; the Stabsstelle Digitalisierung (three) stays
hidden. Each city's ``-teamleitung`` heads the Fachbereich Bürgerdienste (and
so the Bürgerbüro); its ``-caseworker`` has a profile but no assessment yet,
for the self-assessment journey; its ``-hr`` reads the heat map.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from dikom.accounts import actions as account_actions
from dikom.accounts.models import User
from dikom.accounts.roles import Role
from dikom.competences import actions
from dikom.competences.models import Assessment, Framework, RoleProfile, StaffProfile
from dikom.municipalities.models import Municipality, OrgUnit

MANAGER_SUFFIX = "teamleitung"
COMPARING = {"fulda", "giessen", "marburg", "offenbach"}

PROFILES = {
    "Sachbearbeitung Bürgerbüro": {"1.1": 4, "1.3": 4, "2.1": 4, "4.2": 5, "5.1": 3},
    "Sachbearbeitung Ordnung und Verkehr": {"1.2": 4, "2.2": 3, "4.1": 4, "4.2": 4, "5.1": 3},
    "Digitallotsin": {"1.1": 5, "2.4": 5, "3.1": 4, "5.2": 5, "5.4": 5},
    "Prozessmanagement": {"1.3": 5, "2.4": 4, "3.4": 3, "5.2": 6},
}
# Shared with the cooperation by one city each (the others see and can adopt them).
SHARED_BY = {"Digitallotsin": "marburg", "Prozessmanagement": "giessen"}
FIRST_NAMES = ["Jana", "Lukas", "Emine", "Tobias", "Sophie", "Marek", "Leonie", "Yusuf", "Clara", "Jonas", "Aylin"]
LAST_NAMES = ["Beispiel", "Muster", "Probe", "Fiktiv", "Erdacht", "Platzhalter", "Modell", "Vorlage", "Entwurf"]
# (org unit short name, profile, how many invented people)
TEAMS = [("32.1", "Sachbearbeitung Bürgerbüro", 5), ("FB 33", "Sachbearbeitung Ordnung und Verkehr", 5)]


@dataclass
class DemoCompetencesResult:
    created: bool
    people: int = 0


def _unit(municipality: Municipality, short: str) -> OrgUnit:
    return OrgUnit.objects.get(municipality=municipality, short_name=short)


def _assess(staff: StaffProfile, manager: User, rng: random.Random, now: datetime.datetime) -> None:
    profile = staff.role_profile
    if profile is None:
        return
    for code, required in profile.requirements.items():
        # Two to four quarters of history, most people a level or two below what the role needs.
        level = max(1, required - rng.choice([0, 1, 1, 2, 2, 3]))
        for quarters_ago in sorted(rng.sample([0, 1, 2, 3], k=rng.choice([2, 3])), reverse=True):
            when = now - datetime.timedelta(days=91 * quarters_ago + rng.randint(1, 20))
            step = max(1, level - quarters_ago)
            assessment = Assessment.objects.create(
                staff=staff,
                framework_version=profile.framework_version,
                competence_code=code,
                self_level=min(step + rng.choice([0, 0, 1]), profile.framework_version.max_level),
            )
            actions.review_assessment(assessment, manager=manager, level=step)
            Assessment.objects.filter(pk=assessment.pk).update(created_at=when, reviewed_at=when)
            # the review just superseded the earlier level "now"; in the invented history it happened at ``when``
            Assessment.objects.filter(
                staff=staff, competence_code=code, superseded_at__gt=when + datetime.timedelta(days=1)
            ).exclude(pk=assessment.pk).update(superseded_at=when)


@transaction.atomic
def load_demo_competences(password: str | None = None) -> DemoCompetencesResult:
    """Create the roadMAP demo once (after the demo cooperation). Running it again changes nothing."""
    founding = list(Municipality.objects.filter(is_demo=True, membership=Municipality.Membership.FOUNDING))
    if not founding or StaffProfile.objects.filter(municipality__in=founding).exists():
        return DemoCompetencesResult(created=False)
    actions.install_builtin_frameworks()
    actions.install_builtin_clusters()
    digcomp = Framework.objects.get(key="digcomp-2.2", municipality=None).versions.order_by("-number")[0]
    now = timezone.now()
    people = 0
    profiles_of: dict[int, dict[str, RoleProfile]] = {}
    for municipality in founding:
        settings = actions.city_settings(municipality)
        if municipality.slug in COMPARING:
            settings.compare_across_cities = True
            settings.save(update_fields=["compare_across_cities", "updated_at"])
        profiles: dict[str, RoleProfile] = {}
        for name, requirements in PROFILES.items():
            owner = SHARED_BY.get(name)
            if owner is not None and owner != municipality.slug:
                continue
            profiles[name] = actions.create_role_profile(
                municipality=municipality,
                name=name,
                framework_version=digcomp,
                requirements=requirements,
                shared=owner is not None,
                description="Demo-Profil (erfunden)",
            )
        profiles["Sachbearbeitung Bürgerbüro"].org_units.add(_unit(municipality, "32.1"))
        profiles["Sachbearbeitung Ordnung und Verkehr"].org_units.add(_unit(municipality, "FB 33"))
        profiles_of[municipality.pk] = profiles
    shared_lotse = RoleProfile.objects.filter(name="Digitallotsin", shared=True).first()
    for municipality in founding:
        rng = random.Random(municipality.slug)  # noqa: S311 - repeatable demo data, not a secret
        profiles = profiles_of[municipality.pk]
        local_lotse = profiles.get("Digitallotsin")
        if local_lotse is None:
            # The other cities take over Marburg's shared profile.
            local_lotse = (
                actions.adopt_role_profile(shared_lotse, municipality=municipality, actor=None)
                if shared_lotse is not None
                else profiles["Sachbearbeitung Bürgerbüro"]
            )
        local_lotse.org_units.add(_unit(municipality, "Digi"))

        manager = account_actions.create_user(
            username=f"{municipality.slug}-{MANAGER_SUFFIX}",
            email=f"{municipality.slug}-{MANAGER_SUFFIX}@demo.dikom.invalid",
            password=password,
            first_name="Tamara",
            last_name=f"Teamleitung ({municipality.name})",
            is_demo=True,
        )
        account_actions.grant_role(
            user=manager, municipality=municipality, role=Role.STAFF_MEMBER, org_unit=_unit(municipality, "FB 32")
        )
        actions.set_unit_manager(_unit(municipality, "FB 32"), manager)
        actions.set_unit_manager(_unit(municipality, "FB 33"), manager)
        actions.set_unit_manager(_unit(municipality, "Digi"), manager)

        # The demo accounts of the city: the caseworker (not assessed yet) and the staff member.
        caseworker = User.objects.get(username=f"{municipality.slug}-caseworker")
        actions.enrol_staff(
            user=caseworker,
            municipality=municipality,
            org_unit=_unit(municipality, "32.1"),
            role_profile=profiles["Sachbearbeitung Bürgerbüro"],
        )
        for suffix in ("designer", "reviewer", "analyst"):
            staff = actions.enrol_staff(
                user=User.objects.get(username=f"{municipality.slug}-{suffix}"),
                municipality=municipality,
                org_unit=_unit(municipality, "Digi"),
                role_profile=local_lotse,
            )
            _assess(staff, manager, rng, now)
        people += 4
        number = 0
        for short, profile_name, count in TEAMS:
            for _ in range(count):
                number += 1
                user = account_actions.create_user(
                    username=f"{municipality.slug}-roadmap-{number:02d}",
                    email=f"{municipality.slug}-roadmap-{number:02d}@demo.dikom.invalid",
                    password=None,
                    first_name=rng.choice(FIRST_NAMES),
                    last_name=f"{rng.choice(LAST_NAMES)} (Demo, {municipality.name})",
                    is_demo=True,
                )
                account_actions.grant_role(
                    user=user, municipality=municipality, role=Role.STAFF_MEMBER, org_unit=_unit(municipality, short)
                )
                staff = actions.enrol_staff(
                    user=user,
                    municipality=municipality,
                    org_unit=_unit(municipality, short),
                    role_profile=profiles[profile_name],
                )
                _assess(staff, manager, rng, now)
                people += 1
    _demo_programme(digcomp, now)
    return DemoCompetencesResult(created=True, people=people)


# (offering city or None for the cooperation, title, {competence: target level}, days ahead, format, place)
TRAININGS = [
    ("giessen", "Datenschutz im Bürgerbüro", {"4.2": 5}, 12, "online", ""),
    ("marburg", "Informationen recherchieren und bewerten", {"1.1": 5, "1.2": 4}, 20, "in_person", "Rathaus Marburg"),
    ("fulda", "Zusammenarbeit in digitalen Räumen", {"2.4": 4, "2.1": 4}, 27, "hybrid", "Stadtschloss Fulda"),
    ("offenbach", "Daten managen mit der E-Akte", {"1.3": 5}, 34, "online", ""),
    (None, "Technische Probleme am Arbeitsplatz lösen", {"5.1": 4}, 16, "online", ""),
]
# (user name, competences, cluster keys, availability)
EXPERTS = [
    ("marburg-designer", ["4.2", "1.3"], ["e-akte", "it-sicherheit"], "dienstags und donnerstags, per E-Mail"),
    ("offenbach-analyst", ["1.1", "1.2"], ["open-data"], "nach Absprache per E-Mail"),
    ("wetzlar-reviewer", ["2.4", "2.1"], ["ozg"], "mittwochs vormittags"),
]


def _demo_programme(digcomp: Any, now: datetime.datetime) -> None:
    """Trainings offered by different cities (and one by the cooperation), a few bookings, three experts."""
    from dikom.competences import programme
    from dikom.competences.models import Cluster

    for slug, title, targets, days, fmt, place in TRAININGS:
        start = (now + datetime.timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)
        training = programme.create_training(
            offered_by=Municipality.objects.get(slug=slug) if slug else None,
            title=title,
            description="Demo-Schulung (erfunden).",
            provider="Demo-Akademie (erfunden)",
            format=fmt,
            place=place,
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=3),
            seats=15,
            framework_version=digcomp,
            targets=targets,
        )
        for booked in StaffProfile.objects.filter(user__username__contains="-roadmap-0").order_by("pk")[: days % 7]:
            programme.enrol(training, booked, actor=None)
    _demo_approval_and_library()
    for username, codes, clusters, availability in EXPERTS:
        expert = StaffProfile.objects.filter(user__username=username).first()
        if expert is not None:
            programme.opt_in_as_expert(
                expert,
                competence_codes=codes,
                clusters=list(Cluster.objects.filter(key__in=clusters)),
                availability=availability,
                actor=None,
            )


DOCUMENT_V1 = (
    "Checkliste Einführung der E-Akte (Demo, erfunden)\n\n"
    "1. Aktenplan abstimmen\n2. Scan-Arbeitsplätze einrichten\n3. Schulungen planen\n"
)
DOCUMENT_V2 = DOCUMENT_V1 + "4. Aufbewahrungsfristen im Aktenplan hinterlegen\n5. Personalrat beteiligen\n"


def _demo_approval_and_library() -> None:
    """Fulda's caseworker asks for Gießen's training (awaiting her manager), and a cluster document
    with two versions uploaded by staff of two cities."""
    import io

    from dikom.competences import documents, programme
    from dikom.competences.models import Cluster, Training

    caseworker = StaffProfile.objects.filter(user__username="fulda-caseworker").first()
    training = Training.objects.filter(title="Datenschutz im Bürgerbüro").first()
    if caseworker is not None and training is not None:
        programme.request_enrolment(training, caseworker, actor=caseworker.user)
    cluster = Cluster.objects.filter(key="e-akte").first()
    first = User.objects.filter(username="marburg-designer").first()
    second = User.objects.filter(username="fulda-teamleitung").first()
    if cluster is None or first is None or second is None:
        return
    v1, v2 = DOCUMENT_V1.encode(), DOCUMENT_V2.encode()
    document = documents.create_document(
        cluster,
        title="Checkliste Einführung der E-Akte (Demo)",
        description="Erfundene Beispiel-Checkliste für die Demo.",
        upload=documents.Upload(name="checkliste-e-akte.txt", size=len(v1), stream=io.BytesIO(v1)),
        actor=first,
    )
    documents.add_version(
        document,
        upload=documents.Upload(name="checkliste-e-akte.txt", size=len(v2), stream=io.BytesIO(v2)),
        note="Aufbewahrungsfristen und Personalrat ergänzt",
        actor=second,
    )
