"""Station models, phase wiring and quirks, as data."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Phase(StrEnum):
    """A phase of the building's supply."""

    L1 = "L1"
    L2 = "L2"
    L3 = "L3"


PHASES: tuple[Phase, ...] = (Phase.L1, Phase.L2, Phase.L3)


class Wiring(StrEnum):
    """How a station's phases are connected to the building's phases.

    Single-phase stations name the phase they sit on; three-phase stations name the
    rotation: the building phases wired to the station's L1, L2 and L3, in order.
    """

    L1 = "L1"
    L2 = "L2"
    L3 = "L3"
    L1_L2_L3 = "L1-L2-L3"
    L2_L3_L1 = "L2-L3-L1"
    L3_L1_L2 = "L3-L1-L2"

    @property
    def grid_phases(self) -> tuple[Phase, ...]:
        """Building phases used, indexed by the station's own phase (L1 first)."""
        return _GRID_PHASES[self]

    @property
    def phase_count(self) -> int:
        """Number of phases the station draws from."""
        return len(_GRID_PHASES[self])

    def to_grid(self, station_phase: Phase) -> Phase | None:
        """Building phase behind one of the station's phases (None if not wired)."""
        return _TO_GRID[self].get(station_phase)


# Asked for every phase of every reading: worked out once per wiring.
_GRID_PHASES: dict[Wiring, tuple[Phase, ...]] = {
    wiring: tuple(Phase(p) for p in wiring.value.split("-")) for wiring in Wiring
}
_TO_GRID: dict[Wiring, dict[Phase, Phase]] = {
    wiring: dict(zip(PHASES, phases, strict=False)) for wiring, phases in _GRID_PHASES.items()
}


@dataclass(frozen=True, slots=True)
class FallbackKeys:
    """Configuration keys of a station's own fallback when the central system is gone.

    Some stations have a setting of their own for this (a "safe current" they fall back
    to when they lose the central system, after a "validity time"); OCPP 1.6 has no
    standard key for it.
    """

    current: str  # the current (A per phase) it falls back to
    timeout: str | None = None  # seconds without the central system before it does


@dataclass(frozen=True, slots=True)
class ModelQuirks:
    """What a station model needs from the central system."""

    label: str
    # Stack level for the profiles Charge Zones sends; None = highest allowed - 1.
    stack_level: int | None
    # Configuration keys that must never be changed automatically.
    protected_keys: frozenset[str] = frozenset()
    # How limits are expressed in the profiles sent (Absolute/Relative; A per phase or W).
    profile_kind: str = "Absolute"
    rate_unit: str = "A"
    # The station's own fallback setting, where the model has one (None: none known).
    fallback_keys: FallbackKeys | None = None


MODELS: dict[str, ModelQuirks] = {
    "standard": ModelQuirks(label="Standard OCPP", stack_level=None),
    # ABB Terra AC rejects a profile at the reported ChargeProfileMaxStackLevel and has
    # boot-looped after aggressive measurand configuration: stack level 0, hands off
    # MeterValuesSampledData. No fallback setting of its own is documented for OCPP:
    # it relies on the fail-safe profile.
    "abb_terra": ModelQuirks(
        label="ABB Terra",
        stack_level=0,
        protected_keys=frozenset({"MeterValuesSampledData"}),
    ),
}


NOMINAL_VOLTAGE = 230.0


def model_quirks(model: str) -> ModelQuirks:
    """Quirks of a model (standard OCPP for an unknown one)."""
    return MODELS.get(model, MODELS["standard"])


def profile_stack_level(model: str, max_stack_level: int | None) -> int:
    """Stack level to use for a model, given what the station reports."""
    quirks = model_quirks(model)
    if quirks.stack_level is not None:
        return quirks.stack_level
    if max_stack_level is None or max_stack_level < 1:
        return 0
    return max_stack_level - 1


def live_stack_level(model: str, max_stack_level: int | None) -> int | None:
    """Stack level of an expiring live limit above a fail-safe profile at level 0.

    The model's level, at least 1; None when the station reports no level above 0.
    """
    if max_stack_level is not None and max_stack_level < 1:
        return None
    return max(1, profile_stack_level(model, max_stack_level))
