"""BundID sign-in over SAML 2.0 against a local identity provider (tests/saml_idp.py).

The journey runs as a browser would: the test client starts the sign-in, the
IdP page is fetched over real HTTP, its auto-post form is parsed and posted to
the ACS by a client *without* the session cookie (the SameSite=Lax cookie is
not sent with the IdP's cross-site POST), and the 303 is followed by the
citizen's own client.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from lxml import etree
from signxml import XMLVerifier

from dikom.authproviders import handoff, registry
from dikom.authproviders.contrib import saml_requests, saml_xml
from dikom.authproviders.tests.saml_browser import ACS_URL, SP_ENTITY_ID
from dikom.authproviders.tests.saml_browser import identity as _identity
from dikom.authproviders.tests.saml_browser import post_to_acs as _post_to_acs
from dikom.authproviders.tests.saml_browser import sign_in as _sign_in
from dikom.authproviders.tests.saml_browser import start as _start
from dikom.authproviders.tests.saml_idp import (
    BPK2,
    GIVEN_NAME,
    VARIANTS,
)
from dikom.lib.testing import english_client

pytestmark = pytest.mark.django_db


# --- The journey ----------------------------------------------------------------------


def test_full_journey_signs_in_with_pseudonym_level_and_allowed_attributes(idp):
    client = english_client()
    form = _start(client, idp)
    # The IdP saw our signed request: POST binding back, minimum level, bPK2 required.
    request = idp.requests[-1]
    assert request["class_refs"] == ["STORK-QAA-Level-1"] and request["comparison"] == "minimum"
    assert request["requested_attributes"][BPK2] == "true"
    assert GIVEN_NAME in request["requested_attributes"]
    assert form.fields["RelayState"] == client.session["dikom.authproviders.flow"]["state"]
    session_before = client.session.session_key

    acs = _post_to_acs(form)
    location = urlsplit(acs["Location"])
    assert location.path == "/anmeldung/bundid/rueckkehr/"
    assert set(parse_qs(location.query)) == {"state", "handoff"}
    response = client.get(acs["Location"])

    assert response.status_code == 302
    assert response["Location"] == "/portal/fulda/"
    assert client.session.session_key != session_before
    identity = _identity(client)
    assert identity is not None
    assert (identity.provider, identity.method, identity.trust_level) == ("bundid", "elster", "substantial")
    assert identity.subject.startswith("bundid-") and idp.bpk2 not in identity.subject
    # Only the allow-listed attribute is kept; the family name the IdP also sent is dropped.
    assert identity.attributes == {"given_name": "Erika"}
    # The parked answer is gone and the attempt consumed: the same return URL fails now.
    assert client.get(acs["Location"]).status_code == 400


def test_same_citizen_gets_same_subject_and_method_follows_assertion_proved_by(idp):
    first = english_client()
    _sign_in(first, idp)
    idp.proved_by, idp.class_ref = "eID", "STORK-QAA-Level-4"
    second = english_client()
    _sign_in(second, idp)
    one, two = _identity(first), _identity(second)
    assert one is not None and two is not None
    assert one.subject == two.subject
    assert (two.method, two.trust_level) == ("eid", "high")


@pytest.mark.parametrize(("level", "class_ref"), [("substantial", "STORK-QAA-Level-3"), ("high", "STORK-QAA-Level-4")])
def test_requested_level_comes_from_the_start_url(idp, level, class_ref):
    _start(english_client(), idp, level=level)
    assert idp.requests[-1]["class_refs"] == [class_ref]


@pytest.mark.parametrize(
    ("encrypt", "key_transport", "sign"),
    [
        (None, "rsa-oaep-mgf1p", "assertion"),
        (None, "rsa-oaep-mgf1p", "response"),
        ("aes128-cbc", "rsa-oaep-mgf1p", "assertion"),
        ("aes256-cbc", "rsa-oaep", "both"),
        ("aes128-gcm", "rsa-oaep", "assertion"),
        ("aes256-gcm", "rsa-oaep-mgf1p", "response"),
    ],
)
def test_encryption_and_signature_placements(idp, encrypt, key_transport, sign):
    idp.encrypt, idp.key_transport, idp.sign = encrypt, key_transport, sign
    client = english_client()
    response = _sign_in(client, idp)
    assert response.status_code == 302, response.content.decode()
    identity = _identity(client)
    assert identity is not None and identity.trust_level == "substantial"


def test_idp_certificate_rollover_accepts_any_configured_certificate(idp, keys, settings, tmp_path):
    both = tmp_path / "idp-both.pem"
    both.write_text(keys["other"].cert_pem + keys["idp"].cert_pem)
    settings.DIKOM_SAML_IDP_CERT_FILE = str(both)
    client = english_client()
    assert _sign_in(client, idp).status_code == 302
    assert _identity(client) is not None


def test_sp_key_rollover_decrypts_with_the_next_key(idp, keys, settings, tmp_path):
    # The IdP already encrypts for the next certificate; the current key is still configured.
    next_cert = tmp_path / "sp-next.pem"
    next_cert.write_text(keys["other"].cert_pem)
    settings.DIKOM_SAML_SP_NEXT_KEY = keys["other"].key_pem
    settings.DIKOM_SAML_SP_NEXT_CERT_FILE = str(next_cert)
    client = english_client()
    form = _start(client, idp)  # signed with the current key, which the IdP checks
    idp.sp_certificate = keys["other"].certificate
    # The IdP answered before the switch; ask it again for an answer encrypted for the next key.
    form.fields["SAMLResponse"] = base64.b64encode(idp.build_response(idp.requests[-1])).decode()
    response = client.get(_post_to_acs(form)["Location"])
    assert response.status_code == 302
    assert _identity(client) is not None


# --- Refusals -------------------------------------------------------------------------

FAILURES = {
    "unsigned": "could not be verified",
    "bad_signature": "could not be verified",
    "wrong_key": "could not be verified",
    "wrapped": "could not be verified",
    "wrong_recipient": "could not be verified",
    "wrong_issuer": "could not be verified",
    "wrong_audience": "meant for another service",
    "expired": "has expired",
    "wrong_in_response_to": "belongs to another sign-in attempt",
    "status_authn_failed": "cancelled or failed",
    "status_request_denied": "cancelled or failed",
    "status_no_passive": "without asking you",
}


def test_every_idp_variant_is_covered():
    assert set(FAILURES) | {"ok", "replay"} == set(VARIANTS)


@pytest.mark.parametrize("encrypt", [None, "aes256-gcm"])
@pytest.mark.parametrize("variant", sorted(FAILURES))
def test_bad_answers_are_refused_with_a_clear_message(idp, variant, encrypt):
    idp.variant, idp.encrypt = variant, encrypt
    client = english_client()

    response = _sign_in(client, idp)

    assert response.status_code == 400
    assert FAILURES[variant] in response.content.decode()
    assert _identity(client) is None


def test_wrapped_signature_is_refused_even_when_the_response_is_unsigned_and_plain(idp):
    # The forged assertion names "bpk2-mallory"; the genuine signed one sits in its Advice.
    idp.variant, idp.encrypt = "wrapped", None
    client = english_client()
    form = _start(client, idp)
    document = etree.fromstring(base64.b64decode(form.fields["SAMLResponse"]))
    assert b"bpk2-mallory" in etree.tostring(document)
    assert client.get(_post_to_acs(form)["Location"]).status_code == 400
    assert _identity(client) is None


def test_replayed_assertion_id_is_refused(idp):
    client = english_client()
    assert _sign_in(client, idp).status_code == 302
    idp.variant = "replay"  # a fresh, validly signed response re-using the assertion ID
    again = english_client()
    response = _sign_in(again, idp)
    assert response.status_code == 400
    assert "already used" in response.content.decode()
    assert _identity(again) is None


def test_tampered_relay_state_is_refused(idp):
    client = english_client()
    form = _start(client, idp)
    response = client.get(_post_to_acs(form, RelayState="forged-state")["Location"])
    assert response.status_code == 400
    assert _identity(client) is None


def test_answer_parked_for_one_attempt_cannot_serve_another(idp):
    victim, attacker = english_client(), english_client()
    attacker_form = _start(attacker, idp)
    victim_state = _start(victim, idp).fields["RelayState"]
    parked = _post_to_acs(attacker_form)
    handoff_key = parse_qs(urlsplit(parked["Location"]).query)["handoff"][0]
    # The attacker's answer, handed to the victim's attempt: refused (bound to the attacker's state).
    response = victim.get("/anmeldung/bundid/rueckkehr/", {"state": victim_state, "handoff": handoff_key})
    assert response.status_code == 400
    assert _identity(victim) is None


def test_missing_or_oversized_answer_is_refused(idp):
    client = english_client()
    form = _start(client, idp)
    oversized = _post_to_acs(form, SAMLResponse="A" * (handoff.MAX_ANSWER_BYTES + 4))
    response = client.get(oversized["Location"])
    assert response.status_code == 400
    assert "could not be read" in response.content.decode()
    form = _start(client, idp)
    without_handoff = _post_to_acs(form)["Location"].split("&handoff=")[0]
    response = client.get(without_handoff)
    assert response.status_code == 400
    assert "missing or was already used" in response.content.decode()


def test_garbage_answer_is_refused_without_error(idp):
    client = english_client()
    form = _start(client, idp)
    for garbage in ("not base64!", "PD94bWwgdmVyc2lvbj0iMS4wIj8+PCFET0NUWVBFIHg+PHgvPg=="):
        response = client.get(_post_to_acs(form, SAMLResponse=garbage)["Location"])
        assert response.status_code == 400
        form = _start(client, idp)


def test_acs_without_relay_state_ends_in_unknown_attempt(idp):
    client = english_client()
    form = _start(client, idp)
    response = client.get(_post_to_acs(form, RelayState="")["Location"])
    assert response.status_code == 400
    assert "unknown or has expired" in response.content.decode()


def test_acs_is_post_only_and_csrf_exempt(idp):
    strict = Client(enforce_csrf_checks=True)
    assert strict.get("/anmeldung/bundid/acs/").status_code == 405
    # No CSRF token, no session: still accepted (the answer proves itself later).
    assert strict.post("/anmeldung/bundid/acs/", {"SAMLResponse": "x", "RelayState": "y"}).status_code == 303


# --- Metadata and availability --------------------------------------------------------


def _metadata(client: Client) -> etree._Element:
    response = client.get("/anmeldung/bundid/metadata/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/samlmetadata+xml"
    return saml_xml.parse_xml(response.content)


def test_metadata_names_entity_acs_and_certificate_and_is_signed(idp, keys):
    root = _metadata(Client())
    md = saml_xml.NS["md"]
    assert root.tag == f"{{{md}}}EntityDescriptor"
    assert root.get("entityID") == SP_ENTITY_ID
    acs = root.find(f"{{{md}}}SPSSODescriptor/{{{md}}}AssertionConsumerService")
    assert acs is not None
    assert (acs.get("Binding"), acs.get("Location")) == (saml_xml.BINDING_POST, ACS_URL)
    descriptor = root.find(f"{{{md}}}SPSSODescriptor")
    assert descriptor is not None and descriptor.get("AuthnRequestsSigned") == "true"
    certificates = {c.text for c in root.iter(f"{{{saml_xml.NS['ds']}}}X509Certificate")}
    expected = saml_requests.certificate_text(keys["sp"].certificate)
    assert expected in certificates
    uses = {kd.get("use") for kd in root.iter(f"{{{md}}}KeyDescriptor")}
    assert uses == {"signing", "encryption"}
    signed = XMLVerifier().verify(etree.tostring(root), x509_cert=keys["sp"].certificate).signed_xml
    assert signed is not None and signed.get("entityID") == SP_ENTITY_ID


def test_unsigned_metadata_lists_both_certificates_during_rollover(idp, keys, settings, tmp_path):
    settings.DIKOM_SAML_SIGN_METADATA = False
    next_cert = tmp_path / "sp-next.pem"
    next_cert.write_text(keys["other"].cert_pem)
    settings.DIKOM_SAML_SP_NEXT_KEY = keys["other"].key_pem
    settings.DIKOM_SAML_SP_NEXT_CERT_FILE = str(next_cert)
    root = _metadata(Client())
    assert root.find(f"{{{saml_xml.NS['ds']}}}Signature") is None
    certificates = [c.text for c in root.iter(f"{{{saml_xml.NS['ds']}}}X509Certificate")]
    assert len(certificates) == 4  # two certificates, each for signing and for encryption
    assert saml_requests.certificate_text(keys["other"].certificate) in certificates


@pytest.mark.parametrize(
    "missing",
    ["DIKOM_SAML_SP_ENTITY_ID", "DIKOM_SAML_SP_KEY", "DIKOM_SAML_SP_CERT_FILE", "DIKOM_SAML_IDP_SSO_URL",
     "DIKOM_SAML_IDP_CERT_FILE", "DIKOM_SAML_IDP_ENTITY_ID"],
)  # fmt: skip
def test_not_offered_without_complete_configuration(idp, settings, missing):
    setattr(settings, missing, None)
    assert registry.get("bundid") is None
    client = Client()
    assert client.get("/anmeldung/bundid/start/?next=/").status_code == 404
    assert client.get("/anmeldung/bundid/metadata/").status_code == 404
    assert client.post("/anmeldung/bundid/acs/", {"SAMLResponse": "x"}).status_code == 404


def test_offered_for_configured_methods_up_to_high(idp, settings):
    assert [p.key for p in registry.providers_for(["elster"], "high")] == ["bundid"]
    settings.DIKOM_SAML_METHODS = ["eid"]
    assert registry.providers_for(["elster"], "low") == []
    provider = registry.get("bundid")
    assert provider is not None and provider.methods == ("eid",) and str(provider.label) == "BundID"


def test_providers_without_post_answers_have_no_acs(settings):
    settings.DIKOM_DEMO = True
    settings.DIKOM_AUTH_PROVIDERS = ["demo"]
    assert Client().post("/anmeldung/demo/acs/", {"state": "x"}).status_code == 404
    assert Client().get("/anmeldung/demo/metadata/").status_code == 404


def test_wrapped_signature_itself_verifies_so_only_the_signed_element_check_stops_it(idp, keys):
    # Guards the test above: the wrapping is the dangerous kind, whose signature is valid.
    idp.variant, idp.encrypt = "wrapped", None
    response = etree.fromstring(idp.build_response({"id": "_r", "acs_url": ACS_URL, "relay_state": "s"}))
    forged = response.find(saml_xml.q("saml", "Assertion"))
    assert forged is not None
    result = XMLVerifier().verify(
        etree.tostring(forged), x509_cert=keys["idp"].certificate, expect_config=saml_xml.SIGNATURE_CONFIG
    )
    assert result.signed_xml.get("ID") != forged.get("ID")
    with pytest.raises(saml_xml.SamlError, match="covers another element"):
        saml_xml.verify_signed(
            etree.tostring(forged), [keys["idp"].certificate], tag=forged.tag, element_id=forged.get("ID")
        )
