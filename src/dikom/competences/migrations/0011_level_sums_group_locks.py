from django.db import migrations


def reinstall(apps, schema_editor):
    """The level-sum triggers again: on PostgreSQL they now lock the groups they change in key order."""
    from dikom.competences import levelsums

    levelsums.install(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ("competences", "0010_level_sums"),
    ]

    operations = [
        migrations.RunPython(reinstall, migrations.RunPython.noop),
    ]
