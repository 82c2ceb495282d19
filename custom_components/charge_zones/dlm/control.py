"""Regulation over time: other-load estimates and per-station limits.

Estimates do not chase lagging readings; limits cut at once and rise slowly.

Readings lag: a station's MeterValues arrive every few seconds while the DLM meter is
polled every second, so right after a limit change the meter and the stations disagree.
Other loads do not change because of our commands, so the other load behind a meter is
estimated from readings taken after the last limit change has settled; in between the
last settled estimate is kept, and only a rise of the meter that the stations cannot
explain (beyond what they may draw at most) makes it worse.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
import math

from .budget import Triple


@dataclass(frozen=True, slots=True)
class ControlSettings:
    """Timing of the regulation."""

    settle_time: float = 10.0  # after a limit change, before readings are trusted again
    raise_hold: float = 15.0  # an increase waits this long after a station's last change
    change_threshold: float = 0.5  # smaller increases are not worth a profile
    car_margin: float = 2.0  # a car taking less keeps this much above its draw
    car_settle: float = 30.0  # drawing below its limit this long before the draw caps it
    # Seconds a live limit stays valid on a station (it then falls back to the fail-safe
    # profile below it, e.g. while Home Assistant is down); refreshed after a third of it.
    validity: float = 600.0

    @property
    def refresh_after(self) -> float:
        """Age at which a live limit is sent again, so it never lapses while we run."""
        return self.validity / 3


class OtherLoadEstimator:
    """Estimates, per DLM meter and phase, the load that is not our charging."""

    def __init__(self) -> None:
        """Start without a settled estimate."""
        self.settled: dict[str, Triple] = {}

    def estimate(
        self,
        meter: str,
        meter_current: Triple,
        measured: Triple,
        upper: Triple,
        settled_now: bool,
    ) -> Triple:
        """Other load seen by a meter.

        measured: our charging current as last measured (stations or consumption meters).
        upper: the most our charging can be drawing now (limits in force, or measured if
        higher). settled_now: no limit change behind the meter within the settle time, or
        the charging current comes from meters read together with this one.
        """
        floor = _clip(m - u for m, u in zip(meter_current, upper, strict=True))
        if settled_now or meter not in self.settled:
            value = _clip(m - c for m, c in zip(meter_current, measured, strict=True))
            if settled_now:
                self.settled[meter] = value
            else:
                # Nothing settled yet: the conservative side of both readings.
                return _max(value, floor)
        return _max(self.settled[meter], floor)

    def forget(self, meter: str) -> None:
        """Drop a meter (removed or stale)."""
        self.settled.pop(meter, None)


@dataclass(slots=True)
class StationControl:
    """What was last sent to one station, and when."""

    limit: float | None = None
    changed_at: float = -math.inf
    below_since: float | None = None  # the car has drawn well below its limit since

    def next_limit(self, target: float, now: float, settings: ControlSettings) -> float | None:
        """The limit to send now (None: keep the one in force)."""
        if self.limit is None:
            return target
        if math.isclose(target, self.limit, abs_tol=1e-6):
            return None
        if target < self.limit:
            return target  # cut at once
        if now - self.changed_at < settings.raise_hold:
            return None  # rise slowly
        if self.limit > 0 and target - self.limit < settings.change_threshold:
            return None
        return target

    def sent(self, limit: float, now: float) -> None:
        """Record a limit the station accepted."""
        self.limit = limit
        self.changed_at = now

    def car_cap(
        self,
        draw: float | None,
        station_max: float,
        minimum: float,
        now: float,
        settings: ControlSettings,
    ) -> float | None:
        """The maximum a car's own draw justifies (None: not capped by the car)."""
        if draw is None or self.limit is None or self.limit <= 0:
            self.below_since = None
            return None
        if draw >= self.limit - settings.car_margin:
            self.below_since = None
            return None
        if self.below_since is None:
            self.below_since = now
        if now - self.below_since < settings.car_settle:
            return None
        return min(station_max, max(minimum, draw + settings.car_margin))


def _clip(values: Iterable[float]) -> Triple:
    items = [max(0.0, float(v)) for v in values]
    return (items[0], items[1], items[2])


def _max(a: Triple, b: Triple) -> Triple:
    return (max(a[0], b[0]), max(a[1], b[1]), max(a[2], b[2]))
