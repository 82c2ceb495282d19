"""MeterValues parsing: every measurand, phase, unit, context and location.

Per-phase values are kept per phase, never averaged away. Values are normalised to
base units (Wh, W, varh, var, VA, A, V, %, Celsius, Hz).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
import math
from typing import Any

from .models import PHASES, Phase

ENERGY_IMPORT = "Energy.Active.Import.Register"
POWER_IMPORT = "Power.Active.Import"
CURRENT_IMPORT = "Current.Import"
CURRENT_OFFERED = "Current.Offered"
VOLTAGE = "Voltage"
SOC = "SoC"

# unit -> (base unit, factor)
_UNITS: dict[str, tuple[str, float]] = {
    "Wh": ("Wh", 1.0),
    "kWh": ("Wh", 1000.0),
    "varh": ("varh", 1.0),
    "kvarh": ("varh", 1000.0),
    "W": ("W", 1.0),
    "kW": ("W", 1000.0),
    "VA": ("VA", 1.0),
    "kVA": ("VA", 1000.0),
    "var": ("var", 1.0),
    "kvar": ("var", 1000.0),
    "A": ("A", 1.0),
    "V": ("V", 1.0),
    "Celsius": ("Celsius", 1.0),
    "Fahrenheit": ("Fahrenheit", 1.0),
    "K": ("K", 1.0),
    "Percent": ("Percent", 1.0),
}

# OCPP 1.6 default unit per measurand family when the station sends none.
_DEFAULT_UNITS: tuple[tuple[str, str], ...] = (
    ("Energy.Reactive", "varh"),
    ("Energy", "Wh"),
    ("Power.Reactive", "var"),
    ("Power", "W"),
    ("Current", "A"),
    ("Voltage", "V"),
    ("SoC", "Percent"),
    ("Temperature", "Celsius"),
    ("Frequency", "Hz"),
    ("RPM", "RPM"),
)

_PHASE_MAP: dict[str, Phase] = {
    "L1": Phase.L1,
    "L2": Phase.L2,
    "L3": Phase.L3,
    "L1-N": Phase.L1,
    "L2-N": Phase.L2,
    "L3-N": Phase.L3,
}


# The largest magnitude a sampled value may have in base units (exact in a JSON number).
MAX_VALUE = float(2**53)


class MeterValueError(ValueError):
    """A sampled value that cannot be understood."""


class MeterValueRangeError(MeterValueError):
    """A sampled value that is a number, but not a possible one."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One sampled value, in base units."""

    measurand: str
    value: float
    unit: str
    timestamp: datetime
    phase: str | None = None
    location: str | None = None
    context: str | None = None

    @property
    def station_phase(self) -> Phase | None:
        """The station phase this sample belongs to (L1-N counts as L1)."""
        return _PHASE_MAP.get(self.phase) if self.phase else None


def parse_timestamp(value: str | None, default: datetime | None = None) -> datetime:
    """Parse an OCPP timestamp (ISO 8601); naive times are taken as UTC."""
    if not value:
        return default or datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError) as err:
        raise MeterValueError(f"invalid timestamp {value!r}") from err
    # Kept a year away from datetime's limits: shown in any time zone, compared, or
    # extended by a duration, it must never overflow.
    if not 1 < parsed.year < 9999:
        raise MeterValueError(f"timestamp {value!r} is out of range")
    return parsed


def _default_unit(measurand: str) -> str:
    for prefix, unit in _DEFAULT_UNITS:
        if measurand.startswith(prefix):
            return unit
    return ""


def parse_sampled_value(raw: Mapping[str, Any], timestamp: datetime) -> Sample | None:
    """Parse one sampledValue (snake_case keys); None for signed/opaque data."""
    if raw.get("format") == "SignedData":
        return None
    measurand = raw.get("measurand") or ENERGY_IMPORT
    unit = raw.get("unit") or _default_unit(measurand)
    try:
        value = float(raw["value"])
    except (KeyError, TypeError, ValueError) as err:
        raise MeterValueError(f"non-numeric value for {measurand}: {raw.get('value')!r}") from err
    if not math.isfinite(value):
        raise MeterValueError(f"non-finite value for {measurand}: {raw.get('value')!r}")
    base, factor = _UNITS.get(unit, (unit, 1.0))
    value *= factor
    if abs(value) > MAX_VALUE:
        raise MeterValueRangeError(f"{measurand} {raw.get('value')} {unit} is out of range")
    if value < 0 and measurand.startswith("Energy") and measurand.endswith("Register"):
        raise MeterValueRangeError(f"negative register {measurand}: {raw.get('value')!r}")
    return Sample(
        measurand=measurand,
        value=value,
        unit=base,
        timestamp=timestamp,
        phase=raw.get("phase"),
        location=raw.get("location"),
        context=raw.get("context"),
    )


def parse_meter_values(meter_value: Iterable[Mapping[str, Any]]) -> list[Sample]:
    """Parse the meterValue list of a MeterValues or StopTransaction payload."""
    samples: list[Sample] = []
    for entry in meter_value:
        timestamp = parse_timestamp(entry.get("timestamp"))
        for raw in entry.get("sampled_value", ()):
            sample = parse_sampled_value(raw, timestamp)
            if sample is not None:
                samples.append(sample)
    return samples


SampleKey = tuple[str, str | None, str | None]


@dataclass(slots=True)
class Measurements:
    """The latest value of every (measurand, phase, location) a connector reported."""

    samples: dict[SampleKey, Sample] = field(default_factory=dict)
    # Values derived from the samples, asked for by every entity after each message:
    # worked out once per change of the samples.
    _derived: dict[tuple[str, str, str | None], Any] = field(
        default_factory=dict, repr=False, compare=False
    )

    def update(self, samples: Iterable[Sample]) -> None:
        """Keep the newest sample of each key."""
        self._derived.clear()
        for sample in samples:
            key = (sample.measurand, sample.phase, sample.location)
            old = self.samples.get(key)
            if old is None or sample.timestamp >= old.timestamp:
                self.samples[key] = sample

    def forget(self, keep: Callable[[SampleKey], bool]) -> None:
        """Drop the samples whose key `keep` refuses."""
        self._derived.clear()
        for key in [k for k in self.samples if not keep(k)]:
            del self.samples[key]

    def _pick(self, measurand: str, phase: str | None = None) -> Sample | None:
        """Newest sample of a measurand/phase, preferring the outlet location."""
        best: Sample | None = None
        for (m, p, loc), sample in self.samples.items():
            if m != measurand or p != phase:
                continue
            if best is None or (loc in (None, "Outlet") and best.location not in (None, "Outlet")):
                best = sample
        return best

    def value(self, measurand: str, phase: str | None = None) -> float | None:
        """Value of a measurand (optionally of one phase)."""
        key = ("value", measurand, phase)
        if key not in self._derived:
            sample = self._pick(measurand, phase)
            self._derived[key] = sample.value if sample else None
        value: float | None = self._derived[key]
        return value

    def per_phase(self, measurand: str) -> dict[Phase, float]:
        """Per-phase values of a measurand, keyed by the station's phases."""
        key = ("per_phase", measurand, None)
        if key in self._derived:
            return dict(self._derived[key])
        result: dict[Phase, float] = {}
        for (m, p, _loc), sample in self.samples.items():
            if (
                m == measurand
                and p
                and (phase := sample.station_phase) is not None
                and (phase not in result or sample.location in (None, "Outlet"))
            ):
                result[phase] = sample.value
        self._derived[key] = result
        return dict(result)

    def total(self, measurand: str) -> float | None:
        """Value without phase, else the sum over the phases."""
        value = self.value(measurand)
        if value is not None:
            return value
        phases = self.per_phase(measurand)
        return sum(phases[p] for p in PHASES if p in phases) if phases else None

    @property
    def energy_wh(self) -> float | None:
        """Active energy import register (Wh)."""
        return self.total(ENERGY_IMPORT)

    @property
    def power_w(self) -> float | None:
        """Active power import (W)."""
        return self.total(POWER_IMPORT)

    @property
    def current_offered(self) -> float | None:
        """Current offered to the car (A)."""
        return self.value(CURRENT_OFFERED)
