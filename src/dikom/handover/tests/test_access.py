"""Who sees which hand-over page: admins everything of their city, caseworkers the deliveries, others nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.handover.models import Delivery
from dikom.handover.tests.conftest import make_target
from dikom.lib.testing import english_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def fulda_data(local_targets: Any, submit: Any, adoption: Any, owner: Any) -> dict[str, Any]:
    target = make_target(adoption.municipality, owner, name="Fulda-System", url="http://127.0.0.1:9/").target
    application = submit(adoption, with_file=False)
    return {"target": target, "delivery": Delivery.objects.get(application=application), "application": application}


def pages(data: dict[str, Any]) -> dict[str, str]:
    target, delivery = data["target"], data["delivery"]
    return {
        "deliveries": "/uebergabe/fulda/",
        "targets": "/uebergabe/fulda/ziele/",
        "create": "/uebergabe/fulda/ziele/neu/",
        "edit": f"/uebergabe/fulda/ziele/{target.uuid}/",
        "rotate": f"/uebergabe/fulda/ziele/{target.uuid}/neues-geheimnis/",
        "retry": f"/uebergabe/fulda/zustellungen/{delivery.uuid}/erneut/",
        "active": f"/uebergabe/fulda/ziele/{target.uuid}/aktiv/",
    }


def test_owner_sees_and_manages_everything(fulda_data: Any, owner: Any, login: Any) -> None:
    client = login(english_client(), owner)
    urls = pages(fulda_data)
    for name in ("deliveries", "targets", "create", "edit", "rotate"):
        assert client.get(urls[name]).status_code == 200, name
    html = client.get(urls["deliveries"]).content.decode()
    assert fulda_data["application"].reference in html
    assert 'href="/uebergabe/fulda/ziele/"' in html  # the targets tab


def test_caseworker_sees_deliveries_but_not_targets(fulda_data: Any, colleague: Any, login: Any) -> None:
    client = login(english_client(), colleague)
    urls = pages(fulda_data)
    page = client.get(urls["deliveries"])
    assert page.status_code == 200 and fulda_data["application"].reference in page.content.decode()
    assert 'href="/uebergabe/fulda/ziele/"' not in page.content.decode()
    for name in ("targets", "create", "edit", "rotate"):
        assert client.get(urls[name]).status_code == 403, name
    assert client.post(urls["active"], {"active": "0"}).status_code == 403
    fulda_data["target"].refresh_from_db()
    assert fulda_data["target"].active


def test_other_roles_of_the_city_get_403(fulda_data: Any, city_a: Any, login: Any) -> None:
    analyst = MembershipFactory(municipality=city_a, role=Role.ANALYST).user
    client = login(english_client(), analyst)
    urls = pages(fulda_data)
    assert client.get(urls["deliveries"]).status_code == 403
    assert client.post(urls["retry"]).status_code == 403


def test_another_citys_admin_gets_404_everywhere(fulda_data: Any, outsider: Any, login: Any) -> None:
    client = login(english_client(), outsider)
    for name, url in pages(fulda_data).items():
        assert client.get(url).status_code in (404, 405), name
        assert client.post(url).status_code == 404, name
    delivery = fulda_data["delivery"]
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING


def test_another_citys_objects_under_ones_own_city_are_404(
    fulda_data: Any, city_b: Any, outsider: Any, login: Any
) -> None:
    # Gießen's admin puts Fulda's target and delivery ids under Gießen's address
    client = login(english_client(), outsider)
    target, delivery = fulda_data["target"], fulda_data["delivery"]
    assert client.get("/uebergabe/giessen/").status_code == 200
    assert "Fulda" not in client.get("/uebergabe/giessen/").content.decode()
    assert client.get(f"/uebergabe/giessen/ziele/{target.uuid}/").status_code == 404
    assert client.post(f"/uebergabe/giessen/ziele/{target.uuid}/aktiv/", {"active": "0"}).status_code == 404
    assert client.post(f"/uebergabe/giessen/ziele/{target.uuid}/neues-geheimnis/").status_code == 404
    assert client.post(f"/uebergabe/giessen/zustellungen/{delivery.uuid}/erneut/").status_code == 404
    assert "Fulda-System" not in client.get("/uebergabe/giessen/ziele/").content.decode()


def test_anonymous_and_citizens_are_turned_away(fulda_data: Any, citizen: Any, login: Any) -> None:
    urls = pages(fulda_data)
    response = Client().get(urls["deliveries"])
    assert response.status_code == 302 and response["Location"].startswith("/konto/anmelden/")
    client = login(english_client(), citizen)
    assert client.get(urls["deliveries"]).status_code == 404
    assert client.get("/uebergabe/").status_code == 403


def test_unknown_city_is_404(owner: Any, login: Any) -> None:
    assert login(english_client(), owner).get("/uebergabe/atlantis/").status_code == 404


def test_index_leads_to_the_own_city(owner: Any, login: Any, platform_admin: Any, city_b: Any) -> None:
    response = login(english_client(), owner).get("/uebergabe/")
    assert response.status_code == 302 and response["Location"] == "/uebergabe/fulda/"
    page = login(english_client(), platform_admin).get("/uebergabe/")
    assert page.status_code == 200
    assert 'href="/uebergabe/fulda/"' in page.content.decode() and 'href="/uebergabe/giessen/"' in page.content.decode()


def test_delivery_list_costs_the_same_queries_for_many_rows(
    local_targets: Any, fulda_data: Any, adoption: Any, owner: Any, login: Any, django_assert_max_num_queries: Any
) -> None:
    from dikom.handover import actions
    from dikom.portal.models import Application

    client = login(english_client(), owner)
    client.get("/uebergabe/fulda/")  # warm the session
    with django_assert_max_num_queries(12) as few:
        client.get("/uebergabe/fulda/")
    # forty more deliveries (other targets of the same application)
    application = Application.objects.get(pk=fulda_data["application"].pk)
    for n in range(40):
        make_target(adoption.municipality, owner, name=f"System {n}", url=f"http://127.0.0.1:9/{n}")
    actions.create_deliveries(application)
    assert Delivery.objects.count() == 41
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/uebergabe/fulda/")
    assert page.content.decode().count("System ") == 40
