"""Install the frameworks shipped as data: DigComp 2.2 and the KGSt key competences."""

from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"
FILES = ("digcomp-2.2.json", "kgst-2020.json")


def install(apps, schema_editor):
    from dikom.competences import exchange

    Framework = apps.get_model("competences", "Framework")
    FrameworkVersion = apps.get_model("competences", "FrameworkVersion")
    for name in FILES:
        content = exchange.parse_json((DATA / name).read_bytes())
        framework, _ = Framework.objects.get_or_create(
            key=content["key"], municipality=None, defaults={"is_builtin": True}
        )
        if not FrameworkVersion.objects.filter(framework=framework).exists():
            FrameworkVersion.objects.create(framework=framework, number=1, content=content)


def uninstall(apps, schema_editor):
    Framework = apps.get_model("competences", "Framework")
    Framework.objects.filter(is_builtin=True, municipality=None).delete()


class Migration(migrations.Migration):
    dependencies = [("competences", "0001_frameworks_profiles_assessments")]

    operations = [migrations.RunPython(install, uninstall)]
