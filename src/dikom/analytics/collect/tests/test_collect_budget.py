"""The collection budget: an abusive client is refused while the site's other visitors get through.

Clients are told apart by the connection's address (``REMOTE_ADDR``); the
clock of the token buckets is set by the test, so nothing here waits.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.test import override_settings
from django.utils import timezone

from dikom.analytics.collect import budget
from dikom.analytics.models import UsageEvent

pytestmark = pytest.mark.django_db

MATOMO = "/matomo.php"
PAGE = "https://formulare.fulda.de"
ABUSER = "203.0.113.66"
VISITOR = "198.51.100.7"


def hit() -> str:
    return urlencode({"idsite": 7, "rec": 1, "url": PAGE + "/antrag/parken/schritt-2"})


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(budget.time, "time", clock)
    return clock


def bulk(client, count: int, address: str):
    body = {"requests": ["?" + hit()] * count}
    return client.post(MATOMO, data=json.dumps(body), content_type="application/json", REMOTE_ADDR=address)


def single(client, address: str):
    return client.get(f"{MATOMO}?{hit()}", REMOTE_ADDR=address)


def test_huge_anonymous_bulk_does_not_lock_the_site(client, site, clock):
    # Given the default budgets, one client sends the reviewer's 3 000-hit bulk
    response = bulk(client, 3000, ABUSER)
    # Then only its own share is tracked; the rest is refused by index, with a clear reason
    assert response.status_code == 200
    body = response.json()
    assert body["tracked"] == 300 and body["refused"] == 2700
    assert body["refused_indices"][0] == 300 and len(body["refused_indices"]) == 2700
    assert "Rate limit" in body["detail"] or "Ratenlimit" in body["detail"]
    assert int(response["Retry-After"]) >= 1
    assert UsageEvent.objects.count() == 300
    # and the abuser's next hit is 429, while a real visitor of the same site still gets through
    assert single(client, ABUSER).status_code == 429
    visitor = single(client, VISITOR)
    assert visitor.status_code == 200 and visitor["Content-Type"] == "image/gif"


@override_settings(DIKOM_ANALYTICS_COLLECT_CLIENT_RATE="5/min", DIKOM_ANALYTICS_COLLECT_RATE="100/min")
def test_abusive_client_gets_429_another_client_of_the_site_does_not(client, site, clock):
    answers = [single(client, ABUSER).status_code for _ in range(7)]
    assert answers == [200] * 5 + [429, 429]
    refused = single(client, ABUSER)
    assert refused["Content-Type"] == "application/problem+json" and int(refused["Retry-After"]) >= 1
    assert [single(client, VISITOR).status_code for _ in range(5)] == [200] * 5


@override_settings(DIKOM_ANALYTICS_COLLECT_CLIENT_RATE="2/min")
def test_refused_requests_do_not_prolong_the_block(client, site, clock):
    # Given a client that used its budget (one token back every 30 s)
    assert [single(client, ABUSER).status_code for _ in range(2)] == [200, 200]
    first_refusal = single(client, ABUSER)
    assert first_refusal.status_code == 429 and int(first_refusal["Retry-After"]) == 30
    # When it keeps knocking during the wait
    for _second in range(1, 30):
        clock.now += 1
        assert single(client, ABUSER).status_code == 429
    # Then it may send again as soon as the first refusal said, not later
    clock.now += 1
    assert single(client, ABUSER).status_code == 200


@override_settings(DIKOM_ANALYTICS_COLLECT_CLIENT_RATE="1000/min", DIKOM_ANALYTICS_COLLECT_RATE="4/min")
def test_the_site_ceiling_still_holds_for_all_clients_together(client, site, clock):
    assert bulk(client, 3, ABUSER).json()["tracked"] == 3
    body = bulk(client, 3, VISITOR).json()
    assert (body["tracked"], body["refused_indices"]) == (1, [1, 2])
    assert single(client, "192.0.2.1").status_code == 429


@override_settings(DIKOM_ANALYTICS_COLLECT_CLIENT_RATE="2/min")
def test_addresses_of_one_ipv6_subscriber_share_a_bucket(client, site, clock):
    assert single(client, "2001:db8:1:2::1").status_code == 200
    assert single(client, "2001:db8:1:2:ffff::9").status_code == 200
    assert single(client, "2001:db8:1:2:abcd::5").status_code == 429
    assert single(client, "2001:db8:1:3::1").status_code == 200


def _event() -> dict[str, object]:
    return {
        "type": "step_viewed",
        "service": "anwohnerparken",
        "occurred_at": timezone.now().isoformat(),
        "visit_id": "0123456789abcdef",
        "step_key": "antragsteller",
        "step_position": 2,
    }


@override_settings(DIKOM_ANALYTICS_COLLECT_CLIENT_RATE="3/min", DIKOM_ANALYTICS_COLLECT_RATE="100/min")
def test_js_collector_refuses_the_abuser_not_the_site(client, site, clock):
    from dikom.analytics.collect.tests.conftest import FORM_ORIGIN

    url = f"/api/v1/analytics/collect/{site.site_id}"

    def post(body: object, address: str):
        return client.post(
            url, data=json.dumps(body), content_type="text/plain", HTTP_ORIGIN=FORM_ORIGIN, REMOTE_ADDR=address
        )

    # A batch larger than the client's budget is refused whole, and costs nothing
    too_many = post({"events": [_event()] * 4}, ABUSER)
    assert too_many.status_code == 429 and too_many["Content-Type"] == "application/problem+json"
    assert not UsageEvent.objects.exists()
    assert post({"events": [_event()] * 3}, ABUSER).status_code == 200
    assert post(_event(), ABUSER).status_code == 429
    assert post(_event(), VISITOR).status_code == 200
