"""The competence clusters of the Virtual Competence Center the cooperation starts with (data only)."""

from typing import Any

from django.db import migrations

CLUSTERS = [
    ("e-akte", "E-Akte und Dokumentenmanagement", "Elektronische Akte, Scannen, Aufbewahrung.", ["1.3", "2.2", "4.2"]),
    ("ozg", "OZG-Umsetzung und Onlinedienste", "Onlinedienste planen, bauen und einführen.", ["2.1", "2.4", "3.1", "5.2"]),
    ("rpa", "Prozessautomatisierung (RPA)", "Wiederkehrende Arbeit automatisieren.", ["3.4", "5.2", "5.3"]),
    ("open-data", "Open Data", "Daten der Verwaltung offen bereitstellen.", ["1.1", "1.2", "1.3", "3.3"]),
    ("it-sicherheit", "IT-Sicherheit und Datenschutz", "Geräte, Daten und Identitäten schützen.", ["4.1", "4.2", "2.6"]),
]


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
