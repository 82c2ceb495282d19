"""The history of closed charging sessions: an append-only SQLite file.

One file per hub in Home Assistant's ``.storage`` directory (inside the configuration
directory, so backups take it), in WAL mode. Every call here is blocking: the session
store runs them in the executor, never in the event loop. A record is keyed by its
station and transaction id, so writing one again (a replayed write after a crash, the
real stop of a superseded session) replaces it instead of adding a duplicate. Indexed by
stop time for the exports.

Transaction ids are text (schema 2): OCPP 2.0.1 stations make their own (e.g. UUIDs).
A file of schema 1 (integer ids, the OCPP 1.6 ids this hub handed out) is migrated in
place on first use, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
import json
from pathlib import Path
import sqlite3
import threading
from typing import Any

from .transaction_ids import order_key

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    station_id TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    id_tag TEXT NOT NULL,
    stopped_ts REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (station_id, transaction_id)
);
CREATE INDEX IF NOT EXISTS sessions_by_stop ON sessions (stopped_ts);
"""


def _stopped_ts(record: dict[str, Any]) -> float:
    from datetime import datetime  # noqa: PLC0415 - keeps the module import light

    stopped = record.get("stopped_at") or record.get("last_meter_at") or record["started_at"]
    return datetime.fromisoformat(stopped).timestamp()


def _migrate_1_to_2(db: sqlite3.Connection) -> None:
    """Schema 1 to 2: transaction ids from integers to text, nothing else changed."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("ALTER TABLE sessions RENAME TO sessions_v1")
        db.execute("DROP INDEX IF EXISTS sessions_by_stop")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(
            "INSERT INTO sessions (station_id, transaction_id, id_tag, stopped_ts, data)"
            " SELECT station_id, CAST(transaction_id AS TEXT), id_tag, stopped_ts, data"
            " FROM sessions_v1 ORDER BY rowid"
        )
        db.execute("DROP TABLE sessions_v1")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except BaseException:
        if db.in_transaction:  # SQLite may have rolled back by itself (disk full)
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class SessionHistory:
    """Closed sessions of one hub on disk (blocking calls, one at a time)."""

    def __init__(self, path: Path) -> None:
        """Name the file (opened on first use)."""
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            # A commit is on disk when it returns (records leave the small store then).
            db.execute("PRAGMA synchronous=FULL")
            columns = {row[1]: row[2] for row in db.execute("PRAGMA table_info(sessions)")}
            if columns.get("transaction_id", "TEXT").upper() == "INTEGER":
                _migrate_1_to_2(db)  # schema 1 (its version number may not have been set)
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db = db
        return self._db

    def append(self, records: Iterable[dict[str, Any]]) -> int:
        """Write closed sessions in one transaction (a known one is replaced)."""
        rows = [
            (
                str(r["station_id"]),
                str(r["transaction_id"]),
                str(r.get("id_tag") or ""),
                _stopped_ts(r),
                json.dumps(r, separators=(",", ":")),
            )
            for r in records
        ]
        if not rows:
            return 0
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT OR REPLACE INTO sessions"
                    " (station_id, transaction_id, id_tag, stopped_ts, data)"
                    " VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                if db.in_transaction:  # SQLite may have rolled back by itself (disk full)
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return len(rows)

    def count(self) -> int:
        """Number of sessions kept."""
        with self._lock:
            return int(self._conn().execute("SELECT COUNT(*) FROM sessions").fetchone()[0])

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The last sessions written, oldest first."""
        with self._lock:
            rows = (
                self._conn()
                .execute("SELECT data FROM sessions ORDER BY rowid DESC LIMIT ?", (limit,))
                .fetchall()
            )
        return [json.loads(data) for (data,) in reversed(rows)]

    def last_per_station(self) -> dict[str, dict[str, Any]]:
        """The last session written of each station."""
        with self._lock:
            rows = (
                self._conn()
                .execute(
                    "SELECT data FROM sessions WHERE rowid IN"
                    " (SELECT MAX(rowid) FROM sessions GROUP BY station_id)"
                )
                .fetchall()
            )
        records = [json.loads(data) for (data,) in rows]
        return {str(r["station_id"]): r for r in records}

    def find(self, station_id: str, transaction_id: str) -> dict[str, Any] | None:
        """One session, if kept."""
        with self._lock:
            row = (
                self._conn()
                .execute(
                    "SELECT data FROM sessions WHERE station_id = ? AND transaction_id = ?",
                    (station_id, transaction_id),
                )
                .fetchone()
            )
        return None if row is None else dict(json.loads(row[0]))

    def known(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (station, transaction id) are kept."""
        found: set[tuple[str, str]] = set()
        with self._lock:
            db = self._conn()
            for station_id, transaction_id in keys:
                if db.execute(
                    "SELECT 1 FROM sessions WHERE station_id = ? AND transaction_id = ?",
                    (station_id, transaction_id),
                ).fetchone():
                    found.add((station_id, transaction_id))
        return found

    def stopped_between(self, start: float | None, end: float | None) -> list[dict[str, Any]]:
        """Sessions stopped in [start, end) (epoch seconds; None: unbounded), by stop."""
        query = "SELECT stopped_ts, transaction_id, data FROM sessions"
        where: list[str] = []
        args: list[float] = []
        if start is not None:
            where.append("stopped_ts >= ?")
            args.append(start)
        if end is not None:
            where.append("stopped_ts < ?")
            args.append(end)
        if where:
            query += " WHERE " + " AND ".join(where)
        with self._lock:
            rows = self._conn().execute(query, args).fetchall()
        # By stop, then the hub's numbers (OCPP 1.6 ids) in their order, then the others.
        rows.sort(key=lambda row: (row[0], order_key(str(row[1]))))
        return [json.loads(data) for (_ts, _tid, data) in rows]

    def seen(self) -> tuple[set[str], set[str]]:
        """Stations and (upper-case) badges that have sessions kept."""
        with self._lock:
            db = self._conn()
            stations = {s for (s,) in db.execute("SELECT DISTINCT station_id FROM sessions")}
            tags = {t for (t,) in db.execute("SELECT DISTINCT UPPER(id_tag) FROM sessions")}
        return stations, tags

    def close(self) -> None:
        """Close the file (it is opened again on the next call)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
