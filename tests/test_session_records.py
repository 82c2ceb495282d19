"""What the session records say in the less common cases: a lost stop arriving late, a
register going back, a station replaced, the history unusable, stores of earlier versions."""

from __future__ import annotations

from datetime import datetime, timedelta
import logging
from typing import Any

from ocpp.v16 import call
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones.central.models import Phase
from custom_components.charge_zones.history import SessionHistory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from simulator.station import StationClient

from .conftest import STATION_ID, ws_url
from .helpers import entity_id, open_session, state_of
from .test_history import export, history_path, old_session, store_key
from .test_session import sampled

SUB = f"sub_{STATION_ID}"


def iso(moment: datetime) -> str:
    """An OCPP timestamp."""
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def by_id(response: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Exported sessions by transaction id."""
    return {s["transaction_id"]: s for s in response["sessions"]}


async def test_lost_stop_arriving_after_a_new_start_below_its_start_is_flagged(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """A station starts a new session without the stop of the last (lost): the old one is
    closed as superseded. Its real stop arrives later with a register below its start (the
    meter was reset): its figures are taken, it is flagged as going backwards, once, and
    never billed."""
    station = client.station
    assert station is not None
    sessions = loaded_entry.runtime_data.sessions
    began = dt_util.utcnow() - timedelta(hours=2)
    first = await station.start_transaction(1, "BADGE-ALICE", 5_000, iso(began))
    lost = int(first.transaction_id)
    await station.meter_values(1, sampled(5_400, (16, 16, 16)), transaction_id=lost)
    await station.start_transaction(1, "BADGE-ALICE", 5_400, iso(began + timedelta(hours=1)))
    superseded = await sessions.async_find_closed(STATION_ID, str(lost))
    assert superseded is not None
    assert (superseded.flags, superseded.meter_stop) == (["superseded"], 5_400)

    await station.stop_transaction(
        lost, meter_stop=4_000, id_tag="BADGE-ALICE", timestamp=iso(began + timedelta(minutes=50))
    )
    known = await sessions.async_find_closed(STATION_ID, str(lost))
    assert known is not None
    assert known.flags == ["superseded", "register_backwards"]
    assert (known.meter_stop, known.energy_wh) == (4_000, 0.0)
    # Sent again with other figures (a station replaying its queue): still flagged once.
    await station.stop_transaction(
        lost, meter_stop=3_990, id_tag="BADGE-ALICE", timestamp=iso(began + timedelta(minutes=51))
    )
    known = await sessions.async_find_closed(STATION_ID, str(lost))
    assert known is not None
    assert known.flags == ["superseded", "register_backwards"]
    assert known.meter_stop == 3_990

    row = by_id(await export(hass))[lost]
    assert row["billable"] is False
    assert row["flags"] == ["superseded", "register_backwards"]
    assert sessions.badge_totals["BADGE-ALICE"].energy_wh == 0


async def test_register_going_back_twice_flags_once_and_keeps_the_highest(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """MeterValues below the register already seen: the session is flagged (once, however
    often it happens) and its energy stays at the highest register seen."""
    station = client.station
    assert station is not None
    started = await station.start_transaction(1, "BADGE-ALICE", meter_start=10_000)
    tid = int(started.transaction_id)
    for register in (10_500, 9_000, 8_000):
        await station.meter_values(1, sampled(register, (16, 16, 16)), transaction_id=tid)
    await hass.async_block_till_done()
    session = open_session(loaded_entry.runtime_data.sessions, tid)
    assert session.flags == ["register_backwards"]
    assert session.energy_wh == 500
    assert float(state_of(hass, "sensor", f"{SUB}_session_energy")) == pytest.approx(0.5)


async def test_station_replaced_during_a_session_started_before_its_first_boot(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    client: StationClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A station already charging when it first reaches the hub (no boot yet, so no serial
    number): the session takes the serial of its boot; when another unit boots under the
    same id during the session, the session is flagged and not billed."""
    station = client.station
    assert station is not None
    sessions = loaded_entry.runtime_data.sessions
    started = await station.start_transaction(1, "BADGE-ALICE", meter_start=0)
    tid = int(started.transaction_id)
    assert open_session(sessions, tid).station_serial is None
    await station.boot()
    await hass.async_block_till_done()
    assert open_session(sessions, tid).station_serial == f"SN-{STATION_ID}"
    assert open_session(sessions, tid).flags == []

    caplog.set_level(logging.WARNING)
    await station.call(
        call.BootNotification(
            charge_point_vendor="Simulated",
            charge_point_model="SimCharger",
            charge_box_serial_number="SN-REPLACEMENT",
        )
    )
    await hass.async_block_till_done()
    assert open_session(sessions, tid).flags == ["station_replaced"]
    assert f"during transaction {tid} (started on SN-{STATION_ID})" in caplog.text
    await station.stop_transaction(tid, meter_stop=2_000, id_tag="BADGE-ALICE")
    row = by_id(await export(hass))[tid]
    assert (row["billable"], row["flags"]) == (False, ["station_replaced"])


async def test_session_duration_sensor(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """The session duration (disabled by default) is the stop's time less the start's, as
    the station stamped them."""
    registry = er.async_get(hass)
    duration = entity_id(hass, "sensor", f"{SUB}_session_duration")
    registry.async_update_entity(duration, disabled_by=None)
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    client = StationClient(ws_url(loaded_entry), STATION_ID)
    station = await client.connect()
    began = dt_util.utcnow() - timedelta(hours=3)
    started = await station.start_transaction(1, "BADGE-ALICE", 0, iso(began))
    await station.stop_transaction(
        int(started.transaction_id),
        meter_stop=7_000,
        id_tag="BADGE-ALICE",
        timestamp=iso(began + timedelta(minutes=95)),
    )
    await hass.async_block_till_done()
    state = hass.states.get(duration)
    assert state is not None
    assert state.attributes["unit_of_measurement"] == "min"
    assert float(state.state) == pytest.approx(95)
    await client.close()


async def test_export_while_the_history_cannot_be_read(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """The history file unusable: the hub runs on, the sessions closed meanwhile wait in
    the small store, and an export fails with a clear message (one without the sessions
    the history holds would look complete). Once the file is usable, the export lists
    every session, by period, by station and by badge."""
    path = history_path(hass, config_entry)
    path.mkdir(parents=True)  # a directory where the file should be
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    client = StationClient(ws_url(config_entry), STATION_ID)
    station = await client.connect()
    began = dt_util.utcnow() - timedelta(hours=5)
    tids = []
    for k in range(2):
        start = began + timedelta(hours=2 * k)
        started = await station.start_transaction(1, "BADGE-ALICE", k * 1_000, iso(start))
        tid = int(started.transaction_id)
        await station.stop_transaction(
            tid, meter_stop=k * 1_000 + 600, timestamp=iso(start + timedelta(hours=1))
        )
        tids.append(tid)
    await client.close()
    sessions = config_entry.runtime_data.sessions
    assert len(sessions.pending) == 2

    for data in ({}, {"stations": [STATION_ID]}):
        with pytest.raises(HomeAssistantError) as failed:
            await export(hass, **data)
        assert failed.value.translation_key == "history_unreadable"
        assert str(path) in str(failed.value)
    assert len(sessions.pending) == 2  # nothing lost

    path.rmdir()
    everything = [(tid, 600.0) for tid in tids]
    result = await export(hass)
    assert [(s["transaction_id"], s["energy_wh"]) for s in result["sessions"]] == everything
    assert result["sessions"][0]["holder"] == "Alice"
    assert sessions.pending == {}
    filtered = await export(hass, stations=[STATION_ID], badges=["badge-alice"])
    assert len(filtered["sessions"]) == 2
    today = dt_util.now().date()
    past = await export(hass, start=str(today - timedelta(days=9)), end=str(today - timedelta(3)))
    assert past["sessions"] == []


def closed_before_billing(tid: int, start: int, stop: int) -> dict[str, Any]:
    """A closed session of a version before billing (never counted in any total)."""
    return {**old_session(tid, start, stop, 30), "billed": False}


async def test_store_without_holder_totals_counts_only_billed_sessions(
    hass: HomeAssistant, config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """A store of a version before the holder totals, its closed sessions in it: the
    holder totals start from the sessions billed, not those from before billing."""
    hass_storage[store_key(config_entry)] = {
        "version": 1,
        "minor_version": 1,
        "key": store_key(config_entry),
        "data": {
            "last_transaction_id": 3,
            "open": [],
            "closed": [
                closed_before_billing(1, 0, 4_000),
                old_session(2, 4_000, 5_000, 20),
                old_session(3, 5_000, 5_500, 10),
            ],
            "badge_totals": {"BADGE-ALICE": {"energy_wh": 1_500.0, "sessions": 2}},
        },
    }
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    totals = config_entry.runtime_data.sessions.holder_totals
    assert (totals["alice"].sessions, totals["alice"].energy_wh) == (2, 1_500)
    assert float(
        state_of(hass, "sensor", f"{config_entry.entry_id}_holder_alice_billed_energy")
    ) == pytest.approx(1.5)


async def test_history_without_holder_totals_counts_only_billed_sessions(
    hass: HomeAssistant, config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """The same when those sessions are already in the history (a version with the
    history but before the holder totals)."""
    hass_storage[store_key(config_entry)] = {
        "version": 1,
        "minor_version": 1,
        "key": store_key(config_entry),
        "data": {"last_transaction_id": 2, "open": [], "pending": []},
    }
    kept = SessionHistory(history_path(hass, config_entry))
    records = [closed_before_billing(1, 0, 4_000), old_session(2, 4_000, 4_800, 20)]
    await hass.async_add_executor_job(kept.append, records)
    await hass.async_add_executor_job(kept.close)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    totals = config_entry.runtime_data.sessions.holder_totals
    assert (totals["alice"].sessions, totals["alice"].energy_wh) == (1, 800)


def value(measurand: str, amount: float, unit: str, phase: str | None = None) -> dict[str, str]:
    """One sampled value."""
    sample = {"value": str(amount), "measurand": measurand, "unit": unit}
    if phase is not None:
        sample["phase"] = phase
    return sample


async def test_draw_from_what_the_station_reports(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """What a connector draws per building phase, however the station reports it: one
    current without a phase (spread over its phases: the lesser reading), power per phase
    (at the reported voltage), or only its register (nothing known)."""
    sim = client.station
    assert sim is not None
    station = loaded_entry.runtime_data.station_by_id(STATION_ID)
    assert station is not None
    started = await sim.start_transaction(1, "BADGE-ALICE", meter_start=0)
    tid = int(started.transaction_id)
    await sim.meter_values(
        1, [value("Energy.Active.Import.Register", 100, "Wh")], transaction_id=tid
    )
    assert station.draw(1) is None
    await sim.meter_values(1, [value("Current.Import", 30, "A")], transaction_id=tid)
    draw = station.draw(1)
    assert draw is not None
    assert draw[0] == pytest.approx((10, 10, 10))
    await sim.stop_transaction(tid, meter_stop=200)

    # Another session (each starts from nothing known): power per phase only.
    started = await sim.start_transaction(1, "BADGE-ALICE", meter_start=200)
    tid = int(started.transaction_id)
    assert station.draw(1) is None
    await sim.meter_values(
        1,
        [
            value("Power.Active.Import", 2_400, "W", "L1"),
            value("Power.Active.Import", 1_150, "W", "L2"),
            value("Voltage", 240, "V", "L1-N"),
        ],
        transaction_id=tid,
    )
    draw = station.draw(1)
    assert draw is not None
    assert draw[0] == pytest.approx((10, 5, 0))  # L2 at the nominal 230 V
    assert station.voltage(Phase.L1) == pytest.approx(240)
