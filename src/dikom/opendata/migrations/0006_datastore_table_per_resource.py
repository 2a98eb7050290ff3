from django.db import migrations, models


def create_schema(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('CREATE SCHEMA IF NOT EXISTS "datastore"')


class Migration(migrations.Migration):
    """Where each DataStore table's own table is (``db_table``), the load counter, progress and chosen types."""

    dependencies = [
        ("opendata", "0005_search_term_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="datastoretable",
            name="db_table",
            field=models.CharField(blank=True, editable=False, max_length=63),
        ),
        migrations.AddField(
            model_name="datastoretable",
            name="generation",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="datastoretable",
            name="last_id",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="datastoretable",
            name="loaded_rows",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="datastoretable",
            name="type_overrides",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(create_schema, migrations.RunPython.noop),
    ]
