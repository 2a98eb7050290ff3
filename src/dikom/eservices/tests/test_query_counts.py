"""The library and the review page cost the same number of queries, however many
services, comments and reviews there are (no N+1)."""

from __future__ import annotations

import copy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dikom.eservices import actions

pytestmark = pytest.mark.django_db


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _release(content, title, designer, reviewers):
    content = copy.deepcopy(content)
    content["identity"]["title"] = {"de": title}
    version = actions.create_service(
        municipality=designer.memberships.get().municipality, actor=designer, title=title, content=content
    )
    actions.submit_for_review(version, actor=designer)
    for user in reviewers:
        actions.review_version(
            version, actor=user, municipality=user.memberships.get().municipality, decision="approve"
        )
    return version


def test_library_queries_do_not_grow_with_the_services(parking, designer_a, reviewer_b, reviewer_c, as_user, en_client):
    _release(parking, "Dienst 0", designer_a, [reviewer_b, reviewer_c])
    anonymous, staff = en_client(), as_user(designer_a)
    few = (_count(anonymous, "/dienste/"), _count(staff, "/dienste/"))
    for number in range(1, 6):
        _release(parking, f"Dienst {number}", designer_a, [reviewer_b, reviewer_c])
    many = (_count(anonymous, "/dienste/"), _count(staff, "/dienste/"))
    assert few == many
    assert many[0] <= 6


def test_review_page_queries_do_not_grow_with_comments_and_reviews(
    in_review, reviewer_b, reviewer_b2, reviewer_c, city_b, city_c, as_user
):
    url = f"/dienste/{in_review.definition.slug}/v1/"
    client = as_user(reviewer_b)
    actions.add_comment(in_review, actor=reviewer_b, municipality=city_b, body="Eins", path="steps[0].fields[0]")
    actions.review_version(in_review, actor=reviewer_b, municipality=city_b, decision="comment_only", body="x")
    few = _count(client, url)
    for number in range(5):
        actions.add_comment(in_review, actor=reviewer_c, municipality=city_c, body=f"C {number}", path="steps[1]")
        actions.add_comment(in_review, actor=reviewer_b2, municipality=city_b, body=f"B {number}")
        actions.review_version(in_review, actor=reviewer_c, municipality=city_c, decision="comment_only", body="y")
    actions.review_version(in_review, actor=reviewer_b2, municipality=city_b, decision="approve")
    many = _count(client, url)
    assert few == many
    page = client.get(url).content.decode()
    assert page.count('class="comment') >= 11
