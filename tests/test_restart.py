"""Sessions survive a reload of the entry and a new Home Assistant on the same storage."""

from __future__ import annotations

from typing import Any

from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from homeassistant import loader
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from simulator.station import StationClient

from .conftest import STATION_ID, ws_url
from .helpers import copy_entry, is_open, open_session, state_of, wait_until
from .test_session import sampled

SUB = f"sub_{STATION_ID}"


async def test_reload_mid_session(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """The StopTransaction after a reload closes the session with the right energy."""
    client = StationClient(ws_url(loaded_entry), STATION_ID)
    station = await client.connect()
    await station.boot()
    started = await station.start_transaction(1, "BADGE-ALICE", meter_start=5_000)
    tid = started.transaction_id
    await station.meter_values(1, sampled(6_000, (16, 16, 16)), transaction_id=tid)
    await client.close()

    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    sessions = loaded_entry.runtime_data.sessions
    assert is_open(sessions, tid)
    assert open_session(sessions, tid).last_meter == 6_000
    # The session is still shown after the reload.
    assert float(state_of(hass, "sensor", f"{SUB}_session_energy")) == 1.0

    client = StationClient(ws_url(loaded_entry), STATION_ID)
    station = await client.connect()
    # The station does not boot again; it only resends its queued stop.
    stopped = await station.stop_transaction(tid, meter_stop=7_500, id_tag="BADGE-ALICE")
    assert stopped.id_tag_info["status"] == "Accepted"
    assert not is_open(sessions, tid)
    assert sessions.closed[-1].energy_wh == 2_500
    # Ids continue after the reload.
    again = await station.start_transaction(1, "BADGE-ALICE", meter_start=7_500)
    assert again.transaction_id == tid + 1
    await client.close()


async def test_new_home_assistant_same_storage(
    hass: HomeAssistant, config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """A session opened before Home Assistant stops is closed by the stop after it restarts."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    client = StationClient(ws_url(config_entry), STATION_ID)
    station = await client.connect()
    await station.boot()
    started = await station.start_transaction(1, "BADGE-ALICE", meter_start=40_000)
    tid = started.transaction_id
    await station.meter_values(1, sampled(41_000, (10, 10, 10)), transaction_id=tid)
    await client.close()
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    key = f"charge_zones.{config_entry.entry_id}.sessions"
    assert hass_storage[key]["data"]["last_transaction_id"] == tid

    async with async_test_home_assistant() as hass2:
        hass2.data.pop(loader.DATA_CUSTOM_COMPONENTS)
        entry2 = copy_entry(config_entry)
        entry2.add_to_hass(hass2)
        assert await hass2.config_entries.async_setup(entry2.entry_id)
        await hass2.async_block_till_done()
        sessions = entry2.runtime_data.sessions
        assert is_open(sessions, tid)
        client = StationClient(ws_url(entry2), STATION_ID)
        station = await client.connect()
        await wait_until(hass2, lambda: entry2.runtime_data.station_by_id(STATION_ID).connected)  # type: ignore[union-attr]
        await station.stop_transaction(tid, meter_stop=43_210, id_tag="BADGE-ALICE")
        assert sessions.closed[-1].transaction_id == str(tid)
        assert sessions.closed[-1].energy_wh == 3_210
        # The same stop resent after a reconnect does not count twice.
        await station.stop_transaction(tid, meter_stop=43_210, id_tag="BADGE-ALICE")
        assert [s.transaction_id for s in sessions.closed] == [str(tid)]
        nxt = await station.start_transaction(1, "BADGE-ALICE", meter_start=43_210)
        assert nxt.transaction_id == tid + 1
        await client.close()
        assert await hass2.config_entries.async_unload(entry2.entry_id)
        await hass2.async_block_till_done()
        await hass2.async_stop(force=True)
