from django.utils import translation

from dikom.web.management.commands.check_catalogs import catalog_problems


def test_german_catalog_is_complete():
    assert catalog_problems() == []


def test_german_is_the_default_and_translations_are_compiled():
    with translation.override("de"):
        assert translation.gettext("Municipality administrator") == "Administration der Kommune"
    with translation.override("en"):
        assert translation.gettext("Municipality administrator") == "Municipality administrator"
