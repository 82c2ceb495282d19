"""Share capacity among charging sessions, phase by phase (water-filling).

Capacities form a graph of nodes: a zone (its breaker and what its DLM meters leave), a
supply shared by several zones (a DLM meter in front of them), a parent zone. A session
is limited by every node above its zone, on each building phase it draws from; it draws
the same current on each of its phases.

1. Admission: sessions are taken in order (priority, then least served, with a bonus for
   sessions already running so they do not flap) and admitted while every node they touch
   still has room for their minimum; a session that was paused needs its minimum plus a
   restart margin. The others pause at 0 A.
2. Water-filling (max-min fairness): admitted sessions start at their minimum and rise
   together; when a node's phase is full, the sessions under it stop there; a session
   stops at its own maximum (station maximum or what its car takes).
3. Limits are rounded down to the step, so no node is ever over its capacity.

Sessions with the same node, phases, minimum and maximum are handled as one class, so a
large site costs little more than a small one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
import heapq
import math

PHASE_COUNT = 3
EPSILON = 1e-9
INF = math.inf


class Reason(StrEnum):
    """Why a session got its limit."""

    FAIR_SHARE = "fair_share"
    CAPPED_BY_CAR = "capped_by_car"
    STATION_MAX = "station_max"
    PAUSED = "paused"
    FAILSAFE = "failsafe"
    IDLE = "idle"  # no session: ready at the minimum where there is room, else 0 A
    IGNORING_LIMIT = "ignoring_limit"  # draws clearly more than its limit: at its maximum
    OFFLINE = "offline"  # not connected during a session: counted at the limit it holds
    SOLAR = "solar"  # limited by its share of the solar surplus
    WAITING_FOR_SUN = "waiting_for_sun"  # solar only: not enough surplus (yet)
    MODE_OFF = "mode_off"  # its charging mode is Off
    WAITING_FOR_SCHEDULE = "waiting_for_schedule"  # scheduled: outside its window (price)


@dataclass(frozen=True, slots=True)
class Node:
    """A capacity: amperes per building phase, under zero or more parent nodes."""

    key: str
    capacity: tuple[float, float, float]
    parents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Demand:
    """One session that wants current."""

    key: str
    node: str
    phases: tuple[int, ...]  # building phases drawn from: 0, 1, 2
    min_current: float
    max_current: float
    car_limited: bool = False  # max_current comes from what the car takes
    priority: int = 0
    served: float = 0.0  # how long it has charged (rotation: less served goes first)
    running: bool = False  # charging at or above its minimum now
    # How many times the restart margin counts: the phases its minimum counts on in a
    # pool of amperes x phases (a solar surplus netted on power); 1 otherwise.
    margin_phases: int = 1


@dataclass(frozen=True, slots=True)
class Settings:
    """Tuning of the allocation."""

    step: float = 0.1  # limits are multiples of this (A)
    restart_margin: float = 1.0  # a paused session restarts only with min + this free
    running_bonus: float = 900.0  # seconds of service a running session is credited


@dataclass(frozen=True, slots=True)
class Allocation:
    """The limit of one session and why."""

    limit: float
    reason: Reason
    node: str | None = None  # the node that limited it (fair share)


@dataclass(slots=True)
class _Class:
    node: str
    phases: tuple[int, ...]
    lo: float
    hi: float
    keys: list[str] = field(default_factory=list)
    constraints: list[tuple[str, int]] = field(default_factory=list)
    value: float | None = None  # set when frozen
    limited_by: str | None = None


@dataclass(slots=True)
class _Route:
    """The (node, phase) pairs a session is limited by, and the sessions taking it."""

    pairs: list[tuple[str, int]]
    indices: list[int]
    demands: list[Demand] = field(default_factory=list)


def _admit(
    demand: Demand,
    route: _Route,
    room: list[float],
    classes: dict[tuple[str, tuple[int, ...], float, float], _Class],
) -> None:
    lo = demand.min_current
    for index in route.indices:
        room[index] -= lo
    hi = max(demand.max_current, lo)
    class_key = (demand.node, demand.phases, lo, hi)
    group = classes.get(class_key)
    if group is None:
        group = classes[class_key] = _Class(
            demand.node, demand.phases, lo, hi, constraints=route.pairs
        )
    group.keys.append(demand.key)


def ancestors(nodes: Mapping[str, Node], key: str) -> tuple[str, ...]:
    """The node and every node above it (raises ValueError on a cycle or unknown node)."""
    seen: dict[str, None] = {}
    stack: list[tuple[str, tuple[str, ...]]] = [(key, ())]
    while stack:
        current, trail = stack.pop()
        if current in trail:
            raise ValueError(f"capacity nodes form a cycle through {current!r}")
        if current in seen:
            continue
        node = nodes.get(current)
        if node is None:
            raise ValueError(f"unknown capacity node {current!r}")
        seen[current] = None
        stack.extend((parent, (*trail, current)) for parent in node.parents)
    return tuple(seen)


def allocate(
    nodes: Mapping[str, Node],
    demands: Sequence[Demand],
    settings: Settings = Settings(),
) -> dict[str, Allocation]:
    """Limits for every demand (see the module docstring)."""
    slots: dict[tuple[str, int], int] = {}  # (node, phase) -> index in room
    room: list[float] = []
    routes: dict[tuple[str, tuple[int, ...]], _Route] = {}
    paths: dict[str, tuple[str, ...]] = {}
    result: dict[str, Allocation] = {}
    classes: dict[tuple[str, tuple[int, ...], float, float], _Class] = {}
    paused = Allocation(0.0, Reason.PAUSED)
    margin = settings.restart_margin

    # 1. Admission. Sessions are grouped by route (zone and phases); only where the
    # minimums do not all fit is the order of the sessions looked at.
    for demand in demands:
        if demand.min_current <= 0 or not demand.phases:
            result[demand.key] = paused
            continue
        route_key = (demand.node, demand.phases)
        route = routes.get(route_key)
        if route is None:
            path = paths.get(demand.node)
            if path is None:
                path = paths[demand.node] = ancestors(nodes, demand.node)
            pairs = [(n, p) for n in path for p in demand.phases]
            for pair in pairs:
                if pair not in slots:
                    slots[pair] = len(room)
                    room.append(nodes[pair[0]].capacity[pair[1]])
            route = routes[route_key] = _Route(pairs, [slots[pair] for pair in pairs])
        route.demands.append(demand)
    wanted = [0.0] * len(room)
    for route in routes.values():
        total = sum(
            d.min_current if d.running else d.min_current + margin * d.margin_phases
            for d in route.demands
        )
        for index in route.indices:
            wanted[index] += total
    short = {i for i, total in enumerate(wanted) if total > room[i] + EPSILON}
    contested: list[tuple[Demand, _Route]] = []
    for route in routes.values():
        if short.intersection(route.indices):
            contested.extend((d, route) for d in route.demands)
            continue
        for demand in route.demands:
            _admit(demand, route, room, classes)
    if contested:
        bonus = settings.running_bonus
        contested.sort(
            key=lambda item: (
                -item[0].priority,
                item[0].served - bonus if item[0].running else item[0].served,
                item[0].key,
            )
        )
        for demand, route in contested:
            need = (
                demand.min_current
                if demand.running
                else demand.min_current + margin * demand.margin_phases
            )
            left, (node, _phase) = min(
                zip(map(room.__getitem__, route.indices), route.pairs, strict=True)
            )
            if left + EPSILON < need:
                # Paused by the node that has no room for its minimum (shown as why).
                result[demand.key] = Allocation(0.0, Reason.PAUSED, node)
            else:
                _admit(demand, route, room, classes)

    # 2. Water-filling over classes.
    _fill(nodes, list(classes.values()))

    # 3. Rounding and reasons.
    car_limited = {d.key for d in demands if d.car_limited}
    for group in classes.values():
        value = group.value if group.value is not None else group.hi
        limit = max(group.lo, math.floor((value + EPSILON) / settings.step) * settings.step)
        limit = round(limit, 6)
        if value >= group.hi - EPSILON:
            by_car = Allocation(limit, Reason.CAPPED_BY_CAR)
            by_station = Allocation(limit, Reason.STATION_MAX)
            for key in group.keys:
                result[key] = by_car if key in car_limited else by_station
        else:
            shared = Allocation(limit, Reason.FAIR_SHARE, group.limited_by)
            for key in group.keys:
                result[key] = shared
    return result


def _fill(nodes: Mapping[str, Node], classes: list[_Class]) -> None:
    """Progressive filling: freeze classes as the nodes above them fill up."""
    members: dict[tuple[str, int], list[int]] = {}
    for index, group in enumerate(classes):
        for constraint in group.constraints:
            members.setdefault(constraint, []).append(index)
    fixed: dict[tuple[str, int], float] = dict.fromkeys(members, 0.0)
    version: dict[tuple[str, int], int] = dict.fromkeys(members, 0)
    counts = [len(group.keys) for group in classes]

    def saturation(constraint: tuple[str, int]) -> float:
        node, phase = constraint
        room = nodes[node].capacity[phase] - fixed[constraint]
        live = [i for i in members[constraint] if classes[i].value is None]
        if not live:
            return INF
        return _level_for(room, ((counts[i], classes[i].lo, classes[i].hi) for i in live))

    heap: list[tuple[float, int, str, int]] = []
    for constraint in members:
        level = saturation(constraint)
        if level < INF:
            heapq.heappush(heap, (level, 0, constraint[0], constraint[1]))

    # Freezing classes only lowers the load of the other nodes they touch, so a stale
    # entry's level is a lower bound: recompute it only when it reaches the top.
    while heap:
        level, stamp, node, phase = heapq.heappop(heap)
        constraint = (node, phase)
        if stamp != version[constraint]:
            again = saturation(constraint)
            if again < INF:
                heapq.heappush(heap, (again, version[constraint], node, phase))
            continue
        for index in members[constraint]:
            group = classes[index]
            if group.value is not None:
                continue
            group.value = min(max(level, group.lo), group.hi)
            group.limited_by = node
            for other in group.constraints:
                fixed[other] += counts[index] * group.value
                version[other] += 1
        version[constraint] = -1  # full: nothing under it moves any more


def _level_for(room: float, live: Iterable[tuple[int, float, float]]) -> float:
    """Smallest level L with sum(count * clamp(L, lo, hi)) >= room (INF if never).

    The load is piecewise linear and non-decreasing in L, with breakpoints at each lo and
    hi; walk the breakpoints in order.
    """
    events: list[tuple[float, int]] = []  # (level, +count starts rising / -count stops)
    base = 0.0  # load at level 0: every class sits at its lo
    for count, lo, hi in live:
        base += count * lo
        if hi > lo:
            events.append((lo, count))
            events.append((hi, -count))
    if base >= room:
        # Already full at the minimums: freeze at the lowest level (every class at lo).
        return 0.0
    events.sort()
    slope = 0
    level = 0.0
    load = base
    for point, delta in events:
        if slope > 0:
            reach = load + slope * (point - level)
            if reach >= room:
                return level + (room - load) / slope
            load = reach
        level = point
        slope += delta
    return INF


def fixed_node(key: str, capacity: float | Sequence[float]) -> Node:
    """A node with the same capacity on every phase (or a per-phase sequence)."""
    if isinstance(capacity, (int, float)):
        caps = (float(capacity),) * PHASE_COUNT
    else:
        caps = tuple(float(c) for c in capacity)
    return Node(key, (caps[0], caps[1], caps[2]))
