"""Which threshold applies to a tree or a litter bin: the city's own rules (``models.Threshold``) or the defaults.

A city's staff may override the soil water tension limits of the watering
need (``need.py``: good up to 33 cbar, water soon up to 80) and the fill level
from which a bin needs emptying (``bins.py``: 80 %) for one species, one
district, a rectangle on the map, or a single tree or bin. Where several rules
match, the most specific wins (``SPECIFICITY``: single object, area, district,
species, whole city); two areas that both contain a tree: the smaller one.

A city has few rules, so they are read in one query and matched in Python:
the cost per call is one query whatever the number of trees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

from dikom.smartcity.models import LitterBin, Threshold, Tree

DEFAULT_GOOD_UP_TO_CBAR = 33.0
DEFAULT_MODERATE_UP_TO_CBAR = 80.0
DEFAULT_FULL_FROM_PERCENT = 80

SPECIFICITY = {
    Threshold.Scope.TREE: 5,
    Threshold.Scope.BIN: 5,
    Threshold.Scope.AREA: 4,
    Threshold.Scope.DISTRICT: 3,
    Threshold.Scope.SPECIES: 2,
    Threshold.Scope.CITY: 1,
}


@dataclass(frozen=True)
class WaterLimits:
    good_up_to: float
    moderate_up_to: float
    #: What the limits are: "default", or the rule, e.g. "species Winterlinde" (German in the UI).
    source: str
    rule_id: int | None = None


@dataclass(frozen=True)
class BinLimit:
    full_from: int
    source: str
    rule_id: int | None = None


def describe(rule: Threshold) -> str:
    """The rule's selection in words, for the tree page's explanation and the staff list."""
    scope = rule.scope
    if scope == Threshold.Scope.SPECIES:
        return _("threshold for the species %(species)s") % {"species": rule.species}
    if scope == Threshold.Scope.DISTRICT:
        return _("threshold for the district %(district)s") % {"district": rule.district}
    if scope == Threshold.Scope.AREA:
        label = rule.note or _("area %(west).4f–%(east).4f E, %(south).4f–%(north).4f N") % {
            "west": rule.west,
            "east": rule.east,
            "south": rule.south,
            "north": rule.north,
        }
        return _("threshold for the area %(area)s") % {"area": label}
    if scope == Threshold.Scope.TREE:
        return _("threshold for this single tree")
    if scope == Threshold.Scope.BIN:
        return _("threshold for this single litter bin")
    return _("the city's own threshold")


def _matches(rule: Threshold, item: Tree | LitterBin) -> bool:
    scope = rule.scope
    if scope == Threshold.Scope.CITY:
        return True
    if scope == Threshold.Scope.SPECIES:
        return isinstance(item, Tree) and item.species.casefold() == rule.species.casefold()
    if scope == Threshold.Scope.DISTRICT:
        return isinstance(item, Tree) and item.district.casefold() == rule.district.casefold()
    if scope == Threshold.Scope.AREA:
        if None in (rule.west, rule.east, rule.south, rule.north):
            return False
        return bool(rule.west <= item.longitude <= rule.east and rule.south <= item.latitude <= rule.north)  # type: ignore[operator]
    if scope == Threshold.Scope.TREE:
        return isinstance(item, Tree) and rule.tree_id == item.pk
    if scope == Threshold.Scope.BIN:
        return isinstance(item, LitterBin) and rule.litter_bin_id == item.pk
    return False


def _rank(rule: Threshold) -> tuple[int, float]:
    area = 0.0
    if rule.scope == Threshold.Scope.AREA:
        area = -abs((rule.east or 0) - (rule.west or 0)) * abs((rule.north or 0) - (rule.south or 0))
    return (SPECIFICITY.get(Threshold.Scope(rule.scope), 0), area)


def _best(rules: list[Threshold], item: Tree | LitterBin) -> Threshold | None:
    matching = [r for r in rules if _matches(r, item)]
    return max(matching, key=_rank) if matching else None


def water_limits_for(trees: Sequence[Tree]) -> dict[int, WaterLimits]:
    """The tension limits of every tree in ``trees`` (all of one city), keyed by tree id; one query."""
    if not trees:
        return {}
    rules = list(Threshold.objects.filter(municipality_id=trees[0].municipality_id, subject=Threshold.Subject.TREES))
    default = WaterLimits(DEFAULT_GOOD_UP_TO_CBAR, DEFAULT_MODERATE_UP_TO_CBAR, "")
    if not rules:
        return {t.pk: default for t in trees}
    out = {}
    for tree in trees:
        rule = _best(rules, tree)
        if rule is None:
            out[tree.pk] = default
        else:
            good = rule.good_up_to_cbar if rule.good_up_to_cbar is not None else DEFAULT_GOOD_UP_TO_CBAR
            moderate = rule.moderate_up_to_cbar if rule.moderate_up_to_cbar is not None else DEFAULT_MODERATE_UP_TO_CBAR
            out[tree.pk] = WaterLimits(good, moderate, describe(rule), rule.pk)
    return out


def bin_limits_for(bins: Sequence[LitterBin]) -> dict[int, BinLimit]:
    """The "needs emptying" fill level of every bin in ``bins`` (all of one city), keyed by bin id; one query."""
    if not bins:
        return {}
    rules = list(Threshold.objects.filter(municipality_id=bins[0].municipality_id, subject=Threshold.Subject.BINS))
    default = BinLimit(DEFAULT_FULL_FROM_PERCENT, "")
    out = {}
    for bin_ in bins:
        rule = _best(rules, bin_) if rules else None
        if rule is None or rule.full_from_percent is None:
            out[bin_.pk] = default
        else:
            out[bin_.pk] = BinLimit(rule.full_from_percent, describe(rule), rule.pk)
    return out
