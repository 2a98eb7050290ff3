"""The one thing sign-in keeps in the database: markers of SAML assertions already used.

Everything else of a sign-in lives in the session. Replay markers must not:
they are shared by all sessions, and a marker pushed out of the cache by
memory pressure (which anyone can cause by filling it) would let a captured
assertion be used a second time. A row per assertion, a unique digest and an
expiry; rows past their expiry are deleted by a periodic job (``apps.py``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class UsedAssertion(models.Model):
    """An assertion that was accepted once and must not be accepted again before ``expires_at``."""

    #: SHA-256 (hex) of the issuer and the assertion ID; neither is stored in clear.
    digest = models.CharField(_("digest"), max_length=64, unique=True)
    #: When the assertion stops being acceptable anyway (its validity end plus the clock skew).
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["expires_at", "pk"]
        verbose_name = _("used assertion")
        verbose_name_plural = _("used assertions")

    def __str__(self) -> str:
        return self.digest[:12]
