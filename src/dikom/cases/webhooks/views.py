"""The city administrator's page of case webhooks: subscriptions and the delivery log.

Thin: ``cases.access`` decides who may (the city's administrators), the form
validates, ``cases.webhooks.actions`` changes state. The signing secret is shown
once, in the answer to the POST that created it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dikom.cases import access
from dikom.cases.webhooks import actions
from dikom.cases.webhooks.forms import SubscriptionForm
from dikom.cases.webhooks.models import WebhookDelivery, WebhookSubscription

LOG_SIZE = 100


def _page(
    request: HttpRequest, municipality: Any, form: SubscriptionForm, *, secret: str = "", status: int = 200
) -> HttpResponse:
    subscriptions = WebhookSubscription.objects.filter(municipality=municipality)
    deliveries = (
        WebhookDelivery.objects.filter(municipality=municipality)
        .select_related("subscription")
        .order_by("-created_at", "-id")[:LOG_SIZE]
    )
    context = {
        "municipality": municipality,
        "form": form,
        "subscriptions": subscriptions,
        "deliveries": deliveries,
        "secret": secret,
        "log_size": LOG_SIZE,
        "event_labels": dict(WebhookSubscription.Event.choices),
    }
    return render(request, "cases/webhooks.html", context, status=status)


@login_required
def webhooks(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.get_municipality_for_webhooks(request.user, slug)
    if request.method != "POST":
        return _page(request, municipality, SubscriptionForm())
    form = SubscriptionForm(request.POST)
    if form.is_valid():
        try:
            created = actions.create_subscription(
                municipality=municipality,
                actor=request.user,
                name=form.cleaned_data["name"],
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                services=form.cleaned_data["services"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return _page(request, municipality, SubscriptionForm(), secret=created.secret, status=201)
    return _page(request, municipality, form, status=400)


def _back(municipality: Any) -> str:
    return reverse("cases:webhooks", args=[municipality.slug])


@login_required
@require_POST
def subscription_active(request: HttpRequest, slug: str, subscription_uuid: Any) -> HttpResponse:
    municipality = access.get_municipality_for_webhooks(request.user, slug)
    subscription = WebhookSubscription.objects.filter(municipality=municipality, uuid=subscription_uuid).first()
    if subscription is None:
        raise Http404
    actions.set_active(subscription, active=request.POST.get("active") == "1", actor=request.user)
    messages.success(request, _("The subscription was changed."))
    return redirect(_back(municipality))


@login_required
@require_POST
def delivery_retry(request: HttpRequest, slug: str, delivery_uuid: Any) -> HttpResponse:
    municipality = access.get_municipality_for_webhooks(request.user, slug)
    delivery = WebhookDelivery.objects.filter(municipality=municipality, uuid=delivery_uuid).first()
    if delivery is None:
        raise Http404
    try:
        actions.retry_now(delivery, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The delivery will be attempted again right away."))
    return redirect(_back(municipality))
