"""The forum's first categories (data only)."""

from typing import Any

from django.db import migrations

from dikom.forum.builtin import CATEGORIES


def create(apps: Any, schema_editor: Any) -> None:
    Category = apps.get_model("forum", "Category")
    for slug, name, description, position in CATEGORIES:
        Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position}
        )


def remove(apps: Any, schema_editor: Any) -> None:
    apps.get_model("forum", "Category").objects.filter(slug__in=[c[0] for c in CATEGORIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("forum", "0001_topics_answers_events")]
    operations = [migrations.RunPython(create, remove)]
