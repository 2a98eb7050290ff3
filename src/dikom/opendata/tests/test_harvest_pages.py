"""The publishers' harvest pages: add a source (SSRF-checked at once), see the log, harvest now, pause; other
cities' publishers see nothing of it."""

from __future__ import annotations

import pytest

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.lib.testing import run_task_worker
from dikom.opendata.models import HarvestRun, HarvestSource

pytestmark = pytest.mark.django_db


def test_publisher_adds_a_source_and_harvests_it_now(
    client,
    login,
    publisher_a,
    org_a,
    city_b,
    remote,
    settings,
    django_capture_on_commit_callbacks,
) -> None:
    base, fixture = remote
    fixture.routes = {"/katalog.ttl": ("text/turtle", b"garbage <<<")}
    login(client, publisher_a)
    page = client.get("/opendata/verwaltung/harvesting/")
    assert page.status_code == 200 and "Noch keine Quellen." in page.content.decode()
    form = {"organization": org_a.pk, "title": "Landesportal", "kind": "dcat", "every_hours": 24}

    settings.DIKOM_OPENDATA_HARVEST_ALLOW_PRIVATE = False
    refused = client.post("/opendata/verwaltung/harvesting/", {**form, "url": "http://169.254.169.254/x"})
    assert refused.status_code == 200 and "privates oder reserviertes Netz" in refused.content.decode()
    assert not HarvestSource.objects.exists()

    settings.DIKOM_OPENDATA_HARVEST_ALLOW_PRIVATE = True
    saved = client.post("/opendata/verwaltung/harvesting/", {**form, "url": f"{base}/katalog.ttl"})
    source = HarvestSource.objects.get()
    assert saved.status_code == 302 and saved["Location"] == f"/opendata/verwaltung/harvesting/{source.uuid}/"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/opendata/verwaltung/harvesting/{source.uuid}/aktion", {"action": "run"})
    run_task_worker()
    assert source.runs.get().status == HarvestRun.Status.FAILED
    detail = client.get(f"/opendata/verwaltung/harvesting/{source.uuid}/").content.decode()
    assert "Fehlgeschlagen" in detail and "nicht mit lesbarem RDF" in detail

    client.post(f"/opendata/verwaltung/harvesting/{source.uuid}/aktion", {"action": "pause"})
    source.refresh_from_db()
    assert source.active is False

    other = MembershipFactory(user__username="publisher-b", municipality=city_b, role=Role.DATA_PUBLISHER).user
    login(client, other)
    assert client.get(f"/opendata/verwaltung/harvesting/{source.uuid}/").status_code == 403
    assert "Landesportal" not in client.get("/opendata/verwaltung/harvesting/").content.decode()
    client.logout()
    assert client.get("/opendata/verwaltung/harvesting/").status_code == 302
