"""``@name`` in questions and answers links to the colleague's page, only where the reader may open it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.competences import actions as competence_actions
from dikom.competences import programme
from dikom.forum import actions
from dikom.forum.models import Category

pytestmark = pytest.mark.django_db


def _staff(city: Any, username: str, role: str = Role.STAFF_MEMBER) -> Any:
    return MembershipFactory(user__username=username, municipality=city, role=role).user


def _links(html: str) -> dict[str, str]:
    """Text → address of the mention links in the posts."""
    return {text: href for href, text in re.findall(r'<a href="([^"]*)" class="mention">([^<]*)</a>', html)}


def test_mentions_link_to_the_expert_entry_or_the_roadmap_page_the_reader_may_see(
    city_a: Any, city_b: Any, login: Any
) -> None:
    competence_actions.install_builtin_frameworks()
    asker = _staff(city_a, "anna.fragt")
    expert_user = _staff(city_b, "bernd.weiss")
    expert_staff = competence_actions.enrol_staff(
        user=expert_user, municipality=city_b, org_unit=None, role_profile=None
    )
    expert = programme.opt_in_as_expert(
        expert_staff, competence_codes=["1.1"], clusters=[], availability="dienstags", actor=expert_user
    )
    carla = _staff(city_a, "carla")
    carla_staff = competence_actions.enrol_staff(user=carla, municipality=city_a, org_unit=None, role_profile=None)
    _staff(city_b, "dora")  # in the forum, not in roadMAP
    hr_a = _staff(city_a, "hr.a", Role.HUMAN_RESOURCES)
    hr_b = _staff(city_b, "hr.b", Role.HUMAN_RESOURCES)
    topic = actions.ask_question(
        author=asker,
        category=Category.objects.order_by("pk")[0],
        title="Aktenplan",
        body=(
            "Fragen an @bernd.weiss, @carla, @dora und @niemand; nicht im Code `@bernd.weiss`, "
            "nicht im Link [@carla](https://example.org/x) und nicht in mail@bernd.weiss.de. "
            '<a href="javascript:alert(1)">@bernd.weiss</a> <script>alert(2)</script>'
        ),
    )
    actions.answer(topic, author=carla, body="Siehe @bernd.weiss **@carla**")
    expert_page = f"/kompetenzen/experten/{expert.uuid}/kontakt/"
    carla_page = f"/kompetenzen/personen/{carla_staff.uuid}/"

    page = login(Client(), asker).get(f"/transferforum/fragen/{topic.uuid}/").content.decode()
    links = re.findall(r'<a href="([^"]*)" class="mention">([^<]*)</a>', page)
    # The expert of another city: the directory's entry, from the question (the plain mention and the one in
    # the HTML shown as text; not in code, a link or an address) and the answer. Carla's roadMAP page is not
    # the asker's to see; dora and an unknown name stay text.
    assert links == [(expert_page, "@bernd.weiss")] * 3
    assert '&lt;a href=&quot;javascript:alert(1)&quot;&gt;<a href="' in page
    assert "<code>@bernd.weiss</code>" in page and '<a href="https://example.org/x">@carla</a>' in page
    assert "<script>alert(2)</script>" not in page and "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page and "mail@bernd.weiss.de" in page
    assert "<strong>@carla</strong>" in page and "@dora" in page and "@niemand" in page
    assert login(Client(), asker).get(expert_page).status_code == 200

    # HR of Carla's city and Carla herself see the link to her roadMAP page (which they may open) ...
    for reader in (hr_a, carla):
        client = login(Client(), reader)
        html = client.get(f"/transferforum/fragen/{topic.uuid}/").content.decode()
        assert _links(html) == {"@bernd.weiss": expert_page, "@carla": carla_page}
        assert client.get(carla_page).status_code == 200
    # ... HR of another city does not.
    client = login(Client(), hr_b)
    assert _links(client.get(f"/transferforum/fragen/{topic.uuid}/").content.decode()) == {"@bernd.weiss": expert_page}
    assert client.get(carla_page).status_code in (403, 404)
