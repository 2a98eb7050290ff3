"""A small OpenID Connect provider for the tests, serving real HTTP on 127.0.0.1.

It implements what dikom's OIDC client uses: discovery, an authorization
endpoint that signs in one configured test user without asking, a token
endpoint (client authentication, single-use codes, redirect URI and PKCE
checks), a key set and a userinfo endpoint. Keys are RSA keys generated when
the server starts; :meth:`LocalIdentityProvider.rotate_keys` replaces them.

Tests steer misbehaviour through attributes:

- ``authorize_error``: answer the authorization request with ``error=<value>``;
- ``id_token_mode``: how the next ID tokens are spoiled (see :data:`ID_TOKEN_MODES`);
- ``claims_in_id_token``: put profile claims into the ID token or only into userinfo;
- ``oversized_jwks``: pad the key set beyond what a client should read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ID_TOKEN_MODES = (
    "valid",
    "expired",  # exp (and iat) well in the past
    "not_yet_valid",  # nbf in the future
    "wrong_nonce",
    "wrong_audience",
    "wrong_issuer",
    "several_audiences_without_azp",
    "tampered",  # payload changed after signing
    "foreign_key",  # signed with a key that is not published, under a published kid
    "unknown_kid",  # signed with an unpublished key under an unpublished kid
    "alg_none",  # unsigned
    "hs256_public_key",  # HMAC with the public key as secret (algorithm confusion)
)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(kid=secrets.token_hex(8), private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def public_jwk(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str
    used: bool = False


@dataclass
class IdpUser:
    sub: str = "user-4711"
    acr: str | None = "urn:test:loa:substantial"
    claims: dict[str, Any] = field(
        default_factory=lambda: {
            "given_name": "Erika",
            "family_name": "Mustermann",
            "email": "erika@example.org",
            "email_verified": True,
            "birthdate": "1964-08-12",
            "phone_number": "+49 661 1234567",
            "address": {"street_address": "Heidestraße 17", "locality": "Köln"},
        }
    )


class LocalIdentityProvider:
    """Start with :meth:`start`, stop with :meth:`stop`; ``issuer`` is ``http://127.0.0.1:<port>``."""

    def __init__(self, *, client_id: str = "dikom-test", client_secret: str = "s3cret:with/odd chars") -> None:  # noqa: S107 - test-only
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_auth_method = "client_secret_basic"
        self.redirect_uris: list[str] = []
        self.user = IdpUser()
        self.keys = [SigningKey.generate()]
        self.authorize_error: str | None = None
        self.id_token_mode = "valid"
        self.claims_in_id_token = True
        self.oversized_jwks = False
        #: raw bodies answered instead of the usual JSON (hostile or broken identity providers)
        self.raw_discovery: bytes | None = None
        self.raw_token_answer: bytes | None = None
        self.token_requests = 0
        self.jwks_requests = 0
        self._grants: dict[str, Grant] = {}
        self._access_tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.issuer = ""

    # -- lifecycle --

    def start(self) -> LocalIdentityProvider:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-idp", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def rotate_keys(self) -> None:
        """Replace every signing key with a new one (old tokens no longer verify)."""
        self.keys = [SigningKey.generate()]

    # -- metadata --

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
            "token_endpoint_auth_methods_supported": [self.token_auth_method],
        }

    def jwks(self) -> dict[str, Any]:
        keys = [key.public_jwk() for key in self.keys]
        if self.oversized_jwks:
            return {"keys": keys, "padding": "x" * (1024 * 1024)}
        return {"keys": keys}

    # -- endpoints, called by the request handler --

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or redirect_uri not in self.redirect_uris:
            # Never redirect to an unregistered URI (Core 1.0, 3.1.2.6).
            return 400, {}, b"unknown client or redirect_uri"
        state = query.get("state", "")
        if self.authorize_error:
            return self._back(redirect_uri, {"error": self.authorize_error, "state": state})
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            return self._back(redirect_uri, {"error": "invalid_request", "state": state})
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return self._back(redirect_uri, {"error": "invalid_request", "state": state})
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = Grant(self.client_id, redirect_uri, query.get("nonce"), query["code_challenge"])
        return self._back(redirect_uri, {"code": code, "state": state, "iss": self.issuer})

    def token(self, headers: Any, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests += 1
        if not self._client_authenticated(headers, form):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            grant = self._grants.get(form.get("code", ""))
            if grant is None or grant.used:
                return 400, {"error": "invalid_grant", "error_description": "unknown or used code"}
            grant.used = True
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        verifier = form.get("code_verifier", "")
        challenge = _b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
        if not verifier or not hmac.compare_digest(challenge, grant.code_challenge):
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        access_token = secrets.token_urlsafe(24)
        with self._lock:
            self._access_tokens[access_token] = self.user.sub
        return 200, {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self.id_token(grant.nonce),
        }

    def userinfo(self, headers: Any) -> tuple[int, dict[str, Any]]:
        authorization = headers.get("Authorization", "")
        token = authorization[len("Bearer ") :] if authorization.startswith("Bearer ") else ""
        with self._lock:
            sub = self._access_tokens.get(token)
        if sub is None:
            return 401, {"error": "invalid_token"}
        return 200, {"sub": sub, **self.user.claims}

    # -- tokens --

    def id_token(self, nonce: str | None) -> str:
        mode = self.id_token_mode
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.user.sub,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if self.user.acr is not None:
            claims["acr"] = self.user.acr
        if self.claims_in_id_token:
            claims.update(self.user.claims)
        if mode == "expired":
            claims.update(iat=now - 3600, exp=now - 1800)
        elif mode == "not_yet_valid":
            claims["nbf"] = now + 1800
        elif mode == "wrong_nonce":
            claims["nonce"] = secrets.token_urlsafe(32)
        elif mode == "wrong_audience":
            claims["aud"] = "another-client"
        elif mode == "wrong_issuer":
            claims["iss"] = "https://idp.example.org"
        elif mode == "several_audiences_without_azp":
            claims["aud"] = [self.client_id, "another-client"]
        key = self.keys[0]
        if mode == "alg_none":
            return self._compact({"alg": "none", "typ": "JWT"}, claims, b"")
        if mode == "hs256_public_key":
            header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
            signing_input = self._compact(header, claims, None).encode("ascii")
            return signing_input.decode() + "." + _b64url(hmac.new(key.public_pem(), signing_input, "sha256").digest())
        if mode == "foreign_key":
            return jwt.encode(claims, SigningKey.generate().private_key, algorithm="RS256", headers={"kid": key.kid})
        if mode == "unknown_kid":
            return jwt.encode(claims, SigningKey.generate().private_key, algorithm="RS256", headers={"kid": "unknown"})
        token = jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})
        if mode == "tampered":
            header_part, _payload, signature = token.split(".")
            forged = _b64url(json.dumps({**claims, "sub": "someone-else"}).encode())
            token = f"{header_part}.{forged}.{signature}"
        return token

    @staticmethod
    def _compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes | None) -> str:
        parts = [_b64url(json.dumps(header).encode()), _b64url(json.dumps(claims).encode())]
        if signature is not None:
            parts.append(_b64url(signature))
        return ".".join(parts)

    # -- helpers --

    def _client_authenticated(self, headers: Any, form: dict[str, str]) -> bool:
        if self.token_auth_method == "client_secret_post":
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        else:
            authorization = headers.get("Authorization", "")
            if not authorization.startswith("Basic "):
                return False
            try:
                decoded = base64.b64decode(authorization[len("Basic ") :], validate=True).decode()
            except ValueError:
                return False
            raw_id, _sep, raw_secret = decoded.partition(":")
            client_id, secret = unquote(raw_id), unquote(raw_secret)
        return client_id == self.client_id and hmac.compare_digest(secret.encode(), self.client_secret.encode())

    @staticmethod
    def _back(redirect_uri: str, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return 302, {"Location": f"{redirect_uri}?{urlencode(params)}"}, b""


def _handler_for(idp: LocalIdentityProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: dict[str, Any]) -> None:
            self._send(status, {"Content-Type": "application/json"}, json.dumps(data).encode())

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {name: values[0] for name, values in parse_qs(parts.query).items()}
            if parts.path == "/.well-known/openid-configuration" and idp.raw_discovery is not None:
                self._send(200, {"Content-Type": "application/json"}, idp.raw_discovery)
            elif parts.path == "/.well-known/openid-configuration":
                self._json(200, idp.discovery())
            elif parts.path == "/jwks":
                idp.jwks_requests += 1
                self._json(200, idp.jwks())
            elif parts.path == "/authorize":
                self._send(*idp.authorize(query))
            elif parts.path == "/userinfo":
                self._json(*idp.userinfo(self.headers))
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            form = {name: values[0] for name, values in parse_qs(body).items()}
            if urlsplit(self.path).path == "/token" and idp.raw_token_answer is not None:
                idp.token_requests += 1
                self._send(200, {"Content-Type": "application/json"}, idp.raw_token_answer)
            elif urlsplit(self.path).path == "/token":
                self._json(*idp.token(self.headers, form))
            else:
                self._json(404, {"error": "not_found"})

    return Handler
