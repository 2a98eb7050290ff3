"""The real ``ckanapi`` client against a live dikom: reads, writes with the keys of two cities, errors."""

from __future__ import annotations

import io

import ckanapi
import pytest

from dikom.opendata.models import Dataset
from dikom.opendata.tests.conftest import make_dataset

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def portal(live_server, org_a, org_b):
    make_dataset(org_a, "baeume-fulda", "Bäume in Fulda", groups=[{"name": "envi"}])
    make_dataset(org_b, "baumkataster-giessen", "Baumkataster Gießen")
    return live_server.url


def remote(url: str, key: str | None = None) -> ckanapi.RemoteCKAN:
    return ckanapi.RemoteCKAN(url, apikey=key, user_agent="dikom-tests")


def test_reads(portal) -> None:
    ckan = remote(portal)
    assert ckan.action.status_show()["ckan_version"].startswith("2.")
    assert ckan.action.package_list() == ["baeume-fulda", "baumkataster-giessen"]
    package = ckan.action.package_show(id="baeume-fulda")
    assert package["organization"]["title"] == "Fulda"
    result = ckan.action.package_search(q="Bäume", facet="true", **{"facet.field": ["organization"]})
    assert result["count"] == 2
    assert result["search_facets"]["organization"]["items"]
    assert ckan.action.organization_list() == ["fulda", "giessen"]
    assert ckan.action.group_show(id="envi")["package_count"] == 1
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="gibt-es-nicht")
    with pytest.raises(ckanapi.SearchQueryError):
        ckan.action.package_search(q='title:"offen')


def test_writes_with_two_cities(portal, key_a, key_b) -> None:
    fulda = remote(portal, key_a)
    giessen = remote(portal, key_b)
    created = fulda.action.package_create(
        name="parkhaeuser",
        title="Parkhäuser",
        owner_org="fulda",
        license_id="dl-by-de/2.0",
        tags=[{"name": "Verkehr"}],
        resources=[{"url": "https://example.org/p.csv", "format": "CSV"}],
    )
    assert created["state"] == "active" and created["num_resources"] == 1
    with pytest.raises(ckanapi.NotAuthorized):
        giessen.action.package_patch(id="parkhaeuser", title="Gekapert")
    with pytest.raises(ckanapi.NotAuthorized):
        giessen.action.package_create(name="fremd", title="Fremd", owner_org="fulda", license_id="dl-by-de/2.0")
    with pytest.raises(ckanapi.NotAuthorized):
        remote(portal).action.package_create(name="anonym", title="A", owner_org="fulda", license_id="cc-by/4.0")
    with pytest.raises(ckanapi.ValidationError) as error:
        fulda.action.package_create(name="x", title="", owner_org="fulda", license_id="frei")
    assert {"name", "title", "license_id"} <= set(error.value.error_dict)
    patched = fulda.action.package_patch(id="parkhaeuser", notes="Belegung der Parkhäuser")
    assert patched["notes"] == "Belegung der Parkhäuser" and patched["title"] == "Parkhäuser"
    upload = io.BytesIO("Name;Plätze\r\nAm Dom;420\r\n".encode("cp1252"))
    upload.name = "belegung.csv"
    resource = fulda.action.resource_create(package_id="parkhaeuser", name="Belegung", upload=upload)
    assert resource["format"] == "CSV" and resource["url_type"] == "upload" and resource["size"] == 25
    shown = remote(portal).action.resource_show(id=resource["id"])
    assert shown["url"].endswith("/download")
    with pytest.raises(ckanapi.NotAuthorized):
        giessen.action.resource_delete(id=resource["id"])
    fulda.action.resource_delete(id=resource["id"])
    fulda.action.package_delete(id="parkhaeuser")
    with pytest.raises(ckanapi.NotFound):
        remote(portal).action.package_show(id="parkhaeuser")
    assert Dataset.objects.get(name="parkhaeuser").state == Dataset.State.WITHDRAWN
    assert giessen.action.package_patch(id="baumkataster-giessen", version="2")["version"] == "2"
