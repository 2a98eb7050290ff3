"""Server-side validation of a citizen's answers to one step."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from dikom.eservices.definition.fields import clean_answers, iban_is_valid, validate_answers

TODAY = dt.date(2025, 5, 16)
STEP = {
    "key": "halter",
    "title": {"de": "Antragsteller"},
    "fields": [
        {"key": "hinweis", "type": "info", "label": {"de": "Hinweis"}, "text": {"de": "Bitte ausfüllen"}},
        {"key": "name", "type": "text", "label": {"de": "Name"}, "required": True, "validation": {"max_length": 5}},
        {"key": "mail", "type": "email", "label": {"de": "E-Mail"}},
        {"key": "telefon", "type": "phone", "label": {"de": "Telefon"}},
        {"key": "iban", "type": "iban", "label": {"de": "IBAN"}},
        {"key": "plz", "type": "postcode", "label": {"de": "PLZ"}},
        {"key": "anzahl", "type": "number", "label": {"de": "Anzahl"}, "validation": {"min": 1, "max": 3}},
        {"key": "geburt", "type": "date", "label": {"de": "Geburt"}, "validation": {"max_date": "today-1"}},
        {"key": "hund", "type": "yes_no", "label": {"de": "Hund?"}, "required": True},
        {
            "key": "rasse",
            "type": "select",
            "label": {"de": "Rasse"},
            "required": True,
            "options": [{"value": "dackel", "label": {"de": "Dackel"}}],
            "visible_if": {"==": [{"var": "halter.hund"}, "yes"]},
        },
        {
            "key": "grund",
            "type": "long_text",
            "label": {"de": "Grund"},
            "required_if": {"==": [{"var": "halter.hund"}, "no"]},
        },
        {"key": "agb", "type": "checkbox", "label": {"de": "Zustimmung"}, "required": True},
        {
            "key": "foto",
            "type": "file",
            "label": {"de": "Foto"},
            "accept": ["image/jpeg"],
            "max_bytes": 1000,
        },
        {
            "key": "kinder",
            "type": "repeating_group",
            "label": {"de": "Kinder"},
            "max_items": 2,
            "fields": [
                {"key": "vorname", "type": "text", "label": {"de": "Vorname"}, "required": True},
                {
                    "key": "alter",
                    "type": "number",
                    "label": {"de": "Alter"},
                    "required_if": {"!!": [{"var": "halter.kinder.vorname"}]},
                },
            ],
        },
    ],
}
GOOD = {"name": "Anna", "hund": "yes", "rasse": "dackel", "agb": "on"}


@pytest.fixture(autouse=True)
def english():
    """Assert on the English msgids; the German catalogue is checked separately."""
    with translation.override("en"):
        yield


def test_messages_are_german_by_default():
    with translation.override("de"):
        result = validate_answers(STEP, {**GOOD, "name": ""}, today=TODAY)
    assert result["name"] == ["Dieses Feld ist erforderlich."]


def errors(**answers):
    return validate_answers(STEP, {**GOOD, **answers}, today=TODAY)


def test_good_answers():
    assert errors() == {}


def test_required_and_specific_messages():
    result = validate_answers(STEP, {}, today=TODAY)
    assert set(result) == {"name", "hund", "agb"}
    assert result["name"] == ["This field is required."]


def test_hidden_fields_are_not_required_and_discarded():
    result = clean_answers(STEP, {**GOOD, "hund": "no", "rasse": "pudel", "grund": "Allergie"}, today=TODAY)
    assert result.errors == {}
    assert "rasse" not in result.values


def test_required_if():
    assert errors(hund="no", rasse=None) == {"grund": ["This field is required."]}


def test_type_specific_messages():
    result = errors(
        name="Annabella",
        mail="kein-at",
        telefon="abc",
        iban="DE89370400440532013001",
        plz="1234",
        anzahl="7",
        geburt="2030-01-01",
        rasse="mops",
    )
    assert set(result) == {"name", "mail", "telefon", "iban", "plz", "anzahl", "geburt", "rasse"}
    assert result["iban"] == ["Please enter a valid IBAN."]


def test_cleaned_values():
    values = clean_answers(
        STEP,
        {
            **GOOD,
            "iban": "de89 3704 0044 0532 0130 00",
            "anzahl": "2,0",
            "geburt": "17.05.1990",
            "telefon": "+49 (661) 102-0",
        },
        today=TODAY,
    ).values
    assert values["iban"] == "DE89370400440532013000"
    assert values["anzahl"] == 2
    assert values["geburt"] == "1990-05-17"
    assert values["agb"] is True
    assert "hinweis" not in values


def test_checkbox_required_means_ticked():
    assert "agb" in errors(agb="")


def test_file_metadata():
    result = errors(foto={"name": "x.png", "size": 5000, "content_type": "image/png"})
    assert len(result["foto"]) == 2


def test_repeating_group_items_and_bounds():
    result = errors(kinder=[{"vorname": "Ben"}, {"alter": "3"}, {"vorname": "Lia", "alter": "1"}])
    assert result["kinder"] == ["Please add at most 2 entries."]
    assert result["kinder[0].alter"] == ["This field is required."]
    assert result["kinder[1].vorname"] == ["This field is required."]


def test_rules_see_earlier_steps():
    step = {
        "key": "zwei",
        "fields": [
            {"key": "x", "type": "text", "label": {"de": "X"}, "required_if": {"==": [{"var": "eins.a"}, "yes"]}}
        ],
    }
    assert validate_answers(step, {}, all_answers={"eins": {"a": "yes"}}) == {"x": ["This field is required."]}
    assert validate_answers(step, {}, all_answers={"eins": {"a": "no"}}) == {}


def test_iban_checksum():
    assert iban_is_valid("DE89 3704 0044 0532 0130 00")
    assert iban_is_valid("AT611904300234573201")
    assert not iban_is_valid("DE89 3704 0044 0532 0130 01")
    assert not iban_is_valid("DE8937040044053201300")  # wrong length for DE


def _with_checksum(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


@given(st.text(alphabet="0123456789", min_size=18, max_size=18))
def test_generated_german_ibans_are_accepted(bban):
    assert iban_is_valid(_with_checksum("DE", bban))


@given(st.text(alphabet="0123456789", min_size=18, max_size=18), st.integers(0, 17), st.integers(1, 9))
def test_single_digit_errors_are_caught(bban, position, delta):
    iban = _with_checksum("DE", bban)
    broken = list(iban)
    broken[4 + position] = str((int(broken[4 + position]) + delta) % 10)
    assert not iban_is_valid("".join(broken))


@given(st.text(max_size=40))
def test_random_text_never_crashes(value):
    for key in ("iban", "plz", "mail", "telefon", "anzahl", "geburt", "name"):
        result = errors(**{key: value})
        assert all(isinstance(m, str) for messages in result.values() for m in messages)


@given(st.from_regex(r"\A[0-9]{5}\Z"))
def test_postcodes(value):
    assert "plz" not in errors(plz=value)


@given(st.emails())
def test_generated_emails_are_accepted(value):
    if len(value.split("@")[0]) <= 64 and "." in value.split("@")[1]:
        assert "mail" not in errors(mail=value)
