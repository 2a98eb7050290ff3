"""Data migration: the rows of the shared table ``opendata_datastorerow`` move into one table per distribution.

Each finished DataStore table gets its own table (``datastore_sql``) with the same field ids, types and
``_id`` numbers; its rows are copied over in batches. Backwards, the rows are copied back as JSON objects
and the per-distribution tables dropped.
"""


from django.db import migrations

BATCH = 5000


def _physical(table, alias):
    from dikom.opendata import datastore_sql as sql

    return sql.Physical(
        table.db_table, [f["type"] for f in table.fields], alias=alias, row_count=table.row_count
    )


def forwards(apps, schema_editor):
    from dikom.opendata import datastore_sql as sql
    from dikom.opendata.datastore_types import DatastoreError, convert_value

    alias = schema_editor.connection.alias
    DatastoreTable = apps.get_model("opendata", "DatastoreTable")
    DatastoreRow = apps.get_model("opendata", "DatastoreRow")
    for table in DatastoreTable.objects.using(alias).select_related("resource"):
        if table.state != "done" or not table.fields:
            continue
        table.generation += 1
        table.db_table = sql.table_name(table.resource.uuid, table.generation)
        target = _physical(table, alias)
        sql.create(target, with_key=False)
        words = sql.WordCache()

        def rows(table=table, target=target, words=words):
            for number, data in table.rows.order_by("number").values_list("number", "data").iterator(BATCH):
                values = []
                for item in table.fields:
                    try:
                        value = convert_value(data.get(item["id"]), item["type"], item["id"])
                    except DatastoreError:
                        value = None  # cannot happen: the rows were typed when they were stored
                    values.append(sql.to_db(value, item["type"], target.postgres))
                text = [v for v, f in zip(values, table.fields) if f["type"] == "text" and isinstance(v, str)]
                yield (number, *values, words.words(text))

        count = sql.insert_rows(target, rows())
        sql.build_indexes(target, [True] * len(table.fields))
        last = DatastoreRow.objects.using(alias).filter(table=table).order_by("-number").values_list(
            "number", flat=True
        ).first()
        table.row_count = table.loaded_rows = count
        table.last_id = last or 0
        table.save()


def backwards(apps, schema_editor):
    from dikom.opendata import datastore_sql as sql

    alias = schema_editor.connection.alias
    DatastoreTable = apps.get_model("opendata", "DatastoreTable")
    DatastoreRow = apps.get_model("opendata", "DatastoreRow")
    for table in DatastoreTable.objects.using(alias).exclude(db_table=""):
        target = _physical(table, alias)
        query = sql.Query(columns=[None, *range(len(table.fields))], order=[(None, False)])
        offset = 0
        while True:
            page = sql.page(target, query, BATCH, offset)
            DatastoreRow.objects.using(alias).bulk_create(
                DatastoreRow(
                    table=table,
                    number=row[0],
                    data={f["id"]: v for f, v in zip(table.fields, row[1:])},
                    search_text=" " + " ".join(str(v) for v in row[1:] if isinstance(v, str)),
                )
                for row in page
            )
            if len(page) < BATCH:
                break
            offset += BATCH
        sql.drop(table.db_table, alias)
        table.db_table = ""
        table.save()


class Migration(migrations.Migration):
    dependencies = [
        ("opendata", "0006_datastore_table_per_resource"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
