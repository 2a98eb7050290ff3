"""Every Observation carries its municipality (its Datastream's), so that scoping needs no join and the
table can be partitioned and distributed by it (docs/scaling.md).

The column is added nullable and without its foreign key, filled from the Datastreams in one UPDATE,
and then made NOT NULL with the foreign key (timings in docs/scaling.md).
Reversible: backwards drops the column.
"""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # One joined UPDATE (a hash join instead of a subquery per row).
        schema_editor.execute(
            "UPDATE sensors_observation o SET municipality_id = d.municipality_id "
            "FROM sensors_datastream d WHERE d.id = o.datastream_id AND o.municipality_id IS NULL"
        )
        return
    observation = apps.get_model("sensors", "Observation")
    datastream = apps.get_model("sensors", "Datastream")
    observation.objects.filter(municipality__isnull=True).update(
        municipality_id=models.Subquery(
            datastream.objects.filter(pk=models.OuterRef("datastream_id")).values("municipality_id")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("municipalities", "0002_authority_letterhead_details"),
        ("sensors", "0002_publication_flag"),
    ]

    operations = [
        migrations.AddField(
            model_name="observation",
            name="municipality",
            # Without the foreign key while it is filled: adding it afterwards checks all rows in one
            # join instead of one trigger per updated row.
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="municipalities.municipality",
                verbose_name="municipality",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="observation",
            name="municipality",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="municipalities.municipality",
                verbose_name="municipality",
            ),
        ),
    ]
