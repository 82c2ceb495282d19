"""Persisted charging sessions and the transaction id counter.

Transaction ids are unique forever: a counter kept in Home Assistant's storage, saved
before a StartTransaction is answered. A session stays open across restarts and is closed
by the StopTransaction that arrives later; retries of the same StartTransaction or
StopTransaction (a station resending its queue after a reconnect) are recognised, so
energy is never counted twice.

What must be on disk before a station is answered is kept small, in Home Assistant's
storage: the counter, the open sessions, the sessions just closed that the history does
not hold yet, and the billing totals (per badge, per holder). Saving it costs the same
with 100 or 100,000 sessions in the history. The history of closed sessions is an
append-only SQLite file (``history.py``), written off the event loop right after the
answer; a closed session leaves the small store once the history holds it. A crash in
between loses nothing: the record is written again (idempotently) at the next start.
A store from before the history (closed sessions in the JSON store) is moved into it
once, at load.

Both small stores are written atomically (temporary file, fsync, rename). Next to the
store a backup holds what must never be lost: the counter, the open sessions and the
closed ones not yet in the history. Should the store be unreadable (Home Assistant then
sets it aside as ``*.corrupt.*`` and starts empty), the backup restores them, so a new
transaction id never reuses an old one and the stops that arrive later still close their
sessions; a repair issue says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
import logging
from pathlib import Path
import time
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store

from .badges import holder_key
from .billing import (
    FLAG_NO_METER_START,
    FLAG_REGISTER_BACKWARDS,
    FLAG_REJECTED,
    FLAG_STATION_REPLACED,
    FLAG_SUPERSEDED,
    FLAG_UNKNOWN_TRANSACTION,
    REGISTER_TOLERANCE_WH,
    BadgeTotal,
    Price,
    ResidentTotal,
    SessionRow,
    cost_of,
)
from .const import DOMAIN
from .dlm.solar import ChargingMode
from .history import SessionHistory
from .transaction_ids import as_number

STORAGE_VERSION = 1
# A reading stamped this far (s) from Home Assistant's clock is not live (queued offline,
# or its station's clock is off): its energy counts as grid.
MAX_CLOCK_SKEW = 120.0
SAVE_DELAY = 10
# Closed sessions kept in memory (the most recent; all of them are in the history).
MAX_CLOSED_SESSIONS = 1_000
# A stop for an unknown transaction id at most this far above the counter moves the
# counter past it.
UNKNOWN_ID_FOLLOW = 100_000

__all__ = [
    "FLAG_NO_METER_START",
    "FLAG_REGISTER_BACKWARDS",
    "FLAG_REJECTED",
    "FLAG_STATION_REPLACED",
    "FLAG_SUPERSEDED",
    "FLAG_UNKNOWN_TRANSACTION",
    "ChargingSession",
    "SessionContext",
    "SessionStore",
]

ISSUE_RESTORED = "sessions_restored"
# A holder's default charging mode "as the station" (none of their own).
HOLDER_MODE_STATION = "station"

_LOGGER = logging.getLogger(__name__)


type SessionKey = tuple[str, str]
"""A session's key: its station and its transaction id (unique within the station)."""


@dataclass(slots=True)
class ChargingSession:
    """One transaction.

    Its transaction id is text, whoever made it: this hub (a number, for OCPP 1.6
    stations) or the station (OCPP 2.0.1). It is unique within its station.
    """

    transaction_id: str
    station_id: str
    connector_id: int
    id_tag: str
    holder: str | None
    auth_status: str
    started_at: str
    meter_start: int | None
    stopped_at: str | None = None
    meter_stop: int | None = None
    stop_reason: str | None = None
    last_meter: float | None = None
    last_meter_at: str | None = None
    flags: list[str] = field(default_factory=list)
    # Billing: where it charged, and its cost so far (None without a tariff).
    zone_id: str | None = None
    zone_name: str | None = None
    station_serial: str | None = None
    cost: float | None = None
    currency: str | None = None
    priced_wh: float = 0.0  # energy priced at the price in force when it was drawn
    priced_to: float | None = None  # register up to which energy was looked at
    estimated_wh: float = 0.0  # energy priced at the stop's price (not seen drawn)
    # Of its energy, what the building's own solar covered (billing.solar_fraction), up
    # to the register priced_to, read at priced_at (the station's time).
    solar_wh: float = 0.0
    priced_at: str | None = None
    priced_solar_wh: float = 0.0  # of priced_wh, solar (priced at the solar price)
    billed: bool = False  # counted in its badge's totals
    # How this session charges when it differs from its station's mode (the action
    # set_charging_mode with this_session; dlm/solar.py ChargingMode).
    charging_mode: str | None = None

    @property
    def energy_wh(self) -> float | None:
        """Energy of the session so far (or in all), from the station's register."""
        if self.meter_start is None:
            return None
        end = self.meter_stop if self.meter_stop is not None else self.last_meter
        if end is None:
            return 0.0
        return max(0.0, float(end) - self.meter_start)

    def duration_s(self, now: datetime) -> float:
        """Duration in seconds (to now for an open session)."""
        start = datetime.fromisoformat(self.started_at)
        end = datetime.fromisoformat(self.stopped_at) if self.stopped_at else now
        return max(0.0, (end - start).total_seconds())

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        data = asdict(self)
        data["energy_wh"] = self.energy_wh
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChargingSession:
        """Rebuild from storage."""
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        # Stored by versions before ids became text: a number.
        if isinstance(fields["transaction_id"], int):
            fields["transaction_id"] = str(fields["transaction_id"])
        return cls(**fields)

    @property
    def key(self) -> SessionKey:
        """Its station and transaction id."""
        return (self.station_id, self.transaction_id)

    def row(self, holder: str | None = None) -> SessionRow:
        """The closed session as billed (holder: the badge's current holder, if known)."""
        stopped = self.stopped_at or self.last_meter_at or self.started_at
        return SessionRow(
            transaction_id=self.transaction_id,
            station_id=self.station_id,
            connector_id=self.connector_id,
            zone_id=self.zone_id,
            zone=self.zone_name,
            id_tag=self.id_tag,
            holder=self.holder or holder or self.id_tag or "unknown",
            started_at=datetime.fromisoformat(self.started_at),
            stopped_at=datetime.fromisoformat(stopped),
            meter_start=self.meter_start,
            meter_stop=self.meter_stop,
            energy_wh=self.energy_wh,
            solar_wh=None if self.meter_start is None else self.solar_wh,
            cost=self.cost,
            currency=self.currency,
            estimated_wh=self.estimated_wh,
            flags=tuple(self.flags),
        )

    def flag(self, name: str) -> None:
        """Add a flag once."""
        if name not in self.flags:
            self.flags.append(name)


@dataclass(slots=True)
class SessionContext:
    """What the store asks the hub about (given by the site)."""

    zone_of: Callable[[str], tuple[str | None, str | None]]  # id, name
    price: Callable[[], Price | None]
    holder_of: Callable[[str], str | None]
    # The solar share of energy drawn between two times (epoch s; billing.SolarShareLog)
    # and the price of solar energy (None: at the tariff's price).
    solar_share: Callable[[float, float], float] = lambda _start, _end: 0.0
    solar_price: Callable[[], Price | None] = lambda: None


_SESSION_FIELDS = tuple(f.name for f in fields(ChargingSession))


def _stored(session: ChargingSession) -> dict[str, Any]:
    """A session as the store keeps it: asdict's result, in a third of its time.

    The store is written every 10 s with every open session while cars charge.
    """
    data = {name: getattr(session, name) for name in _SESSION_FIELDS}
    data["flags"] = list(session.flags)
    return data


class SessionStore:
    """Sessions and counters of one hub, in Home Assistant's storage."""

    def __init__(self, hass: HomeAssistant, entry_id: str, context: SessionContext) -> None:
        """Create the store (call async_load before use)."""
        self._hass = hass
        self._entry_id = entry_id
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.sessions", atomic_writes=True
        )
        self._backup: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.sessions_backup", atomic_writes=True
        )
        self.history = SessionHistory(
            Path(hass.config.path(".storage", f"{DOMAIN}.{entry_id}.history.db"))
        )
        # Whether schedule_save has a delayed write due.
        self._save_due = False
        self.last_transaction_id = 0
        # Open sessions by station and transaction id.
        self.open: dict[SessionKey, ChargingSession] = {}
        self._by_station: dict[str, dict[str, ChargingSession]] = {}
        # The most recent closed sessions (the history holds them all).
        self.closed: list[ChargingSession] = []
        self.last_closed_by_station: dict[str, ChargingSession] = {}
        self.history_count = 0
        # Closed sessions the history does not hold yet (saved in the small store), by
        # (station, transaction id), with a generation to tell a later change.
        self.pending: dict[SessionKey, tuple[ChargingSession, int]] = {}
        self._generation = 0
        self._flusher: asyncio.Task[None] | None = None
        self._flush_wanted = asyncio.Event()
        self._history_failed = False
        self.local_list_version = 0
        self.local_list_digest: str | None = None
        self.station_list_versions: dict[str, int] = {}
        self.context = context
        self.badge_totals: dict[str, BadgeTotal] = {}  # by upper-case tag
        self.holder_totals: dict[str, ResidentTotal] = {}  # by holder_key of the name
        self.station_serials: dict[str, str] = {}  # last serial seen booting, by OCPP id
        # Badge holders' default charging modes (by holder_key; dlm/solar.py ChargingMode).
        self.holder_modes: dict[str, str] = {}
        # Their departure plans (by holder_key): "departure" (HH:MM) and "hours" needed
        # (dlm/cheapest.py): their Scheduled sessions charge in the cheapest hours before.
        self.holder_plans: dict[str, dict[str, Any]] = {}
        # Told the (upper-case) tag whose totals changed: at a session's end, never per
        # meter value.
        self.billing_listeners: list[Callable[[str], None]] = []
        # At the same moment: the holder's own listeners (by holder key), then these,
        # told the key of any holder billed.
        self._holder_listeners: dict[str, list[Callable[[], None]]] = {}
        self.holder_listeners: list[Callable[[str], None]] = []
        # Energy charged in all sessions, from the building's solar and from the grid
        # (Wh, kept forever: the energy dashboard's statistics).
        self.charged_solar_wh = 0.0
        self.charged_grid_wh = 0.0
        self.energy_listeners: list[Callable[[], None]] = []
        # Told when a holder's plan changes and when a session opens.
        self.plan_listeners: list[Callable[[], None]] = []

    async def async_load(self) -> None:
        """Load from storage (from the backup for what an unreadable store lost).

        Closed sessions the history does not hold yet (a store from before the history,
        or a crash before they were written) are written into it first.
        """
        data = await self._store.async_load()
        backup = await self._backup.async_load() or {}
        floor = int(backup.get("last_transaction_id", 0))
        if data is None and (floor or backup.get("open") or backup.get("pending")):
            data = {
                "last_transaction_id": floor,
                "open": backup.get("open", []),
                "pending": backup.get("pending", []),
            }
            self._restored(floor, len(data["open"]))
        data = data or {}
        # Never below the backup's counter: ids are never handed out twice.
        self.last_transaction_id = max(int(data.get("last_transaction_id", 0)), floor)
        self.open = {
            session.key: session for session in map(ChargingSession.from_dict, data.get("open", []))
        }
        self.local_list_version = int(data.get("local_list_version", 0))
        self.local_list_digest = data.get("local_list_digest")
        self.station_list_versions = dict(data.get("station_list_versions", {}))
        old_closed = [ChargingSession.from_dict(s) for s in data.get("closed", [])]
        waiting = [ChargingSession.from_dict(s) for s in data.get("pending", [])]
        unwritten = [*old_closed, *waiting]
        try:
            await self._hass.async_add_executor_job(self._open_history, unwritten)
        except Exception as err:  # noqa: BLE001 - the hub must run without its history
            self._history_error(err)
            # Kept in the small store until the history can take them.
            for session in unwritten:
                self.closed.append(session)
                self.last_closed_by_station[session.station_id] = session
                self._pend(session)
            unwritten = []
        self._index()
        self._load_billing(data, old_closed)
        if "holder_totals" not in data and not old_closed and not self._history_failed:
            await self._hass.async_add_executor_job(self._holder_totals_from_history)
        if unwritten:
            # Moved into the history: the small store no longer holds them.
            await self.async_save()

    def _open_history(self, unwritten: list[ChargingSession]) -> None:
        """Write what the history lacks, then read what is kept in memory (executor)."""
        history = self.history
        history.append(asdict(s) for s in unwritten)
        # A session closed in the history but still open in the store (a crash between
        # the two writes) is closed.
        for key in history.known(list(self.open)):
            del self.open[key]
        self.history_count = history.count()
        self.closed = [ChargingSession.from_dict(r) for r in history.recent(MAX_CLOSED_SESSIONS)]
        self.last_closed_by_station = {
            station_id: ChargingSession.from_dict(r)
            for station_id, r in history.last_per_station().items()
        }

    def _holder_totals_from_history(self) -> None:
        """Start the holder totals from every billed session kept (executor)."""
        for record in self.history.stopped_between(None, None):
            session = ChargingSession.from_dict(record)
            if session.billed:
                self._credit_holder(session)

    def _data(self) -> dict[str, Any]:
        return {
            "last_transaction_id": self.last_transaction_id,
            "open": [_stored(s) for s in self.open.values()],
            "pending": [_stored(s) for s, _ in self.pending.values()],
            "local_list_version": self.local_list_version,
            "local_list_digest": self.local_list_digest,
            "station_list_versions": self.station_list_versions,
            **self._billing_data(),
        }

    def _backup_data(self) -> dict[str, Any]:
        return {
            "last_transaction_id": self.last_transaction_id,
            "open": [_stored(s) for s in self.open.values()],
            "pending": [_stored(s) for s, _ in self.pending.values()],
        }

    def _restored(self, last_transaction_id: int, open_sessions: int) -> None:
        _LOGGER.error(
            "The session store of Charge Zones (%s) could not be read; restored the "
            "transaction counter (%s) and %s open sessions from its backup; the history "
            "of closed sessions is intact (its own file), the totals per badge and holder "
            "are in the file Home Assistant set aside as corrupt",
            self._entry_id,
            last_transaction_id,
            open_sessions,
        )
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            f"{ISSUE_RESTORED}_{self._entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_RESTORED,
            translation_placeholders={
                "last_transaction_id": str(last_transaction_id),
                "open_sessions": str(open_sessions),
            },
        )

    async def async_save(self) -> None:
        """Write now (before answering a station about a transaction): the small store.

        The store and its backup are two files written side by side (each atomically).
        """
        self._save_due = False  # a delayed write due is replaced by this one ...
        try:
            await self._backup.async_save(self._backup_data())
            await self._store.async_save(self._data())
        finally:
            if self._save_due:  # ... and cancelled by it: a change made meanwhile is due
                self._save_due = False
                self.schedule_save()

    def schedule_save(self) -> None:
        """Write within SAVE_DELAY of this change (meter progress).

        Home Assistant's delayed save waits for SAVE_DELAY without a change: with
        MeterValues arriving more often than that (a few stations every 10 s) it never
        came while cars charged, and a power cut lost hours of sessions' progress. Later
        changes ride on the write already due (which takes the newest data).
        """
        if self._save_due:
            return
        self._save_due = True
        self._backup.async_delay_save(self._backup_data, SAVE_DELAY)
        self._store.async_delay_save(self._due_data, SAVE_DELAY)

    def _due_data(self) -> dict[str, Any]:
        self._save_due = False
        return self._data()

    def find_open(self, station_id: str, connector_id: int) -> ChargingSession | None:
        """The open session of a connector, if any."""
        for session in self.open_of(station_id):
            if session.connector_id == connector_id:
                return session
        return None

    def open_of(self, station_id: str) -> list[ChargingSession]:
        """Open sessions of one station (indexed: no scan of every session)."""
        return list(self._by_station.get(station_id, {}).values())

    def _index(self) -> None:
        self._by_station = {}
        for session in self.open.values():
            self._by_station.setdefault(session.station_id, {})[session.transaction_id] = session

    def _opened(self, session: ChargingSession) -> None:
        self.open[session.key] = session
        self._by_station.setdefault(session.station_id, {})[session.transaction_id] = session
        for listener in list(self.plan_listeners):
            try:
                listener()
            except Exception:
                # A plan that cannot be made must not refuse the station's transaction.
                _LOGGER.exception("Could not plan session %s", session.transaction_id)

    def _removed(self, session: ChargingSession) -> None:
        """An open session closes (the index by station follows `open` exactly)."""
        del self.open[session.key]
        sessions = self._by_station[session.station_id]
        del sessions[session.transaction_id]
        if not sessions:
            del self._by_station[session.station_id]

    async def async_find_closed(
        self, station_id: str, transaction_id: str
    ) -> ChargingSession | None:
        """A closed session of a station: in memory, else in the history."""
        if (waiting := self.pending.get((station_id, transaction_id))) is not None:
            return waiting[0]
        for session in reversed(self.closed):
            if session.transaction_id == transaction_id and session.station_id == station_id:
                return session
        record = await self._hass.async_add_executor_job(
            self.history.find, station_id, transaction_id
        )
        return None if record is None else ChargingSession.from_dict(record)

    async def async_start(
        self,
        *,
        station_id: str,
        connector_id: int,
        id_tag: str,
        holder: str | None,
        auth_status: str,
        meter_start: int,
        started_at: str,
        charging_mode: str | None = None,
        transaction_id: str | None = None,
    ) -> tuple[ChargingSession, list[ChargingSession]]:
        """Open a session (or recognise a retried StartTransaction).

        charging_mode: how it charges if not as its station does (its badge's mode).
        transaction_id: the station's own id for it (None: this hub hands out the next
        number of its counter, as OCPP 1.6 wants).

        Returns the session and any sessions it superseded (closed because the station
        started a new one on the same connector without stopping them).
        """
        current = self.find_open(station_id, connector_id)
        if (
            current is not None
            and current.meter_start == meter_start
            and current.started_at == started_at
            and current.id_tag == id_tag
        ):
            return current, []
        superseded: list[ChargingSession] = []
        if current is not None:
            current.stopped_at = started_at
            current.meter_stop = int(current.last_meter or current.meter_start or meter_start)
            current.stop_reason = "Superseded"
            current.flags.append(FLAG_SUPERSEDED)
            self._close(current)
            self._bill(current)
            superseded.append(current)
        if transaction_id is None:
            self.last_transaction_id += 1
            transaction_id = str(self.last_transaction_id)
        session = ChargingSession(
            transaction_id=transaction_id,
            station_id=station_id,
            connector_id=connector_id,
            id_tag=id_tag,
            holder=holder,
            auth_status=auth_status,
            started_at=started_at,
            meter_start=meter_start,
            last_meter=float(meter_start),
            last_meter_at=started_at,
            charging_mode=charging_mode,
        )
        self._describe(session)
        if auth_status != "Accepted":
            session.flags.append(FLAG_REJECTED)
        self._opened(session)
        await self.async_save()
        return session, superseded

    async def async_stop(
        self,
        *,
        station_id: str,
        transaction_id: str,
        meter_stop: int,
        stopped_at: str,
        reason: str | None,
        id_tag: str | None,
        meter_start_hint: int | None = None,
        started_at_hint: str | None = None,
    ) -> ChargingSession:
        """Close a session; idempotent for a retried StopTransaction.

        A stop of a transaction never seen started (the station charged while Home
        Assistant was down) is billed when its meter start is known (transactionData).
        """
        session = self.open.get((station_id, transaction_id))
        if session is None:
            known = await self.async_find_closed(station_id, transaction_id)
            if known is not None:
                if FLAG_SUPERSEDED in known.flags and (
                    known.meter_stop != meter_stop or known.stopped_at != stopped_at
                ):
                    # The real stop of a session we had to close: take its figures.
                    known.meter_stop = meter_stop
                    known.stopped_at = stopped_at
                    known.stop_reason = reason or "Local"
                    backwards = known.meter_start is not None and meter_stop < known.meter_start
                    if backwards and FLAG_REGISTER_BACKWARDS not in known.flags:
                        known.flags.append(FLAG_REGISTER_BACKWARDS)
                    self._pend(known)
                    await self.async_save()
                    self._flush_soon()
                return known
            session = ChargingSession(
                transaction_id=transaction_id,
                station_id=station_id,
                connector_id=0,
                id_tag=id_tag or "",
                holder=self.context.holder_of(id_tag) if id_tag else None,
                auth_status="Unknown",
                started_at=started_at_hint or stopped_at,
                meter_start=meter_start_hint,
                flags=[FLAG_UNKNOWN_TRANSACTION],
            )
            if meter_start_hint is None:
                session.flags.append(FLAG_NO_METER_START)
            self._describe(session)
            # Ids we could still hand out are skipped, so none is ever given twice; an id
            # far ahead (a station's own numbering) is not followed, or the counter would
            # run towards the 32-bit limit stations store ids in.
            number = as_number(transaction_id)
            if number is not None and number - self.last_transaction_id <= UNKNOWN_ID_FOLLOW:
                self.last_transaction_id = max(self.last_transaction_id, number)
        else:
            self._removed(session)
        if session.last_meter is not None and meter_stop < (
            session.last_meter - REGISTER_TOLERANCE_WH
        ):
            # Below the register its MeterValues showed: the register jumped back.
            session.flag(FLAG_REGISTER_BACKWARDS)
        session.meter_stop = meter_stop
        session.last_meter = float(meter_stop)
        session.last_meter_at = stopped_at
        session.stopped_at = stopped_at
        session.stop_reason = reason or "Local"
        if session.meter_start is not None and meter_stop < session.meter_start:
            session.flag(FLAG_REGISTER_BACKWARDS)
        self._closed(session)
        self._bill(session)
        await self.async_save()
        self._flush_soon()
        return session

    def _close(self, session: ChargingSession) -> None:
        self._removed(session)
        self._closed(session)

    def _closed(self, session: ChargingSession) -> None:
        """A session just closed: kept in memory and in the small store until written."""
        self.closed.append(session)
        if len(self.closed) > 2 * MAX_CLOSED_SESSIONS:
            del self.closed[:-MAX_CLOSED_SESSIONS]
        self.last_closed_by_station[session.station_id] = session
        self.history_count += 1
        self._pend(session)

    def _pend(self, session: ChargingSession) -> None:
        self._generation += 1
        self.pending[session.key] = (session, self._generation)

    # --- the history ------------------------------------------------------------

    def _flush_soon(self) -> None:
        """Write the closed sessions into the history, after the answer has gone out."""
        self._flush_wanted.set()
        if self._flusher is None or self._flusher.done():
            self._flusher = self._hass.async_create_background_task(
                self._flush_loop(), f"{DOMAIN} session history {self._entry_id}"
            )

    async def _flush_loop(self) -> None:
        while self.pending:
            self._flush_wanted.clear()
            if not await self._write_pending():
                # Kept in the small store; tried again at the next session's end.
                return
            if not self._flush_wanted.is_set():
                return

    async def _write_pending(self) -> bool:
        """Write what is pending; True when the history holds it."""
        batch = list(self.pending.items())
        records = [asdict(session) for _key, (session, _gen) in batch]
        try:
            await self._hass.async_add_executor_job(self.history.append, records)
        except Exception as err:  # noqa: BLE001 - a disk error must not lose a session
            self._history_error(err)
            return False
        self._history_failed = False
        for key, (_session, generation) in batch:
            if (now := self.pending.get(key)) is not None and now[1] == generation:
                del self.pending[key]
        self.schedule_save()
        return True

    def _history_error(self, err: Exception) -> None:
        if not self._history_failed:
            _LOGGER.error(
                "Could not use the session history %s (%s); closed sessions stay in the "
                "session store until it can take them",
                self.history.path,
                err,
            )
        self._history_failed = True

    async def async_flush_history(self) -> None:
        """Have the history hold every closed session (before reading it)."""
        if self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)
        if self.pending:
            await self._write_pending()

    async def _read_history[T](self, read: Callable[..., T], *args: Any) -> T:
        """Read the history for an action (an export); unreadable, the action fails.

        An export without the sessions the history holds would look complete.
        """
        try:
            return await self._hass.async_add_executor_job(read, *args)
        except Exception as err:
            self._history_error(err)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="history_unreadable",
                translation_placeholders={"path": str(self.history.path), "error": str(err)},
            ) from err

    async def async_closed_rows(
        self,
        holder_of: Callable[[str], str | None],
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[SessionRow]:
        """Closed sessions stopped in [start, end), as billed, from the history."""
        await self.async_flush_history()
        records = await self._read_history(
            self.history.stopped_between,
            None if start is None else start.timestamp(),
            None if end is None else end.timestamp(),
        )
        sessions = {session.key: session for session in map(ChargingSession.from_dict, records)}
        # Not written yet (the history failing, or a session closed meanwhile).
        for key, (session, _gen) in self.pending.items():
            stopped = datetime.fromisoformat(
                session.stopped_at or session.last_meter_at or session.started_at
            )
            if (start is None or stopped >= start) and (end is None or stopped < end):
                sessions[key] = session
        holders: dict[str, str | None] = {}
        rows: list[SessionRow] = []
        for session in sessions.values():
            tag = session.id_tag
            if tag and tag not in holders:
                holders[tag] = holder_of(tag)
            rows.append(session.row(holders.get(tag) if tag else None))
        return rows

    async def async_seen(self) -> tuple[set[str], set[str]]:
        """Stations and (upper-case) badges with closed sessions kept."""
        await self.async_flush_history()
        stations, tags = await self._read_history(self.history.seen)
        for session, _ in self.pending.values():
            stations.add(session.station_id)
            tags.add(session.id_tag.upper())
        return stations, tags

    def set_holder_mode(self, key: str, mode: str) -> None:
        """A holder's default charging mode for their new sessions ("station": none)."""
        if mode == HOLDER_MODE_STATION:
            self.holder_modes.pop(key, None)
        else:
            self.holder_modes[key] = mode
        self.schedule_save()

    def set_holder_plan(self, key: str, **changes: Any) -> None:
        """Change a holder's departure plan ("departure": "HH:MM" or None, "hours")."""
        plan = {**self.holder_plans.get(key, {}), **changes}
        plan = {k: v for k, v in plan.items() if v is not None}
        if plan:
            self.holder_plans[key] = plan
        else:
            self.holder_plans.pop(key, None)
        self.schedule_save()
        for listener in list(self.plan_listeners):
            listener()

    def holder_mode(self, holder: str | None) -> str | None:
        """A holder's default charging mode (None: as the station)."""
        return self.holder_modes.get(holder_key(holder)) if holder else None

    def set_charging_mode(self, session: ChargingSession, mode: str) -> None:
        """Give an open session its own charging mode (saved soon)."""
        session.charging_mode = mode
        self.schedule_save()

    def record_meter(
        self, transaction_id: str, energy_wh: float, at: str, *, station_id: str, connector_id: int
    ) -> ChargingSession | None:
        """Note the register of an open session (saved soon, not at once).

        Only from its own station and connector: a reading that names another session's
        transaction id is not that session's register.
        """
        session = self.open.get((station_id, transaction_id))
        if session is None or session.connector_id != connector_id:
            return None
        if session.last_meter is None or energy_wh >= session.last_meter:
            session.last_meter = energy_wh
            session.last_meter_at = at
            self._accrue(session, energy_wh, at)
            self.schedule_save()
        elif FLAG_REGISTER_BACKWARDS not in session.flags:
            session.flags.append(FLAG_REGISTER_BACKWARDS)
            self.schedule_save()
        return session

    # --- billing ----------------------------------------------------------------

    def _load_billing(self, data: dict[str, Any], old_closed: list[ChargingSession]) -> None:
        self.badge_totals = {
            tag: BadgeTotal.from_dict(total)
            for tag, total in dict(data.get("badge_totals", {})).items()
        }
        if "holder_totals" in data:
            self.holder_totals = {
                key: ResidentTotal.from_dict(total)
                for key, total in dict(data["holder_totals"]).items()
            }
        else:
            # A store from before the holder totals: start them from the sessions kept
            # (in the old store, else in the history: see async_load).
            self.holder_totals = {}
            for session in old_closed:
                if session.billed:
                    self._credit_holder(session)
        self.station_serials = dict(data.get("station_serials", {}))
        modes = {str(mode) for mode in ChargingMode}
        self.holder_modes = {
            str(k): str(v) for k, v in dict(data.get("holder_modes", {})).items() if v in modes
        }
        self.holder_plans = {str(k): dict(v) for k, v in dict(data.get("holder_plans", {})).items()}
        self.charged_solar_wh = float(data.get("charged_solar_wh", 0.0))
        self.charged_grid_wh = float(data.get("charged_grid_wh", 0.0))

    def _billing_data(self) -> dict[str, Any]:
        return {
            "badge_totals": {tag: t.as_dict() for tag, t in self.badge_totals.items()},
            "holder_totals": {key: t.as_dict() for key, t in self.holder_totals.items()},
            "station_serials": self.station_serials,
            "holder_modes": self.holder_modes,
            "holder_plans": self.holder_plans,
            "charged_solar_wh": self.charged_solar_wh,
            "charged_grid_wh": self.charged_grid_wh,
        }

    def _describe(self, session: ChargingSession) -> None:
        """Note where a new session charges: zone, station serial, tariff currency."""
        session.zone_id, session.zone_name = self.context.zone_of(session.station_id)
        session.station_serial = self.station_serials.get(session.station_id)
        session.priced_to = None if session.meter_start is None else float(session.meter_start)
        session.priced_at = session.started_at
        if (price := self.context.price()) is not None:
            session.cost = 0.0
            session.currency = price.currency

    def _accrue(self, session: ChargingSession, register: float, at: str) -> None:
        """Split the energy drawn since the last meter value, price it at today's prices.

        Split into solar and grid (the building's solar share meanwhile); priced at the
        prices in force now. A reading with the register unchanged moves the start of
        the next interval: the energy drawn later is not from the idle time before.
        """
        if session.priced_to is None:
            return
        if register <= session.priced_to:
            if (moment := self._split_time(at)) is not None:
                session.priced_at = moment
            return
        delta = register - session.priced_to
        session.priced_to = register
        solar = self._split(session, delta, at)
        price = self.context.price()
        if price is None:
            return  # priced at the stop's price (and said so)
        session.cost = (session.cost or 0.0) + self._cost(delta, solar, price)
        session.currency = session.currency or price.currency
        session.priced_wh += delta
        session.priced_solar_wh += solar

    @staticmethod
    def _split_time(at: str) -> str | None:
        """The time a reading stamped ``at`` ends an interval, on Home Assistant's clock.

        A reading stamped within MAX_CLOCK_SKEW of now is live: it ends now (whatever
        the station's clock says). Otherwise (a reading queued offline, a station clock
        off) None: its interval's share cannot be told from the log.
        """
        try:
            stamped = datetime.fromisoformat(at).timestamp()
        except ValueError:
            return None
        now = time.time()
        if abs(stamped - now) > MAX_CLOCK_SKEW:
            return None
        return datetime.fromtimestamp(now, UTC).isoformat()

    def _split(self, session: ChargingSession, delta: float, at: str) -> float:
        """The solar part of energy drawn from ``priced_at`` to ``at`` (Wh), counted.

        Only a live reading (see `_split_time`) takes the share the log noted, from the
        interval's start to now; a reading queued offline, from a station whose clock is
        off or without a time, counts as grid (solar is never invented).
        """
        end = self._split_time(at)
        share = 0.0
        if end is not None and session.priced_at is not None:
            try:
                start = datetime.fromisoformat(session.priced_at).timestamp()
            except ValueError:
                pass
            else:
                stop = datetime.fromisoformat(end).timestamp()
                share = self.context.solar_share(min(start, stop), stop)
        session.priced_at = end or at
        solar = delta * share
        session.solar_wh += solar
        self.charged_solar_wh += solar
        self.charged_grid_wh += delta - solar
        for listener in list(self.energy_listeners):
            listener()
        return solar

    def _cost(self, energy: float, solar: float, price: Price) -> float:
        """The cost of energy of which ``solar`` Wh came from the building's solar."""
        solar_price = self.context.solar_price() or price
        return cost_of(energy - solar, price) + cost_of(solar, solar_price)

    def _bill(self, session: ChargingSession) -> None:
        """Finish a closed session's cost and count it in its badge's totals.

        Called once per session: on the session just taken out of `open`.
        """
        session.billed = True
        energy = session.energy_wh
        if (
            energy is not None
            and session.meter_stop is not None
            and session.priced_to is not None
            and session.meter_stop > session.priced_to
        ):
            # Drawn after the last meter value: split up to the stop.
            unsplit = session.meter_stop - session.priced_to
            session.priced_to = float(session.meter_stop)
            self._split(session, unsplit, session.stopped_at or "")
        price = self.context.price()
        if energy is not None and price is not None:
            tail = energy - session.priced_wh
            if tail > 0:
                # Energy not priced yet (after the last meter value, or while no price
                # was known): its solar part is what was split and not priced.
                solar = min(tail, max(0.0, session.solar_wh - session.priced_solar_wh))
                session.priced_solar_wh += solar
                session.cost = (session.cost or 0.0) + self._cost(tail, solar, price)
                session.currency = session.currency or price.currency
                session.priced_wh = energy
                if price.dynamic:
                    session.estimated_wh = tail
        if session.cost is not None:
            session.cost = round(session.cost, 2)
        tag = session.id_tag.upper()
        self.badge_totals.setdefault(tag, BadgeTotal()).add(session.row())
        for listener in list(self.billing_listeners):
            listener(tag)
        if (key := self._credit_holder(session)) is not None:
            for holder_listener in list(self.holder_listeners):
                holder_listener(key)
            for own in list(self._holder_listeners.get(key, ())):
                own()

    def on_holder_billed(self, key: str, listener: Callable[[], None]) -> Callable[[], None]:
        """Call listener when a session of this holder ends; returns a remover."""
        listeners = self._holder_listeners.setdefault(key, [])
        listeners.append(listener)

        def remove() -> None:
            listeners.remove(listener)
            if not listeners:
                self._holder_listeners.pop(key, None)

        return remove

    def _credit_holder(self, session: ChargingSession) -> str | None:
        """Count a billed session in its holder's totals (the holder when it started).

        A session without a holder (a badge that was not configured) counts for no one.
        Returns the holder's key.
        """
        if not session.holder or not (key := holder_key(session.holder)):
            return None
        total = self.holder_totals.setdefault(key, ResidentTotal(name=session.holder))
        total.name = session.holder
        total.add(session.row())
        return key

    def note_boot(self, station_id: str, serial: str | None) -> list[ChargingSession]:
        """A station booted: its open sessions are flagged if it is another unit now."""
        if not serial:
            return []
        flagged: list[ChargingSession] = []
        for session in self.open_of(station_id):
            if session.station_serial is None:
                session.station_serial = serial
            elif session.station_serial != serial and FLAG_STATION_REPLACED not in session.flags:
                session.flags.append(FLAG_STATION_REPLACED)
                flagged.append(session)
        if self.station_serials.get(station_id) != serial or flagged:
            self.station_serials[station_id] = serial
            self.schedule_save()
        return flagged

    def bump_local_list(self, digest: str) -> int:
        """New list version when the badge list changed."""
        if digest != self.local_list_digest:
            self.local_list_version += 1
            self.local_list_digest = digest
            self.schedule_save()
        return self.local_list_version

    def local_list_room(self, messages: int) -> int:
        """The list version, raised if needed so that `messages` versions end with it.

        A list sent in several messages takes a version per message (each above the
        last); a version below 1 is not one.
        """
        if self.local_list_version < messages:
            self.local_list_version = messages
            self.schedule_save()
        return self.local_list_version

    async def async_flush(self) -> None:
        """Write pending changes (on unload) and close the history."""
        await self.async_flush_history()
        await self.async_save()
        await self._hass.async_add_executor_job(self.history.close)
