"""Pausing a zone: its *Maximum current* number set to 0 changes the live limit only.

A real Modbus TCP meter (pymodbus' server), real OCPP stations over websockets, Home
Assistant in between. The fail-safe current is a setting of its own: pausing a zone
never rewrites it, the stations keep it as their fail-safe profile (TxDefaultProfile
id 4, stack level 0, for when Home Assistant is down), while the live limit (id 1) is
0 A, in fail-safe too.
"""

from __future__ import annotations

from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from simulator.meter import SimulatedMeter
from simulator.station import SimulatedStation

from .conftest import DEFAULT_BADGES, quick_hub_entry
from .helpers import entity_id, state_of, wait_until
from .test_dlm import ZONE, charging, connection, managed, meter, zone
from .test_zone_flows import fields, reconfigure, submit, suggested

BUILDING = "building"
LIVE = 1  # the live limit's profile id
FAILSAFE = 4  # the fail-safe profile's id (stack level 0)


@pytest.fixture
def subentries(request: pytest.FixtureRequest, sim_meter: SimulatedMeter) -> list[dict[str, Any]]:
    """A 32 A zone behind a 40 A commons meter; "nested": the zone under a building zone
    that holds the meter. Stale after 2 s, the least the zone's form takes."""
    bus = [connection(sim_meter.port)]
    if getattr(request, "param", "default") == "nested":
        zones = [
            zone(BUILDING, max_current=100),
            zone(ZONE, max_current=32, dlm_meters=(), parent=BUILDING),
        ]
    else:
        zones = [zone()]
    for sub in zones:
        sub["data"]["stale_after"] = 2.0
    return [*bus, meter(), *zones, managed("CP-A"), *DEFAULT_BADGES]


@pytest.fixture
def config_entry(port: int, subentries: list[dict[str, Any]]) -> MockConfigEntry:
    return quick_hub_entry(port, subentries)


def held(station: SimulatedStation, profile_id: int) -> float | None:
    """The limit of the profile with this id the station holds."""
    profile = station.state.profiles.get(profile_id)
    if profile is None:
        return None
    return float(profile["charging_schedule"]["charging_schedule_period"][0]["limit"])


def sent(station: SimulatedStation, profile_id: int, since: int = 0) -> list[float]:
    """The limits of the profiles with this id the station was sent."""
    return [
        float(
            p["cs_charging_profiles"]["charging_schedule"]["charging_schedule_period"][0]["limit"]
        )
        for action, p in station.received[since:]
        if action == "SetChargingProfile"
        and p["cs_charging_profiles"]["charging_profile_id"] == profile_id
    ]


async def set_zone_max(hass: HomeAssistant, zone_key: str, value: float) -> None:
    """Set a zone's *Maximum current* number as an automation does."""
    await hass.services.async_call(
        "number",
        "set_value",
        {ATTR_ENTITY_ID: entity_id(hass, "number", f"{zone_key}_zone_max_current"), "value": value},
        blocking=True,
    )


def allocated(hass: HomeAssistant) -> tuple[str, str]:
    """The station's *Allocated current* and its reason."""
    state = hass.states.get(entity_id(hass, "sensor", "sub_CP-A_allocated_current"))
    assert state is not None
    return state.state, state.attributes["reason"]


async def cycles(hass: HomeAssistant, entry: MockConfigEntry, count: int) -> None:
    """Let the DLM service run `count` more cycles."""
    load = entry.runtime_data.load
    until = load.cycles + count
    await wait_until(hass, lambda: load.cycles >= until)


async def test_pausing_a_zone_keeps_its_failsafe_current(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Max 0: the live limit is 0 A, the fail-safe current (6 A) is untouched, in the zone
    and on the station; back to 32 A: the station charges again, fail-safe still 6 A."""
    client, a = await charging(loaded_entry, "CP-A")
    await wait_until(hass, lambda: held(a, LIVE) == 16.0 and held(a, FAILSAFE) == 6.0)

    await set_zone_max(hass, ZONE, 0)
    assert loaded_entry.subentries[ZONE].data["max_current"] == 0.0
    assert loaded_entry.subentries[ZONE].data["failsafe_current"] == 6.0
    await wait_until(hass, lambda: held(a, LIVE) == 0.0)
    await cycles(hass, loaded_entry, 2)
    assert held(a, FAILSAFE) == 6.0
    assert sent(a, FAILSAFE) == [6.0]
    # Shown as a pause: the number, the station's reason, the zone's counts.
    assert state_of(hass, "number", f"{ZONE}_zone_max_current") == "0.0"
    assert allocated(hass) == ("0.0", "paused")
    assert state_of(hass, "sensor", f"{ZONE}_paused_sessions") == "1"
    assert state_of(hass, "sensor", f"{ZONE}_active_sessions") == "0"
    assert state_of(hass, "binary_sensor", f"{ZONE}_failsafe") == "off"

    await set_zone_max(hass, ZONE, 32)
    assert loaded_entry.subentries[ZONE].data["max_current"] == 32.0
    assert loaded_entry.subentries[ZONE].data["failsafe_current"] == 6.0
    await wait_until(hass, lambda: held(a, LIVE) == 16.0)
    assert allocated(hass)[0] == "16.0"
    assert held(a, FAILSAFE) == 6.0
    assert sent(a, FAILSAFE) == [6.0]
    await client.close()


async def test_paused_zone_saves_its_form_untouched(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The zone's form, opened on a paused zone and saved as shown, saves (max 0 A,
    fail-safe 6 A); the zone stays paused."""
    client, a = await charging(loaded_entry, "CP-A")
    await wait_until(hass, lambda: held(a, LIVE) == 16.0)
    await set_zone_max(hass, ZONE, 0)
    await wait_until(hass, lambda: held(a, LIVE) == 0.0)

    result = await reconfigure(hass, loaded_entry, ZONE)
    shown = {key: suggested(result, key) for key in fields(result)}
    assert shown["max_current"] == 0.0
    assert shown["failsafe_current"] == 6.0
    result = await submit(hass, result, {k: v for k, v in shown.items() if v is not None})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert loaded_entry.subentries[ZONE].data["max_current"] == 0.0
    assert loaded_entry.subentries[ZONE].data["failsafe_current"] == 6.0
    await cycles(hass, loaded_entry, 2)
    assert held(a, LIVE) == 0.0
    assert held(a, FAILSAFE) == 6.0
    await client.close()


@pytest.mark.parametrize(
    ("subentries", "paused"), [("default", ZONE), ("nested", BUILDING)], indirect=["subentries"]
)
async def test_paused_zone_in_failsafe_gets_no_current(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim_meter: SimulatedMeter, paused: str
) -> None:
    """Paused (the zone or the zone it is in), then the meter falls silent: the live limit
    stays 0 A (the lesser of the fail-safe current and the maximum), the fail-safe
    profile stays 6 A; unpaused during the fail-safe: 6 A."""
    client, a = await charging(loaded_entry, "CP-A")
    await wait_until(hass, lambda: held(a, LIVE) == 16.0 and held(a, FAILSAFE) == 6.0)
    await set_zone_max(hass, paused, 0)
    await wait_until(hass, lambda: held(a, LIVE) == 0.0)
    since = len(a.received)

    sim_meter.silent = True
    await wait_until(hass, lambda: state_of(hass, "binary_sensor", f"{ZONE}_failsafe") == "on")
    await cycles(hass, loaded_entry, 2)
    assert held(a, LIVE) == 0.0
    assert all(value == 0.0 for value in sent(a, LIVE, since))
    assert held(a, FAILSAFE) == 6.0
    assert allocated(hass)[0] == "0.0"
    assert state_of(hass, "sensor", f"{ZONE}_paused_sessions") == "1"
    assert loaded_entry.subentries[paused].data["failsafe_current"] == 6.0

    # A maximum below what a car can be signalled gives no current either.
    await set_zone_max(hass, paused, 4)
    await cycles(hass, loaded_entry, 2)
    assert held(a, LIVE) == 0.0
    assert all(value == 0.0 for value in sent(a, LIVE, since))

    # Unpaused while in fail-safe: the fail-safe current.
    await set_zone_max(hass, paused, 32 if paused == ZONE else 100)
    await wait_until(hass, lambda: held(a, LIVE) == 6.0)
    assert allocated(hass) == ("6.0", "failsafe")

    sim_meter.silent = False
    await wait_until(hass, lambda: held(a, LIVE) == 16.0)
    assert sent(a, FAILSAFE) == [6.0]
    await client.close()
