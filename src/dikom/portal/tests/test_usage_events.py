"""Every citizen step lands in the analytics rollups, through the ingestion core."""

from __future__ import annotations

from typing import Any

import pytest

from dikom.lib.testing import english_client, run_task_worker
from dikom.portal.tests.conftest import VALID_IBAN
from dikom.portal.tests.test_journey import PERSON, start, step_url

pytestmark = pytest.mark.django_db(transaction=True)


def test_steps_submission_feedback_and_abort_reach_the_rollups(adoption: Any) -> None:
    from dikom.analytics.models import Service, ServiceDailyStats, UsageEvent

    client = english_client(HTTP_USER_AGENT="Mozilla/5.0 (iPhone; Mobile)")
    application = start(client, adoption)
    client.get(step_url(application, 1))
    client.post(step_url(application, 1), {**PERSON, "f-hat_kinder": "no"})
    client.get(step_url(application, 3))
    client.post(step_url(application, 3), {"f-iban": VALID_IBAN})
    application.refresh_from_db()
    base = f"/portal/{application.municipality.slug}/antrag/{application.uuid}/"
    client.post(base + "zusammenfassung/", {"submission_key": application.submission_key, "action": "submit"})
    client.post(base + "bestaetigung/", {"rating": "4", "comment": "Schnell, Mail an a@b.de"})

    other = start(english_client(), adoption)
    english_client().post(f"/portal/{other.municipality.slug}/antrag/{other.uuid}/abbrechen/")  # not his: 404

    service = Service.objects.get(municipality=adoption.municipality, external_key=adoption.definition.slug)
    assert service.source_system == "portal"
    types = sorted(UsageEvent.objects.values_list("type", flat=True))
    assert types.count("step_viewed") == 2 and types.count("step_completed") == 2
    assert {"service_started", "submitted", "feedback"} <= set(types)
    assert UsageEvent.objects.get(type="feedback").comment.count("@") == 0

    run_task_worker()
    stats = ServiceDailyStats.objects.get(service=service)
    assert stats.starts == 2 and stats.completions == 1
    assert stats.funnel["person"]["completed"] == 1 and stats.funnel["bank"]["viewed"] == 1
    assert stats.device_mix.get("mobile") == 1
    assert stats.rating_count == 1


def test_aborted_event(adoption: Any) -> None:
    from dikom.analytics.models import UsageEvent

    client = english_client()
    application = start(client, adoption)
    client.post(f"/portal/{application.municipality.slug}/antrag/{application.uuid}/abbrechen/")
    assert UsageEvent.objects.filter(type="aborted", step_key="person").count() == 1


def test_event_failures_never_break_the_flow(adoption: Any, monkeypatch: Any) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("analytics down")

    monkeypatch.setattr("dikom.analytics.service.record_usage_events_grouped", broken)
    client = english_client()
    application = start(client, adoption)
    assert client.get(step_url(application, 1)).status_code == 200


def test_no_usage_event_can_be_tied_to_an_application_after_submission_and_salt(adoption: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from dikom.analytics.actions import housekeeping
    from dikom.analytics.models import DailySalt, ServiceDailyStats, UsageEvent
    from dikom.analytics.privacy import visit_key
    from dikom.portal.models import Application

    client = english_client()
    application = start(client, adoption)
    visit_id = application.visit_id
    client.post(step_url(application, 1), {**PERSON, "f-hat_kinder": "no"})
    client.post(step_url(application, 3), {"f-iban": VALID_IBAN})
    application.refresh_from_db()
    base = f"/portal/{application.municipality.slug}/antrag/{application.uuid}/"
    client.post(base + "zusammenfassung/", {"submission_key": application.submission_key, "action": "submit"})
    client.post(base + "bestaetigung/", {"rating": "5"})
    run_task_worker()

    application = Application.objects.get(pk=application.pk)
    assert application.status != "draft" and application.visit_id == ""
    events = list(UsageEvent.objects.all())
    # The journey still counts as one visit from start to submission (completion time measured) ...
    submitted = next(e for e in events if e.type == "submitted")
    assert submitted.visit and submitted.visit == next(e for e in events if e.type == "service_started").visit
    assert sum(ServiceDailyStats.objects.get(service__isnull=False).completion_seconds.values()) == 1
    # ... but nothing the application keeps hashes to a stored key, and the salt is gone after its 48 hours.
    values = [str(v) for v in Application.objects.filter(pk=application.pk).values().get().values() if v]
    salts = [bytes(s) for s in DailySalt.objects.values_list("salt", flat=True)]
    keys = {e.visit for e in events}
    assert not {visit_key(s, application.municipality_id, v) for s in salts for v in values} & keys
    housekeeping(now=timezone.now() + timedelta(days=2))
    assert not DailySalt.objects.exists()
    assert visit_id not in values
    for event in events:
        assert event.occurred_at.second == 0 and event.occurred_at.microsecond == 0
        assert event.event_id is None
