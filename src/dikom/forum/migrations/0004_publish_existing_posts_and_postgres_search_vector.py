"""Posts written before drafts existed count as published; on PostgreSQL the search documents get a
generated tsvector column (configuration ``german``) with a GIN index. SQLite uses ``SearchTerm``."""

from django.db import migrations
from django.db.models import F

SEARCH_VECTOR_SQL = [
    "ALTER TABLE forum_searchdocument ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('german'::regconfig, search_text)) STORED",
    "CREATE INDEX forum_searchdoc_vector ON forum_searchdocument USING gin (search_vector)",
]


def publish_existing(apps, schema_editor):
    for name in ("Topic", "Answer"):
        model = apps.get_model("forum", name)
        model.objects.filter(published_at__isnull=True).update(published_at=F("created_at"))


def add_search_vector(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in SEARCH_VECTOR_SQL:
            schema_editor.execute(statement)


def drop_search_vector(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS forum_searchdoc_vector")
        schema_editor.execute("ALTER TABLE forum_searchdocument DROP COLUMN IF EXISTS search_vector")


class Migration(migrations.Migration):
    dependencies = [("forum", "0003_votes_revisions_subscriptions_flags_search")]

    operations = [
        migrations.RunPython(publish_existing, migrations.RunPython.noop),
        migrations.RunPython(add_search_vector, drop_search_vector),
    ]
