"""Who sees which version: drafts only the authoring city's designers and administrators;
submitted versions also the working-group reviewers; released versions everyone.
A city without a reviewer never sees another city's drafts or versions in review."""

from __future__ import annotations

import pytest
from django.test import Client

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _pages(version):
    slug = version.definition.slug
    return [f"/dienste/{slug}/", f"/dienste/{slug}/v{version.number}/"]


def test_a_draft_is_seen_only_by_the_authoring_citys_designers_and_admins(
    draft, designer_a, owner, colleague, reviewer_a, reviewer_b, admin_b_only, citizen, as_user
):
    for user in (designer_a, owner):
        for url in _pages(draft):
            assert as_user(user).get(url).status_code == 200, (user, url)
    # A's caseworker and reviewer, B's reviewer and admin, a citizen, anonymous: 404, as if it did not exist
    for user in (colleague, reviewer_a, reviewer_b, admin_b_only, citizen):
        for url in _pages(draft):
            assert as_user(user).get(url).status_code == 404, (user, url)
    for url in _pages(draft):
        assert Client().get(url).status_code == 404


def test_a_version_in_review_is_hidden_from_a_city_that_is_not_a_reviewer(
    in_review, admin_b_only, reviewer_b, reviewer_a, owner, citizen, city_b, as_user
):
    # B's admin is no reviewer: 404 on every page of the version, and it is not listed anywhere
    b_admin = as_user(admin_b_only)
    for url in _pages(in_review):
        assert b_admin.get(url).status_code == 404, url
    assert in_review.definition.title not in b_admin.get("/dienste/meine/").content.decode()
    assert in_review.definition.title not in b_admin.get("/dienste/").content.decode()
    assert Client().get(_pages(in_review)[1]).status_code == 404
    assert as_user(citizen).get(_pages(in_review)[1]).status_code == 404
    # Reviewers (of another city, and of the authoring city) and A's admin see it
    for user in (reviewer_b, reviewer_a, owner):
        assert as_user(user).get(_pages(in_review)[1]).status_code == 200, user
    assert in_review.definition.title in as_user(reviewer_b).get("/dienste/meine/").content.decode()


def test_a_reviewer_may_look_but_not_edit(in_review, reviewer_b, as_user, draft):
    client = as_user(reviewer_b)
    slug = in_review.definition.slug
    assert client.get(f"/dienste/{slug}/v1/bearbeiten/").status_code == 403
    assert client.post(f"/dienste/{slug}/v1/zurueckziehen/").status_code == 403


def test_designers_of_another_city_cannot_see_or_edit_a_draft(draft, city_b, as_user):
    designer_b = MembershipFactory(user__username="designer_b", municipality=city_b, role=Role.PROCESS_DESIGNER).user
    client = as_user(designer_b)
    slug = draft.definition.slug
    assert client.get(f"/dienste/{slug}/v1/bearbeiten/").status_code == 404
    response = client.post(
        f"/dienste/{slug}/v1/bearbeiten/identitaet/", {"content_hash": draft.content_hash, "title_de": "Übernommen"}
    )
    assert response.status_code == 404
    draft.refresh_from_db()
    assert draft.content["identity"]["title"]["de"] == "Bewohnerparkausweis"


def test_a_released_version_is_public(released):
    for url in _pages(released):
        assert Client().get(url).status_code == 200
    assert released.definition.title in Client().get("/dienste/").content.decode()


def test_an_open_draft_of_a_released_service_stays_hidden(released, designer_a, admin_b_only, as_user):
    from dikom.eservices import actions

    v2 = actions.start_new_version(released.definition, actor=designer_a)
    slug = released.definition.slug
    assert as_user(admin_b_only).get(f"/dienste/{slug}/v2/").status_code == 404
    assert Client().get(f"/dienste/{slug}/v2/").status_code == 404
    page = Client().get(f"/dienste/{slug}/").content.decode()
    assert f"/dienste/{slug}/v2/" not in page
    assert as_user(designer_a).get(f"/dienste/{slug}/v2/").status_code == 200
    assert v2.status == "draft"


def test_creating_a_service_needs_the_designer_role(owner, colleague, designer_a, as_user, city_a):
    assert as_user(colleague).get("/dienste/neu/").status_code == 403
    assert as_user(owner).get("/dienste/neu/").status_code == 403
    assert as_user(designer_a).get("/dienste/neu/").status_code == 200
    assert Client().get("/dienste/neu/").status_code == 302  # to the log-in
