"""The portal's lookups compiled once per thread (``dikom.lib.prepared``) give the ORM's objects,
and released definitions kept per process (``eservices.service.fill_released_content``) are
the stored ones (issue 21, fourth round)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Model
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from dikom.eservices import service
from dikom.eservices.models import Adoption, ServiceVersion
from dikom.lib.prepared import PreparedQuery
from dikom.lib.testing import english_client
from dikom.municipalities.models import Municipality
from dikom.portal import access
from dikom.portal.models import Application
from dikom.portal.tests.test_journey import start

pytestmark = pytest.mark.django_db


def _values(obj: Model, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in skip}


def test_the_application_is_the_orm_s_with_its_city_adoption_service_and_version(adoption: Adoption) -> None:
    application = start(english_client(), adoption)
    city = adoption.municipality

    found = access._APPLICATION_IN_CITY.all(city.slug, application.uuid)
    assert len(found) == 1
    read = found[0]
    orm = Application.objects.select_related("adoption__definition", "version", "municipality").get(pk=application.pk)
    assert _values(read) == _values(orm)
    assert _values(read.municipality) == _values(orm.municipality)
    assert _values(read.adoption) == _values(orm.adoption)
    assert _values(read.adoption.definition) == _values(orm.adoption.definition)
    # The definition is not in the row: it comes from the store of released versions.
    assert read.version.get_deferred_fields() == {"content"}
    assert _values(read.version, skip=("content",)) == _values(orm.version, skip=("content",))
    service.fill_released_content(read.version)
    assert read.version.content == orm.version.content
    assert read.content == orm.content

    # Another city's slug or an unknown uuid find nothing (404 in the view).
    assert access._APPLICATION_IN_CITY.all("no-such-city", application.uuid) == []
    assert access._APPLICATION_IN_CITY.all(city.slug, uuid.uuid4()) == []


def test_the_step_reads_the_application_in_one_statement_and_404s_for_other_cities(adoption: Adoption,
                                                                                    city_b: Municipality) -> None:  # fmt: skip
    client = english_client()
    application = start(client, adoption)
    url = f"/portal/{adoption.municipality.slug}/antrag/{application.uuid}/schritt/1/"
    assert client.get(url).status_code == 200
    assert client.get(url.replace(adoption.municipality.slug, city_b.slug)).status_code == 404
    assert client.get(url.replace(str(application.uuid), str(uuid.uuid4()))).status_code == 404
    # Someone else's browser (no session) gets a 404 too.
    assert english_client().get(url).status_code == 404


def test_the_city_is_the_orm_s_and_an_unknown_slug_is_a_404(adoption: Adoption) -> None:
    city = adoption.municipality
    assert _values(access.get_municipality(city.slug)) == _values(Municipality.objects.get(pk=city.pk))
    with pytest.raises(Http404):
        access.get_municipality("no-such-city")


def test_the_offered_adoption_is_the_orm_s(adoption: Adoption) -> None:
    offered = service.adoption_for(adoption.municipality, adoption.definition.slug)
    assert offered is not None
    orm = Adoption.objects.select_related("definition", "version", "org_unit").get(pk=adoption.pk)
    assert _values(offered.adoption) == _values(orm)
    assert _values(offered.definition) == _values(orm.definition)
    assert offered.content == orm.version.content
    assert offered.adoption.municipality is adoption.municipality
    # Switched off: not offered any more, on the next call.
    Adoption.objects.filter(pk=adoption.pk).update(active=False)
    assert service.adoption_for(adoption.municipality, adoption.definition.slug) is None


def test_a_released_definition_is_read_once_per_process(adoption: Adoption) -> None:
    def deferred() -> ServiceVersion:
        return ServiceVersion.objects.defer("content").get(pk=adoption.version_id)

    first = deferred()
    service.fill_released_content(first)  # read and kept (or kept already by an earlier test)
    second = deferred()
    with CaptureQueriesContext(connection) as captured:
        service.fill_released_content(second)
    assert captured.captured_queries == []
    assert second.content == ServiceVersion.objects.get(pk=adoption.version_id).content


def test_a_version_that_is_not_released_or_has_another_hash_is_read_from_the_database(adoption: Adoption) -> None:
    version = ServiceVersion.objects.defer("content").get(pk=adoption.version_id)
    service.fill_released_content(version)
    stored = version.content

    # Same id, other hash (a reused id after a rollback): the store does not answer, the row does.
    other = ServiceVersion.objects.defer("content").get(pk=adoption.version_id)
    other.content_hash = "0" * 64
    service.fill_released_content(other)
    assert other.get_deferred_fields() == {"content"}
    assert other.content == stored  # read from the row on access, as without the store

    draft = ServiceVersion.objects.defer("content").get(pk=adoption.version_id)
    draft.status = ServiceVersion.Status.DRAFT
    service.fill_released_content(draft)
    assert draft.get_deferred_fields() == {"content"}


def test_a_sample_value_that_is_not_a_parameter_of_its_own_is_refused(adoption: Adoption) -> None:
    slug = Municipality._meta.get_field("slug")
    twice = PreparedQuery(
        Municipality, lambda s: Municipality.objects.filter(slug=s) | Municipality.objects.filter(name=s),
        fields=(slug,), samples=("\x00twice",),
    )  # fmt: skip
    with pytest.raises(ImproperlyConfigured):
        twice.all("marburg")
    missing = PreparedQuery(Municipality, lambda s: Municipality.objects.all(), fields=(slug,), samples=("\x00gone",))
    with pytest.raises(ImproperlyConfigured):
        missing.all("marburg")


def test_the_finder_s_rows_are_the_orm_s(adoption: Adoption, family: dict[str, Any]) -> None:
    from dikom.portal.tests.conftest import release_and_adopt

    family["identity"]["title"] = {"de": "Aaa zuerst", "en": "Aaa first"}
    release_and_adopt(family, adoption.municipality, suffix=" 2")
    today = service._today()
    expected: list[Any] = list(service._offered_rows(adoption.municipality_id, today))
    assert len(expected) == 2
    assert service._OFFERED_ROWS.rows(adoption.municipality_id, today) == expected  # same order too
    with pytest.raises(ImproperlyConfigured):
        service._OFFERED_ROWS.all(adoption.municipality_id, today)
    assert [s.slug for s in service.offered_summaries(adoption.municipality, "en")] == [row[0] for row in expected]
