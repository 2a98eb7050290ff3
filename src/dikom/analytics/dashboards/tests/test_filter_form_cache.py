"""The analytics pages' period filter through ``dikom.lib.formcache`` (issue 21, item 4): the overview,
the service page and the comments are byte for byte what the field loop of ``includes/filters.html``
wrote (kept here as the reference, from commit 601aedb), in German and English, unbound and bound
(a chosen period, a sort, invalid dates), filled and read from the cache; another city's services
never appear. The overview's services read through a compiled statement are the ORM's."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.template import engines
from django.template.loader import render_to_string
from django.utils import translation

from dikom.analytics.dashboards.forms import FilterForm
from dikom.analytics.dashboards.tests.conftest import period_query
from dikom.lib import formcache

pytestmark = pytest.mark.django_db

OLD_INCLUDE = """{% load i18n %}<form class="form filters" method="get" action="">
  {% if form.non_field_errors %}<div class="notice notice--warning" role="alert">{{ form.non_field_errors }}</div>{% endif %}
  {% for field in form %}
  <p>
    <label for="{{ field.id_for_label }}">{{ field.label }}</label>
    {{ field }}
    {% if field.errors %}<span class="errorlist" id="{{ field.id_for_label }}-errors">{{ field.errors|join:" " }}</span>{% endif %}
  </p>
  {% endfor %}
  {% if request.GET.sort %}<input type="hidden" name="sort" value="{{ request.GET.sort }}">{% endif %}
  <p><button class="button" type="submit">{% translate "Apply" %}</button></p>
</form>
<p class="card__meta">{% blocktranslate with since=period.since|date:"SHORT_DATE_FORMAT" until=period.until|date:"SHORT_DATE_FORMAT" %}Period: {{ since }} to {{ until }}{% endblocktranslate %}{% if previous %} · {% blocktranslate with since=previous.since|date:"SHORT_DATE_FORMAT" until=previous.until|date:"SHORT_DATE_FORMAT" %}compared with {{ since }} to {{ until }}{% endblocktranslate %}{% endif %}</p>
{% if period.incomplete %}<p class="notice" role="note">{% translate "The period includes today, which is not over yet: its figures are still growing, so no change against the previous period is shown. Periods of the presets end yesterday." %}</p>{% endif %}
"""

LOOP = """{% for field in form %}
  <p>
    <label for="{{ field.id_for_label }}">{{ field.label }}</label>
    {{ field }}
    {% if field.errors %}<span class="errorlist" id="{{ field.id_for_label }}-errors">{{ field.errors|join:" " }}</span>{% endif %}
  </p>
  {% endfor %}"""

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
QUERIES = [
    {},
    {"sort": "name"},
    {"period": "custom", "since": "2026-01-01", "until": "2026-02-01", "granularity": "week"},
    {"period": "custom", "since": "2026-03-01", "until": "2026-02-01"},  # "to" before "from": errors shown
    {"period": "custom", "since": "kein Datum"},
    {"channel": "web"},
]


@pytest.fixture(autouse=True)
def _empty_cache() -> Any:
    formcache.clear()
    yield
    formcache.clear()


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_form_renders_the_loop_of_the_include(language: str) -> None:
    loop = engines["django"].from_string(LOOP)
    with translation.override(language):
        for data in [None, *QUERIES]:
            form = FilterForm(data)
            expected = loop.render({"form": FilterForm(data)}).strip()  # a form's renderer strips its HTML
            assert str(form) == expected
            assert str(formcache.rendered(form)) == expected
            assert str(formcache.rendered(FilterForm(data))) == expected  # the second time from the cache


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_include_is_byte_equal_to_the_one_with_the_loop(language: str, rf: Any) -> None:
    old = engines["django"].from_string(OLD_INCLUDE)
    with translation.override(language):
        for data in [None, *QUERIES]:
            request = rf.get("/analytics/fulda/", data or {})
            form = FilterForm(data)
            period = form.get_period()
            context = {"form": form, "period": period, "previous": period.previous()}
            expected = old.render(context, request)
            for shown in (FilterForm(data), formcache.rendered(FilterForm(data)), formcache.rendered(FilterForm(data))):
                page = render_to_string(
                    "analytics_dashboards/includes/filters.html", {**context, "form": shown}, request
                )
                assert page == expected


def _page(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return CSRF.sub("", response.content.decode())


def test_pages_are_byte_equal_with_and_without_the_cache(
    client: Any, login: Any, analyst: Any, example: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(client, analyst)
    service = example["parking"]
    urls = ["/analytics/fulda/", "/analytics/fulda/" + period_query(), "/analytics/fulda/?sort=-name"]
    urls += [f"/analytics/fulda/dienste/{service.uuid}/", f"/analytics/fulda/dienste/{service.uuid}/kommentare/"]
    for language, label in (("de", ">Zeitraum</label>"), ("en", ">Period</label>")):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        cached = [[_page(client, url) for url in urls] for _round in range(2)]
        with monkeypatch.context() as patch:
            patch.setattr(formcache, "rendered", lambda form: form)
            plain = [_page(client, url) for url in urls]
        assert cached[0] == plain and cached[1] == plain
        assert label in plain[0] and 'name="period"' in plain[0] and "Gießener Dienst" not in "".join(plain)


def test_the_overview_s_services_are_the_orm_s(example: Any, city_a: Any, city_b: Any) -> None:
    from dikom.analytics.dashboards import queries
    from dikom.analytics.models import Service

    for city in (city_a, city_b):
        orm = list(Service.objects.filter(municipality_id=city.pk).order_by("name", "pk"))
        read = queries._SERVICES.all(city.pk)
        assert orm and [vars_of(s) for s in read] == [vars_of(s) for s in orm]
    assert "Gießener Dienst" not in {s.name for s in queries._SERVICES.all(city_a.pk)}


def vars_of(obj: Any) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
