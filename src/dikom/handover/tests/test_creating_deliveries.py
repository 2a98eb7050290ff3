"""Which deliveries a submission creates: once per active target that takes the service, never twice."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest

from dikom.handover import actions
from dikom.handover.models import Delivery
from dikom.handover.tests.conftest import make_target, queued_attempts
from dikom.portal.models import Application
from dikom.portal.signals import application_submitted

pytestmark = pytest.mark.django_db


def test_the_same_signal_twice_creates_one_delivery(
    local_targets: Any, submit: Any, adoption: Any, owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    target = make_target(adoption.municipality, owner, url="http://127.0.0.1:9/").target
    application = submit(adoption, with_file=False)
    assert Delivery.objects.filter(application=application, target=target).count() == 1
    assert queued_attempts().count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        results = application_submitted.send_robust(sender=Application, application=application)
    assert all(not isinstance(result, Exception) for _receiver, result in results)

    assert Delivery.objects.filter(application=application).count() == 1
    assert queued_attempts().count() == 1  # and no second attempt queued


def test_service_filter_and_active_flag_choose_the_targets(
    local_targets: Any, submit: Any, adoption: Any, owner: Any, city_b: Any, outsider: Any
) -> None:
    slug = adoption.definition.slug
    everything = make_target(adoption.municipality, owner, name="Alles", url="http://127.0.0.1:9/a").target
    this_service = make_target(
        adoption.municipality, owner, name="Nur Familie", url="http://127.0.0.1:9/b", services=[slug]
    ).target
    other_service = make_target(
        adoption.municipality, owner, name="Nur Hunde", url="http://127.0.0.1:9/c", services=["hundesteuer"]
    ).target
    inactive = make_target(adoption.municipality, owner, name="Aus", url="http://127.0.0.1:9/d").target
    actions.set_target_active(inactive, actor=owner, active=False)
    other_city = make_target(city_b, outsider, name="Gießen", url="http://127.0.0.1:9/e").target

    application = submit(adoption, with_file=False)

    targets = set(Delivery.objects.filter(application=application).values_list("target_id", flat=True))
    assert targets == {everything.pk, this_service.pk}
    assert {other_service.pk, inactive.pk, other_city.pk}.isdisjoint(targets)
    assert set(Delivery.objects.values_list("municipality_id", flat=True)) == {adoption.municipality.pk}


def test_no_target_no_delivery(submit: Any, adoption: Any) -> None:
    application = submit(adoption, with_file=False)
    assert not Delivery.objects.filter(application=application).exists()


def test_drafts_are_never_delivered(local_targets: Any, adoption: Any, owner: Any) -> None:
    make_target(adoption.municipality, owner, url="http://127.0.0.1:9/")
    draft = Application.objects.create(municipality=adoption.municipality, adoption=adoption, version=adoption.version)
    assert actions.create_deliveries(draft) == []
    assert not Delivery.objects.exists()


def test_a_due_delivery_can_be_queued_again(
    local_targets: Any, submit: Any, adoption: Any, owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core.management import call_command

    make_target(adoption.municipality, owner, url="http://127.0.0.1:9/")
    submit(adoption, with_file=False)
    queued_attempts().delete()  # as if the queued attempt had been lost with a crashed worker

    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("handover_resume", stdout=out)

    assert out.getvalue().strip() == "1 due deliveries queued"
    assert queued_attempts().filter(status="READY").count() == 1
