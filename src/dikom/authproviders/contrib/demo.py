"""DEMO sign-in: no real identity check. Only available where DIKOM_DEMO is on.

The citizen picks a method (BundID, ELSTER, …), a trust level and a fictitious
name on a clearly labelled page. The page plays the identity service: it hands
back a one-time code bound to the session, as an OpenID Connect provider would.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from dikom.authproviders.base import METHODS, TRUST_LEVELS, AuthError, AuthProvider, Identity, current_flow

CODES_SESSION_KEY = "dikom.authproviders.demo_codes"

METHOD_LABELS = {
    "bundid": "BundID",
    "elster": "ELSTER",
    "eid": _("Online ID card (eID)"),
    "eu_wallet": _("EU digital identity wallet"),
    "organisation_account": _("Organisation account"),
    "none": _("No authentication"),
}
TRUST_LABELS = {
    "none": _("none"),
    "low": _("low"),
    "substantial": _("substantial"),
    "high": _("high"),
}


class DemoAuthProvider(AuthProvider):
    key = "demo"
    label = _("Demo sign-in (no real identity check)")
    methods = METHODS
    max_trust_level = "high"
    demo_only = True

    def begin(self, request: HttpRequest, state: str) -> HttpResponse:
        return HttpResponseRedirect(reverse("authproviders:demo_form") + "?" + urlencode({"state": state}))

    def complete(self, request: HttpRequest) -> Identity:
        code = request.GET.get("code", "")
        codes: dict[str, Any] = request.session.get(CODES_SESSION_KEY) or {}
        issued = codes.pop(code, None) if code else None
        request.session[CODES_SESSION_KEY] = codes
        flow = current_flow(request)
        if issued is None or flow is None or not constant_time_compare(issued.get("nonce", ""), flow.nonce):
            raise AuthError(_("The demo sign-in answer is unknown or was already used."))
        attributes = {"given_name": issued["given_name"], "family_name": issued["family_name"]}
        return Identity(
            provider=self.key,
            method=issued["method"],
            trust_level=issued["trust_level"],
            subject=issued["subject"],
            attributes={name: value for name, value in attributes.items() if value},
        )


class DemoSignInForm(forms.Form):
    method = forms.ChoiceField(label=_("Authentication method"), choices=[(m, METHOD_LABELS[m]) for m in METHODS])
    trust_level = forms.ChoiceField(
        label=_("Trust level"), choices=[(t, TRUST_LABELS[t]) for t in TRUST_LEVELS], initial="substantial"
    )
    given_name = forms.CharField(label=_("Given name (fictitious)"), max_length=80, initial="Erika")
    family_name = forms.CharField(label=_("Family name (fictitious)"), max_length=80, initial="Mustermann")
    state = forms.CharField(widget=forms.HiddenInput, max_length=200)


def demo_form(request: HttpRequest) -> HttpResponse:
    """The demo 'identity service' page. 404 unless the demo provider is enabled."""
    from dikom.authproviders.registry import get

    if get(DemoAuthProvider.key) is None:
        raise Http404
    flow = current_flow(request)
    if request.method == "POST":
        form = DemoSignInForm(request.POST)
        if form.is_valid() and flow is not None and flow.provider == DemoAuthProvider.key:
            data = form.cleaned_data
            code = secrets.token_urlsafe(24)
            codes = request.session.get(CODES_SESSION_KEY) or {}
            codes[code] = {
                "method": data["method"],
                "trust_level": data["trust_level"],
                "given_name": data["given_name"],
                "family_name": data["family_name"],
                # Provider-scoped pseudonym: the same fictitious person gets the same subject.
                "subject": "demo-" + _pseudonym(data["given_name"], data["family_name"], data["method"]),
                "nonce": flow.nonce,
            }
            request.session[CODES_SESSION_KEY] = codes
            query = urlencode({"state": data["state"], "code": code})
            return HttpResponseRedirect(reverse("authproviders:return", args=[DemoAuthProvider.key]) + "?" + query)
    else:
        form = DemoSignInForm(initial={"state": request.GET.get("state", "")})
    return render(request, "authproviders/demo_form.html", {"form": form, "has_flow": flow is not None})


def _pseudonym(given_name: str, family_name: str, method: str) -> str:
    from django.utils.crypto import salted_hmac

    value = f"{method}|{given_name.strip().lower()}|{family_name.strip().lower()}"
    return salted_hmac("dikom.authproviders.demo", value).hexdigest()[:24]
