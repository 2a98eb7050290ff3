"""SAML 2.0 messages dikom sends: the signed AuthnRequest for the HTTP-Redirect binding and the
service provider's metadata. Reading and checking the identity provider's answers is in ``saml_xml``."""

from __future__ import annotations

import base64
import datetime as dt
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import Certificate
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

from dikom.authproviders.contrib.saml_xml import (
    AES_CBC,
    AES_GCM,
    BINDING_POST,
    NS,
    RSA_OAEP,
    RSA_OAEP_MGF1P,
    SIG_ALG_RSA_SHA256,
    instant,
    q,
)

# --- Building requests and metadata -------------------------------------------------


@dataclass(frozen=True)
class RequestedAttribute:
    name: str
    required: bool = False


def build_authn_request(
    *,
    request_id: str,
    issue_instant: dt.datetime,
    destination: str,
    acs_url: str,
    sp_entity_id: str,
    authn_context_class_refs: Iterable[str] = (),
    requested_attributes: Iterable[RequestedAttribute] = (),
    organization_display_name: str = "",
    online_service_id: str = "",
) -> bytes:
    """A samlp:AuthnRequest asking for the POST binding back to ``acs_url``.

    Requested attributes and display information travel in the AKDB extension
    BundID reads (``akdb:AuthenticationRequest``, version 2); other IdPs ignore
    unknown extensions.
    """
    nsmap = {"samlp": NS["samlp"], "saml": NS["saml"]}
    request = etree.Element(
        q("samlp", "AuthnRequest"),
        nsmap=nsmap,
        ID=request_id,
        Version="2.0",
        IssueInstant=instant(issue_instant),
        Destination=destination,
        AssertionConsumerServiceURL=acs_url,
        ProtocolBinding=BINDING_POST,
    )
    etree.SubElement(request, q("saml", "Issuer")).text = sp_entity_id
    attributes = list(requested_attributes)
    if attributes or organization_display_name or online_service_id:
        extensions = etree.SubElement(request, q("samlp", "Extensions"))
        akdb = etree.SubElement(extensions, q("akdb", "AuthenticationRequest"), nsmap={"akdb": NS["akdb"]}, Version="2")
        if attributes:
            requested = etree.SubElement(akdb, q("akdb", "RequestedAttributes"))
            for attribute in attributes:
                etree.SubElement(
                    requested,
                    q("akdb", "RequestedAttribute"),
                    Name=attribute.name,
                    RequiredAttribute="true" if attribute.required else "false",
                )
        if organization_display_name or online_service_id:
            display = etree.SubElement(akdb, q("akdb", "DisplayInformation"))
            version = etree.SubElement(display, q("classic-ui", "Version"), nsmap={"classic-ui": NS["classic-ui"]})
            if organization_display_name:
                etree.SubElement(version, q("classic-ui", "OrganizationDisplayName")).text = organization_display_name
            if online_service_id:
                etree.SubElement(version, q("classic-ui", "OnlineServiceId")).text = online_service_id
    refs = list(authn_context_class_refs)
    if refs:
        context = etree.SubElement(request, q("samlp", "RequestedAuthnContext"), Comparison="minimum")
        for ref in refs:
            etree.SubElement(context, q("saml", "AuthnContextClassRef")).text = ref
    return etree.tostring(request, xml_declaration=False, encoding="utf-8")


def deflate_base64(xml: bytes) -> str:
    """Raw DEFLATE (RFC 1951, no zlib header) then base64: the HTTP-Redirect encoding."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode("ascii")


def redirect_url(sso_url: str, xml: bytes, relay_state: str, key: rsa.RSAPrivateKey) -> str:
    """The IdP URL carrying the request, RelayState and the query-string signature (SAML Bindings 3.4.4.1)."""
    signed_part = "&".join(
        f"{name}={quote(value, safe='')}"
        for name, value in (
            ("SAMLRequest", deflate_base64(xml)),
            ("RelayState", relay_state),
            ("SigAlg", SIG_ALG_RSA_SHA256),
        )
    )
    signature = key.sign(signed_part.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    query = signed_part + "&Signature=" + quote(base64.b64encode(signature).decode("ascii"), safe="")
    return sso_url + ("&" if "?" in sso_url else "?") + query


def certificate_text(certificate: Certificate) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return base64.b64encode(certificate.public_bytes(Encoding.DER)).decode("ascii")


def build_sp_metadata(
    *,
    entity_id: str,
    acs_url: str,
    certificates: Sequence[Certificate],
    valid_until: dt.datetime | None = None,
    sign_with: tuple[rsa.RSAPrivateKey, Certificate] | None = None,
) -> bytes:
    """SP metadata: our certificates (signing and encryption, several during a rollover) and the ACS."""
    root = etree.Element(
        q("md", "EntityDescriptor"),
        nsmap={"md": NS["md"], "ds": NS["ds"]},
        entityID=entity_id,
        ID="_" + re.sub(r"[^A-Za-z0-9]", "", base64.b32encode(entity_id.encode()).decode())[:32],
    )
    if valid_until is not None:
        root.set("validUntil", instant(valid_until))
    if sign_with is not None:
        etree.SubElement(root, q("ds", "Signature"), Id="placeholder")
    descriptor = etree.SubElement(
        root,
        q("md", "SPSSODescriptor"),
        AuthnRequestsSigned="true",
        WantAssertionsSigned="true",
        protocolSupportEnumeration=NS["samlp"],
    )
    for use in ("signing", "encryption"):
        for certificate in certificates:
            key_descriptor = etree.SubElement(descriptor, q("md", "KeyDescriptor"), use=use)
            key_info = etree.SubElement(key_descriptor, q("ds", "KeyInfo"))
            x509_data = etree.SubElement(key_info, q("ds", "X509Data"))
            etree.SubElement(x509_data, q("ds", "X509Certificate")).text = certificate_text(certificate)
            if use == "encryption":
                for algorithm in (*AES_GCM, *AES_CBC, RSA_OAEP, RSA_OAEP_MGF1P):
                    etree.SubElement(key_descriptor, q("md", "EncryptionMethod"), Algorithm=algorithm)
    etree.SubElement(
        descriptor, q("md", "AssertionConsumerService"), Binding=BINDING_POST, Location=acs_url, index="0",
        isDefault="true",
    )  # fmt: skip
    if sign_with is not None:
        key, certificate = sign_with
        signer = XMLSigner(
            signature_algorithm=SignatureMethod.RSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        root = signer.sign(root, key=key, cert=[certificate], reference_uri=root.get("ID"))
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
