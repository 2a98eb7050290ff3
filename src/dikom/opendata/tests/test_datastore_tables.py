"""Each distribution's DataStore data in a real table of its own: hostile headers, ragged rows, a sample that
misleads the type guess, replacing and deleting the file, deep pages, and the publisher's type correction."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from dikom.lib.testing import run_task_worker
from dikom.opendata import actions, datastore
from dikom.opendata.models import Dataset, DatastoreTable, Resource
from dikom.opendata.tests.conftest import make_dataset

pytestmark = pytest.mark.django_db(transaction=True)


def upload(org, name: str, content: bytes, filename: str = "daten.csv") -> Resource:
    dataset = make_dataset(org, name, name.title(), resources=[])
    resource = actions.create_resource(dataset, {"name": "Tabelle"}, upload=io.BytesIO(content), filename=filename)
    run_task_worker()
    return resource


def exists(name: str) -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT to_regclass(%s)", [f"datastore.{name}"])
            return cursor.fetchone()[0] is not None
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = %s", [f"datastore_{name}"])
        return cursor.fetchone()[0] == 1


def test_hostile_header_names_are_field_ids_never_identifiers(client, org_a) -> None:
    evil = ['Name"; DROP TABLE opendata_dataset; --', "Name", "name", "", "x" * 5000, "_id", "Wert"]
    rows = [";".join(f'"{h}"' if '"' not in h else '"' + h.replace('"', '""') + '"' for h in evil)]
    rows += [f"a{n};b{n};c{n};;e{n};{n};{n},5" for n in range(1, 6)]
    resource = upload(org_a, "feindlich", "\r\n".join(rows).encode("utf-8-sig"))
    table = DatastoreTable.objects.get(resource=resource)
    assert table.state == DatastoreTable.State.DONE, table.message
    ids = [f["id"] for f in table.fields]
    assert ids == ['Name"; DROP TABLE opendata_dataset; --', "Name", "name_2", "Spalte 4", "x" * 63, "_id_2", "Wert"]
    assert exists(table.db_table) and table.db_table == f"r_{resource.uuid.hex}_{table.generation}"
    body = client.post(
        "/api/3/action/datastore_search",
        {"resource_id": str(resource.uuid), "filters": {ids[0]: "a3"}, "sort": f"{ids[4]} desc"},
        content_type="application/json",
    ).json()
    assert body["success"] and body["result"]["total"] == 1
    record = body["result"]["records"][0]
    assert record["_id"] == 3 and record[ids[0]] == "a3" and record["_id_2"] == 3 and record["Wert"] == 3.5
    assert Dataset.objects.filter(name="feindlich").exists()  # the injection attempt is just a name


def test_ragged_rows_and_a_sample_that_misleads_lose_nothing(org_a, monkeypatch) -> None:
    monkeypatch.setattr(datastore, "SAMPLE_ROWS", 3)
    lines = ["Nr;Menge;Ort"] + [f"{n};{n};Ort {n}" for n in range(1, 8)]
    lines += ["8;unbekannt;Ort 8", "9;9", "10;10;Ort 10;überzählig;auch"]
    resource = upload(org_a, "krumm", "\n".join(lines).encode("cp1252"))
    table = DatastoreTable.objects.get(resource=resource)
    assert table.state == DatastoreTable.State.DONE and table.row_count == 10
    # The sample (3 rows) said "int"; row 8 says otherwise: the whole file decides, the column is text.
    assert table.fields == [
        {"id": "Nr", "type": "int"},
        {"id": "Menge", "type": "text"},
        {"id": "Ort", "type": "text"},
    ]
    records = datastore.search_table(table, limit=100).records
    assert [r["Menge"] for r in records][6:9] == ["7", "unbekannt", "9"] and records[8]["Ort"] is None
    assert "1 rows have more cells than the header line" in table.message or "1 Zeilen" in table.message
    assert "line 11" in table.message or "Zeile 11" in table.message


def test_replacing_the_file_replaces_the_table_and_deleting_drops_it(org_a) -> None:
    resource = upload(org_a, "pegel", b"Tag,cm\n2026-01-01,12\n2026-01-02,13\n")
    first = DatastoreTable.objects.get(resource=resource)
    assert exists(first.db_table)
    actions.update_resource(resource, {}, upload=io.BytesIO(b"Tag,cm,Station\n2026-02-01,20,Fulda\n"), filename="b.csv")
    run_task_worker()
    second = DatastoreTable.objects.get(resource=resource)
    assert second.db_table != first.db_table and not exists(first.db_table) and exists(second.db_table)
    assert second.row_count == 1 and [f["id"] for f in second.fields] == ["Tag", "cm", "Station"]
    # A file that cannot be read: no table, and the old file's table is gone with the old file.
    actions.update_resource(resource, {}, upload=io.BytesIO(b"\x00\x01binary"), filename="c.csv")
    run_task_worker()
    third = DatastoreTable.objects.get(resource=resource)
    assert third.state == DatastoreTable.State.FAILED and third.message and not exists(second.db_table)

    other = upload(org_a, "zweiter", b"a,b\n1,2\n")
    name = DatastoreTable.objects.get(resource=other).db_table
    assert exists(name)
    other.dataset.delete()  # the dataset with its distributions (package_delete purges the same way)
    assert not exists(name) and not DatastoreTable.objects.filter(db_table=name).exists()


def test_deep_pages_are_the_same_with_and_without_gaps(org_a) -> None:
    resource = upload(org_a, "reihe", ("n,wert\n" + "".join(f"{i},{i * 2}\n" for i in range(1, 301))).encode())
    table = DatastoreTable.objects.get(resource=resource)
    page = datastore.search_table(table, offset=250, limit=3).records
    assert [r["n"] for r in page] == [251, 252, 253]
    datastore.delete_rows(table, {"n": [5, 6]})
    table.refresh_from_db()
    assert table.row_count == 298
    page = datastore.search_table(table, offset=250, limit=3)
    assert [r["n"] for r in page.records] == [253, 254, 255] and page.total == 298
    assert [r["n"] for r in datastore.search_table(table, sort="wert desc", offset=1, limit=2).records] == [299, 298]
    # CKAN's total_estimation_threshold: PostgreSQL's planner estimate above it; SQLite always counts.
    result = datastore.search_table(table, filters={"wert": [2, 4, 8]}, estimate_above=0)
    if connection.vendor == "postgresql":
        assert result.estimated and result.total >= 1
    else:
        assert not result.estimated and result.total == 3


def test_the_publisher_corrects_column_types(client, login, org_a, publisher_a) -> None:
    resource = upload(org_a, "pflanzungen", b"Nr;PLZ;Jahr\n1;06631;2020\n2;36037;2021\n")
    dataset = resource.dataset
    table = DatastoreTable.objects.get(resource=resource)
    assert [f["type"] for f in table.fields] == ["int", "text", "int"]
    login(client, publisher_a)
    page = client.get(f"/opendata/verwaltung/{dataset.name}/").content.decode()
    assert "Spaltentypen" in page and 'name="type-2"' in page
    url = f"/opendata/verwaltung/{dataset.name}/tabellen/{resource.uuid}/spaltentypen"

    # Jahr as text: the table is rebuilt from the file.
    response = client.post(url, {"type-0": "int", "type-1": "text", "type-2": "text"})
    assert response.status_code == 302
    run_task_worker()
    table.refresh_from_db()
    assert [f["type"] for f in table.fields] == ["int", "text", "text"] and table.type_overrides == {"Jahr": "text"}
    assert datastore.search_table(table, filters={"Nr": 1}).records[0]["Jahr"] == "2020"

    # PLZ as a whole number would lose the leading zero of "06631": refused, the table stays.
    old = table.db_table
    client.post(url, {"type-0": "int", "type-1": "int", "type-2": "text"})
    run_task_worker()
    table.refresh_from_db()
    assert table.db_table == old and table.state == DatastoreTable.State.DONE and exists(old)
    assert "06631" in table.message and [f["type"] for f in table.fields] == ["int", "text", "text"]

    # Without a login nothing changes (redirect to the login page).
    client.logout()
    assert client.post(url, {"type-0": "text"}).status_code == 302
    table.refresh_from_db()
    assert table.fields[0]["type"] == "int"


def _migrate(target: list[tuple[str, str]]) -> Any:
    """Migrate to ``target``; the historical models there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target[0]).apps


def test_rows_of_the_shared_table_move_into_a_table_per_distribution(org_a) -> None:
    dataset = make_dataset(org_a, "alt", "Alte Tabelle", resources=[])
    resource = actions.create_resource(dataset, {"name": "Alt", "url": "https://example.org/alt.csv", "format": "CSV"})
    try:
        old = _migrate([("opendata", "0006_datastore_table_per_resource")])
        OldTable = old.get_model("opendata", "DatastoreTable")
        OldRow = old.get_model("opendata", "DatastoreRow")
        table = OldTable.objects.create(
            resource_id=resource.pk,
            state="done",
            source="file",
            row_count=3,
            fields=[{"id": "Art", "type": "text"}, {"id": "Jahr", "type": "int"}, {"id": "Tag", "type": "date"}],
        )
        for number, data in enumerate(
            [
                {"Art": "Stieleiche", "Jahr": 1990, "Tag": "2024-03-01"},
                {"Art": "Winterlinde", "Jahr": None, "Tag": None},
                {"Art": "Bergahorn", "Jahr": 2001, "Tag": "2024-03-03"},
            ],
            start=1,
        ):
            OldRow.objects.create(table=table, number=number if number < 3 else 7, data=data, search_text="")
    finally:
        _migrate_to_latest()
    migrated = DatastoreTable.objects.get(resource=resource)
    assert migrated.db_table and exists(migrated.db_table) and migrated.row_count == 3 and migrated.last_id == 7
    records = datastore.search_table(migrated).records
    assert records == [
        {"_id": 1, "Art": "Stieleiche", "Jahr": 1990, "Tag": "2024-03-01"},
        {"_id": 2, "Art": "Winterlinde", "Jahr": None, "Tag": None},
        {"_id": 7, "Art": "Bergahorn", "Jahr": 2001, "Tag": "2024-03-03"},
    ]
    assert datastore.search_table(migrated, q="winterlinden").total == 1
    assert "opendata_datastorerow" not in connection.introspection.table_names()


def _migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_a_file_that_changes_encoding_midway_says_why_through_the_api(client, org_a) -> None:
    # UTF-8 for the first 64 KB (the sample), then a Windows-1252 byte: no guess is safe, the file says so.
    content = ("Ort,Anzahl\n" + "Fulda,1\n" * 10_000).encode() + "Gießen,2\n".encode("cp1252")
    resource = upload(org_a, "gemischt", content)
    table = DatastoreTable.objects.get(resource=resource)
    assert table.state == DatastoreTable.State.FAILED and table.db_table == ""
    body = client.get("/api/3/action/datastore_search", {"resource_id": str(resource.uuid)}).json()
    assert body["success"] is False and body["error"]["__type"] == "Not Found Error"
    assert table.message in body["error"]["message"]
    assert client.get(f"/opendata/datastore/{resource.uuid}/download.csv").status_code == 404
