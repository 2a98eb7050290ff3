"""City staff find a LoRaWAN device whose uplinks were held and map it — by clicking from the city's smart-city
page, on a phone (390 px, without JavaScript) and on a desktop (1280 px).

An uplink of a device nobody mapped yet arrives as raw bytes (no payload formatter at the network server): it is
held. The city's data publisher signs in, goes from ``/stadt/fulda/`` to the device list, opens the mapping form,
chooses the sensor thing and the Dragino LSE01 decoder, assigns the soil moisture to the thing's data stream, and
the held uplink becomes an observation. Every page fits the viewport and passes axe-core.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dikom.accounts.actions import create_api_key
from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.municipalities.models import Municipality
from dikom.sensors.models import HeldUplink, Observation
from dikom.smartcity.tests.factories import probe_thing
from tests.browser.support import assert_no_csp_violations, log_in
from tests.browser.test_tree_journey import VIEWPORTS, check, go

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEV_EUI = "A84041000181C061"


def held_uplink(city: Municipality) -> None:
    key = create_api_key(municipality=city, name="Netzwerkserver", scopes=["sensors:write"]).token
    body = {
        "end_device_ids": {"device_id": "bodensonde-lindenallee", "dev_eui": DEV_EUI},
        "uplink_message": {
            "f_port": 2,
            "f_cnt": 12,
            "frm_payload": base64.b64encode(bytes.fromhex("0ce400d70b54ff9c00c810")).decode(),
            "received_at": timezone.now().isoformat().replace("+00:00", "Z"),
            "rx_metadata": [{"rssi": -101, "snr": 4.5}],
        },
    }
    response = Client().post(
        "/sta/lorawan/fulda/tts", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code == 202, response.content


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_staff_map_a_held_device(
    device: str,
    new_page: Any,
    browser: Any,
    live_server: Any,
    browser_settings: Any,
    city_a: Municipality,
    password: str,
) -> None:
    viewport = VIEWPORTS[device]
    thing_id = probe_thing(city_a, [(timezone.now() - dt.timedelta(hours=6), 20.0)])
    held_uplink(city_a)
    publisher = MembershipFactory(municipality=city_a, role=Role.DATA_PUBLISHER).user
    publisher.set_password(password)
    publisher.save()
    browser_settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False  # the 2FA journey is tested elsewhere
    page = new_page(viewport=viewport, java_script_enabled=device == "desktop")
    log_in(page, publisher.username, password)

    page.goto("/stadt/fulda/")
    go(page, page.locator("main a[href='/stadt/fulda/geraete/']"))
    main = page.locator("main").inner_text()
    assert DEV_EUI in main and "Uplinks, die auf eine Zuordnung warten" in main
    check(page, browser, live_server.url, viewport, "20-devices")

    go(page, page.locator(f"main a[href='/stadt/fulda/geraete/{DEV_EUI}/zuordnen/']").first)
    page.get_by_label("Sensor-Objekt").select_option(str(thing_id))
    page.get_by_label("Nutzdaten-Decoder").select_option("dragino-lse01")
    go(page, page.get_by_role("button", name="Werte der Nutzdaten anzeigen"))
    check(page, browser, live_server.url, viewport, "21-device-map")
    # the payload's soil moisture goes to the thing's only data stream (the first option is "nicht speichern")
    page.get_by_label("soil_moisture_percent").select_option(index=1)
    go(page, page.get_by_role("button", name="Gerät zuordnen und zurückgehaltene Uplinks speichern"))
    assert page.url.endswith("/stadt/fulda/geraete/"), page.url
    assert "1 zurückgehaltene Uplinks gespeichert" in page.locator("main").inner_text()
    assert HeldUplink.objects.get().stored_at is not None
    assert Observation.objects.filter(datastream__thing_id=thing_id, result_number=29.0).count() == 1
    check(page, browser, live_server.url, viewport, "22-devices-mapped")
    assert_no_csp_violations(page)
