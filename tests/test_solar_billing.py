"""Billing a self-consumption community: each session's energy split into solar and grid.

The rule (billing.solar_fraction): at every moment the building's self-consumed solar
is shared among all its consumers in proportion to their draw. The building's solar
fraction is noted every load-management cycle from the grid connection meter (a real
Modbus server) and the PV production sensor (a Home Assistant entity); a session's
energy between two meter values (a real OCPP station) takes the average fraction of that
interval. When unsure (no grid reading, an import without a production reading), grid.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
import time
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.charge_zones import loadmanager
from custom_components.charge_zones.billing import SolarShareLog, solar_fraction
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from simulator.meter import SimulatedMeter, SimulatedUnit
from simulator.station import SimulatedStation, StationClient

from .conftest import DEFAULT_BADGES, quick_hub_entry, station_subentry, ws_url
from .helpers import entity_id, open_session, state_of, submit_options, wait_until
from .test_billing import export, read_csv
from .test_dlm import connection
from .test_dlm_world import setup
from .test_solar_charging import export as grid_exports, grid_meter

PV = "sensor.roof_pv_power"


def test_the_solar_fraction_is_what_the_building_consumes_from_its_own_roof() -> None:
    # Exporting: everything consumed is covered by the roof.
    assert solar_fraction(-2_000.0, 9_000.0) == 1.0
    assert solar_fraction(-2_000.0, None) == 1.0
    # Importing 3 kW while the roof gives 9 kW: 9 of 12 kW consumed are solar.
    assert solar_fraction(3_000.0, 9_000.0) == pytest.approx(0.75)
    # When unsure, grid: no grid reading, or an import without a production reading.
    assert solar_fraction(None, 9_000.0) == 0.0
    assert solar_fraction(3_000.0, None) == 0.0
    assert solar_fraction(3_000.0, float("nan")) == 0.0
    assert solar_fraction(float("nan"), 9_000.0) == 0.0
    # Night: nothing from the roof.
    assert solar_fraction(3_000.0, 0.0) == 0.0


def test_the_log_averages_an_interval_and_counts_gaps_as_grid() -> None:
    log = SolarShareLog(bucket=10.0, hold=5.0)
    t0 = 1_800_000_000.0
    for t in range(100):
        log.note(t0 + t, 1.0 if t < 50 else 0.25)
    assert log.share(t0, t0 + 50) == pytest.approx(1.0)
    assert log.share(t0 + 50, t0 + 99) == pytest.approx(0.25)
    assert log.share(t0, t0 + 100) == pytest.approx(0.625)
    # Inside the bucket being filled: the part noted so far, not the whole bucket.
    assert log.share(t0 + 95, t0 + 99.5) == pytest.approx(0.25)
    # Before the first note (Home Assistant was not running): grid.
    assert log.share(t0 - 100, t0) == 0.0
    # The last fraction holds 5 s, then nothing is known: grid.
    assert log.share(t0 + 99, t0 + 104) == pytest.approx(0.25)
    assert log.share(t0 + 110, t0 + 120) == 0.0
    # A reading with no interval (out of order, or the same time) takes the fraction then.
    assert log.share(t0 + 20, t0 + 20) == pytest.approx(1.0)


def test_the_log_forgets_what_is_older_than_it_keeps() -> None:
    log = SolarShareLog(bucket=10.0, keep=100.0, hold=5.0)
    t0 = 1_800_000_000.0
    for t in range(300):
        log.note(t0 + t, 1.0)
    assert log.share(t0 + 250, t0 + 290) == pytest.approx(1.0)
    # Readings queued offline long ago are past what the log keeps: grid.
    assert log.share(t0, t0 + 100) == 0.0


@pytest.fixture
async def grid() -> AsyncIterator[SimulatedMeter]:
    """The building's grid connection meter (unit 2), exporting 20 A per phase."""
    served = SimulatedMeter("sdm630", unit=2)
    grid_exports(served.units[2], 20.0)
    await served.start()
    yield served
    await served.stop()


def _entry(port: int, grid: SimulatedMeter, **options: Any) -> MockConfigEntry:
    return quick_hub_entry(
        port,
        [connection(grid.port), grid_meter(), station_subentry("ST-A"), *DEFAULT_BADGES],
        tariff="fixed",
        price=0.30,
        currency="CHF",
        solar_price=0.10,
        pv_power_entity=PV,
        **options,
    )


def _pv(hass: HomeAssistant, watts: float | str) -> None:
    hass.states.async_set(PV, str(watts), {"unit_of_measurement": "W", "device_class": "power"})


def _register(wh: float) -> list[dict[str, Any]]:
    return [{"value": f"{wh:.0f}", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


@asynccontextmanager
async def _building(
    hass: HomeAssistant, port: int, grid: SimulatedMeter
) -> AsyncIterator[tuple[MockConfigEntry, SimulatedStation]]:
    """The hub set up (the roof producing 13.8 kW), ST-A connected and booted."""
    _pv(hass, 13_800.0)
    entry = _entry(port, grid)
    await setup(hass, entry)
    client = StationClient(ws_url(entry), "ST-A")
    station: SimulatedStation = await client.connect()
    try:
        await station.boot()
        yield entry, station
    finally:
        await client.close()


async def _fraction(hass: HomeAssistant, entry: MockConfigEntry, value: float) -> float:
    """Wait until the load manager notes this solar fraction; the time it did."""
    log = entry.runtime_data.load.solar_log
    await wait_until(hass, lambda: log.fraction == pytest.approx(value), within=15)
    # A cycle later: the interval from now on is all at this fraction.
    await asyncio.sleep(1.2)
    return time.time()


async def test_a_session_is_split_into_solar_and_grid_energy_and_billed_at_both_prices(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, port: int, grid: SimulatedMeter
) -> None:
    """1 kWh drawn while the building exports (all solar), 1 kWh while it imports as
    much as the roof gives (half solar), 1 kWh while the PV sensor is unavailable (grid:
    when unsure, solar is never invented). Solar at 0.10, grid at 0.30 CHF/kWh."""
    unit: SimulatedUnit = grid.units[2]
    async with _building(hass, port, grid) as (entry, station):
        start = await _fraction(hass, entry, 1.0)
        started = await station.start_transaction(1, "BADGE-ALICE", 0, timestamp=_iso(start))
        tx = started.transaction_id
        await asyncio.sleep(3)
        # All of it while exporting.
        await station.meter_values(
            1, _register(1000), transaction_id=tx, timestamp=_iso(time.time())
        )

        # The building imports 20 A per phase (13.8 kW) while the roof gives 13.8 kW.
        grid_exports(unit, -20.0)
        half = await _fraction(hass, entry, 0.5)
        await station.meter_values(1, _register(1001), transaction_id=tx, timestamp=_iso(half))
        await asyncio.sleep(3)
        await station.meter_values(
            1, _register(2001), transaction_id=tx, timestamp=_iso(time.time())
        )

        # The PV sensor becomes unavailable: an import with no production reading.
        _pv(hass, "unavailable")
        none = await _fraction(hass, entry, 0.0)
        await station.meter_values(1, _register(2002), transaction_id=tx, timestamp=_iso(none))
        await asyncio.sleep(3)
        await station.stop_transaction(tx, 3002, timestamp=_iso(time.time()))
        await hass.async_block_till_done()

    session = entry.runtime_data.sessions.closed[-1]
    # 1000 Wh + the 1 Wh in the change + 500 Wh (half of 1000) + none of the last 1001 Wh.
    assert 1500.0 <= session.solar_wh <= 1501.0
    assert session.energy_wh == 3002
    # 1.5 kWh at 0.10 and 1.5 kWh at 0.30.
    assert session.cost == pytest.approx(0.60, abs=0.01)

    # The export: the split per session and per holder, in the action and the CSV.
    result = await export(hass)
    row = result["sessions"][0]
    assert row["solar_kwh"] == pytest.approx(1.5, abs=0.002)
    assert row["grid_kwh"] == pytest.approx(1.502, abs=0.002)
    assert row["solar_kwh"] + row["grid_kwh"] == pytest.approx(row["energy_kwh"])
    alice = result["totals"]["Alice"]
    assert alice["solar_kwh"] == row["solar_kwh"]
    assert alice["grid_kwh"] == row["grid_kwh"]
    sessions_csv, totals_csv = read_csv(result["path"])
    assert float(sessions_csv[0]["solar_kwh"]) == row["solar_kwh"]
    assert float(totals_csv[0]["grid_kwh"]) == row["grid_kwh"]

    # The badge's and the holder's sensors (enabled: the hub has a grid meter).
    assert float(state_of(hass, "sensor", "badge_BADGE-ALICE_billed_solar_energy")) == (
        pytest.approx(1.5, abs=0.002)
    )
    assert float(state_of(hass, "sensor", "badge_BADGE-ALICE_billed_grid_energy")) == (
        pytest.approx(1.502, abs=0.002)
    )
    holder = f"{entry.entry_id}_holder_alice_solar_energy"
    assert float(state_of(hass, "sensor", holder)) == pytest.approx(1.5, abs=0.002)

    # The hub's statistics for the energy dashboard (total increasing, kWh).
    solar = hass.states.get(entity_id(hass, "sensor", f"{entry.entry_id}_charged_solar_energy"))
    grid_sensor = hass.states.get(
        entity_id(hass, "sensor", f"{entry.entry_id}_charged_grid_energy")
    )
    assert solar is not None
    assert grid_sensor is not None
    assert solar.attributes["state_class"] == "total_increasing"
    assert solar.attributes["unit_of_measurement"] == "kWh"
    assert float(solar.state) == pytest.approx(1.5, abs=0.1)
    assert float(grid_sensor.state) == pytest.approx(1.5, abs=0.1)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["billing"]["solar_share"] == 0.0
    assert diagnostics["billing"]["pv_power"] is None

    # Kept across a reload (the totals are stored).
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    sessions = entry.runtime_data.sessions
    assert 1500.0 <= sessions.charged_solar_wh <= 1501.0
    assert sessions.charged_solar_wh + sessions.charged_grid_wh == pytest.approx(3002.0)


async def test_without_a_grid_reading_everything_is_grid(
    hass: HomeAssistant, port: int, grid: SimulatedMeter
) -> None:
    """The grid meter stops answering while the building exported: the energy drawn
    after its reading went stale counts as grid, billed at the grid price."""
    async with _building(hass, port, grid) as (entry, station):
        await _fraction(hass, entry, 1.0)
        grid.units[2].silent = True
        start = await _fraction(hass, entry, 0.0)
        started = await station.start_transaction(1, "BADGE-ALICE", 0, timestamp=_iso(start))
        await asyncio.sleep(3)
        await station.stop_transaction(started.transaction_id, 2000, timestamp=_iso(time.time()))
        await hass.async_block_till_done()
    session = entry.runtime_data.sessions.closed[-1]
    assert session.solar_wh == 0.0
    assert session.cost == pytest.approx(0.60)


async def test_the_options_check_the_solar_price(
    hass: HomeAssistant, port: int, grid: SimulatedMeter
) -> None:
    """A solar price needs a tariff for grid energy; one solar price, not two."""
    entry = _entry(port, grid)
    await setup(hass, entry)
    base = {**entry.options, "raise_hold": 2.0}

    result = await submit_options(hass, entry, **{**base, "tariff": "none"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"tariff": "solar_price_needs_tariff"}
    hass.states.async_set("input_number.solar_price", "0.12")
    result = await submit_options(
        hass, entry, **base, solar_price_entity="input_number.solar_price"
    )
    assert result["errors"] == {"solar_price_entity": "solar_price_twice"}
    result = await submit_options(
        hass,
        entry,
        **{k: v for k, v in base.items() if k != "solar_price"},
        solar_price_entity="input_number.solar_price",
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["solar_price_entity"] == "input_number.solar_price"
    assert "solar_price" not in entry.options
    assert entry.options["pv_power_entity"] == PV
    assert entry.runtime_data.solar_tariff() is not None
    assert entry.runtime_data.solar_tariff().per_kwh == pytest.approx(0.12)


async def test_idle_time_and_a_station_clock_that_is_off_bring_no_solar(
    hass: HomeAssistant, port: int, grid: SimulatedMeter
) -> None:
    """A car plugged in while the building exports draws nothing (its register still),
    then charges once the building imports with no production: none of it is solar (the
    idle time's sun is not spread over it). A station whose clock is 3 h ahead stamps its
    readings then: they cannot be placed in the log's time, so they are grid."""
    async with _building(hass, port, grid) as (entry, station):
        start = await _fraction(hass, entry, 1.0)
        started = await station.start_transaction(1, "BADGE-ALICE", 0, timestamp=_iso(start))
        tx = started.transaction_id
        for _ in range(3):
            await asyncio.sleep(1)
            await station.meter_values(
                1, _register(0), transaction_id=tx, timestamp=_iso(time.time())
            )
        grid_exports(grid.units[2], -20.0)
        _pv(hass, "unavailable")
        await _fraction(hass, entry, 0.0)
        await station.meter_values(1, _register(0), transaction_id=tx, timestamp=_iso(time.time()))
        await asyncio.sleep(2)
        await station.meter_values(
            1, _register(1000), transaction_id=tx, timestamp=_iso(time.time())
        )
        session = open_session(entry.runtime_data.sessions, tx)
        assert session.solar_wh == 0.0

        await station.stop_transaction(tx, 1000, timestamp=_iso(time.time()))

        # Exporting again, but the station's clock is 3 h ahead: its readings cannot be
        # placed in the log's time, so they are grid.
        grid_exports(grid.units[2], 20.0)
        await _fraction(hass, entry, 1.0)
        lag = -3 * 3600.0  # ahead
        ahead = await station.start_transaction(
            1, "BADGE-ALICE", 1000, timestamp=_iso(time.time() - lag)
        )
        for register in (2000, 3000):
            await asyncio.sleep(1)
            await station.meter_values(
                1,
                _register(register),
                transaction_id=ahead.transaction_id,
                timestamp=_iso(time.time() - lag),
            )
        await station.stop_transaction(
            ahead.transaction_id, 4000, timestamp=_iso(time.time() - lag)
        )
        late = entry.runtime_data.sessions.closed[-1]
        assert late.energy_wh == 3000
        assert late.solar_wh == 0.0


async def test_a_pv_sensor_that_stops_reporting_counts_as_no_production(
    hass: HomeAssistant, port: int, grid: SimulatedMeter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An inverter's cloud integration that freezes at dusk keeps its last value: once it
    has not reported for longer than a production reading counts, the building's import
    is all grid."""
    monkeypatch.setattr(loadmanager, "PV_SENSOR_MAX_AGE", 3.0)
    grid_exports(grid.units[2], -20.0)
    _pv(hass, 13_800.0)
    entry = _entry(port, grid)
    await setup(hass, entry)
    log = entry.runtime_data.load.solar_log
    await wait_until(hass, lambda: log.fraction == pytest.approx(0.5), within=10)
    await wait_until(hass, lambda: log.fraction == 0.0, within=10)
    _pv(hass, 13_800.0)  # reported again (same value)
    await wait_until(hass, lambda: log.fraction == pytest.approx(0.5), within=10)
