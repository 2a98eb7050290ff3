"""Webhook addresses cannot turn dikom against its own network: https only, public addresses, no redirects."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from dikom.handover import actions, transport
from dikom.handover.models import Delivery, DeliveryTarget
from dikom.handover.tests.conftest import make_target
from dikom.lib.testing import english_client, run_task_worker

pytestmark = pytest.mark.django_db


def _create(client: Any, url: str) -> Any:
    return client.post("/uebergabe/fulda/ziele/neu/", {"name": "System", "kind": "webhook", "url": url})


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://fachverfahren.example/", "The address must start with https://."),
        ("ftp://fachverfahren.example/", "The address must start with https://."),
        ("https://127.0.0.1/eingang", "private or reserved network"),
        ("https://10.1.2.3/", "private or reserved network"),
        ("https://[::1]/", "private or reserved network"),
        ("https://169.254.169.254/latest/meta-data/", "private or reserved network"),
        ("https://nutzer:kennwort@fachverfahren.example/", "must not contain a user name or password"),
        ("https:///ohne-host", "The address has no host name."),
        ("https://fachverfahren.example:99999/", "Please enter a valid address."),
    ],
)
def test_unsafe_addresses_are_refused_in_the_form(owner: Any, login: Any, url: str, message: str) -> None:
    client = login(english_client(), owner)
    response = _create(client, url)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not DeliveryTarget.objects.exists()


def test_public_https_address_is_accepted_without_any_lookup(owner: Any, login: Any) -> None:
    # Saving does not resolve the name (no network needed); the check happens again at every delivery.
    client = login(english_client(), owner)
    response = _create(client, "https://fachverfahren.example/eingang")
    assert response.status_code == 200
    assert DeliveryTarget.objects.get().url == "https://fachverfahren.example/eingang"


def test_link_local_stays_refused_even_when_private_targets_are_allowed(settings: Any, owner: Any) -> None:
    settings.DIKOM_HANDOVER_ALLOW_PRIVATE_TARGETS = True
    with pytest.raises(ValidationError):
        make_target(owner.memberships.get().municipality, owner, url="https://169.254.169.254/")
    make_target(owner.memberships.get().municipality, owner, url="https://10.1.2.3/")


@pytest.mark.parametrize(
    ("address", "public", "with_private"),
    [
        ("8.8.8.8", True, True),
        ("2a00:1450:4001:80b::200e", True, True),
        ("127.0.0.1", False, True),
        ("::1", False, True),
        ("10.0.0.1", False, True),
        ("192.168.1.5", False, True),
        ("fc00::1", False, True),
        ("::ffff:127.0.0.1", False, True),
        ("169.254.169.254", False, False),
        ("fe80::1", False, False),
        ("0.0.0.0", False, False),  # noqa: S104
        ("224.0.0.1", False, False),
        ("100.64.0.1", False, False),
    ],
)
def test_address_rules(settings: Any, address: str, public: bool, with_private: bool) -> None:
    ip = ipaddress.ip_address(address)
    settings.DIKOM_HANDOVER_ALLOW_PRIVATE_TARGETS = False
    assert transport.address_allowed(ip) is public
    settings.DIKOM_HANDOVER_ALLOW_PRIVATE_TARGETS = True
    assert transport.address_allowed(ip) is with_private


def test_a_name_resolving_to_loopback_is_refused_at_delivery(
    local_targets: Any, receivers: Any, submit: Any, adoption: Any, owner: Any
) -> None:
    # Given a target saved while private targets were allowed, whose name resolves to 127.0.0.1
    receiver = receivers([200])
    make_target(adoption.municipality, owner, url=receiver.url.replace("127.0.0.1", "localhost"))
    local_targets.DIKOM_HANDOVER_ALLOW_PRIVATE_TARGETS = False
    application = submit(adoption, with_file=False)

    run_task_worker()

    # Then nothing was sent and the delivery failed for good, saying why
    delivery = Delivery.objects.get(application=application)
    assert receiver.received == []
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 1
    assert delivery.last_error == (
        "Das Ziel wird zu einer Adresse in einem privaten oder reservierten Netz aufgelöst; es wurde nichts gesendet."
    )


def test_http_is_refused_at_delivery_once_it_is_no_longer_allowed(
    local_targets: Any, receivers: Any, submit: Any, adoption: Any, owner: Any
) -> None:
    receiver = receivers([200])
    make_target(adoption.municipality, owner, url=receiver.url)
    local_targets.DIKOM_HANDOVER_ALLOW_HTTP = False
    application = submit(adoption, with_file=False)
    run_task_worker()

    delivery = Delivery.objects.get(application=application)
    assert receiver.received == []
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.last_error == "Die Adresse muss mit https:// beginnen."


def test_redirects_are_not_followed(local_targets: Any, receivers: Any, submit: Any, adoption: Any, owner: Any) -> None:
    elsewhere = receivers([200])
    redirecting = receivers([307], extra_headers={"Location": elsewhere.url})
    redirecting.secret = make_target(adoption.municipality, owner, url=redirecting.url).secret
    application = submit(adoption, with_file=False)
    run_task_worker()

    delivery = Delivery.objects.get(application=application)
    assert len(redirecting.received) == 1 and redirecting.received[0].signature_ok
    assert elsewhere.received == []
    assert delivery.status == Delivery.Status.FAILED and delivery.last_http_status == 307
    assert "Weiterleitungen wird nicht gefolgt" in delivery.last_error


def test_only_a_bounded_part_of_a_huge_answer_is_read(
    local_targets: Any, submit: Any, adoption: Any, owner: Any
) -> None:
    """A receiver that streams endless data cannot hold the worker: dikom reads 64 KiB and hangs up."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    sent = {"bytes": 0}

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
            try:
                while sent["bytes"] < 50_000_000:
                    connection.sendall(b"x" * 65536)
                    sent["bytes"] += 65536
            except OSError:
                pass  # dikom hung up

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    make_target(adoption.municipality, owner, url=f"http://127.0.0.1:{listener.getsockname()[1]}/")
    application = submit(adoption, with_file=False)
    run_task_worker()
    thread.join(10)
    listener.close()

    delivery = Delivery.objects.get(application=application)
    assert delivery.status == Delivery.Status.DELIVERED
    assert sent["bytes"] < 50_000_000


def test_actions_check_the_address_too(settings: Any, owner: Any, city_a: Any) -> None:
    with pytest.raises(ValidationError) as raised:
        actions.create_target(municipality=city_a, actor=owner, name="x", kind="webhook", url="http://x.example/")
    assert "url" in raised.value.error_dict
