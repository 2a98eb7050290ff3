"""Helpers for the figures tests: staff clients, API keys, files."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dikom.accounts.actions import create_api_key
from dikom.accounts.models import User
from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.analytics.models import Service
from dikom.municipalities.models import Municipality

FIGURES_API = "/api/v1/analytics/figures"


def key_for(municipality: Municipality, *scopes: str) -> str:
    return create_api_key(municipality=municipality, name="Statistik", scopes=list(scopes)).token


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Api-Key {token}"}


def post_json(client: Client, url: str, token: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **auth(token))


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def analyst(city_a: Municipality) -> User:
    return MembershipFactory(user__username="analyst", municipality=city_a, role=Role.ANALYST).user


@pytest.fixture
def parking(city_a: Municipality) -> Service:
    return Service.objects.create(
        municipality=city_a, name="Bewohnerparkausweis", external_key="anwohnerparken", leika_key="99106001010000"
    )


@pytest.fixture
def trade(city_a: Municipality) -> Service:
    return Service.objects.create(
        municipality=city_a, name="Gewerbe anmelden", external_key="gewerbe", leika_key="99050012104000"
    )


@pytest.fixture
def staff_client(client: Client, owner: User, login: Callable[[Client, User], Client]) -> Client:
    # English messages, so the assertions do not depend on the German catalog: chosen with the
    # language switcher (the cookie), as pages ignore Accept-Language.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return login(client, owner)


@pytest.fixture
def upload(staff_client: Client, city_a: Municipality) -> Callable[..., Any]:
    """Upload a file as the owner of city A; returns the response after the redirect."""

    def _upload(content: bytes | str, name: str = "zahlen.csv", encoding: str = "utf-8") -> Any:
        data = content.encode(encoding) if isinstance(content, str) else content
        return staff_client.post(
            f"/analytics/daten/{city_a.slug}/", {"file": SimpleUploadedFile(name, data)}, follow=True
        )

    return _upload
