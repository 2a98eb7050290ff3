"""Incremental rollups equal a full rebuild; one update per city-day per interval; full rebuilds stay.

The property test stores random event streams in random batches, lets some
batches become visible after later ones (as PostgreSQL transactions commit out
of id order), updates the rollups incrementally after each step and compares
every rollup row with the reference: ``rollups.compute_daily_stats``, the SQL
aggregation over all events of the day.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dikom.analytics import actions
from dikom.analytics.metrics import ROLLUP_FIELDS
from dikom.analytics.models import PendingRollup, RollupState, Service, ServiceDailyStats, UsageEvent
from dikom.analytics.rollups import compute_daily_stats
from dikom.analytics.tests.conftest import at, local_day, run_worker

pytestmark = pytest.mark.django_db

TYPES = [
    "service_started",
    "step_viewed",
    "step_completed",
    "submitted",
    "aborted",
    "auth_chosen",
    "auth_completed",
    "payment_chosen",
    "payment_completed",
    "payment_failed",
    "transmission_error",
    "feedback",
]
# 0, 1: registered services; the others: unassigned keys (one with a character group keys must survive).
SERVICES = ["anwohnerparken", "hundesteuer", "sperrmuell", "a|b"]

event = st.fixed_dictionaries(
    {
        # Weighted so that visits often have several starts, submissions and steps in one group.
        "type": st.sampled_from([*TYPES, *["service_started", "submitted"] * 3, "step_viewed", "step_completed"]),
        "service": st.sampled_from([0] * 10 + [1, 2, 3]),
        "channel": st.sampled_from(["web"] * 10 + ["app_ios"]),
        "visit": st.sampled_from(["v1", "v2", None]),
        "step_key": st.sampled_from(["", "antrag", "angaben", "zahlung"]),
        "step_position": st.none() | st.integers(1, 4),
        "auth_method": st.sampled_from(["", "bundid", "eid"]),
        "payment_method": st.sampled_from(["", "paypal", "giropay"]),
        "device_class": st.sampled_from(["", "", "desktop", "mobile"]),
        "rating": st.none() | st.integers(1, 5),
        # Mostly within two hours (journeys of minutes fall into distinct completion-time buckets),
        # some anywhere and some on the neighbouring days (the day's bounds must hold).
        "minute": st.integers(0, 120) | st.integers(-20, 24 * 60 + 20),
        "second": st.sampled_from([0, 0, 0, 17]),
    }
)
# A batch: how many of the next events it holds, and how many steps late it becomes visible (its
# transaction commits after those of later batches, which got higher ids).
batch = st.tuples(st.integers(1, 5), st.integers(0, 2))
stream = st.tuples(
    st.lists(event, min_size=15, max_size=60),
    st.lists(batch, min_size=1, max_size=14),
    st.lists(st.booleans(), min_size=16, max_size=16),  # per step: skip the update this time
    st.integers(-1, 15),  # the step after which a full rebuild runs (-1: none)
)


def rows_of_day(municipality_id, day) -> dict:
    return {
        (row["service_id"], row["service_key"], row["channel"]): {k: row[k] for k in ROLLUP_FIELDS}
        for row in ServiceDailyStats.objects.filter(municipality_id=municipality_id, day=day).values(
            "service_id", "service_key", "channel", *ROLLUP_FIELDS
        )
    }


def reference(municipality_id, day) -> dict:
    return {
        key: {k: stats[k] for k in ROLLUP_FIELDS} for key, stats in compute_daily_stats(municipality_id, day).items()
    }


def stored(city, services, base, number, item) -> UsageEvent:
    index = item["service"]
    service = services[index] if index < len(services) else None
    return UsageEvent(
        pk=1000 + number,
        municipality=city,
        service=service,
        service_key=SERVICES[index],
        type=item["type"],
        occurred_at=base + timedelta(minutes=item["minute"], seconds=item["second"]),
        received_at=base,
        visit=item["visit"],
        step_key=item["step_key"],
        step_position=item["step_position"],
        auth_method=item["auth_method"],
        payment_method=item["payment_method"],
        channel=item["channel"],
        device_class=item["device_class"],
        rating=item["rating"],
    )


def run_stream(city, services, drawn, *, in_commit_order: bool) -> None:
    events, batches, skips, full_after = drawn
    UsageEvent.objects.filter(municipality=city).delete()
    RollupState.objects.filter(municipality=city).delete()
    ServiceDailyStats.objects.filter(municipality=city).delete()
    base = local_day(days_ago=1)
    day = base.date()
    # Ids are handed out in stream order; a late batch becomes visible up to two steps after its turn,
    # so the commit lag is two steps: every id seen at a step is committed two steps later.
    steps: dict[int, list[UsageEvent]] = {}
    number = 0
    # Events left over after the drawn batches form one more batch.
    batches = [*batches, (len(events), 0)]
    for index, (size, late) in enumerate(batches):
        chunk = events[number : number + size]
        rows = [stored(city, services, base, number + offset, item) for offset, item in enumerate(chunk)]
        number += len(chunk)
        steps.setdefault(index + (0 if in_commit_order else late), []).extend(rows)
    steps.setdefault(len(batches) + 2, [])
    interval = timedelta(seconds=10)
    clock = timezone.now()
    with override_settings(DIKOM_ANALYTICS_ROLLUP_COMMIT_LAG_SECONDS=20):
        for step in range(max(steps) + 1):
            UsageEvent.objects.bulk_create(steps.get(step, []))
            clock += interval
            last = step == max(steps)
            if skips[step % len(skips)] and not last:
                continue
            actions.update_daily_stats(city.pk, day, now=clock, ids_in_commit_order=in_commit_order)
            assert rows_of_day(city.pk, day) == reference(city.pk, day), f"after step {step}"
            if step == full_after:
                actions.rebuild_daily_stats(city.pk, day)
                assert not RollupState.objects.filter(municipality=city).exists()


@pytest.fixture
def services(city_a):
    return [
        Service.objects.create(municipality=city_a, name="Parken", external_key=SERVICES[0]),
        Service.objects.create(municipality=city_a, name="Hundesteuer", external_key=SERVICES[1]),
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=stream)
def test_incremental_equals_a_full_rebuild_with_out_of_order_commits(city_a, services, drawn):
    run_stream(city_a, services, drawn, in_commit_order=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=stream)
def test_incremental_equals_a_full_rebuild_when_ids_commit_in_order(city_a, services, drawn):
    run_stream(city_a, services, drawn, in_commit_order=True)


def test_distinct_visits_are_not_summed_across_updates(city_a, services):
    # Given one visit whose events arrive in three updates
    day = local_day(days_ago=1)
    base = {"municipality": city_a, "service": services[0], "service_key": SERVICES[0], "received_at": day}
    visit = {**base, "visit": "v1", "device_class": "mobile"}
    UsageEvent.objects.create(type="service_started", occurred_at=day + timedelta(minutes=10), **visit)
    actions.update_daily_stats(city_a.pk, day.date())
    UsageEvent.objects.create(
        type="step_viewed", step_key="antrag", step_position=1, occurred_at=day + timedelta(minutes=11), **visit
    )
    UsageEvent.objects.create(
        type="step_viewed", step_key="antrag", step_position=1, occurred_at=day + timedelta(minutes=12), **visit
    )
    actions.update_daily_stats(city_a.pk, day.date())
    UsageEvent.objects.create(type="submitted", occurred_at=day + timedelta(minutes=14), **visit)
    UsageEvent.objects.create(type="service_started", occurred_at=day + timedelta(minutes=20), **base)  # no visit key
    actions.update_daily_stats(city_a.pk, day.date())

    # Then the visit counts once, its step once, its device once, and its journey took 4 minutes
    row = ServiceDailyStats.objects.get(municipality=city_a, day=day.date())
    assert (row.visits, row.starts, row.completions) == (2, 2, 1)
    assert row.funnel == {"antrag": {"position": 1, "viewed": 1, "completed": 0, "aborted": 0}}
    assert row.device_mix == {"mobile": 1, "unknown": 1}
    assert row.completion_seconds == {"240": 1}
    assert rows_of_day(city_a.pk, day.date()) == reference(city_a.pk, day.date())


def test_an_update_reads_only_new_events(city_a, services, django_assert_max_num_queries):
    day = local_day(days_ago=0)
    common = {"municipality": city_a, "service": services[0], "service_key": SERVICES[0], "received_at": day}
    UsageEvent.objects.bulk_create(
        [UsageEvent(type="service_started", occurred_at=day + timedelta(minutes=i), **common) for i in range(50)]
    )
    assert actions.update_daily_stats(city_a.pk, day.date()) == 50
    UsageEvent.objects.create(type="submitted", occurred_at=day + timedelta(minutes=51), **common)

    assert actions.update_daily_stats(city_a.pk, day.date()) == 1
    assert actions.update_daily_stats(city_a.pk, day.date()) == 0
    assert ServiceDailyStats.objects.get(day=day.date()).completions == 1


def test_days_before_yesterday_are_rebuilt_in_full_and_keep_no_state(city_a, services):
    day = local_day(days_ago=3)
    UsageEvent.objects.create(
        municipality=city_a,
        service=services[0],
        service_key=SERVICES[0],
        type="service_started",
        occurred_at=day + timedelta(hours=9),
        received_at=day,
    )

    assert actions.update_daily_stats(city_a.pk, day.date()) == -1
    assert not RollupState.objects.exists()
    assert ServiceDailyStats.objects.get(day=day.date()).starts == 1


@override_settings(DIKOM_ANALYTICS_ROLLUP_INTERVAL_SECONDS=60)
def test_at_most_one_update_per_city_day_and_interval(send, parking, city_a):
    day = local_day(days_ago=0)
    start = {"type": "service_started", "service": "anwohnerparken"}

    # Given a first batch: its task runs at once (the key had no update yet)
    send({"events": [{**start, "occurred_at": at(day, 1), "visit_id": "a"}]})
    run_worker()
    assert not PendingRollup.objects.exists()
    assert ServiceDailyStats.objects.get(day=day.date()).starts == 1

    # When ten more batches arrive within the interval
    for minute in range(2, 12):
        send({"events": [{**start, "occurred_at": at(day, minute), "visit_id": f"v{minute}"}]})
    run_worker()

    # Then no update ran yet: the one queued task waits until the interval is over
    assert ServiceDailyStats.objects.get(day=day.date()).starts == 1
    waiting = DBTaskResult.objects.filter(status="READY", run_after__gt=timezone.now())
    assert waiting.count() == 1
    ran_at = RollupState.objects.get().ran_at
    assert waiting.get().run_after == ran_at + timedelta(seconds=60)

    # And once the interval is over (moved back here instead of waited for), one update brings in all ten
    RollupState.objects.update(ran_at=ran_at - timedelta(seconds=60))
    waiting.update(run_after=timezone.now())
    run_worker()
    assert ServiceDailyStats.objects.get(day=day.date()).starts == 11
    assert not PendingRollup.objects.exists()


@override_settings(DIKOM_ANALYTICS_ROLLUP_INTERVAL_SECONDS=60)
def test_events_during_an_update_queue_the_next_one_after_the_interval(send, parking, city_a, monkeypatch):
    day = local_day(days_ago=0)
    send({"events": [{"type": "service_started", "service": "anwohnerparken", "occurred_at": at(day, 1)}]})
    real_update = actions.update_daily_stats

    def update_while_a_batch_arrives(municipality_id, updated_day, **kwargs):
        added = real_update(municipality_id, updated_day, **kwargs)
        actions.request_rollups(municipality_id, [updated_day])  # what a concurrent batch does
        return added

    monkeypatch.setattr(actions, "update_daily_stats", update_while_a_batch_arrives)
    run_worker()

    assert PendingRollup.objects.get().version == 2  # kept for the next update
    queued = DBTaskResult.objects.filter(status="READY").get()
    assert queued.run_after is not None and queued.run_after > timezone.now() + timedelta(seconds=50)


def test_assigning_unassigned_events_rebuilds_the_day_in_full(send, city_a, django_capture_on_commit_callbacks):
    day = local_day(days_ago=0)
    send({"events": [{"type": "service_started", "service": "hundesteuer", "occurred_at": at(day, 5)}]})
    run_worker()
    assert RollupState.objects.exists()
    service = Service.objects.create(municipality=city_a, name="Hundesteuer", external_key="hundesteuer")

    with django_capture_on_commit_callbacks(execute=True):
        actions.assign_unassigned(municipality=city_a, service_key="hundesteuer", service=service)
    run_worker()

    row = ServiceDailyStats.objects.get(day=day.date())
    assert (row.service, row.service_key, row.starts) == (service, "", 1)
    assert rows_of_day(city_a.pk, day.date()) == reference(city_a.pk, day.date())


def test_housekeeping_drops_states_of_older_days_and_all_after_coarsening(city_a, services):
    now = timezone.now()
    today, old = local_day(days_ago=0), local_day(days_ago=1)
    for moment in (today, old):
        UsageEvent.objects.create(
            municipality=city_a,
            service=services[0],
            service_key=SERVICES[0],
            type="service_started",
            occurred_at=moment + timedelta(minutes=7),
            received_at=now,
        )
        actions.update_daily_stats(city_a.pk, moment.date())
    assert RollupState.objects.count() == 2

    actions.housekeeping(now=now)  # nothing coarsened: today's and yesterday's states stay
    assert RollupState.objects.count() == 2
    actions.housekeeping(now=now + timedelta(days=2))  # coarsens both days' events, yesterday is old now
    assert not RollupState.objects.exists()


@override_settings(DIKOM_ANALYTICS_ROLLUP_INTERVAL_SECONDS=60)
def test_a_task_whose_marker_is_gone_ends_without_waiting(send, parking, city_a):
    from dikom.analytics.tasks import rebuild_pending_rollup

    day = local_day(days_ago=0)
    send({"events": [{"type": "service_started", "service": "anwohnerparken", "occurred_at": at(day, 1)}]})
    run_worker()  # updated just now, marker cleared

    rebuild_pending_rollup.enqueue(city_a.pk, day.date().isoformat())  # e.g. a second task for the same key
    run_worker()

    assert not DBTaskResult.objects.filter(status="READY").exists()
    assert ServiceDailyStats.objects.get(day=day.date()).starts == 1
