"""Stations keep a safe limit when Home Assistant is down.

Real simulated stations (with a car) over websockets, Home Assistant in between: a
load-managed station holds a fail-safe profile at stack level 0 and an expiring live
limit above it; the simulated station honours validTo on a clock the tests advance.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones.central.models import (
    MODELS,
    FallbackKeys,
    ModelQuirks,
    live_stack_level,
)
from custom_components.charge_zones.stations import Station
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from simulator.charger import Car, SimulatedCharger
from simulator.station import StationBehaviour

from .conftest import DEFAULT_BADGES, quick_hub_entry, station_subentry, ws_url
from .helpers import entity_id, wait_until
from .test_faults import restarted

ZONE = "zone_fb"
OTHER_ZONE = "zone_other"
STATION = "CP-FB"
VALIDITY = 600.0  # the default


def zone(key: str = ZONE, max_current: float = 10.0, failsafe: float = 6.0) -> dict[str, Any]:
    """A zone without DLM meters: its budget is its maximum, it never enters fail-safe."""
    return {
        "data": {
            "name": key,
            "max_current": max_current,
            "zone_phases": "l1-l2-l3",
            "dlm_meters": [],
            "failsafe_current": failsafe,
            "stale_after": 10.0,
        },
        "subentry_id": key,
        "subentry_type": "zone",
        "title": key,
        "unique_id": f"zone {key}",
    }


@pytest.fixture
def model() -> str:
    """The model of the managed station (override with parametrize)."""
    return "standard"


@pytest.fixture
def behaviour() -> StationBehaviour:
    """How the simulated station answers (override with parametrize)."""
    return StationBehaviour()


@pytest.fixture
def subentries(model: str) -> list[dict[str, Any]]:
    """One 16 A station in a 10 A zone: its live limit (10 A) is below its maximum."""
    return [
        zone(),
        zone(OTHER_ZONE, max_current=32.0, failsafe=10.0),
        station_subentry(STATION, model=model, max_current=16.0, zone=ZONE),
        *DEFAULT_BADGES,
    ]


@pytest.fixture
def config_entry(port: int, subentries: list[dict[str, Any]]) -> MockConfigEntry:
    """The hub, raising limits without the usual hold."""
    return quick_hub_entry(port, subentries)


@pytest.fixture
async def charger(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, behaviour: StationBehaviour
) -> AsyncIterator[SimulatedCharger]:
    """The managed station with a car that wants 32 A, charging."""
    sim = SimulatedCharger(
        ws_url(loaded_entry), STATION, behaviour=behaviour, tick=0.05, meter_interval=0.2
    )
    await sim.start()
    assert await sim.plug(Car(max_current=32.0), "BADGE-ALICE")
    yield sim
    await sim.stop()


def runtime(entry: MockConfigEntry) -> Station:
    station = entry.runtime_data.station_by_id(STATION)
    assert station is not None
    return station


def held(sim: SimulatedCharger, profile_id: int) -> dict[str, Any] | None:
    return sim.memory.profiles.get(profile_id)


def limit(profile: dict[str, Any] | None) -> float | None:
    if profile is None:
        return None
    return float(profile["charging_schedule"]["charging_schedule_period"][0]["limit"])


def valid_to(profile: dict[str, Any] | None) -> datetime | None:
    if profile is None or profile.get("valid_to") is None:
        return None
    return datetime.fromisoformat(str(profile["valid_to"]).replace("Z", "+00:00"))


def sent(sim: SimulatedCharger, profile_id: int) -> list[dict[str, Any]]:
    """The SetChargingProfile payloads with this id on the current connection."""
    assert sim.station is not None
    return [
        p["cs_charging_profiles"]
        for action, p in sim.station.received
        if action == "SetChargingProfile"
        and p["cs_charging_profiles"]["charging_profile_id"] == profile_id
    ]


async def live_in_force(hass: HomeAssistant, sim: SimulatedCharger, value: float) -> None:
    await wait_until(
        hass,
        lambda: limit(held(sim, 1)) == value and sim.state.current == value,
        within=5.0,
    )


async def test_layered_profiles_and_the_car_draws_the_live_limit(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, charger: SimulatedCharger
) -> None:
    """Fail-safe 6 A at level 0 without validTo; 10 A above it, valid for the validity."""
    await live_in_force(hass, charger, 10.0)
    failsafe = held(charger, 4)
    assert failsafe is not None
    assert charger.memory.profile_connector[4] == 0
    assert failsafe["charging_profile_purpose"] == "TxDefaultProfile"
    assert failsafe["stack_level"] == 0
    assert limit(failsafe) == 6.0
    assert "valid_to" not in failsafe

    live = held(charger, 1)
    assert live is not None
    assert charger.memory.profile_connector[1] == 0
    assert live["charging_profile_purpose"] == "TxDefaultProfile"
    assert live["stack_level"] == 2  # the station reports 3: the model's level
    expires = valid_to(live)
    assert expires is not None
    now = charger.now()
    assert now + timedelta(seconds=VALIDITY - 60) < expires <= now + timedelta(seconds=VALIDITY)
    # The fail-safe went out first, so the live limit always has it underneath.
    assert charger.station is not None
    ids = [
        p["cs_charging_profiles"]["charging_profile_id"]
        for action, p in charger.station.received
        if action == "SetChargingProfile"
    ]
    assert ids[:2] == [4, 1]

    station = runtime(loaded_entry)
    assert station.fallback == "profile"
    assert station.failsafe_limit == 6.0
    assert station.live_valid_to == expires


async def test_home_assistant_gone_station_falls_back_to_failsafe(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, charger: SimulatedCharger
) -> None:
    """Unloaded, and the live limit's validity passes: 6 A, never the maximum, never 0."""
    await live_in_force(hass, charger, 10.0)
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    since = len(charger.state.history)
    await wait_until(hass, lambda: not charger.connected.is_set())
    # Within the validity nothing changes.
    charger.advance(VALIDITY - 60)
    await asyncio.sleep(0.2)
    assert charger.state.current == 10.0
    charger.advance(61)
    await wait_until(hass, lambda: charger.state.current == 6.0)
    await asyncio.sleep(0.2)
    assert charger.limit() == 6.0
    drawn = {current for _t, current in charger.state.history[since:]}
    assert drawn <= {10.0, 6.0}
    assert charger.state.transaction_id is not None  # still charging, at 6 A


async def test_live_limit_refreshed_before_it_expires(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, charger: SimulatedCharger
) -> None:
    """The same limit goes out again after a third of the validity, with a later validTo."""
    load = loaded_entry.runtime_data.load
    load.control = replace(load.control, validity=3.0)
    # The first limit may have gone out with the default validity: wait for a short one.
    await wait_until(
        hass,
        lambda: (
            (v := valid_to(held(charger, 1))) is not None
            and v <= charger.now() + timedelta(seconds=3)
        ),
        within=5.0,
    )
    first = valid_to(held(charger, 1))
    assert first is not None
    count = len(sent(charger, 1))
    since = len(charger.state.history)
    await wait_until(
        hass, lambda: (v := valid_to(held(charger, 1))) is not None and v > first, within=5.0
    )
    refreshed = sent(charger, 1)[count:]
    assert refreshed
    assert all(limit(p) == 10.0 for p in refreshed)
    # Past the first validTo the live limit is still in force: it never lapsed.
    await wait_until(hass, lambda: charger.now() > first, within=5.0)
    await asyncio.sleep(0.2)
    assert charger.limit() == 10.0
    assert {current for _t, current in charger.state.history[since:]} == {10.0}
    # Only the live limit is refreshed: the fail-safe went out once.
    assert len(sent(charger, 4)) == 1


@pytest.mark.parametrize("model", ["abb_terra"])
@pytest.mark.parametrize(
    "behaviour", [StationBehaviour(max_stack_level=1, reject_stack_level_at_max=True)]
)
async def test_station_rejecting_stack_level_one_keeps_a_limit_that_never_expires(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, charger: SimulatedCharger
) -> None:
    """No room above the fail-safe: one profile at level 0, no validTo, fallback "none"."""
    await live_in_force(hass, charger, 10.0)
    station = runtime(loaded_entry)
    await wait_until(hass, lambda: station.fallback == "none")
    live = held(charger, 1)
    assert live is not None
    assert live["stack_level"] == 0
    assert "valid_to" not in live
    # The fail-safe profile (accepted first) is gone: it would replace or cap the limit.
    assert held(charger, 4) is None
    assert station.failsafe_limit is None
    assert station.live_valid_to is None
    rejected = [p for p in sent(charger, 1) if p["stack_level"] == 1]
    assert rejected
    assert all("valid_to" in p for p in rejected)
    # Time passing does not take the station to its maximum (nor to the fail-safe).
    charger.advance(VALIDITY * 2)
    await asyncio.sleep(0.2)
    assert charger.limit() == 10.0
    # It stays so: the next limits go out the same way, without trying level 1 again.
    tries = len(sent(charger, 1))
    subentry = loaded_entry.subentries[ZONE]
    hass.config_entries.async_update_subentry(
        loaded_entry, subentry, data={**subentry.data, "max_current": 12.0}
    )
    await live_in_force(hass, charger, 12.0)
    assert [p["stack_level"] for p in sent(charger, 1)[tries:]] == [0]
    assert held(charger, 4) is None
    state = hass.states.get(entity_id(hass, "sensor", f"sub_{STATION}_fallback"))
    assert state is None  # disabled by default
    entry = er.async_get(hass).async_get(entity_id(hass, "sensor", f"sub_{STATION}_fallback"))
    assert entry is not None
    assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION


@pytest.mark.parametrize("behaviour", [StationBehaviour(max_stack_level=0)])
async def test_station_without_stack_levels_gets_single_profiles(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, charger: SimulatedCharger
) -> None:
    """A station reporting ChargeProfileMaxStackLevel 0 never gets the fail-safe profile."""
    await live_in_force(hass, charger, 10.0)
    station = runtime(loaded_entry)
    await wait_until(hass, lambda: station.fallback == "none")
    assert sent(charger, 4) == []
    live = held(charger, 1)
    assert live is not None
    assert live["stack_level"] == 0
    assert "valid_to" not in live


def test_live_stack_level_by_model() -> None:
    """The model's level, at least 1; none when the station has no level above 0."""
    assert live_stack_level("standard", 3) == 2
    assert live_stack_level("standard", 1) == 1
    assert live_stack_level("standard", None) == 1
    assert live_stack_level("standard", 0) is None
    assert live_stack_level("abb_terra", 3) == 1
    assert live_stack_level("abb_terra", 0) is None


@pytest.mark.parametrize("model", ["vendor_fallback"])
@pytest.mark.parametrize(
    "behaviour",
    [
        StationBehaviour(
            max_stack_level=1,
            reject_stack_level_at_max=True,
            extra_configuration={"VendorSafeCurrent": "32", "VendorSafeTimeout": "0"},
        )
    ],
)
async def test_model_with_its_own_fallback_setting(
    hass: HomeAssistant,
    monkeypatch: pytest.MonkeyPatch,
    config_entry: MockConfigEntry,
    behaviour: StationBehaviour,
) -> None:
    """A model whose quirks name fallback keys gets the zone's fail-safe current there."""
    monkeypatch.setitem(
        MODELS,
        "vendor_fallback",
        ModelQuirks(
            label="Vendor",
            stack_level=None,
            fallback_keys=FallbackKeys("VendorSafeCurrent", "VendorSafeTimeout"),
        ),
    )
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    sim = SimulatedCharger(
        ws_url(config_entry), STATION, behaviour=behaviour, tick=0.05, meter_interval=0.2
    )
    await sim.start()
    try:
        assert await sim.plug(Car(max_current=32.0), "BADGE-ALICE")
        await live_in_force(hass, sim, 10.0)
        station = runtime(config_entry)
        await wait_until(hass, lambda: station.fallback == "station_setting")
        assert sim.memory.configuration["VendorSafeCurrent"] == "6"
        assert sim.memory.configuration["VendorSafeTimeout"] == "600"
        assert station.fallback_setting == 6.0
        live = held(sim, 1)
        assert live is not None
        assert "valid_to" not in live
        # A new fail-safe current reaches the setting.
        subentry = config_entry.subentries[ZONE]
        hass.config_entries.async_update_subentry(
            config_entry, subentry, data={**subentry.data, "failsafe_current": 8.0}
        )
        await wait_until(hass, lambda: sim.memory.configuration["VendorSafeCurrent"] == "8")
    finally:
        await sim.stop()
        assert await hass.config_entries.async_unload(config_entry.entry_id)
        await hass.async_block_till_done()


@pytest.mark.parametrize("how", ["reload", "new_home_assistant"])
async def test_restart_while_a_profile_is_outstanding(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, charger: SimulatedCharger, how: str
) -> None:
    """The station holds its answer to a new live limit; Home Assistant restarts meanwhile
    (entry reload, or a new instance on the same storage).

    The new instance sends the fail-safe and the live limit again: the station ends with
    both, nothing lost.
    """
    await live_in_force(hass, charger, 10.0)
    gate = asyncio.Event()
    holding = asyncio.Event()

    def hold_next_live(action: str, payload: dict[str, Any]) -> Awaitable[None] | None:
        profile = payload.get("cs_charging_profiles") or {}
        if (
            action == "SetChargingProfile"
            and profile.get("charging_profile_id") == 1
            and not holding.is_set()
        ):
            holding.set()
            return gate.wait()
        return None

    charger.command_hook = hold_next_live
    try:
        subentry = loaded_entry.subentries[ZONE]
        hass.config_entries.async_update_subentry(
            loaded_entry, subentry, data={**subentry.data, "max_current": 12.0}
        )
        # Not wait_until: Home Assistant's own tasks include the send that is held.
        await asyncio.wait_for(holding.wait(), 5)
        first = charger.station
        assert limit(held(charger, 1)) == 10.0  # the new limit has not landed
        async with restarted(hass, loaded_entry, how) as (hass2, entry2):
            await live_in_force(hass2, charger, 12.0)
            assert charger.station is not first
            # Sent again by the new instance, on the new connection, fail-safe first.
            assert [limit(p) for p in sent(charger, 4)] == [6.0]
            assert [limit(p) for p in sent(charger, 1)] == [12.0]
            assert limit(held(charger, 4)) == 6.0
            live = held(charger, 1)
            assert valid_to(live) is not None
            await wait_until(hass2, lambda: runtime(entry2).fallback == "profile")
            # The old request never lands on top of the new one.
            gate.set()
            await asyncio.sleep(0.2)
            assert held(charger, 1) is live
    finally:
        gate.set()


async def test_failsafe_resent_when_it_changes_only(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, charger: SimulatedCharger
) -> None:
    """A new zone maximum changes the live limit only; a new fail-safe current, or another
    zone, sends the fail-safe profile again."""
    await live_in_force(hass, charger, 10.0)
    assert [limit(p) for p in sent(charger, 4)] == [6.0]

    zone_entry = loaded_entry.subentries[ZONE]
    hass.config_entries.async_update_subentry(
        loaded_entry, zone_entry, data={**zone_entry.data, "max_current": 12.0}
    )
    await live_in_force(hass, charger, 12.0)
    assert [limit(p) for p in sent(charger, 4)] == [6.0]

    zone_entry = loaded_entry.subentries[ZONE]
    hass.config_entries.async_update_subentry(
        loaded_entry, zone_entry, data={**zone_entry.data, "failsafe_current": 8.0}
    )
    await wait_until(hass, lambda: limit(held(charger, 4)) == 8.0)
    assert [limit(p) for p in sent(charger, 4)] == [6.0, 8.0]
    assert held(charger, 4)["stack_level"] == 0  # type: ignore[index]
    assert limit(held(charger, 1)) == 12.0  # the live limit stays above it

    station_entry = loaded_entry.subentries[f"sub_{STATION}"]
    hass.config_entries.async_update_subentry(
        loaded_entry, station_entry, data={**station_entry.data, "zone": OTHER_ZONE}
    )
    await wait_until(hass, lambda: limit(held(charger, 4)) == 10.0)
    await live_in_force(hass, charger, 16.0)
    assert runtime(loaded_entry).fallback == "profile"

    # Out of the zones: its maximum without expiry, and nothing left under it.
    station_entry = loaded_entry.subentries[f"sub_{STATION}"]
    data = {k: v for k, v in station_entry.data.items() if k != "zone"}
    hass.config_entries.async_update_subentry(loaded_entry, station_entry, data=data)
    await wait_until(hass, lambda: runtime(loaded_entry).fallback is None)
    assert held(charger, 4) is None
    assert valid_to(held(charger, 1)) is None
    assert limit(held(charger, 1)) == 16.0
