"""Budgets per zone and phase, from DLM meter readings: the capacity graph of a cycle.

For a zone Z behind DLM meter M, on phase p (domain notes):
    other_load(M, p) = M.current(p) - charging_current(zones behind M, p), never below 0
    budget(Z, p)     = min(Z.max_current, M.amperage - other_load(M, p)) over its meters,
                       and never more than its parent zone's budget.
A meter in front of several zones becomes a node above them all: its room is shared, not
granted to each in full. A stale or missing DLM meter puts its zones (and the zones
nested in them) into fail-safe. A negative room is no room; an unknown value is never
room.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .allocate import PHASE_COUNT, Node

Triple = tuple[float, float, float]
ZERO: Triple = (0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    """A zone as configured."""

    key: str
    max_current: float
    phases: tuple[int, ...] = (0, 1, 2)
    parent: str | None = None
    dlm_meters: tuple[str, ...] = ()
    consumption_meter: str | None = None
    failsafe_current: float = 6.0
    stale_after: float = 10.0


@dataclass(frozen=True, slots=True)
class MeterState:
    """A DLM meter's rating and latest good reading (None: never read)."""

    key: str
    amperage: float
    current: Triple | None = None
    at: float | None = None  # monotonic time of the reading

    def age(self, now: float) -> float | None:
        """Seconds since the last good reading (None when there was none)."""
        return None if self.at is None else max(0.0, now - self.at)


@dataclass(frozen=True, slots=True)
class Failsafe:
    """Why a zone is in fail-safe."""

    meter: str
    age: float | None  # None: never read, or the meter is missing
    stale_after: float


@dataclass(slots=True)
class Budget:
    """What one cycle computed for the zones."""

    nodes: dict[str, Node] = field(default_factory=dict)
    zone_budget: dict[str, Triple] = field(default_factory=dict)
    failsafe: dict[str, Failsafe] = field(default_factory=dict)
    other_load: dict[str, Triple] = field(default_factory=dict)
    headroom: dict[str, Triple] = field(default_factory=dict)


def meter_node_key(meter: str) -> str:
    """Key of the node of a DLM meter shared by several zones."""
    return f"meter:{meter}"


def zone_chain(zones: Mapping[str, ZoneSpec], key: str) -> list[str]:
    """The zone and its parents, nearest first (stops at a cycle or unknown parent)."""
    chain: list[str] = []
    current: str | None = key
    while current is not None and current in zones and current not in chain:
        chain.append(current)
        current = zones[current].parent
    return chain


def fronted_zones(zones: Mapping[str, ZoneSpec]) -> dict[str, list[str]]:
    """For each DLM meter, the topmost zones listing it (nested ones inherit it)."""
    result: dict[str, list[str]] = {}
    for zone in zones.values():
        for meter in zone.dlm_meters:
            above = zone_chain(zones, zone.key)[1:]
            if any(meter in zones[parent].dlm_meters for parent in above):
                continue
            result.setdefault(meter, []).append(zone.key)
    return result


def compute(
    zones: Mapping[str, ZoneSpec],
    meters: Mapping[str, MeterState],
    estimates: Mapping[str, Triple],
    now: float,
) -> Budget:
    """Capacity nodes for the allocator, fail-safe zones, and the figures shown.

    `estimates` is the other load each DLM meter sees (from `OtherLoadEstimator`).
    """
    budget = Budget()
    fronted = fronted_zones(zones)

    # Fail-safe: any stale DLM meter of the zone or of a zone it is nested in.
    for zone in zones.values():
        for key in zone_chain(zones, zone.key):
            spec = zones[key]
            for meter_key in spec.dlm_meters:
                meter = meters.get(meter_key)
                age = meter.age(now) if meter is not None else None
                if age is None or age > spec.stale_after:
                    budget.failsafe.setdefault(zone.key, Failsafe(meter_key, age, spec.stale_after))

    # Room left by each DLM meter.
    for meter_key in fronted:
        meter = meters.get(meter_key)
        other = estimates.get(meter_key)
        if meter is None or other is None or meter.current is None:
            room = ZERO
        else:
            room = _triple(max(0.0, meter.amperage - other[p]) for p in range(PHASE_COUNT))
            budget.other_load[meter_key] = other
        budget.headroom[meter_key] = room

    # Zone nodes: the breaker on the zone's phases, folded with a meter only it is behind.
    for zone in zones.values():
        caps = [zone.max_current if p in zone.phases else 0.0 for p in range(PHASE_COUNT)]
        parents: list[str] = []
        if zone.parent is not None and zone.parent in zones:
            parents.append(zone.parent)
        for meter_key, behind in fronted.items():
            if zone.key not in behind:
                continue
            room = budget.headroom[meter_key]
            if len(behind) == 1:
                caps = [min(c, r) for c, r in zip(caps, room, strict=True)]
            else:
                node_key = meter_node_key(meter_key)
                budget.nodes.setdefault(node_key, Node(node_key, room))
                parents.append(node_key)
        budget.nodes[zone.key] = Node(zone.key, _triple(caps), tuple(parents))

    # The budget shown per zone: its own capacity bounded by everything above it.
    for zone in zones.values():
        budget.zone_budget[zone.key] = _bounded(budget.nodes, zone.key)
    return budget


def _bounded(nodes: Mapping[str, Node], key: str) -> Triple:
    caps = list(nodes[key].capacity)
    seen = {key}
    stack = list(nodes[key].parents)
    while stack:
        parent = stack.pop()
        if parent in seen or parent not in nodes:
            continue
        seen.add(parent)
        caps = [min(c, r) for c, r in zip(caps, nodes[parent].capacity, strict=True)]
        stack.extend(nodes[parent].parents)
    return _triple(caps)


def _triple(values: Iterable[float]) -> Triple:
    items = list(values)
    return (float(items[0]), float(items[1]), float(items[2]))


def withhold(
    nodes: Mapping[str, Node], node: str, phases: Sequence[int], amps: float
) -> dict[str, Node]:
    """Nodes with `amps` on `phases` already taken under `node` (fail-safe stations)."""
    result = dict(nodes)
    stack = [node]
    seen: set[str] = set()
    while stack:
        key = stack.pop()
        if key in seen or key not in result:
            continue
        seen.add(key)
        current = result[key]
        caps = list(current.capacity)
        for p in phases:
            caps[p] = max(0.0, caps[p] - amps)
        result[key] = Node(key, _triple(caps), current.parents)
        stack.extend(current.parents)
    return result
