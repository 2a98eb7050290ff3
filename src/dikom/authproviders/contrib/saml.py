"""BundID sign-in over SAML 2.0 (service provider side).

BundID, the federal citizen account, is a SAML 2.0 identity provider. The
citizen is sent there with a signed AuthnRequest (HTTP-Redirect binding) and
comes back with a Response posted by the browser (HTTP-POST binding) to
``/anmeldung/bundid/acs/``. Because the session cookie is SameSite=Lax, that
cross-site POST carries no session; the generic ``post_return`` view parks the
answer (``dikom.authproviders.handoff``) and sends the browser on to the
generic return view, where :meth:`SamlAuthProvider.complete` verifies it.

The AuthnRequest ID is derived from the flow's ``state`` with a keyed hash
(the secret key), so InResponseTo is checked against the attempt of *this*
session without storing anything more: the state is already in the session,
and nobody without the secret key can compute the ID for a state.

The answer is verified in the ACS itself (:meth:`SamlAuthProvider.accept_post`),
so only the small result is parked for the return view, never the posted
document. Replay markers of used assertions live in the database
(``UsedAssertion``), where cache pressure cannot push them out.

The citizen's subject is a hash of the IdP entity id, the source of the
identifier and the identifier: the bPK2 pseudonym (hashed without a source
label, as before, so existing subjects stay), another configured attribute
(looked up by ``Name`` only) or a persistent NameID, each in a space of its
own. Only allow-listed attributes are kept, in the session. See
docs/sign-in-bundid-saml.md.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.functional import lazy
from django.utils.translation import gettext as _

from dikom.authproviders import handoff
from dikom.authproviders.actions import mark_assertion_used
from dikom.authproviders.base import METHODS, TRUST_LEVELS, AuthError, AuthProvider, Identity, current_flow
from dikom.authproviders.contrib import saml_requests, saml_xml
from dikom.authproviders.contrib.saml_requests import RequestedAttribute
from dikom.authproviders.contrib.saml_xml import SamlError, SamlStatusError

logger = logging.getLogger(__name__)

KEY = "bundid"

#: BundID attribute names (URN-encoded OIDs).
BPK2 = "urn:oid:1.3.6.1.4.1.25484.494450.3"  # pseudonym of the citizen for this service provider
ASSERTION_PROVED_BY = "urn:oid:1.3.6.1.4.1.25484.494450.2"  # how the citizen identified: eID, Elster, Benutzername, …
EID_CITIZEN_QAA_LEVEL = "urn:oid:1.2.40.0.10.2.1.1.261.94"  # the level reached, as STORK-QAA-Level-n

#: Our trust level -> the AuthnContextClassRef requested (Comparison="minimum"). BundID has no level below 1.
LEVEL_TO_CLASS_REF = {
    "none": "STORK-QAA-Level-1",
    "low": "STORK-QAA-Level-1",
    "substantial": "STORK-QAA-Level-3",
    "high": "STORK-QAA-Level-4",
}
#: AuthnContextClassRef (STORK QAA or eIDAS LoA) -> our trust level. STORK level 2 is BundID's "normal",
#: which has no method of its own and counts like level 1.
CLASS_REF_TO_LEVEL = {
    "STORK-QAA-Level-1": "low",
    "STORK-QAA-Level-2": "low",
    "STORK-QAA-Level-3": "substantial",
    "STORK-QAA-Level-4": "high",
    "http://eidas.europa.eu/LoA/low": "low",
    "http://eidas.europa.eu/LoA/substantial": "substantial",
    "http://eidas.europa.eu/LoA/high": "high",
}
#: AssertionProvedBy value (lower case) -> our method; anything else (Benutzername, FINK, …) is "bundid".
PROVED_BY_METHOD = {"eid": "eid", "smart-eid": "eid", "eidas": "eid", "elster": "elster"}

#: Control characters (and DEL) are refused in identifiers: a newline would let one value pose as another's
#: hash input (see subject_hash).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _setting(name: str, default: object = None) -> object:
    return getattr(settings, name, default)


def _label() -> str:
    return str(_setting("DIKOM_SAML_LABEL") or "BundID")


# --- Configuration ------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _certificates_in(path: str, mtime_ns: int) -> tuple[x509.Certificate, ...]:
    with open(path, "rb") as handle:
        return tuple(x509.load_pem_x509_certificates(handle.read()))


def load_certificates(path: str) -> tuple[x509.Certificate, ...]:
    """All PEM certificates in the file at ``path`` (cached until the file changes)."""
    try:
        return _certificates_in(path, os.stat(path).st_mtime_ns)
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(f"Cannot read certificates from {path!r}: {exc}") from exc


@functools.lru_cache(maxsize=8)
def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """The RSA private key in PEM ``pem`` (unencrypted)."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"The SAML service provider key cannot be read: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ImproperlyConfigured("The SAML service provider key must be an RSA key.")
    return key


@dataclass(frozen=True)
class SamlConfig:
    sp_entity_id: str
    sp_key: rsa.RSAPrivateKey
    sp_certificate: x509.Certificate
    #: the next key pair during a rollover: published in metadata and tried for decryption
    sp_next_key: rsa.RSAPrivateKey | None
    sp_next_certificate: x509.Certificate | None
    idp_entity_id: str
    idp_sso_url: str
    idp_certificates: tuple[x509.Certificate, ...]
    default_level: str
    subject_attribute: str
    attribute_map: dict[str, str]
    skew: dt.timedelta
    organization_display_name: str
    online_service_id: str

    @property
    def decryption_keys(self) -> list[rsa.RSAPrivateKey]:
        return [key for key in (self.sp_key, self.sp_next_key) if key is not None]

    @property
    def sp_certificates(self) -> list[x509.Certificate]:
        return [cert for cert in (self.sp_certificate, self.sp_next_certificate) if cert is not None]


def _attribute_map(entries: object) -> dict[str, str]:
    """``["given_name=urn:oid:2.5.4.42", …]`` -> ``{"given_name": "urn:oid:2.5.4.42", …}``."""
    result: dict[str, str] = {}
    for entry in entries if isinstance(entries, list | tuple) else []:
        name, separator, saml_name = str(entry).partition("=")
        if not separator or not name.strip() or not saml_name.strip():
            raise ImproperlyConfigured(f"DIKOM_SAML_ATTRIBUTES entries are name=SAML attribute name, got {entry!r}")
        result[name.strip()] = saml_name.strip()
    return result


def load_config() -> SamlConfig:
    """The SAML settings, read and checked; raises ImproperlyConfigured when something is missing or broken."""
    required = {
        "DIKOM_SAML_SP_ENTITY_ID": _setting("DIKOM_SAML_SP_ENTITY_ID"),
        "DIKOM_SAML_SP_KEY": _setting("DIKOM_SAML_SP_KEY"),
        "DIKOM_SAML_SP_CERT_FILE": _setting("DIKOM_SAML_SP_CERT_FILE"),
        "DIKOM_SAML_IDP_ENTITY_ID": _setting("DIKOM_SAML_IDP_ENTITY_ID"),
        "DIKOM_SAML_IDP_SSO_URL": _setting("DIKOM_SAML_IDP_SSO_URL"),
        "DIKOM_SAML_IDP_CERT_FILE": _setting("DIKOM_SAML_IDP_CERT_FILE"),
    }
    missing = [name for name, value in required.items() if not value]
    if missing:
        raise ImproperlyConfigured("BundID sign-in needs " + ", ".join(missing))
    if _CONTROL.search(str(required["DIKOM_SAML_IDP_ENTITY_ID"])):
        # The subject hash separates its parts by newlines (see subject_hash).
        raise ImproperlyConfigured("DIKOM_SAML_IDP_ENTITY_ID must not contain control characters.")
    sp_certificates = load_certificates(str(required["DIKOM_SAML_SP_CERT_FILE"]))
    idp_certificates = load_certificates(str(required["DIKOM_SAML_IDP_CERT_FILE"]))
    if len(sp_certificates) != 1 or not idp_certificates:
        raise ImproperlyConfigured(
            "DIKOM_SAML_SP_CERT_FILE must hold one certificate, DIKOM_SAML_IDP_CERT_FILE at least one."
        )
    next_key_pem, next_cert_file = _setting("DIKOM_SAML_SP_NEXT_KEY"), _setting("DIKOM_SAML_SP_NEXT_CERT_FILE")
    if bool(next_key_pem) != bool(next_cert_file):
        raise ImproperlyConfigured("DIKOM_SAML_SP_NEXT_KEY and DIKOM_SAML_SP_NEXT_CERT_FILE go together.")
    default_level = str(_setting("DIKOM_SAML_DEFAULT_LEVEL") or "low")
    if default_level not in TRUST_LEVELS:
        raise ImproperlyConfigured(f"DIKOM_SAML_DEFAULT_LEVEL must be one of {', '.join(TRUST_LEVELS)}")
    skew = int(str(_setting("DIKOM_SAML_CLOCK_SKEW_SECONDS", 60)))
    return SamlConfig(
        sp_entity_id=str(required["DIKOM_SAML_SP_ENTITY_ID"]),
        sp_key=load_private_key(str(required["DIKOM_SAML_SP_KEY"])),
        sp_certificate=sp_certificates[0],
        sp_next_key=load_private_key(str(next_key_pem)) if next_key_pem else None,
        sp_next_certificate=load_certificates(str(next_cert_file))[0] if next_cert_file else None,
        idp_entity_id=str(required["DIKOM_SAML_IDP_ENTITY_ID"]),
        idp_sso_url=str(required["DIKOM_SAML_IDP_SSO_URL"]),
        idp_certificates=idp_certificates,
        default_level=default_level,
        subject_attribute=str(_setting("DIKOM_SAML_SUBJECT_ATTRIBUTE") or BPK2),
        attribute_map=_attribute_map(_setting("DIKOM_SAML_ATTRIBUTES", [])),
        skew=dt.timedelta(seconds=max(0, skew)),
        organization_display_name=str(_setting("DIKOM_SAML_ORGANIZATION_DISPLAY_NAME") or ""),
        online_service_id=str(_setting("DIKOM_SAML_ONLINE_SERVICE_ID") or ""),
    )


class _Refused(Exception):
    """The verified assertion cannot become an identity; ``code`` selects the message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def subject_hash(idp_entity_id: str, source: str, identifier: str) -> str:
    """SHA-256 (hex) naming one citizen: the IdP, where the identifier came from, and the identifier.

    ``source`` is "" for the bPK2 attribute: its hash stays what it always
    was, SHA-256(IdP, newline, bPK2), so citizens already linked keep their
    subject. Every other source (``attribute:<Name>``, ``nameid:<Format>``) is
    hashed as IdP, newline, source, newline, identifier. Neither the entity
    id nor an identifier may contain a control character (checked by the
    callers), so a bPK2 hash input has exactly one newline and any other at
    least two: no identifier of one source can produce another source's
    subject.
    """
    parts = [idp_entity_id, source, identifier] if source else [idp_entity_id, identifier]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _pseudonym(assertion: saml_xml.VerifiedAssertion, config: SamlConfig) -> tuple[str, str]:
    """(source, identifier) of the citizen in this assertion; raises _Refused without a usable one.

    The subject attribute (bPK2 by default) is looked up by its ``Name``; a
    ``FriendlyName`` never counts. Without it, only a NameID whose Format is
    ``persistent`` names a citizen lastingly: one without Format, or with the
    ``unspecified`` (or any other) format, could be anything the IdP chose and
    is refused rather than guessed at.
    """
    values = assertion.attributes.get(config.subject_attribute)
    if values is not None:
        distinct = set(values)
        identifier = values[0] if len(distinct) == 1 else ""
        source = "" if config.subject_attribute == BPK2 else f"attribute:{config.subject_attribute}"
    elif assertion.name_id_format == saml_xml.NAMEID_PERSISTENT:
        identifier, source = assertion.name_id, f"nameid:{saml_xml.NAMEID_PERSISTENT}"
    else:
        logger.warning("BundID answer without a pseudonym (NameID format %r)", assertion.name_id_format[:100])
        raise _Refused("pseudonym")
    if not identifier or len(identifier) > 1000 or _CONTROL.search(identifier):
        logger.warning("BundID answer with an unusable pseudonym (source %r)", source or "bPK2")
        raise _Refused("pseudonym")
    return source, identifier


def acs_url() -> str:
    """Our assertion consumer service, from DIKOM_SITE_URL (never from the Host header)."""
    return str(settings.SITE_URL).rstrip("/") + reverse("authproviders:post_return", args=[KEY])


def request_id_for(state: str) -> str:
    """The AuthnRequest ID of the attempt with this state (an xs:ID: starts with a letter or underscore)."""
    return "_" + salted_hmac("dikom.authproviders.saml.request-id", state, algorithm="sha256").hexdigest()


# --- Provider -----------------------------------------------------------------------


class SamlAuthProvider(AuthProvider):
    """BundID (SAML 2.0): methods from DIKOM_SAML_METHODS, trust level from the assertion's AuthnContext."""

    key = KEY
    label = lazy(_label, str)()
    methods: ClassVar[tuple[str, ...]] = ("bundid", "eid", "elster")
    max_trust_level = "high"
    #: The answer comes back by HTTP-POST (see ``views.post_return`` and :meth:`accept_post`).
    post_return_state_field = "RelayState"

    def __init__(self) -> None:
        wanted = _setting("DIKOM_SAML_METHODS", self.methods)
        configured = tuple(str(m) for m in (wanted if isinstance(wanted, list | tuple) else ()) if m in METHODS)
        # Per instance: the registry builds a fresh provider for each look-up, so settings apply at once.
        self.methods = configured or type(self).methods  # type: ignore[misc]

    def is_available(self) -> bool:
        try:
            load_config()
        except ImproperlyConfigured as exc:
            if any(_setting(name) for name in ("DIKOM_SAML_SP_ENTITY_ID", "DIKOM_SAML_IDP_SSO_URL")):
                logger.warning("BundID sign-in is not offered: %s", exc)
            return False
        return True

    def begin(self, request: HttpRequest, state: str) -> HttpResponse:
        config = load_config()
        # The service may say which level it needs (?level=…); the IdP then offers only methods reaching it.
        wanted = request.GET.get("level", "")
        level = wanted if wanted in TRUST_LEVELS else config.default_level
        attributes = [RequestedAttribute(config.subject_attribute, required=True)]
        attributes += [RequestedAttribute(name) for name in (ASSERTION_PROVED_BY, EID_CITIZEN_QAA_LEVEL)]
        attributes += [RequestedAttribute(name) for name in config.attribute_map.values()]
        unique = list({attribute.name: attribute for attribute in reversed(attributes)}.values())[::-1]
        xml = saml_requests.build_authn_request(
            request_id=request_id_for(state),
            issue_instant=dt.datetime.now(dt.UTC),
            destination=config.idp_sso_url,
            acs_url=acs_url(),
            sp_entity_id=config.sp_entity_id,
            authn_context_class_refs=[LEVEL_TO_CLASS_REF[level]],
            requested_attributes=unique,
            organization_display_name=config.organization_display_name,
            online_service_id=config.online_service_id,
        )
        return HttpResponseRedirect(saml_requests.redirect_url(config.idp_sso_url, xml, state, config.sp_key))

    def accept_post(self, request: HttpRequest, state: str) -> dict[str, Any]:
        """Verify the posted SAMLResponse in the ACS and return the identity, or the reason of the refusal.

        Everything is checked here, before anything is parked: the session is
        not needed, because the request ID the answer must name is derived from
        the ``state`` (RelayState) posted with it, and the return view then
        requires that state to be this session's. Only the small result is
        handed over, never the posted answer itself.
        """
        encoded = request.POST.get("SAMLResponse", "")
        if len(encoded) > handoff.MAX_ANSWER_BYTES:
            return {"error": "too_large"}
        try:
            data = base64.b64decode("".join(encoded.split()), validate=True)
        except (binascii.Error, ValueError):
            data = b""
        if not data:
            return {"error": "unreadable"}
        config = load_config()
        expect = saml_xml.Expectations(
            idp_entity_id=config.idp_entity_id,
            idp_certificates=config.idp_certificates,
            sp_entity_id=config.sp_entity_id,
            acs_url=acs_url(),
            request_id=request_id_for(state),
            decryption_keys=config.decryption_keys,
            now=dt.datetime.now(dt.UTC),
            skew=config.skew,
        )
        try:
            assertion = saml_xml.read_response(data, expect)
        except SamlStatusError as error:
            logger.info("BundID answered with status %s", error.detail)
            return {"error": "status", "second": error.second[:64]}
        except SamlError as error:
            logger.warning("BundID answer refused (%s): %s", error.code, error.detail)
            return {"error": error.code[:32]}
        try:
            identity = self._identity(assertion, config)
        except _Refused as refusal:
            return {"error": refusal.code}
        # Marked as used only once it is accepted otherwise, so a refused answer does not burn the assertion.
        if not self._remember(assertion, config):
            return {"error": "replay"}
        return {"identity": identity.to_session()}

    def complete(self, request: HttpRequest) -> Identity:
        flow = current_flow(request)
        result = handoff.take(request, self.key, flow.state) if flow is not None else None
        if flow is None or result is None:
            raise AuthError(_("The answer of the identity service is missing or was already used. Please start again."))
        if "identity" in result and isinstance(result["identity"], dict):
            try:
                return Identity.from_session(result["identity"])
            except (KeyError, TypeError, ValueError) as error:
                raise AuthError(_refusal_message("")) from error
        code = str(result.get("error", ""))
        if code == "status":
            raise AuthError(_status_message(str(result.get("second", ""))))
        raise AuthError(_refusal_message(code))

    def _remember(self, assertion: saml_xml.VerifiedAssertion, config: SamlConfig) -> bool:
        """Replay protection: each assertion ID is accepted once (a database row until the assertion expires)."""
        digest = hashlib.sha256(f"{assertion.issuer}\n{assertion.assertion_id}".encode()).hexdigest()
        latest = dt.datetime.max.replace(tzinfo=dt.UTC) - config.skew
        expires_at = min(assertion.valid_until, latest) + config.skew
        if not mark_assertion_used(digest, expires_at):
            logger.warning("BundID assertion replayed (issuer %s)", assertion.issuer)
            return False
        return True

    def _identity(self, assertion: saml_xml.VerifiedAssertion, config: SamlConfig) -> Identity:
        source, pseudonym = _pseudonym(assertion, config)
        subject = subject_hash(config.idp_entity_id, source, pseudonym)

        level = CLASS_REF_TO_LEVEL.get(assertion.authn_context_class_ref) or CLASS_REF_TO_LEVEL.get(
            assertion.attribute(EID_CITIZEN_QAA_LEVEL)
        )
        if level is None:
            logger.warning("BundID trust level %r unknown; counted as none", assertion.authn_context_class_ref)
            level = "none"

        proved_by = assertion.attribute(ASSERTION_PROVED_BY).strip().lower()
        method = PROVED_BY_METHOD.get(proved_by, "bundid")
        if method not in self.methods:
            if "bundid" not in self.methods:
                raise _Refused("method")
            method = "bundid"  # it still is a sign-in with BundID

        attributes = {name: assertion.attribute(saml_name) for name, saml_name in config.attribute_map.items()}
        return Identity(
            provider=self.key,
            method=method,
            trust_level=level,
            subject=f"{self.key}-{subject}",
            # Longer values are dropped, not cut (a cut e-mail address is wrong).
            attributes={name: value for name, value in attributes.items() if value and len(value) <= 1000},
        )

    def metadata(self, request: HttpRequest) -> HttpResponse:
        """SP metadata for registration at the IdP (signed unless DIKOM_SAML_SIGN_METADATA is off)."""
        config = load_config()
        body = _metadata_xml(config, acs_url(), bool(_setting("DIKOM_SAML_SIGN_METADATA", True)))
        response = HttpResponse(body, content_type="application/samlmetadata+xml")
        response["Content-Disposition"] = 'inline; filename="dikom-bundid-sp-metadata.xml"'
        return response


def _metadata_xml(config: SamlConfig, acs: str, signed: bool) -> bytes:
    # Signing costs an RSA operation; the document only changes with the configuration.
    return _cached_metadata(config.sp_entity_id, acs, tuple(config.sp_certificates), config.sp_key if signed else None)


@functools.lru_cache(maxsize=4)
def _cached_metadata(
    entity_id: str, acs: str, certificates: tuple[x509.Certificate, ...], key: rsa.RSAPrivateKey | None
) -> bytes:
    return saml_requests.build_sp_metadata(
        entity_id=entity_id,
        acs_url=acs,
        certificates=certificates,
        sign_with=(key, certificates[0]) if key is not None else None,
    )


def _status_message(second: str) -> str:
    if second in ("AuthnFailed", "RequestDenied"):
        return _("The sign-in was cancelled or failed at the identity service. You can start it again.")
    if second == "NoPassive":
        return _("The identity service could not sign you in without asking you. Please start the sign-in again.")
    if second == "NoAuthnContext":
        return _("The identity service could not sign you in at the trust level this service needs.")
    return _("The identity service could not sign you in. Please start the sign-in again.")


def _refusal_message(code: str) -> str:
    if code in ("too_large", "unreadable"):
        return _("The answer of the identity service could not be read. Please start again.")
    if code == "replay":
        return _("This answer of the identity service was already used. Please start again.")
    if code == "pseudonym":
        return _("The identity service did not send a lasting pseudonym for you. Please start again.")
    if code == "method":
        return _("The way you identified yourself at the identity service is not accepted here.")
    if code == "expired":
        return _("The answer of the identity service has expired. Please start the sign-in again.")
    if code == "in_response_to":
        return _("The answer of the identity service belongs to another sign-in attempt. Please start again.")
    if code == "audience":
        return _("The answer of the identity service is meant for another service. Please start again.")
    return _("The answer of the identity service could not be verified. Please start the sign-in again.")
