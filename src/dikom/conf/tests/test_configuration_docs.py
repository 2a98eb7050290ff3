from pathlib import Path

from django.conf import settings

from dikom.conf.env import REGISTRY
from dikom.conf.management.commands.configuration_docs import render


def test_configuration_docs_are_in_sync_with_the_code():
    committed = (Path(settings.BASE_DIR) / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == render(), "run: python manage.py configuration_docs"


def test_every_setting_has_help_and_secrets_do_not_show_defaults():
    assert "DATABASE_URL" in REGISTRY
    assert all(doc.help.strip() for doc in REGISTRY.values())
    assert REGISTRY["DIKOM_SECRET_KEY"].secret
    assert "insecure" not in render()
