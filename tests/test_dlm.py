"""Load management end to end: a real Modbus TCP meter (pymodbus' server), real OCPP
stations over websockets, Home Assistant in between."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.charge_zones.const import DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from simulator.meter import SimulatedMeter
from simulator.station import SimulatedStation, StationBehaviour, StationClient

from .conftest import DEFAULT_BADGES, quick_hub_entry, station_subentry, ws_url
from .helpers import entity_id, state_of, wait_until

CONNECTION = "conn1"
METER = "meter1"
ZONE = "zone1"


def connection(port: int) -> dict[str, Any]:
    return {
        "data": {"name": "Bus", "kind": "tcp", "host": "127.0.0.1", "port": port, "timeout": 0.3},
        "subentry_id": CONNECTION,
        "subentry_type": "connection",
        "title": "Bus",
        "unique_id": f"connection tcp 127.0.0.1:{port}",
    }


def meter(amperage: float = 40.0) -> dict[str, Any]:
    return {
        "data": {
            "name": "Commons",
            "connection": CONNECTION,
            "unit": 1,
            "meter_model": "sdm630",
            "amperage": amperage,
            "poll_interval": 0.2,
        },
        "subentry_id": METER,
        "subentry_type": "meter",
        "title": "Commons",
        "unique_id": f"meter {CONNECTION} 1",
    }


def zone(
    key: str = ZONE,
    max_current: float = 32.0,
    dlm_meters: tuple[str, ...] = (METER,),
    parent: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": key.capitalize(),
        "max_current": max_current,
        "zone_phases": "l1-l2-l3",
        "dlm_meters": list(dlm_meters),
        "failsafe_current": 6.0,
        "stale_after": 1.0,
    }
    if parent:
        data["parent_zone"] = parent
    return {
        "data": data,
        "subentry_id": key,
        "subentry_type": "zone",
        "title": key.capitalize(),
        "unique_id": f"zone {key}",
    }


def managed(station_id: str, zone_key: str = ZONE, **kw: Any) -> dict[str, Any]:
    sub = station_subentry(station_id, **kw)
    sub["data"]["zone"] = zone_key
    return sub


@pytest.fixture
def subentries(request: pytest.FixtureRequest, sim_meter: SimulatedMeter) -> list[dict[str, Any]]:
    """The building: by default one 32 A zone behind a 40 A commons meter."""
    layout = getattr(request, "param", "default")
    bus = [connection(sim_meter.port)]
    if layout == "short":
        return [
            *bus,
            meter(amperage=100),
            zone(max_current=16),
            managed("CP-A"),
            managed("CP-B"),
            managed("CP-C"),
            *DEFAULT_BADGES,
        ]
    if layout == "priority":
        vip = managed("CP-C")
        vip["data"]["priority"] = 5
        return [
            *bus,
            meter(amperage=100),
            zone(max_current=13),
            managed("CP-A"),
            managed("CP-B"),
            vip,
            *DEFAULT_BADGES,
        ]
    if layout == "nested":
        return [
            *bus,
            meter(),
            zone("building", max_current=100),
            zone(ZONE, max_current=32, dlm_meters=(), parent="building"),
            managed("CP-A"),
            managed("CP-B"),
            *DEFAULT_BADGES,
        ]
    return [
        *bus,
        meter(),
        zone(),
        managed("CP-A"),
        managed("CP-B"),
        managed("CP-L2", phases="l2", max_current=32),
        *DEFAULT_BADGES,
    ]


@pytest.fixture
def config_entry(port: int, subentries: list[dict[str, Any]]) -> MockConfigEntry:
    return quick_hub_entry(port, subentries)


def limit_of(station: SimulatedStation) -> float | None:
    """The limit of the profile the station holds (TxDefaultProfile id 1)."""
    profile = station.state.profiles.get(1) or station.state.profiles.get(2)
    if profile is None:
        return None
    return float(profile["charging_schedule"]["charging_schedule_period"][0]["limit"])


async def charging(
    entry: MockConfigEntry, station_id: str, behaviour: StationBehaviour | None = None
) -> tuple[StationClient, SimulatedStation]:
    client = StationClient(ws_url(entry), station_id, behaviour)
    station = await client.connect()
    await station.boot()
    await station.start_transaction(1, "BADGE-ALICE", 0)
    await station.status(1, "Charging")
    return client, station


async def test_commons_step_lowers_the_stations(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim_meter: SimulatedMeter
) -> None:
    """40 A supply, 10 A commons: 30 A shared; commons to 25 A: 15 A shared, at once."""
    a_client, a = await charging(loaded_entry, "CP-A")
    b_client, b = await charging(loaded_entry, "CP-B")
    await wait_until(hass, lambda: limit_of(a) == 15.0 and limit_of(b) == 15.0)
    assert state_of(hass, "binary_sensor", f"{loaded_entry.entry_id}_dlm_service") == "on"
    assert float(state_of(hass, "sensor", f"{ZONE}_budget_l1")) == 30.0
    assert float(state_of(hass, "sensor", f"{ZONE}_allocated_l1")) == 30.0
    assert state_of(hass, "sensor", f"{ZONE}_active_sessions") == "2"
    allocated = hass.states.get(entity_id(hass, "sensor", "sub_CP-A_allocated_current"))
    assert allocated is not None
    assert allocated.state == "15.0"
    assert allocated.attributes["reason"] == "fair_share"
    assert allocated.attributes["limited_by"] == "Zone1"

    # The cars draw nothing (the meter reads the commons only), and their stations say
    # so every second: a new session's meter rise is otherwise taken as its car
    # starting until its first reading is due (README, "How the current is shared").
    transactions = {
        hub_station.station_id: int(session.transaction_id)
        for hub_station in loaded_entry.runtime_data.stations.values()
        for session in hub_station.open_sessions()
    }

    async def report() -> None:
        while True:
            for station in (a, b):
                await station.meter_values(
                    1,
                    [
                        {"value": "0.0", "measurand": "Current.Import", "phase": f"L{n}"}
                        for n in (1, 2, 3)
                    ],
                    transaction_id=transactions[station.id],
                )
            await asyncio.sleep(1.0)

    reporter = asyncio.create_task(report())
    # Readings taken once the limits settled (timestamps in whole seconds).
    await asyncio.sleep(1.5)
    await asyncio.sleep(0.5)  # a meter poll and a cycle
    sim_meter.set_currents(25, 25, 25)
    # One poll (0.2 s) and one cycle later both are down: no hold for a cut.
    await wait_until(hass, lambda: limit_of(a) == 7.5 and limit_of(b) == 7.5, within=2.0)
    assert float(state_of(hass, "sensor", f"{ZONE}_headroom")) == pytest.approx(0, abs=0.2)

    sim_meter.set_currents(10, 10, 10)
    await wait_until(hass, lambda: limit_of(a) == 15.0 and limit_of(b) == 15.0, within=5.0)
    reporter.cancel()
    await a_client.close()
    await b_client.close()


async def test_meter_silent_enters_and_leaves_failsafe(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim_meter: SimulatedMeter
) -> None:
    """No reading for longer than the timeout: 6 A, an event, the guide's message."""
    events = async_capture_events(hass, "charge_zones_failsafe")
    a_client, a = await charging(loaded_entry, "CP-A")
    await wait_until(hass, lambda: limit_of(a) == 16.0)

    sim_meter.silent = True
    # (Time to see it: the 1 s timeout, then the cycle and the station's answer; a
    # loaded machine stretches the last two.)
    await wait_until(hass, lambda: limit_of(a) == 6.0, within=15.0)
    assert state_of(hass, "binary_sensor", f"{ZONE}_failsafe") == "on"
    # Unreachable once a read has failed (its timeout and retry): the zone's fail-safe,
    # from the reading's age, may come first.
    await wait_until(
        hass, lambda: state_of(hass, "binary_sensor", f"{METER}_reachable") == "off", within=15.0
    )
    # The budget is unknown in fail-safe; what is allocated is still known.
    assert state_of(hass, "sensor", f"{ZONE}_budget_l1") == "unavailable"
    assert state_of(hass, "sensor", f"{ZONE}_headroom") == "unavailable"
    assert state_of(hass, "sensor", f"{ZONE}_allocated_l1") == "6.0"
    assert events[-1].data["state"] == "entered"
    assert events[-1].data["zone"] == "Zone1"
    assert events[-1].data["meter"] == "Commons"
    assert events[-1].data["reason"] == "stale"
    assert events[-1].data["age"] >= 1.0
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"failsafe_{loaded_entry.entry_id}_{ZONE}")
    assert issue is not None
    assert issue.translation_key == "dlm_meters_unread"
    assert issue.translation_placeholders == {
        "zone": "Zone1",
        "meter": "Commons",
        "seconds": "1",
        "current": "6",
    }
    allocated = hass.states.get(entity_id(hass, "sensor", "sub_CP-A_allocated_current"))
    assert allocated is not None
    assert allocated.attributes["reason"] == "failsafe"

    sim_meter.silent = False
    await wait_until(hass, lambda: limit_of(a) == 16.0, within=15.0)
    assert state_of(hass, "binary_sensor", f"{ZONE}_failsafe") == "off"
    assert events[-1].data["state"] == "left"
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"failsafe_{loaded_entry.entry_id}_{ZONE}")
        is None
    )
    await a_client.close()


async def test_single_phase_on_l2_keeps_charging_when_l1_is_full(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim_meter: SimulatedMeter
) -> None:
    sim_meter.set_currents(38, 10, 10)
    # Read before the sessions start: a rise with a new session's first reading still
    # due is taken as its car starting (README, "How the current is shared").
    load = loaded_entry.runtime_data.load
    await wait_until(
        hass, lambda: ZONE in load.zone_states and load.zone_states[ZONE].budget[0] == 2.0
    )
    a_client, a = await charging(loaded_entry, "CP-A")
    l2_client, l2 = await charging(loaded_entry, "CP-L2")
    await wait_until(hass, lambda: limit_of(l2) == 30.0 and limit_of(a) == 0.0)
    allocated = hass.states.get(entity_id(hass, "sensor", "sub_CP-A_allocated_current"))
    assert allocated is not None
    assert allocated.attributes["reason"] == "paused"
    assert state_of(hass, "sensor", f"{ZONE}_paused_sessions") == "1"
    await a_client.close()
    await l2_client.close()


@pytest.mark.parametrize("subentries", ["short"], indirect=True)
async def test_pause_and_rotation_when_short(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """16 A for three sessions: two charge, one waits; nobody is cut below 6 A."""
    clients = []
    stations = []
    for station_id in ("CP-A", "CP-B", "CP-C"):
        client, station = await charging(loaded_entry, station_id)
        clients.append(client)
        stations.append(station)
    site = loaded_entry.runtime_data
    # Every station holds a limit (the paused one 0 A), not merely "no profile yet".
    await wait_until(
        hass,
        lambda: (
            sorted(-1.0 if limit_of(s) is None else limit_of(s) for s in stations)
            == [0.0, 8.0, 8.0]
        ),
        within=10.0,
    )
    assert site.load.zone_states[ZONE].paused == 1
    for client in clients:
        await client.close()


async def test_rejected_profile_is_handled(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A station refusing every profile is tried with each fallback, then flagged."""
    client, station = await charging(loaded_entry, "CP-A", StationBehaviour(reject_profiles=True))
    runtime = loaded_entry.runtime_data.station_by_id("CP-A")
    assert runtime is not None
    await wait_until(hass, lambda: runtime.profile_error is not None, within=5.0)
    sent = [p for action, p in station.received if action == "SetChargingProfile"]
    purposes = [
        (
            p["cs_charging_profiles"]["charging_profile_id"],
            p["cs_charging_profiles"]["charging_profile_purpose"],
            p["cs_charging_profiles"]["stack_level"],
        )
        for p in sent[:4]
    ]
    # First the fail-safe profile (rejected: nothing will expire), then the limit.
    assert purposes == [
        (4, "TxDefaultProfile", 0),
        (1, "TxDefaultProfile", 2),
        (1, "TxDefaultProfile", 0),
        (2, "ChargePointMaxProfile", 0),
    ]
    assert all("valid_to" not in p["cs_charging_profiles"] for p in sent)
    assert runtime.fallback == "none"
    # It ignores limits: counted at its maximum, the others share what is left.
    b_client, b = await charging(loaded_entry, "CP-B")
    await wait_until(hass, lambda: limit_of(b) == 14.0)
    await client.close()
    await b_client.close()


@pytest.mark.parametrize("subentries", ["nested"], indirect=True)
async def test_nested_zone_follows_the_meter_of_its_parent(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim_meter: SimulatedMeter
) -> None:
    """Parking (32 A) inside the building whose 40 A supply the commons meter watches."""
    a_client, a = await charging(loaded_entry, "CP-A")
    b_client, b = await charging(loaded_entry, "CP-B")
    await wait_until(hass, lambda: limit_of(a) == 15.0 and limit_of(b) == 15.0)
    sim_meter.set_currents(30, 30, 30)
    # 10 A left: one session at 10 A, the other waits (never two at 5 A).
    await wait_until(hass, lambda: sorted([limit_of(a) or 0, limit_of(b) or 0]) == [0.0, 10.0])
    assert float(state_of(hass, "sensor", f"{ZONE}_budget_l2")) == 10.0
    await a_client.close()
    await b_client.close()


async def test_diagnostics_and_read_meter_action(
    hass: HomeAssistant,
    hass_client: Any,
    loaded_entry: MockConfigEntry,
    sim_meter: SimulatedMeter,
) -> None:
    """Diagnostics show the load management; the action reads a meter by its address."""
    from pytest_homeassistant_custom_component.components.diagnostics import (
        get_diagnostics_for_config_entry,
    )

    await wait_until(
        hass, lambda: loaded_entry.runtime_data.load.pollers[METER].last_good is not None
    )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    load = diagnostics["load_management"]
    assert load["running"] is True
    assert load["meters"][METER]["model"] == "Eastron SDM630"
    assert load["meters"][METER]["last_reading"]["current"] == [10.0, 10.0, 10.0]
    assert load["zones"][ZONE]["spec"]["dlm_meters"] == [METER]

    response = await hass.services.async_call(
        DOMAIN,
        "read_meter",
        {
            "config_entry_id": loaded_entry.entry_id,
            "connection": "Bus",
            "unit": 1,
            "model": "sdm630",
        },
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["current"] == [10.0, 10.0, 10.0]
    assert response["voltage"] == [230.0, 230.0, 230.0]
    assert response["model"] == "Eastron SDM630"

    from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "read_meter",
            {
                "config_entry_id": loaded_entry.entry_id,
                "connection": CONNECTION,
                "unit": 7,
                "model": "sdm630",
            },
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "meter_read_failed"
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN,
            "read_meter",
            {
                "config_entry_id": loaded_entry.entry_id,
                "connection": "nope",
                "unit": 1,
                "model": "sdm630",
            },
            blocking=True,
            return_response=True,
        )
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN,
            "read_meter",
            {"config_entry_id": "missing", "connection": "Bus", "unit": 1, "model": "sdm630"},
            blocking=True,
            return_response=True,
        )


async def test_restart_dlm_service_button(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The hub's restart button restarts the service; the indicator comes back on."""
    site = loaded_entry.runtime_data
    await wait_until(hass, lambda: site.load.running)
    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": entity_id(hass, "button", f"{loaded_entry.entry_id}_restart_dlm_service")},
        blocking=True,
    )
    await wait_until(hass, lambda: site.load.running and site.load.pollers[METER].reads > 0)
    assert state_of(hass, "binary_sensor", f"{loaded_entry.entry_id}_dlm_service") == "on"


@pytest.mark.parametrize("subentries", ["priority"], indirect=True)
async def test_priority_charges_first_when_short(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """13 A for three: the priority station always keeps its place."""
    clients, stations = [], []
    for station_id in ("CP-C", "CP-A", "CP-B"):
        client, station = await charging(loaded_entry, station_id)
        clients.append(client)
        stations.append(station)
    # A waiting session starts only with its minimum plus the 1 A restart margin free:
    # 13 A is 6 A for the priority station, and 7 A for one more.
    await wait_until(
        hass, lambda: sorted(limit_of(s) or 0 for s in stations) == [0.0, 6.5, 6.5], within=5.0
    )
    assert limit_of(stations[0]) == 6.5
    for client in clients:
        await client.close()


async def test_station_leaving_the_zone_gets_its_maximum_back(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim_meter: SimulatedMeter
) -> None:
    sim_meter.set_currents(25, 25, 25)
    a_client, a = await charging(loaded_entry, "CP-A")
    await wait_until(hass, lambda: limit_of(a) == 15.0)
    subentry = loaded_entry.subentries["sub_CP-A"]
    data = {k: v for k, v in subentry.data.items() if k != "zone"}
    hass.config_entries.async_update_subentry(loaded_entry, subentry, data=data)
    await wait_until(hass, lambda: limit_of(a) == 16.0)
    await a_client.close()
