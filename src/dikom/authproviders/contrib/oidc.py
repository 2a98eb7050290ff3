"""OpenID Connect sign-in (authorization code flow with PKCE) against one identity provider.

Configured entirely from ``DIKOM_OIDC_*`` settings (see ``docs/sign-in-oidc.md``).
The generic start view creates ``state`` and ``nonce``; :meth:`OidcAuthProvider.begin`
sends the citizen to the provider's authorization endpoint, and
:meth:`OidcAuthProvider.complete` redeems the code at the token endpoint and
verifies the ID token (signature against the provider's JWKS, algorithm
allow-list, ``iss``, ``aud``/``azp``, ``exp``/``iat``/``nbf``, ``nonce``).

Tokens are never logged or stored. The identity keeps a hash of issuer and
``sub`` and only the allow-listed claims, in the session.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
from django.conf import settings
from django.core.cache import cache
from django.core.checks import CheckMessage, Error, Warning
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dikom.authproviders.base import METHODS, TRUST_LEVELS, AuthError, AuthProvider, Identity, current_flow, trust_rank
from dikom.lib.jsonparse import loads_limited

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

logger = logging.getLogger(__name__)

KEY = "oidc"
#: Signature algorithms accepted for ID tokens. Asymmetric only: HS* would make
#: the client secret a signing key, and "none" is no signature at all.
ALLOWED_ALGORITHMS = ("RS256", "PS256", "ES256")
_KEY_TYPES = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC"}
TOKEN_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
#: Clock skew tolerated for exp, iat and nbf.
LEEWAY_SECONDS = 60
#: Discovery documents and key sets are cached this long; an unknown key id
#: triggers one fresh fetch regardless (key rotation).
METADATA_CACHE_SECONDS = 3600
#: Answers of the identity provider larger than this are refused.
MAX_RESPONSE_BYTES = 512 * 1024
#: Longest attribute value kept; longer values are dropped, not cut (a cut e-mail address is wrong).
MAX_ATTRIBUTE_LENGTH = 1000
_ERROR_CODE = re.compile(r"^[a-z_]{1,64}$")


# --- Configuration --------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    issuer: str
    client_id: str
    client_secret: str
    token_auth_method: str
    scopes: tuple[str, ...]
    methods: tuple[str, ...]
    acr_levels: dict[str, str]
    default_trust_level: str | None
    claims: tuple[str, ...]
    timeout: int


def parse_acr_levels(entries: list[str]) -> tuple[dict[str, str], list[str]]:
    """``["acr=level", …]`` as a table, plus the entries that cannot be used."""
    table: dict[str, str] = {}
    bad: list[str] = []
    for entry in entries:
        # acr values are often URIs; split at the last "=" since levels never contain one.
        acr, separator, level = entry.rpartition("=")
        acr, level = acr.strip(), level.strip()
        if not separator or not acr or level not in TRUST_LEVELS:
            bad.append(entry)
        else:
            table[acr] = level
    return table, bad


def config() -> Config:
    """The current OIDC settings (read on every use, so tests and reloads see changes)."""
    table, _bad = parse_acr_levels(list(getattr(settings, "DIKOM_OIDC_ACR_TRUST_LEVELS", None) or []))
    scopes = [s for s in (getattr(settings, "DIKOM_OIDC_SCOPES", None) or []) if s]
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    return Config(
        issuer=getattr(settings, "DIKOM_OIDC_ISSUER", None) or "",
        client_id=getattr(settings, "DIKOM_OIDC_CLIENT_ID", None) or "",
        client_secret=getattr(settings, "DIKOM_OIDC_CLIENT_SECRET", None) or "",
        token_auth_method=getattr(settings, "DIKOM_OIDC_TOKEN_AUTH_METHOD", None) or "client_secret_basic",
        scopes=tuple(scopes),
        methods=tuple(m for m in (getattr(settings, "DIKOM_OIDC_METHODS", None) or []) if m in METHODS),
        acr_levels=table,
        default_trust_level=getattr(settings, "DIKOM_OIDC_DEFAULT_TRUST_LEVEL", None) or None,
        claims=tuple(getattr(settings, "DIKOM_OIDC_CLAIMS", None) or ()),
        timeout=int(getattr(settings, "DIKOM_OIDC_HTTP_TIMEOUT_SECONDS", 10)),
    )


def configuration_messages() -> list[CheckMessage]:
    """System check messages for the OIDC settings (run when "oidc" is enabled)."""
    messages: list[CheckMessage] = []
    issuer = getattr(settings, "DIKOM_OIDC_ISSUER", None) or ""
    scheme = urllib.parse.urlsplit(issuer).scheme
    if issuer and scheme not in ("https", "http"):
        messages.append(Error("DIKOM_OIDC_ISSUER must be an https:// URL.", id="authproviders.E101"))
    elif scheme == "http" and getattr(settings, "IS_PRODUCTION", False):
        messages.append(
            Error(
                "DIKOM_OIDC_ISSUER must use https:// in production.",
                hint="Plain http exposes codes and tokens; only tests and development may use it.",
                id="authproviders.E102",
            )
        )
    unknown_methods = [m for m in (getattr(settings, "DIKOM_OIDC_METHODS", None) or []) if m not in METHODS]
    if unknown_methods:
        messages.append(
            Error(
                f"DIKOM_OIDC_METHODS names unknown methods {unknown_methods!r}.",
                hint=f"Known methods: {', '.join(METHODS)}.",
                id="authproviders.E103",
            )
        )
    _table, bad = parse_acr_levels(list(getattr(settings, "DIKOM_OIDC_ACR_TRUST_LEVELS", None) or []))
    default = getattr(settings, "DIKOM_OIDC_DEFAULT_TRUST_LEVEL", None)
    if bad or (default and default not in TRUST_LEVELS):
        messages.append(
            Error(
                f"DIKOM_OIDC_ACR_TRUST_LEVELS or DIKOM_OIDC_DEFAULT_TRUST_LEVEL cannot be used: {bad or [default]!r}.",
                hint=f"Write acr=level pairs; levels are {', '.join(TRUST_LEVELS)}.",
                id="authproviders.E104",
            )
        )
    if getattr(settings, "DIKOM_OIDC_TOKEN_AUTH_METHOD", "client_secret_basic") not in TOKEN_AUTH_METHODS:
        messages.append(
            Error(
                f"DIKOM_OIDC_TOKEN_AUTH_METHOD must be one of {', '.join(TOKEN_AUTH_METHODS)}.",
                id="authproviders.E105",
            )
        )
    if not OidcAuthProvider().is_available():
        messages.append(
            Warning(
                "The OpenID Connect sign-in is enabled but not offered: DIKOM_OIDC_ISSUER, DIKOM_OIDC_CLIENT_ID, "
                "DIKOM_OIDC_CLIENT_SECRET and DIKOM_OIDC_METHODS must all be set.",
                id="authproviders.W101",
            )
        )
    return messages


# --- HTTP -----------------------------------------------------------------------------


class _Unreachable(Exception):
    """The identity provider could not be asked (network, timeout, oversized or unreadable answer)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect from an API endpoint is unexpected; following it could send
    # the client secret or code somewhere else. urllib then raises HTTPError(3xx).
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# Default handlers otherwise, so HTTPS_PROXY/NO_PROXY and SSL_CERT_FILE work as usual.
_OPENER = urllib.request.build_opener(_NoRedirect)


def _check_url(url: str) -> None:
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as error:  # e.g. "http://[::1" from a discovery document
        raise _Unreachable(f"unreadable URL: {error}") from error
    allowed = ("https",) if getattr(settings, "IS_PRODUCTION", False) else ("https", "http")
    if parts.scheme not in allowed or not parts.netloc:
        # Never file://, ftp:// or similar, whatever a discovery document says.
        raise _Unreachable(f"refused URL scheme {parts.scheme!r}")


def _read_limited(response: Any) -> bytes:
    body: bytes = response.read(MAX_RESPONSE_BYTES + 1)
    if len(body) > MAX_RESPONSE_BYTES:
        raise _Unreachable("answer larger than the limit")
    return body


def _http(
    cfg: Config, url: str, *, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """One request; returns status and body (also for 4xx/5xx), raises _Unreachable otherwise."""
    _check_url(url)
    encoded = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=encoded,
        headers={"Accept": "application/json", "User-Agent": "dikom-oidc", **(headers or {})},
        method="POST" if encoded is not None else "GET",
    )
    if encoded is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with _OPENER.open(request, timeout=cfg.timeout) as response:
            return response.status, _read_limited(response)
    except urllib.error.HTTPError as error:
        try:
            return error.code, _read_limited(error)
        except (OSError, http.client.HTTPException):
            return error.code, b""
        finally:
            error.close()
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
        raise _Unreachable(f"{type(error).__name__}: {error}") from error


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = loads_limited(body)
    except (ValueError, RecursionError) as error:
        raise _Unreachable("answer is not JSON") from error
    if not isinstance(value, dict):
        raise _Unreachable("answer is not a JSON object")
    return value


def _get_json(cfg: Config, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    status, body = _http(cfg, url, headers=headers)
    if status != 200:
        raise _Unreachable(f"HTTP {status} from {url}")
    return _json_object(body)


# --- Discovery and keys ---------------------------------------------------------------


def _cache_key(kind: str, issuer: str) -> str:
    return f"dikom.authproviders.oidc.{kind}." + hashlib.sha256(issuer.encode()).hexdigest()


def clear_cache(issuer: str) -> None:
    """Forget the cached discovery document and key set of ``issuer``."""
    cache.delete_many([_cache_key("discovery", issuer), _cache_key("jwks", issuer)])


class _Misconfigured(Exception):
    """The identity provider's metadata does not fit our configuration (an operator must act)."""


def discovery(cfg: Config) -> dict[str, Any]:
    """The provider's discovery document (cached), checked against the configured issuer."""
    key = _cache_key("discovery", cfg.issuer)
    cached = cache.get(key)
    if isinstance(cached, dict):
        return cached
    document = _get_json(cfg, cfg.issuer.rstrip("/") + "/.well-known/openid-configuration")
    # OpenID Connect Discovery 1.0, section 4.3: the issuer must be exactly ours.
    if document.get("issuer") != cfg.issuer:
        raise _Misconfigured(f"discovery names issuer {document.get('issuer')!r}, configured is {cfg.issuer!r}")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(name), str):
            raise _Misconfigured(f"discovery document lacks {name}")
    cache.set(key, document, METADATA_CACHE_SECONDS)
    return document


def _key_set(cfg: Config, metadata: dict[str, Any], *, fresh: bool) -> list[dict[str, Any]]:
    key = _cache_key("jwks", cfg.issuer)
    cached = None if fresh else cache.get(key)
    if isinstance(cached, list):
        return cached
    document = _get_json(cfg, metadata["jwks_uri"])
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise _Unreachable("JWKS without a keys list")
    usable = [k for k in keys if isinstance(k, dict)]
    cache.set(key, usable, METADATA_CACHE_SECONDS)
    return usable


def _matching_key(keys: list[dict[str, Any]], kid: str | None, alg: str) -> dict[str, Any] | None:
    candidates = [
        k
        for k in keys
        if k.get("kty") == _KEY_TYPES[alg]
        and k.get("use", "sig") == "sig"
        and k.get("alg", alg) == alg
        and (alg != "ES256" or k.get("crv") == "P-256")
    ]
    if kid is not None:
        return next((k for k in candidates if k.get("kid") == kid), None)
    # Without a key id, only an unambiguous key set will do.
    return candidates[0] if len(candidates) == 1 else None


def signing_key(cfg: Config, metadata: dict[str, Any], kid: str | None, alg: str) -> Any:
    """The public key for ``kid``/``alg``; re-fetches the key set once when the key is unknown (rotation)."""
    # The ID token comes from the token endpoint over an authenticated
    # connection, not from the browser, so an unknown kid cannot be used by
    # outsiders to make us fetch the key set over and over.
    jwk = _matching_key(_key_set(cfg, metadata, fresh=False), kid, alg)
    if jwk is None:
        jwk = _matching_key(_key_set(cfg, metadata, fresh=True), kid, alg)
    if jwk is None:
        return None
    return jwt.PyJWK(jwk, algorithm=alg).key


# --- The provider ---------------------------------------------------------------------


def _code_verifier(state: str) -> str:
    # PKCE verifier derived from the attempt's random state with an HMAC under
    # SECRET_KEY: 64 hex characters (RFC 7636 allows 43-128 unreserved ones).
    # Who sees the state (it travels in URLs) cannot compute the verifier
    # without the secret key, the generic views already keep the state in the
    # session and consume it once, and the start view needs no change to hold
    # a second value. A secret key rotation only breaks attempts under way.
    return salted_hmac("dikom.authproviders.oidc.pkce", state, algorithm="sha256").hexdigest()


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def redirect_uri() -> str:
    """The return URL registered at the identity provider (from DIKOM_SITE_URL, not the Host header)."""
    return str(settings.SITE_URL).rstrip("/") + reverse("authproviders:return", args=[KEY])


def subject_for(issuer: str, sub: str) -> str:
    """Provider-scoped pseudonym: the same person at another issuer gets another subject.

    Unkeyed (stable across secret key rotation, so the portal may link records
    to it); ``sub`` is already a pseudonym chosen by the identity provider.
    """
    return "oidc-" + hashlib.sha256(f"{issuer}\n{sub}".encode()).hexdigest()


def _unavailable_message() -> str:
    return _("The identity service cannot be reached at the moment. Please try again later.")


def _misconfigured_message() -> str:
    return _("Sign-in with this identity service is not set up correctly. Please try again later.")


def _idp_error_message(code: str) -> str:
    if code == "access_denied":
        return _("The sign-in was cancelled or refused at the identity service.")
    if code in ("login_required", "interaction_required", "consent_required", "account_selection_required"):
        return _("The identity service could not sign you in without your interaction. Please start again.")
    if code in ("temporarily_unavailable", "server_error"):
        return _("The identity service is temporarily unavailable. Please try again later.")
    if code in ("unauthorized_client", "invalid_client", "invalid_scope", "unsupported_response_type"):
        return _misconfigured_message()
    return _("The identity service refused the sign-in. Please start again.")


class OidcAuthProvider(AuthProvider):
    """Citizen sign-in at one OpenID Connect identity provider, configured by DIKOM_OIDC_* settings."""

    key = KEY

    @staticmethod
    def check_configuration() -> list[CheckMessage]:
        """System check messages about the DIKOM_OIDC_* settings (called by ``checks.py``)."""
        return configuration_messages()

    # Settings-dependent, where the base class declares constants.
    @property
    def label(self) -> StrOrPromise:  # type: ignore[override]
        return getattr(settings, "DIKOM_OIDC_LABEL", None) or gettext_lazy("Service account")

    @property
    def methods(self) -> tuple[str, ...]:  # type: ignore[override]
        return config().methods

    @property
    def max_trust_level(self) -> str:  # type: ignore[override]
        cfg = config()
        levels = [*cfg.acr_levels.values(), *([cfg.default_trust_level] if cfg.default_trust_level else [])]
        known = [level for level in levels if level in TRUST_LEVELS]
        return max(known, key=trust_rank) if known else "none"

    def is_available(self) -> bool:
        cfg = config()
        return bool(cfg.issuer and cfg.client_id and cfg.client_secret and cfg.methods)

    def begin(self, request: HttpRequest, state: str) -> HttpResponse:
        cfg = config()
        flow = current_flow(request)
        try:
            metadata = discovery(cfg)
            _check_url(metadata["authorization_endpoint"])
        except _Unreachable as error:
            logger.warning("OIDC discovery at %s failed: %s", cfg.issuer, error)
            return self._failure(request, _unavailable_message(), 503)
        except _Misconfigured as error:
            logger.error("OIDC provider %s is misconfigured: %s", cfg.issuer, error)
            return self._failure(request, _misconfigured_message(), 503)
        if flow is None:  # the start view stores the attempt before calling us
            return self._failure(request, _("This sign-in attempt is unknown or has expired. Please start again."), 400)
        query = {
            "response_type": "code",
            "client_id": cfg.client_id,
            "redirect_uri": redirect_uri(),
            "scope": " ".join(cfg.scopes),
            "state": state,
            "nonce": flow.nonce,
            "code_challenge": code_challenge(_code_verifier(state)),
            "code_challenge_method": "S256",
        }
        endpoint = metadata["authorization_endpoint"]
        separator = "&" if urllib.parse.urlsplit(endpoint).query else "?"
        return HttpResponseRedirect(endpoint + separator + urllib.parse.urlencode(query))

    def complete(self, request: HttpRequest) -> Identity:
        cfg = config()
        flow = current_flow(request)
        if flow is None:
            raise AuthError(_("This sign-in attempt is unknown or has expired. Please start again."))
        error = request.GET.get("error")
        if error:
            code = error if _ERROR_CODE.match(error) else "(invalid)"
            logger.info("OIDC provider %s answered with error %s", cfg.issuer, code)
            raise AuthError(_idp_error_message(code))
        # RFC 9207: when the provider names itself in the answer, it must be ours (mix-up defence).
        answered_issuer = request.GET.get("iss")
        if answered_issuer is not None and answered_issuer != cfg.issuer:
            logger.warning("OIDC answer names another issuer than %s", cfg.issuer)
            raise AuthError(_("The identity service's answer could not be verified. Please start again."))
        code = request.GET.get("code", "")
        if not code:
            raise AuthError(_("The identity service's answer contains no sign-in code. Please start again."))
        try:
            metadata = discovery(cfg)
            if answered_issuer is None and metadata.get("authorization_response_iss_parameter_supported") is True:
                logger.warning("OIDC answer of %s lacks the iss parameter its metadata promises", cfg.issuer)
                raise AuthError(_("The identity service's answer could not be verified. Please start again."))
            tokens = self._redeem(cfg, metadata, code, _code_verifier(flow.state))
            claims = self._verify(cfg, metadata, tokens["id_token"], flow.nonce)
            trust_level = self._trust_level(cfg, claims)
            attributes = self._attributes(cfg, metadata, claims, tokens)
        except _Unreachable as failure:
            logger.warning("OIDC sign-in at %s failed: %s", cfg.issuer, failure)
            raise AuthError(_unavailable_message()) from failure
        except _Misconfigured as failure:
            logger.error("OIDC provider %s is misconfigured: %s", cfg.issuer, failure)
            raise AuthError(_misconfigured_message()) from failure
        return Identity(
            provider=self.key,
            method=cfg.methods[0] if cfg.methods else "none",
            trust_level=trust_level,
            subject=subject_for(cfg.issuer, claims["sub"]),
            attributes=attributes,
        )

    # -- steps of complete() --

    def _redeem(self, cfg: Config, metadata: dict[str, Any], code: str, verifier: str) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri(),
            "code_verifier": verifier,
        }
        headers: dict[str, str] = {}
        if cfg.token_auth_method == "client_secret_post":  # noqa: S105 - a method name, not a password
            form.update(client_id=cfg.client_id, client_secret=cfg.client_secret)
        else:
            # RFC 6749, section 2.3.1: both parts are form-encoded before Base64.
            pair = f"{urllib.parse.quote(cfg.client_id, safe='')}:{urllib.parse.quote(cfg.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        status, body = _http(cfg, metadata["token_endpoint"], data=form, headers=headers)
        if status >= 500:
            raise _Unreachable(f"token endpoint answered HTTP {status}")
        try:
            answer = _json_object(body)
        except _Unreachable:
            answer = {}
        if status != 200:
            error = str(answer.get("error", ""))
            logger.info("OIDC token request at %s refused: HTTP %s %s", cfg.issuer, status, error[:64])
            if error in ("invalid_client", "unauthorized_client"):
                raise _Misconfigured(f"token endpoint refused the client ({error})")
            if error == "invalid_grant":
                raise AuthError(
                    _(
                        "The identity service did not accept the sign-in code; it may have expired or been used "
                        "already. Please start again."
                    )
                )
            raise AuthError(_("The identity service refused the sign-in. Please start again."))
        if not isinstance(answer.get("id_token"), str):
            raise _Unreachable("token answer without an ID token")
        return answer

    def _verify(self, cfg: Config, metadata: dict[str, Any], id_token: str, nonce: str) -> dict[str, Any]:
        unverifiable = _("The identity service's answer could not be verified. Please start again.")
        try:
            header = jwt.get_unverified_header(id_token)
        except Exception as error:  # PyJWTError, and whatever else a hostile token makes the parser raise
            logger.warning("OIDC ID token from %s unreadable: %s", cfg.issuer, error)
            raise AuthError(unverifiable) from error
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            logger.warning("OIDC ID token from %s uses refused algorithm %r", cfg.issuer, alg)
            raise AuthError(unverifiable)
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise AuthError(unverifiable)
        try:
            key = signing_key(cfg, metadata, kid, alg)
        except (_Unreachable, _Misconfigured):
            raise
        except Exception as error:  # an unusable key in the key set is a refusal, whatever the failure
            logger.warning("OIDC key %r of %s is unusable: %s", kid, cfg.issuer, error)
            raise AuthError(unverifiable) from error
        if key is None:
            logger.warning("OIDC ID token from %s signed with unknown key %r", cfg.issuer, kid)
            raise AuthError(unverifiable)
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key,
                algorithms=[alg],
                audience=cfg.client_id,
                issuer=cfg.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError as error:
            logger.info("OIDC ID token from %s expired", cfg.issuer)
            raise AuthError(_("The identity service's answer has expired. Please start again.")) from error
        except Exception as error:  # PyJWTError, and anything else verification raises: a refusal
            logger.warning("OIDC ID token from %s refused: %s", cfg.issuer, error)
            raise AuthError(unverifiable) from error
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        azp = claims.get("azp")
        # OpenID Connect Core 1.0, 3.1.3.7: several audiences need azp, and azp must be us.
        if (len(audiences) > 1 and azp is None) or (azp is not None and azp != cfg.client_id):
            logger.warning("OIDC ID token from %s has audiences %r and azp %r", cfg.issuer, audiences, azp)
            raise AuthError(unverifiable)
        token_nonce = claims.get("nonce")
        if not isinstance(token_nonce, str) or not constant_time_compare(token_nonce, nonce):
            logger.warning("OIDC ID token from %s has a nonce of another sign-in attempt", cfg.issuer)
            raise AuthError(
                _("The identity service's answer does not belong to this sign-in attempt. Please start again.")
            )
        sub = claims["sub"]
        if not isinstance(sub, str) or not sub or len(sub) > 255:
            raise AuthError(unverifiable)
        return claims

    def _trust_level(self, cfg: Config, claims: dict[str, Any]) -> str:
        acr = claims.get("acr")
        level = cfg.acr_levels.get(acr) if isinstance(acr, str) else None
        if level is None:
            level = cfg.default_trust_level if cfg.default_trust_level in TRUST_LEVELS else None
        if level is None:
            logger.warning("OIDC sign-in at %s refused: acr %r is not mapped and there is no default", cfg.issuer, acr)
            raise AuthError(
                _(
                    "The identity service reported a level of authentication this service does not know, "
                    "so the sign-in cannot be accepted. Please contact the municipality."
                )
            )
        return level

    def _attributes(
        self, cfg: Config, metadata: dict[str, Any], claims: dict[str, Any], tokens: dict[str, Any]
    ) -> dict[str, str]:
        source = {name: claims[name] for name in cfg.claims if name in claims}
        missing = [name for name in cfg.claims if name not in source]
        userinfo_endpoint = metadata.get("userinfo_endpoint")
        access_token = tokens.get("access_token")
        # Providers may put profile claims only into the userinfo answer (Core 1.0, 5.4).
        if missing and isinstance(userinfo_endpoint, str) and isinstance(access_token, str):
            userinfo = _get_json(cfg, userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"})
            # Core 1.0, 5.3.2: the userinfo answer must be about the same subject.
            if userinfo.get("sub") != claims["sub"]:
                logger.warning("OIDC userinfo of %s names another subject", cfg.issuer)
                raise AuthError(_("The identity service's answer could not be verified. Please start again."))
            source.update({name: userinfo[name] for name in missing if name in userinfo})
        attributes: dict[str, str] = {}
        for name, value in source.items():
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, str | int | float):
                text = str(value)
            else:
                continue  # structured claims (address) are not kept as text
            if text and len(text) <= MAX_ATTRIBUTE_LENGTH:
                attributes[name] = text
        return attributes

    @staticmethod
    def _failure(request: HttpRequest, message: str, status: int) -> HttpResponse:
        return render(request, "authproviders/error.html", {"message": message}, status=status)
