from django.db import migrations


def forget(apps, schema_editor):
    """Submitted applications no longer keep the visit id their usage events were keyed with."""
    Application = apps.get_model("portal", "Application")
    Application.objects.exclude(status="draft").exclude(visit_id="").update(visit_id="")


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0003_application_visit_id_blank"),
    ]

    # Irreversible in substance (the ids are gone on purpose); reversing leaves them empty.
    operations = [migrations.RunPython(forget, migrations.RunPython.noop)]
