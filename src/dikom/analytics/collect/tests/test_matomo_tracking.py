"""/matomo.php: the Matomo HTTP Tracking API turned into usage events by the site's rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.test import override_settings
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.analytics.collect.models import UnmatchedRequests
from dikom.analytics.collect.tests.conftest import FORM_ORIGIN, key_for
from dikom.analytics.models import UsageEvent

pytestmark = pytest.mark.django_db

URL = "/matomo.php"
PAGE = "https://formulare.fulda.de"


def query(**params: object) -> str:
    base = {"idsite": 7, "rec": 1}
    base.update(params)
    return urlencode(base)


def events() -> list[tuple[str, str, str, int | None, str, str, str]]:
    return list(
        UsageEvent.objects.order_by("pk").values_list(
            "type", "service_key", "step_key", "step_position", "auth_method", "payment_method", "source"
        )
    )


def test_get_with_a_mapped_url_creates_the_events_and_answers_a_gif(client, site):
    # the start page matches rule 10 (service_started, continues) and rule 30 (step 1)
    response = client.get(f"{URL}?{query(url=PAGE + '/antrag/parken/start?ticket=abc', _id='a1b2c3d4e5f60718')}")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response.content.startswith(b"GIF89a")
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert events() == [
        ("service_started", "anwohnerparken", "", None, "", "", "matomo"),
        ("step_viewed", "anwohnerparken", "start", 1, "", "", "matomo"),
    ]
    stored = list(UsageEvent.objects.all())
    assert stored[0].service is not None
    assert stored[0].visit == stored[1].visit is not None  # one visit, hashed


def test_regex_rules_match_the_path_only(client, site):
    client.get(f"{URL}?{query(url=PAGE + '/antrag/parken/schritt-2/')}")
    # the query string never takes part in matching
    client.get(f"{URL}?{query(url=PAGE + '/andere/seite?x=/antrag/parken/schritt-2')}")

    assert events() == [("step_viewed", "anwohnerparken", "schritt", 2, "", "", "matomo")]


def test_post_form_encoded_event_request(client, site):
    body = query(url=PAGE + "/antrag/parken/zahlung", e_c="Bezahlung", e_a="gewählt", e_n="PayPal")

    response = client.post(URL, data=body, content_type="application/x-www-form-urlencoded", HTTP_ORIGIN=FORM_ORIGIN)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == FORM_ORIGIN
    # an event request is no page view: the URL rules do not fire on it
    assert events() == [("payment_chosen", "anwohnerparken", "", None, "", "paypal", "matomo")]


def test_custom_dimension_and_feedback_value(client, site):
    client.get(f"{URL}?{query(url=PAGE + '/login', dimension3='bundid', e_c='Login', e_a='ok')}")
    client.get(f"{URL}?{query(e_c='Feedback', e_a='Bewertung', e_v='4')}")

    assert events()[0] == ("auth_completed", "anwohnerparken", "", None, "bundid", "", "matomo")
    assert UsageEvent.objects.get(type="feedback").rating == 4


def test_send_image_0_answers_204(client, site):
    response = client.get(f"{URL}?{query(url=PAGE + '/antrag/parken/schritt-3', send_image=0)}")

    assert response.status_code == 204
    assert UsageEvent.objects.count() == 1


def test_bulk_with_valid_invalid_and_unmapped_requests(client, site, site_b):
    site_b.enabled = False
    site_b.save()
    requests = [
        "?" + query(url=PAGE + "/antrag/parken/schritt-2"),  # 0 tracked
        "?" + query(idsite=999, url=PAGE + "/antrag/parken/schritt-2"),  # 1 unknown site
        "?" + query(url=PAGE + "/impressum"),  # 2 no rule matches
        "?" + query(idsite=8, url="https://formulare.giessen.de/"),  # 3 disabled site
        "?" + query(rec=0, url=PAGE + "/antrag/parken/schritt-2"),  # 4 not rec=1
        42,  # 5 malformed
        "?" + query(e_c="Antrag", e_a="Absenden"),  # 6 tracked
        "?" + query(url=PAGE + "/kontakt"),  # 7 no rule matches
    ]

    response = client.post(URL, data=json.dumps({"requests": requests}), content_type="application/json")

    assert response.status_code == 200
    body = response.json()
    reasons = {item["index"]: item["reason"] for item in body.pop("errors")}
    assert body == {
        "status": "success",
        "tracked": 2,
        "invalid": 6,
        "invalid_indices": [1, 2, 3, 4, 5, 7],
        "unmatched": 2,
        "unmatched_indices": [2, 7],
    }
    # Each item that was not tracked says why.
    assert reasons == {
        1: _("Unknown or disabled site %(idsite)s.") % {"idsite": 999},
        2: _("No rule of the site matches this request."),
        3: _("Unknown or disabled site %(idsite)s.") % {"idsite": 8},
        4: _("The request is not meant for tracking (rec=1 is missing)."),
        5: _("The item is not a query string or an object of parameters."),
        7: _("No rule of the site matches this request."),
    }
    assert [e[0] for e in events()] == ["step_viewed", "submitted"]
    assert UnmatchedRequests.objects.get(site=site).count == 2


def test_unknown_or_disabled_site_is_a_400_for_a_single_request(client, site):
    unknown = client.get(f"{URL}?{query(idsite=999, url=PAGE + '/antrag/parken/schritt-2')}")
    site.enabled = False
    site.save()
    disabled = client.get(f"{URL}?{query(url=PAGE + '/antrag/parken/schritt-2')}")
    no_site = client.get(f"{URL}?rec=1")

    for response in (unknown, disabled, no_site):
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
    assert not UsageEvent.objects.exists()


def test_an_unmapped_single_request_is_accepted_and_counted(client, site):
    response = client.get(f"{URL}?{query(url=PAGE + '/impressum')}")

    assert response.status_code == 200
    assert not UsageEvent.objects.exists()
    assert UnmatchedRequests.objects.get(site=site).count == 1


def test_token_auth_of_the_sites_city_is_accepted_and_allows_cdt(client, site, city_a):
    token = key_for(city_a, "analytics:ingest")
    earlier = (timezone.now() - timedelta(days=3)).replace(microsecond=0)
    body = {
        "requests": ["?" + query(url=PAGE + "/antrag/parken/schritt-2", cdt=int(earlier.timestamp()))],
        "token_auth": token,
    }

    response = client.post(URL, data=json.dumps(body), content_type="application/json")

    assert response.json()["tracked"] == 1
    assert UsageEvent.objects.get().occurred_at == earlier.astimezone(UTC).replace(
        second=0, microsecond=0
    )  # to the minute


def test_cdt_without_token_is_ignored(client, site):
    earlier = int((timezone.now() - timedelta(days=3)).timestamp())
    client.get(f"{URL}?{query(url=PAGE + '/antrag/parken/schritt-2', cdt=earlier)}")

    assert UsageEvent.objects.get().occurred_at > datetime.fromtimestamp(earlier, tz=UTC) + timedelta(days=2)


def test_token_auth_of_another_city_is_403(client, site, city_b):
    token = key_for(city_b, "analytics:ingest")

    single = client.get(f"{URL}?{query(url=PAGE + '/antrag/parken/schritt-2', token_auth=token)}")
    bulk = client.post(
        URL,
        data=json.dumps({"requests": ["?" + query(url=PAGE + "/antrag/parken/schritt-2")], "token_auth": token}),
        content_type="application/json",
    )

    assert single.status_code == bulk.status_code == 403
    assert single["Content-Type"] == "application/problem+json"
    assert not UsageEvent.objects.exists()


def test_token_without_ingest_scope_is_403_and_unknown_token_401(client, site, city_a):
    read_only = key_for(city_a, "analytics:read")

    assert client.get(f"{URL}?{query(url=PAGE + '/x', token_auth=read_only)}").status_code == 403
    assert client.get(f"{URL}?{query(url=PAGE + '/x', token_auth='dk_nope_nope')}").status_code == 401


def test_wrong_origin_is_403_and_right_referer_passes(client, site):
    url = f"{URL}?{query(url=PAGE + '/antrag/parken/schritt-2')}"

    wrong = client.get(url, HTTP_ORIGIN="https://evil.example")
    wrong_referer = client.get(url, HTTP_REFERER="https://evil.example/antrag/parken/schritt-2")
    null_origin = client.get(url, HTTP_ORIGIN="null")
    right = client.get(url, HTTP_REFERER=PAGE + "/antrag/parken/schritt-2?x=1")

    assert wrong.status_code == wrong_referer.status_code == null_origin.status_code == 403
    assert "Access-Control-Allow-Origin" not in wrong
    assert right.status_code == 200
    assert UsageEvent.objects.count() == 1


def test_per_site_rate_limit_answers_429_with_retry_after(client, site):
    url = f"{URL}?{query(url=PAGE + '/antrag/parken/schritt-2')}"
    with override_settings(DIKOM_ANALYTICS_COLLECT_RATE="2/min"):
        answers = [client.get(url) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2]["Retry-After"]) >= 1
    assert answers[2]["Content-Type"] == "application/problem+json"
    assert UsageEvent.objects.count() == 2


def test_bulk_counts_every_request_against_the_site_limit(client, site):
    # Hits beyond the budget are refused by index; those within it are tracked (see test_collect_budget.py)
    body = {"requests": ["?" + query(url=PAGE + "/antrag/parken/schritt-2")] * 3}
    with override_settings(DIKOM_ANALYTICS_COLLECT_RATE="2/min"):
        response = client.post(URL, data=json.dumps(body), content_type="application/json")
        again = client.post(URL, data=json.dumps(body), content_type="application/json")

    assert response.status_code == 200
    assert (response.json()["tracked"], response.json()["refused_indices"]) == (2, [2])
    assert again.status_code == 429
    assert UsageEvent.objects.count() == 2


def test_malformed_bodies_are_400_never_500(client, site):
    for body in ("{not json", '{"requests": "?idsite=7"}', '{"requests": []}', "[1, 2]"):
        response = client.post(URL, data=body, content_type="application/json")
        assert response.status_code == 400, body


@override_settings(DIKOM_ANALYTICS_MAX_BATCH=2)
def test_too_many_bulk_requests_is_413(client, site):
    body = {"requests": ["?" + query(url=PAGE + "/antrag/parken/schritt-2")] * 3}

    assert client.post(URL, data=json.dumps(body), content_type="application/json").status_code == 413


def test_a_heartbeat_ping_is_tracked_without_events(client, site):
    body = {"requests": ["?" + query(url=PAGE + "/antrag/parken/schritt-2", ping=1)]}

    response = client.post(URL, data=json.dumps(body), content_type="application/json")

    assert response.json()["tracked"] == 1
    assert not UsageEvent.objects.exists()
    assert not UnmatchedRequests.objects.exists()


def test_a_site_that_requires_an_origin_refuses_requests_without_one(client, site):
    url = f"{URL}?{query(url=PAGE + '/antrag/parken/schritt-2')}"
    assert client.get(url).status_code == 200  # a server-side sender, allowed by default
    site.require_origin = True
    site.save()

    assert client.get(url).status_code == 403
    assert client.get(url, HTTP_REFERER=PAGE + "/antrag/parken/schritt-2").status_code == 200
    assert UsageEvent.objects.count() == 2
