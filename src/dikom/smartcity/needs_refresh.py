"""Keeping every tree's stored watering need current, and the citizens' opt-in e-mail when a tree turns critical.

The periodic job ``smartcity.needs`` (every ``REFRESH_SECONDS``) recomputes the
need of every tree of every city with ``need.needs_for`` in chunks of
``CHUNK`` trees (a fixed number of queries per chunk) and stores the level
where it changed. Maps, clusters, counts and filters read the stored level,
so a city with 100 000 trees is not recomputed on every page view; a tree's
own page computes its need afresh. The city's own thresholds per species,
district, area or tree (``thresholds.py``) apply here as on the tree's page:
``needs_for`` reads them once per chunk.

When a tree changes from good or moderate to critical, its sponsors who opted
in (for this tree, or for all their trees) get one e-mail through
``dikom.lib.mail``. The stored level is the memory: the next run sees
"critical" again and sends nothing, so there is one mail per transition, not
one a day. A tree's first computation (no stored level yet) sends nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dikom.lib.mail import send_mail_on_commit
from dikom.municipalities.models import Municipality
from dikom.smartcity.models import Adoption, CriticalAlertOptIn, Tree
from dikom.smartcity.need import NEED_FIELDS, Level, needs_for

logger = logging.getLogger(__name__)

CHUNK = 2000
REFRESH_SECONDS = 15 * 60


@dataclass
class Refreshed:
    trees: int = 0
    changed: int = 0
    turned_critical: list[int] = field(default_factory=list)
    mails: int = 0


def refresh_all() -> Refreshed:
    total = Refreshed()
    city_ids = Tree.objects.values_list("municipality", flat=True).distinct()
    for city in Municipality.objects.filter(pk__in=list(city_ids)):
        result = refresh_city(city)
        total.trees += result.trees
        total.changed += result.changed
        total.turned_critical += result.turned_critical
        total.mails += result.mails
    return total


def refresh_city(city: Municipality, now: dt.datetime | None = None) -> Refreshed:
    """Recompute and store the need of all trees of ``city``; mail sponsors of trees that turned critical."""
    result = Refreshed()
    now = now or timezone.now()
    last_pk = 0
    while True:
        chunk = list(Tree.objects.filter(municipality=city, pk__gt=last_pk).order_by("pk").only(*NEED_FIELDS)[:CHUNK])
        if not chunk:
            break
        last_pk = chunk[-1].pk
        needs = needs_for(chunk, now)
        changed = []
        critical = []
        for tree in chunk:
            level = needs[tree.pk].level.value
            if tree.need_level != level:
                if level == Level.CRITICAL and tree.need_level in (Level.GOOD, Level.MODERATE):
                    critical.append(tree.pk)
                tree.need_level = level
                tree.need_changed_at = now
                changed.append(tree)
        with transaction.atomic():
            _store(changed, now)
            result.mails += _notify(critical)
        result.turned_critical += critical
        result.trees += len(chunk)
        result.changed += len(changed)
    return result


def refresh_trees(trees: list[Tree]) -> None:
    """Store the need of a few trees at once (after a watering), without mails: a watering only improves."""
    if not trees:
        return
    needs = needs_for(trees)
    now = timezone.now()
    changed = []
    for tree in trees:
        level = needs[tree.pk].level.value
        if tree.need_level != level:
            tree.need_level, tree.need_changed_at = level, now
            changed.append(tree)
    _store(changed, now)


def _store(changed: list[Tree], now: dt.datetime) -> None:
    """One UPDATE per level (not one CASE per row): the first run over 100 000 trees writes them all."""
    by_level: dict[str, list[int]] = defaultdict(list)
    for tree in changed:
        by_level[tree.need_level].append(tree.pk)
    for level, ids in by_level.items():
        Tree.objects.filter(pk__in=ids).update(need_level=level, need_changed_at=now)


def _notify(tree_ids: list[int]) -> int:
    """One mail per sponsor who opted in and per tree that turned critical (sent after the commit)."""
    if not tree_ids:
        return 0
    global_opt_in = set(CriticalAlertOptIn.objects.values_list("user", flat=True))
    adoptions = Adoption.objects.filter(tree__in=tree_ids).select_related("tree", "tree__municipality", "user")
    per_user: dict[int, list[Adoption]] = defaultdict(list)
    for adoption in adoptions:
        if (adoption.notify_critical or adoption.user_id in global_opt_in) and adoption.user.email:
            per_user[adoption.user_id].append(adoption)
    sent = 0
    base = str(settings.SITE_URL).rstrip("/")
    with translation.override(settings.LANGUAGE_CODE):
        for items in per_user.values():
            for adoption in items:
                tree = adoption.tree
                link = base + reverse("smartcity:tree", args=[tree.municipality.slug, tree.uuid])
                subject = _("Your tree %(species)s %(number)s needs water now") % {
                    "species": tree.species,
                    "number": tree.number,
                }
                body = _(
                    "Hello,\n\nthe tree you sponsor, %(species)s %(number)s (%(street)s, %(city)s), needs water now.\n"
                    "Why, and how much it got recently: %(link)s\n\nYou get this e-mail once each time the tree "
                    "becomes critical. To stop it, switch the e-mail off on the tree's page or under “My trees”."
                ) % {
                    "species": tree.species,
                    "number": tree.number,
                    "street": tree.street or "–",
                    "city": tree.municipality.name,
                    "link": link,
                }
                send_mail_on_commit(subject, body, [adoption.user.email])
                sent += 1
    return sent
