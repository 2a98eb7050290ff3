"""The open usage tables appear as a dataset of the publishing city in the open data portal (issue 16, item 7)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.core.management import call_command
from django.utils import timezone

from dikom.analytics.models import Service
from dikom.analytics.sharing import opendata_dataset
from dikom.lib import periodic
from dikom.lib.testing import run_task_worker
from dikom.opendata.models import Dataset

from .conftest import stats

YEAR = timezone.localdate().year - 1


@pytest.fixture
def usage(city_a, city_b):
    parking = Service.objects.create(municipality=city_a, name="Bewohnerparkausweis", external_key="parking")
    stats(parking, date(YEAR, 3, 10), visits=60, starts=40, completions=30)
    stats(parking, date(YEAR, 4, 2), visits=50, starts=30, completions=20)
    other = Service.objects.create(municipality=city_b, name="Hundesteuer", external_key="dogs")
    stats(other, date(YEAR, 3, 10), visits=60, starts=40, completions=30)
    return parking


def switch(client, login, user, city, enabled, capture):
    login(client, user)
    with capture(execute=True):
        response = client.post(f"/analytics/vergleich/{city.slug}/opendata/", {"enabled": "on" if enabled else "off"})
    assert response.status_code in (200, 302)
    client.logout()
    run_task_worker()


def usage_dataset(city):
    return Dataset.objects.get(generated_key=opendata_dataset.KEY, organization__municipality=city)


def test_switching_publication_on_publishes_the_dataset_with_working_links(
    client, login, owner, city_a, usage, django_capture_on_commit_callbacks
):
    switch(client, login, owner, city_a, True, django_capture_on_commit_callbacks)

    dataset = usage_dataset(city_a)
    assert dataset.state == Dataset.State.PUBLISHED and dataset.name == "fulda-nutzung-online-dienste"
    body = client.get("/api/3/action/package_show", {"id": dataset.name}).json()["result"]
    assert body["organization"]["name"] == "fulda" and body["license_id"] == "dl-zero-de/2.0"
    assert "Nutzung der Online-Dienste" in body["title"]
    urls = [r["url"] for r in body["resources"]]
    expected = [f"/opendata/nutzungsstatistik/{city_a.ags}/{YEAR}-04.csv", f"/{city_a.ags}/{YEAR}.json"]
    for part in expected:
        assert any(url.endswith(part) for url in urls), part
    extras = {e["key"]: e["value"] for e in body["extras"]}
    assert extras["frequency"] == "MONTHLY" and extras["temporal_start"] == f"{YEAR}-03-01"
    # The links work: the CSV behind the first resource is the city's protected table.
    path = "/opendata/" + urls[0].split("/opendata/", 1)[1]
    rows = list(csv.DictReader(io.StringIO(client.get(path).content.decode())))
    assert rows[-1]["row_type"] == "total" and rows[0]["service"] == "Bewohnerparkausweis"
    # Found by the portal's German search, and only for the publishing city.
    found = client.get("/api/3/action/package_search", {"q": "Nutzung Online-Dienste"}).json()["result"]
    assert [r["name"] for r in found["results"]] == ["fulda-nutzung-online-dienste"]


def test_refreshing_is_idempotent_and_follows_frozen_and_corrected_months(
    client, login, owner, city_a, usage, django_capture_on_commit_callbacks
):
    switch(client, login, owner, city_a, True, django_capture_on_commit_callbacks)
    dataset = usage_dataset(city_a)
    revisions = dataset.revisions.count()
    # The hourly job and repeated calls change nothing when nothing changed.
    from dikom.analytics.sharing import tasks

    tasks.refresh_usage_datasets.enqueue()
    run_task_worker()
    opendata_dataset.refresh(city_a)
    assert usage_dataset(city_a).revisions.count() == revisions

    # Serving a month freezes it; the dataset names its version and publication date.
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(f"/opendata/nutzungsstatistik/{city_a.ags}/{YEAR}-03.csv").status_code == 200
    run_task_worker()
    dataset = usage_dataset(city_a)
    assert dataset.revisions.count() == revisions + 1
    march = dataset.resources.get(name=f"Monat {YEAR}-03 (CSV)")
    assert march.description.startswith("Version 1")

    # A correction publishes version 2 and the dataset follows.
    stats(usage, date(YEAR, 3, 20), visits=30, starts=20, completions=15)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("correct_open_data_month", city_a.ags, f"{YEAR}-03", reason="Nachgelieferte Daten")
    run_task_worker()
    march = usage_dataset(city_a).resources.get(name=f"Monat {YEAR}-03 (CSV)")
    assert march.description.startswith("Version 2")


def test_switching_off_withdraws_and_other_cities_get_nothing(
    client, login, owner, city_a, city_b, usage, django_capture_on_commit_callbacks
):
    switch(client, login, owner, city_a, True, django_capture_on_commit_callbacks)
    assert not Dataset.objects.filter(organization__municipality=city_b).exists()

    switch(client, login, owner, city_a, False, django_capture_on_commit_callbacks)
    assert usage_dataset(city_a).state == Dataset.State.WITHDRAWN
    found = client.get("/api/3/action/package_search", {"q": "Nutzung"}).json()["result"]
    assert found["count"] == 0
    assert client.get("/opendata/datensaetze/fulda-nutzung-online-dienste/").status_code == 404

    # Switched on again: the same dataset (same address) is published again.
    switch(client, login, owner, city_a, True, django_capture_on_commit_callbacks)
    assert usage_dataset(city_a).state == Dataset.State.PUBLISHED
    assert Dataset.objects.filter(generated_key=opendata_dataset.KEY).count() == 1


def test_a_city_without_complete_months_gets_no_empty_dataset(
    client, login, owner, city_a, django_capture_on_commit_callbacks
):
    switch(client, login, owner, city_a, True, django_capture_on_commit_callbacks)
    assert not Dataset.objects.filter(generated_key=opendata_dataset.KEY).exists()


def test_the_hourly_job_is_registered() -> None:
    job = periodic.JOBS["analytics.usage_dataset"]
    assert job.task_path == "dikom.analytics.sharing.tasks.refresh_usage_datasets" and job.every_seconds == 3600
