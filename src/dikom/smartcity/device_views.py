"""City staff: LoRaWAN devices with their health, uplinks held for unknown devices, and mapping a device.

A device that the network server reports before anyone mapped it in dikom is
not lost: its uplinks are held. Here staff choose the Thing (and, for network
servers without payload formatter, a payload decoder), assign each value of the
payload to one of the Thing's Datastreams, and the held uplinks are stored.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.sensors import service as sensors
from dikom.smartcity import access
from dikom.smartcity.views import _context

_EUI = re.compile(r"^[0-9A-F]{16}$")
SILENT_HOURS = 24


def devices(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    if not access.can_manage(request.user, municipality):
        return render(request, "web/error.html", {"status": 403}, status=403)
    rows = sensors.lorawan_devices(municipality, timezone.now())
    return render(
        request,
        "smartcity/devices.html",
        _context(
            municipality,
            devices=rows,
            held=sensors.held_uplinks(municipality),
            silent_hours=SILENT_HOURS,
        ),
    )


def device_map(request: HttpRequest, city: str, dev_eui: str) -> HttpResponse:
    municipality = access.get_city(city)
    if not access.can_manage(request.user, municipality):
        return render(request, "web/error.html", {"status": 403}, status=403)
    dev_eui = dev_eui.upper()
    if not _EUI.match(dev_eui):
        raise Http404
    source = request.POST if request.method == "POST" else request.GET
    things = list(sensors.things_with_datastreams(municipality))
    decoders = sensors.decoder_choices()
    decoder = source.get("decoder", "")
    if decoder not in {key for key, _label in decoders}:
        decoder = ""
    thing = next((t for t in things if str(t.pk) == source.get("thing", "")), None)
    fields = sensors.payload_fields(municipality, dev_eui, decoder)
    errors: list[str] = []
    if request.method == "POST" and thing is not None:
        own = {d.pk for d in thing.datastreams.all()}
        chosen: dict[str, int] = {}
        for index, name in enumerate(fields):
            value = request.POST.get(f"field-{index}", "")
            if value.isdigit() and int(value) in own:
                chosen[name] = int(value)
        if not chosen:
            errors.append(_("Assign at least one value of the payload to a data stream."))
        else:
            from dikom.sensors.lorawan import UplinkError

            try:
                result = sensors.map_lorawan_device(municipality, thing.pk, dev_eui, chosen, decoder)
            except UplinkError as exc:
                errors.append(exc.message)
            else:
                messages.success(
                    request,
                    _("Device %(eui)s mapped: %(stored)s held uplinks stored, %(held)s still held.")
                    % {"eui": dev_eui, "stored": result.stored, "held": result.still_held},
                )
                return redirect("smartcity:devices", municipality.slug)
    return render(
        request,
        "smartcity/device_map.html",
        _context(
            municipality,
            dev_eui=dev_eui,
            things=things,
            thing=thing,
            decoders=decoders,
            decoder=decoder,
            fields=list(enumerate(fields)),
            errors=errors,
        ),
        status=400 if errors else 200,
    )
