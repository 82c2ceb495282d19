"""Billing: tariffs, session costs, period exports with totals per badge holder.

Pure (standard library only): the session store feeds it rows and prices, Home Assistant
only reads the price entity and writes the CSV file (in the executor).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
import csv
from dataclasses import dataclass, field
from datetime import datetime
import io
import math
import re
from typing import Any

from .transaction_ids import order_key, public_id

# Session flags. The ones in EXCLUDING_FLAGS keep a session out of the billable totals
# (listed, for the building manager to decide); the others are information.
FLAG_UNKNOWN_TRANSACTION = "unknown_transaction"  # started while Home Assistant was down
FLAG_REGISTER_BACKWARDS = "register_backwards"
FLAG_SUPERSEDED = "superseded"
FLAG_REJECTED = "not_authorized"
FLAG_STATION_REPLACED = "station_replaced"
FLAG_NO_METER_START = "meter_start_unknown"
EXCLUDING_FLAGS = frozenset(
    {
        FLAG_REGISTER_BACKWARDS,
        FLAG_SUPERSEDED,
        FLAG_REJECTED,
        FLAG_STATION_REPLACED,
        FLAG_NO_METER_START,
    }
)

TARIFF_NONE = "none"
TARIFF_FIXED = "fixed"
TARIFF_ENTITY = "entity"
TARIFF_KINDS = [TARIFF_NONE, TARIFF_FIXED, TARIFF_ENTITY]

# MeterValues may carry a register rounded to 0.01 kWh: a stop this far below the last
# one seen is rounding, not a register going backwards.
REGISTER_TOLERANCE_WH = 10.0

CSV_COLUMNS = [
    "transaction_id",
    "station",
    "connector",
    "zone",
    "badge",
    "holder",
    "start",
    "stop",
    "meter_start_wh",
    "meter_stop_wh",
    "energy_wh",
    "energy_kwh",
    "cost",
    "currency",
    "cost_estimated_wh",
    "billable",
    "flags",
    # Added after the others (spreadsheets that read columns by position keep working).
    "solar_kwh",
    "grid_kwh",
]
TOTAL_COLUMNS = [
    "holder",
    "sessions",
    "energy_wh",
    "energy_kwh",
    "cost",
    "currency",
    "flagged_sessions",
    "flagged_energy_wh",
    "solar_kwh",
    "grid_kwh",
]


@dataclass(frozen=True, slots=True)
class Price:
    """A price per kWh in force now."""

    per_kwh: float
    currency: str | None
    dynamic: bool = False  # from a price entity: may change during a session


def price_from_state(state: str | None, unit: str | None, currency: str | None) -> Price | None:
    """The price per kWh a price entity holds (None when unknown).

    The currency comes from the unit ("EUR/kWh") when it has one; a price per MWh or per
    Wh is converted.
    """
    try:
        value = float(state) if state is not None else None
    except ValueError:
        return None
    if value is None or not math.isfinite(value):
        return None
    if unit and "/" in unit:
        money, _, energy = unit.partition("/")
        energy = energy.strip()
        factor = {"kWh": 1.0, "MWh": 0.001, "Wh": 1000.0}.get(energy)
        if factor is None:
            return None
        value *= factor
        currency = money.strip() or currency
    return Price(value, currency, dynamic=True)


def cost_of(energy_wh: float, price: Price) -> float:
    """Cost of an amount of energy at a price per kWh."""
    return energy_wh / 1000.0 * price.per_kwh


# --- solar and grid energy (a self-consumption community) ------------------------------


def solar_fraction(grid_import_w: float | None, pv_w: float | None) -> float:
    """The share of what the building consumes now that its own solar covers (0..1).

    The building's self-consumed solar is shared among all its consumers in proportion
    to their draw, as self-consumption communities bill it: every consumer's draw is
    ``fraction`` solar and the rest grid.

    - ``grid_import_w``: at the grid connection, export negative; None when not known.
    - ``pv_w``: what the PV produces; None without a production sensor (or unknown).

    When unsure, grid (solar is never invented): no grid reading, or an import with no
    production reading, count as grid. Exporting means that everything consumed is
    covered locally. A battery's discharge is not seen: it lowers the solar share.
    """
    if grid_import_w is None or not math.isfinite(grid_import_w):
        return 0.0
    if grid_import_w <= 0:
        return 1.0
    if pv_w is None or not math.isfinite(pv_w) or pv_w <= 0:
        return 0.0
    return pv_w / (pv_w + grid_import_w)


_TRIM_STEP = 3600  # buckets


class SolarShareLog:
    """The building's solar fraction over time, to split energy drawn in any interval.

    Noted every load-management cycle (wall-clock seconds); kept in buckets of
    ``bucket`` seconds (a change is smeared over its bucket) for ``keep`` seconds. A fraction holds until the next note for at
    most ``hold`` seconds: a gap in the notes (Home Assistant stopped, load management
    stalled) counts as grid, as does any time before the first note or older than the
    log (offline-queued readings of long ago).
    """

    def __init__(self, bucket: float = 1.0, keep: float = 24 * 3600.0, hold: float = 5.0) -> None:
        """An empty log (a day of 1 s buckets: 0.7 MB)."""
        self._bucket = bucket
        self._size = max(1, math.ceil(keep / bucket))
        self._hold = hold
        self._first = 0  # bucket number of _sums[0]
        self._sums = array("d")  # per bucket: the integral of the fraction (s)
        self._last: tuple[float, float] | None = None  # time, fraction

    @property
    def fraction(self) -> float | None:
        """The last fraction noted."""
        return None if self._last is None else self._last[1]

    def note(self, at: float, fraction: float) -> None:
        """The fraction from now on (a time not after the last note only replaces it)."""
        fraction = min(1.0, max(0.0, fraction))
        if self._last is not None and at < self._last[0] - 60.0:
            # The clock was set back: what was noted is on the wrong clock.
            del self._sums[:]
            self._last = None
        if self._last is not None and at > self._last[0]:
            start, value = self._last
            self._add(start, min(at, start + self._hold), value)
        if self._last is None or at >= self._last[0]:
            self._last = (at, fraction)

    def _add(self, start: float, end: float, value: float) -> None:
        if value <= 0 or end <= start:
            return
        if not self._sums:
            self._first = math.floor(start / self._bucket)
        while start < end:
            number = math.floor(start / self._bucket)
            stop = min(end, (number + 1) * self._bucket)
            index = number - self._first
            if index < 0:
                start = stop
                continue
            if index >= len(self._sums) + self._size:
                # The clock jumped ahead by more than the log keeps: start it afresh.
                del self._sums[:]
                self._first, index = number, 0
            if index >= len(self._sums):
                self._sums.frombytes(bytes(8 * (index + 1 - len(self._sums))))
            self._sums[index] += value * (stop - start)
            start = stop
        if len(self._sums) > self._size + min(_TRIM_STEP, self._size):
            # Trimmed an hour at a time (not a bucket a second: each trim moves the day).
            drop = len(self._sums) - self._size
            del self._sums[:drop]
            self._first += drop

    def _integral(self, start: float, end: float) -> float:
        """The fraction's integral over [start, end] (s), the held last value included.

        A past bucket's integral is spread over the bucket (a gap in it counts as grid);
        the bucket of the last note over the part of it noted so far.
        """
        total = 0.0
        if self._sums and self._last is not None:
            last_at = self._last[0]
            current = math.floor(last_at / self._bucket)
            first = max(start, self._first * self._bucket)
            while first < end:
                number = math.floor(first / self._bucket)
                index = number - self._first
                if index >= len(self._sums) or number > current:
                    break
                begin = number * self._bucket
                stop = min(end, begin + self._bucket)
                if number < current:
                    total += self._sums[index] * (stop - first) / self._bucket
                elif last_at > begin and (part := min(stop, last_at) - first) > 0:
                    total += self._sums[index] * part / (last_at - begin)
                first = stop
        if self._last is not None:
            at, value = self._last
            held_from, held_to = max(start, at), min(end, at + self._hold)
            if held_to > held_from:
                total += value * (held_to - held_from)
        return total

    def share(self, start: float, end: float) -> float:
        """The average fraction over [start, end]: the solar share of energy drawn then.

        An interval of no length (or a reading out of order) takes the fraction around
        its end.
        """
        if end - start < 1.0:
            start = end - 1.0
        return min(1.0, max(0.0, self._integral(start, end) / (end - start)))


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A closed session as billed."""

    transaction_id: str
    station_id: str
    connector_id: int
    zone_id: str | None
    zone: str | None
    id_tag: str
    holder: str
    started_at: datetime
    stopped_at: datetime
    meter_start: int | None
    meter_stop: int | None
    energy_wh: float | None
    cost: float | None
    currency: str | None
    estimated_wh: float
    flags: tuple[str, ...]
    solar_wh: float | None = None  # of energy_wh, from the building's solar

    @property
    def solar(self) -> float | None:
        """Energy from the building's solar (Wh), never more than the session's."""
        if self.energy_wh is None:
            return None
        return min(self.energy_wh, max(0.0, self.solar_wh or 0.0))

    @property
    def grid(self) -> float | None:
        """Energy from the grid (Wh): the rest."""
        solar = self.solar
        return None if self.energy_wh is None or solar is None else self.energy_wh - solar

    @property
    def billable(self) -> bool:
        """Counted in the totals: a known energy and no excluding flag."""
        return self.energy_wh is not None and not EXCLUDING_FLAGS.intersection(self.flags)

    def as_dict(self) -> dict[str, Any]:
        """Response data of the export action."""
        return {
            "transaction_id": public_id(self.transaction_id),
            "station": self.station_id,
            "connector": self.connector_id,
            "zone": self.zone,
            "zone_id": self.zone_id,
            "badge": self.id_tag,
            "holder": self.holder,
            "start": self.started_at.isoformat(),
            "stop": self.stopped_at.isoformat(),
            "meter_start_wh": self.meter_start,
            "meter_stop_wh": self.meter_stop,
            "energy_wh": _wh(self.energy_wh),
            "energy_kwh": _kwh(self.energy_wh),
            **_split_kwh(self.energy_wh, self.solar),
            "cost": _money(self.cost),
            "currency": self.currency,
            "cost_estimated_wh": _wh(self.estimated_wh),
            "billable": self.billable,
            "flags": list(self.flags),
        }


@dataclass(slots=True)
class BadgeTotal:
    """Cumulative figures of one badge, kept forever (never lowered by pruning)."""

    energy_wh: float = 0.0
    sessions: int = 0
    cost: float = 0.0
    currency: str | None = None
    flagged_sessions: int = 0
    last: dict[str, Any] | None = None
    solar_wh: float = 0.0  # of energy_wh, from the building's solar

    @property
    def grid_wh(self) -> float:
        """Of energy_wh, from the grid."""
        return max(0.0, self.energy_wh - self.solar_wh)

    def add(self, row: SessionRow) -> None:
        """Count a closed session once: billable ones in the totals, flagged ones apart."""
        if row.billable:
            self.sessions += 1
            self.energy_wh += row.energy_wh or 0.0
            self.solar_wh += row.solar or 0.0
            if row.cost is not None:
                self.cost = round(self.cost + row.cost, 2)
                self.currency = row.currency or self.currency
        else:
            self.flagged_sessions += 1
        self.last = {
            "transaction_id": public_id(row.transaction_id),
            "station": row.station_id,
            "connector": row.connector_id,
            "zone": row.zone,
            "started_at": row.started_at.isoformat(),
            "stopped_at": row.stopped_at.isoformat(),
            "energy_kwh": _kwh(row.energy_wh),
            **_split_kwh(row.energy_wh, row.solar),
            "cost": _money(row.cost),
            "currency": row.currency,
            "cost_estimated_wh": _wh(row.estimated_wh),
            "billable": row.billable,
            "flags": list(row.flags),
        }

    def as_dict(self) -> dict[str, Any]:
        """Stored form."""
        return {
            "energy_wh": self.energy_wh,
            "sessions": self.sessions,
            "cost": self.cost,
            "currency": self.currency,
            "flagged_sessions": self.flagged_sessions,
            "last": self.last,
            "solar_wh": self.solar_wh,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BadgeTotal:
        """Rebuild from storage."""
        return cls(
            energy_wh=float(data.get("energy_wh", 0.0)),
            sessions=int(data.get("sessions", 0)),
            cost=float(data.get("cost", 0.0)),
            currency=data.get("currency"),
            flagged_sessions=int(data.get("flagged_sessions", 0)),
            last=data.get("last"),
            solar_wh=float(data.get("solar_wh", 0.0)),
        )


@dataclass(slots=True)
class ResidentTotal(BadgeTotal):
    """Cumulative figures of one badge holder over all their badges, kept forever.

    Credited with the holder a session had when it started; ``name`` is the holder's name
    as last billed (the key is the normalised name).
    """

    name: str = ""

    def add(self, row: SessionRow) -> None:
        """Count a closed session once; the last one also says which badge it was."""
        BadgeTotal.add(self, row)
        if self.last is not None:
            self.last["tag"] = row.id_tag

    def as_dict(self) -> dict[str, Any]:
        """Stored form."""
        return {"name": self.name, **BadgeTotal.as_dict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResidentTotal:
        """Rebuild from storage."""
        base = BadgeTotal.from_dict(data)
        return cls(
            energy_wh=base.energy_wh,
            sessions=base.sessions,
            cost=base.cost,
            currency=base.currency,
            flagged_sessions=base.flagged_sessions,
            last=base.last,
            solar_wh=base.solar_wh,
            name=str(data.get("name", "")),
        )


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Which sessions an export takes: stopped in [start, end), optionally narrowed."""

    start: datetime
    end: datetime
    stations: frozenset[str] | None = None  # OCPP ids
    tags: frozenset[str] | None = None  # upper case
    zones: frozenset[str] | None = None  # zone subentry ids

    def accepts(self, row: SessionRow) -> bool:
        """Whether a session belongs to the export."""
        if not self.start <= row.stopped_at < self.end:
            return False
        if self.stations is not None and row.station_id not in self.stations:
            return False
        if self.tags is not None and row.id_tag.upper() not in self.tags:
            return False
        return self.zones is None or row.zone_id in self.zones


@dataclass(slots=True)
class HolderTotal:
    """What one badge holder charged in a period."""

    sessions: int = 0
    energy_wh: float = 0.0
    cost: float | None = None
    currencies: set[str] = field(default_factory=set)
    flagged_sessions: int = 0
    flagged_energy_wh: float = 0.0
    solar_wh: float = 0.0

    def add(self, row: SessionRow) -> None:
        """Count a session (billable, or flagged apart)."""
        if not row.billable:
            self.flagged_sessions += 1
            self.flagged_energy_wh += row.energy_wh or 0.0
            return
        self.sessions += 1
        self.energy_wh += row.energy_wh or 0.0
        self.solar_wh += row.solar or 0.0
        if row.cost is not None:
            self.cost = (self.cost or 0.0) + row.cost
            if row.currency:
                self.currencies.add(row.currency)

    @property
    def currency(self) -> str | None:
        """The currency of the cost (several joined if the tariff changed currency)."""
        return ", ".join(sorted(self.currencies)) or None

    def as_dict(self) -> dict[str, Any]:
        """Response data."""
        return {
            "sessions": self.sessions,
            "energy_wh": _wh(self.energy_wh),
            "energy_kwh": _kwh(self.energy_wh),
            **_split_kwh(self.energy_wh, self.solar_wh),
            "cost": _money(self.cost),
            "currency": self.currency,
            "flagged_sessions": self.flagged_sessions,
            "flagged_energy_wh": _wh(self.flagged_energy_wh),
        }


def select(rows: Iterable[SessionRow], export: ExportFilter) -> list[SessionRow]:
    """The sessions of an export, by stop time."""
    return sorted(
        (row for row in rows if export.accepts(row)),
        key=lambda row: (row.stopped_at, order_key(row.transaction_id)),
    )


def totals(rows: Iterable[SessionRow]) -> dict[str, HolderTotal]:
    """Totals per badge holder (holders sorted by name)."""
    result: dict[str, HolderTotal] = {}
    for row in rows:
        result.setdefault(row.holder, HolderTotal()).add(row)
    return dict(sorted(result.items(), key=lambda item: item[0].casefold()))


def csv_text(rows: list[SessionRow], by_holder: dict[str, HolderTotal]) -> str:
    """The CSV file: one line per session, a blank line, then the totals per holder."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        data = row.as_dict() | {
            "billable": "yes" if row.billable else "no",
            "flags": " ".join(row.flags),
        }
        writer.writerow([_cell(data[column]) for column in CSV_COLUMNS])
    writer.writerow([])
    writer.writerow(TOTAL_COLUMNS)
    for holder, total in by_holder.items():
        data = total.as_dict()
        writer.writerow([_cell(holder), *(_cell(data[column]) for column in TOTAL_COLUMNS[1:])])
    return out.getvalue()


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def export_filename(name: str | None, start: datetime, end: datetime) -> str:
    """A safe file name for an export (never a path)."""
    if name:
        stem = _UNSAFE.sub("_", name.strip()).strip("._") or "sessions"
        stem = stem.removesuffix(".csv").removesuffix("_csv")
    else:
        stem = f"sessions_{start:%Y-%m-%d}_{end:%Y-%m-%d}"
    return f"{stem}.csv"


def _cell(value: Any) -> Any:
    """A CSV cell; text a spreadsheet would run as a formula is quoted with a leading '."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


# Text starting with these is a formula in Excel/LibreOffice (CSV injection).
_FORMULA_STARTS = frozenset("=+-@\t\r")


def _split_kwh(energy_wh: float | None, solar_wh: float | None) -> dict[str, float | None]:
    """Solar and grid kWh as shown, adding up to the rounded total exactly."""
    energy, solar = _kwh(energy_wh), _kwh(solar_wh)
    if energy is None or solar is None:
        return {"solar_kwh": None, "grid_kwh": None}
    solar = min(solar, energy)
    return {"solar_kwh": solar, "grid_kwh": round(energy - solar, 3)}


def _wh(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _kwh(value: float | None) -> float | None:
    return None if value is None else round(value / 1000.0, 3)


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
