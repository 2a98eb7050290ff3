"""City comparison: opt-in, averages, named ranking, no unnamed city identifiable, access.

Figures come from perturbed monthly counts of complete months (cell key method), so the
tests compare with the true rates within the noise, and averages with the figures shown.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.analytics.models import Service
from dikom.audit.models import AuditEvent

from .conftest import auth, city, key_for, stats

LEIKA = "99050012104000"
# A day of the last complete month: the comparison covers complete months only.
DAY = timezone.localdate().replace(day=1) - timedelta(days=10)
PERIOD = f"from={(DAY - timedelta(days=5)).isoformat()}&to={DAY.isoformat()}"


def offer(municipality, starts, completions, name="Gewerbe anmelden"):
    service = Service.objects.create(municipality=municipality, name=name, external_key="gewerbe", leika_key=LEIKA)
    funnel = {
        "daten": {"position": 1, "viewed": starts, "completed": starts, "aborted": 0},
        "zahlung": {"position": 2, "viewed": starts - 2, "completed": completions, "aborted": 0},
    }
    stats(service, DAY, visits=starts, starts=starts, completions=completions, funnel=funnel)
    return service


@pytest.fixture
def cities(city_a, city_b):
    # A (Fulda, 69 000, district 06631) views. Same district: Künzell, Petersberg; Marburg elsewhere.
    return {
        "a": city_a,
        "b": city_b,
        "kuenzell": city("Kuenzell", "06631015", 16000, "06631"),
        "petersberg": city("Petersberg", "06631021", 15000, "06631"),
        "marburg": city("Marburg", "06534014", 77000),
    }


def share(client, login, user, municipality, service, on=True):
    login(client, user)
    return client.post(
        f"/analytics/vergleich/{municipality.slug}/freigaben/",
        {"service": str(service.uuid), "share": "on" if on else "off"},
    )


def test_opt_in_and_out_are_audited_and_limited_to_the_city(client, login, owner, colleague, outsider, cities):
    service = offer(cities["a"], 40, 30)
    assert share(client, login, colleague, cities["a"], service).status_code == 403
    assert share(client, login, outsider, cities["a"], service).status_code == 403
    other = offer(cities["b"], 40, 30)
    assert share(client, login, owner, cities["a"], other).status_code == 404  # another city's service
    assert share(client, login, owner, cities["a"], service).status_code == 302
    assert AuditEvent.objects.filter(action="analytics.share_enable", municipality=cities["a"]).count() == 1
    page = client.get(f"/analytics/vergleich/{cities['a'].slug}/freigaben/").content.decode()
    assert "Gewerbe anmelden" in page
    assert share(client, login, owner, cities["a"], service, on=False).status_code == 302
    assert AuditEvent.objects.filter(action="analytics.share_disable", municipality=cities["a"]).count() == 1
    analyst = MembershipFactory(municipality=cities["a"], role=Role.ANALYST).user
    assert share(client, login, analyst, cities["a"], service).status_code == 302


def test_unshared_city_never_named_in_html_or_api(client, login, owner, cities):
    services = {key: offer(m, 40 + 10 * i, 20 + i) for i, (key, m) in enumerate(cities.items())}
    from dikom.analytics.sharing import actions

    for key in ("b", "marburg"):
        actions.enable_share(service=services[key], actor=None)
    login(client, owner)
    html = client.get(f"/analytics/vergleich/fulda/leika/{LEIKA}/?{PERIOD}").content.decode()
    api = client.get(
        f"/api/v1/analytics/comparison?leika={LEIKA}&{PERIOD}&municipality={cities['a'].ags}"
    ).content.decode()
    for body in (html, api):
        assert "Gießen" in body and "Marburg" in body
        for hidden in ("kuenzell", "petersberg"):
            assert cities[hidden].name not in body and cities[hidden].ags not in body


def test_averages_need_three_cities_and_are_unweighted(client, login, owner, cities):
    offer(cities["a"], 100, 50)  # 0.5
    offer(cities["b"], 40, 10)  # 0.25
    login(client, owner)
    url = f"/api/v1/analytics/comparison?leika={LEIKA}&{PERIOD}&municipality={cities['a'].ags}"
    body = client.get(url).json()
    assert body["averages"]["all"]["conversion_rate"] == {"value": None, "cities": None, "status": "too_few_cities"}
    html = client.get(f"/analytics/vergleich/fulda/leika/{LEIKA}/?{PERIOD}").content.decode()
    # German ("zu wenige Kommunen für einen Durchschnitt") comes with the central translation.
    assert "too few municipalities for an average" in html or "zu wenige Kommunen" in html
    offer(cities["marburg"], 400, 400)  # 1.0 — weighted by starts would be 460/540
    from dikom.analytics.sharing import actions

    for m in ("b", "marburg"):
        actions.enable_share(service=Service.objects.get(municipality=cities[m]), actor=None)
    body = client.get(url).json()
    rates = [c["conversion_rate"] for c in body["ranking"]]
    # Unweighted: the mean of the cities' (perturbed) rates, about (1.0 + 0.5 + 0.25) / 3.
    assert body["averages"]["all"]["conversion_rate"] == {
        "value": round(sum(rates) / 3, 4),
        "cities": 3,
        "status": "ok",
    }
    assert abs(body["averages"]["all"]["conversion_rate"]["value"] - 1.75 / 3) < 0.06
    assert [c["municipality"] for c in body["ranking"]] == ["Marburg", "Fulda", "Gießen"]
    assert abs(body["ranking"][0]["starts"] - 400) <= 3
    assert body["period"]["from"] == DAY.replace(day=1).isoformat()
    # The page shows rates as people read them: percentages with one decimal, in German.
    html = client.get(f"/analytics/vergleich/fulda/leika/{LEIKA}/?{PERIOD}", HTTP_ACCEPT_LANGUAGE="de").content
    page = html.decode()

    def percent(value):
        return f"{value * 100:.1f}".replace(".", ",") + "\N{NO-BREAK SPACE}%"

    assert percent(body["averages"]["all"]["conversion_rate"]["value"]) in page
    assert all(percent(rate) in page for rate in rates)


def test_cities_below_min_starts_do_not_count(client, login, owner, cities, settings):
    settings.DIKOM_ANALYTICS_COMPARISON_MIN_STARTS = 20
    offer(cities["a"], 100, 50)
    offer(cities["b"], 40, 10)
    offer(cities["marburg"], 16, 16)  # below 20 even with the largest deviation (+3)
    login(client, owner)
    body = client.get(f"/api/v1/analytics/comparison?leika={LEIKA}&{PERIOD}&municipality={cities['a'].ags}").json()
    assert body["averages"]["all"]["conversion_rate"]["status"] == "too_few_cities"


def test_district_and_size_class_averages(client, login, owner, cities):
    from dikom.analytics.sharing import actions

    rates = {"a": (100, 50), "kuenzell": (100, 20), "petersberg": (100, 80), "b": (100, 30), "marburg": (100, 90)}
    for key, (starts, done) in rates.items():
        service = offer(cities[key], starts, done)
        if key != "a":
            actions.enable_share(service=service, actor=None)
    login(client, owner)
    body = client.get(f"/api/v1/analytics/comparison?leika={LEIKA}&{PERIOD}&municipality={cities['a'].ags}").json()
    averages = body["averages"]
    shown = {c["municipality"]: c["conversion_rate"] for c in body["ranking"]}
    for name, true in (("Fulda", 0.5), ("Kuenzell", 0.2), ("Petersberg", 0.8), ("Gießen", 0.3), ("Marburg", 0.9)):
        assert abs(shown[name] - true) < 0.07
    district = [shown[name] for name in ("Fulda", "Kuenzell", "Petersberg")]
    assert averages["district"]["conversion_rate"] == {
        "value": round(sum(district) / 3, 4),
        "cities": 3,
        "status": "ok",
    }
    # medium towns (20 000 – 99 999): Fulda, Gießen, Marburg
    medium = [shown[name] for name in ("Fulda", "Gießen", "Marburg")]
    assert averages["size_class"]["conversion_rate"] == {
        "value": round(sum(medium) / 3, 4),
        "cities": 3,
        "status": "ok",
    }
    assert averages["all"]["conversion_rate"]["cities"] == 5
    # compared by position: A's abandonment step is position 2 ("zahlung")
    assert body["own"]["abandonment_step"]["position"] == 2


def test_an_average_that_would_isolate_one_unnamed_city_is_withheld(client, login, owner, cities):
    from dikom.analytics.sharing import actions

    offer(cities["a"], 100, 50)
    actions.enable_share(service=offer(cities["b"], 100, 30), actor=None)
    offer(cities["kuenzell"], 100, 20)  # not shared: 3 × average − A − B would reveal it
    login(client, owner)
    body = client.get(f"/api/v1/analytics/comparison?leika={LEIKA}&{PERIOD}&municipality={cities['a'].ags}").json()
    assert body["averages"]["all"]["conversion_rate"]["status"] == "withheld"
    assert body["averages"]["all"]["conversion_rate"]["value"] is None
    offer(cities["petersberg"], 100, 80)  # two unnamed cities: only their sum is known
    body = client.get(f"/api/v1/analytics/comparison?leika={LEIKA}&{PERIOD}&municipality={cities['a'].ags}").json()
    assert body["averages"]["all"]["conversion_rate"]["status"] == "ok"


def test_isolation_check_catches_combinations_of_averages():
    from dikom.analytics.sharing.comparison import isolates

    assert isolates([frozenset({1})])
    assert not isolates([frozenset({1, 2})])
    assert isolates([frozenset({1, 2}), frozenset({1, 2, 3})])  # difference is city 3
    assert not isolates([frozenset({1, 2}), frozenset({1, 2, 3, 4})])
    assert isolates([frozenset({1, 2}), frozenset({2, 3}), frozenset({1, 3})])


def test_access_boundaries(client, login, owner, colleague, outsider, cities):
    offer(cities["a"], 40, 30)
    url = f"/analytics/vergleich/fulda/leika/{LEIKA}/?{PERIOD}"
    login(client, colleague)
    assert client.get(url).status_code == 403
    assert client.get("/analytics/vergleich/fulda/").status_code == 403
    login(client, outsider)
    assert client.get(url).status_code == 403
    login(client, owner)
    assert client.get(url).status_code == 200
    assert client.get("/analytics/vergleich/fulda/").status_code == 200
    client.logout()
    api = f"/api/v1/analytics/comparison?leika={LEIKA}&{PERIOD}"
    assert client.get(api, **auth(key_for(cities["b"], "analytics:ingest"))).status_code == 403
    body = client.get(api, **auth(key_for(cities["b"], "analytics:read"))).json()
    assert body["own"] is None  # B's key reads B's view; A did not share, so A is not named
    assert "Fulda" not in str(body) and cities["a"].ags not in str(body)
    assert (
        client.get(
            f"/api/v1/analytics/comparison?leika=123&{PERIOD}", **auth(key_for(cities["b"], "analytics:read"))
        ).status_code
        == 400
    )
