"""Charging on the building's solar surplus: how much of it each solar-mode session gets.

The surplus, per building phase, is what the building exports at its grid connection plus
what solar-mode sessions already draw from the sun (their draw, less the minimum a *Solar
+ minimum* session takes from the grid in any case), smoothed over a short window so that
a passing cloud does not make cars flap.

It is shared like a zone's current (``allocate``: admission by priority and least served,
then water-filling, phase by phase): a single-phase car on L2 gets what L2 has.

- *Solar only*: charges only on surplus. A session starts once its share has covered its
  minimum for the start delay; it then runs at least the minimum on-time, and stops only
  when its share has stayed under its minimum for the stop delay (meanwhile it charges at
  its minimum, from the grid). When the surplus cannot give every solar session its
  minimum, the admission's rotation decides who charges.
- *Solar + minimum*: its minimum always (from the grid when the sun is short), its share of
  the surplus on top.

What this returns is a cap on each session's maximum; the zones' limits apply after it
(solar never overrides a breaker).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
import itertools
import math

from .allocate import PHASE_COUNT, Demand, Node, Settings, allocate

SOLAR_NODE = "solar surplus"


class ChargingMode(StrEnum):
    """How a station's sessions charge."""

    FAST = "fast"  # as much as the zone allows
    SOLAR_MIN = "solar_min"  # the minimum always, the surplus on top
    SOLAR = "solar"  # on surplus only
    SCHEDULED = "scheduled"  # as Fast, only inside the hub's charging window or a low price
    OFF = "off"  # not at all


SOLAR_MODES = (ChargingMode.SOLAR, ChargingMode.SOLAR_MIN)


@dataclass(frozen=True, slots=True)
class SolarSettings:
    """The delays that keep a passing cloud from changing anything (seconds)."""

    start_delay: float = 60.0
    stop_delay: float = 300.0
    min_on_time: float = 600.0
    smoothing: float = 30.0  # the surplus is averaged over this window
    # A station switching between one and three phases: at most once in this long (each
    # switch pauses the car and wears the contactors).
    phase_switch_hold: float = 300.0
    # The grid meter nets the phases: the surplus is one pool (see `surplus`).
    netted: bool = False
    # A Solar only session starts only while the surplus covers its minimum plus this
    # (A per phase) beside what the sessions already charging keep: the headroom that
    # lets the building switch on a heat pump without every car falling short.
    start_margin: float = 3.0


@dataclass(frozen=True, slots=True)
class SolarDemand:
    """A session in a solar mode."""

    key: str
    mode: ChargingMode
    phases: tuple[int, ...]
    min_current: float
    max_current: float
    # What it draws now on each building phase (None: not known). Per phase, never its
    # largest phase for all: an unbalanced car would make sun of the grid on the others.
    drawn: tuple[float, float, float] | None
    priority: int = 0
    served: float = 0.0
    # The station may be switched between one and three phases (numberPhases in its
    # profiles); only with a grid meter that nets the phases (see SolarSharing.caps).
    switchable: bool = False


class SolarState(StrEnum):
    """Where a solar-only session stands."""

    WAITING = "waiting"  # for enough surplus, for the start delay
    CHARGING = "charging"  # on surplus
    ASSISTED = "assisted"  # its share under its minimum: at the minimum until it stops


@dataclass(frozen=True, slots=True)
class SolarCap:
    """What the surplus allows one session: a cap on its maximum (0: paused)."""

    cap: float
    state: SolarState
    share: float  # its share of the surplus (A per phase)
    phases: int | None = None  # a switchable station: 1 or 3 (None: its wiring's)


@dataclass(slots=True)
class _Point:
    state: SolarState = SolarState.WAITING
    since: float = 0.0  # entered its state
    enough_since: float | None = None  # share >= minimum since
    short_since: float | None = None  # share < minimum since
    phases: int | None = None  # a switchable station's phases now (None: not chosen yet)
    switched_at: float | None = None
    other_since: float | None = None  # the other phase count fits since
    turned: bool = False  # short because another took its turn (until it has enough)


@dataclass(slots=True)
class SurplusWindow:
    """The surplus per phase, averaged over the last ``span`` seconds."""

    span: float
    _samples: deque[tuple[float, tuple[float, float, float]]] = field(default_factory=deque)

    def add(self, now: float, surplus: tuple[float, float, float]) -> tuple[float, float, float]:
        """Add a sample; returns the average over the window (a time-weighted mean)."""
        self._samples.append((now, surplus))
        if self.span <= 0:
            self._samples.clear()
            return surplus
        while len(self._samples) > 1 and self._samples[1][0] <= now - self.span:
            self._samples.popleft()
        if len(self._samples) == 1:
            return surplus
        total = [0.0] * PHASE_COUNT
        weight = 0.0
        samples = list(self._samples)
        for (at, values), (after, _next) in itertools.pairwise(samples):
            begin = max(at, now - self.span)
            width = max(0.0, after - begin)
            weight += width
            for phase in range(PHASE_COUNT):
                total[phase] += values[phase] * width
        if weight <= 0:
            return surplus
        return (total[0] / weight, total[1] / weight, total[2] / weight)

    def clear(self) -> None:
        """Forget (the grid reading is lost)."""
        self._samples.clear()


def surplus(
    grid: Sequence[float], demands: Sequence[SolarDemand], netted: bool = False
) -> tuple[float, float, float]:
    """The surplus per phase (A).

    Export (a negative grid current is export) plus what solar sessions draw, less what
    the building imports meanwhile: a session drawing 10 A while the building imports 4 A
    has 6 A of sun. netted: the grid meter bills the sum of the phases (import on one
    phase is paid with export on another), so the surplus is that sum, spread evenly.
    """
    values = [-grid[phase] for phase in range(PHASE_COUNT)]
    for demand in demands:
        if demand.drawn is None:
            continue
        for phase in demand.phases:
            from_sun = demand.drawn[phase]
            if demand.mode is ChargingMode.SOLAR_MIN:
                from_sun = max(0.0, from_sun - demand.min_current)
            values[phase] += from_sun
    if netted:
        total = max(0.0, sum(values)) / PHASE_COUNT
        return (total, total, total)
    # What the building imports while solar sessions draw is not sun: it comes off first.
    return (max(0.0, values[0]), max(0.0, values[1]), max(0.0, values[2]))


class SolarSharing:
    """Caps for solar-mode sessions, cycle after cycle (keeps each session's delays)."""

    def __init__(self, settings: SolarSettings | None = None) -> None:
        """Start with no session."""
        self.settings = settings or SolarSettings()
        self._points: dict[str, _Point] = {}
        # Solar only cars charging without the start margin's headroom since (None: not)
        self._crowded_since: float | None = None

    def state(self, key: str) -> SolarState | None:
        """Where a solar-only session stands (None: not known)."""
        point = self._points.get(key)
        return None if point is None else point.state

    def caps(
        self,
        available: Sequence[float],
        demands: Sequence[SolarDemand],
        now: float,
        allocation: Settings | None = None,
        *,
        netted: bool | None = None,
        keep: Collection[str] = (),
    ) -> dict[str, SolarCap]:
        """What the (smoothed) surplus per phase allows each session now.

        keep: sessions left out of this cycle whose delays and phases are kept (still
        in a solar mode; the others are forgotten when they are not in `demands`).
        netted (default: the settings'): the grid meter nets the phases (see `surplus`). The surplus is then one
        pool of power, shared fairly on power (a single-phase car at 12 A takes as much
        as a three-phase one at 4 A), and a switchable station charges on one phase
        while the surplus cannot give it its minimum on three: it starts on a third of
        the surplus, and waits out a shortage on a third of the grid current.
        """
        settings = allocation or Settings()
        # A turn in the solar pool stops a car and starts another (two contactor cycles,
        # two cars' charging restarted): never sooner than a minimum on-time and a stop
        # delay, whatever the rotation period of the zones.
        hold = self.settings.min_on_time + self.settings.stop_delay
        if settings.running_bonus < hold:
            settings = replace(settings, running_bonus=hold)
        if netted is None:
            netted = self.settings.netted
        margin = self._margin(netted)
        if netted:
            nodes: Mapping[str, Node] = {SOLAR_NODE: Node(SOLAR_NODE, (sum(available), 0.0, 0.0))}
        else:
            nodes = {SOLAR_NODE: Node(SOLAR_NODE, (available[0], available[1], available[2]))}
        for key in set(self._points) - {d.key for d in demands} - set(keep):
            del self._points[key]
        was_running = {d.key for d in demands if self._running(d.key)}
        if margin > 0 and self._make_headroom(
            nodes, demands, was_running, keep, settings, netted, now
        ):
            was_running = {d.key for d in demands if self._running(d.key)}
        shared = self._share(nodes, demands, settings, netted)
        # One more Solar only car beside those charging (or a second one starting with
        # the first) needs the start margin on top of the minimums: who charges is then
        # decided on the surplus less the margin, and they share all of it. A turn (one
        # car for another) and a first car need only their minimum and the restart margin.
        on_sun = sum(1 for d in demands if d.mode is ChargingMode.SOLAR and d.key in was_running)
        if margin > 0 and self._solar_fits(demands, shared, netted) > max(on_sun, 1):
            tight = _less(nodes[SOLAR_NODE], margin)
            admitted = self._share(
                {SOLAR_NODE: tight}, demands, replace(settings, restart_margin=0.0), netted
            )
            chosen = [
                d
                for d in demands
                if d.mode is not ChargingMode.SOLAR or self._fits(d, admitted[d.key], netted)
            ]
            full = self._share(nodes, chosen, settings, netted)
            shared = {d.key: full.get(d.key, 0.0) for d in demands}
        result: dict[str, SolarCap] = {}
        # Solar only sessions waiting out their start delay: what they would get decides
        # when they start, but they draw nothing yet, so that surplus goes to the
        # sessions already charging meanwhile (it would be exported otherwise).
        waiting: set[str] = set()
        for demand in demands:
            point = self._points.get(demand.key)
            if demand.mode is ChargingMode.SOLAR and (
                point is None or point.state is SolarState.WAITING
            ):
                share, phases = self._per_phase(demand, shared[demand.key], netted, now, settings)
                result[demand.key] = replace(self._solar_only(demand, share, now), phases=phases)
                if result[demand.key].cap <= 0:
                    waiting.add(demand.key)
        if waiting and len(waiting) < len(demands):
            rest = [d for d in demands if d.key not in waiting]
            shared = self._share(nodes, rest, settings, netted)
        before: dict[str, float] | None = None  # the shares among the sessions on before
        for demand in demands:
            if demand.key in result:
                continue
            share, phases = self._per_phase(demand, shared[demand.key], netted, now, settings)
            if demand.mode is ChargingMode.SOLAR_MIN:
                cap = SolarCap(
                    min(demand.max_current, demand.min_current + share),
                    SolarState.CHARGING,
                    share,
                )
            else:
                # Short because a session that waited its turn starts now, not because
                # the sun went: the sessions that were on would all still have their
                # minimum without it. A turn, not a cloud: no stop delay to ride out.
                turn = False
                if share < demand.min_current and demand.key in was_running:
                    if before is None:
                        on = [
                            d
                            for d in demands
                            if d.key in was_running or d.mode is ChargingMode.SOLAR_MIN
                        ]
                        before = self._share(nodes, on, settings, netted)
                    turn = self._fits(demand, before[demand.key], netted, starting=False)
                cap = self._solar_only(demand, share, now, turn=turn)
            result[demand.key] = replace(cap, phases=phases)
        return self._fund_held(available, demands, result, settings, netted)

    def _make_headroom(
        self,
        nodes: Mapping[str, Node],
        demands: Sequence[SolarDemand],
        was_running: Collection[str],
        keep: Collection[str],
        settings: Settings,
        netted: bool,
        now: float,
    ) -> bool:
        """Stop the Solar only cars the start margin cannot keep, after a while.

        Cars started with the margin's headroom lose it as the sun sinks, and the next
        load switching on (a heat pump) then holds every one of them at its minimum from
        the grid for a stop delay. Two or more cars without the headroom for the minimum
        on-time and a stop delay together: those it cannot keep (the rotation's choice,
        the most served first; one car at least stays, as a first car starts without
        the margin) stop once past their minimum on-time, as in a turn, and the others
        take their sun. A cycle with the headroom (between two clouds) starts the wait
        again: a sinking sun, not a cloud. A single car keeps going on its minimum.
        Checked as a start is (a switchable car on one phase), so that a car it stops
        does not start again on the same surplus. Returns whether a car stopped.
        """
        if any(self._running(key) for key in keep):
            return False  # a car left out of this cycle: judged with it, later
        running = [d for d in demands if d.mode is ChargingMode.SOLAR and d.key in was_running]
        out: list[SolarDemand] = []
        if len(running) > 1:
            margin = self._margin(netted)
            on = [d for d in demands if d.key in was_running or d.mode is ChargingMode.SOLAR_MIN]
            plain = replace(settings, restart_margin=0.0)
            kept = self._share({SOLAR_NODE: _less(nodes[SOLAR_NODE], margin)}, on, plain, netted)
            out = [d for d in running if not self._fits(d, kept[d.key], netted)]
            if len(out) == len(running):
                # Not even one with the margin: the one the plain share serves best stays
                # (none: too little sun for any, the stop delay's business).
                shares = self._share(nodes, on, plain, netted)
                fitting = [d for d in running if self._fits(d, shares[d.key], netted)]
                if not fitting:
                    out = []
                else:
                    best = max(fitting, key=lambda d: (shares[d.key], -d.served))
                    out = [d for d in running if d.key != best.key]
        if not out:
            self._crowded_since = None
            return False
        if self._crowded_since is None:
            self._crowded_since = now
        if now - self._crowded_since < self.settings.min_on_time + self.settings.stop_delay:
            return False
        # The wait goes on for a car still inside its minimum on-time (it stops when that
        # is over); it starts again once every car kept has the headroom.
        stopped = False
        for demand in out:
            point = self._points[demand.key]
            if now - point.since >= self.settings.min_on_time:
                point.state, point.since = SolarState.WAITING, now
                point.enough_since = point.short_since = None
                point.turned = False
                stopped = True
        return stopped

    def _margin(self, netted: bool) -> float:
        """The start margin, on power when the surplus is one pool (three phases of it)."""
        return self.settings.start_margin * (PHASE_COUNT if netted else 1)

    def _fits(
        self, demand: SolarDemand, got: float, netted: bool, *, starting: bool = True
    ) -> bool:
        """Whether a share from `_share` covers the session's minimum.

        Netted, the share is pooled (A x phases): on the phases the session charges on,
        or, starting, on one phase for a switchable station (it can start there).
        """
        if not netted:
            return got >= demand.min_current
        point = self._points.get(demand.key)
        if starting and demand.switchable and len(demand.phases) > 1:
            phases = 1
        elif point is not None and point.phases:
            phases = point.phases
        else:
            phases = len(demand.phases)
        return got >= demand.min_current * phases - 1e-9

    def _solar_fits(
        self, demands: Sequence[SolarDemand], shared: Mapping[str, float], netted: bool
    ) -> int:
        """How many Solar only sessions a sharing gives their minimum (to start)."""
        return sum(
            1
            for d in demands
            if d.mode is ChargingMode.SOLAR and self._fits(d, shared[d.key], netted)
        )

    @staticmethod
    def _fund_held(
        available: Sequence[float],
        demands: Sequence[SolarDemand],
        result: dict[str, SolarCap],
        settings: Settings,
        netted: bool,
    ) -> dict[str, SolarCap]:
        """Pay for the Solar only sessions held at their minimum out of the others' sun.

        Held through a shortage, such a session draws more than its share of the surplus.
        What it draws beyond it comes off the shares above the minimums first (the sun of
        the Solar + minimum sessions, Solar only sessions above their minimum), shared out
        again fairly: the grid pays only what those cannot.
        """
        if not any(
            cap.state is SolarState.ASSISTED and cap.cap > cap.share + 1e-6
            for cap in result.values()
        ):
            return result
        room = [sum(available), 0.0, 0.0] if netted else list(available)
        tops: list[Demand] = []
        used: dict[str, int] = {}
        floors: dict[str, float] = {}
        for demand in demands:
            cap = result[demand.key]
            if cap.cap <= 0:
                continue
            used[demand.key] = count = cap.phases or len(demand.phases)
            if demand.mode is ChargingMode.SOLAR:
                # Its minimum, from the sun while there is any.
                if netted:
                    room[0] -= demand.min_current * count
                else:
                    for phase in demand.phases:
                        room[phase] -= demand.min_current
                if cap.state is SolarState.ASSISTED:
                    continue
            above = cap.cap - demand.min_current
            if above > 0:
                floors[demand.key] = demand.min_current
                tops.append(
                    Demand(
                        key=demand.key,
                        node=SOLAR_NODE,
                        phases=(0,) if netted else demand.phases,
                        min_current=1e-6,
                        max_current=above * count if netted else above,
                        priority=demand.priority,
                        running=True,
                    )
                )
        if not tops:
            return result
        node = Node(SOLAR_NODE, (max(0.0, room[0]), max(0.0, room[1]), max(0.0, room[2])))
        shares = allocate({SOLAR_NODE: node}, tops, settings)
        for top in tops:
            got = shares[top.key].limit
            above = _down(got / used[top.key] if netted else got, settings)
            result[top.key] = replace(result[top.key], cap=round(floors[top.key] + above, 6))
        return result

    def _share(
        self,
        nodes: Mapping[str, Node],
        demands: Sequence[SolarDemand],
        settings: Settings,
        netted: bool,
    ) -> dict[str, float]:
        """Each session's share of the surplus: A per phase, or netted A x phases.

        Shared like a zone's current; netted, on power (amperes x phases, one pool).
        """
        sizes: dict[str, tuple[int, int]] = {}  # phases counted for the minimum, maximum
        for d in demands:
            n = len(d.phases)
            sizes[d.key] = (
                (1, n) if netted and d.switchable and n > 1 else (n, n) if netted else (1, 1)
            )
        shared = allocate(
            nodes,
            [
                Demand(
                    key=d.key,
                    node=SOLAR_NODE,
                    phases=(0,) if netted else d.phases,
                    # A Solar + minimum session's minimum comes from the grid: it takes
                    # any share of the surplus, however small.
                    min_current=(
                        settings.step
                        if d.mode is ChargingMode.SOLAR_MIN
                        else d.min_current * sizes[d.key][0]
                    ),
                    max_current=max(
                        0.0,
                        d.max_current - d.min_current
                        if d.mode is ChargingMode.SOLAR_MIN
                        else d.max_current,
                    )
                    * sizes[d.key][1],
                    priority=d.priority,
                    served=d.served,
                    # The restart margin is per phase: on each phase the minimum counts on.
                    margin_phases=sizes[d.key][0] if netted else 1,
                    running=d.mode is ChargingMode.SOLAR_MIN or self._running(d.key),
                )
                for d in demands
            ],
            settings,
        )
        return {d.key: shared[d.key].limit for d in demands}

    def _per_phase(
        self, demand: SolarDemand, got: float, netted: bool, now: float, settings: Settings
    ) -> tuple[float, int | None]:
        """A share from `_share` in A per phase in use, and the phases if switched."""
        if not netted:
            return got, None
        if demand.switchable and len(demand.phases) > 1:
            phases = self._phases(demand, got, now, settings)
            return _down(min(got / phases, demand.max_current), settings), phases
        return _down(got / len(demand.phases), settings), None

    def _phases(self, demand: SolarDemand, pooled: float, now: float, settings: Settings) -> int:
        """The phases a switchable session charges on, given its pooled share (A x phases).

        Three once the share gives it its minimum (and the restart margin) on three for
        the start delay, one once it does not for as long; at most one switch in
        `phase_switch_hold`, unless it draws nothing (waiting for the sun).
        """
        point = self._points.get(demand.key)
        if point is None:
            point = self._points[demand.key] = _Point(since=now)
        three = len(demand.phases)
        per_phase = pooled / three
        if point.phases == 1:
            other = per_phase >= demand.min_current + settings.restart_margin
        else:
            other = per_phase < demand.min_current
        if point.phases is None or (
            demand.mode is ChargingMode.SOLAR and point.state is SolarState.WAITING
        ):
            # Not charging yet: chosen without delay (with the margin up, as below).
            if point.phases is None:
                point.phases = three if per_phase >= demand.min_current else 1
            elif other:
                point.phases = 1 if point.phases == three else three
            point.other_since = None
            return point.phases
        if not other:
            point.other_since = None
            return point.phases
        if point.other_since is None:
            point.other_since = now
        delays = self.settings
        if now - point.other_since >= delays.start_delay and (
            point.switched_at is None or now - point.switched_at >= delays.phase_switch_hold
        ):
            point.phases = 1 if point.phases == three else three
            point.switched_at = now
            point.other_since = None
        return point.phases

    def _running(self, key: str) -> bool:
        point = self._points.get(key)
        return point is not None and point.state is not SolarState.WAITING

    def _solar_only(
        self, demand: SolarDemand, share: float, now: float, *, turn: bool = False
    ) -> SolarCap:
        point = self._points.get(demand.key)
        if point is None:
            point = self._points[demand.key] = _Point(since=now)
        enough = share >= demand.min_current
        if enough:
            point.short_since = None
            if point.enough_since is None:
                point.enough_since = now
        else:
            point.enough_since = None
            if point.short_since is None:
                point.short_since = now
        delays = self.settings
        if point.state is SolarState.WAITING:
            if point.enough_since is not None and now - point.enough_since >= delays.start_delay:
                point.state, point.since = SolarState.CHARGING, now
                return SolarCap(share, point.state, share)
            return SolarCap(0.0, point.state, share)
        if enough:
            point.turned = False
            if point.state is SolarState.ASSISTED:
                point.state = SolarState.CHARGING
            return SolarCap(share, point.state, share)
        # Short of surplus: at its minimum (from the grid) until both the minimum on-time
        # and the stop delay have passed; after a turn, only the minimum on-time.
        point.turned = point.turned or turn
        on_for = now - point.since
        short_for = 0.0 if point.short_since is None else now - point.short_since
        if on_for >= delays.min_on_time and (point.turned or short_for >= delays.stop_delay):
            point.state, point.since = SolarState.WAITING, now
            point.turned = False
            return SolarCap(0.0, point.state, share)
        point.state = SolarState.ASSISTED
        return SolarCap(demand.min_current, point.state, share)


def _less(node: Node, margin: float) -> Node:
    """The node with `margin` less on each phase (netted: the pool, on the first)."""
    l1, l2, l3 = node.capacity
    return Node(node.key, (max(0.0, l1 - margin), max(0.0, l2 - margin), max(0.0, l3 - margin)))


def _down(value: float, settings: Settings) -> float:
    """Rounded down to the allocation's step."""
    return round(math.floor(value / settings.step + 1e-6) * settings.step, 6)
