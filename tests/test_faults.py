"""Faults that must lose nothing: restarts, dropped stations, a sick Modbus bus, a vanishing
serial port, interrupted store writes. Real websockets, real Modbus servers, real disk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
import contextlib
import json
import os
from pathlib import Path
import tty
from typing import Any
from unittest.mock import patch

from atomicwrites import AtomicWriter
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_test_home_assistant,
)

from custom_components.charge_zones.const import DOMAIN
from custom_components.charge_zones.meters import Quantity
from homeassistant import loader
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir, storage
from simulator.meter import SimulatedMeter
from simulator.station import SimulatedStation, StationClient

from .conftest import DEFAULT_BADGES, connection_subentry, quick_hub_entry, station_subentry, ws_url
from .helpers import copy_entry, is_open, open_session, state_of, wait_until
from .test_dlm import CONNECTION, METER, ZONE, connection, limit_of, managed, meter, zone
from .test_session import sampled

# Home Assistant's own storage code, before the test harness swaps it for a dict.
REAL_STORE_LOAD = storage.Store._async_load
REAL_STORE_WRITE = storage.Store._async_write_data
REAL_STORE_REMOVE = storage.Store.async_remove

# --- helpers ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def restarted(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    how: str,
    meanwhile: Callable[[], None] | None = None,
) -> AsyncIterator[tuple[HomeAssistant, MockConfigEntry]]:
    """The hub after a reload of its entry, or in a new Home Assistant on the same storage
    (``meanwhile``: what happens while no Home Assistant runs)."""
    if how == "reload":
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        yield hass, entry
        return
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    if meanwhile is not None:
        meanwhile()
    async with async_test_home_assistant(config_dir=hass.config.config_dir) as hass2:
        hass2.data.pop(loader.DATA_CUSTOM_COMPONENTS)
        entry2 = copy_entry(entry)
        entry2.add_to_hass(hass2)
        assert await hass2.config_entries.async_setup(entry2.entry_id)
        await hass2.async_block_till_done()
        try:
            yield hass2, entry2
        finally:
            assert await hass2.config_entries.async_unload(entry2.entry_id)
            await hass2.async_block_till_done()
            await hass2.async_stop(force=True)


async def reconnect(
    entry: MockConfigEntry, station_id: str, old: SimulatedStation | None = None
) -> tuple[StationClient, SimulatedStation]:
    """The same station connecting again; it keeps what it held (profiles, lists)."""
    client = StationClient(ws_url(entry), station_id)
    station = await client.connect()
    if old is not None:
        station.state = old.state
    return client, station


def profile_limits(station: SimulatedStation) -> list[float]:
    """Record the limit of every SetChargingProfile the station receives from now on."""
    limits: list[float] = []

    def seen(action: str, payload: dict[str, Any]) -> None:
        if action == "SetChargingProfile":
            profile = payload["cs_charging_profiles"]
            limits.append(
                float(profile["charging_schedule"]["charging_schedule_period"][0]["limit"])
            )

    station.on_command = seen
    return limits


def failsafe_issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"failsafe_{entry.entry_id}_{ZONE}")


# --- a DLM zone behind a real Modbus TCP meter ------------------------------------------


def dlm_site(meter_port: int) -> list[dict[str, Any]]:
    """One 32 A zone behind a 40 A commons meter, two 16 A stations."""
    return [
        connection(meter_port),
        meter(),
        zone(),
        managed("CP-A"),
        managed("CP-B"),
        *DEFAULT_BADGES,
    ]


def dlm_entry(port: int, subentries: list[dict[str, Any]]) -> MockConfigEntry:
    return quick_hub_entry(port, subentries)


@pytest.fixture
def subentries(sim_meter: SimulatedMeter) -> list[dict[str, Any]]:
    return dlm_site(sim_meter.port)


@pytest.fixture
def config_entry(port: int, subentries: list[dict[str, Any]]) -> MockConfigEntry:
    return dlm_entry(port, subentries)


async def start_charging(
    entry: MockConfigEntry, station_id: str, meter_start: int = 0
) -> tuple[StationClient, SimulatedStation, int]:
    client = StationClient(ws_url(entry), station_id)
    station = await client.connect()
    await station.boot()
    started = await station.start_transaction(1, "BADGE-ALICE", meter_start)
    await station.status(1, "Charging")
    return client, station, int(started.transaction_id)


@pytest.mark.parametrize(
    ("how", "boots"),
    [
        ("reload", True),
        # A station that does not boot again is configured after the boot grace (5 s).
        ("new_home_assistant", False),
    ],
)
async def test_restart_during_failsafe_stays_in_failsafe(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim_meter: SimulatedMeter,
    how: str,
    boots: bool,
) -> None:
    """A restart while the meter is silent: fail-safe again at once, never 0 A nor the maximum;
    fail-safe ends when the meter answers; the open session is intact."""
    client, station, tid = await start_charging(loaded_entry, "CP-A", meter_start=1_000)
    await wait_until(hass, lambda: limit_of(station) == 16.0)
    sim_meter.silent = True
    await wait_until(hass, lambda: limit_of(station) == 6.0, within=5.0)
    assert failsafe_issue(hass, loaded_entry) is not None
    await station.meter_values(1, sampled(2_000, (6, 6, 6)), transaction_id=tid)
    # The hub goes away under the station: its socket drops.
    async with restarted(hass, loaded_entry, how) as (hass_now, entry):
        await client.close()
        events = async_capture_events(hass_now, "charge_zones_failsafe")
        client, station = await reconnect(entry, "CP-A", station)
        limits = profile_limits(station)
        if boots:
            await station.boot()
        await station.status(1, "Charging")
        site = entry.runtime_data
        assert is_open(site.sessions, tid)
        # Right after the restart nothing is sent before the meter timeout; the station
        # keeps its fail-safe 6 A. Then fail-safe is declared again, with its repair.
        await wait_until(
            hass_now,
            lambda: state_of(hass_now, "binary_sensor", f"{ZONE}_failsafe") == "on",
            within=5.0,
        )
        assert failsafe_issue(hass_now, entry) is not None
        assert [e.data["state"] for e in events] == ["entered"]
        assert limit_of(station) == 6.0
        assert set(limits) <= {6.0}
        await station.meter_values(1, sampled(2_500, (6, 6, 6)), transaction_id=tid)

        sim_meter.silent = False
        await wait_until(hass_now, lambda: limit_of(station) == 16.0, within=5.0)
        assert limits[-1] == 16.0
        assert set(limits) <= {6.0, 16.0}
        assert state_of(hass_now, "binary_sensor", f"{ZONE}_failsafe") == "off"
        assert failsafe_issue(hass_now, entry) is None
        assert [e.data["state"] for e in events] == ["entered", "left"]
        stopped = await station.stop_transaction(tid, meter_stop=3_000, id_tag="BADGE-ALICE")
        assert stopped.id_tag_info["status"] == "Accepted"
        assert [s.transaction_id for s in site.sessions.closed] == [str(tid)]
        assert site.sessions.closed[-1].energy_wh == 2_000
        await client.close()


@pytest.mark.parametrize(
    "fault",
    ["exception", "garbage", "gateway", "negative", "above_rating", "no_value", "voltage"],
)
async def test_modbus_faults_send_the_zone_to_failsafe(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim_meter: SimulatedMeter,
    fault: str,
) -> None:
    """Exception codes, garbage and impossible values from the meter (a negative current,
    more than 3 x its 40 A, a "no value" marker, 0 V): fail-safe (6 A, not 0, never more
    room), counted and shown, then back."""
    client, station, _tid = await start_charging(loaded_entry, "CP-A")
    limits = profile_limits(station)
    await wait_until(hass, lambda: limit_of(station) == 16.0)
    poller = loaded_entry.runtime_data.load.pollers[METER]
    if fault == "exception":
        sim_meter.exception_code = 4  # server device failure
    elif fault == "garbage":
        sim_meter.garbage = True
    elif fault == "negative":
        # Its power still says import: not export (tests/test_meters.py), a wrong value.
        sim_meter.set(Quantity.CURRENT_L1, -40.0)
    elif fault == "above_rating":
        sim_meter.set_currents(10.0, 500.0, 10.0)
    elif fault == "no_value":
        sim_meter.primary.set_no_value(Quantity.CURRENT_L3)
    elif fault == "voltage":
        sim_meter.set(Quantity.VOLTAGE_L1, 0.0)
    else:
        sim_meter.exception_code = 0x0B  # gateway: target device failed to respond
    await wait_until(hass, lambda: limit_of(station) == 6.0, within=5.0)
    assert state_of(hass, "binary_sensor", f"{ZONE}_failsafe") == "on"
    assert state_of(hass, "binary_sensor", f"{METER}_reachable") == "off"
    assert failsafe_issue(hass, loaded_entry) is not None
    assert poller.failures > 0
    assert poller.last_error is not None
    if fault in ("negative", "above_rating", "voltage"):
        shown = {"negative": "current_l1 = -40 A", "above_rating": "current_l2 = 500 A"}
        assert shown.get(fault, "voltage_l1 = 0 V") in poller.last_error
    sim_meter.exception_code = None
    sim_meter.garbage = False
    sim_meter.set_currents(10.0, 10.0, 10.0)
    await wait_until(hass, lambda: limit_of(station) == 16.0, within=5.0)
    assert state_of(hass, "binary_sensor", f"{ZONE}_failsafe") == "off"
    assert state_of(hass, "binary_sensor", f"{METER}_reachable") == "on"
    assert 0.0 not in limits
    await client.close()


async def test_meter_without_export_counter_keeps_the_zone_managed(
    hass: HomeAssistant,
    hass_client: Any,
    port: int,
) -> None:
    """A meter refusing its export register (exception 2): the currents still manage the
    zone (no fail-safe); diagnostics say which group is missing and why."""
    from pytest_homeassistant_custom_component.components.diagnostics import (
        get_diagnostics_for_config_entry,
    )

    async with SimulatedMeter("sdm630", unit=1) as sim:
        sim.set_currents(30.0, 30.0, 30.0)
        sim.primary.missing = {Quantity.EXPORT_ENERGY}
        entry = dlm_entry(port, dlm_site(sim.port))
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        try:
            client, station, _tid = await start_charging(entry, "CP-A")
            # 40 A supply, 30 A of other loads: 10 A for the station, not the fail-safe 6 A
            await wait_until(hass, lambda: limit_of(station) == 10.0, within=5.0)
            poller = entry.runtime_data.load.pollers[METER]
            assert poller.failures == 0
            assert state_of(hass, "binary_sensor", f"{ZONE}_failsafe") == "off"
            diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
            shown = diagnostics["load_management"]["meters"][METER]
            assert shown["blocks"]["current"] == "ok"
            assert shown["blocks"]["energy"].startswith("export_energy: not offered by the meter")
            assert shown["last_reading"]["import_wh"] == 0.0
            assert shown["last_reading"]["export_wh"] is None
            assert "export_energy" in shown["last_reading"]["unavailable"]
            await client.close()
        finally:
            assert await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()


async def test_station_drops_mid_session_and_reconnects(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The socket dies while charging; the station comes back, sends its values and its
    StopTransaction twice (the first answer was lost): one session, the right energy."""
    site = loaded_entry.runtime_data
    client, station, tid = await start_charging(loaded_entry, "CP-B", meter_start=10_000)
    await station.meter_values(1, sampled(11_000, (16, 16, 16)), transaction_id=tid)
    cp = site.station_by_id("CP-B")
    assert cp is not None
    assert client.connection is not None
    client.connection.transport.abort()  # no close frame: the line is cut
    await wait_until(hass, lambda: not cp.connected)
    await client.close()
    assert is_open(site.sessions, tid)

    client, station = await reconnect(loaded_entry, "CP-B", station)
    await wait_until(hass, lambda: cp.connected)
    await station.status(1, "Charging")
    await station.meter_values(1, sampled(12_500, (16, 16, 16)), transaction_id=tid)
    assert open_session(site.sessions, tid).energy_wh == 2_500
    for _ in range(2):
        stopped = await station.stop_transaction(
            tid,
            meter_stop=13_000,
            id_tag="BADGE-ALICE",
            timestamp="2026-11-24T10:00:00Z",
        )
        assert stopped.id_tag_info["status"] == "Accepted"
    assert not is_open(site.sessions, tid)
    assert [s.transaction_id for s in site.sessions.closed] == [str(tid)]
    assert site.sessions.closed[0].energy_wh == 3_000
    assert site.sessions.closed[0].flags == []
    nxt = await station.start_transaction(1, "BADGE-ALICE", meter_start=13_000)
    assert nxt.transaction_id == tid + 1
    await client.close()


# --- 200 stations at once --------------------------------------------------------------

FLEET = 200


async def test_200_stations_reconnect_at_once(
    hass: HomeAssistant, port: int, hass_storage: dict[str, Any]
) -> None:
    """Every station of a 200-station site drops mid-session and reconnects at the same
    moment: all connected again, every open session intact, every one closed right."""
    ids = [f"FLEET-{i:03}" for i in range(FLEET)]
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Charge Zones (port {port})",
        data={"host": "127.0.0.1", "port": port},
        options={"heartbeat_interval": 300, "meter_value_sample_interval": 10},
        subentries_data=[*(station_subentry(sid) for sid in ids), *DEFAULT_BADGES],
    )
    # Every station is charging (sessions opened before the last restart of Home Assistant).
    tids = [500 + index for index in range(FLEET)]
    hass_storage[f"{DOMAIN}.{entry.entry_id}.sessions"] = {
        "version": 1,
        "data": {
            "last_transaction_id": tids[-1],
            "open": [
                {
                    "transaction_id": tids[index],
                    "station_id": sid,
                    "connector_id": 1,
                    "id_tag": "BADGE-ALICE",
                    "holder": "Alice",
                    "auth_status": "Accepted",
                    "started_at": "2026-11-24T08:00:00+00:00",
                    "meter_start": index * 1_000,
                    "last_meter": float(index * 1_000),
                    "last_meter_at": "2026-11-24T08:00:00+00:00",
                }
                for index, sid in enumerate(ids)
            ],
        },
    }
    # asyncio's debug mode (on in these tests) records a stack for every future: with
    # 200 stations that is most of the run. Off for this test only.
    asyncio.get_running_loop().set_debug(False)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    site = entry.runtime_data

    async def charge(index: int) -> tuple[StationClient, SimulatedStation, int]:
        client, station = await reconnect(entry, ids[index])
        tid = tids[index]
        await station.meter_values(1, sampled(index * 1_000 + 100, (8, 8, 8)), transaction_id=tid)
        return client, station, tid

    fleet = await asyncio.gather(*(charge(i) for i in range(FLEET)))
    await wait_until(hass, lambda: all(site.station_by_id(s).connected for s in ids))  # type: ignore[union-attr]
    assert len(site.sessions.open) == FLEET

    # The building's network blinks: every line is cut at once.
    for client, _station, _tid in fleet:
        assert client.connection is not None
        client.connection.transport.abort()
    await wait_until(hass, lambda: not any(site.station_by_id(s).connected for s in ids))  # type: ignore[union-attr]
    await asyncio.gather(*(client.close() for client, _s, _t in fleet))
    assert len(site.sessions.open) == FLEET

    async def come_back(index: int) -> StationClient:
        client, station = await reconnect(entry, ids[index], fleet[index][1])
        tid = tids[index]
        await station.meter_values(1, sampled(index * 1_000 + 400, (8, 8, 8)), transaction_id=tid)
        return client

    clients = await asyncio.gather(*(come_back(i) for i in range(FLEET)))
    await wait_until(hass, lambda: all(site.station_by_id(s).connected for s in ids))  # type: ignore[union-attr]
    assert len(site.sessions.open) == FLEET
    assert all(open_session(site.sessions, tid).energy_wh == 400 for tid in tids)

    async def stop(index: int) -> None:
        station = clients[index].station
        assert station is not None
        await station.stop_transaction(
            tids[index], meter_stop=index * 1_000 + 500 + index, id_tag="BADGE-ALICE"
        )

    await asyncio.gather(*(stop(i) for i in range(FLEET)))
    assert not site.sessions.open
    closed = {int(s.transaction_id): s for s in site.sessions.closed}
    assert len(site.sessions.closed) == FLEET
    for index, tid in enumerate(tids):
        assert closed[tid].station_id == ids[index]
        assert closed[tid].energy_wh == 500 + index
        assert not closed[tid].flags
    await asyncio.gather(*(client.close() for client in clients))
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


# --- the session store on a real disk --------------------------------------------------


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Each test has its own configuration directory (its .storage on a real disk)."""
    return hass_tmp_config_dir


@pytest.fixture
def real_storage(hass_storage: dict[str, Any]) -> Iterator[None]:
    """Home Assistant's real Store: JSON files in .storage, atomic writes, corrupt-file
    handling (the harness keeps stores in a dict otherwise)."""
    with (
        patch.object(storage.Store, "_async_load", REAL_STORE_LOAD),
        patch.object(storage.Store, "_async_write_data", REAL_STORE_WRITE),
        patch.object(storage.Store, "async_remove", REAL_STORE_REMOVE),
    ):
        yield


def plain_entry(port: int) -> MockConfigEntry:
    """A hub with one station and the default badges."""
    return dlm_entry(port, [station_subentry("CP-DISK"), *DEFAULT_BADGES])


def store_path(hass: HomeAssistant, entry: MockConfigEntry, suffix: str = "") -> Path:
    return Path(hass.config.path(".storage", f"{DOMAIN}.{entry.entry_id}.sessions{suffix}"))


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def one_closed_one_open(entry: MockConfigEntry) -> int:
    """A session started and stopped, then one left charging; returns the open one's id."""
    client = StationClient(ws_url(entry), "CP-DISK")
    station = await client.connect()
    first = await station.start_transaction(1, "BADGE-ALICE", meter_start=100)
    await station.stop_transaction(first.transaction_id, meter_stop=900, id_tag="BADGE-ALICE")
    second = await station.start_transaction(1, "BADGE-ALICE", meter_start=900)
    tid = int(second.transaction_id)
    assert tid == first.transaction_id + 1
    await station.meter_values(1, sampled(1_400, (16, 16, 16)), transaction_id=tid)
    await client.close()
    return tid


async def stop_after_restart(entry: MockConfigEntry, tid: int, meter_stop: int) -> int:
    """The station's queued stop arrives, then a new session starts; returns its id."""
    client = StationClient(ws_url(entry), "CP-DISK")
    station = await client.connect()
    stopped = await station.stop_transaction(tid, meter_stop=meter_stop, id_tag="BADGE-ALICE")
    assert stopped.id_tag_info["status"] == "Accepted"
    nxt = await station.start_transaction(1, "BADGE-ALICE", meter_start=meter_stop)
    await client.close()
    return int(nxt.transaction_id)


@pytest.mark.usefixtures("real_storage")
async def test_leftover_temp_file_of_an_interrupted_write_is_ignored(
    hass: HomeAssistant, port: int
) -> None:
    """Power cut during a write: the temporary file is left half-written, never renamed.
    Home Assistant restarts on the last good store; nothing is lost or repaired."""
    entry = plain_entry(port)
    await set_up(hass, entry)
    tid = await one_closed_one_open(entry)
    main = store_path(hass, entry)
    good = json.loads(main.read_text())
    assert good["data"]["last_transaction_id"] == tid
    # What an atomic write leaves when it dies before its rename (same directory).
    newer = json.dumps({**good, "data": {**good["data"], "last_transaction_id": tid + 7}})
    leftover = main.parent / "tmpk3x9q2_w"
    async with restarted(
        hass, entry, "new_home_assistant", lambda: leftover.write_text(newer[: len(newer) // 2])
    ) as (hass2, entry2):
        sessions = entry2.runtime_data.sessions
        assert sessions.last_transaction_id == tid
        assert [s.transaction_id for s in sessions.open.values()] == [str(tid)]
        assert open_session(sessions, tid).meter_start == 900
        assert [s.energy_wh for s in sessions.closed] == [800]
        assert not [
            i for i in ir.async_get(hass2).issues if "corrupt" in i[1] or "restored" in i[1]
        ]
        assert await stop_after_restart(entry2, tid, 2_000) == tid + 1
        assert sessions.closed[-1].energy_wh == 1_100
    assert json.loads(main.read_text())["data"]["last_transaction_id"] == tid + 1


@pytest.mark.usefixtures("real_storage")
async def test_corrupt_store_keeps_ids_unique_and_open_sessions(
    hass: HomeAssistant, port: int
) -> None:
    """The store file is truncated (disk corruption, a manual edit): the hub still starts,
    the open session and the counter come back from the backup, new ids never reuse old
    ones, and repairs say what happened."""
    entry = plain_entry(port)
    await set_up(hass, entry)
    tid = await one_closed_one_open(entry)
    main = store_path(hass, entry)
    torn = ""

    def corrupt() -> None:
        nonlocal torn
        text = main.read_text()
        torn = text[: len(text) // 3]
        main.write_text(torn)

    async with restarted(hass, entry, "new_home_assistant", corrupt) as (hass2, entry2):
        assert entry2.state is ConfigEntryState.LOADED
        sessions = entry2.runtime_data.sessions
        assert sessions.last_transaction_id == tid
        assert [s.transaction_id for s in sessions.open.values()] == [str(tid)]
        assert open_session(sessions, tid).meter_start == 900
        # The history of closed sessions is in its own file, untouched.
        assert [s.energy_wh for s in sessions.closed] == [800]
        issues = ir.async_get(hass2).issues
        ours = issues[(DOMAIN, f"sessions_restored_{entry.entry_id}")]
        assert ours.translation_key == "sessions_restored"
        assert ours.translation_placeholders == {
            "last_transaction_id": str(tid),
            "open_sessions": "1",
        }
        corruption = [i for (d, i) in issues if d == "homeassistant" and "storage_corruption" in i]
        assert len(corruption) == 1
        assert issues[("homeassistant", corruption[0])].issue_domain == DOMAIN
        set_aside = list(main.parent.glob(f"{main.name}.corrupt.*"))
        assert len(set_aside) == 1
        assert set_aside[0].read_text() == torn
        # The station's stop still closes its session; the next id continues the count.
        assert await stop_after_restart(entry2, tid, 2_000) == tid + 1
        assert sessions.closed[-1].transaction_id == str(tid)
        assert sessions.closed[-1].energy_wh == 1_100
    assert json.loads(main.read_text())["data"]["last_transaction_id"] == tid + 1


@pytest.mark.usefixtures("real_storage")
async def test_corrupt_store_without_backup_starts_empty(hass: HomeAssistant, port: int) -> None:
    """Both files unreadable: the hub still starts (empty), Home Assistant's repair says so."""
    entry = plain_entry(port)
    await set_up(hass, entry)
    await one_closed_one_open(entry)
    assert await hass.config_entries.async_unload(entry.entry_id)
    for path in (store_path(hass, entry), store_path(hass, entry, "_backup")):
        path.write_text('{"version": 1, "data": {"last_transaction_id": ')
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.sessions.last_transaction_id == 0
    issues = ir.async_get(hass).issues
    assert (DOMAIN, f"sessions_restored_{entry.entry_id}") not in issues
    assert len([i for (d, i) in issues if "storage_corruption" in i]) == 2


@pytest.mark.usefixtures("real_storage")
async def test_failed_write_keeps_the_last_good_file_and_is_caught_up(
    hass: HomeAssistant, port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A write that fails before its rename (disk full): the file keeps the last good
    state, whole; the station is still answered; the next write, once there is room,
    holds everything and a restart loads it."""
    entry = plain_entry(port)
    await set_up(hass, entry)
    tid = await one_closed_one_open(entry)
    main = store_path(hass, entry)
    before = main.read_text()
    client = StationClient(ws_url(entry), "CP-DISK")
    station = await client.connect()

    def disk_full(_self: AtomicWriter, _f: Any) -> None:
        raise OSError(28, "No space left on device")

    with patch.object(AtomicWriter, "commit", disk_full):
        stopped = await station.stop_transaction(tid, meter_stop=2_000, id_tag="BADGE-ALICE")
        assert stopped.id_tag_info["status"] == "Accepted"
        started = await station.start_transaction(1, "BADGE-ALICE", meter_start=2_000)
    assert started.transaction_id == tid + 1
    assert "No space left on device" in caplog.text
    assert main.read_text() == before  # untouched: never half-written
    assert not list(main.parent.glob("tmp*"))  # the failed writes cleaned up after themselves
    await client.close()
    async with restarted(hass, entry, "new_home_assistant") as (_hass2, entry2):
        sessions = entry2.runtime_data.sessions
        assert sessions.last_transaction_id == tid + 1
        assert [s.transaction_id for s in sessions.open.values()] == [str(tid + 1)]
        assert [(int(s.transaction_id), s.energy_wh) for s in sessions.closed] == [
            (tid - 1, 800),
            (tid, 1_100),
        ]


async def test_reading_naming_another_stations_transaction_is_ignored(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A station's MeterValues that name another station's transaction (a confused or
    hostile station) do not move that session's register."""
    site = loaded_entry.runtime_data
    a_client, a, tid = await start_charging(loaded_entry, "CP-A", meter_start=1_000)
    b_client, b, _ = await start_charging(loaded_entry, "CP-B", meter_start=50_000)
    await b.meter_values(1, sampled(90_000, (16, 16, 16)), transaction_id=tid)
    assert open_session(site.sessions, tid).last_meter == 1_000
    await a.meter_values(1, sampled(1_700, (16, 16, 16)), transaction_id=tid)
    assert open_session(site.sessions, tid).energy_wh == 700
    await a_client.close()
    await b_client.close()


# --- a serial port that vanishes -----------------------------------------------------


class Pty:
    """A pseudo-terminal: its slave side is a real serial port for pyserial."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class Wire:
    """An RS485 line between two pseudo-terminals: bytes written on one side are read on
    the other (the loop copies them between the two master sides)."""

    def __init__(self, one: Pty, other: Pty) -> None:
        self._fds = (one.master, other.master)
        loop = asyncio.get_running_loop()
        loop.add_reader(one.master, self._pump, one.master, other.master)
        loop.add_reader(other.master, self._pump, other.master, one.master)

    @staticmethod
    def _pump(source: int, target: int) -> None:
        with contextlib.suppress(OSError):
            if data := os.read(source, 4096):
                os.write(target, data)

    def cut(self) -> None:
        loop = asyncio.get_running_loop()
        for fd in self._fds:
            loop.remove_reader(fd)


async def test_serial_port_vanishes_and_comes_back(
    hass: HomeAssistant, port: int, tmp_path: Path
) -> None:
    """An RTU meter on a real serial port (pymodbus' serial server at the far end of a
    pseudo-terminal pair). The USB adapter is pulled: the port and its device node go away;
    the zone goes to fail-safe (6 A, not 0), nothing crashes; plugged back in (a new
    device behind the same name), the meter reads again and the zone leaves fail-safe."""
    sim = SimulatedMeter("sdm630", unit=1, framer="rtu")
    sim.set_currents(10, 10, 10)
    meter_side, hub_side = Pty(), Pty()
    wire = Wire(hub_side, meter_side)
    server = ModbusSerialServer(
        [unit.device() for unit in sim.units.values()],
        framer=FramerType.RTU,
        port=meter_side.path,
        baudrate=9600,
    )
    await server.serve_forever(background=True)
    link = tmp_path / "ttyUSB-rs485"  # what udev's by-id link would be
    link.symlink_to(hub_side.path)
    entry = dlm_entry(
        port,
        [
            connection_subentry(
                "RS485", subentry_id=CONNECTION, kind="rtu", serial_port=str(link), timeout=0.3
            ),
            meter(),
            zone(),
            managed("CP-A"),
            *DEFAULT_BADGES,
        ],
    )
    try:
        await set_up(hass, entry)
        client, station, _tid = await start_charging(entry, "CP-A")
        limits = profile_limits(station)
        await wait_until(hass, lambda: limit_of(station) == 16.0)
        assert state_of(hass, "binary_sensor", f"{METER}_reachable") == "on"

        # Pulled out: the line goes dead and the device node disappears.
        wire.cut()
        link.unlink()
        hub_side.close()
        await wait_until(hass, lambda: limit_of(station) == 6.0, within=5.0)
        assert state_of(hass, "binary_sensor", f"{ZONE}_failsafe") == "on"
        # The zone's timeout (1 s) can pass before the read under way has timed out.
        await wait_until(
            hass, lambda: state_of(hass, "binary_sensor", f"{METER}_reachable") == "off"
        )
        assert failsafe_issue(hass, entry) is not None
        assert entry.state is ConfigEntryState.LOADED
        bus = entry.runtime_data.load.buses[CONNECTION]
        await wait_until(hass, lambda: bus.stats.connection_errors > 0, within=5.0)

        # Plugged back in: a new tty behind the same link.
        hub_side = Pty()
        wire = Wire(hub_side, meter_side)
        link.symlink_to(hub_side.path)
        sim.set_currents(12, 12, 12)
        await wait_until(hass, lambda: limit_of(station) == 16.0, within=5.0)
        assert state_of(hass, "binary_sensor", f"{ZONE}_failsafe") == "off"
        assert state_of(hass, "binary_sensor", f"{METER}_reachable") == "on"
        assert failsafe_issue(hass, entry) is None
        assert 0.0 not in limits
        await client.close()
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    finally:
        wire.cut()
        await server.shutdown()  # type: ignore[no-untyped-call]
        hub_side.close()
        meter_side.close()
