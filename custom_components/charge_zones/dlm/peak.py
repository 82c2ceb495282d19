"""The site's peak limit: keep the building's 15-minute average import under a target.

Many grid tariffs bill the highest 15-minute average power drawn from the grid. The
window is the clock's quarter hour (:00, :15, :30, :45, as meters bill it). Each load
management cycle adds the import measured at the grid connection (export counts as 0:
it does not lower a billed peak) to the window's energy; what is left of the window's
allowance (target x 15 min - energy so far) spread over the time left is the import
allowed from now on. The charging stations may draw that minus what the rest of the
building draws (the grid import minus what the stations draw, see RestOfBuilding).

When unsure, less: the part of the quarter hour before the first reading (a start of
Home Assistant) and a gap in the readings longer than `MAX_GAP` count as the target or
the import measured, whichever is higher; near the window's end the time left counts as
at least `MIN_HORIZON`, so a nearly spent window does not let a burst through.

No Home Assistant import here.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

WINDOW = 900.0  # seconds: the billing period of a peak tariff
MAX_GAP = 10.0  # seconds between readings counted as measured
MIN_HORIZON = 60.0  # seconds: the time left is never counted as less


@dataclass(slots=True)
class PeakWindow:
    """The import energy of the current quarter hour (wall-clock seconds, watts)."""

    target: float  # W: the highest 15-minute average import wanted
    start: float | None = None  # the window's start (epoch seconds)
    energy: float = 0.0  # J imported in the window so far
    last_at: float | None = None
    last_power: float = 0.0

    def add(self, at: float, import_power: float) -> None:
        """Count the import from the last reading to this one (left Riemann sum)."""
        power = max(0.0, import_power)
        start = math.floor(at / WINDOW) * WINDOW
        if self.last_at is None or at <= self.last_at:
            if self.start != start:
                # The quarter hour began before the first reading: what was imported
                # until now is unknown, counted at the target or this import if higher.
                self.start = start
                self.energy = max(power, self.target) * (at - start)
            self.last_at, self.last_power = at, power
            return
        since = self.last_at
        assumed = self._assumed(at - self.last_at)
        while since < at:
            window_start = math.floor(since / WINDOW) * WINDOW
            if self.start != window_start:
                self.start, self.energy = window_start, 0.0
            until = min(at, window_start + WINDOW)
            self.energy += assumed * (until - since)
            since = until
        if self.start != start:
            self.start, self.energy = start, 0.0
        self.last_at, self.last_power = at, power

    def _assumed(self, gap: float) -> float:
        """The import counted between two readings: the earlier one's, or more on a gap."""
        if gap > MAX_GAP:
            return max(self.last_power, self.target)
        return self.last_power

    def average(self, at: float) -> float | None:
        """The window's average import so far (W), None before a whole second of it."""
        if self.start is None or self.last_at is None:
            return None
        elapsed = min(at, self.last_at) - self.start
        if elapsed < 1.0 or math.floor(at / WINDOW) * WINDOW != self.start:
            return None
        return self.energy / elapsed

    def allowed(self, at: float) -> float:
        """The import allowed from now to the window's end (W), never below 0."""
        if self.start is None or math.floor(at / WINDOW) * WINDOW != self.start:
            return self.target
        left = max(MIN_HORIZON, self.start + WINDOW - at)
        return max(0.0, (self.target * WINDOW - self.energy) / left)


@dataclass(slots=True)
class RestOfBuilding:
    """What the building draws beside the charging stations (W; negative: solar surplus).

    Estimated as the zones' other load is (dlm.control).

    The stations' readings lag the grid meter: a car that starts draws before its first
    reading says so, a paused one still shows its last reading for a while. Taken as the
    rest of the building rising and falling, those lags switched cars on and off every
    few seconds under the limit. So the rest is measured when every station's reading
    shows what it draws under its limit now (settled), and kept in between, raised
    only where the grid import minus the most the stations may draw shows more.
    """

    settled: float | None = None
    settled_at: float = 0.0

    def estimate(
        self,
        grid_import: float,
        measured: float,
        upper: float,
        settled_now: bool,
        now: float = 0.0,
        hold: float = math.inf,
    ) -> float:
        """The rest now.

        grid_import: measured now (export negative); measured: what the stations'
        readings show; upper: the most they may draw now (their limits in force). A
        settled rest is kept at most `hold` seconds (a few of the stations' reading
        intervals): if nothing settles again by then (limits changing all the time), the
        stations count at what they showed (the higher rest), and a rest measured
        while the roof exported is not kept after the sun has gone.
        """
        value = grid_import - measured
        if settled_now:
            self.settled, self.settled_at = value, now
            return value
        if self.settled is None or now - self.settled_at > hold:
            return value  # the stations counted at what they showed: the higher rest
        return max(self.settled, grid_import - upper)

    def forget(self) -> None:
        """No grid reading: start again from the next settled one."""
        self.settled = None


def charging_room(allowed: float, rest: float) -> float:
    """The power the charging stations may draw (W).

    allowed: the import allowed now; rest: what the rest of the building draws (see
    RestOfBuilding; a station without a reading counts as drawing nothing, its draw
    the rest's, the safe side). The rest may be negative (the roof's production beyond
    it): the stations may use that too without importing more.
    """
    return max(0.0, allowed - rest)
