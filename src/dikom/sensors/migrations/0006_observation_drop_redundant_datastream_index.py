"""The observation table's index on datastream_id alone goes: the index (datastream_id, phenomenon_time)
serves every lookup by datastream too, and one index fewer is one write fewer per stored observation.

Only the index is dropped (the foreign key stays as it is; Django's own AlterField would drop and re-add
it, validating every row again). SQLite and PostgreSQL (where dropping the partitioned index drops the
partitions' too); reversible."""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "sensors_observation_datastream_id_511f374b"


class Migration(migrations.Migration):
    dependencies = [
        ("sensors", "0005_lorawan_devices_and_held_uplinks"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    f"CREATE INDEX IF NOT EXISTS {INDEX} ON sensors_observation (datastream_id)",
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="observation",
                    name="datastream",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="observations",
                        to="sensors.datastream",
                    ),
                ),
            ],
        ),
    ]
