"""Database triggers that refuse to change a released service version, for every
client of the database, not only for dikom's own code.

UPDATE of a released row is refused on SQLite and PostgreSQL. DELETE of a
released row is refused on PostgreSQL only: ``manage.py flush`` (test teardown,
development resets) empties tables with DELETE on SQLite but with TRUNCATE on
PostgreSQL, which row triggers do not see. On SQLite the model refuses deletion.
"""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE TRIGGER eservices_serviceversion_released_no_update BEFORE UPDATE ON eservices_serviceversion
       WHEN OLD.status = 'released'
       BEGIN SELECT RAISE(ABORT, 'released service versions are immutable'); END;""",
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS eservices_serviceversion_released_no_update;"]
POSTGRES_FORWARD = [
    """CREATE OR REPLACE FUNCTION eservices_serviceversion_refuse_change() RETURNS trigger AS $$
       BEGIN
           IF OLD.status = 'released' THEN
               RAISE EXCEPTION 'released service versions are immutable';
           END IF;
           IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
           RETURN NEW;
       END; $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER eservices_serviceversion_released_immutable BEFORE UPDATE OR DELETE ON eservices_serviceversion
       FOR EACH ROW EXECUTE FUNCTION eservices_serviceversion_refuse_change();""",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS eservices_serviceversion_released_immutable ON eservices_serviceversion;",
    "DROP FUNCTION IF EXISTS eservices_serviceversion_refuse_change();",
]


def forward(apps, schema_editor):
    statements = {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    statements = {"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("eservices", "0001_library")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
