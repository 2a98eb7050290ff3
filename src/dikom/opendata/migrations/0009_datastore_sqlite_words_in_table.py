"""Data migration (SQLite only): each DataStore table keeps its rows' words in a column ``_words``.

Before, the words lived only in the table's FTS5 table (with its own copy of them), written row by row.
Now the FTS5 table indexes the table's ``_words`` column (external content), is built in one statement
after a load and is kept in step by triggers (``datastore_sql``). Existing tables are converted here:
the words move into the new column, the FTS5 table is rebuilt from it. PostgreSQL: nothing changes.
Backwards: the FTS5 table gets its own copy of the words again, and the column and triggers go.
"""

from django.db import migrations

PREFIX = "datastore_"


def _names(apps, connection):
    DatastoreTable = apps.get_model("opendata", "DatastoreTable")
    for name in DatastoreTable.objects.using(connection.alias).exclude(db_table="").values_list("db_table", flat=True):
        if name.replace("_", "").isalnum() and name.isascii():
            yield f"{PREFIX}{name}"


def _fts_sql(cursor, main):
    cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [f"{main}_fts"])
    found = cursor.fetchone()
    return found[0] if found else None


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for main in _names(apps, connection):
            definition = _fts_sql(cursor, main)
            if definition is None or "content=" in definition:
                continue
            fts = f'"{main}_fts"'
            cursor.execute(f'ALTER TABLE "{main}" ADD COLUMN _words TEXT')
            cursor.execute(f'UPDATE "{main}" SET _words = (SELECT words FROM {fts} WHERE {fts}.rowid = "{main}"._id)')
            cursor.execute(f"DROP TABLE {fts}")
            cursor.execute(
                f"CREATE VIRTUAL TABLE {fts} USING fts5(_words, content='{main}', content_rowid='_id', "
                "columnsize=0, tokenize='unicode61')"
            )
            cursor.execute(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")
            old = f"INSERT INTO {fts} ({fts}, rowid, _words) VALUES ('delete', old._id, old._words);"
            new = f"INSERT INTO {fts} (rowid, _words) VALUES (new._id, new._words);"
            cursor.execute(f'CREATE TRIGGER "{main}_ai" AFTER INSERT ON "{main}" BEGIN {new} END')
            cursor.execute(f'CREATE TRIGGER "{main}_ad" AFTER DELETE ON "{main}" BEGIN {old} END')
            cursor.execute(f'CREATE TRIGGER "{main}_au" AFTER UPDATE OF _words ON "{main}" BEGIN {old} {new} END')


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for main in _names(apps, connection):
            definition = _fts_sql(cursor, main)
            if definition is None or "content=" not in definition:
                continue
            fts = f'"{main}_fts"'
            for suffix in ("ai", "ad", "au"):
                cursor.execute(f'DROP TRIGGER IF EXISTS "{main}_{suffix}"')
            cursor.execute(f"DROP TABLE {fts}")
            cursor.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5(words, tokenize='unicode61')")
            cursor.execute(
                f'INSERT INTO {fts} (rowid, words) SELECT _id, _words FROM "{main}" WHERE _words IS NOT NULL '
                "AND _words != ''"
            )
            cursor.execute(f'ALTER TABLE "{main}" DROP COLUMN _words')


class Migration(migrations.Migration):
    dependencies = [
        ("opendata", "0008_drop_shared_datastore_rows"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
