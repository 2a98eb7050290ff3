"""A demo collection site: Gießen's bulky-waste form, instrumented for Matomo (DEMO DATA).

With it, a fresh installation takes Matomo requests and the JavaScript
snippet at once: ``/matomo.php?idsite=1&rec=1&url=…/sperrmuell/adresse`` starts
a visit of the service ``sperrmuell`` (one of the generated demo services,
``dikom.analytics.demo``), the next pages are its steps, the Matomo events
``Formular``/``Abgeschickt`` and ``Bewertung``/``Sterne`` (rating in ``e_v``)
its submission and feedback. The form address is invented; browser pages of
other origins may not send (dikom's own pages, like the demo form
``/demo-formular/sperrmuell/``, always may).

Idempotent: the site is created once (found by its name); the Matomo site id 1
is taken only when no other site has it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from dikom.analytics.collect import actions
from dikom.analytics.collect.models import CollectionSite, MatchOn, MatomoRule
from dikom.analytics.generator import SERVICES
from dikom.municipalities.models import Municipality

CITY = "giessen"
NAME = "Sperrmüll-Formular (Demo, Matomo)"
MATOMO_IDSITE = 1
SERVICE = "sperrmuell"

# The form's steps are those of the generated service (key, position), so that its visits fit the funnel.
STEPS: tuple[tuple[str, int], ...] = tuple(
    (key, position)
    for position, (key, _drop) in enumerate(next(s for s in SERVICES if s.key == SERVICE).steps, start=1)
)

# The pages and Matomo events of the form, in order (first match wins unless stop is False).
RULES: tuple[dict[str, Any], ...] = (
    {
        "match_on": MatchOn.URL_PREFIX,
        "pattern": f"/{SERVICE}/{STEPS[0][0]}",
        "event_type": "service_started",
        "stop": False,
    },
    *(
        {
            "match_on": MatchOn.URL_PREFIX,
            "pattern": f"/{SERVICE}/{key}",
            "event_type": "step_viewed",
            "step_key": key,
            "step_position": position,
        }
        for key, position in STEPS
    ),
    {"match_on": MatchOn.EVENT, "event_category": "Formular", "event_action": "Abgeschickt", "event_type": "submitted"},
    {"match_on": MatchOn.EVENT, "event_category": "Formular", "event_action": "Abbruch", "event_type": "aborted"},
    {"match_on": MatchOn.EVENT, "event_category": "Bewertung", "event_action": "Sterne", "event_type": "feedback"},
)


def load_demo_collection_site() -> CollectionSite | None:
    """Create the demo site with its rules unless it exists (or the demo city does not)."""
    municipality = Municipality.objects.filter(slug=CITY, is_demo=True).first()
    if municipality is None:
        return None
    existing = CollectionSite.objects.filter(municipality=municipality, name=NAME).first()
    if existing is not None:
        return existing
    idsite = None if CollectionSite.objects.filter(matomo_idsite=MATOMO_IDSITE).exists() else MATOMO_IDSITE
    with transaction.atomic():
        site = actions.create_site(
            municipality=municipality, name=NAME, matomo_idsite=idsite, allowed_origins=[], enabled=True
        )
        for position, values in enumerate(RULES, start=1):
            actions.save_rule(rule=MatomoRule(site=site, position=position * 10, service_key=SERVICE, **values))
    return site
