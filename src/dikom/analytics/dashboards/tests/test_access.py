"""Who reaches the dashboards: analysts and administrators of their own city, platform admins everywhere."""

from __future__ import annotations

from typing import Any

import pytest

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.analytics.dashboards.tests.conftest import period_query

pytestmark = pytest.mark.django_db


def test_anonymous_users_get_the_module_description(client: Any) -> None:
    response = client.get("/analytics/")
    assert response.status_code == 200
    assert "Nutzungsanalyse" in response.content.decode()
    assert client.get("/analytics/fulda/").status_code == 302  # to the log-in


def test_one_city_redirects_to_its_overview(client: Any, login: Any, owner: Any) -> None:
    login(client, owner)
    response = client.get("/analytics/")
    assert response.status_code == 302
    assert response["Location"] == "/analytics/fulda/"


def test_several_cities_get_a_chooser(client: Any, login: Any, owner: Any, city_b: Any) -> None:
    MembershipFactory(user=owner, municipality=city_b, role=Role.ANALYST)
    login(client, owner)
    html = client.get("/analytics/").content.decode()
    assert 'href="/analytics/fulda/"' in html and 'href="/analytics/giessen/"' in html


def test_without_analytics_role_a_friendly_403(client: Any, login: Any, colleague: Any) -> None:
    login(client, colleague)
    response = client.get("/analytics/")
    assert response.status_code == 403
    assert "analytics_dashboards/no_access.html" in [t.name for t in response.templates]


@pytest.mark.parametrize(
    ("user", "status"),
    [("owner", 200), ("analyst", 200), ("platform_admin", 200), ("colleague", 403), ("outsider", 403)],
)
def test_overview_access(client: Any, login: Any, request: Any, example: Any, user: str, status: int) -> None:
    login(client, request.getfixturevalue(user))
    assert client.get("/analytics/fulda/").status_code == status


def test_service_of_another_city_is_404(client: Any, login: Any, owner: Any, outsider: Any, example: Any) -> None:
    login(client, owner)
    assert client.get(f"/analytics/fulda/dienste/{example['other'].uuid}/").status_code == 404
    assert client.get(f"/analytics/fulda/dienste/{example['other'].uuid}/kommentare/").status_code == 404
    assert client.get("/analytics/nirgendwo/").status_code == 404
    client.logout()
    login(client, outsider)
    assert client.get(f"/analytics/giessen/dienste/{example['parking'].uuid}/").status_code == 404
    assert client.get(f"/analytics/fulda/dienste/{example['parking'].uuid}/").status_code == 403


def test_navigation_shows_analytics_only_with_the_role(
    client: Any, login: Any, analyst: Any, colleague: Any, django_assert_max_num_queries: Any
) -> None:
    login(client, analyst)
    html = client.get("/start/").content.decode()
    assert '<a href="/analytics/">Nutzungsanalyse</a>' in html
    client.logout()
    login(client, colleague)
    assert '<a href="/analytics/">' not in client.get("/start/").content.decode()


def test_comments_are_staff_only_and_scrubbed(
    client: Any, login: Any, analyst: Any, colleague: Any, example: Any
) -> None:
    url = f"/analytics/fulda/dienste/{example['parking'].uuid}/kommentare/" + period_query()
    login(client, analyst)
    html = client.get(url).content.decode()
    assert "Schnell erledigt" in html
    assert "a@b.de" not in html
    client.logout()
    login(client, colleague)
    assert client.get(url).status_code == 403
