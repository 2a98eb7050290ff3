"""The citizen's most frequent pages run a fixed, small number of SQL statements (issue 21).

Counted on the request's own connection: the landing page, a city's portal, a service page,
a form step (GET and POST). The step's usage event is not written by the request: it goes to
the process's group committer, which stores it on its own connection in a transaction shared
with other requests' events (``dikom.analytics.groupcommit``); the tests check that it arrives
there, committed, before the answer. Transactional, because the committer stores on its own
connection.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.template import engines
from django.test.utils import CaptureQueriesContext

from dikom.lib.testing import english_client
from dikom.portal.tests.test_journey import PERSON, start, step_url

pytestmark = pytest.mark.django_db(transaction=True)


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")


def _queries(client: Any, method: str, url: str, data: Any = None) -> tuple[Any, list[str]]:
    """The answer and the SQL statements of the request (without BEGIN/COMMIT, which SQLite shows
    as statements and PostgreSQL does not)."""
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
    statements = [query["sql"] for query in captured.captured_queries]
    return response, [sql for sql in statements if not sql.upper().startswith(TRANSACTION_CONTROL)]


def test_landing_portal_and_service_page(adoption: Any) -> None:
    client = english_client()
    city = adoption.municipality.slug

    response, queries = _queries(client, "get", "/")
    assert response.status_code == 200
    assert queries == []

    # The first visit in a process also reads the adopted versions' definitions (once: released
    # versions never change, their titles are kept per process).
    response, queries = _queries(client, "get", f"/portal/{city}/")
    assert response.status_code == 200
    assert len(queries) <= 3, queries
    response, queries = _queries(client, "get", f"/portal/{city}/")
    assert response.status_code == 200
    assert len(queries) == 2, queries  # the city, its adopted services (without their definitions)
    assert '."content"' not in queries[1]  # no definition JSON

    # The first visit in a process also reads the version's definition (once: released versions
    # never change, their definitions are kept per process); later visits read it no more.
    service_url = f"/portal/{city}/dienst/{adoption.definition.slug}/"
    response, queries = _queries(client, "get", service_url)
    assert response.status_code == 200
    assert len(queries) <= 3, queries
    response, queries = _queries(client, "get", service_url)
    assert response.status_code == 200
    assert len(queries) == 2, queries  # the city, the adoption with its version (without its definition)
    assert '"eservices_serviceversion"."content"' not in queries[1]


def test_step_get_and_post_write_their_usage_event_through_the_group_commit(adoption: Any) -> None:
    from dikom.analytics import groupcommit
    from dikom.analytics.models import UsageEvent

    client = english_client()
    application = start(client, adoption)
    committer = groupcommit.committer()

    for _round in range(2):  # the second time nothing is registered any more
        groups = committer.groups
        viewed = UsageEvent.objects.filter(type="step_viewed").count()
        response, queries = _queries(client, "get", step_url(application, 1))
        assert response.status_code == 200
        # The session, the application with its city, adoption and version (its definition is
        # kept per process since the service page): nothing else.
        assert len(queries) == 2, queries
        assert '"eservices_serviceversion"."content"' not in queries[1]
        assert not any(sql.startswith(("INSERT", "UPDATE", "DELETE")) for sql in queries)
        assert UsageEvent.objects.filter(type="step_viewed").count() == viewed + 1
        assert committer.groups == groups + 1

    for _round in range(2):
        groups = committer.groups
        completed = UsageEvent.objects.filter(type="step_completed").count()
        response, queries = _queries(client, "post", step_url(application, 1), {**PERSON, "f-hat_kinder": "no"})
        assert response.status_code == 302
        # The session, the application, and the update of the answers.
        assert len(queries) == 3, queries
        assert [sql.split()[0] for sql in queries if sql.startswith(("INSERT", "UPDATE"))] == ["UPDATE"]
        assert UsageEvent.objects.filter(type="step_completed").count() == completed + 1
        assert committer.groups == groups + 1


def test_templates_are_loaded_once_per_process() -> None:
    # Django's cached loader (its default when no loaders are configured) keeps compiled
    # templates; DEBUG is off here as in production.
    loaders = engines["django"].engine.template_loaders
    assert [type(loader).__module__ for loader in loaders] == ["django.template.loaders.cached"]
