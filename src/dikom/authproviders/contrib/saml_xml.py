"""SAML 2.0 messages for the BundID sign-in, without Django.

Reads a Response (HTTP-POST binding): XML signature with
signxml against the configured IdP certificates, decryption of an
EncryptedAssertion (RSA-OAEP key transport, AES-GCM or AES-CBC content), and
the checks SAML 2.0 Core and the Web Browser SSO profile require. ``saml.py``
supplies the settings and turns :class:`SamlError` into messages; the
AuthnRequest (HTTP-Redirect binding, query-string signature) and the SP
metadata are built in ``saml_requests``.

Values are only ever read from the element signxml returns as signed (or
from an assertion decrypted out of such an element), never from the raw
document: that is what makes signature wrapping useless.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509 import Certificate
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException

logger = logging.getLogger(__name__)

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xenc": "http://www.w3.org/2001/04/xmlenc#",
    "xenc11": "http://www.w3.org/2009/xmlenc11#",
    "akdb": "https://www.akdb.de/request/2018/09",
    "classic-ui": "https://www.akdb.de/request/2018/09/classic-ui/v1",
}

BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
SIG_ALG_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_PREFIX = "urn:oasis:names:tc:SAML:2.0:status:"
CM_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
NAMEID_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"

# Content encryption (XML Encryption 1.0 / 1.1) and key sizes in bytes.
AES_CBC = {
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc": 16,
    "http://www.w3.org/2001/04/xmlenc#aes192-cbc": 24,
    "http://www.w3.org/2001/04/xmlenc#aes256-cbc": 32,
}
AES_GCM = {
    "http://www.w3.org/2009/xmlenc11#aes128-gcm": 16,
    "http://www.w3.org/2009/xmlenc11#aes192-gcm": 24,
    "http://www.w3.org/2009/xmlenc11#aes256-gcm": 32,
}
# Key transport: only OAEP. RSA PKCS#1 v1.5 (xmlenc#rsa-1_5) is refused (Bleichenbacher).
RSA_OAEP_MGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
RSA_OAEP = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "http://www.w3.org/2000/09/xmldsig#sha1": hashes.SHA1,
    "http://www.w3.org/2001/04/xmlenc#sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmlenc#sha512": hashes.SHA512,
}
MGFS: dict[str, type[hashes.HashAlgorithm]] = {
    "http://www.w3.org/2009/xmlenc11#mgf1sha1": hashes.SHA1,
    "http://www.w3.org/2009/xmlenc11#mgf1sha256": hashes.SHA256,
    "http://www.w3.org/2009/xmlenc11#mgf1sha384": hashes.SHA384,
    "http://www.w3.org/2009/xmlenc11#mgf1sha512": hashes.SHA512,
}

#: Signatures we accept: RSA and ECDSA with SHA-2 only, exclusive or inclusive c14n, no SHA-1.
SIGNATURE_CONFIG = SignatureConfiguration(
    location="./",  # the ds:Signature must be a direct child of the element it signs
    expect_references=1,
    signature_methods=frozenset(
        {
            SignatureMethod.RSA_SHA256,
            SignatureMethod.RSA_SHA384,
            SignatureMethod.RSA_SHA512,
            SignatureMethod.ECDSA_SHA256,
            SignatureMethod.ECDSA_SHA384,
            SignatureMethod.ECDSA_SHA512,
        }
    ),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512}),
)


class SamlError(Exception):
    """The SAML message is unusable. ``code`` says why (for logs and for the message shown)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class SamlStatusError(SamlError):
    """The IdP answered with a non-success status (cancelled, failed, denied, …)."""

    def __init__(self, top: str, second: str, message: str = "") -> None:
        super().__init__("status", f"{top}/{second} {message}".strip())
        self.top = top
        self.second = second


def q(prefix: str, local: str) -> str:
    """Clark notation ``{namespace}local`` for a prefix of :data:`NS`."""
    return f"{{{NS[prefix]}}}{local}"


def instant(moment: dt.datetime) -> str:
    """xs:dateTime in UTC as SAML wants it (no fractions, ``Z``)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_FRACTION = re.compile(r"\.(\d+)")


def parse_instant(text: str | None) -> dt.datetime:
    """Parse an xs:dateTime; SAML times are UTC, so one without zone counts as UTC."""
    if not text:
        raise SamlError("time", "missing")
    value = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text.strip())
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        # In UTC, so that adding the clock skew later cannot leave the calendar (year 1 or 9999 with an offset).
        return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise SamlError("time", f"unreadable {text!r}") from exc


# --- Parsing ------------------------------------------------------------------------


def _parser(remove_comments: bool = False) -> etree.XMLParser:
    # No entities, no network, no huge trees: the input comes from the internet.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, remove_comments=remove_comments, load_dtd=False
    )


def parse_xml(data: bytes, *, remove_comments: bool = False) -> etree._Element:
    """Parse untrusted XML; a document type declaration is refused outright."""
    try:
        root = etree.fromstring(data, parser=_parser(remove_comments))
    except etree.XMLSyntaxError as exc:
        raise SamlError("xml", str(exc)) from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise SamlError("xml", "document type declarations are not allowed")
    return root


def _text(element: etree._Element | None) -> str:
    """Text directly inside ``element``; comments are not text (NameID comment truncation)."""
    if element is None:
        return ""
    return "".join(str(part) for part in element.xpath("text()")).strip()


def _ids_unique(root: etree._Element) -> None:
    seen: set[str] = set()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for name in ("ID", "Id", "id"):
            value = element.get(name)
            if value is None:
                continue
            if value in seen:
                raise SamlError("signature", f"duplicate ID {value!r}")
            seen.add(value)


def _direct_signature(element: etree._Element) -> etree._Element | None:
    return element.find(q("ds", "Signature"))


def verify_signed(data: bytes, certificates: Sequence[Certificate], *, tag: str, element_id: str) -> etree._Element:
    """Verify the enveloped signature of the root of ``data`` against one of ``certificates``.

    Returns the element signxml reports as signed, which must be the root
    itself (same tag and ID). A signature over some other element (a wrapped,
    copied or nested one) is refused.

    Every failure inside signxml counts as "not verified", whatever its type:
    besides its own exceptions (InvalidSignature, InvalidDigest,
    InvalidCertificate, InvalidInput) a hostile signature makes it raise
    lxml's DocumentInvalid (xmldsig schema: a SignatureMethod without
    Algorithm), TypeError (an empty SignatureValue), ValueError, KeyError, …
    Nothing an attacker sends may turn into a server error.
    """
    for certificate in certificates:
        try:
            result = XMLVerifier().verify(data, x509_cert=certificate, expect_config=SIGNATURE_CONFIG)
        except SignXMLException:
            continue
        except Exception as exc:
            logger.debug("signature verification failed with %s", type(exc).__name__)
            continue
        signed = getattr(result, "signed_xml", None)
        if signed is None or signed.tag != tag or not element_id or signed.get("ID") != element_id:
            raise SamlError("signature", "the signature covers another element")
        return signed
    raise SamlError("signature", "no configured IdP certificate verifies the signature")


# --- Decryption ---------------------------------------------------------------------


def _algorithm_of(parent: etree._Element, tag: str, default: str) -> str:
    child = parent.find(tag)
    return child.get("Algorithm", default) if child is not None else default


def _oaep(method: etree._Element) -> padding.OAEP:
    algorithm = method.get("Algorithm")
    digest_uri = _algorithm_of(method, q("ds", "DigestMethod"), "http://www.w3.org/2000/09/xmldsig#sha1")
    digest = DIGESTS.get(digest_uri)
    if digest is None:
        raise SamlError("decrypt", f"unsupported OAEP digest {digest_uri}")
    if algorithm == RSA_OAEP_MGF1P:
        mgf: type[hashes.HashAlgorithm] = hashes.SHA1
    elif algorithm == RSA_OAEP:
        mgf_uri = _algorithm_of(method, q("xenc11", "MGF"), "http://www.w3.org/2009/xmlenc11#mgf1sha1")
        if mgf_uri not in MGFS:
            raise SamlError("decrypt", f"unsupported MGF {mgf_uri}")
        mgf = MGFS[mgf_uri]
    else:
        raise SamlError("decrypt", f"unsupported key transport {algorithm}")
    return padding.OAEP(mgf=padding.MGF1(algorithm=mgf()), algorithm=digest(), label=None)


def _cipher_value(element: etree._Element) -> bytes:
    value = element.find(f"{q('xenc', 'CipherData')}/{q('xenc', 'CipherValue')}")
    try:
        return base64.b64decode("".join(_text(value).split()), validate=True)
    except ValueError as exc:
        raise SamlError("decrypt", "unreadable cipher value") from exc


def decrypt_assertion(encrypted: etree._Element, keys: Sequence[rsa.RSAPrivateKey]) -> etree._Element:
    """Decrypt a saml:EncryptedAssertion with one of our keys and return the saml:Assertion.

    Every failure after the key transport ends in the same ``decrypt`` error,
    so an attacker learns nothing from the kind of failure (padding oracles).
    """
    data = encrypted.find(q("xenc", "EncryptedData"))
    if data is None:
        raise SamlError("decrypt", "no EncryptedData")
    method = data.find(q("xenc", "EncryptionMethod"))
    content_alg = method.get("Algorithm", "") if method is not None else ""
    key_size = AES_GCM.get(content_alg) or AES_CBC.get(content_alg)
    if key_size is None:
        raise SamlError("decrypt", f"unsupported content encryption {content_alg}")
    encrypted_key = data.find(f"{q('ds', 'KeyInfo')}/{q('xenc', 'EncryptedKey')}")
    if encrypted_key is None:
        encrypted_key = encrypted.find(q("xenc", "EncryptedKey"))
    if encrypted_key is None:
        raise SamlError("decrypt", "no EncryptedKey")
    key_method = encrypted_key.find(q("xenc", "EncryptionMethod"))
    if key_method is None:
        raise SamlError("decrypt", "no key transport method")
    oaep = _oaep(key_method)
    wrapped = _cipher_value(encrypted_key)
    content_key = None
    for key in keys:
        try:
            content_key = key.decrypt(wrapped, oaep)
            break
        except ValueError:
            continue
    if content_key is None or len(content_key) != key_size:
        raise SamlError("decrypt", "no configured SP key opens the content key")
    ciphertext = _cipher_value(data)
    try:
        if content_alg in AES_GCM:
            plaintext = AESGCM(content_key).decrypt(ciphertext[:12], ciphertext[12:], None)
        else:
            if len(ciphertext) < 32 or len(ciphertext) % 16:
                raise ValueError("bad length")
            decryptor = Cipher(algorithms.AES(content_key), modes.CBC(ciphertext[:16])).decryptor()
            padded = decryptor.update(ciphertext[16:]) + decryptor.finalize()
            # XML Encryption padding: the last byte counts the padding bytes (1..16); the others are arbitrary.
            pad = padded[-1]
            if not 1 <= pad <= 16:
                raise ValueError("bad padding")
            plaintext = padded[:-pad]
    except (InvalidTag, ValueError) as exc:
        raise SamlError("decrypt", "content could not be decrypted") from exc
    assertion = _parse_fragment(plaintext)
    if assertion.tag != q("saml", "Assertion"):
        raise SamlError("decrypt", "the encrypted element is not an Assertion")
    return assertion


def _parse_fragment(plaintext: bytes) -> etree._Element:
    """The decrypted element; its prefixes may rely on declarations of the enclosing document."""
    try:
        return parse_xml(plaintext, remove_comments=True)
    except SamlError:
        wrapper = (
            f'<wrapper xmlns:saml="{NS["saml"]}" xmlns:ds="{NS["ds"]}" '
            'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        ).encode()
        root = parse_xml(wrapper + plaintext + b"</wrapper>", remove_comments=True)
        if len(root) != 1:
            raise SamlError("decrypt", "unexpected decrypted content") from None
        return root[0]


# --- Reading a Response -------------------------------------------------------------


@dataclass(frozen=True)
class Expectations:
    """What a Response must match: our side of the exchange."""

    idp_entity_id: str
    idp_certificates: Sequence[Certificate]
    sp_entity_id: str
    acs_url: str
    request_id: str
    decryption_keys: Sequence[rsa.RSAPrivateKey]
    now: dt.datetime
    skew: dt.timedelta


@dataclass(frozen=True)
class VerifiedAssertion:
    """The parts of a verified assertion dikom uses."""

    assertion_id: str
    issuer: str
    name_id: str
    name_id_format: str
    authn_context_class_ref: str
    valid_until: dt.datetime
    attributes: dict[str, list[str]] = field(default_factory=dict)
    response_signed: bool = False
    assertion_signed: bool = False
    encrypted: bool = False

    def attribute(self, name: str) -> str:
        """The first value of the attribute with this ``Name`` ("" when absent).

        Attributes are keyed by their ``Name`` only. A ``FriendlyName`` is a
        display label the IdP may set freely; matching on it would let an
        attribute with another meaning stand in for, say, the bPK2.
        """
        values = self.attributes.get(name)
        return values[0] if values else ""


def read_response(data: bytes, expect: Expectations) -> VerifiedAssertion:
    """Verify a samlp:Response and return its one assertion, or raise SamlError.

    The input comes from anyone on the internet: any failure, also one of a
    kind not foreseen here (lxml, cryptography, a bug), is a SamlError, so the
    caller refuses the answer instead of failing with a server error.
    """
    try:
        return _read_response(data, expect)
    except SamlError:
        raise
    except Exception as exc:
        raise SamlError("malformed", f"{type(exc).__name__}: {str(exc)[:200]}") from exc


def _read_response(data: bytes, expect: Expectations) -> VerifiedAssertion:
    root = parse_xml(data)
    if root.tag != q("samlp", "Response"):
        raise SamlError("xml", "not a samlp:Response")
    _ids_unique(root)
    _check_status(root)

    response_signed = _direct_signature(root) is not None
    if response_signed:
        root = verify_signed(data, expect.idp_certificates, tag=q("samlp", "Response"), element_id=root.get("ID", ""))
    _check_response(root, expect, signed=response_signed)

    found = [child for child in root if child.tag in (q("saml", "Assertion"), q("saml", "EncryptedAssertion"))]
    if len(found) != 1:
        raise SamlError("xml", f"expected exactly one assertion, found {len(found)}")
    encrypted = found[0].tag == q("saml", "EncryptedAssertion")
    assertion = decrypt_assertion(found[0], expect.decryption_keys) if encrypted else found[0]
    assertion_signed = _direct_signature(assertion) is not None
    if assertion_signed:
        _ids_unique(assertion)
        assertion = verify_signed(
            etree.tostring(assertion),
            expect.idp_certificates,
            tag=q("saml", "Assertion"),
            element_id=assertion.get("ID", ""),
        )
    elif not response_signed:
        raise SamlError("unsigned", "neither the response nor the assertion is signed")
    return _check_assertion(
        assertion, expect, response_signed=response_signed, assertion_signed=assertion_signed, encrypted=encrypted
    )


def _status_code_name(value: str | None) -> str:
    return (value or "").removeprefix(STATUS_PREFIX)


def _check_status(root: etree._Element) -> None:
    code = root.find(f"{q('samlp', 'Status')}/{q('samlp', 'StatusCode')}")
    if code is None:
        raise SamlError("xml", "no status")
    if code.get("Value") == STATUS_SUCCESS:
        return
    second = code.find(q("samlp", "StatusCode"))
    message = _text(root.find(f"{q('samlp', 'Status')}/{q('samlp', 'StatusMessage')}"))
    raise SamlStatusError(
        _status_code_name(code.get("Value")),
        _status_code_name(second.get("Value") if second is not None else ""),
        message[:200],
    )


def _check_response(root: etree._Element, expect: Expectations, *, signed: bool) -> None:
    if root.get("Version") != "2.0":
        raise SamlError("xml", "not SAML 2.0")
    destination = root.get("Destination")
    if (signed and not destination) or (destination is not None and destination != expect.acs_url):
        raise SamlError("destination", f"Destination {destination!r}")
    issuer = root.find(q("saml", "Issuer"))
    if issuer is not None and _text(issuer) != expect.idp_entity_id:
        raise SamlError("issuer", f"Issuer {_text(issuer)!r}")
    in_response_to = root.get("InResponseTo")
    if in_response_to is not None and in_response_to != expect.request_id:
        raise SamlError("in_response_to", "the response answers another request")


def _check_assertion(
    assertion: etree._Element,
    expect: Expectations,
    *,
    response_signed: bool,
    assertion_signed: bool,
    encrypted: bool,
) -> VerifiedAssertion:
    now, skew = expect.now, expect.skew
    if assertion.get("Version") != "2.0" or not assertion.get("ID"):
        raise SamlError("xml", "assertion without version 2.0 or ID")
    issuer = _text(assertion.find(q("saml", "Issuer")))
    if issuer != expect.idp_entity_id:
        raise SamlError("issuer", f"assertion Issuer {issuer!r}")

    conditions = assertion.find(q("saml", "Conditions"))
    if conditions is None:
        raise SamlError("audience", "no Conditions")
    valid_until = _check_window(conditions, now, skew)
    restrictions = conditions.findall(q("saml", "AudienceRestriction"))
    if not restrictions:
        raise SamlError("audience", "no AudienceRestriction")
    for restriction in restrictions:
        # Every restriction must name us (SAML Core 2.5.1.4).
        if expect.sp_entity_id not in {_text(a) for a in restriction.findall(q("saml", "Audience"))}:
            raise SamlError("audience", "this service is not an audience of the assertion")

    subject = assertion.find(q("saml", "Subject"))
    if subject is None:
        raise SamlError("subject", "no Subject")
    valid_until = min(valid_until, _check_bearer(subject, expect))
    name_id = subject.find(q("saml", "NameID"))

    statements = assertion.findall(q("saml", "AuthnStatement"))
    if not statements:
        raise SamlError("xml", "no AuthnStatement")
    class_ref = _text(statements[0].find(f"{q('saml', 'AuthnContext')}/{q('saml', 'AuthnContextClassRef')}"))

    attributes: dict[str, list[str]] = {}
    for attribute in assertion.iterfind(f"{q('saml', 'AttributeStatement')}/{q('saml', 'Attribute')}"):
        values = [_text(value) for value in attribute.findall(q("saml", "AttributeValue"))]
        name = attribute.get("Name")
        if name:  # by Name only, never by FriendlyName (see VerifiedAssertion.attribute)
            attributes.setdefault(name, []).extend(values)

    return VerifiedAssertion(
        assertion_id=assertion.get("ID", ""),
        issuer=issuer,
        name_id=_text(name_id),
        name_id_format=name_id.get("Format", "") if name_id is not None else "",
        authn_context_class_ref=class_ref,
        valid_until=valid_until,
        attributes=attributes,
        response_signed=response_signed,
        assertion_signed=assertion_signed,
        encrypted=encrypted,
    )


def _check_window(element: etree._Element, now: dt.datetime, skew: dt.timedelta) -> dt.datetime:
    not_before = element.get("NotBefore")
    if not_before is not None and parse_instant(not_before) > now + skew:
        raise SamlError("expired", "not yet valid")
    not_on_or_after = element.get("NotOnOrAfter")
    if not_on_or_after is None:
        return now + dt.timedelta(minutes=10)
    until = parse_instant(not_on_or_after)
    if until <= now - skew:
        raise SamlError("expired", "no longer valid")
    return until


def _check_bearer(subject: etree._Element, expect: Expectations) -> dt.datetime:
    """At least one bearer confirmation for our ACS, our request and now (Web Browser SSO profile 4.1.4.2)."""
    problems: list[SamlError] = []
    for confirmation in subject.findall(q("saml", "SubjectConfirmation")):
        if confirmation.get("Method") != CM_BEARER:
            continue
        data = confirmation.find(q("saml", "SubjectConfirmationData"))
        try:
            if data is None or data.get("NotOnOrAfter") is None:
                raise SamlError("subject", "bearer confirmation without NotOnOrAfter")
            if data.get("Recipient") != expect.acs_url:
                raise SamlError("destination", f"Recipient {data.get('Recipient')!r}")
            if data.get("InResponseTo") != expect.request_id:
                raise SamlError("in_response_to", "the assertion answers another request")
            return _check_window(data, expect.now, expect.skew)
        except SamlError as problem:
            problems.append(problem)
    raise problems[0] if problems else SamlError("subject", "no bearer SubjectConfirmation")
