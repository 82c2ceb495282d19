"""PV production of the simulated building: a clear or a cloudy day, deterministic per seed.

Two clocks:

- the **scenario clock** ``t``: seconds since the scenario started, the time the stations,
  the meters and the integration live in (`simulator.site.SimulatedSite.t`);
- the **solar clock**: the hour of the simulated day, ``start_hour`` at ``t = 0``, running
  ``compression`` times faster than ``t`` (``day_minutes``: a whole simulated day lasts
  that many real minutes; omitted, the day runs in real time).

The sun follows a bell from sunrise to sunset, ``sin(pi x) ** exponent`` of the day
fraction ``x``, peaking at ``kwp x performance`` kW at solar noon (``performance``, the
share of the nameplate a clear-sky array really gives at noon: temperature, inverter and
wiring losses).

A cloudy day multiplies it by a cloud process that runs on the **scenario** clock, so a
cloud lasts what the integration sees whatever the day's compression (``cloud_scale``
stretches or shrinks every cloud and gap): clear gaps of random length, then clouds of
random length (some shorter than a minute, some several minutes, a few a quarter of an
hour) that drop production to 20-40 % of the clear curve, with edges of one to five
seconds as a cloud's shadow crossing a roof gives. Same seed, same clouds.

A three-phase inverter feeds equal thirds on L1, L2 and L3; a single-phase one (``phases:
l1``, ``l2`` or ``l3``) feeds everything on its phase.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
import math
import random
from typing import Any, Literal

DAY_SECONDS = 86400.0
SOLAR_KEYS = frozenset(
    {
        "kwp",
        "phases",
        "day",
        "seed",
        "day_minutes",
        "start_hour",
        "sunrise",
        "sunset",
        "exponent",
        "performance",
        "cloud_scale",
    }
)
_PHASES = {"l1-l2-l3": (0, 1, 2), "l1": (0,), "l2": (1,), "l3": (2,)}


@dataclass(frozen=True, slots=True)
class Cloud:
    """One passing cloud on the scenario clock (s): production x ``depth`` under it."""

    start: float
    end: float
    depth: float  # 0.2..0.4 of the clear production
    edge: float  # seconds the shadow takes to come (and to go)

    @property
    def duration(self) -> float:
        """How long the cloud lasts (s), edges included."""
        return self.end - self.start

    def factor(self, t: float) -> float:
        """Production factor at ``t`` (1 outside the cloud)."""
        if not self.start <= t < self.end:
            return 1.0
        into = min(t - self.start, self.end - t)
        if into >= self.edge:
            return self.depth
        return 1.0 - (1.0 - self.depth) * into / self.edge


class CloudProcess:
    """Passing clouds, generated lazily along the scenario clock from a seed.

    Clouds come out in order from one random stream, so the clouds up to any time are
    the same whatever was asked before.
    """

    # (share of clouds, shortest s, longest s)
    KINDS = ((0.45, 10.0, 55.0), (0.37, 60.0, 300.0), (0.18, 300.0, 900.0))
    GAP_MEAN = 240.0  # mean clear sky between two clouds (s)

    def __init__(self, seed: int, *, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("cloud_scale must be positive")
        self.seed = seed
        self.scale = scale
        self._random = random.Random(seed)
        self._clouds: list[Cloud] = []
        self._starts: list[float] = []
        self._until = 0.0  # clouds are known up to here

    def _extend(self, t: float) -> None:
        rng = self._random
        while self._until <= t:
            gap = min(max(rng.expovariate(1 / self.GAP_MEAN), 15.0), 1200.0) * self.scale
            pick = rng.random()
            kind = self.KINDS[-1]
            for candidate in self.KINDS:
                if pick < candidate[0]:
                    kind = candidate
                    break
                pick -= candidate[0]
            duration = rng.uniform(kind[1], kind[2]) * self.scale
            depth = rng.uniform(0.2, 0.4)
            edge = min(rng.uniform(1.0, 5.0), duration / 4)
            start = self._until + gap
            cloud = Cloud(start, start + duration, depth, edge)
            self._clouds.append(cloud)
            self._starts.append(cloud.start)
            self._until = cloud.end

    def clouds(self, until: float) -> list[Cloud]:
        """Every cloud starting before ``until`` (scenario s)."""
        self._extend(until)
        return self._clouds[: bisect_right(self._starts, until)]

    def factor(self, t: float) -> float:
        """Production factor at scenario time ``t`` (1 in clear sky, 0.2..0.4 under a cloud)."""
        if t < 0:
            return 1.0
        self._extend(t)
        index = bisect_right(self._starts, t) - 1
        return self._clouds[index].factor(t) if index >= 0 else 1.0


class SolarPlant:
    """A roof PV: production (W) at a scenario time, in total and per phase."""

    def __init__(
        self,
        kwp: float = 10.0,
        *,
        phases: str = "l1-l2-l3",
        day: Literal["clear", "cloudy"] = "clear",
        seed: int = 0,
        day_minutes: float | None = None,
        start_hour: float = 12.0,
        sunrise: float = 6.0,
        sunset: float = 20.0,
        exponent: float = 1.3,
        performance: float = 0.85,
        cloud_scale: float = 1.0,
    ) -> None:
        if kwp < 0:
            raise ValueError("kwp must not be negative")
        if phases.lower() not in _PHASES:
            raise ValueError(f"phases must be one of {', '.join(_PHASES)}, not {phases!r}")
        if day not in ("clear", "cloudy"):
            raise ValueError(f"day must be clear or cloudy, not {day!r}")
        if not 0 <= sunrise < sunset <= 24:
            raise ValueError("sunrise and sunset must be hours with sunrise < sunset")
        if day_minutes is not None and day_minutes <= 0:
            raise ValueError("day_minutes must be positive")
        if exponent <= 0 or not 0 < performance <= 1:
            raise ValueError("exponent must be positive and performance in (0, 1]")
        self.kwp = kwp
        self.phases = _PHASES[phases.lower()]
        self.day = day
        self.seed = seed
        self.day_minutes = day_minutes
        self.start_hour = start_hour % 24
        self.sunrise = sunrise
        self.sunset = sunset
        self.exponent = exponent
        self.performance = performance
        self.clouds = CloudProcess(seed, scale=cloud_scale) if day == "cloudy" else None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SolarPlant:
        """From a scenario's ``pv:`` section (raises ValueError on unknown keys)."""
        if unknown := set(data) - SOLAR_KEYS:
            raise ValueError(f"pv: unknown keys {sorted(unknown)}")
        day_minutes = data.get("day_minutes")
        return cls(
            float(data.get("kwp", 10.0)),
            phases=str(data.get("phases", "l1-l2-l3")),
            day=data.get("day", "clear"),
            seed=int(data.get("seed", 0)),
            day_minutes=None if day_minutes is None else float(day_minutes),
            start_hour=float(data.get("start_hour", 12.0)),
            sunrise=float(data.get("sunrise", 6.0)),
            sunset=float(data.get("sunset", 20.0)),
            exponent=float(data.get("exponent", 1.3)),
            performance=float(data.get("performance", 0.85)),
            cloud_scale=float(data.get("cloud_scale", 1.0)),
        )

    @property
    def compression(self) -> float:
        """Solar seconds per scenario second (1: real time)."""
        return 1.0 if self.day_minutes is None else 1440.0 / self.day_minutes

    @property
    def peak_w(self) -> float:
        """Clear-sky production at solar noon (W)."""
        return self.kwp * 1000.0 * self.performance

    def hour(self, t: float) -> float:
        """Hour of the simulated day (0..24) at scenario time ``t`` (s)."""
        return (self.start_hour + t * self.compression / 3600.0) % 24

    def clear_power(self, hour: float) -> float:
        """Clear-sky production (W) at an hour of the day."""
        hour %= 24
        if not self.sunrise < hour < self.sunset:
            return 0.0
        fraction = (hour - self.sunrise) / (self.sunset - self.sunrise)
        return self.peak_w * float(math.sin(math.pi * fraction) ** self.exponent)

    def power(self, t: float) -> float:
        """Production (W) at scenario time ``t`` (s): the sun, times the clouds if any."""
        clear = self.clear_power(self.hour(t))
        if self.clouds is None or clear == 0.0:
            return clear
        return clear * self.clouds.factor(t)

    def phase_powers(self, t: float) -> tuple[float, float, float]:
        """Production per phase (W) at scenario time ``t``: thirds, or all on one phase."""
        share = self.power(t) / len(self.phases)
        values = [0.0, 0.0, 0.0]
        for phase in self.phases:
            values[phase] = share
        return (values[0], values[1], values[2])

    def expected_day_hours(self) -> float:
        """Equivalent full-nameplate hours of a clear day (energy / kWp), from the formula.

        The integral of sin(pi x) ** k over [0, 1] is Gamma((k+1)/2) / (sqrt(pi) Gamma(k/2+1)).
        """
        k = self.exponent
        bell = math.gamma((k + 1) / 2) / (math.sqrt(math.pi) * math.gamma(k / 2 + 1))
        return self.performance * (self.sunset - self.sunrise) * bell

    def clear_day_wh(self, step: float = 10.0) -> float:
        """Energy (Wh) of a whole clear day, summed over the solar clock (``step`` s)."""
        steps = int(DAY_SECONDS / step)
        return sum(self.clear_power((i + 0.5) * step / 3600.0) for i in range(steps)) * step / 3600

    def energy_wh(self, start: float, end: float, step: float = 1.0) -> float:
        """Energy (Wh) produced between two scenario times (s), as a meter counts it."""
        steps = max(1, round((end - start) / step))
        width = (end - start) / steps
        return sum(self.power(start + (i + 0.5) * width) for i in range(steps)) * width / 3600
