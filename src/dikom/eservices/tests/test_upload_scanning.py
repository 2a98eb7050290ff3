"""Staff imports go through the upload scanner too: a service archive and a BPMN file with the EICAR test file."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dikom.eservices.models import ServiceDefinition
from dikom.eservices.tests.test_designer_process import PARKING_PROCESS, _h, _upload
from dikom.scanning.eicar import SIGNATURE

pytestmark = pytest.mark.django_db


def test_service_archive_with_the_eicar_file_is_refused(designer_a, city_a, login):
    client = login(Client(), designer_a)  # German
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("metadata.json", "{}")
        archive.writestr("anhang.txt", SIGNATURE)
    upload = SimpleUploadedFile("dienst.zip", buffer.getvalue(), content_type="application/zip")
    response = client.post("/dienste/importieren/", {"municipality": city_a.pk, "file": upload})
    assert response.status_code == 400
    assert "EICAR-Testdatei" in response.content.decode()
    assert not ServiceDefinition.objects.exists()


def test_bpmn_file_with_the_eicar_file_is_refused(draft, designer_a, login):
    client = login(Client(), designer_a)
    before = _h(draft)
    data = PARKING_PROCESS.read_bytes().replace(
        b"<bpmn:definitions", b"<!-- " + SIGNATURE + b" --><bpmn:definitions", 1
    )
    assert SIGNATURE in data
    response = _upload(client, draft, data=data, name="prozess.bpmn")
    assert response.status_code == 400
    assert "EICAR-Testdatei" in response.content.decode()
    assert _h(draft) == before
