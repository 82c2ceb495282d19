"""The cheapest hours before a departure: when a Scheduled session charges.

A resident sets a departure time and the hours of charging their car needs; their
Scheduled sessions then charge in the cheapest slots of the price forecast between the
session's start and the departure (slots of an hour or a quarter hour, as the forecast
gives them). Pure: the forecast comes from a price entity's attributes (see
``parse_forecast``), the clock from the caller.

Stable while a session lasts: the slots are chosen among all those from the session's
start (its slot included) to the departure, past ones too, so a slot already charged in
stays chosen; only a longer forecast (tomorrow's prices, published in the afternoon) can
move the slots still to come. When the time left is shorter than the hours needed, every
slot left is chosen. Without a forecast covering the time up to the departure, the
caller falls back on the hub's charging window (``None``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
import itertools
import math
from typing import Any

# Keys of a forecast entry: its start, its end (optional), its price. Known formats:
# Nord Pool (custom integration: raw_today/raw_tomorrow, start/end/value), ENTSO-e
# (prices: time/price), EPEX Spot (data: start_time/end_time/price_per_kwh), Octopus
# Energy (rates: start/end/value_inc_vat), and lists of startsAt/total (Tibber's API).
START_KEYS = ("start", "start_time", "startsAt", "time", "from", "begin")
END_KEYS = ("end", "end_time", "endsAt", "till", "to")
PRICE_KEYS = ("value", "price", "price_per_kwh", "total", "value_inc_vat", "price_ct_per_kwh")


@dataclass(frozen=True, slots=True)
class Slot:
    """A span of the price forecast."""

    start: datetime
    end: datetime
    price: float


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else None  # a naive time is no time


def _first(entry: Mapping[str, Any], keys: Sequence[str]) -> Any:
    return next((entry[key] for key in keys if key in entry), None)


def _entries(attributes: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for value in attributes.values():
        if isinstance(value, list | tuple):
            for entry in value:
                if isinstance(entry, Mapping):
                    yield entry


def parse_forecast(attributes: Mapping[str, Any]) -> list[Slot]:
    """The price forecast a price entity's attributes hold (sorted, without overlaps).

    Every list of entries with a start time (timezone-aware) and a number is read; an
    entry without an end lasts until the next one's start (the last one: as long as the
    one before). Entries that are not understood are left out, never guessed.
    """
    raw: dict[datetime, tuple[datetime | None, float]] = {}
    for entry in _entries(attributes):
        start = _time(_first(entry, START_KEYS))
        price = _first(entry, PRICE_KEYS)
        if start is None or isinstance(price, bool) or not isinstance(price, int | float):
            continue
        if not math.isfinite(float(price)):
            continue
        raw[start.astimezone(UTC)] = (_time(_first(entry, END_KEYS)), float(price))
    starts = sorted(raw)
    slots: list[Slot] = []
    for index, start in enumerate(starts):
        end, price = raw[start]
        following = starts[index + 1] if index + 1 < len(starts) else None
        if end is None:
            if following is not None:
                end = following
            elif index > 0:
                end = start + (start - starts[index - 1])
            else:
                end = start + timedelta(hours=1)
        end = end.astimezone(UTC)
        if following is not None:
            end = min(end, following)
        if end > start:
            slots.append(Slot(start, end, price))
    return slots


def next_departure(now: datetime, departure: time) -> datetime:
    """The next time of day ``departure`` after ``now`` (in now's time zone)."""
    moment = now.replace(hour=departure.hour, minute=departure.minute, second=0, microsecond=0)
    return moment if moment > now else moment + timedelta(days=1)


def cheapest_slots(
    slots: Sequence[Slot], start: datetime, departure: datetime, hours: float
) -> list[Slot] | None:
    """The cheapest slots from ``start``'s slot to ``departure`` adding up to ``hours``.

    None when the forecast does not cover the time up to the departure (the caller
    falls back on the hub's window). A forecast that starts after ``start`` (yesterday's
    prices gone at midnight, and not kept) plans from its first slot. The last slot
    chosen may be longer than needed.
    """
    window = [s for s in slots if s.end > start and s.start < departure]
    if not window or window[-1].end < departure or window[0].start >= departure:
        return None
    start = max(start, window[0].start)
    if any(b.start > a.end for a, b in itertools.pairwise(window)):
        return None  # a hole in the forecast
    need = timedelta(hours=max(0.0, hours))
    chosen: list[Slot] = []
    total = timedelta()
    for slot in sorted(window, key=lambda s: (s.price, s.start)):
        if total >= need:
            break
        chosen.append(slot)
        total += min(slot.end, departure) - max(slot.start, start)
    return sorted(chosen, key=lambda s: s.start)


def charging_now(
    slots: Sequence[Slot], started: datetime, departure: time, hours: float, now: datetime
) -> bool | None:
    """Whether a session that started at ``started`` charges now (None: no forecast).

    Its window runs from its start to the next ``departure`` (time of day, in the time
    zone of ``now``); a car still plugged in after it gets the next day's window, from
    that departure to the next.
    """
    start = started.astimezone(now.tzinfo)
    until = next_departure(start, departure)
    while until <= now:
        start, until = until, until + timedelta(days=1)
    chosen = cheapest_slots(slots, start, until, hours)
    if chosen is None:
        return None
    return any(s.start <= now < s.end for s in chosen)
