"""Questions about a shared online service appear on its library page, for the cooperation's staff
only (the library page itself is public); "Frage stellen" opens the forum form with the service chosen."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.forum import actions as forum_actions
from dikom.forum.models import Category, Topic

pytestmark = pytest.mark.django_db


def test_service_questions_on_the_library_page_for_staff_only(
    released: Any, city_b: Any, citizen: Any, login: Any
) -> None:
    slug = released.definition.slug
    staff = MembershipFactory(user__username="fragt", municipality=city_b, role=Role.STAFF_MEMBER).user
    client = login(Client(), staff)
    page = client.get(f"/dienste/{slug}/").content.decode()
    assert "Fragen im Transferforum" in page and "Noch keine Fragen zu diesem Onlinedienst." in page
    assert f'href="/transferforum/fragen/neu/?dienst={slug}"' in page and "Frage stellen" in page
    # The link opens the question form with the service chosen
    form = client.get(f"/transferforum/fragen/neu/?dienst={slug}").content.decode()
    assert f'<option value="{slug}" selected>' in form
    response = client.post(
        "/transferforum/fragen/neu/",
        {
            "category": Category.objects.get(slug="onlinedienste").pk,
            "title": "Kulanzregel beim Umzug?",
            "body": "Wie kulant seid ihr beim Umzug?",
            "services": [slug],
        },
    )
    assert response.status_code == 302
    topic = Topic.objects.get()
    assert [t.service_slug for t in topic.tags.all()] == [slug]
    forum_actions.ask_question(author=staff, category=Category.objects.first(), title="Anderes Thema", body="x")
    page = client.get(f"/dienste/{slug}/").content.decode()
    assert "Kulanzregel beim Umzug?" in page and "Anderes Thema" not in page
    topic_page = client.get(f"/transferforum/fragen/{topic.uuid}/").content.decode()
    assert f'href="/dienste/{slug}/"' in topic_page
    # Never shown to the public or to citizens
    for visitor in (Client(), login(Client(), citizen)):
        public = visitor.get(f"/dienste/{slug}/")
        assert public.status_code == 200
        assert "Kulanzregel" not in public.content.decode() and "Transferforum" not in public.content.decode()
