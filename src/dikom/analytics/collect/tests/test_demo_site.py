"""The demo collection site: Matomo requests of Gießen's bulky-waste form become usage events at once."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from dikom.analytics.collect.demo import MATOMO_IDSITE, NAME, RULES, load_demo_collection_site
from dikom.analytics.collect.models import CollectionSite, MatomoRule
from dikom.analytics.collect.tests.conftest import DEMO_APPLICATION
from dikom.analytics.demo import load_demo_usage
from dikom.analytics.models import Service, UsageEvent
from dikom.analytics.rollups import local_zone
from dikom.demo.actions import load_demo_cooperation

pytestmark = pytest.mark.django_db

FORM = "https://formulare.giessen.example"


@pytest.fixture
def demo():
    load_demo_cooperation(password="Demo-Passwort-123")
    load_demo_usage(
        days=1, until=timezone.now().astimezone(local_zone()).date() - timedelta(days=3), whole_months=False
    )
    return load_demo_collection_site()


def track(client, headers=None, **params):
    query = urlencode({"idsite": MATOMO_IDSITE, "rec": 1, "_id": "0123456789abcdef", "send_image": 0, **params})
    return client.get(f"/matomo.php?{query}", headers=headers or {})


def test_a_visit_of_the_demo_form_lands_on_giessens_service(client, demo):
    before = UsageEvent.objects.count()

    for page in ("adresse", "gegenstaende", "termin"):
        assert track(client, url=f"{FORM}/sperrmuell/{page}?tag=1").status_code == 204
    assert track(client, e_c="Formular", e_a="Abgeschickt").status_code == 204
    assert track(client, e_c="Bewertung", e_a="Sterne", e_v=5).status_code == 204

    new = UsageEvent.objects.order_by("pk")[before:]
    service = Service.objects.get(municipality__slug="giessen", external_key="sperrmuell")
    assert [(e.type, e.step_key, e.step_position, e.rating) for e in new] == DEMO_APPLICATION
    assert {(e.service_id, e.source, e.municipality.slug) for e in new} == {(service.pk, "matomo", "giessen")}
    # One visit: the same salted key on every event, never the id the tracker sent.
    assert len({e.visit for e in new}) == 1 and "0123456789abcdef" not in {e.visit for e in new}


def test_dikoms_own_pages_may_send_pages_of_other_origins_not(client, demo):
    page = f"{FORM}/sperrmuell/adresse"
    # The test client's host is dikom's own origin (the demo form's pages live there).
    assert track(client, headers={"Origin": "http://testserver"}, url=page).status_code == 204
    assert track(client, headers={"Origin": "http://127.0.0.1:8000"}, url=page).status_code == 403
    assert track(client, headers={"Origin": "https://elsewhere.example"}, url=page).status_code == 403
    collect = f"/api/v1/analytics/collect/{demo.site_id}"
    body = json.dumps({"type": "service_started", "service": "sperrmuell", "occurred_at": timezone.now().isoformat()})
    own = client.post(collect, body, content_type="text/plain", headers={"Origin": "http://testserver"})
    other = client.post(collect, body, content_type="text/plain", headers={"Origin": "https://elsewhere.example"})
    assert (own.status_code, other.status_code) == (200, 403)


def test_loading_again_keeps_one_site_and_its_rules(demo):
    again = load_demo_collection_site()

    assert again.pk == demo.pk
    assert CollectionSite.objects.filter(name=NAME).count() == 1
    assert MatomoRule.objects.filter(site=demo).count() == len(RULES)
    assert demo.matomo_idsite == MATOMO_IDSITE


def test_the_demo_form_pages_carry_the_snippet_and_exist_only_in_a_demo(client, demo, settings):
    settings.DIKOM_DEMO = True
    visit = "0123456789abcdef0123456789abcdef"

    page = client.get(f"/demo-formular/sperrmuell/gegenstaende/?besuch={visit}").content.decode()

    assert f'data-site="{demo.site_id}"' in page and f'data-visit-id="{visit}"' in page
    assert 'data-step="gegenstaende" data-step-position="2"' in page
    assert f'href="/demo-formular/sperrmuell/termin/?besuch={visit}"' in page  # the id travels in the address
    assert 'data-dikom-event="aborted"' in page
    # No field has a name: nothing entered is sent anywhere.
    assert "name=" not in page.split("<main", 1)[1].split("</main>", 1)[0].replace('name="besuch"', "")
    made_up = client.get("/demo-formular/sperrmuell/adresse/?besuch=<script>").content.decode()
    assert "<script>" not in made_up.split('data-visit-id="', 1)[1][:40]  # an invalid id is replaced
    assert client.get("/demo-formular/sperrmuell/unbekannt/").status_code == 404

    settings.DIKOM_DEMO = False
    assert client.get("/demo-formular/sperrmuell/").status_code == 404
