"""The grid connection as Home Assistant power sensors (a P1/DSMR meter, an inverter's
smart meter) instead of a Modbus meter: the solar surplus, a solar-only session, the
solar share, staleness and the options' checks, with a real DLM meter (Modbus) and a
real OCPP station."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones import loadmanager
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from simulator.meter import SimulatedMeter

from .conftest import DEFAULT_BADGES, quick_hub_entry
from .helpers import entity_id, submit_options, wait_until
from .test_dlm import connection, meter, zone
from .test_dlm_world import setup
from .test_solar_charging import (
    _limit_is,
    charging,
    grid_meter,
    reason,
    sim_meter,  # noqa: F401 - its fixture
    solar_station,
)

GRID = "sensor.p1_power"
RETURNED = "sensor.p1_power_returned"


def _power(hass: HomeAssistant, entity: str, watts: float | str, unit: str = "W") -> None:
    hass.states.async_set(
        entity, str(watts), {"unit_of_measurement": unit, "device_class": "power"}
    )


def _entry(port: int, served: SimulatedMeter, **options: Any) -> MockConfigEntry:
    return quick_hub_entry(
        port,
        [
            connection(served.port),
            meter(),
            zone(max_current=32.0),
            solar_station("CP-SUN"),
            *DEFAULT_BADGES,
        ],
        solar_start_delay=0,
        solar_stop_delay=0,
        solar_min_on_time=0,
        solar_smoothing=0,
        **options,
    )


async def test_a_grid_power_sensor_gives_the_surplus(
    hass: HomeAssistant,
    port: int,
    sim_meter: SimulatedMeter,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """6.9 kW exported (in kW, converted): 10 A per phase of surplus for the solar-only
    station; import and export as two sensors; a sensor that is unavailable, or that has
    not reported for longer than a reading counts, means no surplus."""
    _power(hass, GRID, -6.9, "kW")
    entry = _entry(port, sim_meter, grid_power_entity=GRID)
    await setup(hass, entry)
    site = entry.runtime_data
    client, station = await charging(entry, "CP-SUN")
    try:
        await _limit_is(hass, station, 10.0)
        await wait_until(hass, lambda: reason(hass, "CP-SUN") == "solar")
        surplus = hass.states.get(entity_id(hass, "sensor", f"{entry.entry_id}_solar_surplus"))
        assert surplus is not None
        assert float(surplus.state) == pytest.approx(6900, rel=0.02)
        assert site.load.solar_log.fraction == 1.0  # exporting: all solar

        # Unavailable: no surplus (when unsure, less).
        _power(hass, GRID, "unavailable")
        await _limit_is(hass, station, 0.0)
        assert site.load.surplus is None

        # DSMR style: what is delivered and what is returned, two positive sensors.
        hass.config_entries.async_update_entry(
            entry,
            options={**entry.options, "grid_power_entity": GRID, "grid_export_entity": RETURNED},
        )
        _power(hass, GRID, 0.0)
        _power(hass, RETURNED, 4830.0)
        await hass.async_block_till_done()
        await _limit_is(hass, station, 7.0)

        # A sensor that stops reporting: its reading no longer counts.
        monkeypatch.setattr(loadmanager, "GRID_SENSOR_MAX_AGE", 2.0)
        await wait_until(hass, lambda: site.load.surplus is None, within=10)
        await _limit_is(hass, station, 0.0)
        # One sensor reported again is not enough: the other one is still old.
        _power(hass, RETURNED, 4830.0)
        await asyncio.sleep(1.5)  # cycles run
        assert site.load.surplus is None
        # Both reported again with the same values (state reports, no change): it counts.
        _power(hass, GRID, 0.0)
        _power(hass, RETURNED, 4830.0)
        await _limit_is(hass, station, 7.0)
    finally:
        await client.close()


async def test_the_options_check_the_grid_sensors(
    hass: HomeAssistant,
    port: int,
    sim_meter: SimulatedMeter,  # noqa: F811 - the fixture imported above
) -> None:
    """The export sensor only completes the power sensor; a Modbus meter already marked
    as the grid connection and sensors are one too many; a peak limit is accepted with
    the sensors alone."""
    entry = _entry(port, sim_meter)
    await setup(hass, entry)
    base = {**entry.options, "raise_hold": 2.0}

    _power(hass, GRID, 0.0)
    _power(hass, RETURNED, 0.0)
    result = await submit_options(hass, entry, **base, grid_export_entity=RETURNED)
    assert result["errors"] == {"grid_power_entity": "grid_power_required"}
    result = await submit_options(
        hass, entry, **base, grid_power_entity=GRID, grid_export_entity=GRID
    )
    assert result["errors"] == {"grid_export_entity": "grid_export_same"}
    result = await submit_options(hass, entry, **base, peak_limit=20.0)
    assert result["errors"] == {"peak_limit": "peak_needs_grid_meter"}
    result = await submit_options(hass, entry, **base, peak_limit=20.0, grid_power_entity=GRID)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["grid_power_entity"] == GRID
    assert entry.options["peak_limit"] == 20.0
    # A Modbus meter marked as the grid connection too: one grid connection per hub,
    # refused by the meter's form as well.
    flow = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "meter"), context={"source": "user"}
    )
    result = dict(
        await hass.config_entries.subentries.async_configure(
            flow["flow_id"],
            {
                "name": "Grid",
                "connection": "conn1",
                "unit": 3,
                "meter_model": "sdm630",
                "amperage": 63,
                "poll_interval": 1,
                "grid_connection": True,
            },
        )
    )
    assert result["errors"] == {"grid_connection": "grid_meter_taken"}
    assert result["description_placeholders"]["other"] == GRID
    # And the options refuse sensors beside a marked meter.
    hass.config_entries.async_add_subentry(entry, ConfigSubentry(**_grid_subentry()))
    await hass.async_block_till_done()
    result = await submit_options(hass, entry, **base, grid_power_entity=GRID)
    assert result["errors"] == {"grid_power_entity": "grid_meter_twice"}


def _grid_subentry() -> dict[str, Any]:
    sub = grid_meter()
    return {
        "data": sub["data"],
        "subentry_type": sub.get("subentry_type", "meter"),
        "title": sub["title"],
        "unique_id": sub["unique_id"],
    }
