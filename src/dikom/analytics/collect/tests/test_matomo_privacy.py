"""Matomo requests carry much about the visitor; none of it may be stored or logged."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.db import connection

from dikom.analytics.collect.tests.conftest import FORM_ORIGIN
from dikom.analytics.models import UsageEvent
from dikom.lib.testing import run_task_worker

pytestmark = pytest.mark.django_db

TRACES = {
    "_id": "f00dfeedc0ffee42",
    "cid": "c1d2c3d4c5d6c7d8",
    "uid": "max.mustermann@example.org",
    "cip": "203.0.113.77",
    "ua": "Mozilla/5.0 (X11; Linux x86_64) SecretBrowser/99.1",
    "urlref": "https://suchmaschine.example/?q=geheime-suche",
    "res": "1234x987",
    "lang": "de-DE,geheimsprache",
}
QUERY_SECRET = "antragsnummer=AZ-998877"


def _analytics_tables_text() -> str:
    """Every value of every column of every analytics table (core and sub-apps), as text."""
    chunks = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if not model._meta.app_label.startswith("analytics"):
                continue
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_visitor_data_is_neither_stored_nor_logged(client, site, caplog, django_capture_on_commit_callbacks):
    params = {
        "idsite": 7,
        "rec": 1,
        "url": f"https://formulare.fulda.de/antrag/parken/schritt-2?{QUERY_SECRET}",
        "action_name": "Schritt 2",
        "rand": "8877665544",
        "h": 10,
        "m": 11,
        "s": 12,
        **TRACES,
    }
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        single = client.get(
            f"/matomo.php?{urlencode(params)}",
            HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) SecretBrowser/99.1",
            HTTP_X_FORWARDED_FOR="198.51.100.23",
            REMOTE_ADDR="192.0.2.55",
            HTTP_COOKIE="_pk_id.7.abcd=cookie-value-42",
            HTTP_REFERER=f"{FORM_ORIGIN}/antrag/parken/schritt-2?{QUERY_SECRET}",
        )
        bulk = client.post(
            "/matomo.php",
            data=json.dumps({"requests": ["?" + urlencode({**params, "url": "https://formulare.fulda.de/impressum"})]}),
            content_type="application/json",
            HTTP_COOKIE="_pk_id.7.abcd=cookie-value-42",
        )
    run_task_worker()

    assert single.status_code == 200, single.content
    assert bulk.json()["unmatched"] == 1
    assert UsageEvent.objects.count() == 1
    stored = _analytics_tables_text()
    logged = caplog.text
    for trace in [
        *TRACES.values(),
        "198.51.100.23",
        "192.0.2.55",
        "cookie-value-42",
        QUERY_SECRET,
        "AZ-998877",
        "SecretBrowser",
        "geheime-suche",
        "8877665544",
    ]:
        assert trace not in stored, trace
        assert trace not in logged, trace
    assert UsageEvent.objects.get().device_class == "desktop"  # only the coarse class survives
    # the visit id became a salted daily hash
    assert UsageEvent.objects.get().visit not in (None, TRACES["cid"], TRACES["_id"])
