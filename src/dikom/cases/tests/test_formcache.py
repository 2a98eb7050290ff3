"""Unbound forms of the inbox and the case page rendered once per process (issue 21, item 4): the pages
are byte for byte what the template engine gave for every form, and nothing of one city's forms (its
units, its colleagues) ever appears on another city's page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django import forms
from django.utils import translation

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.cases.forms import AssignForm, CompleteForm, InboxFilterForm
from dikom.cases.models import Task
from dikom.cases.tests.staff_pages import *  # noqa: F403 - the fixtures
from dikom.cases.tests.staff_pages import case_url, client_for, submit_case
from dikom.lib import formcache

pytestmark = pytest.mark.django_db

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def _page(client: Any, url: str, **query: Any) -> str:
    response = client.get(url, query)
    assert response.status_code == 200
    return CSRF.sub('name="csrfmiddlewaretoken" value=""', response.content.decode())


def _uncached(monkeypatch: pytest.MonkeyPatch) -> None:
    """The forms as the template engine renders them, every time (the code before the cache)."""
    monkeypatch.setattr(formcache, "rendered", lambda form: form)


@pytest.fixture
def worker_giessen(city_b: Any, unit_giessen: Any) -> Any:
    return MembershipFactory(
        user__username="gerd", user__first_name="Gerd", user__last_name="Gießen", municipality=city_b,
        role=Role.CASEWORKER, org_unit=unit_giessen,
    ).user  # fmt: skip


@pytest.fixture(autouse=True)
def _empty_cache() -> Any:
    formcache.clear()
    yield
    formcache.clear()


def test_inbox_and_case_pages_are_byte_equal_to_the_template_rendering(
    adoption: Any, adoption_unit_b: Any, worker_a: Any, worker_a2: Any, login: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = [submit_case(adoption) for _index in range(3)]
    client = client_for(login, worker_a)
    views = [("/vorgaenge/fulda/", {}), ("/vorgaenge/fulda/", {"tab": "all"}), ("/vorgaenge/fulda/", {"q": "x"})]
    views += [(case_url(case), {}) for case in cases]
    cached = [[_page(client, url, **query) for url, query in views] for _round in range(2)]  # filled, then read
    with monkeypatch.context() as patch:
        _uncached(patch)
        before = [_page(client, url, **query) for url, query in views]
    assert cached[0] == before and cached[1] == before
    # the task forms of two cases share one entry; each page carries its own task's names and ids
    for case in cases[:2]:
        task = Task.objects.get(case=case, status=Task.Status.OPEN)
        assert f'name="claim-{task.uuid.hex[:12]}-lock_version"' in before[3 + cases.index(case)]


def test_a_unit_renamed_or_a_colleague_added_shows_at_once(
    adoption: Any, worker_a: Any, unit_a: Any, login: Any, city_a: Any
) -> None:
    case = submit_case(adoption)
    client = client_for(login, worker_a)
    assert "Bürgerbüro" in _page(client, "/vorgaenge/fulda/") and "Neues Amt" not in _page(client, case_url(case))
    unit_a.name = "Neues Amt"
    unit_a.save()
    MembershipFactory(user__first_name="Dora", user__last_name="Neu", municipality=city_a, role=Role.CASEWORKER)
    assert "Neues Amt" in _page(client, "/vorgaenge/fulda/")
    case_page = _page(client, case_url(case))
    assert "Neues Amt" in case_page and "Dora Neu" in case_page


def test_two_cities_never_share_their_forms(
    adoption: Any, adoption_giessen: Any, worker_a: Any, worker_giessen: Any, unit_b: Any, login: Any
) -> None:
    fulda_case, giessen_case = submit_case(adoption), submit_case(adoption_giessen)
    fulda, giessen = client_for(login, worker_a), client_for(login, worker_giessen)
    for _round in range(2):
        fulda_pages = _page(fulda, "/vorgaenge/fulda/") + _page(fulda, case_url(fulda_case))
        giessen_pages = _page(giessen, "/vorgaenge/giessen/") + _page(giessen, case_url(giessen_case))
        assert "Ordnungsamt" in fulda_pages and "Anna Amt" in fulda_pages
        assert "Ordnungsamt" not in giessen_pages and "Anna Amt" not in giessen_pages
        assert "Gerd Gießen" in giessen_pages and "Gerd Gießen" not in fulda_pages
        assert "Bürgerbüro Gießen" in giessen_pages and "Bürgerbüro Gießen" not in fulda_pages


def test_bound_forms_and_languages_are_kept_apart() -> None:
    units = [("u1", "Bürgerbüro")]
    bound = InboxFilterForm({"status": "nonsense"}, services=[], units=units)
    assert formcache.rendered(bound) is bound  # the user's input and its errors: never cached
    with translation.override("en"):
        english = formcache.rendered(InboxFilterForm(services=[], units=units))
    with translation.override("de"):
        german = formcache.rendered(InboxFilterForm(services=[], units=units))
        assert german == str(InboxFilterForm(services=[], units=units))
    assert english != german and "All units" in english
    first = formcache.rendered(AssignForm(prefix="assign-aaaa", initial={"lock_version": 1}, colleagues=[("1", "A")]))
    second = AssignForm(prefix="assign-bbbb", initial={"lock_version": 2}, colleagues=[("1", "A")])
    assert formcache.rendered(second) == str(second) and "assign-aaaa" in first and "assign-bbbb" not in first
    decided = CompleteForm(prefix="complete-cccc", initial={"lock_version": 0}, choices=[("yes", "Ja")])
    undecided = CompleteForm(prefix="complete-cccc", initial={"lock_version": 0})
    assert formcache.rendered(decided) == str(decided) and formcache.rendered(undecided) == str(undecided)


def test_initial_values_computed_per_rendering_are_never_kept() -> None:
    days = iter([dt.date(2026, 1, 1), dt.date(2026, 1, 2)])

    class Dated(forms.Form):
        day = forms.DateField(initial=lambda: next(days))

    with translation.override("de"):
        assert 'value="01.01.2026"' in str(formcache.rendered(Dated()))
        assert 'value="02.01.2026"' in str(formcache.rendered(Dated()))
    assert not formcache._rendered


def test_the_cache_holds_a_bounded_number_of_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formcache, "MAX_ENTRIES", 3)
    for index in range(10):
        form = InboxFilterForm(services=[], units=[(str(index), f"Amt {index}")])
        assert formcache.rendered(form) == str(form)
    assert len(formcache._rendered) == 3
