"""The interface every citizen sign-in provider implements.

A provider is a small object registered under a ``key``. The generic views in
``views.py`` create and check the ``state`` (and a nonce) bound to the session;
a provider only sends the citizen to its identity service (``begin``) and turns
the answer into an :class:`Identity` (``complete``), raising :class:`AuthError`
when the answer is unusable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

METHODS = ("bundid", "elster", "eid", "eu_wallet", "organisation_account", "none")
TRUST_LEVELS = ("none", "low", "substantial", "high")

FLOW_SESSION_KEY = "dikom.authproviders.flow"


class AuthError(Exception):
    """The identity service's answer cannot be accepted; the message is safe to show."""


def trust_rank(level: str) -> int:
    """Position of ``level`` in none < low < substantial < high; unknown levels raise ValueError."""
    return TRUST_LEVELS.index(level)


@dataclass(frozen=True)
class Identity:
    """Who signed in, as far as the provider vouches for it. Kept only in the session."""

    provider: str
    method: str
    trust_level: str
    subject: str  # pseudonymous and provider-scoped, never a tax or ID card number
    attributes: dict[str, str] = field(default_factory=dict)
    authenticated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"Unknown authentication method {self.method!r}")
        trust_rank(self.trust_level)
        if not self.subject:
            raise ValueError("An identity needs a subject")

    def meets(self, trust_level: str) -> bool:
        return trust_rank(self.trust_level) >= trust_rank(trust_level)

    def to_session(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "method": self.method,
            "trust_level": self.trust_level,
            "subject": self.subject,
            "attributes": dict(self.attributes),
            "authenticated_at": self.authenticated_at.isoformat(),
        }

    @classmethod
    def from_session(cls, data: dict[str, Any]) -> Identity:
        return cls(
            provider=data["provider"],
            method=data["method"],
            trust_level=data["trust_level"],
            subject=data["subject"],
            attributes=dict(data.get("attributes") or {}),
            authenticated_at=dt.datetime.fromisoformat(data["authenticated_at"]),
        )


@dataclass(frozen=True)
class AuthFlow:
    """One sign-in attempt: created by the start view, consumed once by the return view."""

    provider: str
    state: str
    nonce: str
    next_url: str
    started_at: float


def current_flow(request: HttpRequest) -> AuthFlow | None:
    """The sign-in attempt bound to this session (providers read the nonce from it)."""
    data = request.session.get(FLOW_SESSION_KEY)
    if not isinstance(data, dict):
        return None
    try:
        return AuthFlow(**data)
    except TypeError:
        return None


class AuthProvider:
    """Base class of a sign-in provider; subclasses live in ``contrib/``."""

    key: ClassVar[str]
    label: ClassVar[StrOrPromise]
    methods: ClassVar[tuple[str, ...]]
    max_trust_level: ClassVar[str] = "none"
    #: Demo providers are only ever available where DIKOM_DEMO is on.
    demo_only: ClassVar[bool] = False
    #: Providers whose identity service POSTs its answer across sites (SAML HTTP-POST binding) name the
    #: POST field that carries the state and implement :meth:`accept_post`; the others have no ``/acs/``.
    post_return_state_field: ClassVar[str | None] = None

    def is_available(self) -> bool:
        """False when configuration is missing; such a provider is not offered."""
        return True

    def begin(self, request: HttpRequest, state: str) -> HttpResponse:
        """Send the citizen to the identity service, carrying ``state``."""
        raise NotImplementedError

    def complete(self, request: HttpRequest) -> Identity:
        """Turn the identity service's answer into an Identity or raise AuthError.

        The generic return view has already checked ``state``; the nonce is in
        ``current_flow(request)``.
        """
        raise NotImplementedError

    def accept_post(self, request: HttpRequest, state: str) -> dict[str, Any]:
        """Verify a cross-site POST answer at once (the session is not available there).

        Returns a small JSON-able result that ``complete()`` receives through
        the hand-off (``handoff.take``): the verified identity or the reason of
        a refusal. Must not raise for anything the sender controls.
        """
        raise NotImplementedError

    def offers(self, methods: set[str], trust_level: str) -> bool:
        return bool(methods & set(self.methods)) and trust_rank(self.max_trust_level) >= trust_rank(trust_level)
