"""The simulated roof PV (simulator/solar.py) and the grid meter of the simulated site."""

from __future__ import annotations

import math

import pytest

from custom_components.charge_zones.meters import (
    MODELS,
    ConnectionConfig,
    MeterModel,
    ModbusBus,
    Quantity,
    decode,
    read_meter,
)
from custom_components.charge_zones.meters.registers import CURRENTS, POWERS
from simulator.meter import SIGNED_CURRENTS, SimulatedMeter, signed_currents
from simulator.solar import CloudProcess, SolarPlant

# --- the PV production model --------------------------------------------------------


def test_clear_day_energy_is_kwp_times_the_expected_hours() -> None:
    """10 kWp, sun from 6:00 to 20:00, sin^1.3 bell, 85 % at noon: about 7 equivalent
    full-nameplate hours (a clear summer day in central Europe gives 6-8)."""
    plant = SolarPlant(10, sunrise=6, sunset=20, exponent=1.3, performance=0.85)
    hours = plant.expected_day_hours()
    assert 6.5 < hours < 7.5
    assert plant.clear_day_wh() == pytest.approx(10_000 * hours, rel=0.005)
    # The same energy counted on the scenario clock, a day in 60 real minutes from midnight:
    # one 24th of it in one real hour.
    fast = SolarPlant(10, day_minutes=60, start_hour=0)
    assert fast.compression == 24
    assert fast.energy_wh(0, 3600, step=1) == pytest.approx(10_000 * hours / 24, rel=0.005)
    # The bell: nothing at night, the peak at solar noon, symmetric.
    assert plant.clear_power(5.9) == 0 == plant.clear_power(20.1)
    assert plant.clear_power(13) == pytest.approx(8500)
    assert plant.clear_power(9) == pytest.approx(plant.clear_power(17))
    assert 0 < plant.clear_power(6.5) < plant.clear_power(9) < plant.clear_power(12)


def test_clock_start_hour_and_compression() -> None:
    plant = SolarPlant(10, start_hour=10)
    assert plant.hour(0) == 10
    assert plant.hour(3600) == pytest.approx(11)
    assert plant.power(3 * 3600) == pytest.approx(plant.clear_power(13))
    fast = SolarPlant(10, start_hour=22, day_minutes=24)  # an hour per real minute
    assert fast.hour(60) == pytest.approx(23)
    assert fast.hour(180) == pytest.approx(1)  # past midnight
    assert fast.power(8 * 60 + 1) > 0  # 6:00 + 1 s: the sun is up


def test_phases_three_phase_thirds_or_one_phase() -> None:
    three = SolarPlant(9, start_hour=13)
    l1, l2, l3 = three.phase_powers(0)
    assert l1 == l2 == l3 == pytest.approx(three.power(0) / 3)
    single = SolarPlant(9, start_hour=13, phases="L2")
    assert single.phase_powers(0) == (0.0, pytest.approx(single.power(0)), 0.0)
    with pytest.raises(ValueError, match="phases"):
        SolarPlant(9, phases="l1-l2")


def test_cloudy_day_has_short_and_long_clouds_with_fast_edges() -> None:
    """Seed 7 over a real-time day: clouds under a minute and over five minutes, each
    dropping production to 20-40 % within a few seconds."""
    plant = SolarPlant(10, day="cloudy", seed=7, start_hour=6)
    assert plant.clouds is not None
    clouds = plant.clouds.clouds(14 * 3600)
    durations = [cloud.duration for cloud in clouds]
    assert any(d < 60 for d in durations)
    assert any(d > 300 for d in durations)
    assert sum(d < 60 for d in durations) >= 10
    assert sum(d > 300 for d in durations) >= 5
    for cloud in clouds:
        assert 0.2 <= cloud.depth <= 0.4
        assert cloud.edge <= 5.0
        middle = (cloud.start + cloud.end) / 2
        assert plant.power(middle) == pytest.approx(
            plant.clear_power(plant.hour(middle)) * cloud.depth
        )
        # fast edges: full sun just before, the cloud's depth a few seconds later
        assert plant.clouds.factor(cloud.start - 0.01) == 1.0
        assert plant.clouds.factor(cloud.start + cloud.edge) == pytest.approx(cloud.depth)
        assert plant.clouds.factor(cloud.end - cloud.edge) == pytest.approx(cloud.depth)
        assert plant.clouds.factor(cloud.end + 0.01) == 1.0
    # Clear sky between the clouds.
    gap = (clouds[0].end + clouds[1].start) / 2
    assert plant.power(gap) == pytest.approx(plant.clear_power(plant.hour(gap)))
    # A cloudy day gives less than a clear one, and more than its deepest clouds alone.
    clear = SolarPlant(10, start_hour=6)
    cloudy_wh, clear_wh = plant.energy_wh(0, 14 * 3600, 5), clear.energy_wh(0, 14 * 3600, 5)
    assert 0.4 * clear_wh < cloudy_wh < 0.95 * clear_wh


def test_same_seed_same_curve_whatever_was_asked_first() -> None:
    times = [t * 7.3 for t in range(4000)]
    first = SolarPlant(10, day="cloudy", seed=42, start_hour=8)
    curve = [first.power(t) for t in times]
    again = SolarPlant(10, day="cloudy", seed=42, start_hour=8)
    again.power(times[-1])  # clouds generated far ahead first
    assert [again.power(t) for t in reversed(times)] == curve[::-1]
    other = SolarPlant(10, day="cloudy", seed=43, start_hour=8)
    assert [other.power(t) for t in times] != curve
    # cloud_scale stretches clouds and gaps alike (same seed, same draws)
    short, long = CloudProcess(5), CloudProcess(5, scale=2)
    a, b = short.clouds(20_000), long.clouds(40_000)
    assert b[0].start == pytest.approx(2 * a[0].start)
    assert b[0].duration == pytest.approx(2 * a[0].duration)


def test_pv_section_from_yaml_keys() -> None:
    plant = SolarPlant.from_dict(
        {
            "kwp": 30,
            "phases": "l3",
            "day": "cloudy",
            "seed": 3,
            "day_minutes": 60,
            "start_hour": 10,
            "sunrise": 7,
            "sunset": 19,
        }
    )
    assert (plant.kwp, plant.phases, plant.day, plant.seed) == (30, (2,), "cloudy", 3)
    assert (plant.compression, plant.start_hour, plant.sunrise, plant.sunset) == (24, 10, 7, 19)
    assert math.isclose(plant.peak_w, 25_500)
    with pytest.raises(ValueError, match=r"unknown keys \['kwP'\]"):
        SolarPlant.from_dict({"kwP": 3})
    with pytest.raises(ValueError, match="clear or cloudy"):
        SolarPlant.from_dict({"day": "rainy"})


# --- signed flows on the simulated meters (real pymodbus server on 127.0.0.1) ----------


async def _read_all(port: int, unit: int, model: MeterModel) -> dict[Quantity, float]:
    """Every register of the model, decoded as the integration decodes it."""
    bus = ModbusBus(ConnectionConfig("tcp", host="127.0.0.1", port=port, timeout=1, retries=0))
    try:
        values = {}
        for quantity, register in model.registers.items():
            words = await bus.read(unit, register.function, register.address, register.words)
            values[quantity] = decode(register, words)
        return values
    finally:
        await bus.close()


@pytest.mark.parametrize("key", sorted(MODELS))
async def test_every_model_reports_direction_as_the_real_meter(key: str) -> None:
    """Export on L1 and L3, import on L2: powers signed on every model; currents signed
    on the models whose real meter signs them, magnitudes elsewhere."""
    model = MODELS[key]
    flows = (-20.0, 5.0, -3.0)[: model.phases]
    async with SimulatedMeter(model, unit=3) as meter:
        meter.primary.set_flows(*flows)
        values = await _read_all(meter.port, 3, model)
    signed = SIGNED_CURRENTS[key]
    assert signed is signed_currents(model)
    for phase, amps in enumerate(flows):
        expected = amps if signed else abs(amps)
        assert values[CURRENTS[phase]] == pytest.approx(expected, abs=0.01)
        if POWERS[phase] in model.registers:
            assert values[POWERS[phase]] == pytest.approx(amps * 230, abs=0.1)
    assert values[Quantity.POWER_TOTAL] == pytest.approx(sum(flows) * 230, abs=0.1)


async def test_current_sign_can_be_overridden_and_unsigned_maps_read_as_the_integration_does() -> (
    None
):
    async with SimulatedMeter("em340", unit=1) as meter:
        meter.primary.set_flows(-10, -10, -10, signed=False)
        values = await _read_all(meter.port, 1, MODELS["em340"])
        assert values[Quantity.CURRENT_L1] == pytest.approx(10)
        assert values[Quantity.POWER_L1] == pytest.approx(-2300)
    # An SDM630 at a connection point exporting: the integration's reader takes it (the
    # currents are magnitudes), the direction is in the powers.
    async with SimulatedMeter("sdm630", unit=1) as meter:
        meter.primary.set_flows(-10, 4, -2)
        bus = ModbusBus(ConnectionConfig("tcp", host="127.0.0.1", port=meter.port, timeout=1))
        try:
            reading = await read_meter(bus, 1, MODELS["sdm630"])
        finally:
            await bus.close()
    assert reading.current == pytest.approx((10, 4, 2))
    assert reading.power == pytest.approx((-2300, 920, -460))
    assert reading.power_total == pytest.approx(-1840)
    # ABB's currents are UINT32: a negative current cannot even be stored there.
    async with SimulatedMeter("abb_b23", unit=1) as meter:
        with pytest.raises(ValueError, match="does not fit"):
            meter.primary.set_flows(-10, 0, 0, signed=True)
