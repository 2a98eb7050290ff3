from django.db import migrations


class Migration(migrations.Migration):
    """The shared row table is empty of meaning once every table lives on its own (0007)."""

    dependencies = [
        ("opendata", "0007_datastore_rows_into_tables"),
    ]

    operations = [
        migrations.DeleteModel(
            name="DatastoreRow",
        ),
    ]
