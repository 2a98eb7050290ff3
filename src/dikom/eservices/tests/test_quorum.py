"""Counting approvals towards the release quorum."""

from __future__ import annotations

import pytest

from dikom.eservices import actions
from dikom.eservices.models import ServiceVersion

pytestmark = pytest.mark.django_db

Status = ServiceVersion.Status


def _approve(version, user, city):
    return actions.review_version(version, actor=user, municipality=city, decision="approve")


def test_two_approvals_of_the_same_city_count_once(in_review, reviewer_b, reviewer_b2, city_b):
    _approve(in_review, reviewer_b, city_b)
    _approve(in_review, reviewer_b2, city_b)

    in_review.refresh_from_db()
    assert in_review.status == Status.IN_REVIEW
    assert [r.municipality for r in actions.current_approvals(in_review)] == [city_b]


def test_approvals_of_older_content_do_not_count(in_review, designer_a, reviewer_b, reviewer_c, city_b, city_c):
    # Given B approved round 1, then C requested changes
    _approve(in_review, reviewer_b, city_b)
    actions.review_version(
        in_review, actor=reviewer_c, municipality=city_c, decision="request_changes", body="Zone D fehlt."
    )
    in_review.refresh_from_db()
    assert in_review.status == Status.CHANGES_REQUESTED

    # When the designer changes the content and resubmits
    content = in_review.content
    content["steps"][1]["fields"][0]["label"] = {"de": "Amtliches Kennzeichen"}
    actions.update_draft(in_review, actor=designer_a, content=content)
    actions.submit_for_review(in_review, actor=designer_a)
    in_review.refresh_from_db()
    assert in_review.review_round == 2

    # Then B's approval of the old content does not count: C's approval alone does not release
    assert actions.current_approvals(in_review) == []
    _approve(in_review, reviewer_c, city_c)
    in_review.refresh_from_db()
    assert in_review.status == Status.IN_REVIEW
    # B approves the new content: two cities on the current content release it
    _approve(in_review, reviewer_b, city_b)
    in_review.refresh_from_db()
    assert in_review.status == Status.RELEASED
    assert in_review.release_quorum["round"] == 2


def test_resubmission_without_changes_keeps_approvals_of_the_same_content(
    in_review, designer_a, reviewer_b, reviewer_c, city_b, city_c
):
    _approve(in_review, reviewer_b, city_b)
    actions.review_version(in_review, actor=reviewer_c, municipality=city_c, decision="request_changes", body="?")
    actions.submit_for_review(in_review, actor=designer_a)
    in_review.refresh_from_db()
    assert [r.municipality for r in actions.current_approvals(in_review)] == [city_b]


def test_the_authoring_city_cannot_approve_its_own_version(in_review, reviewer_a, city_a, as_user):
    with pytest.raises(actions.WorkflowError):
        _approve(in_review, reviewer_a, city_a)

    # Through the page: A's reviewer sees the version but has no decision form and is refused
    client = as_user(reviewer_a)
    page = client.get(f"/dienste/{in_review.definition.slug}/v1/")
    assert page.status_code == 200
    assert b"Your decision" not in page.content
    response = client.post(f"/dienste/{in_review.definition.slug}/v1/entscheidung/", {"decision": "approve"})
    assert response.status_code == 403
    assert in_review.reviews.count() == 0


def test_the_quorum_is_configurable(in_review, reviewer_b, reviewer_c, city_b, city_c, settings):
    settings.DIKOM_ESERVICES_RELEASE_QUORUM = 1
    _approve(in_review, reviewer_b, city_b)
    in_review.refresh_from_db()
    assert in_review.status == Status.RELEASED
    assert in_review.release_quorum["required"] == 1


def test_a_higher_quorum_waits_for_more_cities(in_review, reviewer_b, reviewer_c, city_b, city_c, settings):
    settings.DIKOM_ESERVICES_RELEASE_QUORUM = 3
    _approve(in_review, reviewer_b, city_b)
    _approve(in_review, reviewer_c, city_c)
    in_review.refresh_from_db()
    assert in_review.status == Status.IN_REVIEW


def test_comments_only_and_reviews_outside_review_are_refused(draft, in_review, reviewer_b, city_b):
    actions.review_version(in_review, actor=reviewer_b, municipality=city_b, decision="comment_only", body="Gut.")
    in_review.refresh_from_db()
    assert in_review.status == Status.IN_REVIEW
    with pytest.raises(actions.WorkflowError):
        actions.review_version(in_review, actor=reviewer_b, municipality=city_b, decision="request_changes", body="")


def test_a_released_version_cannot_be_reviewed_again(released, reviewer_b, city_b):
    with pytest.raises(actions.WorkflowError):
        _approve(released, reviewer_b, city_b)
