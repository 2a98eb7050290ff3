"""A small SAML 2.0 identity provider for the tests, playing BundID on 127.0.0.1.

It runs a real HTTP server in a thread on a random port. ``GET /sso`` takes an
AuthnRequest in the HTTP-Redirect binding, verifies the SP's query-string
signature against the SP certificate it was given (as BundID does with the
certificate from the SP metadata), and answers with the usual auto-post page:
a form with ``SAMLResponse`` and ``RelayState`` aimed at the SP's ACS. The
Response carries a signed and (by default) encrypted assertion in the shape
BundID uses (bPK2, AssertionProvedBy, STORK QAA level). ``variant`` makes it
misbehave in the ways an SP must notice.

Its own code on purpose: the request signature is checked here from the raw
query string and the encryption is done here with ``cryptography``, so a
mistake in dikom's SAML code cannot be mirrored by the test.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import os
import secrets
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
STATUS = "urn:oasis:names:tc:SAML:2.0:status:"

BPK2 = "urn:oid:1.3.6.1.4.1.25484.494450.3"
ASSERTION_PROVED_BY = "urn:oid:1.3.6.1.4.1.25484.494450.2"
QAA_LEVEL = "urn:oid:1.2.40.0.10.2.1.1.261.94"
GIVEN_NAME = "urn:oid:2.5.4.42"
SURNAME = "urn:oid:2.5.4.4"

VARIANTS = (
    "ok",
    "unsigned",  # no signature anywhere
    "bad_signature",  # signed, then a value changed
    "wrong_key",  # signed with a key the SP does not trust
    "wrapped",  # signature wrapping: a forged assertion around the genuine signed one
    "wrong_audience",
    "wrong_recipient",
    "wrong_issuer",
    "expired",
    "wrong_in_response_to",
    "replay",  # the ID of the previous assertion again
    "status_authn_failed",
    "status_request_denied",
    "status_no_passive",
)


@dataclass(frozen=True)
class KeyPair:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def cert_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()


def make_key_pair(common_name: str) -> KeyPair:
    """An RSA key and a self-signed certificate valid from yesterday for a month."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return KeyPair(key, certificate)


def _instant(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_id() -> str:
    return "_" + secrets.token_hex(16)


def _sub(parent: etree._Element, ns: str, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", **attributes)
    if text is not None:
        element.text = text
    return element


@dataclass
class SamlTestIdp:
    """Configure ``sp_*`` and ``acs_url``, ``start()``, then point the SP at ``entity_id``/``sso_url``."""

    sp_entity_id: str
    sp_certificate: x509.Certificate
    acs_url: str
    signing: KeyPair
    #: a key pair the SP does not know, for the "wrong_key" variant
    stranger: KeyPair
    variant: str = "ok"
    #: None (plain assertion), "aes256-gcm", "aes128-gcm", "aes128-cbc", "aes256-cbc"
    encrypt: str | None = "aes256-gcm"
    #: "rsa-oaep-mgf1p" (XML Encryption 1.0) or "rsa-oaep" (1.1, SHA-256 and MGF1-SHA-256)
    key_transport: str = "rsa-oaep-mgf1p"
    #: which element carries the signature: "assertion", "response" or "both"
    sign: str = "assertion"
    class_ref: str = "STORK-QAA-Level-3"
    proved_by: str = "Elster"
    bpk2: str = "bpk2-erika-mustermann"
    attributes: dict[str, str] = field(default_factory=lambda: {GIVEN_NAME: "Erika", SURNAME: "Mustermann"})
    #: the NameID: a fresh transient one by default; ``name_id_format`` None sends it without Format
    name_id: str | None = None
    name_id_format: str | None = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
    #: False leaves the bPK2 attribute out
    send_bpk2: bool = True
    #: further attributes as (Name, FriendlyName, value)
    extra_attributes: list[tuple[str, str, str]] = field(default_factory=list)
    #: AuthnRequests received, parsed (for assertions in the tests)
    requests: list[dict[str, Any]] = field(default_factory=list)
    last_assertion_id: str = ""
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # --- Server -------------------------------------------------------------------

    def start(self) -> SamlTestIdp:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = idp.handle(self.path)
                payload = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def entity_id(self) -> str:
        return self.base_url + "/idp"

    @property
    def sso_url(self) -> str:
        return self.base_url + "/idp/profile/SAML2/Redirect/SSO"

    def handle(self, path: str) -> tuple[int, str]:
        parts = urlsplit(path)
        if parts.path != urlsplit(self.sso_url).path:
            return 404, "not found"
        try:
            request = self._read_request(parts.query)
        except ValueError as problem:
            return 400, f"bad request: {html.escape(str(problem))}"
        self.requests.append(request)
        response = self.build_response(request)
        return 200, self._auto_post_page(request["acs_url"], response, request["relay_state"])

    # --- The AuthnRequest ---------------------------------------------------------

    def _read_request(self, query: str) -> dict[str, Any]:
        raw: dict[str, str] = {}
        for pair in query.split("&"):
            name, _, value = pair.partition("=")
            raw[name] = value
        for needed in ("SAMLRequest", "SigAlg", "Signature"):
            if needed not in raw:
                raise ValueError(f"{needed} missing")
        if unquote(raw["SigAlg"]) != "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256":
            raise ValueError("unexpected SigAlg")
        # SAML Bindings 3.4.4.1: the signature covers the parameters exactly as they appear in the URL.
        signed = "&".join(f"{name}={raw[name]}" for name in ("SAMLRequest", "RelayState", "SigAlg") if name in raw)
        public_key = self.sp_certificate.public_key()
        assert isinstance(public_key, rsa.RSAPublicKey)
        try:
            public_key.verify(
                base64.b64decode(unquote(raw["Signature"])), signed.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except Exception as exc:
            raise ValueError("request signature invalid") from exc
        xml = zlib.decompress(base64.b64decode(unquote(raw["SAMLRequest"])), -15)
        root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
        if root.tag != f"{{{SAMLP}}}AuthnRequest":
            raise ValueError("not an AuthnRequest")
        if root.get("Destination") != self.sso_url:
            raise ValueError("wrong Destination")
        if root.findtext(f"{{{SAML}}}Issuer") != self.sp_entity_id:
            raise ValueError("unknown SP")
        if root.get("AssertionConsumerServiceURL") != self.acs_url:
            raise ValueError("ACS URL not registered")
        if root.get("ProtocolBinding") != "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST":
            raise ValueError("only the POST binding answers")
        context = root.find(f"{{{SAMLP}}}RequestedAuthnContext")
        return {
            "id": root.get("ID"),
            "acs_url": root.get("AssertionConsumerServiceURL"),
            "relay_state": unquote(raw.get("RelayState", "")),
            "class_refs": [ref.text for ref in root.iter(f"{{{SAML}}}AuthnContextClassRef")],
            "comparison": context.get("Comparison") if context is not None else None,
            "requested_attributes": {
                element.get("Name"): element.get("RequiredAttribute")
                for element in root.iter("{https://www.akdb.de/request/2018/09}RequestedAttribute")
            },
            "xml": xml,
        }

    # --- The Response -------------------------------------------------------------

    def build_response(self, request: dict[str, Any]) -> bytes:
        variant = self.variant
        now = dt.datetime.now(dt.UTC) - (dt.timedelta(hours=2) if variant == "expired" else dt.timedelta())
        in_response_to = "_someone-elses-request" if variant == "wrong_in_response_to" else request["id"]
        response = etree.Element(
            f"{{{SAMLP}}}Response",
            nsmap={"samlp": SAMLP, "saml": SAML},
            ID=_new_id(),
            Version="2.0",
            IssueInstant=_instant(now),
            Destination=self.acs_url,
            InResponseTo=in_response_to,
        )
        _sub(response, SAML, "Issuer", self.entity_id)
        status = _sub(response, SAMLP, "Status")
        if variant.startswith("status_"):
            second = {"authn_failed": "AuthnFailed", "request_denied": "RequestDenied", "no_passive": "NoPassive"}[
                variant.removeprefix("status_")
            ]
            top = _sub(status, SAMLP, "StatusCode", Value=STATUS + "Requester")
            _sub(top, SAMLP, "StatusCode", Value=STATUS + second)
            _sub(status, SAMLP, "StatusMessage", "The user cancelled the authentication")
            return etree.tostring(response)
        _sub(status, SAMLP, "StatusCode", Value=STATUS + "Success")

        assertion = self._assertion(now, in_response_to, self.bpk2)
        if self.sign in ("assertion", "both") and variant != "unsigned":
            assertion = self._sign(assertion, self.stranger if variant == "wrong_key" else self.signing)
        if variant == "bad_signature":
            for value in assertion.iter(f"{{{SAML}}}AttributeValue"):
                if value.getparent().get("Name") == BPK2:
                    value.text = "bpk2-mallory"
        if variant == "wrapped":
            assertion = self._wrap(assertion, now, in_response_to)
        response.append(self._encrypt(assertion) if self.encrypt else assertion)
        if self.sign in ("response", "both") and variant != "unsigned":
            response = self._sign(response, self.stranger if variant == "wrong_key" else self.signing)
        return etree.tostring(response)

    def _assertion(self, now: dt.datetime, in_response_to: str, bpk2: str) -> etree._Element:
        variant = self.variant
        assertion_id = self.last_assertion_id if variant == "replay" and self.last_assertion_id else _new_id()
        self.last_assertion_id = assertion_id
        until = _instant(now + dt.timedelta(minutes=5))
        assertion = etree.Element(
            f"{{{SAML}}}Assertion",
            nsmap={"saml": SAML, "xs": "http://www.w3.org/2001/XMLSchema"},
            ID=assertion_id,
            Version="2.0",
            IssueInstant=_instant(now),
        )
        _sub(
            assertion, SAML, "Issuer", "https://other-idp.example/idp" if variant == "wrong_issuer" else self.entity_id
        )
        subject = _sub(assertion, SAML, "Subject")
        name_id_format = {"Format": self.name_id_format} if self.name_id_format is not None else {}
        _sub(subject, SAML, "NameID", self.name_id or _new_id(), **name_id_format)
        confirmation = _sub(subject, SAML, "SubjectConfirmation", Method="urn:oasis:names:tc:SAML:2.0:cm:bearer")
        recipient = "https://attacker.example/acs" if variant == "wrong_recipient" else self.acs_url
        _sub(confirmation, SAML, "SubjectConfirmationData", InResponseTo=in_response_to, NotOnOrAfter=until,
             Recipient=recipient)  # fmt: skip
        conditions = _sub(
            assertion, SAML, "Conditions", NotBefore=_instant(now - dt.timedelta(minutes=1)), NotOnOrAfter=until
        )
        restriction = _sub(conditions, SAML, "AudienceRestriction")
        audience = "https://other-service.example/sp" if variant == "wrong_audience" else self.sp_entity_id
        _sub(restriction, SAML, "Audience", audience)
        statement = _sub(assertion, SAML, "AuthnStatement", AuthnInstant=_instant(now), SessionIndex=_new_id())
        _sub(_sub(statement, SAML, "AuthnContext"), SAML, "AuthnContextClassRef", self.class_ref)
        attributes = _sub(assertion, SAML, "AttributeStatement")
        values = {BPK2: bpk2, ASSERTION_PROVED_BY: self.proved_by, QAA_LEVEL: self.class_ref, **self.attributes}
        if not self.send_bpk2:
            values.pop(BPK2)
        for name, value in values.items():
            attribute = _sub(
                attributes, SAML, "Attribute", Name=name, NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
            )
            _sub(attribute, SAML, "AttributeValue", value)
        for name, friendly_name, value in self.extra_attributes:
            attribute = _sub(attributes, SAML, "Attribute", Name=name, FriendlyName=friendly_name)
            _sub(attribute, SAML, "AttributeValue", value)
        return assertion

    def _sign(self, element: etree._Element, pair: KeyPair) -> etree._Element:
        # The signature goes right after the Issuer (SAML Core schema order).
        placeholder = etree.Element(f"{{{DS}}}Signature", nsmap={"ds": DS}, Id="placeholder")
        element.insert(1, placeholder)
        signer = XMLSigner(
            signature_algorithm=SignatureMethod.RSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        signed: etree._Element = signer.sign(
            element, key=pair.key, cert=[pair.certificate], reference_uri=element.get("ID")
        )
        return signed

    def _wrap(self, genuine: etree._Element, now: dt.datetime, in_response_to: str) -> etree._Element:
        """XML signature wrapping: the genuine signature moves into a forged assertion for another
        person, and the genuine assertion hides in the forged one's Advice. The signature still
        verifies (its reference points at the genuine assertion, which the enveloped-signature
        transform hashed without the signature anyway); only the forged values are not signed."""
        forged = self._assertion(now, in_response_to, "bpk2-mallory")
        signature = genuine.find(f"{{{DS}}}Signature")
        assert signature is not None, "wrapping needs a signed assertion"
        genuine.remove(signature)
        forged.insert(1, signature)
        advice = etree.Element(f"{{{SAML}}}Advice")
        advice.append(genuine)
        forged.insert(forged.index(forged.find(f"{{{SAML}}}Conditions")) + 1, advice)
        return forged

    def _encrypt(self, assertion: etree._Element) -> etree._Element:
        plaintext = etree.tostring(assertion)
        algorithm = self.encrypt or "aes256-gcm"
        size = 16 if "128" in algorithm else 32
        content_key = os.urandom(size)
        if algorithm.endswith("gcm"):
            iv = os.urandom(12)
            cipher_value = iv + AESGCM(content_key).encrypt(iv, plaintext, None)
            content_uri = f"{XENC11}{algorithm}"
        else:
            iv = os.urandom(16)
            pad = 16 - len(plaintext) % 16
            padded = plaintext + os.urandom(pad - 1) + bytes([pad])
            encryptor = Cipher(algorithms.AES(content_key), modes.CBC(iv)).encryptor()
            cipher_value = iv + encryptor.update(padded) + encryptor.finalize()
            content_uri = f"{XENC}{algorithm}"
        public_key = self.sp_certificate.public_key()
        assert isinstance(public_key, rsa.RSAPublicKey)
        if self.key_transport == "rsa-oaep":
            oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        else:
            oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303
        wrapped_key = public_key.encrypt(content_key, oaep)

        encrypted = etree.Element(f"{{{SAML}}}EncryptedAssertion", nsmap={"saml": SAML})
        data = _sub(encrypted, XENC, "EncryptedData", Type=f"{XENC}Element")
        _sub(data, XENC, "EncryptionMethod", Algorithm=content_uri)
        key_info = _sub(data, DS, "KeyInfo")
        encrypted_key = _sub(key_info, XENC, "EncryptedKey")
        if self.key_transport == "rsa-oaep":
            method = _sub(encrypted_key, XENC, "EncryptionMethod", Algorithm=f"{XENC11}rsa-oaep")
            _sub(method, DS, "DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
            _sub(method, XENC11, "MGF", Algorithm=f"{XENC11}mgf1sha256")
        else:
            method = _sub(encrypted_key, XENC, "EncryptionMethod", Algorithm=f"{XENC}rsa-oaep-mgf1p")
            _sub(method, DS, "DigestMethod", Algorithm="http://www.w3.org/2000/09/xmldsig#sha1")
        _sub(_sub(encrypted_key, XENC, "CipherData"), XENC, "CipherValue", base64.b64encode(wrapped_key).decode())
        _sub(_sub(data, XENC, "CipherData"), XENC, "CipherValue", base64.b64encode(cipher_value).decode())
        return encrypted

    @staticmethod
    def _auto_post_page(acs_url: str, response: bytes, relay_state: str) -> str:
        encoded = base64.b64encode(response).decode()
        return (
            "<!DOCTYPE html><html lang='de'><head><title>BundID (test)</title></head><body>"
            f"<form method='post' action='{html.escape(acs_url, quote=True)}'>"
            f"<input type='hidden' name='SAMLResponse' value='{encoded}'>"
            f"<input type='hidden' name='RelayState' value='{html.escape(relay_state, quote=True)}'>"
            "<button type='submit'>Weiter</button></form></body></html>"
        )
