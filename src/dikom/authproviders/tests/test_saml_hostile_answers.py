"""Hostile SAMLResponses: each is refused with a clear German page (4xx), never a server error or a sign-in.

The corpus takes a genuine answer of the test IdP (tests/saml_idp.py) for the
citizen's own attempt and breaks it the way an attacker would: the signature's
structure (empty SignatureValue, SignatureMethod without Algorithm, odd
InclusiveNamespaces PrefixList, …), the signatures' number and place
(none, two, wrapped), the key, the XML itself (unparseable, DTDs, entity
expansion, external entities by file:// and http://) and the transport
encoding (not base64, oversized). Every case goes through the ACS and the
return view as a browser would, and again straight into ``read_response``,
which must raise nothing but ``SamlError``.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client
from lxml import etree

from dikom.authproviders import handoff
from dikom.authproviders.contrib import saml_xml
from dikom.authproviders.models import UsedAssertion
from dikom.authproviders.tests.saml_browser import ACS_URL, SP_ENTITY_ID, identity, post_to_acs, start
from dikom.authproviders.tests.saml_idp import BPK2, SamlTestIdp

pytestmark = pytest.mark.django_db

DS = saml_xml.NS["ds"]
SAML = saml_xml.NS["saml"]
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
NOT_VERIFIED = "Die Antwort des Identitätsdienstes konnte nicht überprüft werden."
NOT_READ = "Die Antwort des Identitätsdienstes konnte nicht gelesen werden."


def _all(root: etree._Element, tag: str) -> list[etree._Element]:
    return list(root.iter(f"{{{DS}}}{tag}"))


def _empty_signature_value(root: etree._Element) -> None:
    for element in _all(root, "SignatureValue"):
        element.text = ""


def _signature_method_without_algorithm(root: etree._Element) -> None:
    for element in _all(root, "SignatureMethod"):
        del element.attrib["Algorithm"]


def _digest_method_without_algorithm(root: etree._Element) -> None:
    for element in _all(root, "DigestMethod"):
        del element.attrib["Algorithm"]


def _prefix_list(where: str, prefixes: str) -> Callable[[etree._Element], None]:
    def mutate(root: etree._Element) -> None:
        for element in _all(root, where):
            etree.SubElement(element, f"{{{EXC_C14N}}}InclusiveNamespaces", PrefixList=prefixes)

    return mutate


def _signature_value_not_base64(root: etree._Element) -> None:
    for element in _all(root, "SignatureValue"):
        element.text = "!!! not base64 !!!"


def _without_signed_info(root: etree._Element) -> None:
    for element in _all(root, "SignedInfo"):
        element.getparent().remove(element)


def _without_signature(root: etree._Element) -> None:
    for element in _all(root, "Signature"):
        element.getparent().remove(element)


def _two_signatures(root: etree._Element) -> None:
    signature = _all(root, "Signature")[0]
    signature.addnext(copy.deepcopy(signature))


def _bogus_key_value(root: etree._Element) -> None:
    for key_info in _all(root, "KeyInfo"):
        for child in list(key_info):
            key_info.remove(child)
        rsa = etree.SubElement(etree.SubElement(key_info, f"{{{DS}}}KeyValue"), f"{{{DS}}}RSAKeyValue")
        etree.SubElement(rsa, f"{{{DS}}}Modulus").text = "AA=="
        etree.SubElement(rsa, f"{{{DS}}}Exponent")


def _hmac_output_length(root: etree._Element) -> None:
    for element in _all(root, "SignatureMethod"):
        element.set("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256")
        etree.SubElement(element, f"{{{DS}}}HMACOutputLength").text = "abc"


def _signed_assertion_hidden_in_extensions(root: etree._Element) -> None:
    # The genuine signed assertion moves into the Response's Extensions; an unsigned copy naming
    # someone else takes its place (signature wrapping without a signed Response).
    genuine = root.find(f"{{{SAML}}}Assertion")
    assert genuine is not None
    forged = copy.deepcopy(genuine)
    for signature in forged.findall(f"{{{DS}}}Signature"):
        forged.remove(signature)
    forged.set("ID", "_forged")
    for value in forged.iter(f"{{{SAML}}}AttributeValue"):
        if value.getparent().get("Name") == BPK2:
            value.text = "bpk2-mallory"
    extensions = etree.Element("{urn:oasis:names:tc:SAML:2.0:protocol}Extensions")
    root.replace(genuine, forged)
    extensions.append(genuine)
    root.insert(1, extensions)


def _forged_copy_with_the_same_id(root: etree._Element) -> None:
    genuine = root.find(f"{{{SAML}}}Assertion")
    assert genuine is not None
    forged = copy.deepcopy(genuine)
    for signature in forged.findall(f"{{{DS}}}Signature"):
        forged.remove(signature)
    root.insert(root.index(genuine), forged)


#: name -> (where the IdP signs, what is done to its answer)
MUTATIONS: dict[str, tuple[str, Callable[[etree._Element], None]]] = {
    "empty SignatureValue (assertion)": ("assertion", _empty_signature_value),
    "empty SignatureValue (response)": ("response", _empty_signature_value),
    "SignatureMethod without Algorithm": ("assertion", _signature_method_without_algorithm),
    "SignatureMethod without Algorithm (response)": ("response", _signature_method_without_algorithm),
    "DigestMethod without Algorithm": ("assertion", _digest_method_without_algorithm),
    "odd PrefixList on CanonicalizationMethod": ("assertion", _prefix_list("CanonicalizationMethod", "#default xs")),
    "odd PrefixList on the Transform": ("response", _prefix_list("Transform", "#default 1bad xs: \t")),
    "SignatureValue not base64": ("assertion", _signature_value_not_base64),
    "SignedInfo missing": ("assertion", _without_signed_info),
    "no Signature": ("assertion", _without_signature),
    "no Signature (response)": ("response", _without_signature),
    "two Signatures": ("assertion", _two_signatures),
    "two Signatures (response)": ("response", _two_signatures),
    "bogus KeyValue": ("assertion", _bogus_key_value),
    "HMAC with unreadable output length": ("assertion", _hmac_output_length),
    "signed assertion hidden in Extensions": ("assertion", _signed_assertion_hidden_in_extensions),
    "forged copy with the same ID": ("assertion", _forged_copy_with_the_same_id),
}


def _mutated(idp: SamlTestIdp, fields: dict[str, str], name: str) -> str:
    root = etree.fromstring(base64.b64decode(fields["SAMLResponse"]))
    MUTATIONS[name][1](root)
    return base64.b64encode(etree.tostring(root)).decode()


def _refused_in_german(response: Any, client: Client, message: str = NOT_VERIFIED) -> None:
    assert response.status_code == 400
    assert message in response.content.decode()
    assert identity(client) is None


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_broken_signatures_are_refused_in_german(idp, caplog, name):
    sign, _mutate = MUTATIONS[name]
    idp.encrypt, idp.sign = None, sign
    client = Client()  # German, as citizens see it
    form = start(client, idp)

    with caplog.at_level(logging.INFO):
        response = client.get(post_to_acs(form, SAMLResponse=_mutated(idp, form.fields, name))["Location"])

    _refused_in_german(response, client)
    # Refused by the verification itself, not by the views' last-resort handler.
    assert "unexpectedly" not in caplog.text
    assert not UsedAssertion.objects.exists()


def test_the_corpus_starts_from_answers_that_sign_in(idp):
    # Guards the corpus: the untouched answers are accepted, so only the mutation makes the difference.
    idp.encrypt = None
    for sign in ("assertion", "response"):
        idp.sign = sign
        client = Client()
        response = client.get(post_to_acs(start(client, idp))["Location"])
        assert response.status_code == 302
        assert identity(client) is not None


@pytest.mark.parametrize("encrypt", [None, "aes256-gcm"])
def test_answer_signed_with_an_unknown_key_is_refused(idp, encrypt):
    idp.variant, idp.encrypt = "wrong_key", encrypt
    client = Client()
    response = client.get(post_to_acs(start(client, idp))["Location"])
    _refused_in_german(response, client)


# --- Not XML, or XML that must not be parsed ---------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b'<!ENTITY leak "fetched">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that records every request (none may arrive)."""
    hits: list[str] = []
    handler = type("Handler", (_Recorder,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _billion_laughs() -> bytes:
    entities = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    return (
        f'<?xml version="1.0"?><!DOCTYPE samlp:Response [{entities}]>'
        f'<samlp:Response xmlns:samlp="{saml_xml.NS["samlp"]}" ID="_x" Version="2.0">&lol9;</samlp:Response>'
    ).encode()


def _documents(secret_file: str, listener_url: str) -> dict[str, bytes]:
    samlp = saml_xml.NS["samlp"]
    return {
        "unparseable": b"<samlp:Response xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'><unclosed>",
        "not XML at all": b"\x89PNG\r\n\x1a\n\x00\x00binary",
        "empty element of another kind": b"<html/>",
        "billion laughs": _billion_laughs(),
        "external entity by file://": (
            f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret_file}">]>'
            f'<samlp:Response xmlns:samlp="{samlp}">&x;</samlp:Response>'
        ).encode(),
        "external entity by http://": (
            f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{listener_url}/entity">]>'
            f'<samlp:Response xmlns:samlp="{samlp}">&x;</samlp:Response>'
        ).encode(),
        "external parameter entity": (
            f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "{listener_url}/parameter"> %p;]>'
            f'<samlp:Response xmlns:samlp="{samlp}">&leak;</samlp:Response>'
        ).encode(),
        "external DTD": (
            f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "{listener_url}/dtd"><samlp:Response xmlns:samlp="{samlp}"/>'
        ).encode(),
        "internal entity in UTF-16": (
            '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x "y">]>'
            f'<samlp:Response xmlns:samlp="{samlp}">&x;</samlp:Response>'
        ).encode("utf-16"),
        "XInclude of a file": (
            f'<samlp:Response xmlns:samlp="{samlp}" xmlns:xi="http://www.w3.org/2001/XInclude">'
            f'<xi:include href="file://{secret_file}" parse="text"/></samlp:Response>'
        ).encode(),
        "deeply nested": b"<a>" * 10_000 + b"</a>" * 10_000,
    }


DOCUMENTS = sorted(_documents("/x", "http://x"))


@pytest.fixture
def secret_file(tmp_path) -> str:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-7f3a")
    return str(path)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_hostile_xml_is_refused_without_reading_files_or_the_network(idp, caplog, listener, secret_file, name):
    listener_url, hits = listener
    document = _documents(secret_file, listener_url)[name]
    client = Client()
    form = start(client, idp)

    with caplog.at_level(logging.INFO):
        response = client.get(post_to_acs(form, SAMLResponse=base64.b64encode(document).decode())["Location"])

    _refused_in_german(response, client)
    assert "TOP-SECRET" not in response.content.decode() and "TOP-SECRET" not in caplog.text
    assert hits == []
    assert "unexpectedly" not in caplog.text


@pytest.mark.parametrize(
    "encoded",
    [
        "not base64 at all!",
        "QUJD*RA==",
        "\u00e4\u00f6\u00fc",
        "A" * (handoff.MAX_ANSWER_BYTES + 1),
        base64.b64encode(b"\x00" * 1000).decode()[: handoff.MAX_ANSWER_BYTES + 8] + "=" * 3,
        "",
    ],
    ids=["text", "stray character", "umlauts", "oversized", "bad padding", "empty"],
)
def test_undecodable_or_oversized_answers_are_refused(idp, encoded):
    client = Client()
    response = client.get(post_to_acs(start(client, idp), SAMLResponse=encoded)["Location"])
    _refused_in_german(response, client, NOT_READ)


# --- The same corpus straight into the parser: SamlError and nothing else -----------------


@pytest.fixture
def expectations(idp, keys) -> saml_xml.Expectations:
    return saml_xml.Expectations(
        idp_entity_id=idp.entity_id,
        idp_certificates=[keys["idp"].certificate],
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        request_id="_request",
        decryption_keys=[keys["sp"].key],
        now=dt.datetime.now(dt.UTC),
        skew=dt.timedelta(seconds=60),
    )


def _answer(idp: SamlTestIdp, sign: str) -> bytes:
    idp.encrypt, idp.sign = None, sign
    return idp.build_response({"id": "_request", "acs_url": ACS_URL, "relay_state": "s"})


def test_read_response_accepts_the_untouched_answer(idp, expectations):
    assert saml_xml.read_response(_answer(idp, "assertion"), expectations).attribute(BPK2) == idp.bpk2


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_read_response_raises_only_saml_errors_for_broken_signatures(idp, expectations, name):
    sign, mutate = MUTATIONS[name]
    root = etree.fromstring(_answer(idp, sign))
    mutate(root)
    with pytest.raises(saml_xml.SamlError):
        saml_xml.read_response(etree.tostring(root), expectations)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_read_response_raises_only_saml_errors_for_hostile_xml(expectations, secret_file, name):
    with pytest.raises(saml_xml.SamlError) as refused:
        saml_xml.read_response(_documents(secret_file, "http://127.0.0.1:9")[name], expectations)
    assert "TOP-SECRET" not in str(refused.value)


def test_verify_signed_turns_every_signxml_failure_into_a_refusal(idp, keys):
    root = etree.fromstring(_answer(idp, "assertion"))
    _empty_signature_value(root)
    assertion = root.find(f"{{{SAML}}}Assertion")
    assert assertion is not None
    with pytest.raises(saml_xml.SamlError, match="no configured IdP certificate"):
        saml_xml.verify_signed(
            etree.tostring(assertion), [keys["idp"].certificate], tag=assertion.tag, element_id=assertion.get("ID")
        )


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-13-40T00:00:00Z", "yesterday"]
)
def test_times_beyond_the_calendar_are_refused_not_overflowing(text):
    with pytest.raises(saml_xml.SamlError):
        saml_xml.parse_instant(text)
