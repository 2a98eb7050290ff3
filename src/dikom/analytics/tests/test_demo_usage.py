"""The demo cooperation's generated usage data: stored through the ingestion path, rolled up,
shared and published once, idempotent and topped up on a later day."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from dikom.analytics import actions
from dikom.analytics.demo import COMMENTS, PARTICIPATING, load_demo_usage
from dikom.analytics.generator import CITIES, SERVICES, Generator
from dikom.analytics.metrics import service_summary
from dikom.analytics.models import PendingRollup, Service, ServiceDailyStats, UsageEvent
from dikom.analytics.rollups import local_zone
from dikom.analytics.sharing import actions as sharing_actions
from dikom.analytics.sharing.models import ComparisonShare, OpenDataPublication
from dikom.demo.actions import load_demo_cooperation
from dikom.municipalities.models import Municipality

pytestmark = pytest.mark.django_db

PASSWORD = "Demo-Passwort-123"


@pytest.fixture
def until():
    return timezone.now().astimezone(local_zone()).date() - timedelta(days=5)


@pytest.fixture
def cooperation():
    load_demo_cooperation(password=PASSWORD)


def generated(since, until):
    """What the generator yields for the six cities, counted independently of dikom."""
    events = list(Generator(seed=1).events(since, until))
    return events, Counter((e["event_id"].split("-")[1], e["service"], e["type"]) for e in events)


def test_demo_usage_is_stored_rolled_up_shared_and_published(cooperation, until):
    result = load_demo_usage(days=3, until=until, whole_months=False)

    since = until - timedelta(days=2)
    events, counts = generated(since, until)
    assert result.days == (since, until)
    assert result.services_created == len(CITIES) * len(SERVICES)
    assert result.events_rejected == 0
    assert result.events_stored == len(events) == UsageEvent.objects.count()
    # Rolled up at once: no marker is left for the worker, every day of every city has rollups.
    assert not PendingRollup.objects.exists()
    assert ServiceDailyStats.objects.filter(day=since).values("municipality").distinct().count() == len(CITIES)

    marburg = Municipality.objects.get(slug="marburg")
    for spec in SERVICES:
        service = Service.objects.get(municipality=marburg, external_key=spec.key)
        assert service.leika_key == spec.leika
        figures = service_summary(
            municipality_id=marburg.pk, service_id=service.pk, since=since, until=until + timedelta(days=1)
        )
        assert figures["starts"] == counts[marburg.ags, spec.key, "service_started"]
        assert figures["completions"] == counts[marburg.ags, spec.key, "submitted"]
        assert figures["feedback_count"] == counts[marburg.ags, spec.key, "feedback"]

    # Comments are the invented ones, with the contact data scrubbed before storage.
    comments = set(UsageEvent.objects.exclude(comment="").values_list("comment", flat=True))
    assert comments
    assert all(not re.search(r"@|\d{4}", comment) for comment in comments)
    assert comments <= {c for c in COMMENTS if not re.search(r"@|\d{4}", c)} | {
        "Rufen Sie mich gern an: [Telefonnummer entfernt]",
        "Ich hätte gern eine Bestätigung per E-Mail an [E-Mail entfernt] bekommen.",
    }

    shared = set(ComparisonShare.objects.values_list("service__municipality__slug", flat=True))
    assert shared == set(PARTICIPATING)
    published = set(OpenDataPublication.objects.filter(enabled=True).values_list("municipality__slug", flat=True))
    assert published == set(PARTICIPATING)
    assert "limburg" not in shared | published


def test_loading_again_stores_nothing_twice_and_keeps_what_users_switched_off(cooperation, until):
    load_demo_usage(days=2, until=until, whole_months=False)
    fulda = Municipality.objects.get(slug="fulda")
    service = Service.objects.get(municipality=fulda, external_key="sperrmuell")
    sharing_actions.disable_share(service=service, actor=None)
    sharing_actions.set_open_data_publication(municipality=fulda, enabled=False, actor=None)
    stored = UsageEvent.objects.count()
    rollups = list(ServiceDailyStats.objects.order_by("pk").values_list("pk", "built_at"))

    again = load_demo_usage(days=2, until=until, whole_months=False)

    assert (again.services_created, again.events_stored) == (0, 0)
    assert UsageEvent.objects.count() == stored
    assert Service.objects.filter(municipality=fulda).count() == len(SERVICES)
    assert not ComparisonShare.objects.filter(service=service).exists()
    assert not OpenDataPublication.objects.get(municipality=fulda).enabled
    # Nothing new was stored, so nothing was marked or rebuilt.
    assert list(ServiceDailyStats.objects.order_by("pk").values_list("pk", "built_at")) == rollups


def test_a_later_run_adds_the_days_since_the_newest_demo_event(cooperation, until):
    load_demo_usage(days=2, until=until - timedelta(days=2), whole_months=False)

    later = load_demo_usage(days=4, until=until, whole_months=False)

    events, _counts = generated(until - timedelta(days=3), until)
    first_run = len(list(Generator(seed=1).events(until - timedelta(days=3), until - timedelta(days=2))))
    assert UsageEvent.objects.count() == len(events)
    assert later.events_stored == len(events) - first_run
    assert not PendingRollup.objects.exists()


def test_a_rollup_task_without_marker_has_nothing_to_do(cooperation, until):
    load_demo_usage(days=1, until=until, whole_months=False)
    city = Municipality.objects.get(slug="giessen")
    built = set(ServiceDailyStats.objects.filter(municipality=city).values_list("pk", "built_at"))

    assert actions.rebuild_pending(city.pk, until) is False

    assert set(ServiceDailyStats.objects.filter(municipality=city).values_list("pk", "built_at")) == built


def test_by_default_the_period_starts_on_the_first_of_its_month(cooperation, until):
    result = load_demo_usage(days=1, until=until.replace(day=2))

    assert result.days == (until.replace(day=1), until.replace(day=2))
    assert result.events_stored == len(list(Generator(seed=1).events(*result.days)))


def test_load_demo_command_reports_the_usage_data(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.DIKOM_DEMO = True
    out = StringIO()

    call_command("load_demo", usage_days=1, stdout=out)

    assert "Nutzungsdaten (generierte Demo-Daten)" in out.getvalue()
    assert "Erfassungsstelle (Demo)" in out.getvalue() and "Matomo-idsite 1" in out.getvalue()
    assert UsageEvent.objects.filter(municipality__slug="wetzlar").exists()
    assert not Service.objects.filter(municipality__slug="frankfurt", external_key="sperrmuell").exists()
