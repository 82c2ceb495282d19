"""The configuration after a boot: nothing sent that the station already holds, no
warning for a station that behaves."""

from __future__ import annotations

import logging

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.core import HomeAssistant
from simulator.station import SimState, SimulatedStation, StationClient

from .conftest import STATION_ID, ws_url
from .helpers import wait_until

# What a central system may ask a station that holds everything already: reads only.
READS = {"GetConfiguration", "GetLocalListVersion", "GetCompositeSchedule"}


async def boot_until_configured(
    hass: HomeAssistant, entry: MockConfigEntry, state: SimState
) -> tuple[StationClient, SimulatedStation]:
    """Connect the station (keeping what it holds), boot it, wait for its configuration."""
    client = StationClient(ws_url(entry), STATION_ID, state=state)
    station = await client.connect()
    await station.boot()
    runtime = entry.runtime_data.station_by_id(STATION_ID)
    assert runtime is not None
    await wait_until(
        hass,
        lambda: (
            runtime.ready
            and runtime.limit_sent is not None
            and not runtime._configure_lock.locked()
        ),
    )
    return client, station


def commands(station: SimulatedStation) -> list[str]:
    return [action for action, _payload in station.received]


async def test_second_boot_sends_nothing_the_station_holds(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A station that boots again holding its intervals, its badge list and its limit is
    only read (configuration keys, list version, composite schedule), never written."""
    state = SimState()
    client, station = await boot_until_configured(hass, loaded_entry, state)
    first = commands(station)
    assert {"ChangeConfiguration", "SendLocalList", "SetChargingProfile"} <= set(first)
    await client.close()

    client, station = await boot_until_configured(hass, loaded_entry, state)
    assert set(commands(station)) <= READS, commands(station)
    runtime = loaded_entry.runtime_data.station_by_id(STATION_ID)
    assert runtime is not None
    assert runtime.limit_sent == 16.0
    await client.close()


@pytest.mark.parametrize("lost", ["profile", "other limit"])
async def test_limit_sent_again_when_the_station_does_not_hold_it(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, lost: str
) -> None:
    """A station that lost its profile (a reboot that wiped it) or holds another limit
    gets its limit again."""
    state = SimState()
    client, _station = await boot_until_configured(hass, loaded_entry, state)
    await client.close()
    if lost == "profile":
        state.profiles.clear()
    else:
        for profile in state.profiles.values():
            profile["charging_schedule"]["charging_schedule_period"][0]["limit"] = 32.0
    client, station = await boot_until_configured(hass, loaded_entry, state)
    sent = [p for action, p in station.received if action == "SetChargingProfile"]
    assert len(sent) == 1
    limit = sent[0]["cs_charging_profiles"]["charging_schedule"]["charging_schedule_period"]
    assert limit[0]["limit"] == 16.0
    await client.close()


async def test_boots_of_a_well_behaved_station_log_no_warning(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """First boot and boots after: nothing at WARNING or above from the integration (Home
    Assistant would call it "logging too frequently" with hundreds of stations)."""
    caplog.set_level(logging.DEBUG)
    state = SimState()
    for _ in range(3):
        client, _station = await boot_until_configured(hass, loaded_entry, state)
        await client.close()
    loud = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("custom_components.charge_zones")
    ]
    assert loud == []
