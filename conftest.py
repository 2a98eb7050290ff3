"""Fixtures shared by every test: two cities and named users.

- ``owner``: municipality administrator of city A (Fulda)
- ``colleague``: caseworker of city A, no admin role
- ``outsider``: municipality administrator of city B (Gießen)
- ``citizen``: a user without memberships
- ``platform_admin``: superuser across all cities

``login(client, user)`` logs a user in with a verified second factor, as staff
must be under the CI settings (DIKOM_REQUIRE_2FA_FOR_STAFF on).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from dikom.accounts.models import User
from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import PASSWORD, MembershipFactory, UserFactory
from dikom.municipalities.models import Municipality
from dikom.municipalities.tests.factories import DistrictFactory, MunicipalityFactory

REQUIRE_SERVICES = os.environ.get("DIKOM_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Skip a test that needs an outside server, or fail when CI demands the server."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (DIKOM_REQUIRE_SERVICES is set, so this is a failure)")
    pytest.skip(reason)


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def city_a(db: Any) -> Municipality:
    district = DistrictFactory(key="06631", name="Landkreis Fulda")
    return MunicipalityFactory(name="Fulda", slug="fulda", ags="06631009", district=district, population=69000)


@pytest.fixture
def city_b(db: Any) -> Municipality:
    district = DistrictFactory(key="06531", name="Landkreis Gießen")
    return MunicipalityFactory(name="Gießen", slug="giessen", ags="06531005", district=district, population=92000)


@pytest.fixture
def owner(city_a: Municipality) -> User:
    return MembershipFactory(user__username="owner", municipality=city_a, role=Role.MUNICIPALITY_ADMIN).user


@pytest.fixture
def colleague(city_a: Municipality) -> User:
    return MembershipFactory(user__username="colleague", municipality=city_a, role=Role.CASEWORKER).user


@pytest.fixture
def outsider(city_b: Municipality) -> User:
    return MembershipFactory(user__username="outsider", municipality=city_b, role=Role.MUNICIPALITY_ADMIN).user


@pytest.fixture
def citizen(db: Any) -> User:
    return UserFactory(username="citizen")


@pytest.fixture
def platform_admin(db: Any) -> User:
    return UserFactory(username="platform", is_superuser=True, is_staff=True)


def _login(client: Client, user: User) -> Client:
    """Log ``user`` in with a confirmed TOTP device, as after a real 2FA check."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _ = TOTPDevice.objects.get_or_create(user=user, name="test", defaults={"confirmed": True})
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def login() -> Callable[[Client, User], Client]:
    return _login


CHROMIUM = Path("/usr/bin/chromium")
# As the machine notes prescribe: no sandbox (root in a container), and none of
# chromium's background connections, which the closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (never a downloaded browser), for every app's browser tests."""
    if not CHROMIUM.exists():
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; Django would otherwise
    # refuse ORM calls (test data, live server set-up) as "unsafe in an async context".
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(autouse=True)
def _fresh_process_state_for_usage_events() -> Iterator[None]:
    """Per-process state of the usage events, reset around every test: the portal's record of
    registered analytics services (ids repeat after a flush) and the group committer's thread,
    which stores on a connection of its own (closed, so the test database can be dropped)."""
    from dikom.analytics import groupcommit
    from dikom.portal import events

    events._registered.clear()
    yield
    events._registered.clear()
    groupcommit.committer().stop()


@pytest.fixture(autouse=True)
def _empty_page_cache() -> Iterator[None]:
    """The per-process page cache (``dikom.lib.pagecache``) keyed by host and path: a page stored in
    one test must not answer another test's request for the same city (the database was rolled back).
    Off in the CI settings; this matters when a test or a run switches it on."""
    from dikom.lib import pagecache

    pagecache.store.clear()
    yield
    pagecache.store.clear()


@pytest.fixture
def migration_data(db: Any) -> None:
    """What `migrate` installs as data (built-in competence frameworks and clusters, the forum's categories).

    A test with a live server or ``transaction=True`` empties every table when it ends, so a later test of the
    same run would find none of it, unlike a fresh installation; browser tests that need it ask for this.
    """
    from dikom.competences.service import install_builtin_clusters, install_builtin_frameworks
    from dikom.forum.service import install_default_categories

    install_builtin_frameworks()
    install_builtin_clusters()
    install_default_categories()
