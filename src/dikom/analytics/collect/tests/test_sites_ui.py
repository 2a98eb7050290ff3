"""Staff pages under /analytics-erfassung/<slug>/: sites, rules, dry run, snippet; access and audit."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.analytics.collect.mapping import UnsafePattern, compile_safe
from dikom.analytics.collect.models import CollectionSite, MatomoRule
from dikom.analytics.models import UsageEvent
from dikom.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

BASE = "/analytics-erfassung/fulda/"


@pytest.fixture
def analyst(city_a):
    return MembershipFactory(user__username="analyst", municipality=city_a, role=Role.ANALYST).user


def rule_form(**fields):
    data = {
        "position": 10,
        "match_on": "url_prefix",
        "pattern": "/antrag/",
        "service_key": "anwohnerparken",
        "event_type": "step_viewed",
        "step_key": "start",
        "stop": "on",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("who", ["owner", "analyst"])
def test_owner_and_analyst_create_a_site_and_a_rule(client, login, who, request, city_a):
    login(client, request.getfixturevalue(who))

    response = client.post(
        BASE + "neu/",
        {
            "name": "Formularserver",
            "matomo_idsite": "12",
            "allowed_origins": "https://Formulare.Fulda.de/\nhttps://x.example:8443",
            "enabled": "on",
        },
    )

    site = CollectionSite.objects.get()
    assert response.status_code == 302
    assert site.municipality == city_a
    assert site.allowed_origins == ["https://formulare.fulda.de", "https://x.example:8443"]
    page = client.get(f"{BASE}{site.site_id}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert f'data-site="{site.site_id}"' in text.replace("&quot;", '"') or site.site_id in text
    assert "/analytics-erfassung/collect.js" in text

    response = client.post(f"{BASE}{site.site_id}/regeln/neu/", rule_form())
    assert response.status_code == 302
    assert MatomoRule.objects.get().site == site
    actions = list(AuditEvent.objects.filter(municipality=city_a).values_list("action", flat=True))
    assert "analytics.collect.site.create" in actions
    assert "analytics.collect.rule.create" in actions


def test_edit_and_delete_are_audited(client, login, owner, site, city_a):
    login(client, owner)
    rule = site.rules.first()
    for page in (
        "bearbeiten/",
        "loeschen/",
        f"regeln/{rule.pk}/bearbeiten/",
        f"regeln/{rule.pk}/loeschen/",
        "regeln/neu/",
        "testen/",
    ):
        assert client.get(f"{BASE}{site.site_id}/{page}").status_code == 200, page

    client.post(
        f"{BASE}{site.site_id}/bearbeiten/",
        {"name": "Neuer Name", "matomo_idsite": "7", "allowed_origins": "https://formulare.fulda.de"},
    )
    client.post(f"{BASE}{site.site_id}/regeln/{rule.pk}/bearbeiten/", rule_form(pattern="/neu/"))
    client.post(f"{BASE}{site.site_id}/regeln/{rule.pk}/loeschen/")

    site.refresh_from_db()
    assert site.name == "Neuer Name"
    assert site.enabled is False
    update = AuditEvent.objects.get(action="analytics.collect.site.update")
    assert update.changes["name"] == ["Formularserver Fulda", "Neuer Name"]
    assert AuditEvent.objects.get(action="analytics.collect.rule.update").changes["pattern"] == [
        "/antrag/parken/start",
        "/neu/",
    ]
    assert AuditEvent.objects.filter(action="analytics.collect.rule.delete").exists()
    assert not site.rules.filter(pk=rule.pk).exists()

    client.post(f"{BASE}{site.site_id}/loeschen/")
    assert not CollectionSite.objects.exists()
    assert AuditEvent.objects.filter(action="analytics.collect.site.delete", municipality=city_a).exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"match_on": "url_regex", "pattern": "(a+)+$"},
            "pattern",
            "Nested repetitions such as (a+)+ are not allowed.",
        ),
        ({"match_on": "url_regex", "pattern": "/antrag/(["}, "pattern", None),
        (
            {"match_on": "url_prefix", "pattern": "antrag"},
            "pattern",
            "A path prefix starts with “/”, e.g. /antrag/parken/.",
        ),
        ({"event_type": "payment_chosen"}, "payment_method", "Payment events need a payment method."),
        (
            {"match_on": "event", "pattern": ""},
            "event_category",
            "Enter at least one of event category, action or name.",
        ),
        ({"match_on": "dimension", "pattern": ""}, "dimension_index", "Enter the number of the custom dimension."),
        ({"event_category": "Antrag"}, "event_category", "Leave this empty: the rule does not match on it."),
    ],
)
def test_rule_validation_errors_are_shown_in_the_users_language(client, login, owner, site, fields, field, message):
    login(client, owner)

    response = client.post(f"{BASE}{site.site_id}/regeln/neu/", rule_form(**fields), HTTP_ACCEPT_LANGUAGE="de")

    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    if message is not None:
        with translation.override("de"):
            assert errors == [translation.gettext(message)]
        assert translation.gettext(message) in response.content.decode().replace("&quot;", '"').replace("&#x27;", "'")
    assert MatomoRule.objects.filter(site=site).count() == 7


@pytest.mark.parametrize("pattern", ["(a+)+", "(a*)*b", "(a|aa)*", r"(\w+\s?)+$", "(.*){2,}", r"(a)\1"])
def test_catastrophic_patterns_are_refused(pattern):
    with pytest.raises(UnsafePattern):
        compile_safe(pattern)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(pattern=st.text(alphabet="ab()|*+?.[]{}1,\\/^$-", max_size=30))
def test_any_pattern_is_either_refused_or_compiles(pattern):
    try:
        compiled = compile_safe(pattern)
    except UnsafePattern:
        return
    compiled.fullmatch("a" * 40 + "!")  # bounded input, no nested repetition: returns quickly


def test_dry_run_shows_the_events_and_stores_nothing(client, login, owner, site):
    login(client, owner)
    sample = "?" + urlencode({"idsite": 7, "rec": 1, "url": "https://formulare.fulda.de/antrag/parken/start"})

    response = client.get(f"{BASE}{site.site_id}/testen/?{urlencode({'request': sample})}")

    assert response.status_code == 200
    produced = response.context["result"]["produced"]
    assert [(p["event"]["type"], p["event"].get("step_key")) for p in produced] == [
        ("service_started", None),
        ("step_viewed", "start"),
    ]
    assert all(not p["errors"] for p in produced)
    assert not UsageEvent.objects.exists()


def test_unmatched_counter_is_shown(client, login, owner, site):
    client.get("/matomo.php?" + urlencode({"idsite": 7, "rec": 1, "url": "https://formulare.fulda.de/impressum"}))
    login(client, owner)

    listing = client.get(BASE)
    detail = client.get(f"{BASE}{site.site_id}/")

    assert listing.context["sites"][0].unmatched_recent == 1
    assert detail.context["unmatched"][0].count == 1


def test_caseworker_and_other_cities_are_refused(client, login, colleague, outsider, site, site_b):
    login(client, colleague)
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}{site.site_id}/").status_code == 403
    assert client.post(BASE + "neu/", {"name": "x"}).status_code == 403

    client.logout()
    login(client, outsider)
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}{site.site_id}/").status_code == 403
    assert client.post(f"{BASE}{site.site_id}/loeschen/").status_code == 403
    # Gießen's admin addressing Fulda's site under Gießen's slug: as if it did not exist
    assert client.get(f"/analytics-erfassung/giessen/{site.site_id}/").status_code == 404
    assert client.get(f"/analytics-erfassung/giessen/{site_b.site_id}/").status_code == 200
    assert CollectionSite.objects.count() == 2


def test_owner_cannot_reach_another_citys_rule_through_own_site(client, login, owner, site, site_b):
    login(client, owner)
    foreign_rule = site_b.rules.get()

    response = client.get(f"{BASE}{site.site_id}/regeln/{foreign_rule.pk}/bearbeiten/")

    assert response.status_code == 404


def test_anonymous_is_sent_to_login(client, site):
    response = client.get(BASE)

    assert response.status_code == 302
    assert "/konto/" in response["Location"]


def test_duplicate_matomo_idsite_is_refused(client, login, owner, site_b):
    login(client, owner)

    response = client.post(BASE + "neu/", {"name": "Zweiter", "matomo_idsite": "8", "allowed_origins": ""})

    assert response.status_code == 200
    assert "matomo_idsite" in response.context["form"].errors
