"""Loading the demo cooperation (idempotent)."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field

from django.db import transaction

from dikom.accounts import actions as account_actions
from dikom.accounts.models import User
from dikom.audit import actions as audit
from dikom.demo import data
from dikom.municipalities.models import District, Municipality, OrgUnit


@dataclass
class DemoResult:
    created: bool
    password: str
    usernames: list[str] = field(default_factory=list)


def generate_demo_password() -> str:
    """A random password that satisfies the platform's validators (length, classes)."""
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(14))
    return f"Demo-{core}-{secrets.randbelow(90) + 10}"


def demo_usernames() -> list[str]:
    names = [f"{slug}-{suffix}" for slug, *_ in data.MUNICIPALITIES for _, suffix, *_ in data.PEOPLE]
    return [data.PLATFORM_ADMIN_USERNAME, data.CITIZEN_USERNAME, *names]


def _create_org_chart(municipality: Municipality) -> dict[str, OrgUnit]:
    by_short: dict[str, OrgUnit] = {}

    def add(nodes: list, parent: OrgUnit | None) -> None:
        for name, short, kind, children in nodes:
            unit, _ = OrgUnit.objects.get_or_create(
                municipality=municipality, parent=parent, name=name, defaults={"short_name": short, "kind": kind}
            )
            by_short[short] = unit
            add(children, unit)

    add(data.ORG_CHART, None)
    return by_short


def _fill_authority_details() -> None:
    """Give demo cities created before the authority fields existed their demo letterhead (empty fields only)."""
    for municipality in Municipality.objects.filter(is_demo=True, authority_name=""):
        values = data.AUTHORITIES.get(municipality.slug)
        if values:
            Municipality.objects.filter(pk=municipality.pk).update(
                **dict(zip(data.AUTHORITY_FIELDS, values, strict=True))
            )


@transaction.atomic
def load_demo_cooperation(password: str | None = None, *, set_password: bool = False) -> DemoResult:
    """Create the demo cooperation once. Running it again changes nothing, except
    that with ``set_password`` (or without a known ``password``) all demo accounts
    get the (new) password."""
    already = Municipality.objects.filter(is_demo=True).exists()
    if already:
        _fill_authority_details()
    if already and password and not set_password:
        return DemoResult(created=False, password=password, usernames=demo_usernames())
    password = password or generate_demo_password()
    if already:
        for user in User.objects.filter(is_demo=True):
            user.set_password(password)
            user.failed_login_count = 0
            user.locked_until = None
            user.save(update_fields=["password", "failed_login_count", "locked_until", "updated_at"])
        return DemoResult(created=False, password=password, usernames=demo_usernames())

    districts = {}
    for key, name, kind in data.DISTRICTS:
        districts[key], _ = District.objects.get_or_create(key=key, defaults={"name": name, "kind": kind})

    for slug, name, ags, kind, population, membership, colour in data.MUNICIPALITIES:
        municipality = Municipality(
            slug=slug,
            name=name,
            ags=ags,
            kind=kind,
            population=population,
            membership=membership,
            brand_colour=colour,
            district=districts[ags[:5]],
            is_demo=True,
            **dict(zip(data.AUTHORITY_FIELDS, data.AUTHORITIES.get(slug, ()), strict=False)),
        )
        municipality.full_clean()
        municipality.save()
        audit.record("municipality.create", municipality=municipality, obj=municipality, changes={"demo": True})
        units = _create_org_chart(municipality)
        for role, suffix, first, last, unit_short in data.PEOPLE:
            username = f"{slug}-{suffix}"
            user = account_actions.create_user(
                username=username,
                email=f"{username}@demo.dikom.invalid",
                password=password,
                first_name=first,
                last_name=f"{last} ({name})",
                is_demo=True,
            )
            account_actions.grant_role(user=user, municipality=municipality, role=role, org_unit=units[unit_short])

    account_actions.create_user(
        username=data.PLATFORM_ADMIN_USERNAME,
        email="plattform-admin@demo.dikom.invalid",
        password=password,
        first_name="Petra",
        last_name="Plattform",
        is_demo=True,
        is_superuser=True,
    )
    account_actions.create_user(
        username=data.CITIZEN_USERNAME,
        email="buergerin@demo.dikom.invalid",
        password=password,
        first_name="Berta",
        last_name="Bürgerin",
        is_demo=True,
    )
    return DemoResult(created=True, password=password, usernames=demo_usernames())
