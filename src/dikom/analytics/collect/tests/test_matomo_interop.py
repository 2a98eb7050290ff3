"""/matomo.php with what real Matomo trackers do: credentialed CORS, resends, cookieless tracking, ISO ``cdt``,
bulk reasons, the sending key's prefix, tablets and client hints."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.accounts.models import ApiKey
from dikom.analytics.collect.matomo import device_class
from dikom.analytics.collect.tests.conftest import FORM_ORIGIN, key_for
from dikom.analytics.models import UsageEvent

pytestmark = pytest.mark.django_db

URL = "/matomo.php"
PAGE = "https://formulare.fulda.de"
STEP = PAGE + "/antrag/parken/schritt-2"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def query(**params: object) -> str:
    base: dict[str, object] = {"idsite": 7, "rec": 1}
    base.update(params)
    return urlencode(base)


# --- CORS with credentials -------------------------------------------------------------------


def test_an_allowed_origin_gets_its_origin_and_allow_credentials(client, site):
    response = client.post(
        URL,
        data=query(url=STEP, r="123456", send_image=0),
        content_type="application/x-www-form-urlencoded; charset=UTF-8",
        HTTP_ORIGIN=FORM_ORIGIN,
    )

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == FORM_ORIGIN  # echoed, never "*"
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response["Vary"]


def test_another_origin_gets_no_cors_headers(client, site):
    response = client.get(f"{URL}?{query(url=STEP)}", HTTP_ORIGIN="https://evil.example")

    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response


def test_a_preflight_is_answered_with_credentials_only_for_an_allowed_origin(client, site):
    headers = {"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST", "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "content-type"}
    allowed = client.options(URL, HTTP_ORIGIN=FORM_ORIGIN, **headers)
    for_the_site = client.options(f"{URL}?idsite=7", HTTP_ORIGIN=FORM_ORIGIN, **headers)
    for_another_site = client.options(f"{URL}?idsite=8", HTTP_ORIGIN=FORM_ORIGIN, **headers)
    other = client.options(URL, HTTP_ORIGIN="https://evil.example", **headers)

    for response in (allowed, for_the_site):
        assert response.status_code == 204
        assert response["Access-Control-Allow-Origin"] == FORM_ORIGIN
        assert response["Access-Control-Allow-Credentials"] == "true"
        assert "POST" in response["Access-Control-Allow-Methods"]
    for response in (for_another_site, other):
        assert "Access-Control-Allow-Origin" not in response
        assert "Access-Control-Allow-Credentials" not in response


# --- Resends ---------------------------------------------------------------------------------


def test_a_resent_hit_is_stored_once(client, site):
    # matomo.js: an XHR POST whose answer the browser blocked, then the same request as an image (send_image=1)
    hit = {"url": STEP, "_id": "a1b2c3d4e5f60718", "r": "482913", "h": 9, "m": 30, "s": 1, "pv_id": "Ab12Cd"}
    client.post(URL, data=query(**hit, send_image=0), content_type="application/x-www-form-urlencoded")
    client.get(f"{URL}?{query(**hit, send_image=1)}")
    # and in a bulk, as a server would retry it
    bulk = client.post(URL, data=json.dumps({"requests": ["?" + query(**hit)]}), content_type="application/json")

    assert bulk.json()["tracked"] == 1  # idempotent: accepted again, not stored again
    assert UsageEvent.objects.count() == 1


def test_two_hits_differ_in_their_nonce_and_are_both_stored(client, site):
    for nonce in ("111111", "222222"):
        client.get(f"{URL}?{query(url=STEP, _id='a1b2c3d4e5f60718', r=nonce)}")
    for nonce in ("a", "b"):  # the PHP tracker's parameter
        client.get(f"{URL}?{query(url=STEP, _id='a1b2c3d4e5f60718', rand=nonce)}")

    assert UsageEvent.objects.count() == 4


def test_requests_without_a_nonce_are_counted_each_time(client, site):
    client.get(f"{URL}?{query(url=STEP)}")
    client.get(f"{URL}?{query(url=STEP)}")

    assert UsageEvent.objects.count() == 2
    assert not UsageEvent.objects.exclude(event_id=None).exists()


def test_the_same_hit_in_two_cities_is_stored_in_each(client, site, site_b):
    client.get(f"{URL}?{query(url=STEP, r='333333')}")
    client.get(f"{URL}?{query(idsite=8, url='https://formulare.giessen.de/', r='333333')}")

    assert UsageEvent.objects.count() == 2


# --- Cookieless tracking ---------------------------------------------------------------------


def test_cookieless_hits_of_one_client_form_one_visit_without_storing_address_or_user_agent(client, site):
    # disableCookies: matomo.js sends an empty _id
    start = PAGE + "/antrag/parken/start"
    client.get(f"{URL}?{query(url=start, _id='', r='1')}", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="198.51.100.7")
    client.get(f"{URL}?{query(url=STEP, _id='', r='2')}", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="198.51.100.7")
    # another client (address) and another browser on the same address: other visits
    client.get(f"{URL}?{query(url=STEP, _id='', r='3')}", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="203.0.113.9")
    client.get(f"{URL}?{query(url=STEP, r='4')}", HTTP_USER_AGENT="curl/8.0", REMOTE_ADDR="198.51.100.7")

    visits = list(UsageEvent.objects.order_by("pk").values_list("visit", flat=True))
    assert len(visits) == 5  # the start page gives two events
    assert None not in visits
    assert visits[0] == visits[1] == visits[2]
    assert len({visits[0], visits[3], visits[4]}) == 3
    stored = json.dumps(list(UsageEvent.objects.values()), default=str)
    for secret in ("198.51.100", "203.0.113", "Firefox", "Gecko", "curl"):
        assert secret not in stored


def test_the_legacy_id_parameter_is_a_visitor_id(client, site):
    client.get(f"{URL}?{query(url=STEP, id='0123456789abcdef', r='1')}", REMOTE_ADDR="198.51.100.7")
    client.get(f"{URL}?{query(url=STEP, id='0123456789abcdef', r='2')}", REMOTE_ADDR="203.0.113.9")

    visits = set(UsageEvent.objects.values_list("visit", flat=True))
    assert len(visits) == 1 and None not in visits


def test_a_server_with_an_api_key_and_no_visitor_id_does_not_merge_its_hits_into_one_visit(client, site, city_a):
    token = key_for(city_a, "analytics:ingest")
    requests = ["?" + query(url=STEP, r="1"), "?" + query(url=STEP, r="2")]
    client.post(URL, data=json.dumps({"requests": requests, "token_auth": token}), content_type="application/json")

    assert list(UsageEvent.objects.values_list("visit", flat=True)) == [None, None]


# --- cdt, bulk reasons, key prefix -----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["{:%Y-%m-%dT%H:%M:%SZ}", "{:%Y-%m-%dT%H:%M:%S+00:00}", "{:%Y-%m-%dT%H:%M:%S}", "{:%Y-%m-%d %H:%M:%S}"],
)
def test_cdt_in_iso_8601_sets_the_time_of_an_authenticated_request(client, site, city_a, text):
    token = key_for(city_a, "analytics:ingest")
    earlier = (timezone.now() - timedelta(hours=5)).astimezone(UTC).replace(microsecond=0)
    body = {"requests": ["?" + query(url=STEP, cdt=text.format(earlier))], "token_auth": token}

    response = client.post(URL, data=json.dumps(body), content_type="application/json")

    assert response.json()["tracked"] == 1
    assert UsageEvent.objects.get().occurred_at == earlier.replace(second=0)  # stored to the minute


def test_cdt_with_an_offset_is_converted(client, site, city_a):
    token = key_for(city_a, "analytics:ingest")
    earlier = (timezone.now() - timedelta(hours=5)).astimezone(UTC).replace(second=0, microsecond=0)
    local = earlier.astimezone(datetime.now().astimezone().tzinfo).isoformat()
    client.post(
        URL,
        data=json.dumps({"requests": ["?" + query(url=STEP, cdt=local)], "token_auth": token}),
        content_type="application/json",
    )

    assert UsageEvent.objects.get().occurred_at == earlier


def test_an_unreadable_cdt_is_refused_with_its_reason(client, site, city_a):
    token = key_for(city_a, "analytics:ingest")
    body = {"requests": ["?" + query(url=STEP, cdt="gestern"), "?" + query(url=STEP)], "token_auth": token}

    answer = client.post(URL, data=json.dumps(body), content_type="application/json").json()

    assert answer["invalid_indices"] == [0]
    assert answer["errors"] == [
        {
            "index": 0,
            "reason": _("The mapped events are invalid."),
            "errors": [{"field": "cdt", "message": "unreadable", "code": "invalid"}],
        }
    ]


def test_the_sending_keys_prefix_is_stored(client, site, city_a):
    token = key_for(city_a, "analytics:ingest")
    client.post(
        URL,
        data=json.dumps({"requests": ["?" + query(url=STEP)], "token_auth": token}),
        content_type="application/json",
    )

    prefix = UsageEvent.objects.get().api_key_prefix
    assert prefix and ApiKey.objects.filter(prefix=prefix, municipality=city_a).exists()
    assert prefix != token and len(prefix) < len(token)


# --- Device classes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        ("Mozilla/5.0 (iPad; CPU OS 12_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", "tablet"),
        ("Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 Chrome/120.0 Safari/537.36", "tablet"),
        ("Mozilla/5.0 (Linux; Android 12; Lenovo TB-X606F) AppleWebKit/537.36 Chrome/118.0 Safari/537.36", "tablet"),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36", "mobile"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", "mobile"),
        (FIREFOX, "desktop"),
    ],
)
def test_user_agents_are_classified(user_agent, expected):
    assert device_class(user_agent) == expected


@pytest.mark.parametrize(
    ("uadata", "expected"),
    [
        ('{"formFactors": ["Tablet"], "platform": "Android"}', "tablet"),
        ('{"formFactors": ["Mobile", "Tablet"]}', "tablet"),
        ('{"formFactors": ["Mobile"]}', "mobile"),
        ('{"formFactors": ["Desktop"], "mobile": false}', "desktop"),
        ('{"mobile": true}', "mobile"),
    ],
)
def test_client_hint_form_factors_win_over_the_user_agent(client, site, uadata, expected):
    # an iPad since iPadOS 13 presents a desktop user agent; Chrome's client hints tell the truth
    ipad_desktop = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15"
    client.get(f"{URL}?{query(url=STEP, uadata=uadata)}", HTTP_USER_AGENT=ipad_desktop)

    assert UsageEvent.objects.get().device_class == expected


def test_broken_client_hints_fall_back_to_the_user_agent(client, site):
    client.get(f"{URL}?{query(url=STEP, uadata='{not json')}", HTTP_USER_AGENT=FIREFOX)

    assert UsageEvent.objects.get().device_class == "desktop"
