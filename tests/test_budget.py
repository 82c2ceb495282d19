"""Budgets from DLM meters, other-load estimates and the regulator (pure)."""

from __future__ import annotations

import pytest

from custom_components.charge_zones.dlm.allocate import Node
from custom_components.charge_zones.dlm.budget import (
    MeterState,
    ZoneSpec,
    compute,
    fronted_zones,
    meter_node_key,
    withhold,
)
from custom_components.charge_zones.dlm.control import (
    ControlSettings,
    OtherLoadEstimator,
    StationControl,
)

NOW = 1000.0


def test_zone_behind_commons_meter() -> None:
    """Guide example: a 63 A zone behind the commons meter rated 40 A."""
    zones = {"parking": ZoneSpec("parking", 63, dlm_meters=("commons",))}
    meters = {"commons": MeterState("commons", 40, (30.0, 25.0, 20.0), NOW - 1)}
    budget = compute(zones, meters, {"commons": (10.0, 5.0, 25.0)}, NOW)
    assert budget.zone_budget["parking"] == (30.0, 35.0, 15.0)
    assert not budget.failsafe


def test_other_load_above_rating_is_no_room() -> None:
    zones = {"parking": ZoneSpec("parking", 63, dlm_meters=("commons",))}
    meters = {"commons": MeterState("commons", 40, (50.0, 0.0, 0.0), NOW)}
    budget = compute(zones, meters, {"commons": (50.0, 0.0, 0.0)}, NOW)
    assert budget.zone_budget["parking"] == (0.0, 40.0, 40.0)


def test_single_phase_zone_has_no_room_on_other_phases() -> None:
    zones = {"z": ZoneSpec("z", 32, phases=(1,))}
    assert compute(zones, {}, {}, NOW).zone_budget["z"] == (0.0, 32.0, 0.0)


def test_shared_meter_becomes_a_node_above_its_zones() -> None:
    zones = {
        "north": ZoneSpec("north", 63, dlm_meters=("main",)),
        "south": ZoneSpec("south", 63, dlm_meters=("main",)),
    }
    meters = {"main": MeterState("main", 80, (50.0, 50.0, 50.0), NOW)}
    budget = compute(zones, meters, {"main": (20.0, 20.0, 20.0)}, NOW)
    node = budget.nodes[meter_node_key("main")]
    assert node.capacity == (60.0, 60.0, 60.0)
    assert budget.nodes["north"].parents == (meter_node_key("main"),)
    assert budget.zone_budget["south"] == (60.0, 60.0, 60.0)


def test_nested_zone_inherits_parent_meter_and_failsafe() -> None:
    zones = {
        "building": ZoneSpec("building", 100, dlm_meters=("intro",), stale_after=10),
        "parking": ZoneSpec("parking", 63, parent="building", dlm_meters=("intro",)),
    }
    assert fronted_zones(zones) == {"intro": ["building"]}
    fresh = {"intro": MeterState("intro", 80, (10.0, 10.0, 10.0), NOW - 2)}
    budget = compute(zones, fresh, {"intro": (10.0, 10.0, 10.0)}, NOW)
    assert budget.zone_budget["parking"] == (63.0, 63.0, 63.0)
    assert budget.zone_budget["building"] == (70.0, 70.0, 70.0)
    stale = {"intro": MeterState("intro", 80, (10.0, 10.0, 10.0), NOW - 11)}
    budget = compute(zones, stale, {"intro": (10.0, 10.0, 10.0)}, NOW)
    assert set(budget.failsafe) == {"building", "parking"}
    assert budget.failsafe["parking"].meter == "intro"
    assert budget.failsafe["parking"].age == pytest.approx(11)


@pytest.mark.parametrize("meter", [None, MeterState("m", 40)])
def test_missing_or_never_read_meter_is_failsafe(meter: MeterState | None) -> None:
    zones = {"z": ZoneSpec("z", 32, dlm_meters=("m",))}
    meters = {} if meter is None else {"m": meter}
    budget = compute(zones, meters, {}, NOW)
    assert budget.failsafe["z"].age is None
    assert budget.zone_budget["z"] == (0.0, 0.0, 0.0)  # unknown is never room


def test_withhold_takes_from_the_node_and_above() -> None:
    nodes = {"a": Node("a", (10.0, 10.0, 10.0)), "b": Node("b", (5.0, 5.0, 5.0), ("a",))}
    result = withhold(nodes, "b", (0,), 6.0)
    assert result["b"].capacity == (0.0, 5.0, 5.0)
    assert result["a"].capacity == (4.0, 10.0, 10.0)


def test_estimator_does_not_chase_a_raise() -> None:
    """After a raise the meter shows our own extra current before the stations do."""
    estimator = OtherLoadEstimator()
    # Settled: meter 30 A, our stations 20 A -> other 10 A.
    assert estimator.estimate("m", (30.0,) * 3, (20.0,) * 3, (20.0,) * 3, True) == (10.0,) * 3
    # Raised to 26 A per phase; meter already 36 A, station reports still 20 A.
    assert estimator.estimate("m", (36.0,) * 3, (20.0,) * 3, (26.0,) * 3, False) == (10.0,) * 3


def test_estimator_sees_a_commons_rise_at_once() -> None:
    estimator = OtherLoadEstimator()
    estimator.estimate("m", (30.0,) * 3, (20.0,) * 3, (20.0,) * 3, True)
    # Commons +15 A while our stations are at their limits (20 A): seen immediately.
    assert estimator.estimate("m", (45.0,) * 3, (20.0,) * 3, (20.0,) * 3, False) == (25.0,) * 3
    # A drop is only believed once settled.
    assert estimator.estimate("m", (25.0,) * 3, (20.0,) * 3, (20.0,) * 3, False) == (10.0,) * 3
    assert estimator.estimate("m", (25.0,) * 3, (20.0,) * 3, (20.0,) * 3, True) == (5.0,) * 3
    estimator.forget("m")
    assert "m" not in estimator.settled


def test_estimator_without_settled_value_takes_the_safe_side() -> None:
    estimator = OtherLoadEstimator()
    assert estimator.estimate("m", (30.0,) * 3, (25.0,) * 3, (20.0,) * 3, False) == (10.0,) * 3


def test_regulator_cuts_at_once_and_rises_slowly() -> None:
    cfg = ControlSettings(raise_hold=15, change_threshold=0.5)
    control = StationControl()
    assert control.next_limit(16, 0, cfg) == 16
    control.sent(16, 0)
    assert control.next_limit(16, 1, cfg) is None
    assert control.next_limit(10, 1, cfg) == 10  # cut at once
    control.sent(10, 1)
    assert control.next_limit(16, 5, cfg) is None  # held
    assert control.next_limit(10.3, 20, cfg) is None  # too small to bother
    assert control.next_limit(16, 20, cfg) == 16
    control.sent(0, 21)
    assert control.next_limit(6, 30, cfg) is None  # paused: resumes after the hold too
    assert control.next_limit(6, 40, cfg) == 6


def test_car_cap_after_settling() -> None:
    cfg = ControlSettings(car_margin=2, car_settle=30)
    control = StationControl()
    control.sent(16, 0)
    assert control.car_cap(10, 16, 6, 0, cfg) is None
    assert control.car_cap(10, 16, 6, 29, cfg) is None
    assert control.car_cap(10, 16, 6, 31, cfg) == 12
    assert control.car_cap(3, 16, 6, 62, cfg) == 6  # never below the minimum
    assert control.car_cap(15, 16, 6, 63, cfg) is None  # ramping back up: no cap
    assert control.car_cap(None, 16, 6, 64, cfg) is None
