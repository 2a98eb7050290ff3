"""Delivery by e-mail: a text summary, the JSON document and the uploaded files as attachments."""

from __future__ import annotations

import json
import smtplib
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import translation

from dikom.handover.models import Delivery, DeliveryTarget
from dikom.handover.tests.conftest import PDF, make_target
from dikom.lib.testing import run_task_worker

pytestmark = pytest.mark.django_db


def test_email_with_summary_json_and_files(submit: Any, adoption: Any, owner: Any) -> None:
    make_target(adoption.municipality, owner, kind=DeliveryTarget.Kind.EMAIL, email="posteingang@fulda.example")
    application = submit(adoption)
    assert mail.outbox == []

    with translation.override("de"):
        run_task_worker()

    delivery = Delivery.objects.get(application=application)
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 1
    assert delivery.last_http_status is None
    [message] = mail.outbox
    assert message.to == ["posteingang@fulda.example"]
    assert application.reference in message.subject and "Familienzuschuss" in message.subject
    assert message.extra_headers["X-Dikom-Delivery-Id"] == str(delivery.uuid)
    body = message.body
    assert application.reference in body and "Fulda" in body
    assert "person.name: Erika Muster" in body and "nachweis.pdf" in body
    names = [attachment[0] for attachment in message.attachments]
    assert names == [f"{application.reference}.json", "nachweis.pdf"]
    document = json.loads(message.attachments[0][1])
    assert message.attachments[0][2] == "application/json"
    assert document["application"]["reference"] == application.reference
    assert document["attachments"]["mode"] == "mail"
    assert "content_base64" not in document["attachments"]["files"][0]
    assert message.attachments[1][1] == PDF and message.attachments[1][2] == "application/pdf"


def test_email_with_large_files_lists_them_only(submit: Any, adoption: Any, owner: Any, settings: Any) -> None:
    settings.DIKOM_HANDOVER_MAX_ATTACHMENT_BYTES = 0
    make_target(adoption.municipality, owner, kind=DeliveryTarget.Kind.EMAIL, email="posteingang@fulda.example")
    application = submit(adoption)
    run_task_worker()

    [message] = mail.outbox
    assert [a[0] for a in message.attachments] == [f"{application.reference}.json"]
    assert json.loads(message.attachments[0][1])["attachments"]["mode"] == "metadata"
    assert "nachweis.pdf" in message.body


class FlakyBackend(EmailBackend):
    """The locmem backend behind an SMTP server that answers 451 (try later) twice."""

    failures = 0

    def send_messages(self, messages: Any) -> int:
        if FlakyBackend.failures < 2:
            FlakyBackend.failures += 1
            raise smtplib.SMTPDataError(451, b"Requested action aborted: local error")
        return super().send_messages(messages)


class RefusingBackend(EmailBackend):
    def send_messages(self, messages: Any) -> int:
        raise smtplib.SMTPRecipientsRefused({"posteingang@fulda.example": (550, b"No such user")})


def test_temporary_smtp_errors_are_retried_like_webhooks(submit: Any, adoption: Any, owner: Any, settings: Any) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    settings.DIKOM_HANDOVER_BACKOFF_SECONDS = 0
    FlakyBackend.failures = 0
    make_target(adoption.municipality, owner, kind=DeliveryTarget.Kind.EMAIL, email="posteingang@fulda.example")
    application = submit(adoption, with_file=False)
    run_task_worker()

    delivery = Delivery.objects.get(application=application)
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 3
    assert len(mail.outbox) == 1


def test_refused_recipient_fails_without_retry(submit: Any, adoption: Any, owner: Any, settings: Any) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    make_target(adoption.municipality, owner, kind=DeliveryTarget.Kind.EMAIL, email="posteingang@fulda.example")
    application = submit(adoption, with_file=False)
    run_task_worker()

    delivery = Delivery.objects.get(application=application)
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 1
    assert delivery.last_error == "Der Mailserver hat den Empfänger abgelehnt (SMTP 550)."  # stored in German
    assert "posteingang" not in delivery.last_error
