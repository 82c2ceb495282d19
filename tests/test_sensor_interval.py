"""A station's readings reach Home Assistant's states at most once per sensor update interval.

The hub option *Sensor update interval* (default 30 s, as Home Assistant's DSMR
integration does for meters that send every second): the first reading after a quiet
interval is written at once, later ones as their newest value at the end of the interval;
a change of the station's state (a session ending) writes the newest readings at once; the
load manager sees every reading. 0 writes every reading. Over a real websocket.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.charge_zones.central.models import Phase
from custom_components.charge_zones.const import (
    CONF_HEARTBEAT_INTERVAL,
    CONF_METER_INTERVAL,
    CONF_SENSOR_INTERVAL,
    DEFAULT_SENSOR_INTERVAL,
    DOMAIN,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.util import dt as dt_util
from simulator.station import StationClient

from .conftest import STATION_ID
from .helpers import entity_id, state_of, wait_until
from .test_session import sampled

SUB = f"sub_{STATION_ID}"


@pytest.fixture
def hub_options() -> dict[str, Any]:
    """The hub's options without a sensor update interval: its default applies."""
    return {CONF_HEARTBEAT_INTERVAL: 300, CONF_METER_INTERVAL: 10}


async def _submit_options(hass: HomeAssistant, entry: MockConfigEntry, interval: int) -> Any:
    """The options form with the given sensor update interval, the rest as shown."""
    flow = await hass.config_entries.options.async_init(entry.entry_id)
    return await hass.config_entries.options.async_configure(
        flow["flow_id"],
        {
            CONF_HEARTBEAT_INTERVAL: 300,
            CONF_METER_INTERVAL: 10,
            "raise_hold": 15,
            "profile_validity": 10,
            "tariff": "none",
            CONF_SENSOR_INTERVAL: interval,
        },
    )


def _kwh(hass: HomeAssistant, key: str) -> float:
    return float(state_of(hass, "sensor", f"{SUB}_{key}"))


async def _charging(hass: HomeAssistant, client: StationClient) -> tuple[Any, int]:
    """Booted and configured, a session started, its first reading (11 kWh, 16 A) sent."""
    station = client.station
    assert station is not None
    await station.boot()
    # Its configuration after the boot (each step a change of the station) is over.
    managed = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.stations[SUB]
    await wait_until(hass, lambda: managed.ready and not managed._configure_lock.locked())
    await station.status(1, "Charging")
    started = await station.start_transaction(1, "BADGE-ALICE", meter_start=10_000)
    transaction_id = int(started.transaction_id)
    await station.meter_values(1, sampled(11_000, (16, 16, 16)), transaction_id=transaction_id)
    await hass.async_block_till_done()
    return station, transaction_id


@pytest.mark.enabled_by_user("current_l1", "current_l2", "current_l3")
async def test_readings_are_written_at_most_once_per_interval(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """First reading at once; the next ones as the newest at the end of the interval.

    The hub's *Energy charged from the grid* (all stations' sessions) likewise: on a
    site of 500 stations it moved by its 100 Wh step several times a second.
    """
    assert DEFAULT_SENSOR_INTERVAL == 30
    energy_id = entity_id(hass, "sensor", f"{SUB}_energy")
    hub_id = entity_id(hass, "sensor", f"{loaded_entry.entry_id}_charged_grid_energy")
    writes: list[State] = []
    hub_writes: list[State] = []

    def written(event: Any) -> None:
        if event.data["entity_id"] == energy_id:
            writes.append(event.data["new_state"])
        elif event.data["entity_id"] == hub_id:
            hub_writes.append(event.data["new_state"])

    hass.bus.async_listen("state_changed", written)

    station, transaction_id = await _charging(hass, client)
    assert _kwh(hass, "energy") == pytest.approx(11.0)  # the first: at once
    assert _kwh(hass, "session_energy") == pytest.approx(1.0)
    assert float(state_of(hass, "sensor", f"{SUB}_current_l1")) == pytest.approx(16)

    await station.meter_values(1, sampled(12_000, (10, 10, 10)), transaction_id=transaction_id)
    await station.meter_values(1, sampled(13_000, (8, 8, 8)), transaction_id=transaction_id)
    await hass.async_block_till_done()
    # Held back: the states still show the first reading ...
    assert _kwh(hass, "energy") == pytest.approx(11.0)
    assert float(state_of(hass, "sensor", f"{SUB}_current_l1")) == pytest.approx(16)
    assert len(writes) == 1
    assert [float(s.state) for s in hub_writes] == [pytest.approx(1.0)]  # kWh
    # ... while the load manager has the newest.
    managed = loaded_entry.runtime_data.stations[SUB]
    assert managed.energy_wh == pytest.approx(13_000)
    assert managed.current(Phase.L1) == pytest.approx(8)

    # The end of the interval writes the newest reading, once.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await hass.async_block_till_done()
    assert _kwh(hass, "energy") == pytest.approx(13.0)
    assert _kwh(hass, "session_energy") == pytest.approx(3.0)
    assert float(state_of(hass, "sensor", f"{SUB}_current_l1")) == pytest.approx(8)
    assert len(writes) == 2
    assert [float(s.state) for s in hub_writes] == [pytest.approx(1.0), pytest.approx(3.0)]


async def test_a_session_ending_writes_the_newest_readings_at_once(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """A change of the station's state does not wait for the interval."""
    station, transaction_id = await _charging(hass, client)
    await station.meter_values(1, sampled(12_500, (16, 16, 16)), transaction_id=transaction_id)
    await hass.async_block_till_done()
    assert _kwh(hass, "energy") == pytest.approx(11.0)

    await station.status(1, "SuspendedEV")
    await wait_until(
        hass, lambda: state_of(hass, "sensor", f"{SUB}_connector_1_status") == "suspendedev"
    )
    assert _kwh(hass, "energy") == pytest.approx(12.5)
    assert _kwh(hass, "session_energy") == pytest.approx(2.5)

    await station.stop_transaction(transaction_id, meter_stop=13_000, id_tag="BADGE-ALICE")
    await hass.async_block_till_done()
    assert _kwh(hass, "session_energy") == pytest.approx(3.0)


async def test_zero_writes_every_reading_and_the_option_applies_live(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """The options form's 0 (every reading), applied without a reload or a reconnect;
    a reading held back for the end of the old interval is written at once."""
    station, transaction_id = await _charging(hass, client)
    await station.meter_values(1, sampled(11_500, (16, 16, 16)), transaction_id=transaction_id)
    await hass.async_block_till_done()
    assert _kwh(hass, "energy") == pytest.approx(11.0)  # held for 30 s
    result = await _submit_options(hass, loaded_entry, 0)
    assert result["type"] == "create_entry"
    assert loaded_entry.options[CONF_SENSOR_INTERVAL] == 0
    await hass.async_block_till_done()
    assert client.station is station  # not reconnected
    assert _kwh(hass, "energy") == pytest.approx(11.5)

    for energy in (12_000, 13_000, 14_000):
        await station.meter_values(1, sampled(energy, (16, 16, 16)), transaction_id=transaction_id)
        await hass.async_block_till_done()
        assert _kwh(hass, "energy") == pytest.approx(energy / 1000)


async def test_the_interval_out_of_range_is_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A negative interval gets the form's range error, nothing stored."""
    result = await _submit_options(hass, loaded_entry, -1)
    assert result["type"] == "form"
    assert result["errors"] == {CONF_SENSOR_INTERVAL: "out_of_range"}
    assert CONF_SENSOR_INTERVAL not in loaded_entry.options
