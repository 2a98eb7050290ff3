"""The designer in the browser, without JavaScript: every change is a form POST."""

from __future__ import annotations

import re

import pytest

from dikom.eservices.models import ServiceVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def designer(as_user, designer_a):
    return as_user(designer_a)


def _base(version: ServiceVersion) -> str:
    return f"/dienste/{version.definition.slug}/v{version.number}/bearbeiten/"


def _h(version: ServiceVersion) -> str:
    version.refresh_from_db()
    return version.content_hash


def test_steps_can_be_added_renamed_reordered_and_deleted(draft, designer):
    base = _base(draft)
    designer.post(base + "schritte/neu/", {"content_hash": _h(draft), "title_de": "Zahlung"})
    draft.refresh_from_db()
    assert [s["key"] for s in draft.content["steps"]] == ["antrag", "fahrzeug", "zahlung"]

    # Renaming a step key rewrites the rules that refer to its fields
    content = draft.content
    content["steps"][1]["fields"][0]["visible_if"] = {"==": [{"var": "antrag.zweitwagen"}, "yes"]}
    from dikom.eservices import actions

    actions.update_draft(draft, actor=None, content=content)
    response = designer.post(
        base + "schritte/0/",
        {"content_hash": _h(draft), "key": "person", "title_de": "Person", "title_en": "Person", "visible_if": ""},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.content["steps"][0]["title"] == {"de": "Person", "en": "Person"}
    assert draft.content["steps"][1]["fields"][0]["visible_if"] == {"==": [{"var": "person.zweitwagen"}, "yes"]}

    designer.post(base + "schritte/2/verschieben/", {"content_hash": _h(draft), "direction": "up"})
    draft.refresh_from_db()
    assert [s["key"] for s in draft.content["steps"]] == ["person", "zahlung", "fahrzeug"]
    designer.post(base + "schritte/1/loeschen/", {"content_hash": _h(draft)})
    draft.refresh_from_db()
    assert [s["key"] for s in draft.content["steps"]] == ["person", "fahrzeug"]


def test_fields_can_be_added_edited_reordered_and_deleted(draft, designer):
    base = _base(draft)
    response = designer.post(
        base + "schritte/0/felder/neu/", {"content_hash": _h(draft), "type": "select", "label_de": "Fahrzeugart"}
    )
    assert response["Location"] == base + "schritte/0/felder/3/"
    response = designer.post(
        base + "schritte/0/felder/3/",
        {
            "content_hash": _h(draft),
            "key": "art",
            "label_de": "Fahrzeugart",
            "label_en": "Kind of vehicle",
            "help_de": "Wie im Fahrzeugschein.",
            "required": "on",
            "options": "pkw | Pkw | Car\nkrad | Motorrad\n",
            "visible_if": "",
            "required_if": "",
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    field = draft.content["steps"][0]["fields"][3]
    assert field == {
        "key": "art",
        "type": "select",
        "label": {"de": "Fahrzeugart", "en": "Kind of vehicle"},
        "help": {"de": "Wie im Fahrzeugschein."},
        "required": True,
        "options": [
            {"value": "pkw", "label": {"de": "Pkw", "en": "Car"}},
            {"value": "krad", "label": {"de": "Motorrad"}},
        ],
    }
    designer.post(base + "schritte/0/felder/3/verschieben/", {"content_hash": _h(draft), "direction": "up"})
    draft.refresh_from_db()
    assert [f["key"] for f in draft.content["steps"][0]["fields"]] == ["name", "email", "art", "zweitwagen"]
    designer.post(base + "schritte/0/felder/2/loeschen/", {"content_hash": _h(draft)})
    draft.refresh_from_db()
    assert [f["key"] for f in draft.content["steps"][0]["fields"]] == ["name", "email", "zweitwagen"]


def test_field_validation_rules_and_messages(draft, designer):
    base = _base(draft)
    url = base + "schritte/0/felder/0/"
    common = {"content_hash": _h(draft), "key": "name", "label_de": "Name", "required": "on"}
    response = designer.post(url, {**common, "min_length": "10", "max_length": "5"})
    assert response.status_code == 400
    assert "The upper bound is smaller than the lower bound." in response.content.decode()
    response = designer.post(url, {**common, "visible_if": "{not json"})
    assert response.status_code == 400
    assert "is not valid JSON" in response.content.decode()
    response = designer.post(url, {**common, "visible_if": '{"nope": [1, 2]}'})
    assert "is not a valid rule" in response.content.decode()
    response = designer.post(url, {**common, "pattern": "(a+)+$"})
    assert "The pattern is not usable" in response.content.decode()
    response = designer.post(
        url, {**common, "max_length": "80", "pattern": "^[A-Za-zÄÖÜäöüß .-]+$", "message_de": "Nur Buchstaben."}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.content["steps"][0]["fields"][0]["validation"] == {
        "max_length": 80,
        "pattern": "^[A-Za-zÄÖÜäöüß .-]+$",
        "message": {"de": "Nur Buchstaben."},
    }


def test_fields_inside_a_repeating_group(draft, designer):
    base = _base(draft)
    designer.post(
        base + "schritte/1/felder/neu/", {"content_hash": _h(draft), "type": "repeating_group", "label_de": "Fahrzeuge"}
    )
    response = designer.post(
        base + "schritte/1/felder/neu/",
        {"content_hash": _h(draft), "type": "date", "label_de": "Erstzulassung", "group": "1"},
    )
    assert response["Location"] == base + "schritte/1/felder/1-1/"
    page = designer.get(response["Location"])
    assert page.status_code == 200
    draft.refresh_from_db()
    group = draft.content["steps"][1]["fields"][1]
    assert [f["key"] for f in group["fields"]] == ["eintrag", "erstzulassung"]
    response = designer.post(
        base + "schritte/1/felder/1-1/",
        {
            "content_hash": _h(draft),
            "key": "ez",
            "label_de": "Erstzulassung",
            "min_date": "1950-01-01",
            "max_date": "today",
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.content["steps"][1]["fields"][1]["fields"][1]["validation"] == {
        "min_date": "1950-01-01",
        "max_date": "today",
    }
    assert designer.get(base + "schritte/1/felder/1-9/").status_code == 404
    assert designer.get(base + "schritte/9/").status_code == 404


def test_fees_settings_and_documents(draft, designer):
    base = _base(draft)
    response = designer.post(
        base + "gebuehren/0/",
        {
            "content_hash": _h(draft),
            "key": "ausweis",
            "label_de": "Ausweis",
            "amount": "",
            "amount_rule": '{"if": [{"==": [{"var": "antrag.zweitwagen"}, "yes"]}, 6000, 3000]}',
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.content["fees"][0] == {
        "key": "ausweis",
        "label": {"de": "Ausweis"},
        "amount_rule": {"if": [{"==": [{"var": "antrag.zweitwagen"}, "yes"]}, 6000, 3000]},
        "locally_adjustable": False,
    }
    response = designer.post(base + "gebuehren/", {"content_hash": _h(draft), "label_de": "Leer"})
    assert response.status_code == 400
    assert "Enter an amount or a calculation rule." in response.content.decode()
    designer.post(base + "gebuehren/1/loeschen/", {"content_hash": _h(draft)})
    draft.refresh_from_db()
    assert [f["key"] for f in draft.content["fees"]] == ["ausweis"]

    response = designer.post(
        base + "einstellungen/",
        {
            "content_hash": _h(draft),
            "trust_level": "substantial",
            "auth_methods": ["eid", "elster"],
            "payment_required": "on",
            "summary_step": "on",
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.content["trust_level"], draft.content["auth_methods"]) == ("substantial", ["eid", "elster"])
    designer.post(
        base + "einstellungen/dokumente/", {"content_hash": _h(draft), "kind": "receipt", "title_de": "Quittung"}
    )
    draft.refresh_from_db()
    assert draft.content["documents"][-1] == {"key": "quittung", "title": {"de": "Quittung"}, "kind": "receipt"}
    designer.post(base + "einstellungen/dokumente/0/loeschen/", {"content_hash": _h(draft)})
    draft.refresh_from_db()
    assert [d["key"] for d in draft.content["documents"]] == ["quittung"]


def test_a_stale_form_does_not_overwrite_a_colleagues_change(draft, designer):
    base = _base(draft)
    stale = _h(draft)
    designer.post(base + "schritte/neu/", {"content_hash": stale, "title_de": "Zahlung"})
    response = designer.post(base + "identitaet/", {"content_hash": stale, "title_de": "Überschrieben"}, follow=True)
    assert "was changed meanwhile" in response.content.decode()
    draft.refresh_from_db()
    assert draft.content["identity"]["title"]["de"] == "Bewohnerparkausweis"
    assert len(draft.content["steps"]) == 3


def test_live_preview_shows_the_citizens_view_and_unsaved_changes(draft, designer):
    base = _base(draft)
    page = designer.get(base + "schritte/0/felder/0/").content.decode()
    # server-rendered preview next to the editor: read-only inputs with their labels
    assert 'id="preview"' in page
    assert re.search(r'<label for="preview-0-name">Name <span class="required">\(required\)</span></label>', page)
    # the progressive enhancement is an external script only (CSP script-src 'self')
    assert '<script src="/static/eservices/designer.js" defer></script>' in page
    assert "<script>" not in page and "onclick" not in page and 'style="' not in page

    # designer.js posts the unsaved form: the preview shows it, nothing is stored
    before = _h(draft)
    fragment = designer.post(
        base + "schritte/0/vorschau/",
        {"locator": "0", "content_hash": before, "key": "name", "label_de": "Vollständiger Name", "required": "on"},
    )
    assert fragment.status_code == 200
    assert "Vollständiger Name" in fragment.content.decode()
    assert _h(draft) == before
    # and in English
    fragment = designer.get(base + "schritte/1/vorschau/?sprache=en")
    assert "Vehicle" in fragment.content.decode()


def test_the_library_and_my_services_pages(draft, released, designer, as_user, reviewer_b):
    page = designer.get("/dienste/meine/").content.decode()
    assert "Bewohnerparkausweis" in page
    assert "Draft a new service" in page
    reviewer = as_user(reviewer_b).get("/dienste/meine/").content.decode()
    assert "Waiting for review" in reviewer
    assert as_user(reviewer_b).get("/dienste/benachrichtigungen/").status_code == 200


def test_pages_have_unique_element_ids(draft, designer, as_user, reviewer_b, designer_a):
    base = _base(draft)
    urls = [base, base + "schritte/0/", base + "schritte/0/felder/0/", base + "gebuehren/", base + "gebuehren/0/",
            base + "einstellungen/", "/dienste/", "/dienste/meine/", f"/dienste/{draft.definition.slug}/"]  # fmt: skip
    for url in urls:
        page = designer.get(url).content.decode()
        ids = re.findall(r'\sid="([^"]+)"', page)
        duplicates = {i for i in ids if ids.count(i) > 1}
        assert not duplicates, (url, duplicates)
    from dikom.eservices import actions

    actions.submit_for_review(draft, actor=designer_a)
    page = as_user(reviewer_b).get(f"/dienste/{draft.definition.slug}/v1/").content.decode()
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert not {i for i in ids if ids.count(i) > 1}
