"""A released version never changes: the model, the actions and the database refuse."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from dikom.eservices import actions
from dikom.eservices.models import ReleasedVersionImmutable, ServiceVersion

pytestmark = pytest.mark.django_db


def test_the_model_refuses_to_save_or_delete_a_released_version(released):
    released.content["identity"]["title"] = {"de": "Geändert"}
    with pytest.raises(ReleasedVersionImmutable):
        released.save()
    with pytest.raises(ReleasedVersionImmutable):
        ServiceVersion.objects.get(pk=released.pk).delete()


def test_the_database_refuses_an_update_of_a_released_version(released):
    # Around the model: a bulk UPDATE, as any database client could send it
    with pytest.raises(DatabaseError), transaction.atomic():
        ServiceVersion.objects.filter(pk=released.pk).update(content={"format": "tampered"})
    with pytest.raises(DatabaseError), transaction.atomic():
        ServiceVersion.objects.filter(pk=released.pk).update(status="draft")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE eservices_serviceversion SET content_hash = 'x' WHERE id = %s", [released.pk])
    released.refresh_from_db()
    assert released.status == "released"
    assert released.content["identity"]["title"]["de"] == "Bewohnerparkausweis"


def test_unreleased_versions_can_still_be_updated(draft):
    ServiceVersion.objects.filter(pk=draft.pk).update(review_round=0)  # the trigger lets drafts through


def test_actions_refuse_to_edit_submit_or_withdraw_a_released_version(released, designer_a):
    with pytest.raises(actions.WorkflowError):
        actions.update_draft(released, actor=designer_a, content={**released.content, "summary_step": False})
    with pytest.raises(actions.WorkflowError):
        actions.submit_for_review(released, actor=designer_a)
    with pytest.raises(actions.WorkflowError):
        actions.withdraw_version(released, actor=designer_a)


def test_the_designer_cannot_edit_a_released_version(released, designer_a, as_user):
    client = as_user(designer_a)
    base = f"/dienste/{released.definition.slug}/v1/bearbeiten/"
    response = client.get(base)
    assert response.status_code == 302
    assert response["Location"] == f"/dienste/{released.definition.slug}/v1/"
    response = client.post(base + "identitaet/", {"content_hash": released.content_hash, "title_de": "Neu"})
    assert response.status_code == 302
    released.refresh_from_db()
    assert released.content["identity"]["title"]["de"] == "Bewohnerparkausweis"


def test_improvements_are_a_new_version_with_the_released_content(released, designer_a, as_user):
    client = as_user(designer_a)
    response = client.post(f"/dienste/{released.definition.slug}/neue-version/")
    assert response.status_code == 302
    v2 = ServiceVersion.objects.get(definition=released.definition, number=2)
    assert v2.content == released.content
    assert v2.based_on == released
    # only one version in progress at a time
    with pytest.raises(actions.WorkflowError):
        actions.start_new_version(released.definition, actor=designer_a)
