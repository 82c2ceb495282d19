"""Charging on the building's solar surplus, end to end.

A real Modbus TCP server (pymodbus') serves two meters: the car park's DLM meter (unit 1)
and the meter at the building's grid connection (unit 2, its powers signed: export is
negative); real OCPP stations over websockets; Home Assistant in between.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.charge_zones.const import DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from simulator.meter import SimulatedMeter, SimulatedUnit
from simulator.station import SimulatedStation, StationClient

from .conftest import DEFAULT_BADGES, badge_subentry, quick_hub_entry, station_subentry, ws_url
from .helpers import entity_id, open_session, state_of, wait_until
from .test_dlm import charging, connection, limit_of, managed, meter, zone

GRID = "meter_grid"


def grid_meter() -> dict[str, Any]:
    sub = meter(amperage=80.0)
    sub["data"] |= {"name": "Grid", "unit": 2, "grid_connection": True}
    sub |= {"subentry_id": GRID, "title": "Grid", "unique_id": "meter conn1 2"}
    return sub


def sun_badge() -> dict[str, Any]:
    """Erin charges on the sun wherever she plugs in (her badge's mode)."""
    sub = badge_subentry("BADGE-SUN", "Erin")
    sub["data"]["charging_mode"] = "solar"
    return sub


def solar_station(station_id: str, mode: str = "solar", **kw: Any) -> dict[str, Any]:
    sub = managed(station_id, **kw)
    sub["data"]["charging_mode"] = mode
    return sub


@pytest.fixture
async def sim_meter() -> AsyncIterator[SimulatedMeter]:
    """The commons meter (unit 1, 10 A per phase), the grid meter (unit 2), a spare (3)."""
    served = SimulatedMeter("sdm630", unit=1)
    served.set_currents(10, 10, 10)
    export(served.add_unit("sdm630", 2), 0.0)
    served.add_unit("sdm630", 3).set_currents(1, 1, 1)
    await served.start()
    yield served
    await served.stop()


@pytest.fixture
def grid(sim_meter: SimulatedMeter) -> SimulatedUnit:
    """The grid connection's meter; nothing exported yet."""
    return sim_meter.units[2]


def export(unit: SimulatedUnit, amperes: float, voltage: float = 230.0) -> None:
    """The building exports ``amperes`` per phase (negative: it imports)."""
    unit.set_currents(abs(amperes), abs(amperes), abs(amperes), voltage)
    for phase in (1, 2, 3):
        unit.set(f"power_l{phase}", -amperes * voltage)
    unit.set("power_total", -3 * amperes * voltage)


@pytest.fixture
def subentries(sim_meter: SimulatedMeter, grid: SimulatedUnit) -> list[dict[str, Any]]:
    """A 32 A car park behind a 40 A commons meter, a grid meter, three stations."""
    return [
        connection(sim_meter.port),
        meter(),
        grid_meter(),
        zone(max_current=32.0),
        solar_station("CP-SUN"),
        solar_station("CP-MIN", mode="solar_min"),
        managed("CP-FAST"),
        station_subentry("CP-OUT"),  # in no zone
        *DEFAULT_BADGES,
        sun_badge(),
    ]


@pytest.fixture
def config_entry(port: int, subentries: list[dict[str, Any]]) -> MockConfigEntry:
    """Solar delays and smoothing of 0: the rules' are tested in test_solar.py."""
    return quick_hub_entry(
        port,
        subentries,
        solar_start_delay=0,
        solar_stop_delay=0,
        solar_min_on_time=0,
        solar_smoothing=0,
    )


def reason(hass: HomeAssistant, station_id: str) -> str:
    return state_of(hass, "sensor", f"sub_{station_id}_load_management")


async def _limit_is(hass: HomeAssistant, station: SimulatedStation, value: float) -> None:
    await wait_until(
        hass, lambda: (got := limit_of(station)) is not None and abs(got - value) < 0.11, 10
    )


async def test_solar_only_waits_for_surplus_and_follows_it(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, grid: SimulatedUnit
) -> None:
    """No export: 0 A, waiting for the sun; 10 A exported: its share; gone: 0 A again."""
    client, station = await charging(loaded_entry, "CP-SUN")
    await _limit_is(hass, station, 0.0)
    assert reason(hass, "CP-SUN") == "waiting_for_sun"

    export(grid, 10.0)
    await _limit_is(hass, station, 10.0)
    await wait_until(hass, lambda: reason(hass, "CP-SUN") == "solar")
    surplus = hass.states.get(entity_id(hass, "sensor", f"{loaded_entry.entry_id}_solar_surplus"))
    assert surplus is not None
    assert float(surplus.state) == pytest.approx(3 * 10 * 230, rel=0.05)

    # The car takes its 10 A from the sun (the station reports it): the meter exports
    # nothing more, and the surplus is still the 10 A the car draws.
    await station.meter_values(
        1,
        [
            {"value": "10", "measurand": "Current.Import", "phase": p, "unit": "A"}
            for p in ("L1", "L2", "L3")
        ],
        transaction_id=1,
    )
    export(grid, 0.0)
    for _ in range(5):
        await hass.async_block_till_done()
    await _limit_is(hass, station, 10.0)

    export(grid, -20.0)  # a cloud, and the building imports
    await _limit_is(hass, station, 0.0)
    assert reason(hass, "CP-SUN") == "waiting_for_sun"
    await client.close()


async def test_solar_plus_minimum_keeps_its_minimum_and_takes_the_surplus(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, grid: SimulatedUnit
) -> None:
    client, station = await charging(loaded_entry, "CP-MIN")
    await _limit_is(hass, station, 6.0)
    export(grid, 4.0)
    await _limit_is(hass, station, 10.0)
    assert reason(hass, "CP-MIN") == "solar"
    await client.close()


async def test_solar_never_overrides_the_zone(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    grid: SimulatedUnit,
    sim_meter: SimulatedMeter,
) -> None:
    """60 A of surplus, a 40 A meter with 30 A of commons: 10 A, not 60 A."""
    sim_meter.set_currents(30, 30, 30)
    client, station = await charging(loaded_entry, "CP-SUN")
    export(grid, 60.0)
    await _limit_is(hass, station, 10.0)
    await client.close()


async def test_a_silent_grid_meter_means_no_surplus(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    grid: SimulatedUnit,
    sim_meter: SimulatedMeter,
) -> None:
    """When unsure, less current: without a reading of the grid there is no surplus."""
    client, station = await charging(loaded_entry, "CP-SUN")
    export(grid, 10.0)
    await _limit_is(hass, station, 10.0)
    grid.set_no_value("current_l1")  # the grid meter answers "no value": not read
    await wait_until(hass, lambda: limit_of(station) == 0.0, 20)
    surplus = entity_id(hass, "sensor", f"{loaded_entry.entry_id}_solar_surplus")
    await wait_until(hass, lambda: hass.states.get(surplus).state == "unavailable", 15)  # type: ignore[union-attr]
    await client.close()


async def test_the_charging_mode_select_applies_at_once(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, grid: SimulatedUnit
) -> None:
    """Fast → Off → Solar only from the select, without a reload or a reconnect."""
    client, station = await charging(loaded_entry, "CP-FAST")
    await wait_until(hass, lambda: (limit_of(station) or 0) > 6, 10)
    select = entity_id(hass, "select", "sub_CP-FAST_charging_mode")
    assert hass.states.get(select).state == "fast"  # type: ignore[union-attr]
    site = loaded_entry.runtime_data

    await hass.services.async_call(
        "select", "select_option", {"entity_id": select, "option": "off"}, blocking=True
    )
    await _limit_is(hass, station, 0.0)
    assert reason(hass, "CP-FAST") == "mode_off"
    await hass.services.async_call(
        "select", "select_option", {"entity_id": select, "option": "solar"}, blocking=True
    )
    export(grid, 8.0)
    await _limit_is(hass, station, 8.0)
    assert loaded_entry.subentries["sub_CP-FAST"].data["charging_mode"] == "solar"
    assert loaded_entry.runtime_data is site
    assert client.station is station
    await client.close()


async def test_one_grid_connection_per_hub(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim_meter: SimulatedMeter
) -> None:
    """A second meter marked as the grid connection is refused, naming the first."""
    result = await hass.config_entries.subentries.async_init(
        (loaded_entry.entry_id, "meter"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Second",
            "connection": "conn1",
            "unit": 3,
            "meter_model": "sdm630",
            "amperage": 63,
            "poll_interval": 1,
            "grid_connection": True,
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"grid_connection": "grid_meter_taken"}
    assert result["description_placeholders"]["other"] == "Grid"


async def test_diagnostics_show_the_solar_sharing(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    grid: SimulatedUnit,
) -> None:
    """What an installer needs to see why a solar station gets what it gets."""
    client, station = await charging(loaded_entry, "CP-SUN")
    export(grid, 9.0)
    await _limit_is(hass, station, 9.0)
    found = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    solar = found["load_management"]["solar"]
    assert solar["surplus"] == pytest.approx([9.0, 9.0, 9.0])
    assert solar["settings"]["start_delay"] == 0
    (session,) = solar["sessions"].values()
    assert session["state"] == "charging"
    assert session["cap"] == pytest.approx(9.0)
    assert found["load_management"]["meters"][GRID]["grid_connection"] is True
    modes = {s["station_id"]: s["config"]["charging_mode"] for s in found["stations"]}
    assert modes == {"CP-SUN": "solar", "CP-MIN": "solar_min", "CP-FAST": "fast", "CP-OUT": "fast"}
    await client.close()


async def _set_mode(hass: HomeAssistant, device_id: str, mode: str, **more: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "set_charging_mode",
        {"device_id": device_id, "mode": mode, **more},
        blocking=True,
        return_response=True,
    )


async def test_the_action_sets_the_mode_of_this_session_only(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, grid: SimulatedUnit
) -> None:
    """set_charging_mode with this_session: the session charging now, not the next ones;
    without: the station's mode. A station in no session or no zone: a clear error."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "sub_CP-FAST"), loaded_entry.entry_id
    )
    assert device is not None
    with pytest.raises(ServiceValidationError) as refused:
        await _set_mode(hass, device.id, "off", this_session=True)
    assert refused.value.translation_key == "no_session"
    outside = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "sub_CP-OUT"), loaded_entry.entry_id
    )
    assert outside is not None
    with pytest.raises(ServiceValidationError) as refused:
        await _set_mode(hass, outside.id, "solar")
    assert refused.value.translation_key == "not_managed"

    client, station = await charging(loaded_entry, "CP-FAST")
    await wait_until(hass, lambda: (limit_of(station) or 0) > 6, 10)
    answer = await _set_mode(hass, device.id, "off", this_session=True)
    assert answer == {"mode": "off", "sessions": [1]}
    await _limit_is(hass, station, 0.0)
    assert reason(hass, "CP-FAST") == "mode_off"
    # The station keeps its own mode: the select still says fast.
    select = entity_id(hass, "select", "sub_CP-FAST_charging_mode")
    assert hass.states.get(select).state == "fast"  # type: ignore[union-attr]
    assert open_session(loaded_entry.runtime_data.sessions, 1).charging_mode == "off"

    # The next session charges as the station says.
    await station.stop_transaction(1, meter_stop=100, id_tag="BADGE-ALICE")
    await station.start_transaction(1, "BADGE-ALICE", 100)
    await wait_until(hass, lambda: (limit_of(station) or 0) > 6, 10)

    # Without this_session: the station's mode, as its select shows.
    await _set_mode(hass, device.id, "solar")
    await _limit_is(hass, station, 0.0)
    assert hass.states.get(select).state == "solar"  # type: ignore[union-attr]
    await client.close()


async def test_a_badge_brings_its_charging_mode_to_any_station(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, grid: SimulatedUnit
) -> None:
    """Erin's badge says solar only: at the fast station her session waits for the sun,
    and follows it; the next session there (another badge) charges fast again."""
    client = StationClient(ws_url(loaded_entry), "CP-FAST")
    station = await client.connect()
    await station.boot()
    started = await station.start_transaction(1, "BADGE-SUN", 0)
    await station.status(1, "Charging")
    await _limit_is(hass, station, 0.0)
    assert reason(hass, "CP-FAST") == "waiting_for_sun"
    site = loaded_entry.runtime_data
    assert open_session(site.sessions, started.transaction_id).charging_mode == "solar"
    export(grid, 7.0)
    await _limit_is(hass, station, 7.0)
    await station.stop_transaction(started.transaction_id, meter_stop=500, id_tag="BADGE-SUN")
    await station.start_transaction(1, "BADGE-ALICE", 500)
    await wait_until(hass, lambda: (limit_of(station) or 0) > 7.5, 10)
    await client.close()


async def test_a_station_set_to_off_stays_off_whatever_the_badge_says(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, grid: SimulatedUnit
) -> None:
    """The manager sets CP-FAST to Off: Erin's badge (solar only) does not lift it, even
    in full sun."""
    select = entity_id(hass, "select", "sub_CP-FAST_charging_mode")
    await hass.services.async_call(
        "select", "select_option", {"entity_id": select, "option": "off"}, blocking=True
    )
    export(grid, 20.0)
    client = StationClient(ws_url(loaded_entry), "CP-FAST")
    station = await client.connect()
    await station.boot()
    started = await station.start_transaction(1, "BADGE-SUN", 0)
    await station.status(1, "Charging")
    assert open_session(
        loaded_entry.runtime_data.sessions, started.transaction_id
    ).charging_mode == ("solar")
    await _limit_is(hass, station, 0.0)
    await wait_until(hass, lambda: reason(hass, "CP-FAST") == "mode_off")
    await client.close()


async def test_the_badge_form_keeps_a_charging_mode(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.subentries.async_init(
        (loaded_entry.entry_id, "badge"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"tag": "BADGE-NEW", "holder": "Finn", "status": "active", "charging_mode": "solar_min"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["charging_mode"] == "solar_min"
    badge = loaded_entry.runtime_data.badges.get("BADGE-NEW")
    assert badge is not None
    assert badge.charging_mode == "solar_min"
