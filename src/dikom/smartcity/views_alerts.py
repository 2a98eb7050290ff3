"""Alerts: citizens' opt-in e-mail for sponsored trees, and the city staff's sensor alerts with their thresholds.

Thin views: ``access`` decides, ``actions`` changes, ``sensor_alerts`` reads.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dikom.smartcity import access, actions
from dikom.smartcity.models import SensorAlertSettings
from dikom.smartcity.sensor_alerts import alerts_for, settings_for
from dikom.web.branding import brand_for


@login_required
@require_POST
def tree_alert(request: HttpRequest, city: str, tree: uuid.UUID) -> HttpResponse:
    municipality = access.get_city(city)
    obj = access.get_tree(municipality, tree)
    on = request.POST.get("an") == "1"
    if actions.set_tree_alert(obj, request.user, on):
        if on:
            messages.success(request, _("You will get an e-mail when this tree needs water now."))
        else:
            messages.success(request, _("You will no longer get e-mails about this tree."))
    else:
        messages.error(request, _("Only sponsors of a tree can get e-mails about it."))
    return redirect(reverse("smartcity:tree", args=[municipality.slug, obj.uuid]) + "#adopt")


@login_required
@require_POST
def my_alerts(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    on = request.POST.get("an") == "1"
    actions.set_global_alert(request.user, on)
    if on:
        messages.success(request, _("You will get an e-mail when any tree you sponsor needs water now."))
    else:
        messages.success(request, _("You will no longer get e-mails about your trees."))
    return redirect(reverse("smartcity:my_trees", args=[municipality.slug]) + "#email")


class ThresholdForm(forms.ModelForm):
    class Meta:
        model = SensorAlertSettings
        fields = ["silent_hours", "battery_low_percent", "battery_low_volts"]


@login_required
def sensor_alerts(request: HttpRequest, city: str) -> HttpResponse:
    """Staff: datastreams silent too long and low batteries of this city, and the city's thresholds."""
    municipality = access.get_city(city)
    if not access.can_manage(request.user, municipality):
        return render(request, "web/error.html", {"status": 403}, status=403)
    form = ThresholdForm(request.POST or None, instance=settings_for(municipality))
    if request.method == "POST" and form.is_valid():
        actions.save_sensor_alert_settings(municipality, actor=request.user, **form.cleaned_data)
        messages.success(request, _("The thresholds have been saved."))
        return redirect("smartcity:sensor_alerts", municipality.slug)
    alerts, looked_at = alerts_for(municipality)
    return render(
        request,
        "smartcity/sensor_alerts.html",
        {
            "city": municipality,
            "brand": brand_for(municipality.brand_colour),
            "form": form,
            "silent": [a for a in alerts if a.kind == "silent"],
            "battery": [a for a in alerts if a.kind == "battery"],
            "looked_at": looked_at,
        },
        status=400 if form.is_bound else 200,
    )
