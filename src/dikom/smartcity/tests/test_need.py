"""Watering need: from soil probes (thresholds 33/80 cbar) or from the Berlin model (age, rain, waterings)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.utils import timezone

from dikom.smartcity.models import RainDay, Watering
from dikom.smartcity.need import Level, need_for, needs_for
from dikom.smartcity.tests.factories import make_tree, probe_thing

JULY = dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC)
JANUARY = dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tension", "level"),
    [(12.0, Level.GOOD), (33.0, Level.GOOD), (55.0, Level.MODERATE), (80.0, Level.MODERATE), (91.0, Level.CRITICAL)],
)
def test_probe_readings_decide_the_need(city_a: Any, tension: float, level: Level) -> None:
    thing = probe_thing(city_a, [(JULY - dt.timedelta(hours=30), 5.0), (JULY - dt.timedelta(hours=2), tension)])
    tree = make_tree(city_a, sensor_thing_id=thing)
    need = need_for(tree, now=JULY)
    assert (need.method, need.level, need.value) == ("sensor", level, tension)


@pytest.mark.django_db
def test_several_probes_are_averaged(city_a: Any) -> None:
    # given one Thing with two probes (30 and 60 cm) – the second added as a new datastream of the same thing
    from dikom.sensors import service as sensors

    thing = probe_thing(city_a, [(JULY - dt.timedelta(hours=1), 20.0)])
    other = probe_thing(city_a, [(JULY - dt.timedelta(hours=1), 100.0)], depth=60)
    sensors.datastreams_of(city_a).filter(thing_id=other).update(thing_id=thing)
    tree = make_tree(city_a, sensor_thing_id=thing)
    need = need_for(tree, now=JULY)
    assert need.value == 60.0
    assert need.level is Level.MODERATE


@pytest.mark.django_db
def test_silent_probe_falls_back_to_the_model(city_a: Any) -> None:
    thing = probe_thing(city_a, [(JULY - dt.timedelta(days=5), 10.0)])
    tree = make_tree(city_a, sensor_thing_id=thing, planting_year=2023)
    need = need_for(tree, now=JULY)
    assert need.method == "model"
    assert need.level is Level.CRITICAL  # young, no rain, no waterings


@pytest.mark.django_db
def test_young_tree_model_counts_rain_and_waterings(city_a: Any, citizen: Any) -> None:
    tree = make_tree(city_a, planting_year=2022)
    for back in range(1, 4):
        RainDay.objects.create(municipality=city_a, day=JULY.date() - dt.timedelta(days=back), millimetres=20)
    RainDay.objects.create(municipality=city_a, day=JULY.date() - dt.timedelta(days=40), millimetres=500)  # too old
    assert need_for(tree, now=JULY).level is Level.CRITICAL  # 60 l < 100
    Watering.objects.create(
        tree=tree, user=citizen, litres=80, watered_at=JULY - dt.timedelta(days=2), request_key=uuid.uuid4()
    )
    need = need_for(tree, now=JULY)
    assert (need.level, need.rain_mm, need.watered_litres) == (Level.MODERATE, 60.0, 80)
    Watering.objects.create(
        tree=tree, user=citizen, litres=100, watered_at=JULY - dt.timedelta(days=1), request_key=uuid.uuid4()
    )
    assert need_for(tree, now=JULY).level is Level.GOOD  # 240 l


@pytest.mark.django_db
def test_old_trees_only_after_a_dry_month_and_no_tree_in_winter(city_a: Any) -> None:
    old = make_tree(city_a, "B-2", planting_year=1960)
    unknown = make_tree(city_a, "B-3", planting_year=None)
    young = make_tree(city_a, "B-4", planting_year=2024)
    needs = needs_for([old, unknown, young], now=JULY)
    assert [needs[t.pk].level for t in (old, unknown, young)] == [Level.MODERATE, Level.MODERATE, Level.CRITICAL]
    RainDay.objects.create(municipality=city_a, day=JULY.date(), millimetres=35)
    assert need_for(old, now=JULY).level is Level.GOOD
    assert need_for(young, now=JANUARY).level is Level.GOOD


@pytest.mark.django_db
def test_needs_for_many_trees_takes_a_fixed_number_of_queries(city_a: Any, django_assert_max_num_queries: Any) -> None:
    trees = [
        make_tree(city_a, f"N-{i}", sensor_thing_id=probe_thing(city_a, [(timezone.now(), 40.0)])) for i in range(12)
    ]
    with django_assert_max_num_queries(5):  # rain, waterings, probes, readings, the city's thresholds
        needs = needs_for(trees)
    assert {n.level for n in needs.values()} == {Level.MODERATE}
