"""Importing the same framework twice (a double click, two tabs, an older version again) never raises
IntegrityError: it answers with the stored version and a German message."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dikom.competences import actions
from dikom.competences.models import FrameworkVersion
from dikom.competences.tests.test_frameworks import _own_framework

pytestmark = pytest.mark.django_db


def _upload(doc: dict[str, Any]) -> SimpleUploadedFile:
    return SimpleUploadedFile("rahmen.json", json.dumps(doc).encode())


def test_second_import_of_the_same_file_says_so_in_german(city_a: Any, owner: Any, login: Any) -> None:
    client = login(Client(), owner)
    url = "/kompetenzen/fulda/rahmen/import/"
    assert client.post(url, {"file": _upload(_own_framework())}).status_code == 302
    response = client.post(url, {"file": _upload(_own_framework())}, follow=True)
    assert response.status_code == 200
    assert "bereits als Version 1 gespeichert" in response.content.decode()
    # An older content again is recognised too: no third version that repeats version 1
    client.post(url, {"file": _upload(_own_framework(title="Neu"))})
    client.post(url, {"file": _upload(_own_framework())})
    assert list(
        FrameworkVersion.objects.filter(framework__key="fulda-verwaltung")
        .values_list("number", flat=True)
        .order_by("number")
    ) == [1, 2]


def test_a_concurrent_import_that_wins_the_race_is_reused(city_a: Any, monkeypatch: Any) -> None:
    # Another request stores the same document just before this one writes its version:
    # the unique constraint fires for real, and the import answers with the winner's version.
    original = FrameworkVersion.objects.create
    raced = {"done": False}

    def create_after_a_competitor(**kwargs: Any) -> FrameworkVersion:
        if not raced["done"]:
            raced["done"] = True
            original(**kwargs)  # the competitor's row, committed first
        return original(**kwargs)

    monkeypatch.setattr(FrameworkVersion.objects, "create", create_after_a_competitor)
    result = actions.import_framework_version(_own_framework(), municipality=city_a, actor=None)
    assert result.version.number == 1
    assert FrameworkVersion.objects.filter(framework__key="fulda-verwaltung").count() == 1
