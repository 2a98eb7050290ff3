"""The cell key method (CKM) that protects every published usage count — pure Python, one secret.

Method (ABS: Thompson, Broadfoot and Elazar 2013; Destatis: Giessing and Tent
2019, used for the German 2022 census), adapted to data that only exists as
rollups and uploaded aggregate figures:

* The unit that is perturbed is a **block**: one count metric of one service in
  one city and one calendar month (e.g. "starts of the dog tax service of
  Marburg in 2026-11"). Every published number is a block or a sum of blocks.
* A block's **cell key** is a number in [0, 1) from a keyed hash,
  ``HMAC-SHA256(secret, block identity ‖ true count)``. It is uniform and
  unpredictable for anyone without the secret, the same every time the same
  block with the same content is published, and a new, independent key as soon
  as the block's count changes. (Classic CKM sums per-record keys; our events
  are kept only as rollups, uploaded figures have no records at all, and the
  count is all that enters the table, so the block's content is its count.)
* The **perturbation table** ``PTABLE`` maps (true count, cell key) to a noise
  value. It is published (``docs/privacy.md``) together with its parameters:
  maximum deviation ``D = 3``, variance ``V = 2`` for counts of 7 and more,
  no negative counts, zero-mean noise for every count, a true 0 always
  published as 0, and **no published value 1 to 3**: a count of 1 to 3 becomes
  0 or 4.
* **Totals are sums of perturbed blocks**, not perturbed on their own; rates,
  shares and averages are computed from perturbed counts. So everything
  published is a function of the perturbed blocks alone, blocks are perturbed
  independently, and what an attacker can learn about a block — with any
  number of tables, totals, rates, months and years, and full knowledge of
  this module except the secret — is what its own published value says:
  the set ``possible_values(published)``. That set always holds at least four
  consecutive counts (``MIN_CANDIDATES``), and for a published 0 or 4 it holds
  every count from 1 to 3. ``tests/test_privacy_attacks.py`` attacks the
  published tables and checks this.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from django.conf import settings

MAX_DEVIATION = 3
VARIANCE = 2
SMALLEST_PUBLISHED = 4
MIN_CANDIDATES = 4
PRECISION = 1000  # probabilities below are per mille

# true count → ((noise, probability per mille), ...) in ascending noise. Rows for 7 and more are GENERAL.
GENERAL: tuple[tuple[int, int], ...] = ((-3, 40), (-2, 100), (-1, 240), (0, 240), (1, 240), (2, 100), (3, 40))
PTABLE: dict[int, tuple[tuple[int, int], ...]] = {
    0: ((0, 1000),),
    1: ((-1, 750), (3, 250)),
    2: ((-2, 500), (2, 500)),
    3: ((-3, 250), (1, 750)),
    4: ((0, 1000),),
    5: ((-1, 420), (0, 280), (1, 200), (2, 80), (3, 20)),
    6: ((-2, 145), (-1, 240), (0, 245), (1, 240), (2, 100), (3, 30)),
}
GENERAL_FROM = 7


def row(value: int) -> tuple[tuple[int, int], ...]:
    """The perturbation table's row for a true count."""
    if value < 0:
        raise ValueError("counts must not be negative")
    return PTABLE.get(value, GENERAL) if value < GENERAL_FROM else GENERAL


def noise(value: int, key: float) -> int:
    """The noise the table assigns to a true count with cell key ``key`` in [0, 1)."""
    threshold = key * PRECISION
    cumulative = 0
    entries = row(value)
    for deviation, probability in entries:
        cumulative += probability
        if threshold < cumulative:
            return deviation
    return entries[-1][0]


@cache
def _secret() -> bytes:
    configured = getattr(settings, "DIKOM_ANALYTICS_CELL_KEY_SECRET", None)
    if configured:
        return str(configured).encode()
    # Derived from the installation's secret key, so it is as secret and as stable as that one.
    return hmac.new(str(settings.SECRET_KEY).encode(), b"dikom.analytics.cellkey", hashlib.sha256).digest()


def cell_key(identity: str, value: int) -> float:
    """The block's key in [0, 1): keyed hash of the block's identity and its true count."""
    digest = hmac.new(_secret(), f"{identity}|{value}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def perturb(identity: str, value: int) -> int:
    """The published value of a block: true count plus the table's noise for its key (never negative)."""
    if value == 0:
        return 0
    return value + noise(value, cell_key(identity, value))


def block_identity(municipality_id: int, service_id: int, metric: str, period: str) -> str:
    """The identity of a block, e.g. ``"12|345|starts|2026-11"``."""
    return f"{municipality_id}|{service_id}|{metric}|{period}"


def possible_values(published: int) -> range:
    """Every true count the table can publish as ``published`` (what an attacker learns from one block)."""
    low = max(0, published - MAX_DEVIATION)
    candidates = [
        value
        for value in range(low, published + MAX_DEVIATION + 1)
        if any(value + deviation == published for deviation, _p in row(value))
    ]
    return range(min(candidates), max(candidates) + 1) if candidates else range(0)


def parameters() -> dict[str, object]:
    """What a user of the data needs to know about the noise (published in every table's metadata)."""
    return {
        "method": "cell key method",
        "max_deviation": MAX_DEVIATION,
        "variance": VARIANCE,
        "smallest_published_count": SMALLEST_PUBLISHED,
        "perturbed_unit": "count per service, metric and month",
        "totals": "sums of the perturbed counts",
        "perturbation_table": {
            str(value): [[deviation, probability / PRECISION] for deviation, probability in row(value)]
            for value in range(GENERAL_FROM + 1)
        },
    }
