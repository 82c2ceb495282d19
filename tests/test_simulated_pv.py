"""The simulated roof PV (simulator/solar.py) and the grid meter of the simulated site."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import math

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones.const import DOMAIN
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
from homeassistant.core import HomeAssistant
from simulator.meter import SIGNED_CURRENTS, SimulatedMeter, signed_currents
from simulator.site import Scenario, SimulatedSite
from simulator.solar import CloudProcess, SolarPlant

from .conftest import DEFAULT_BADGES, badge_subentry, free_port, station_subentry
from .helpers import wait_until

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


# --- the grid meter of the simulated site -------------------------------------------


def test_scenario_pv_and_grid_meter_sections() -> None:
    old = Scenario.from_dict({"meters": [{"unit": 1, "load": [8, 6, 5]}]})
    assert old.pv is None
    assert old.grid_meter is None
    scenario = Scenario.from_dict(
        {
            "meters": [{"unit": 1}],
            "pv": {"kwp": 30, "day": "cloudy", "seed": 7, "day_minutes": 60, "start_hour": 10},
            "grid_meter": {
                "model": "em340",
                "unit": 10,
                "connection": {"host": "127.0.0.1", "port": 1503, "framer": "rtu"},
                "load": [4, 3],
                "meters": [1],
                "stations": ["A"],
                "signed_currents": False,
                "import_wh": 1000,
            },
        }
    )
    grid = scenario.grid_meter
    assert grid is not None
    assert (grid.model, grid.unit, grid.host, grid.port, grid.framer) == (
        "em340",
        10,
        "127.0.0.1",
        1503,
        "rtu",
    )
    assert grid.own_endpoint
    assert (grid.load, grid.meters, grid.stations) == ((4.0, 3.0, 0.0), [1], ["A"])
    assert (grid.signed_currents, grid.import_wh, grid.export_wh) == (False, 1000.0, 0.0)
    assert scenario.pv == {
        "kwp": 30,
        "day": "cloudy",
        "seed": 7,
        "day_minutes": 60,
        "start_hour": 10,
    }
    shared = Scenario.from_dict({"grid_meter": {"unit": 2}}).grid_meter
    assert shared is not None
    assert not shared.own_endpoint
    with pytest.raises(ValueError, match="unit 1 is already a meter's"):
        Scenario.from_dict({"meters": [{"unit": 1}], "grid_meter": {"unit": 1}})
    with pytest.raises(ValueError, match=r"grid_meter: unknown keys \['modle'\]"):
        Scenario.from_dict({"grid_meter": {"modle": "sdm630"}})
    with pytest.raises(ValueError, match="a port is needed"):
        Scenario.from_dict({"grid_meter": {"connection": {"host": "127.0.0.1"}}})
    with pytest.raises(ValueError, match="pv: unknown keys"):
        Scenario.from_dict({"pv": {"kwp": 3, "tilt": 30}})


async def _until(predicate: Callable[[], bool], within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_grid_meter_exports_when_pv_exceeds_the_load() -> None:
    """30 kWp at 13:00 (25.5 kW, 36.96 A a phase) against 2 A of commons and 1 A of other
    load: the grid meter (an SDM630 beside the commons meter) reads 33.96 A a phase and
    -7.81 kW a phase; the export counter grows, the import counter stays at 0; the commons
    meter is as before."""
    port = free_port()
    site = SimulatedSite(
        Scenario.from_dict(
            {
                "modbus": {"host": "127.0.0.1", "port": port},
                "tick": 0.05,
                "meters": [{"unit": 1, "load": [2, 2, 2]}],
                "pv": {"kwp": 30, "start_hour": 13},
                "grid_meter": {"model": "sdm630", "unit": 10, "load": [1, 1, 1]},
            }
        )
    )
    await site.start()
    try:
        await _until(lambda: site.t >= 1.0)
        first = await _read_all(port, 10, MODELS["sdm630"])
        expected = 3 - 25_500 / 3 / 230
        assert site.grid_currents == pytest.approx((expected,) * 3, abs=0.01)
        for phase in range(3):
            assert first[CURRENTS[phase]] == pytest.approx(-expected, abs=0.01)
            assert first[POWERS[phase]] == pytest.approx(expected * 230, abs=1)
        assert first[Quantity.POWER_TOTAL] == pytest.approx(expected * 690, abs=1)
        assert first[Quantity.IMPORT_ENERGY] == 0
        assert first[Quantity.EXPORT_ENERGY] > 0
        await _until(lambda: site.t >= 3.0)
        later = await _read_all(port, 10, MODELS["sdm630"])
        assert later[Quantity.EXPORT_ENERGY] > first[Quantity.EXPORT_ENERGY]
        assert later[Quantity.IMPORT_ENERGY] == 0
        assert later[Quantity.EXPORT_ENERGY] == pytest.approx(
            -expected * 690 * site.t / 3600, rel=0.05
        )
        commons = await _read_all(port, 1, MODELS["sdm630"])
        assert commons[Quantity.CURRENT_L1] == pytest.approx(2)
        assert commons[Quantity.POWER_L1] == pytest.approx(460)
    finally:
        await site.stop()


async def test_grid_meter_imports_when_cars_draw_more_than_pv(
    hass: HomeAssistant, port: int
) -> None:
    """Two cars at 16 A on three phases against a 10 kWp single-phase inverter on L1
    (8.5 kW, 36.96 A at 13:00) and 1 A of load: the grid meter (an EM340 on its own
    endpoint, currents signed as that meter signs them) reads export on L1 (-3.96 A) and
    import on L2 and L3 (33 A); the import counter (net over the phases) grows, the
    export one no longer does."""
    grid_port = free_port()
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={"host": "127.0.0.1", "port": port},
        subentries_data=[
            station_subentry("S-1", max_current=16),
            station_subentry("S-2", max_current=16),
            *DEFAULT_BADGES,
            badge_subentry("BADGE-DAVE", "Dave"),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    site = SimulatedSite(
        Scenario.from_dict(
            {
                "ocpp_url": f"ws://127.0.0.1:{port}",
                "tick": 0.05,
                "stations": [
                    {"id": "S-1", "meter_interval": 0.3},
                    {"id": "S-2", "meter_interval": 0.3},
                ],
                "cars": [
                    {"station": "S-1", "at": 0, "badge": "BADGE-ALICE", "max_current": 16},
                    {"station": "S-2", "at": 0, "badge": "BADGE-DAVE", "max_current": 16},
                ],
                "pv": {"kwp": 10, "phases": "l1", "start_hour": 13},
                "grid_meter": {
                    "model": "em340",
                    "unit": 1,
                    "connection": {"port": grid_port},
                    "load": [1, 1, 1],
                    # the EM340 counts in 0.1 kWh steps: 20 Wh below the next one
                    "import_wh": 49_930,
                },
            }
        )
    )
    await site.start()
    try:
        await wait_until(hass, lambda: site.grid_currents[1] > 32.9, within=10)
        await asyncio.sleep(0.2)
        first = await _read_all(grid_port, 1, MODELS["em340"])
        pv_amps = 8500 / 230
        assert first[Quantity.CURRENT_L1] == pytest.approx(33 - pv_amps, abs=0.01)
        assert first[Quantity.CURRENT_L1] < 0
        assert first[Quantity.POWER_L1] == pytest.approx((33 - pv_amps) * 230, abs=0.5)
        for phase in (1, 2):
            assert first[CURRENTS[phase]] == pytest.approx(33, abs=0.01)
            assert first[POWERS[phase]] == pytest.approx(33 * 230, abs=0.5)
        assert first[Quantity.POWER_TOTAL] > 0
        assert first[Quantity.IMPORT_ENERGY] == pytest.approx(49_900)
        # (the PV exported on its own for the moment before the cars started)
        exported, imported = site.export_wh, site.import_wh

        async def counters() -> tuple[float, float]:
            values = await _read_all(grid_port, 1, MODELS["em340"])
            return values[Quantity.IMPORT_ENERGY], values[Quantity.EXPORT_ENERGY]

        start = site.t
        await wait_until(hass, lambda: site.import_wh >= 49_950, within=15)
        await asyncio.sleep(0.2)
        import_wh, export_wh = await counters()
        assert import_wh == pytest.approx(50_000)
        assert export_wh == pytest.approx(round(exported, -2))
        assert site.export_wh == exported
        power = first[Quantity.POWER_TOTAL]
        assert site.import_wh - imported == pytest.approx(power * (site.t - start) / 3600, rel=0.1)
    finally:
        await site.stop()
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
