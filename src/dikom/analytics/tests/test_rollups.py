"""Daily rollups and the usage summary: a small hand-computed example, rebuilds, isolation between cities."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from dikom.analytics.models import PendingRollup, Service, ServiceDailyStats, UsageEvent
from dikom.analytics.tests.conftest import at, auth, key_for, local_day, run_worker

pytestmark = pytest.mark.django_db

SUMMARY_URL = "/api/v1/analytics/summary"


def journey_events(base):
    """Three visits of the parking service on one local day (hand-computed figures below).

    - A starts, logs in with BundID, views and completes steps 1-3, pays by PayPal, submits after 4 minutes
      and rates 5 ("Danke, mail@example.org");
    - B starts, views and completes step 1, views step 2, pays by credit card which fails, aborts at step 2;
      rates 2;
    - C starts on a tablet in the iOS app and only views step 1.
    """
    e = []

    def add(minute, type_, visit, **extra):
        e.append(
            {"type": type_, "service": "anwohnerparken", "occurred_at": at(base, minute), "visit_id": visit, **extra}
        )

    add(600, "service_started", "A", device_class="desktop")
    add(600.5, "auth_chosen", "A", auth_method="bundid")
    add(601, "auth_completed", "A", auth_method="bundid")
    for position, step in enumerate(["antrag", "fahrzeug", "zahlung"], start=1):
        add(601 + position, "step_viewed", "A", step_key=step, step_position=position)
        add(601.5 + position, "step_completed", "A", step_key=step, step_position=position)
    add(603.5, "payment_chosen", "A", payment_method="paypal")
    add(603.6, "payment_completed", "A", payment_method="paypal")
    add(604, "submitted", "A")
    add(605, "feedback", "A", rating=5, comment="Danke, mail@example.org")

    add(700, "service_started", "B", device_class="mobile")
    add(701, "step_viewed", "B", step_key="antrag", step_position=1)
    add(702, "step_completed", "B", step_key="antrag", step_position=1)
    add(703, "step_viewed", "B", step_key="fahrzeug", step_position=2)
    add(703.5, "payment_chosen", "B", payment_method="creditcard")
    add(703.6, "payment_failed", "B", payment_method="creditcard")
    add(704, "aborted", "B", step_key="fahrzeug")
    add(705, "feedback", "B", rating=2)
    add(705.5, "transmission_error", "B")

    add(800, "service_started", "C", channel="app_ios", device_class="tablet")
    add(801, "step_viewed", "C", step_key="antrag", step_position=1, channel="app_ios", device_class="tablet")
    return e


@pytest.fixture
def day():
    return local_day(days_ago=2)


@pytest.fixture
def ingested(send, parking, day):
    response = send({"events": journey_events(day)})
    assert response.json()["accepted"] == 24, response.content
    run_worker()
    return parking


def summary(client, token, service, since, until, **params):
    query = {"service": str(service.uuid), "from": since.isoformat(), "to": until.isoformat(), **params}
    return client.get(SUMMARY_URL, query, **auth(token))


def test_rollups_match_the_hand_computed_example(ingested, day):
    web = ServiceDailyStats.objects.get(service=ingested, day=day.date(), channel="web")
    app = ServiceDailyStats.objects.get(service=ingested, day=day.date(), channel="app_ios")

    assert (web.visits, web.starts, web.completions, web.aborts) == (2, 2, 1, 1)
    assert (app.visits, app.starts, app.completions) == (1, 1, 0)
    assert web.funnel["antrag"] == {"position": 1, "viewed": 2, "completed": 2, "aborted": 0}
    assert web.funnel["fahrzeug"] == {"position": 2, "viewed": 2, "completed": 1, "aborted": 1}
    assert web.funnel["zahlung"] == {"position": 3, "viewed": 1, "completed": 1, "aborted": 0}
    assert app.funnel == {"antrag": {"position": 1, "viewed": 1, "completed": 0, "aborted": 0}}
    assert web.auth_mix == {"bundid": {"chosen": 1, "completed": 1}}
    assert web.payment_mix == {
        "paypal": {"chosen": 1, "completed": 1, "failed": 0},
        "creditcard": {"chosen": 1, "completed": 0, "failed": 1},
    }
    assert web.device_mix == {"desktop": 1, "mobile": 1}
    assert app.device_mix == {"tablet": 1}
    assert (web.rating_sum, web.rating_count, web.rating_histogram) == (7, 2, {"5": 1, "2": 1})
    assert (web.feedback_count, web.transmission_errors) == (2, 1)
    assert web.completion_seconds == {"240": 1}


def test_summary_from_rollups(client, ingested, day, read_token):
    response = summary(client, read_token, ingested, day.date(), day.date())

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["service"]["leika_key"] == "99106001010000"
    assert (data["visits"], data["starts"], data["completions"], data["aborts"]) == (3, 3, 1, 1)
    assert data["conversion_rate"] == round(1 / 3, 4)
    assert data["abandonment_rate"] == round(2 / 3, 4)
    funnel = {step["step_key"]: step for step in data["funnel"]}
    assert [step["step_key"] for step in data["funnel"]] == ["antrag", "fahrzeug", "zahlung"]
    # 3 viewed step 1, 2 reached step 2 (C dropped), 1 reached step 3 (B dropped), 1 submitted.
    assert [(funnel[k]["viewed"], funnel[k]["drop_off"]) for k in ("antrag", "fahrzeug", "zahlung")] == [
        (3, 1),
        (2, 1),
        (1, 0),
    ]
    assert funnel["fahrzeug"]["aborted"] == 1
    assert data["authentication"] == [{"key": "bundid", "count": 1, "share": 1.0, "chosen": 1}]
    assert data["payment"]["failure_rate"] == 0.5
    methods = {m["key"]: m for m in data["payment"]["methods"]}
    assert methods["paypal"]["share"] == 1.0 and methods["creditcard"]["failure_rate"] == 1.0
    assert {c["key"]: c["count"] for c in data["channels"]} == {"web": 2, "app_ios": 1}
    assert {d["key"]: d["count"] for d in data["devices"]} == {"desktop": 1, "mobile": 1, "tablet": 1}
    assert data["satisfaction"] == {
        "average": 3.5,
        "count": 2,
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1},
    }
    assert data["feedback_count"] == 2
    assert data["transmission_errors"] == 1
    assert data["completion_time"]["count"] == 1
    assert 240 <= data["completion_time"]["median_seconds"] <= 270
    buckets = {b["from_seconds"]: b["count"] for b in data["completion_time"]["histogram"]}
    assert buckets[180] == 1 and sum(buckets.values()) == 1


def test_summary_filters_by_channel(client, ingested, day, read_token):
    data = summary(client, read_token, ingested, day.date(), day.date(), channel="app_ios").json()

    assert (data["visits"], data["starts"], data["completions"]) == (1, 1, 0)


def test_summary_needs_no_raw_events(client, ingested, day, read_token):
    before = summary(client, read_token, ingested, day.date(), day.date()).json()

    UsageEvent.objects.all().delete()

    assert summary(client, read_token, ingested, day.date(), day.date()).json() == before


def test_summary_outside_the_period_is_empty(client, ingested, day, read_token):
    data = summary(client, read_token, ingested, day.date() + timedelta(days=1), day.date() + timedelta(days=1)).json()

    assert (data["visits"], data["starts"], data["conversion_rate"], data["funnel"]) == (0, 0, None, [])


def test_rebuild_is_idempotent_and_the_command_rebuilds_from_raw_events(ingested, day, city_a):
    before = list(ServiceDailyStats.objects.order_by("channel").values("channel", "visits", "funnel", "payment_mix"))
    ServiceDailyStats.objects.all().delete()

    call_command("analytics_rebuild", municipality=city_a.ags, since=day.date(), until=day.date(), stdout=None)
    call_command("analytics_rebuild", stdout=None)

    after = list(ServiceDailyStats.objects.order_by("channel").values("channel", "visits", "funnel", "payment_mix"))
    assert after == before


def test_one_task_per_touched_day_and_batch(send, parking, day):
    next_day = {"type": "service_started", "service": "anwohnerparken", "occurred_at": at(day, 60 * 24 + 60)}
    events = [*journey_events(day), next_day]

    send({"events": events})

    assert DBTaskResult.objects.count() == 2  # two local days, not one task per event
    send({"events": events[:3]})
    assert DBTaskResult.objects.count() == 2  # the day is still marked: no new task, the marker's version grows
    assert PendingRollup.objects.get(day=day.date()).version == 2
    run_worker()
    assert not PendingRollup.objects.exists()
    assert ServiceDailyStats.objects.get(day=day.date(), channel="web").starts == 3  # 2 + the re-sent start


def test_events_arriving_during_a_rebuild_trigger_another_one(send, parking, day, city_a, monkeypatch):
    from dikom.analytics import actions

    send({"events": journey_events(day)[:1]})
    real_update = actions.update_daily_stats

    def update_while_a_batch_arrives(municipality_id, updated_day):
        real_update(municipality_id, updated_day)
        actions.request_rollups(municipality_id, [updated_day])  # what a concurrent batch does

    monkeypatch.setattr(actions, "update_daily_stats", update_while_a_batch_arrives)
    assert actions.rebuild_pending(city_a.pk, day.date()) is True  # marker kept: run again
    assert PendingRollup.objects.get().version == 2

    monkeypatch.setattr(actions, "update_daily_stats", real_update)
    assert actions.rebuild_pending(city_a.pk, day.date()) is False
    assert not PendingRollup.objects.exists()


def test_another_citys_key_gets_404_for_a_service_uuid(client, ingested, day, city_b):
    token = key_for(city_b, "analytics:read")

    response = summary(client, token, ingested, day.date(), day.date())

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_summary_needs_the_read_scope(client, ingested, day, ingest_token):
    response = summary(client, ingest_token, ingested, day.date(), day.date())

    assert response.status_code == 403
    assert "analytics:read" in response.json()["detail"]


@pytest.mark.parametrize(
    "params",
    [{"from": "2025-02-01", "to": "2025-01-01"}, {"from": "gestern", "to": "2025-01-01"}, {"service": "nope"}],
)
def test_summary_rejects_bad_parameters(client, parking, read_token, params):
    query = {"service": str(parking.uuid), "from": "2025-01-01", "to": "2025-01-31", **params}

    response = client.get(SUMMARY_URL, query, **auth(read_token))

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_analysts_read_the_summary_with_their_session(client, login, ingested, day, city_a, city_b):
    from dikom.accounts.roles import Role
    from dikom.accounts.tests.factories import MembershipFactory

    analyst = MembershipFactory(user__username="analyst", municipality=city_a, role=Role.ANALYST).user
    login(client, analyst)
    query = {"service": str(ingested.uuid), "from": day.date().isoformat(), "to": day.date().isoformat()}

    mine = client.get(SUMMARY_URL, {**query, "municipality": city_a.ags})
    other = client.get(SUMMARY_URL, {**query, "municipality": city_b.ags})

    assert mine.status_code == 200 and mine.json()["starts"] == 3
    assert other.status_code == 403


def test_caseworkers_may_not_read_usage_figures(client, login, colleague, ingested, day, city_a):
    login(client, colleague)
    query = {"service": str(ingested.uuid), "from": day.date().isoformat(), "to": day.date().isoformat()}

    assert client.get(SUMMARY_URL, {**query, "municipality": city_a.ags}).status_code == 403


def test_unassigned_events_roll_up_under_their_key(send, day, city_a):
    send({"events": [{"type": "service_started", "service": "hundesteuer", "occurred_at": at(day, 60)}]})
    run_worker()

    row = ServiceDailyStats.objects.get()
    assert (row.service, row.service_key, row.starts) == (None, "hundesteuer", 1)
    assert Service.objects.count() == 0
