"""A definition with problems cannot be submitted; the problems are shown next to
the steps and fields they concern, with links to the place to fix them."""

from __future__ import annotations

import pytest

from dikom.eservices import actions
from dikom.eservices.models import ServiceVersion

pytestmark = pytest.mark.django_db


def test_problems_block_submission_with_messages_and_links(draft, designer_a, as_user):
    # Given a rule refers to a field that does not exist, and a selection field has no options
    content = draft.content
    content["steps"][0]["fields"][2]["visible_if"] = {"==": [{"var": "antrag.fehlt"}, "yes"]}
    content["steps"][1]["fields"].append({"key": "zone", "type": "select", "label": {"de": "Zone"}, "required": True})
    actions.update_draft(draft, actor=designer_a, content=content)
    draft.refresh_from_db()
    client = as_user(designer_a)
    base = f"/dienste/{draft.definition.slug}/v1/bearbeiten/"

    # When the designer submits
    response = client.post(base + "einreichen/", {"content_hash": draft.content_hash})

    # Then it is refused, the version stays a draft and the problems are listed with links
    assert response.status_code == 400
    page = response.content.decode()
    assert "cannot be submitted yet" in page
    assert "2 problems before submission" in page
    assert f'href="{base}schritte/0/felder/2/"' in page  # the field with the broken rule
    assert f'href="{base}schritte/1/felder/1/"' in page  # the selection without options
    draft.refresh_from_db()
    assert draft.status == ServiceVersion.Status.DRAFT
    assert draft.submitted_at is None

    # The step page shows each problem next to its field, the field page above its form
    step_page = client.get(base + "schritte/1/").content.decode()
    assert "1 problem" in step_page
    field_page = client.get(base + "schritte/1/felder/1/").content.decode()
    assert "Problems with this field" in field_page

    with pytest.raises(actions.SubmissionBlocked) as blocked:
        actions.submit_for_review(draft, actor=designer_a)
    assert {p.code for p in blocked.value.problems} >= {"missing_reference", "select_without_options"}


def test_a_service_without_steps_cannot_be_submitted(draft, designer_a, as_user):
    client = as_user(designer_a)
    base = f"/dienste/{draft.definition.slug}/v1/bearbeiten/"
    for _ in range(2):
        draft.refresh_from_db()
        assert client.post(base + "schritte/0/loeschen/", {"content_hash": draft.content_hash}).status_code == 302
    draft.refresh_from_db()
    assert draft.content["steps"] == []
    response = client.post(base + "einreichen/", {"content_hash": draft.content_hash})
    assert response.status_code == 400
    assert f'href="{base}#steps"' in response.content.decode()


def test_a_valid_definition_is_submitted(draft, designer_a, as_user):
    client = as_user(designer_a)
    response = client.post(
        f"/dienste/{draft.definition.slug}/v1/bearbeiten/einreichen/", {"content_hash": draft.content_hash}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == ServiceVersion.Status.IN_REVIEW
