"""The site's peak limit: the rule (dlm.peak) and end to end (a real grid meter on a
real Modbus server, real OCPP stations, Home Assistant in between)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.charge_zones.dlm.peak import (
    MIN_HORIZON,
    WINDOW,
    PeakWindow,
    RestOfBuilding,
    charging_room,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from simulator.charger import Car, SimulatedCharger
from simulator.meter import SimulatedMeter, SimulatedUnit

from .conftest import DEFAULT_BADGES, badge_subentry, quick_hub_entry, ws_url
from .helpers import entity_id, wait_until
from .test_dlm import connection, managed, meter, zone
from .test_dlm_world import Supply, charging, currents, limit_on
from .test_solar_charging import export, grid_meter

T0 = 1_800_000_000.0  # a quarter hour's start (a multiple of 900 s)


def test_the_window_counts_the_import_of_its_quarter_hour() -> None:
    window = PeakWindow(target=10_000.0)
    assert T0 % WINDOW == 0
    window.add(T0, 12_000.0)
    window.add(T0 + 1, 12_000.0)
    for t in range(2, 301):
        window.add(T0 + t, 12_000.0)
    # 300 s at 12 kW: 3.6 MJ of the 9 MJ allowance; 5.4 MJ left over 600 s.
    assert window.energy == pytest.approx(3.6e6)
    assert window.average(T0 + 300) == pytest.approx(12_000.0)
    assert window.allowed(T0 + 300) == pytest.approx(9_000.0)
    # Export does not lower a billed peak: counted as 0.
    window.add(T0 + 301, -5_000.0)
    window.add(T0 + 302, -5_000.0)
    assert window.energy == pytest.approx(3.6e6 + 12_000.0)
    # A new quarter hour starts from nothing.
    window.add(T0 + WINDOW + 1, 2_000.0)
    assert window.start == T0 + WINDOW
    assert window.allowed(T0 + WINDOW + 1) == pytest.approx(
        (10_000.0 * WINDOW - window.energy) / (WINDOW - 1)
    )


def test_when_unsure_the_window_counts_more_not_less() -> None:
    """A gap in the readings counts as the target (or the last import, if higher); the
    time left never counts as less than a minute, so a spent window lets no burst through."""
    window = PeakWindow(target=10_000.0)
    window.add(T0, 2_000.0)
    window.add(T0 + 60, 2_000.0)  # a minute without a reading
    assert window.energy == pytest.approx(10_000.0 * 60)
    window.add(T0 + 890, 15_000.0)
    left = (10_000.0 * WINDOW - window.energy) / MIN_HORIZON
    assert window.allowed(T0 + 890) == pytest.approx(max(0.0, left))
    spent = PeakWindow(target=1_000.0)
    spent.add(T0, 50_000.0)
    spent.add(T0 + 5, 50_000.0)
    spent.add(T0 + 10, 50_000.0)
    spent.add(T0 + 200, 0.0)  # 190 s gap at the last import: the window is spent
    assert spent.allowed(T0 + 200) == 0.0


def test_a_start_within_a_quarter_hour_counts_its_past_at_the_target_or_more() -> None:
    """Home Assistant starts 10 minutes into a quarter hour: what the building imported
    before is unknown, counted at the target (the import measured, if higher)."""
    window = PeakWindow(target=10_000.0)
    window.add(T0 + 600, 4_000.0)
    assert window.energy == pytest.approx(10_000.0 * 600)
    assert window.allowed(T0 + 600) == pytest.approx(10_000.0)
    busy = PeakWindow(target=10_000.0)
    busy.add(T0 + 600, 12_000.0)
    assert busy.allowed(T0 + 600) == pytest.approx((10_000.0 * 900 - 12_000.0 * 600) / 300)


def test_the_stations_get_what_the_rest_of_the_building_leaves() -> None:
    # 11 kW allowed; the building imports 14 kW of which the stations draw 8 kW: the rest
    # draws 6 kW, the stations may draw 5 kW.
    rest = RestOfBuilding()
    assert charging_room(11_000.0, rest.estimate(14_000.0, 8_000.0, 8_000.0, True)) == 5_000.0
    # The roof exports 3 kW beyond the rest of the building: the stations may use it too.
    assert charging_room(11_000.0, -3_000.0) == 14_000.0
    # Over the allowance without the stations: nothing for them (rotation pauses).
    assert charging_room(5_000.0, 12_000.0) == 0.0


def test_the_rest_of_the_building_does_not_follow_lagging_readings() -> None:
    """The rest measured when settled is kept while the stations' readings lag; only a
    rise the stations cannot explain raises it; a fall waits for the next settled one."""
    rest = RestOfBuilding()
    assert rest.estimate(7_000.0, 4_000.0, 4_000.0, True) == 3_000.0
    # A car resumes at 4 kW, no reading of it yet: the import rises by its draw.
    assert rest.estimate(11_000.0, 4_000.0, 8_000.0, False) == 3_000.0
    # A car paused still shows its last reading; the import already fell.
    assert rest.estimate(3_000.0, 4_000.0, 4_000.0, False) == 3_000.0
    # The heat pump starts (2 kW more than the stations may draw): counted at once.
    assert rest.estimate(13_000.0, 4_000.0, 8_000.0, False) == 5_000.0
    # The sun comes out: a lower rest only once settled.
    assert rest.estimate(1_000.0, 4_000.0, 8_000.0, False) == 3_000.0
    assert rest.estimate(1_000.0, 4_000.0, 4_000.0, True) == -3_000.0
    # Kept only so long: nothing settled for longer than the hold, the stations count at
    # what they showed (a rest measured while the roof exported is not kept all evening).
    held = RestOfBuilding()
    assert held.estimate(-2_000.0, 4_000.0, 4_000.0, True, now=0.0, hold=30.0) == -6_000.0
    assert held.estimate(6_000.0, 4_000.0, 8_000.0, False, now=29.0, hold=30.0) == -2_000.0
    assert held.estimate(6_000.0, 4_000.0, 8_000.0, False, now=31.0, hold=30.0) == 2_000.0
    # Nothing settled yet: the stations at what they showed (the higher rest).
    fresh = RestOfBuilding()
    assert fresh.estimate(7_000.0, 2_000.0, 6_000.0, False) == 5_000.0
    fresh.estimate(7_000.0, 2_000.0, 2_000.0, True)
    fresh.forget()
    assert fresh.settled is None


@pytest.fixture
async def sim_meter() -> Any:
    """The car park's DLM meter (unit 1, 10 A of other load) and the grid meter (unit 2)."""
    served = SimulatedMeter("sdm630", unit=1)
    served.set_currents(10, 10, 10)
    export(served.add_unit("sdm630", 2), 0.0)
    await served.start()
    yield served
    await served.stop()


def _subentries(sim_meter: SimulatedMeter, grid: bool = True) -> list[dict[str, Any]]:
    return [
        connection(sim_meter.port),
        meter(amperage=100.0),
        *([grid_meter()] if grid else []),
        zone(max_current=64.0),
        managed("CP-1", max_current=32),
        managed("CP-2", max_current=32),
        *DEFAULT_BADGES,
    ]


def _entry(
    port: int, sim_meter: SimulatedMeter, peak: float | None, grid: bool = True
) -> MockConfigEntry:
    subentries = _subentries(sim_meter, grid)
    return quick_hub_entry(port, subentries, **({} if peak is None else {"peak_limit": peak}))


def imports(unit: SimulatedUnit, amperes: float) -> None:
    """The building imports ``amperes`` per phase at 230 V."""
    export(unit, -amperes)


async def test_the_peak_limit_lowers_the_stations_as_the_building_imports(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    port: int,
    sim_meter: SimulatedMeter,
) -> None:
    """A 22 kW limit. The building imports 40 A per phase (27.6 kW) of which the two
    stations' cars draw 16 A each on every phase (22.1 kW): the rest of the building
    draws 5.5 kW, so the stations may draw at most 16.5 kW (less as the quarter hour
    fills above the limit): at most 23.9 A per phase, 11.9 A each, where the zone alone
    would give them 27 A each. Without the limit, the same building gives them that."""
    entry = _entry(port, sim_meter, 22.0)
    entry.add_to_hass(hass)
    sim_meter.units[1].set_currents(42, 42, 42)  # 10 A of commons and the two cars
    imports(sim_meter.units[2], 40.0)
    # The quarter hour's clock: 30 s into one, whatever the time of the test.
    started = time.monotonic()
    assert await hass.config_entries.async_setup(entry.entry_id)
    site = entry.runtime_data
    site.load.peak_clock = lambda: T0 + 30.0 + time.monotonic() - started
    await hass.async_block_till_done()
    one_client, one, one_tx = await charging(entry, "CP-1")
    two_client, two, two_tx = await charging(entry, "CP-2")
    try:
        await one.meter_values(1, currents(16.0), transaction_id=one_tx)
        await two.meter_values(1, currents(16.0), transaction_id=two_tx)
        # Its first 30 s counted at 27.6 kW: (22 kW x 900 s - 27.6 kW x 30 s) / 870 s =
        # 21.8 kW allowed, less the rest's 5.5 kW: 16.3 kW, 23.6 A per phase, 11.8 A each.
        await wait_until(
            hass,
            lambda: all(11.0 <= (limit_on(s, 1) or 0.0) <= 12.0 for s in (one, two)),
            within=15,
        )
        room = site.load.peak_room
        assert room is not None
        assert 15_000.0 <= room <= 16_500.0
        total = (limit_on(one, 1) or 0.0) + (limit_on(two, 1) or 0.0)
        assert total * 3 * 230.0 <= room + 3 * 230.0 * 0.2
        sensor = hass.states.get(entity_id(hass, "sensor", f"{entry.entry_id}_peak_average"))
        assert sensor is not None
        assert sensor.attributes["limit"] == 22.0
        # The quarter hour so far: its part before the start counted at the limit.
        assert float(sensor.state) > 20.0
        allocated = hass.states.get(entity_id(hass, "sensor", "sub_CP-1_allocated_current"))
        assert allocated is not None
        assert allocated.attributes["limited_by"] == "peak limit"

        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        peak = diagnostics["load_management"]["peak"]
        assert peak["target"] == 22_000.0
        assert peak["charging_room"] is not None
        assert peak["charging_room"] <= 16_500.0

        # The grid meter stops answering: the quarter hour cannot be followed, the
        # stations keep their minimum (6 A) and no more.
        sim_meter.units[2].silent = True
        await wait_until(hass, lambda: site.load.peak_room is None, within=30)
        await wait_until(hass, lambda: all(limit_on(s, 1) == 6.0 for s in (one, two)), within=15)
        sim_meter.units[2].silent = False
        await wait_until(hass, lambda: site.load.peak_room is not None, within=30)

        # The limit lifted (options): the zone's share again.
        hass.config_entries.async_update_entry(
            entry, options={k: v for k, v in entry.options.items() if k != "peak_limit"}
        )
        await hass.async_block_till_done()
        await wait_until(
            hass, lambda: all((limit_on(s, 1) or 0.0) >= 26.0 for s in (one, two)), within=15
        )
    finally:
        await one_client.close()
        await two_client.close()


async def test_a_peak_limit_needs_the_grid_meter(
    hass: HomeAssistant, port: int, sim_meter: SimulatedMeter
) -> None:
    """The hub's options refuse a peak limit without a meter at the grid connection."""
    entry = _entry(port, sim_meter, None, grid=False)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    fields = {**entry.options, "raise_hold": 2.0, "peak_limit": 30.0}
    result = await hass.config_entries.options.async_configure(result["flow_id"], fields)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"peak_limit": "peak_needs_grid_meter"}


def test_a_gap_across_the_quarter_hour_counts_at_the_target_on_both_sides() -> None:
    """No reading from 15 s before the quarter hour's end to 5 s into the next one (a
    20 s gap): the next quarter hour's 5 s count at the target, not at the last import
    (0 W)."""
    window = PeakWindow(target=10_000.0)
    window.add(T0 + 800, 0.0)
    window.add(T0 + 885, 0.0)
    window.add(T0 + WINDOW + 5, 3_000.0)
    assert window.start == T0 + WINDOW
    assert window.energy == pytest.approx(10_000.0 * 5)


class Building(Supply):
    """The grid meter (unit 2) and the car park's DLM meter (unit 1, 10 A of commons)
    follow what the simulated stations' cars really draw, on top of the rest of the
    building."""

    def __init__(self, sim_meter: SimulatedMeter, rest_amperes: float) -> None:
        super().__init__(sim_meter, 10.0)
        self.rest = rest_amperes  # per phase, imported by the rest of the building

    def cars(self) -> float:
        return self.total() - self.commons

    async def _follow(self) -> None:
        while True:
            total = self.total()
            self.meter.units[1].set_currents(total, total, total)
            imports(self.meter.units[2], self.rest + self.cars())
            await asyncio.sleep(0.1)


async def test_rotation_under_the_peak_limit_does_not_flap_on_lagging_readings(
    hass: HomeAssistant, port: int, sim_meter: SimulatedMeter
) -> None:
    """A 9 kW limit, the rest of the building 3 kW: room for one car at its 6 A minimum
    (4.1 kW), not for two. The stations report every 10 s, as many do: a car that starts
    draws before its first reading says so, and one that is paused still shows its last
    reading for a while. Those lags must not be taken for the rest of the building
    rising and falling: one car charges, the other waits, and neither is switched on and
    off again and again (each switch wears the car's contactor and restarts its
    charger). Found by the solar benchmark: every ~17 s."""
    entry = quick_hub_entry(
        port,
        [*_subentries(sim_meter), badge_subentry("BADGE-DAVE", "Dave")],
        peak_limit=9.0,
    )
    entry.add_to_hass(hass)
    building = Building(sim_meter, rest_amperes=3000.0 / 3 / 230.0)
    started = time.monotonic()
    assert await hass.config_entries.async_setup(entry.entry_id)
    site = entry.runtime_data
    # The first minutes of a quarter hour, whatever the time of the test.
    site.load.peak_clock = lambda: T0 + 30.0 + time.monotonic() - started
    await hass.async_block_till_done()
    one = SimulatedCharger(ws_url(entry), "CP-1", max_current=16, meter_interval=10)
    two = SimulatedCharger(ws_url(entry), "CP-2", max_current=16, meter_interval=10)
    building.chargers += [one, two]
    building.start()
    await one.start()
    await two.start()
    # The building as Home Assistant knows it before the cars come (it runs for weeks).
    await wait_until(hass, lambda: site.load.peak_rest is not None, within=15)
    switches = 0
    try:
        assert await one.plug(Car(max_current=16, soc=0.2), "BADGE-ALICE")
        assert await two.plug(Car(max_current=16, soc=0.2), "BADGE-DAVE")
        loop = asyncio.get_running_loop()
        # The first seconds: the sessions start and the first limits are set.
        await asyncio.sleep(15.0)
        charging = {c.station_id for c in (one, two) if c.limit() > 0}
        end = loop.time() + 90.0
        while loop.time() < end:
            now_charging = {c.station_id for c in (one, two) if c.limit() > 0}
            if now_charging != charging:
                switches += 1
                charging = now_charging
            await asyncio.sleep(0.2)
        assert switches == 0, f"{switches} switches in 90 s"
        assert len(charging) == 1, charging
        # The one waiting says why.
        waiting = next(c.station_id for c in (one, two) if c.station_id not in charging)
        allocated = hass.states.get(entity_id(hass, "sensor", f"sub_{waiting}_allocated_current"))
        assert allocated is not None
        assert allocated.state == "0.0"
        assert allocated.attributes["limited_by"] == "peak limit"
        # The one charging takes what the limit leaves it (6 kW: 8.6 A), not less.
        room = site.load.peak_room
        assert room is not None
        assert 5_500.0 <= room <= 6_500.0
    finally:
        await building.stop()
        await one.stop()
        await two.stop()
