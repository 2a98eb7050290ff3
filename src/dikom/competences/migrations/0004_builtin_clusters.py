"""The competence clusters of the Virtual Competence Center the cooperation starts with (data only)."""

from typing import Any

from django.db import migrations

from dikom.competences.builtin import CLUSTERS


def create(apps: Any, schema_editor: Any) -> None:
    Cluster = apps.get_model("competences", "Cluster")
    for key, name, description, codes in CLUSTERS:
        Cluster.objects.get_or_create(
            key=key, defaults={"name": name, "description": description, "competence_codes": codes}
        )


def remove(apps: Any, schema_editor: Any) -> None:
    apps.get_model("competences", "Cluster").objects.filter(key__in=[c[0] for c in CLUSTERS]).delete()


class Migration(migrations.Migration):
    dependencies = [("competences", "0003_trainings_clusters_experts")]
    operations = [migrations.RunPython(create, remove)]
