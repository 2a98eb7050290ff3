"""The DataStore: uploaded CSV/XLSX read by the task worker into typed tables, queried with the real ``ckanapi``
(datastore_search with filters, q, fields, sort, limit/offset), written with a city's key (datastore_create,
datastore_upsert, datastore_delete), and downloaded as CSV/JSON."""

from __future__ import annotations

import io

import ckanapi
import pytest
from openpyxl import Workbook

from dikom.lib.testing import run_task_worker
from dikom.opendata import actions, datastore
from dikom.opendata.models import DatastoreTable, Resource
from dikom.opendata.tests.conftest import make_dataset

pytestmark = pytest.mark.django_db(transaction=True)

TREES = "\r\n".join(
    ["Baum-Nr;Art;PLZ;Pflanzjahr;Umfang (cm);Gepflanzt am"]
    + [
        f"{n};{'Stieleiche' if n % 2 else 'Winterlinde'};0663{n % 3};{1950 + n};{100 + n},5;{n % 28 + 1:02d}.03.{1950 + n}"
        for n in range(1, 151)
    ]
    + ['151;"Bergahorn <b>&amp;</b> Ahorn";06631;;1.234,5;']
).encode("cp1252")


def upload(org, name: str, content: bytes, filename: str) -> Resource:
    dataset = make_dataset(org, name, name.title(), resources=[])
    resource = actions.create_resource(dataset, {"name": "Tabelle"}, upload=io.BytesIO(content), filename=filename)
    run_task_worker()
    return resource


def remote(url: str, key: str | None = None) -> ckanapi.RemoteCKAN:
    return ckanapi.RemoteCKAN(url, apikey=key, user_agent="dikom-tests")


def test_a_german_csv_becomes_a_typed_table(org_a) -> None:
    resource = upload(org_a, "baeume", TREES, "baeume.csv")
    table = DatastoreTable.objects.get(resource=resource)
    assert table.state == DatastoreTable.State.DONE and table.row_count == 151
    assert table.fields == [
        {"id": "Baum-Nr", "type": "int"},
        {"id": "Art", "type": "text"},
        {"id": "PLZ", "type": "text"},  # leading zeros: a key, not a number
        {"id": "Pflanzjahr", "type": "int"},
        {"id": "Umfang (cm)", "type": "numeric"},
        {"id": "Gepflanzt am", "type": "date"},
    ]
    last = datastore.search_table(table, filters={"_id": 151}).records[0]
    assert last["Umfang (cm)"] == 1234.5 and last["PLZ"] == "06631" and last["Pflanzjahr"] is None
    assert datastore.search_table(table, filters={"_id": 1}).records[0]["Gepflanzt am"] == "1951-03-02"


def test_datastore_search_with_the_real_ckanapi(live_server, org_a) -> None:
    resource = upload(org_a, "baeume", TREES, "baeume.csv")
    ckan = remote(live_server.url)
    rid = str(resource.uuid)

    first = ckan.action.datastore_search(resource_id=rid, limit=5)
    assert first["total"] == 151 and len(first["records"]) == 5
    assert [f["id"] for f in first["fields"]][:2] == ["_id", "Baum-Nr"]
    assert first["records"][0] == {
        "_id": 1,
        "Baum-Nr": 1,
        "Art": "Stieleiche",
        "PLZ": "06631",
        "Pflanzjahr": 1951,
        "Umfang (cm)": 101.5,
        "Gepflanzt am": "1951-03-02",
    }
    # filters: a value or a list, compared as the column's type ("1955" for an int column is 1955).
    oaks = ckan.action.datastore_search(resource_id=rid, filters={"Art": "Stieleiche"}, limit=1000)
    assert oaks["total"] == 75 and {r["Art"] for r in oaks["records"]} == {"Stieleiche"}
    some = ckan.action.datastore_search(resource_id=rid, filters={"Pflanzjahr": ["1955", 1960]})
    assert sorted(r["Baum-Nr"] for r in some["records"]) == [5, 10]
    # q: folded German words anywhere in the row.
    assert ckan.action.datastore_search(resource_id=rid, q="winterlinden")["total"] == 75
    assert ckan.action.datastore_search(resource_id=rid, q="Bergahorn")["records"][0]["_id"] == 151
    # fields, sort, limit and offset.
    page = ckan.action.datastore_search(
        resource_id=rid, fields=["Baum-Nr", "Umfang (cm)"], sort="Umfang (cm) desc", limit=2, offset=1
    )
    assert page["records"] == [{"Baum-Nr": 150, "Umfang (cm)": 250.5}, {"Baum-Nr": 149, "Umfang (cm)": 249.5}]
    assert page["_links"]["next"].endswith("offset=3")
    # Errors in CKAN's envelope.
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=rid, filters={"Gibtsnicht": 1})
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=rid, filters={"Pflanzjahr": "neunzehnhundert"})
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=rid, sort="Gibtsnicht asc")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.datastore_search(resource_id="00000000-0000-0000-0000-000000000000")


def test_get_requests_take_json_parameters_and_downloads_are_safe(client, org_a) -> None:
    content = b'Name,Wert\n=HYPERLINK("https://evil.example"),1\nBrunnen,2\n'
    resource = upload(org_a, "formeln", content, "formeln.csv")
    body = client.get(
        "/api/3/action/datastore_search", {"resource_id": str(resource.uuid), "filters": '{"Wert": 2}'}
    ).json()
    assert body["success"] and body["result"]["records"] == [{"_id": 2, "Name": "Brunnen", "Wert": 2}]
    bad = client.get("/api/3/action/datastore_search", {"resource_id": str(resource.uuid), "filters": "{kaputt"})
    assert bad.status_code == 409 and bad.json()["error"]["__type"] == "Validation Error"

    dump = client.get(f"/opendata/datastore/{resource.uuid}/download.csv")
    text = b"".join(dump.streaming_content).decode("utf-8-sig")
    assert text.splitlines() == ["_id,Name,Wert", '1,"\'=HYPERLINK(""https://evil.example"")",1', "2,Brunnen,2"]
    filtered = client.get(f"/opendata/datastore/{resource.uuid}/download.json", {"filters": '{"Wert": 1}'})
    assert b"".join(filtered.streaming_content).decode().startswith('[{"_id": 1, "Name": "=HYPERLINK')
    assert client.get(f"/opendata/datastore/{resource.uuid}/download.csv", {"sort": "x"}).status_code == 400
    page = client.get("/opendata/datensaetze/formeln/").content.decode()
    assert "Abfragbare Tabelle mit 2 Zeilen" in page


def test_xlsx_and_unreadable_files(client, org_a) -> None:
    workbook = Workbook()
    workbook.active.append(["Jahr", "Besucher"])
    workbook.active.append([2024, 1200])
    data = io.BytesIO()
    workbook.save(data)
    resource = upload(org_a, "besucher", data.getvalue(), "besucher.xlsx")
    table = DatastoreTable.objects.get(resource=resource)
    assert table.fields == [{"id": "Jahr", "type": "int"}, {"id": "Besucher", "type": "int"}]

    broken = upload(org_a, "kaputt", "\t".join(f"c{i}" for i in range(10_000)).encode(), "kaputt.csv")
    table = DatastoreTable.objects.get(resource=broken)
    assert table.state == DatastoreTable.State.FAILED and "10000 Spalten" in table.message
    page = client.get("/opendata/datensaetze/kaputt/").content.decode()
    assert "Keine abfragbare Tabelle" in page and "kann weiterhin heruntergeladen werden" in page
    assert client.get(f"/opendata/datastore/{broken.uuid}/download.csv").status_code == 404


def test_datastore_writes_with_the_city_key(live_server, org_a, org_b, key_a, key_b) -> None:
    make_dataset(org_a, "pegel", "Pegelstände", resources=[])
    fulda = remote(live_server.url, key_a)
    created = fulda.action.datastore_create(
        resource={"package_id": "pegel", "name": "Messwerte"},
        fields=[{"id": "station", "type": "text"}, {"id": "tag", "type": "date"}, {"id": "cm", "type": "int"}],
        primary_key=["station", "tag"],
        records=[
            {"station": "Fulda", "tag": "2026-11-01", "cm": 120},
            {"station": "Fulda", "tag": "02.11.2026", "cm": 118},
        ],
    )
    rid = created["resource_id"]
    resource = fulda.action.resource_show(id=rid)
    assert resource["url"].endswith(f"/opendata/datastore/{rid}/download")
    fulda.action.datastore_upsert(
        resource_id=rid,
        records=[
            {"station": "Fulda", "tag": "2026-11-02", "cm": 119},
            {"station": "Fulda", "tag": "2026-11-03", "cm": 117},
        ],
    )
    rows = fulda.action.datastore_search(resource_id=rid, sort="tag asc")["records"]
    assert [(r["tag"], r["cm"]) for r in rows] == [("2026-11-01", 120), ("2026-11-02", 119), ("2026-11-03", 117)]
    with pytest.raises(ckanapi.ValidationError):
        fulda.action.datastore_upsert(resource_id=rid, records=[{"station": "Fulda", "tag": "kein Datum", "cm": 1}])
    with pytest.raises(ckanapi.ValidationError):
        fulda.action.datastore_upsert(resource_id=rid, method="update", records=[{"station": "X", "tag": "2026-01-01"}])
    # Another city's key and no key are refused; the table is unchanged.
    with pytest.raises(ckanapi.NotAuthorized):
        remote(live_server.url, key_b).action.datastore_upsert(resource_id=rid, records=[{"station": "Gießen"}])
    with pytest.raises(ckanapi.NotAuthorized):
        remote(live_server.url).action.datastore_delete(resource_id=rid)
    fulda.action.datastore_delete(resource_id=rid, filters={"tag": "2026-11-01"})
    assert fulda.action.datastore_search(resource_id=rid)["total"] == 2
    fulda.action.datastore_delete(resource_id=rid)
    with pytest.raises(ckanapi.NotFound):
        fulda.action.datastore_search(resource_id=rid)
