"""The DLM service: reads the DLM meters, shares each zone's current, sends the limits.

One cycle computes every station of every zone: DLM meter readings and station
readings go into the pure allocator (`dlm/`), and the limits that changed go out as
charging profiles, cuts at once, rises after a hold. A cycle runs after every meter
poll (so a step in a meter's load reaches the stations within one poll and one OCPP
round trip) and at least once a second. A zone whose DLM meter has no good reading for
longer than its timeout enters fail-safe: all its stations get the fail-safe current.

Nothing here imports Home Assistant entity or flow code: the site feeds it the
configuration and listens to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence, Set
import contextlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
import logging
import math
import time
from typing import Any

from .billing import SolarShareLog, solar_fraction
from .central.connection import CommandError
from .central.models import PHASES, model_quirks
from .const import GRID_SENSOR_MAX_AGE, MIN_SIGNAL_CURRENT, PV_SENSOR_MAX_AGE
from .dlm.allocate import Allocation, Demand, Node, Reason, Settings, allocate, ancestors
from .dlm.budget import (
    Budget,
    Failsafe,
    MeterState,
    ZoneSpec,
    compute,
    fronted_zones,
    withhold,
    zone_chain,
)
from .dlm.control import ControlSettings, OtherLoadEstimator, StationControl
from .dlm.peak import PeakWindow, RestOfBuilding, charging_room
from .dlm.solar import (
    SOLAR_MODES,
    ChargingMode,
    SolarCap,
    SolarDemand,
    SolarSettings,
    SolarSharing,
    SurplusWindow,
    surplus,
)
from .meters import (
    BusConnectionError,
    ConnectionConfig,
    MeterModel,
    MeterPoller,
    MeterReading,
    ModbusBus,
    read_meter,
)
from .stations import Station

_LOGGER = logging.getLogger(__package__)

CYCLE_INTERVAL = 1.0
# Sessions a mode holds at 0 A: cuts like any other until they are seen to stop.
_STOPPED_BY_MODE = (Reason.MODE_OFF, Reason.WAITING_FOR_SCHEDULE, Reason.WAITING_FOR_SUN)
PEAK_NODE = "peak"  # the capacity node of the site's peak limit, above every zone
PEAK_REPORT_AFTER = 30.0  # s: a grid meter not read by then is said in the log
REST_HOLD = 30.0  # s a settled rest of the building is kept at least (dlm.peak)
MIN_CYCLE_SPACING = 0.1
# A phase a car on one phase draws nothing on (A): more, and the station ignores the switch.
PHASE_IDLE_CURRENT = 1.0
PHASE_DOUBT_TIME = 30.0  # s of such readings before it is taken as ignoring the switch
Triple = tuple[float, float, float]
ZERO: Triple = (0.0, 0.0, 0.0)
# A station's reading counts as charging current while it is at most this many of the
# station's sample intervals old (plus READING_SLACK for the network); older, the
# connector counts as drawing nothing, so what it draws is seen as other load.
READING_INTERVALS = 2.0
READING_SLACK = 5.0
# A station has this long to follow a new limit: a reading may show any limit it held
# within FOLLOW_TIME before it was taken.
FOLLOW_TIME = 10.0
LIMIT_HISTORY = 600.0  # seconds of limits kept to judge readings
# Drawing more than any limit it held (FOLLOW_TIME before the reading) by OVER_TOLERANCE:
# counted at what it draws, not as a demand. By IGNORE_MARGIN for IGNORE_AFTER seconds:
# the station ignores its limit (repair, counted at its maximum). It follows again after
# FOLLOWS_AGAIN_AFTER within the margin.
OVER_TOLERANCE = 0.5
OVER_SHARE = 0.05  # cars and station meters read a few % above the signalled current
IGNORE_MARGIN = 2.0
IGNORE_AFTER = 30.0
FOLLOWS_AGAIN_AFTER = 60.0
# A station that rejected every profile is asked again after this long (not every
# cycle: some stations wear their flash with every profile written).
REFUSED_RETRY = 60.0
# Retry delay after a station did not answer a profile.
SEND_RETRY = (1.0, 2.0, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """A meter as configured."""

    key: str  # subentry id
    name: str
    connection: str  # connection subentry id
    unit: int
    model: MeterModel
    amperage: float
    poll_interval: float
    grid: bool = False  # at the building's grid connection: its export is the surplus


@dataclass(frozen=True, slots=True)
class ZoneConfig:
    """A zone as configured."""

    key: str  # subentry id
    name: str
    spec: ZoneSpec


@dataclass(frozen=True, slots=True)
class FailsafeChange:
    """A zone entered or left fail-safe."""

    zone: str
    entered: bool
    info: Failsafe | None


@dataclass(slots=True)
class ZoneState:
    """What the last cycle found for one zone (shown by its entities)."""

    budget: Triple = ZERO
    allocated: Triple = ZERO
    active: int = 0
    paused: int = 0
    failsafe: Failsafe | None = None

    @property
    def headroom(self) -> float:
        """Room left on the tightest phase the zone uses."""
        return min(b - a for b, a in zip(self.budget, self.allocated, strict=True))


@dataclass(slots=True)
class _Sender:
    """The latest limits and fail-safe wanted for one station, and the task sending them.

    wanted: connector -> limit (connector 0: every connector of a one-connector
    station); cap: the station-wide cap of a station with several connectors.
    """

    wanted: dict[int, float] = field(default_factory=dict)
    failsafe: float | None = None
    cap: float | None = None
    task: asyncio.Task[None] | None = None
    failures: int = 0


@dataclass(slots=True)
class _Point:
    """One limited charging point: a one-connector station, or one connector."""

    control: StationControl = field(default_factory=StationControl)
    served: float = 0.0  # seconds charged at or above the minimum (rotation)
    served_at: float | None = None
    live_at: float | None = None  # when the expiring live limit in force was sent
    over_since: float | None = None  # drawing clearly above its limit since
    within_since: float | None = None  # (while flagged) back within its limit since
    ignoring: bool = False
    drawn: float = 0.0  # the most it drew on a phase, last fresh reading
    limits: list[tuple[float, float]] = field(default_factory=list)  # (since, limit)
    # Whether it was seen following a cut in this session (then its cuts free room at
    # once); until then the highest limit it held since its first cut (`peak`) stays
    # taken: a station that does not follow its limits frees nothing when cut.
    trusted: bool = False
    peak: float | None = None
    cut_at: float | None = None  # when its last cut was accepted
    seen: float | None = None  # what its last fresh reading showed (None: none)

    def held(self, limit: float, at: float) -> None:
        """Record a limit the station accepted."""
        self.limits.append((at, limit))
        cutoff = at - LIMIT_HISTORY
        while len(self.limits) > 1 and self.limits[1][0] <= cutoff:
            del self.limits[0]

    def allowed(self, at: float) -> float:
        """The most a station following its limits may draw in a reading taken at `at`.

        Any limit it held within FOLLOW_TIME before (inf before the first one).
        """
        start = at - FOLLOW_TIME
        most = math.inf
        later = -math.inf
        for since, limit in self.limits:
            if since <= start:
                most = limit
            elif since <= at:
                later = max(later, limit)
        return max(most, later)

    def recent(self, at: float) -> float:
        """The highest limit it held within FOLLOW_TIME before `at` (0 A: none).

        What a station following its limits may still draw: a car takes a few seconds
        to follow a cut.
        """
        start = at - FOLLOW_TIME
        most = 0.0
        for since, limit in self.limits:
            if since <= start:
                most = limit
            elif since <= at:
                most = max(most, limit)
        return most

    def forget_session(self) -> None:
        """No session (any more): nothing to follow yet.

        A station flagged for ignoring its limit stays flagged into its next session
        (counted at its maximum from the car's start) until it is seen following.
        """
        self.over_since = self.within_since = None
        self.served_at = None
        self.trusted = False
        self.peak = None
        self.cut_at = None

    def accepted(self, before: float | None, limit: float, at: float) -> None:
        """A new limit is in force: track its cuts until it is seen following one."""
        if before is not None and limit < before:
            self.cut_at = at
            if not self.trusted and self.seen is not None and self.seen > limit:
                # What it was seen drawing above its new limit (no reading: the meter
                # sees it as other load; a station that never reports is not pinned).
                self.peak = max(self.peak or 0.0, min(before, self.seen))
        elif not before:
            # Resuming from 0 A (some stations ignore limits after that): prove again.
            self.trusted = False

    def prove(self, reading_taken: float, over: bool) -> None:
        """A reading taken well after its last cut shows whether it follows its limits."""
        if over:
            self.trusted = False
            return
        if self.cut_at is None or reading_taken < self.cut_at + FOLLOW_TIME:
            return
        self.trusted = True
        self.peak = None

    def expire_peak(self, now: float, max_age: float) -> None:
        """Forget a peak that no reading came to prove or disprove.

        Its station reports nothing: what it draws is seen by the DLM meter as other
        load, as for any reading that stops coming.
        """
        if (
            self.peak is not None
            and self.cut_at is not None
            and self.seen is None
            and now - self.cut_at > max_age + FOLLOW_TIME
        ):
            self.peak = None

    def risk(self, pending: float | None) -> float:
        """The most it may draw now: its limit (or one on its way), or an unproven peak."""
        return max(self.control.limit or 0.0, pending or 0.0, self.peak or 0.0)


@dataclass(slots=True)
class _StationRun:
    points: dict[int, _Point] = field(default_factory=dict)
    sender: _Sender = field(default_factory=_Sender)
    failsafe_sent: float | None = None  # the fail-safe current handed to the station
    failsafe_on: object | None = None  # on this connection (sent again on a new one)
    cap_at: float | None = None  # when the expiring station-wide cap was sent
    refused_at: float | None = None  # when it last rejected every profile
    cap: float | None = None  # the station-wide cap in force

    def point(self, connector: int) -> _Point:
        """The state of one charging point (made on first use)."""
        point = self.points.get(connector)
        if point is None:
            point = self.points[connector] = _Point()
        return point


@dataclass(frozen=True, slots=True)
class _Reading:
    """What a charging point draws per building phase, as load management counts it."""

    raw: Triple  # as the station reported it
    counted: Triple  # the charging current counted (see LoadManager._reading)
    allowed: float  # the most it could draw when taken, following its limits
    over: bool  # more than that: it does not follow its limit
    settled: bool  # taken at least the settle time after its last limit change
    taken: float  # when (the load manager's clock)

    @property
    def drawn(self) -> float:
        """The most it draws on a phase."""
        return max(self.raw)


class LoadManager:
    """Runs dynamic load management for one hub."""

    def __init__(
        self,
        *,
        stations: Callable[[], Iterable[Station]],
        create_task: Callable[[Coroutine[Any, Any, Any], str], asyncio.Task[Any]],
        on_failsafe: Callable[[FailsafeChange], None],
        control: ControlSettings | None = None,
        allocation: Settings | None = None,
        solar: SolarSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Prepare (start with async_start)."""
        self._stations = stations
        self._create_task = create_task
        self._on_failsafe = on_failsafe
        self.control = control or ControlSettings()
        self.allocation_settings = allocation or Settings()
        self._clock = clock
        self.connections: dict[str, ConnectionConfig] = {}
        self.meters: dict[str, MeterConfig] = {}
        self.zones: dict[str, ZoneConfig] = {}
        self.buses: dict[str, ModbusBus] = {}
        self.pollers: dict[str, MeterPoller] = {}
        self.zone_states: dict[str, ZoneState] = {}
        self.last_budget: Budget | None = None
        self.last_cycle: float | None = None
        self.cycles = 0
        # A cycle that raised (a defect): every managed station is then at its fail-safe
        # current until a cycle succeeds again; the DLM service shows off, a repair says why.
        self.cycle_error: str | None = None
        self.cycle_failures = 0
        self._estimator = OtherLoadEstimator()
        self.solar = SolarSharing(solar)
        self._surplus_window = SurplusWindow(self.solar.settings.smoothing)
        # The smoothed surplus per phase (A) of the last cycle (None: no grid meter, or
        # its reading is missing or stale) and each solar session's cap.
        self.surplus: Triple | None = None
        self.surplus_power: float | None = None  # W, at the grid meter's voltages
        self.solar_caps: dict[str, SolarCap] = {}
        self._grid_reported = False
        self._grid_voltages: tuple[float, ...] = (NOMINAL_VOLTAGE,) * 3
        # The site's peak limit (None: none set); the power the stations may draw under
        # it, last cycle (W; None: no limit, or the grid meter is not read).
        self.peak: PeakWindow | None = None
        # The peak limit's clock (epoch seconds): quarter hours are the wall clock's.
        self.peak_clock: Callable[[], float] = time.time
        # Zones whose maximum is reduced now (zone -> A; see zone_limits).
        self.zone_reductions: dict[str, float] = {}
        # Whether Scheduled sessions may charge now (the hub's charging window or price).
        self.schedule_open = False
        # Scheduled sessions with a departure plan of their own (departures.py): whether
        # each may charge now, by transaction id (the others follow schedule_open).
        # Planned sessions (departures.py) by station and transaction id: charge now?
        self.session_windows: dict[tuple[str, str], bool] = {}
        # The PV production (W; None: no sensor, or not readable) and the building's
        # solar fraction over time, noted every cycle: how charged energy is split into
        # solar and grid (billing.solar_fraction).
        self.pv_power: float | None = None
        self.pv_at: float | None = None  # when the PV sensor last reported (clock)
        # The grid connection from Home Assistant power sensors (hub options), used when
        # no Modbus meter is marked as the grid connection (zone_limits.GridSensors).
        self.grid_sensor_reading: MeterReading | None = None
        self.solar_log = SolarShareLog()
        self.peak_room: float | None = None
        self.peak_rest: float | None = None  # W the rest of the building draws
        # Switchable stations in a solar mode: the phases they charge on (point key -> 1
        # or 3); the others charge on their wiring's.
        self._phases_wanted: dict[str, int] = {}
        self._switched_at: dict[str, float] = {}  # station subentry id -> loop time
        # Stations on one phase seen drawing on another since (reading time).
        self._phase_doubt: dict[str, float] = {}
        self._rest = RestOfBuilding()
        self._peak_reported = False
        self._runs: dict[str, _StationRun] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[], None]] = []
        self.started_at = clock()

    # --- lifecycle ----------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the service runs: its loop is alive and cycled recently."""
        if self._loop_task is None or self._loop_task.done() or self.cycle_error is not None:
            return False
        return self.last_cycle is not None and self._clock() - self.last_cycle < 5 * CYCLE_INTERVAL

    @property
    def active(self) -> bool:
        """Whether there is anything to manage (at least one zone)."""
        return bool(self.zones)

    async def async_start(self) -> None:
        """Start the meter pollers and the cycle loop."""
        self.started_at = self._clock()
        for meter in self.meters.values():
            self._start_poller(meter)
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = self._create_task(self._loop(), "load manager")

    async def async_stop(self) -> None:
        """Stop everything (the limits in force stay on the stations)."""
        task, self._loop_task = self._loop_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for run in self._runs.values():
            if run.sender.task is not None:
                run.sender.task.cancel()
        await asyncio.gather(
            *(run.sender.task for run in self._runs.values() if run.sender.task is not None),
            return_exceptions=True,
        )
        for run in self._runs.values():
            # Sent again from what the next cycle wants (a pending value would look sent).
            run.sender = _Sender()
            run.failsafe_sent = run.failsafe_on = None
        for poller in list(self.pollers.values()):
            await poller.stop()
        self.pollers.clear()
        for bus in list(self.buses.values()):
            await bus.close()
        self.buses.clear()

    async def async_restart(self) -> None:
        """Restart the service (the hub's "Restart DLM service" button)."""
        _LOGGER.info("Restarting the DLM service")
        await self.async_stop()
        self._estimator = OtherLoadEstimator()
        await self.async_start()
        self.notify()

    async def async_configure(
        self,
        connections: Mapping[str, ConnectionConfig],
        meters: Mapping[str, MeterConfig],
        zones: Mapping[str, ZoneConfig],
    ) -> None:
        """Apply the configuration; only what changed is restarted."""
        changed_buses = {
            key
            for key in set(self.connections) | set(connections)
            if self.connections.get(key) != connections.get(key)
        }
        for key in list(self.pollers):
            meter = meters.get(key)
            if meter != self.meters.get(key) or (meter and meter.connection in changed_buses):
                await self.pollers.pop(key).stop()
        for key in changed_buses:
            if (bus := self.buses.pop(key, None)) is not None:
                await bus.close()
        for key in set(self.meters) - set(meters):
            self._estimator.forget(key)
        self.connections = dict(connections)
        self.meters = dict(meters)
        self.zones = dict(zones)
        self.zone_states = {key: self.zone_states.get(key, ZoneState()) for key in zones}
        if self._loop_task is not None:
            for meter in self.meters.values():
                if meter.key not in self.pollers:
                    self._start_poller(meter)
        self.request_cycle()

    async def async_read(self, connection: str, unit: int, model: MeterModel) -> MeterReading:
        """Read any meter on a connection once (troubleshooting), sharing the bus."""
        bus = self._bus(connection)
        if bus is None:
            raise BusConnectionError(f"no connection {connection}")
        return await read_meter(bus, unit, model)

    def node_name(self, key: str | None) -> str | None:
        """Readable name of a capacity node: a zone, or a DLM meter shared by zones."""
        if key is None:
            return None
        if key in self.zones:
            return self.zones[key].name
        if key == PEAK_NODE:
            return "peak limit"
        meter = self.meters.get(key.removeprefix("meter:"))
        return meter.name if meter else key

    def reading_age(self, meter: str) -> float | None:
        """Seconds since a meter's last good reading (None: never read, or no such meter)."""
        poller = self.pollers.get(meter)
        if poller is None or poller.last_good is None:
            return None
        return max(0.0, self._clock() - poller.last_good.at)

    def _bus(self, connection: str) -> ModbusBus | None:
        bus = self.buses.get(connection)
        if bus is None and (config := self.connections.get(connection)) is not None:
            bus = self.buses[connection] = ModbusBus(config)
        return bus

    def _start_poller(self, meter: MeterConfig) -> None:
        bus = self._bus(meter.connection)
        if bus is None:
            _LOGGER.warning("Meter %s: its Modbus connection is missing", meter.name)
            return
        poller = MeterPoller(
            bus,
            meter.unit,
            meter.model,
            meter.poll_interval,
            on_update=self._on_meter_update,
            name=meter.name,
            amperage=meter.amperage,
        )
        self.pollers[meter.key] = poller
        poller.start()

    def _on_meter_update(self, _poller: MeterPoller) -> None:
        self.request_cycle()
        self.notify()

    # --- listeners ----------------------------------------------------------------

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call listener after every cycle and meter read; returns a remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def notify(self) -> None:
        """Tell listeners that something changed."""
        for listener in list(self._listeners):
            listener()

    # --- the cycle ----------------------------------------------------------------

    def request_cycle(self) -> None:
        """Run a cycle as soon as possible."""
        self._wake.set()

    def station_ready(self, station: Station) -> None:
        """A managed station (re)connected: resend its limits."""
        run = self._runs.get(station.config.subentry_id)
        if run is not None:
            for point in run.points.values():
                point.control.limit = None
                point.live_at = None
            run.cap = run.cap_at = None
        self.request_cycle()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), CYCLE_INTERVAL)
            if self.last_cycle is not None:
                # Bursts of triggers (several meters, sessions) share one cycle.
                spacing = MIN_CYCLE_SPACING - (self._clock() - self.last_cycle)
                if spacing > 0:
                    await asyncio.sleep(spacing)
            self._wake.clear()
            try:
                self.cycle()
            except Exception as err:  # noqa: BLE001 - a defect must not end load management
                self._cycle_failed(err)
            else:
                if self.cycle_error is not None:
                    _LOGGER.info(
                        "The DLM cycle works again after %d failed cycles", self.cycle_failures
                    )
                self.cycle_error = None
                self.cycle_failures = 0
            self.notify()

    def _cycle_failed(self, err: Exception) -> None:
        """A cycle raised: when unsure, less current.

        Every managed station goes to its zone's fail-safe current (0 A in a paused
        zone) until a cycle succeeds.
        """
        self.cycle_failures += 1
        self.cycle_error = f"{type(err).__name__}: {err}"
        if self.cycle_failures == 1:
            _LOGGER.error(
                "The DLM cycle failed; every managed station is set to its zone's fail-safe "
                "current until it works again",
                exc_info=err,
            )
        specs = self._zone_specs()
        for station in self._stations():
            try:
                if station.config.zone not in specs or not station.ready:
                    continue
                run = self._runs.setdefault(station.config.subentry_id, _StationRun())
                failsafe = _failsafe_limit(specs, _zone(station), station)
                for connector in _connectors(station):
                    held = run.point(connector).control.limit
                    # Only ever down: a paused car is not raised by a fault.
                    limit = failsafe if held is None else min(held, failsafe)
                    if held != limit:
                        run.sender.wanted[connector] = limit
                if run.sender.wanted:
                    self._start_sender(station, run)
            except Exception:
                _LOGGER.exception("Could not set %s to its fail-safe current", station.station_id)

    def _zone_specs(self) -> dict[str, ZoneSpec]:
        """The zones as they apply now: a reduced maximum in force (zone_limits) applied."""
        return {
            key: zone.spec
            if (reduced := self.zone_reductions.get(key)) is None
            else replace(zone.spec, max_current=min(zone.spec.max_current, reduced))
            for key, zone in self.zones.items()
        }

    def _meter_state(self, key: str) -> MeterState | None:
        meter = self.meters.get(key)
        if meter is None:
            return None
        poller = self.pollers.get(key)
        reading = poller.last_good if poller is not None else None
        if reading is None:
            return MeterState(key, meter.amperage)
        # A phase the meter does not read has no room (never 0 A of load).
        current = tuple(meter.amperage if c is None else float(c) for c in reading.current)
        return MeterState(key, meter.amperage, (current[0], current[1], current[2]), reading.at)

    def cycle(self) -> None:
        """Compute every charging point of every zone and send what changed."""
        now = self._clock()
        wall = datetime.now(UTC)
        self.last_cycle = now
        self.cycles += 1
        pv = (
            self.pv_power
            if self.pv_at is not None and now - self.pv_at <= PV_SENSOR_MAX_AGE
            else None
        )
        self.solar_log.note(wall.timestamp(), solar_fraction(self._grid_import(now), pv))
        specs = self._zone_specs()
        managed = [s for s in self._stations() if s.config.zone in specs]
        by_zone: dict[str, list[Station]] = {key: [] for key in specs}
        for station in managed:
            by_zone[_zone(station)].append(station)
        meters = {
            key: state
            for key in {m for spec in specs.values() for m in spec.dlm_meters}
            | {spec.consumption_meter for spec in specs.values() if spec.consumption_meter}
            if (state := self._meter_state(key)) is not None
        }
        readings: dict[str, _Reading | None] = {}
        for station in managed:
            run = self._runs.setdefault(station.config.subentry_id, _StationRun())
            self._check_connectors(station)
            for connector in _connectors(station):
                point = run.point(connector)
                reading = self._reading(station, point, connector, now, wall)
                readings[_point_key(station, connector)] = reading
                # What it was seen drawing: a session whose first reading is still on
                # its way may draw up to its limit.
                point.seen = (
                    reading.drawn
                    if reading is not None
                    else math.inf
                    if _first_reading_due(station, wall, connector)
                    else None
                )
                if station.connected:
                    self._watch(station, point, reading, now)
                    self._check_phases(station, reading)
                point.expire_peak(now, _reading_max_age(station))
            self._note_ignoring(station, run)
        estimates = self._estimates(specs, by_zone, meters, readings, now, wall)
        budget = compute(specs, meters, estimates, now)
        self.last_budget = budget
        # The fail-safe profile does not depend on readings: every managed station gets
        # its zone's, even before the meters are read.
        self._dispatch_failsafe(managed, specs)
        # Right after a start the meters have not been read yet: keep the limits in
        # force for those zones until their timeout, rather than calling it a fault.
        starting = {
            key
            for key, info in budget.failsafe.items()
            if info.age is None
            and info.meter in self.meters
            and now - self.started_at < specs[key].stale_after
        }
        if starting:
            for key in starting:
                del budget.failsafe[key]
            managed = [s for s in managed if _zone(s) not in starting]
            by_zone = {k: v for k, v in by_zone.items() if k not in starting}

        nodes = self._peak_limit(budget.nodes, specs, by_zone, meters, readings, now, wall)
        fixed: dict[str, Allocation] = {}
        demands: list[Demand] = []
        solar: list[tuple[Demand, SolarDemand]] = []
        in_solar: set[str] = set()  # sessions in a solar mode, in the sharing or not
        for station in managed:
            zone = specs[_zone(station)]
            run = self._runs.setdefault(station.config.subentry_id, _StationRun())
            phases = _phase_indices(station)
            sessions = _session_connectors(station)
            for connector in _connectors(station):
                key = _point_key(station, connector)
                point = run.point(connector)
                session = _in_session(sessions, connector)
                if session and _mode(station, connector) in SOLAR_MODES:
                    in_solar.add(key)
                if zone.key in budget.failsafe:
                    limit = _failsafe_limit(specs, zone.key, station)
                    fixed[key] = Allocation(limit, Reason.FAILSAFE, zone.key)
                    if session or not station.connected:
                        nodes = withhold(nodes, zone.key, phases, limit)
                    continue
                if not station.connected:
                    # It may still charge at the limit it holds: count it there.
                    if _may_draw(station, connector):
                        held = _limit_in_force(station, point)
                        if point.ignoring or station.profile_error is not None:
                            held = station.config.max_current
                        nodes = withhold(nodes, zone.key, phases, held)
                        fixed[key] = Allocation(held, Reason.OFFLINE)
                    continue
                if not session:
                    point.forget_session()
                    continue
                if station.profile_error is not None or point.ignoring:
                    # It does not follow our limits: count it at its maximum, give it
                    # nothing new (a station that ignores its limit is asked for the
                    # minimum, so that it is seen when it follows again).
                    nodes = withhold(nodes, zone.key, phases, station.config.max_current)
                    fixed[key] = (
                        Allocation(station.config.min_current, Reason.IGNORING_LIMIT)
                        if point.ignoring
                        else Allocation(station.config.max_current, Reason.STATION_MAX)
                    )
                    continue
                reading = readings.get(key)
                if reading is not None and reading.over:
                    # It draws more than any limit it held: a limit it does not follow
                    # frees nothing. Counted at what it draws, its limit left as it is.
                    nodes = withhold(nodes, zone.key, phases, reading.drawn)
                    fixed[key] = Allocation(point.control.limit or 0.0, Reason.IGNORING_LIMIT)
                    continue
                draw = reading.drawn if reading is not None else None
                cap = point.control.car_cap(
                    draw, station.config.max_current, station.config.min_current, now, self.control
                )
                mode = _mode(station, connector)
                if mode is ChargingMode.OFF:
                    point.served_at = None
                    fixed[key] = Allocation(0.0, Reason.MODE_OFF)
                    continue
                if mode is ChargingMode.SCHEDULED and not self._window_open(station, connector):
                    point.served_at = None
                    fixed[key] = Allocation(0.0, Reason.WAITING_FOR_SCHEDULE)
                    continue
                running = point.control.limit is not None and point.control.limit > 0
                if running and point.served_at is not None:
                    point.served += now - point.served_at
                point.served_at = now if running else None
                demand = Demand(
                    key=key,
                    node=zone.key,
                    phases=phases,
                    min_current=station.config.min_current,
                    max_current=station.config.max_current if cap is None else cap,
                    car_limited=cap is not None,
                    priority=station.config.priority,
                    served=point.served,
                    running=running,
                )
                if mode in SOLAR_MODES:
                    solar.append(
                        (
                            demand,
                            SolarDemand(
                                key=key,
                                mode=mode,
                                phases=phases,
                                min_current=demand.min_current,
                                max_current=demand.max_current,
                                drawn=None if reading is None else reading.raw,
                                priority=demand.priority,
                                served=demand.served,
                                switchable=_switchable(station),
                            ),
                        )
                    )
                    continue
                demands.append(demand)
        solar_caps = self._share_surplus(solar, now, in_solar)
        # A switchable session left out of the solar sharing for a cycle (its zone in
        # fail-safe, a reading over its limit, a reconnect) keeps its phases: it goes
        # back to its wiring's only when its session ends or leaves the solar modes.
        self._phases_wanted = {
            key: phases for key, phases in self._phases_wanted.items() if key in in_solar
        } | {key: cap.phases for key, cap in solar_caps.items() if cap.phases is not None}
        for demand, _solar in solar:
            share = solar_caps[demand.key]
            if share.cap <= 0:
                fixed[demand.key] = Allocation(0.0, Reason.WAITING_FOR_SUN)
            else:
                demands.append(replace(demand, max_current=min(demand.max_current, share.cap)))
        result = allocate(nodes, demands, self.allocation_settings)
        for demand, _solar in solar:
            got = result.get(demand.key)
            share = solar_caps[demand.key]
            if (
                got is not None
                and got.reason in (Reason.STATION_MAX, Reason.CAPPED_BY_CAR)
                and share.cap < demand.max_current
            ):
                # Its maximum here was the surplus's share (the car or station allow more).
                result[demand.key] = Allocation(got.limit, Reason.SOLAR)
        self._hold_unproven_room(managed, demands, result, nodes, fixed)
        result.update(fixed)
        self._idle_limits(managed, result, nodes)
        self._publish(specs, by_zone, result, budget)
        self._dispatch(managed, result, now)

    def solar_settings(self, settings: SolarSettings) -> None:
        """Apply the solar delays and smoothing window (options)."""
        self.solar.settings = settings
        self._surplus_window.span = settings.smoothing

    def set_zone_reductions(self, currents: Mapping[str, float]) -> None:
        """The zones whose maximum is reduced now (tariff windows, prices): zone -> A."""
        if dict(currents) != self.zone_reductions:
            self.zone_reductions = dict(currents)
            self.request_cycle()

    def set_schedule_open(self, open_now: bool) -> None:
        """Whether sessions in the Scheduled mode may charge now."""
        if open_now != self.schedule_open:
            self.schedule_open = open_now
            self.request_cycle()

    def set_session_windows(self, windows: dict[tuple[str, str], bool]) -> None:
        """Which Scheduled sessions with a departure plan may charge now."""
        if windows != self.session_windows:
            self.session_windows = windows
            self.request_cycle()

    def _window_open(self, station: Station, connector: int) -> bool:
        """Whether a Scheduled session may charge now: its plan, else the hub's window."""
        for session in station.open_sessions():
            if connector in (0, session.connector_id) and (
                (planned := self.session_windows.get(session.key)) is not None
            ):
                return planned
        return self.schedule_open

    def set_peak_target(self, kilowatts: float | None) -> None:
        """The site's peak limit: the highest 15-minute average import (None: none)."""
        if not kilowatts:
            self.peak = None
            self.peak_room = self.peak_rest = None
            self._rest.forget()
        elif self.peak is None:
            self.peak = PeakWindow(kilowatts * 1000.0)
        else:
            self.peak.target = kilowatts * 1000.0

    def _peak_limit(
        self,
        nodes: dict[str, Node],
        specs: Mapping[str, ZoneSpec],
        by_zone: Mapping[str, list[Station]],
        meters: Mapping[str, MeterState],
        readings: Mapping[str, _Reading | None],
        now: float,
        wall: datetime,
    ) -> dict[str, Node]:
        """The nodes under the site's peak limit (a node above every other one).

        Its capacity is the power the stations may draw under the limit (see
        dlm.peak), in amperes per phase as if spread over the three phases (a
        single-phase car gets less than the power would allow: the safe side). Without
        a reading of the grid meter the window cannot be followed: the stations keep
        their minimums and no more (rotation pauses the rest), said once in the log.
        """
        window = self.peak
        if window is None:
            return nodes
        grid_import = self._grid_import(now)
        grid = self._grid_reading(now)
        grid_at = grid.at if grid is not None else None
        if grid_import is None:
            self.peak_room = self.peak_rest = None
            self._rest.forget()
            if not self._peak_reported and now - self.started_at >= PEAK_REPORT_AFTER:
                self._peak_reported = True
                _LOGGER.warning(
                    "Peak limit without a reading of the grid meter (none is marked as the "
                    "building's grid connection, or it is not read): the stations keep "
                    "their minimum current and no more"
                )
            # Each phase: the minimums of the sessions on it, no more.
            mins = [0.0, 0.0, 0.0]
            for station in (s for stations in by_zone.values() for s in stations):
                if sessions := _session_connectors(station):
                    for p in _phase_indices(station):
                        mins[p] += station.config.min_current * len(sessions)
            caps = mins
        else:
            self._peak_reported = False
            volts = self._grid_voltages
            at = self.peak_clock()
            window.add(at, grid_import)
            # What the stations draw, as counted for their zones (a reading older than
            # a cut is held to the limit), and the most they may draw now. Stations left
            # out of this cycle (a zone just started) are the rest of the building's.
            roots = [key for key, spec in specs.items() if spec.parent not in specs]
            low, high, settled = self._charging_bounds(
                specs, roots, by_zone, meters, readings, grid_at, now, wall, following=True
            )
            # A settled rest is kept while the stations' readings may lag (their reading
            # intervals), at least REST_HOLD.
            hold = max(
                [REST_HOLD]
                + [
                    _reading_max_age(s)
                    for stations in by_zone.values()
                    for s in stations
                    if _session_connectors(s)
                ]
            )
            rest = self._rest.estimate(
                grid_import,
                sum(a * v for a, v in zip(low, volts, strict=True)),
                sum(a * v for a, v in zip(high, volts, strict=True)),
                settled,
                now,
                hold,
            )
            self.peak_rest = rest
            self.peak_room = charging_room(window.allowed(at), rest)
            caps = [self.peak_room / sum(volts)] * 3
        cap = _t([math.floor(c * 10 + 1e-6) / 10 for c in caps])
        result = {
            key: node if node.parents else Node(key, node.capacity, (PEAK_NODE,))
            for key, node in nodes.items()
        }
        result[PEAK_NODE] = Node(PEAK_NODE, cap)
        return result

    def _grid_reading(self, now: float) -> MeterReading | None:
        """The grid meter's last good reading if fresh (three poll intervals, 10 s at least).

        Without a Modbus meter marked as the grid connection, the reading of the grid's
        power sensors (hub options) if not older than GRID_SENSOR_MAX_AGE. None when
        neither, or not read.
        """
        grid = next((m for m in self.meters.values() if m.grid), None)
        if grid is None:
            sensed = self.grid_sensor_reading
            if sensed is None or now - sensed.at > GRID_SENSOR_MAX_AGE:
                return None
            return sensed
        poller = self.pollers.get(grid.key)
        reading = poller.last_good if poller is not None else None
        if reading is None:
            return None
        if now - reading.at > max(10.0, 3 * grid.poll_interval):
            return None
        return reading

    def _grid_import(self, now: float) -> float | None:
        """The power imported at the grid connection (W, export < 0), None when unsure.

        From the phases' powers (signed), else the meter's total; a fresh reading with
        neither counts as no reading (a missing phase is not 0 W of import).
        """
        reading = self._grid_reading(now)
        if reading is None:
            return None
        self._grid_voltages = _voltages(reading)
        if all(p is not None for p in reading.power):
            return float(sum(p for p in reading.power if p is not None))
        if reading.power_total is not None:
            return float(reading.power_total)
        return None

    def _grid_currents(self, now: float) -> Triple | None:
        """Signed currents per phase at the grid connection (A, export < 0), or None.

        The direction is the sign of each phase's power (meters report currents as
        magnitudes); a phase without its power counts as import (no surplus). A reading
        older than three poll intervals (at least 10 s) is not used.
        """
        reading = self._grid_reading(now)
        if reading is None:
            return None
        self._grid_voltages = _voltages(reading)
        values: list[float] = []
        for current, power in zip(reading.current, reading.power, strict=True):
            magnitude = abs(current) if current is not None else 0.0
            values.append(-magnitude if power is not None and power < 0 else magnitude)
        return _t(values)

    def _share_surplus(
        self, solar: Sequence[tuple[Demand, SolarDemand]], now: float, keep: Set[str]
    ) -> dict[str, SolarCap]:
        """Each solar-mode session's cap from the building's surplus.

        Without a usable grid reading there is no surplus (less current, never more):
        solar-only sessions stop after their delays, Solar + minimum ones keep their
        minimum. Said once in the log.
        """
        demands = [d for _demand, d in solar]
        grid = self._grid_currents(now)
        if grid is None:
            self._surplus_window.clear()
            self.surplus = self.surplus_power = None
            if demands and not self._grid_reported:
                self._grid_reported = True
                _LOGGER.warning(
                    "Solar charging without a reading of the grid connection (no meter marked "
                    "as the building's grid connection nor grid power sensors, or they are "
                    "not read): no surplus"
                )
            available: Triple = ZERO
        else:
            self._grid_reported = False
            netted = self.solar.settings.netted
            available = self._surplus_window.add(now, surplus(grid, demands, netted))
            self.surplus = available
            self.surplus_power = round(
                sum(a * v for a, v in zip(available, self._grid_voltages, strict=True))
            )
        self.solar_caps = self.solar.caps(
            available, demands, now, self.allocation_settings, keep=keep
        )
        return self.solar_caps

    def _hold_unproven_room(
        self,
        managed: list[Station],
        demands: list[Demand],
        result: dict[str, Allocation],
        nodes: Mapping[str, Node],
        fixed: Mapping[str, Allocation],
    ) -> None:
        """No rise on room that a cut station has not been seen to free.

        A station that was cut and has not yet shown a reading within its new limit may
        be one that ignores its limits: until it shows one, the highest limit it held
        stays taken on every node above it. Where the sessions' new limits and those
        peaks do not fit a node, the rises under it are trimmed to what fits, the last
        sessions in the order first; a rise trimmed below its session's minimum (or
        below what it holds) does not happen this cycle. Cuts go out as ever, the
        sessions stopped by their mode (Off, Scheduled outside its window, Solar only
        without sun) among them: what they held stays taken until they are seen to stop.
        """
        points: dict[str, tuple[Station, _Point, int]] = {}
        for station in managed:
            run = self._runs.get(station.config.subentry_id)
            if run is None:
                continue
            for connector in _connectors(station):
                point = run.points.get(connector)
                if point is not None:
                    points[_point_key(station, connector)] = (station, point, connector)
        load: dict[tuple[str, int], float] = {}
        rising: list[tuple[Demand, float]] = []
        pinned = False
        limits = dict(result)
        stopped: list[Demand] = []
        for key, (station, _point, _connector) in points.items():
            allocation = fixed.get(key)
            if allocation is not None and allocation.reason in _STOPPED_BY_MODE:
                limits[key] = allocation
                stopped.append(
                    Demand(
                        key=key,
                        node=_zone(station),
                        phases=_phase_indices(station),
                        min_current=station.config.min_current,
                        max_current=station.config.max_current,
                    )
                )
        for demand in [*demands, *stopped]:
            found = points.get(demand.key)
            allocation = limits.get(demand.key)
            if found is None or allocation is None:
                continue
            station, point, connector = found
            run = self._runs[station.config.subentry_id]
            now_at = point.risk(run.sender.wanted.get(connector))
            base = now_at  # what a rise is measured from
            if point.control.limit is None:
                # No live limit of ours accepted yet (a new session, a restart, a new
                # connection): the fail-safe profile it accepted on this connection
                # holds it, else it may hold any limit up to its maximum. The fail-safe
                # profile goes out before any live limit: above it is a rise.
                failsafe = run.failsafe_sent if run.failsafe_on is station.connection else None
                now_at = max(now_at, station.config.max_current if failsafe is None else failsafe)
                zone = self.zones.get(_zone(station))
                if failsafe is None and zone is not None:
                    failsafe = min(zone.spec.failsafe_current, station.config.max_current)
                base = max(base, failsafe or 0.0)
            after = allocation.limit
            if allocation.limit > base:
                rising.append((demand, point.control.limit or 0.0))
            elif now_at > allocation.limit and (
                not point.trusted or (point.control.limit or math.inf) > allocation.limit
            ):
                # Cut now (not yet accepted: other stations may apply their rise
                # first) or lately and not yet seen following: still takes its draw.
                after = now_at
                pinned = True
            for node in ancestors(nodes, demand.node):
                for p in demand.phases:
                    load[(node, p)] = load.get((node, p), 0.0) + after
        if not pinned or not rising:
            return
        over = {key for key, amps in load.items() if amps > nodes[key[0]].capacity[key[1]] + 1e-6}
        if not over:
            return
        step = self.allocation_settings.step
        for demand, held_now in reversed(rising):
            path = ancestors(nodes, demand.node)
            excess = 0.0
            blocked: str | None = None
            for node in path:
                for p in demand.phases:
                    beyond = load[(node, p)] - nodes[node].capacity[p]
                    if beyond > excess + 1e-6:
                        excess, blocked = beyond, node
            if blocked is None:
                continue
            allocation = result[demand.key]
            held = held_now if held_now >= demand.min_current else 0.0
            # Rounded down to the step: what fits, never a fraction more.
            trimmed = round(math.floor((allocation.limit - excess) / step + 1e-6) * step, 6)
            if trimmed >= max(demand.min_current, held):
                result[demand.key] = Allocation(trimmed, allocation.reason, blocked)
            else:
                reason = Reason.PAUSED if held == 0 else allocation.reason
                result[demand.key] = Allocation(held, reason, blocked)
            freed = allocation.limit - result[demand.key].limit
            for node in path:
                for p in demand.phases:
                    load[(node, p)] -= freed

    # --- readings -------------------------------------------------------------------

    def _reading(
        self, station: Station, point: _Point, connector: int, now: float, wall: datetime
    ) -> _Reading | None:
        """What a charging point draws, if that counts as charging current now.

        Only while its connector has an open session and the reading came during it
        and is fresh (READING_INTERVALS of the station's sample interval); what is not
        counted here is seen by the DLM meter as other load: the safe side. A reading
        from before the station had time to follow its last limit is held to that
        limit (after a cut, the last values are higher than what it draws now).
        """
        if not station.connected:
            if not _may_draw(station, connector):
                return None
            # Offline during a session: counted at the limit it holds, in the estimate
            # as in the allocation (see cycle), so that the two agree.
            held = _limit_in_force(station, point)
            if point.ignoring or station.profile_error is not None:
                held = station.config.max_current
            phases = _phase_indices(station)
            amps = _t([held if p in phases else 0.0 for p in range(3)])
            return _Reading(amps, amps, math.inf, False, True, now)
        sessions = _session_connectors(station)
        if not (sessions if connector == 0 else connector in sessions):
            return None
        found = station.draw(connector)
        if found is None:
            return None
        raw, at = found
        age = max(0.0, (wall - at).total_seconds())
        if age > _reading_max_age(station):
            return None
        limit = point.control.limit
        allowed = point.allowed(now - age)
        over = max(raw) > allowed + max(OVER_TOLERANCE, OVER_SHARE * allowed)
        # A reading may be older than the last cut: it cannot draw more than its limit
        # now, unless it shows that it does not follow its limits.
        counted = raw if over or limit is None else _t([min(v, limit) for v in raw])
        settled = now - age >= point.control.changed_at + self.control.settle_time
        return _Reading(raw, counted, allowed, over, settled, now - age)

    def _watch(self, station: Station, point: _Point, reading: _Reading | None, now: float) -> None:
        """Flag a charging point that draws clearly more than the limits it held."""
        if reading is None or point.control.limit is None:
            return
        point.prove(reading.taken, reading.over)
        point.drawn = reading.drawn
        over = reading.drawn > reading.allowed + IGNORE_MARGIN
        if not point.ignoring:
            if not over:
                point.over_since = None
                return
            if point.over_since is None:
                point.over_since = now
            if now - point.over_since >= IGNORE_AFTER:
                point.ignoring = True
                point.within_since = None
                _LOGGER.warning(
                    "Station %s draws %.1f A with a limit of %.1f A for %.0f s: it ignores "
                    "its limit; counted at its maximum (%.1f A) until it follows again",
                    station.station_id,
                    point.drawn,
                    point.control.limit,
                    now - point.over_since,
                    station.config.max_current,
                )
            return
        if over:
            point.within_since = None
            return
        if point.within_since is None:
            point.within_since = now
        if now - point.within_since >= FOLLOWS_AGAIN_AFTER:
            point.ignoring = False
            point.over_since = None
            _LOGGER.info("Station %s follows its limit again", station.station_id)

    def _note_ignoring(self, station: Station, run: _StationRun) -> None:
        flagged = [p for p in run.points.values() if p.ignoring]
        message = (
            f"draws {max(p.drawn for p in flagged):.1f} A with a limit of "
            f"{min(p.control.limit or 0.0 for p in flagged):.1f} A"
            if flagged
            else None
        )
        if (message is None) != (station.ignoring_limit is None):
            station.ignoring_limit = message
            station.notify()

    def _check_connectors(self, station: Station) -> None:
        if station.connector_count > station.config.connectors and not station.connectors_warned:
            station.connectors_warned = True
            _LOGGER.warning(
                "Station %s has %d connectors, %d configured: each connector gets its own "
                "limit; set its number of connectors in Charge Zones",
                station.station_id,
                station.connector_count,
                station.config.connectors,
            )

    def _estimates(
        self,
        specs: Mapping[str, ZoneSpec],
        by_zone: Mapping[str, list[Station]],
        meters: Mapping[str, MeterState],
        readings: Mapping[str, _Reading | None],
        now: float,
        wall: datetime,
    ) -> dict[str, Triple]:
        """Other load per DLM meter (see dlm.control.OtherLoadEstimator)."""
        estimates: dict[str, Triple] = {}
        for meter_key, behind in fronted_zones(specs).items():
            meter = meters.get(meter_key)
            if meter is None or meter.current is None:
                continue
            low, high, settled = self._charging_bounds(
                specs, behind, by_zone, meters, readings, meter.at, now, wall
            )
            # Settled: other load = meter - what the stations showed. Otherwise the last
            # settled estimate is kept, raised where the meter minus the most the
            # stations may draw now shows more.
            estimates[meter_key] = self._estimator.estimate(
                meter_key, meter.current, low, high, settled
            )
        return estimates

    def _charging_bounds(
        self,
        specs: Mapping[str, ZoneSpec],
        behind: Iterable[str],
        by_zone: Mapping[str, list[Station]],
        meters: Mapping[str, MeterState],
        readings: Mapping[str, _Reading | None],
        meter_at: float | None,
        now: float,
        wall: datetime,
        *,
        following: bool = False,
    ) -> tuple[Triple, Triple, bool]:
        """What the charging behind a meter draws per phase: (measured, most, settled).

        The zones `behind` and those nested in them: as last measured, the most it may
        draw now. Settled: the zones' consumption meters were read with it, or every session's
        reading shows what it draws under its limit now and was taken before the meter
        reading at `meter_at`. following: a session may still draw any limit it held
        within FOLLOW_TIME (a cut car is still slowing down), else its limit in force.
        """
        behind = set(behind)
        low = [0.0, 0.0, 0.0]
        high = [0.0, 0.0, 0.0]
        synchronous = True
        # Whether every session's reading shows what it draws under its limit now.
        settled = True
        metered: set[str] = set()  # zones whose consumption meter counts all inside
        for zone in _subtrees(specs, behind):
            if any(parent in metered for parent in zone_chain(specs, zone)[1:]):
                continue  # its stations are in a parent zone's consumption meter
            consumption = specs[zone].consumption_meter
            state = meters.get(consumption) if consumption else None
            if (
                zone in behind
                and state is not None
                and state.current is not None
                and state.age(now) is not None
                and (state.age(now) or 0.0) <= specs[zone].stale_after
            ):
                for p in range(3):
                    low[p] += state.current[p]
                    high[p] += state.current[p]
                metered.add(zone)
                continue
            synchronous = False
            for station in by_zone.get(zone, []):
                run = self._runs.get(station.config.subentry_id)
                phases = _phase_indices(station)
                sessions = _session_connectors(station)
                for connector in _connectors(station):
                    reading = readings.get(_point_key(station, connector))
                    point = run.points.get(connector) if run else None
                    session = _in_session(sessions, connector)
                    value = reading.counted if reading is not None else ZERO
                    if (
                        reading is not None
                        and reading.settled
                        and meter_at is not None
                        and reading.taken <= meter_at
                    ):
                        # It draws what it showed after it had settled on its limit,
                        # and the meter was read after it: the meter shows that draw.
                        most = value
                    else:
                        # Its limit changed since, or no reading: at most its limit
                        # in force while it has a session.
                        cap = (point.control.limit or 0.0) if point and session else 0.0
                        if following and point and session:
                            cap = max(cap, point.recent(now))
                        most = _t(
                            [max(v, cap if p in phases else 0.0) for p, v in enumerate(value)]
                        )
                        if session and (
                            reading is not None or _first_reading_due(station, wall, connector)
                        ):
                            # A reading that stops coming counts as nothing (its
                            # draw is other load); one on its way holds the estimate.
                            settled = False
                    for p in range(3):
                        low[p] += value[p]
                        high[p] += most[p]
        return _t(low), _t(high), synchronous or settled

    def _idle_limits(
        self,
        managed: list[Station],
        result: dict[str, Allocation],
        nodes: Mapping[str, Node],
    ) -> None:
        """Points without a session: ready at their minimum where there is room, else 0 A.

        A car plugged in then starts within what is left, until the next cycle gives it
        its share.
        """
        room: dict[tuple[str, int], float] = {}
        for key, node in nodes.items():
            for p in range(3):
                room[(key, p)] = node.capacity[p]
        for station in managed:
            sessions = _session_connectors(station)
            run = self._runs.get(station.config.subentry_id)
            for connector in _connectors(station):
                allocation = result.get(_point_key(station, connector))
                point = run.points.get(connector) if run is not None else None
                # A cut it has not been seen to follow still takes its peak.
                taken = max(allocation.limit if allocation else 0.0, (point and point.peak) or 0.0)
                if allocation is None or taken <= 0:
                    continue
                session = _in_session(sessions, connector)
                if allocation.reason in (Reason.FAILSAFE, Reason.OFFLINE) and not session:
                    continue  # withheld already
                for above in ancestors(nodes, _zone(station)):
                    for p in _phase_indices(station):
                        room[(above, p)] -= taken
        for station in managed:
            need = station.config.min_current + self.allocation_settings.restart_margin
            path = ancestors(nodes, _zone(station))
            phases = _phase_indices(station)
            for connector in _connectors(station):
                key = _point_key(station, connector)
                if key in result:
                    continue
                if all(room[(n, p)] >= need for n in path for p in phases):
                    for n in path:
                        for p in phases:
                            room[(n, p)] -= station.config.min_current
                    result[key] = Allocation(station.config.min_current, Reason.IDLE)
                else:
                    result[key] = Allocation(0.0, Reason.IDLE)

    def _publish(
        self,
        specs: Mapping[str, ZoneSpec],
        by_zone: Mapping[str, list[Station]],
        result: Mapping[str, Allocation],
        budget: Budget,
    ) -> None:
        for key in specs:
            state = self.zone_states.setdefault(key, ZoneState())
            allocated = [0.0, 0.0, 0.0]
            active = paused = 0
            for zone in _subtrees(specs, [key]):
                for station in by_zone.get(zone, []):
                    if not station.connected:
                        continue
                    sessions = _session_connectors(station)
                    for connector in _connectors(station):
                        allocation = result.get(_point_key(station, connector))
                        session = _in_session(sessions, connector)
                        if allocation is None or not session:
                            continue
                        if allocation.limit > 0:
                            active += 1
                            for p in _phase_indices(station):
                                allocated[p] += allocation.limit
                        else:
                            paused += 1
            state.budget = budget.zone_budget.get(key, ZERO)
            state.allocated = _t(allocated)
            state.active = active
            state.paused = paused
            before = state.failsafe
            state.failsafe = budget.failsafe.get(key)
            if (before is None) != (state.failsafe is None):
                self._on_failsafe(
                    FailsafeChange(key, state.failsafe is not None, state.failsafe or before)
                )
                if state.failsafe is not None:
                    _LOGGER.warning(
                        "Zone %s in fail-safe: DLM meter %s %s",
                        self.zones[key].name,
                        self.node_name(state.failsafe.meter),
                        "not read yet"
                        if state.failsafe.age is None
                        else f"not read for {state.failsafe.age:.0f} s",
                    )
                else:
                    _LOGGER.info("Zone %s left fail-safe", self.zones[key].name)
        for station in [s for stations in by_zone.values() for s in stations]:
            points = {
                connector: allocation
                for connector in _connectors(station)
                if (allocation := result.get(_point_key(station, connector))) is not None
            }
            allocation = _station_allocation(station, points)
            if allocation != station.allocation or points != station.connector_allocations:
                station.allocation = allocation
                station.connector_allocations = points
                station.allocation_by = self.node_name(allocation.node) if allocation else None
                station.notify()

    # --- sending ------------------------------------------------------------------

    def _dispatch_failsafe(self, managed: list[Station], specs: Mapping[str, ZoneSpec]) -> None:
        """Hand each ready station its zone's fail-safe current when it changed."""
        for station in managed:
            if not station.ready:
                continue
            run = self._runs.setdefault(station.config.subentry_id, _StationRun())
            failsafe = min(specs[_zone(station)].failsafe_current, station.config.max_current)
            if failsafe == run.sender.failsafe or (
                failsafe == run.failsafe_sent and run.failsafe_on is station.connection
            ):
                continue
            run.sender.failsafe = failsafe
            self._start_sender(station, run)

    def _dispatch(
        self, managed: list[Station], result: Mapping[str, Allocation], now: float
    ) -> None:
        for station in managed:
            if not station.ready:
                # Not before its configuration is read: the stack level depends on it.
                continue
            run = self._runs.setdefault(station.config.subentry_id, _StationRun())
            if (
                station.profile_error is not None
                and run.refused_at is not None
                and now - run.refused_at < REFUSED_RETRY
            ):
                continue  # it refused every profile lately: not again every cycle
            connectors = _connectors(station)
            changed = False
            self._switch_phases(station, connectors, now)
            # Its live limit asks for other phases than those it last accepted: again.
            switched = station.phases_in_use != station.phases_sent
            for connector in connectors:
                allocation = result.get(_point_key(station, connector))
                if allocation is None:
                    continue
                point = run.point(connector)
                target = allocation.limit
                if allocation.reason is Reason.FAILSAFE:
                    wanted: float | None = None if point.control.limit == target else target
                else:
                    wanted = point.control.next_limit(target, now, self.control)
                if switched and wanted is None and point.control.limit is not None:
                    # The same limit on other phases: the profile goes out again.
                    wanted = point.control.limit
                if (
                    wanted is None
                    and point.live_at is not None
                    and now - point.live_at >= self.control.refresh_after
                ):
                    # The same limit again, before it expires on the station.
                    wanted = point.control.limit
                pending = run.sender.wanted.get(connector)
                if wanted is None and pending is not None and pending > target:
                    # A rise still queued (a retry) that is no longer wanted. The station
                    # may have applied it without answering in time: send the target.
                    wanted = target
                if wanted is None or wanted == pending:
                    continue
                run.sender.wanted[connector] = wanted
                changed = True
            if connectors != [0] and station.cap_supported:
                # The station's total: what its connectors hold once the limits went out.
                cap = round(
                    sum(
                        run.sender.wanted.get(c, run.point(c).control.limit or 0.0)
                        for c in connectors
                    ),
                    1,
                )
                renew = run.cap_at is not None and now - run.cap_at >= self.control.refresh_after
                if (cap != run.cap or renew) and cap != run.sender.cap:
                    run.sender.cap = cap
                    changed = True
            if changed:
                self._start_sender(station, run)

    def _switch_phases(self, station: Station, connectors: list[int], now: float) -> None:
        """The phases a switchable station is to charge on from now on (see dlm.solar)."""
        wanted = None
        if _switchable(station):
            wanted = self._phases_wanted.get(_point_key(station, connectors[0]))
        if wanted == station.config.wiring.phase_count:
            wanted = None
        if wanted == station.phases_in_use:
            return
        _LOGGER.info(
            "Station %s charges on %d phase%s from now on (solar surplus)",
            station.station_id,
            wanted or station.config.wiring.phase_count,
            "" if wanted == 1 else "s",
        )
        station.phases_in_use = wanted
        self._switched_at[station.config.subentry_id] = now
        self._phase_doubt.pop(station.config.subentry_id, None)

    def _check_phases(self, station: Station, reading: _Reading | None) -> None:
        """A station on one phase whose car still draws on the others ignores numberPhases.

        Judged on readings with a current per phase taken FOLLOW_TIME after it accepted
        the switch; seen for PHASE_DOUBT_TIME (a station slow to switch is not blamed): it
        is never switched again (it charges on its wiring's phases), said in the log. Its
        zone counted it on all its phases all along: no breaker was at risk, only the
        solar surplus.
        """
        key = station.config.subentry_id
        if station.phases_in_use != 1 or station.phases_sent != 1 or reading is None:
            self._phase_doubt.pop(key, None)
            return
        switched = self._switched_at.get(key)
        if switched is None or reading.taken < switched + FOLLOW_TIME:
            return
        first = _PHASE_KEYS.index(station.config.wiring.grid_phases[0])
        others = max((v for p, v in enumerate(reading.raw) if p != first), default=0.0)
        if others <= PHASE_IDLE_CURRENT:
            self._phase_doubt.pop(key, None)
            return
        since = self._phase_doubt.setdefault(key, reading.taken)
        if reading.taken - since < PHASE_DOUBT_TIME:
            return
        station.phase_switch_ignored = True
        _LOGGER.warning(
            "Station %s was switched to one phase but its car still draws %.1f A on "
            "another: it ignores numberPhases in its charging profiles; it charges "
            "on its three phases from now on (untick phase switching for it)",
            station.station_id,
            others,
        )

    def _start_sender(self, station: Station, run: _StationRun) -> None:
        if run.sender.task is None or run.sender.task.done():
            run.sender.task = self._create_task(
                self._send(station, run), f"limit {station.station_id}"
            )

    async def _send(self, station: Station, run: _StationRun) -> None:
        """Send what is wanted: the fail-safe first, then cuts, the cap, then rises."""
        sender = run.sender
        while sender.failsafe is not None or sender.wanted or sender.cap is not None:
            failsafe = sender.failsafe
            cut = next(
                (
                    (c, v)
                    for c, v in sender.wanted.items()
                    if run.point(c).control.limit is None or v < (run.point(c).control.limit or 0)
                ),
                None,
            )
            job = cut or next(iter(sender.wanted.items()), None)
            try:
                if failsafe is not None:
                    # First the fail-safe, so the live limit always has it underneath.
                    on = station.connection
                    await station.async_set_failsafe(failsafe, self.control.validity)
                    run.failsafe_sent, run.failsafe_on = failsafe, on
                    if sender.failsafe == failsafe:
                        sender.failsafe = None
                    if station.live_valid_to is not None and station.failsafe_limit is None:
                        # Nothing under the live limits any more: they must not expire.
                        for connector in _connectors(station):
                            point = run.point(connector)
                            if point.control.limit is not None:
                                sender.wanted.setdefault(connector, point.control.limit)
                    continue
                if sender.cap is not None and cut is None:
                    cap = sender.cap
                    status = await station.async_set_station_cap(
                        cap, validity=self.control.validity
                    )
                    if status == "Accepted":
                        run.cap = cap
                        run.cap_at = self._clock() if station.layered else None
                    if sender.cap == cap or not station.cap_supported:
                        sender.cap = None
                    continue
                assert job is not None
                connector, limit = job
                status = await station.async_set_limit(
                    limit, validity=self.control.validity, connector_id=connector
                )
            except CommandError as err:
                delay = SEND_RETRY[min(sender.failures, len(SEND_RETRY) - 1)]
                sender.failures += 1
                _LOGGER.debug(
                    "Limit to %s failed (%s); retry in %s s", station.station_id, err, delay
                )
                if not station.connected:
                    sender.wanted.clear()
                    sender.failsafe = sender.cap = None
                    return
                await asyncio.sleep(delay)
                continue
            sender.failures = 0
            point = run.point(connector)
            run.refused_at = self._clock() if station.profile_error is not None else None
            # Renewed later only if it went out with an expiry (not again and again when
            # the station refused it).
            expiring = status == "Accepted" and station.live_valid_to is not None
            point.live_at = self._clock() if expiring else None
            if status == "Accepted" and limit != point.control.limit:
                # A renewal of the same limit is no change (raise hold, settling).
                point.accepted(point.control.limit, limit, self._clock())
                point.control.sent(limit, self._clock())
                point.held(limit, self._clock())
            if sender.wanted.get(connector) == limit:
                del sender.wanted[connector]


_PHASE_KEYS = PHASES


def _connectors(station: Station) -> list[int]:
    """The charging points of a station: 0 (all of it) or each of its connectors."""
    count = station.connector_count
    return [0] if count <= 1 else list(range(1, count + 1))


def _point_key(station: Station, connector: int) -> str:
    """Allocator key of a charging point."""
    key = station.config.subentry_id
    return key if connector == 0 else f"{key}#{connector}"


def _session_connectors(station: Station) -> set[int]:
    """Connectors with an open session (none while the station is offline)."""
    if not station.connected:
        return set()
    return {session.connector_id for session in station.open_sessions()}


def _reading_max_age(station: Station) -> float:
    """Seconds a station's reading counts (see READING_INTERVALS)."""
    return READING_INTERVALS * station.sample_interval + READING_SLACK


def _voltages(reading: MeterReading) -> tuple[float, ...]:
    """A reading's voltages per phase, nominal where it has none."""
    return tuple(NOMINAL_VOLTAGE if v is None else float(v) for v in reading.voltage)


def _first_reading_due(station: Station, wall: datetime, point: int) -> bool:
    """Whether a point's session started (or its station connected) lately.

    Then no reading may have come yet (point 0: any session of the station).
    """
    for session in station.open_sessions():
        if point and session.connector_id != point:
            continue
        connector = station.connectors.get(session.connector_id)
        since = [t for t in (connector and connector.cleared_at, station.attached_at) if t]
        if since and (wall - max(since)).total_seconds() <= _reading_max_age(station):
            return True
    return False


def _switchable(station: Station) -> bool:
    """Whether a station may be switched between one and three phases now.

    Only stations limited in amperes (a limit in watts would mean three times the
    current per phase on one phase, should its fail-safe or an old profile apply), whose
    readings show a current per phase (so that a switch it does not follow is seen).
    """
    return (
        station.config.phase_switching
        and not station.phase_switch_ignored
        and station.phase_currents_seen
        and model_quirks(station.config.model).rate_unit == "A"
        and station.config.wiring.phase_count == 3
        and station.connector_count == 1
    )


def _limit_in_force(station: Station, point: _Point) -> float:
    """The limit a point holds (its maximum when none was accepted)."""
    limit = point.control.limit
    return station.config.max_current if limit is None else limit


def _may_draw(station: Station, connector: int) -> bool:
    """Whether an offline station's point may still be charging (an open session)."""
    return _in_session({session.connector_id for session in station.open_sessions()}, connector)


def _in_session(sessions: set[int], connector: int) -> bool:
    """Whether a point has an open session (point 0, the whole station: any connector)."""
    return bool(sessions) if connector == 0 else connector in sessions


def _station_allocation(station: Station, points: Mapping[int, Allocation]) -> Allocation | None:
    """One allocation for the station as a whole (its points' limits added up)."""
    if not points:
        return None
    if list(points) == [0]:
        return points[0]
    sessions = {session.connector_id for session in station.open_sessions()}
    charging = [c for c in sorted(points) if c in sessions] or sorted(points)
    lead = points[charging[0]]
    total = round(sum(points[c].limit for c in charging), 6)
    return Allocation(total, lead.reason, lead.node)


NOMINAL_VOLTAGE = 230.0


def _mode(station: Station, connector: int) -> ChargingMode:
    """How a charging point's session charges.

    Its own mode (set for this session: by the action, else its badge's or its holder's
    default), else its station's; an unknown stored value charges fast, as before. A
    station set to Off stays off whatever the session's mode (a building manager's
    choice is not lifted by a resident's).
    """
    mode = station.config.charging_mode
    if mode == ChargingMode.OFF:
        return ChargingMode.OFF
    for session in station.open_sessions():
        if session.charging_mode and connector in (0, session.connector_id):
            mode = session.charging_mode
    try:
        return ChargingMode(mode)
    except ValueError:
        return ChargingMode.FAST


def _zone(station: Station) -> str:
    zone = station.config.zone
    assert zone is not None  # only managed stations get here
    return zone


def _failsafe_limit(specs: Mapping[str, ZoneSpec], zone: str, station: Station) -> float:
    """The live limit in fail-safe: the fail-safe current, capped by the zones' maximums.

    Never above the maximum of the zone or a zone it is in (less current when unsure: a
    paused zone, 0 A, stays at 0 A); a maximum below what a car can be signalled gives
    0 A. The fail-safe profile under the live limit (for when Home Assistant is down)
    stays the fail-safe current.
    """
    limit = min(specs[zone].failsafe_current, station.config.max_current)
    cap = min(specs[key].max_current for key in zone_chain(specs, zone))
    if cap >= limit:
        return limit
    return cap if cap >= MIN_SIGNAL_CURRENT else 0.0


def _phase_indices(station: Station) -> tuple[int, ...]:
    return tuple(sorted(_PHASE_KEYS.index(p) for p in station.config.wiring.grid_phases))


def _subtrees(specs: Mapping[str, ZoneSpec], roots: Iterable[str]) -> list[str]:
    """The zones and every zone nested in them."""
    result: list[str] = []
    stack = list(roots)
    while stack:
        key = stack.pop()
        if key in result:
            continue
        result.append(key)
        stack.extend(k for k, spec in specs.items() if spec.parent == key)
    return result


def _t(values: list[float]) -> Triple:
    return (values[0], values[1], values[2])
