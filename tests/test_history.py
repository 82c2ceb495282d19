"""The history of closed sessions: its own SQLite file, the migration from the JSON store,
exports over it, and nothing lost when it cannot be written."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import shutil
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones import sessions as sessions_module
from custom_components.charge_zones.const import DOMAIN
from custom_components.charge_zones.history import SessionHistory
from custom_components.charge_zones.sessions import ChargingSession
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from simulator.station import StationClient

from .conftest import STATION_ID, ws_url
from .helpers import wait_until
from .test_faults import plain_entry, real_storage, restarted, set_up  # noqa: F401
from .test_session import sampled


def store_key(entry: MockConfigEntry) -> str:
    return f"{DOMAIN}.{entry.entry_id}.sessions"


def history_path(hass: HomeAssistant, entry: MockConfigEntry) -> Path:
    return Path(hass.config.path(".storage", f"{DOMAIN}.{entry.entry_id}.history.db"))


def period() -> dict[str, str]:
    today = dt_util.now().date()
    return {"start": str(today - timedelta(days=2)), "end": str(today + timedelta(days=1))}


async def export(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "export_sessions", {**period(), **data}, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


def exported(response: dict[str, Any]) -> list[tuple[int, float]]:
    return [(s["transaction_id"], s["energy_wh"]) for s in response["sessions"]]


def old_session(tid: int, start: int, stop: int | None, hours_ago: float) -> dict[str, Any]:
    """A session as the JSON store of earlier versions kept it."""
    began = datetime.now(UTC) - timedelta(hours=hours_ago)
    session = ChargingSession(
        transaction_id=tid,
        station_id=STATION_ID,
        connector_id=1,
        id_tag="BADGE-ALICE",
        holder="Alice",
        auth_status="Accepted",
        started_at=began.isoformat(),
        meter_start=start,
        last_meter=float(stop if stop is not None else start),
        last_meter_at=(began + timedelta(minutes=30)).isoformat(),
    )
    if stop is not None:
        session.meter_stop = stop
        session.stopped_at = (began + timedelta(hours=1)).isoformat()
        session.stop_reason = "Local"
        session.billed = True
    return asdict(session)


async def test_old_store_moves_into_the_history_once(
    hass: HomeAssistant, config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """A store written by an earlier version (closed sessions in the JSON file): they move
    into the history at the first start, none lost, none twice after more restarts; the
    open session still closes with the station's stop, and ids continue."""
    hass_storage[store_key(config_entry)] = {
        "version": 1,
        "minor_version": 1,
        "key": store_key(config_entry),
        "data": {
            "last_transaction_id": 3,
            "open": [old_session(3, 2_500, None, 2)],
            "closed": [old_session(1, 0, 1_000, 20), old_session(2, 1_000, 2_500, 10)],
            "local_list_version": 0,
            "badge_totals": {"BADGE-ALICE": {"energy_wh": 2_500.0, "sessions": 2}},
            "holder_totals": {"alice": {"name": "Alice", "energy_wh": 2_500.0, "sessions": 2}},
        },
    }
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    sessions = config_entry.runtime_data.sessions
    assert exported(await export(hass)) == [(1, 1_000.0), (2, 1_500.0)]
    stored = hass_storage[store_key(config_entry)]["data"]
    assert "closed" not in stored
    assert stored["pending"] == []
    assert [s["transaction_id"] for s in stored["open"]] == ["3"]
    history = SessionHistory(history_path(hass, config_entry))
    assert await hass.async_add_executor_job(history.count) == 2
    await hass.async_add_executor_job(history.close)

    for _ in range(2):  # moved once: restarts add nothing
        assert await hass.config_entries.async_reload(config_entry.entry_id)
        await hass.async_block_till_done()
        assert exported(await export(hass)) == [(1, 1_000.0), (2, 1_500.0)]
    sessions = config_entry.runtime_data.sessions
    assert sessions.history_count == 2
    assert sessions.badge_totals["BADGE-ALICE"].energy_wh == 2_500

    client = StationClient(ws_url(config_entry), STATION_ID)
    station = await client.connect()
    await station.stop_transaction(3, meter_stop=3_000, id_tag="BADGE-ALICE")
    nxt = await station.start_transaction(1, "BADGE-ALICE", meter_start=3_000)
    assert nxt.transaction_id == 4
    await client.close()
    assert exported(await export(hass)) == [(1, 1_000.0), (2, 1_500.0), (3, 500.0)]
    assert sessions.badge_totals["BADGE-ALICE"].energy_wh == 3_000


async def test_export_reads_every_session_not_only_those_in_memory(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory keeps the last sessions only; exports and filters read the whole history."""
    monkeypatch.setattr(sessions_module, "MAX_CLOSED_SESSIONS", 2)
    client = StationClient(ws_url(loaded_entry), STATION_ID)
    station = await client.connect()
    await station.boot()
    tids = []
    for k in range(6):
        started = await station.start_transaction(1, "BADGE-ALICE", meter_start=k * 1_000)
        tid = int(started.transaction_id)
        await station.meter_values(1, sampled(k * 1_000 + 400, (16, 16, 16)), transaction_id=tid)
        await station.stop_transaction(tid, meter_stop=k * 1_000 + 700, id_tag="BADGE-ALICE")
        tids.append(tid)
    await client.close()
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    sessions = loaded_entry.runtime_data.sessions
    assert [s.transaction_id for s in sessions.closed] == [str(t) for t in tids[-2:]]
    assert sessions.history_count == 6
    everything = [(tid, 700.0) for tid in tids]
    assert exported(await export(hass)) == everything
    assert exported(await export(hass, stations=[STATION_ID], badges=["BADGE-ALICE"])) == (
        everything
    )
    # A period holding none of them.
    today = dt_util.now().date()
    none = await export(hass, start=str(today - timedelta(days=9)), end=str(today - timedelta(3)))
    assert none["sessions"] == []
    # A retried stop of the oldest, long out of memory, is still recognised.
    client = StationClient(ws_url(loaded_entry), STATION_ID)
    station = await client.connect()
    await station.stop_transaction(tids[0], meter_stop=700, id_tag="BADGE-ALICE")
    await client.close()
    assert exported(await export(hass)) == everything
    assert sessions.badge_totals["BADGE-ALICE"].sessions == 6


@pytest.mark.usefixtures("real_storage")
async def test_sessions_wait_in_the_store_while_the_history_cannot_be_written(
    hass: HomeAssistant, port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The history file unusable (here a directory in its place): the hub still runs and
    answers, the closed sessions wait in the small store (on disk before each answer), and
    once the file can be written again they are all in it, each once, exact to the Wh."""
    entry = plain_entry(port)
    await set_up(hass, entry)
    path = history_path(hass, entry)

    def break_history() -> None:
        path.unlink()
        path.mkdir()

    async with restarted(hass, entry, "new_home_assistant", break_history) as (hass2, entry2):
        sessions = entry2.runtime_data.sessions
        client = StationClient(ws_url(entry2), "CP-DISK")
        station = await client.connect()
        await station.boot()
        await wait_until(hass2, lambda: entry2.runtime_data.station_by_id("CP-DISK").connected)  # type: ignore[union-attr]
        energies = []
        for k in range(3):
            started = await station.start_transaction(1, "BADGE-ALICE", meter_start=k * 1_000)
            stopped_at = k * 1_000 + 333 + k
            await station.stop_transaction(
                started.transaction_id, meter_stop=stopped_at, id_tag="BADGE-ALICE"
            )
            energies.append((int(started.transaction_id), float(333 + k)))
        await client.close()
        await hass2.async_block_till_done()
        assert "Could not use the session history" in caplog.text
        assert len(sessions.pending) == 3
        store = Path(hass2.config.path(".storage", f"{DOMAIN}.{entry.entry_id}.sessions"))
        text = await hass2.async_add_executor_job(store.read_text)
        assert len(json.loads(text)["data"]["pending"]) == 3

    # Started again while it is still unusable: they stay waiting, none lost.
    async with restarted(hass, entry, "new_home_assistant") as (_hass2b, entry2b):
        assert len(entry2b.runtime_data.sessions.pending) == 3

    def repair_history() -> None:
        shutil.rmtree(path)

    async with restarted(hass, entry, "new_home_assistant", repair_history) as (hass3, entry3):
        sessions = entry3.runtime_data.sessions
        assert sessions.pending == {}
        assert sessions.history_count == 3
        assert exported(await export(hass3)) == energies
    async with restarted(hass, entry, "new_home_assistant") as (hass4, _entry4):
        assert exported(await export(hass4)) == energies


def test_history_file_replaces_a_session_written_twice(tmp_path: Path) -> None:
    """Writing a session again (a replay after a crash, a superseded session's real stop)
    replaces it; reads by stop time honour [start, end)."""
    history = SessionHistory(tmp_path / "h.db")
    first, second = old_session(1, 0, 1_000, 5), old_session(2, 1_000, 1_500, 3)
    history.append([first, second])
    history.append([{**first, "meter_stop": 1_100}])
    assert history.count() == 2
    found = history.find(STATION_ID, 1)
    assert found is not None
    assert found["meter_stop"] == 1_100
    assert history.find("OTHER", 1) is None
    stop_of_2 = datetime.fromisoformat(second["stopped_at"]).timestamp()
    assert [r["transaction_id"] for r in history.stopped_between(None, stop_of_2)] == [1]
    assert [r["transaction_id"] for r in history.stopped_between(stop_of_2, None)] == [2]
    assert history.seen() == ({STATION_ID}, {"BADGE-ALICE"})
    history.close()


async def test_store_older_than_the_history(
    hass: HomeAssistant, config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """A store older than the history (the store file put back from a backup, the history
    not): a session the history holds as closed is not open again, and the station's
    resent stop changes nothing."""
    session = old_session(7, 1_000, 1_800, 1)
    still_open = {**session, "stopped_at": None, "meter_stop": None, "billed": False}
    hass_storage[store_key(config_entry)] = {
        "version": 1,
        "minor_version": 1,
        "key": store_key(config_entry),
        "data": {"last_transaction_id": 7, "open": [still_open], "pending": []},
    }
    history = SessionHistory(history_path(hass, config_entry))
    await hass.async_add_executor_job(history.append, [session])
    await hass.async_add_executor_job(history.close)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    sessions = config_entry.runtime_data.sessions
    assert sessions.open == {}
    client = StationClient(ws_url(config_entry), STATION_ID)
    station = await client.connect()
    await station.stop_transaction(7, meter_stop=1_800, id_tag="BADGE-ALICE")
    await client.close()
    assert exported(await export(hass)) == [(7, 800.0)]
    assert sessions.history_count == 1


# The history file of versions before transaction ids became text (schema 1).
_SCHEMA_1 = """
CREATE TABLE sessions (
    station_id TEXT NOT NULL,
    transaction_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL,
    stopped_ts REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (station_id, transaction_id)
);
CREATE INDEX sessions_by_stop ON sessions (stopped_ts);
"""


def _schema_1_file(path: Path, records: list[dict[str, Any]], version: int = 1) -> None:
    """A history file of schema 1 (`version`: 0 for one whose version was never set,
    as a crash between the table and the version could leave it)."""
    import sqlite3

    db = sqlite3.connect(path)
    db.executescript(_SCHEMA_1 + f"PRAGMA user_version={version};")
    db.executemany(
        "INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
        [
            (
                r["station_id"],
                r["transaction_id"],
                r["id_tag"],
                datetime.fromisoformat(r["stopped_at"]).timestamp(),
                json.dumps(r),
            )
            for r in records
        ],
    )
    db.commit()
    db.close()


@pytest.mark.parametrize("version", [1, 0])
def test_history_of_schema_1_migrates_to_text_ids(tmp_path: Path, version: int) -> None:
    """A history file written before transaction ids became text (integer ids) is
    migrated in place: every session kept, found by its id as text, ids of one stop time
    in their numeric order, new text ids (an OCPP 2.0.1 station's) beside them."""
    import sqlite3

    path = tmp_path / "h.db"
    nine, ten = old_session(9, 0, 1_000, 5), old_session(10, 1_000, 1_500, 5)
    ten["stopped_at"] = nine["stopped_at"]  # one stop time: the ids decide the order
    _schema_1_file(path, [ten, nine, old_session(11, 1_500, 1_700, 3)], version)
    history = SessionHistory(path)
    assert history.count() == 3
    found = history.find(STATION_ID, "10")
    assert found is not None
    assert found["meter_stop"] == 1_500
    assert [r["transaction_id"] for r in history.stopped_between(None, None)] == [9, 10, 11]
    uuid = {**old_session(0, 0, 100, 1), "transaction_id": "7f3c9a52-1d2e-4c1b-9a34-0e6b1c2d"}
    history.append([uuid])
    assert history.find(STATION_ID, uuid["transaction_id"]) is not None
    assert history.known([(STATION_ID, "9"), (STATION_ID, "12"), ("OTHER", "9")]) == {
        (STATION_ID, "9")
    }
    history.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (2,)
    assert {t for (t,) in db.execute("SELECT DISTINCT typeof(transaction_id) FROM sessions")} == {
        "text"
    }
    indexes = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "sessions_by_stop" in indexes
    assert (
        db.execute("SELECT name FROM sqlite_master WHERE name = 'sessions_v1'").fetchone() is None
    )
    db.close()
    # Opened again: nothing migrated twice.
    history = SessionHistory(path)
    assert history.count() == 4
    history.close()


async def test_an_old_history_is_exported_after_the_update(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """The hub starts on a history of schema 1: its sessions are exported, their ids as
    the numbers they were."""
    path = history_path(hass, config_entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    _schema_1_file(path, [old_session(1, 0, 1_000, 20), old_session(2, 1_000, 2_500, 10)])
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert exported(await export(hass)) == [(1, 1_000.0), (2, 1_500.0)]
    assert config_entry.runtime_data.sessions.history_count == 2


async def test_station_made_transaction_ids_are_sessions_like_the_hubs(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The session model is the protocol's neither: a session whose station made its id
    (text, as OCPP 2.0.1 stations do) opens, records its register, closes and is
    exported like one the hub numbered; the same id at another station is another
    session, and the hub's own counter does not move."""
    sessions = loaded_entry.runtime_data.sessions
    counter = sessions.last_transaction_id
    began = dt_util.utcnow() - timedelta(hours=1)
    made = "7f3c9a52-1d2e-4c1b-9a34-0e6b1c2d3e4f"
    opened = []
    for station_id, tid in (("V201-A", made), ("V201-A", "1"), ("V201-B", "1")):
        session, superseded = await sessions.async_start(
            station_id=station_id,
            connector_id=1 if tid == made else 2 if station_id == "V201-A" else 1,
            id_tag="BADGE-ALICE",
            holder="Alice",
            auth_status="Accepted",
            meter_start=1_000,
            started_at=began.isoformat(),
            transaction_id=tid,
        )
        assert superseded == []
        assert session.transaction_id == tid
        opened.append(session)
    assert len(sessions.open) == 3
    assert sessions.last_transaction_id == counter
    at = (began + timedelta(minutes=30)).isoformat()
    assert sessions.record_meter(made, 1_400, at, station_id="V201-A", connector_id=1)
    assert sessions.record_meter("1", 1_600, at, station_id="V201-B", connector_id=1)
    # Another station's id is not this one's session.
    assert sessions.record_meter(made, 9_000, at, station_id="V201-B", connector_id=1) is None
    stopped = (began + timedelta(minutes=50)).isoformat()
    for station_id, tid, register in (("V201-A", made, 1_500), ("V201-B", "1", 1_700)):
        await sessions.async_stop(
            station_id=station_id,
            transaction_id=tid,
            meter_stop=register,
            stopped_at=stopped,
            reason="EVDisconnected",
            id_tag="BADGE-ALICE",
        )
    assert [s.key for s in sessions.open.values()] == [("V201-A", "1")]
    result = await export(hass)
    by_station = {(s["station"], s["transaction_id"]): s["energy_wh"] for s in result["sessions"]}
    assert by_station == {("V201-A", made): 500.0, ("V201-B", 1): 700.0}
    assert sessions.last_transaction_id == counter
