"""A simulated charging station with a car: it follows the charging profiles it holds.

The current the car draws is the lower of what the car wants (its maximum current,
tapering near full) and the limit of the profiles the station holds, so the effect of
load management shows up in the MeterValues, as on real hardware. The station
reconnects after a dropped connection, boots again after a reset, starts a session when
a car arrives and badges (or on RemoteStartTransaction) and stops it when the car
leaves or on RemoteStopTransaction. It keeps its profiles across reconnects and honours
their validity on its own clock, which a test can advance (`advance`) to show what
happens when a limit expires while the central system is away.

It can behave as badly as real stations do (each a keyword argument):
- ``connectors``: several connectors, one car each, with OCPP 1.6 profile semantics (a
  TxDefaultProfile on connector 0 applies to *each* connector, a ChargePointMaxProfile
  caps the sum of all connectors);
- ``idle_meter_values=False``: no MeterValues outside a transaction;
- ``measurands="power"``: MeterValues carry Power.Active.Import only (no per-phase
  Current.Import); ``meter_interval``: e.g. only every 60 s;
- ``ignore_limits=True``: accepts every profile and lets the car draw what it wants;
- ``boot_on_reconnect=False``: boots once; after a reconnect it sends neither
  BootNotification nor StatusNotification (a station that stayed up while the central
  system restarted), until asked with TriggerMessage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import logging
from typing import Any

from websockets.exceptions import InvalidHandshake

from simulator.station import (
    CommandHook,
    SimState,
    SimulatedStation,
    StationBehaviour,
    StationClient,
    default_configuration,
    now_iso,
)

_LOGGER = logging.getLogger(__name__)

VOLTAGE = 230.0
MIN_CURRENT = 6.0
WIRINGS = {
    "L1": (0,),
    "L2": (1,),
    "L3": (2,),
    "L1-L2-L3": (0, 1, 2),
    "L2-L3-L1": (1, 2, 0),
    "L3-L1-L2": (2, 0, 1),
}


@dataclass
class Car:
    """A car: what it wants to draw."""

    battery_kwh: float = 60.0
    soc: float = 0.3  # 0..1
    max_current: float = 16.0  # A per phase
    phases: int = 3
    taper_from: float = 0.8  # above this state of charge the car draws less

    def wants(self) -> float:
        """Current per phase the car would take now (A)."""
        if self.soc >= 1.0:
            return 0.0
        if self.soc <= self.taper_from:
            return self.max_current
        left = (1.0 - self.soc) / (1.0 - self.taper_from)
        return max(MIN_CURRENT * 0.5, self.max_current * left)

    def charge(self, current: float, seconds: float, phases: int | None = None) -> float:
        """Draw `current` per phase for `seconds`; returns the energy taken (Wh).

        phases: the phases the station lets it charge on (at most its own).
        """
        used = self.phases if phases is None else min(self.phases, phases)
        energy_wh = current * VOLTAGE * used * seconds / 3600.0
        self.soc = min(1.0, self.soc + energy_wh / 1000.0 / self.battery_kwh)
        return energy_wh


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _in_force(profile: dict[str, Any], now: datetime | None) -> bool:
    """Whether a profile applies at `now` (its validFrom and validTo; None: always)."""
    if now is None:
        return True
    valid_from = profile.get("valid_from")
    valid_to = profile.get("valid_to")
    if valid_from is not None and now < _parse_time(valid_from):
        return False
    return valid_to is None or now < _parse_time(valid_to)


def _limits(
    state: SimState, connector: int, phases: int, now: datetime | None
) -> tuple[float | None, float | None]:
    """(station cap, the connector's Tx/TxDefault limit) the held profiles put at `now`."""
    cap, best, _phases = _held(state, connector, phases, now)
    return cap, best


def held_phases(state: SimState, connector: int, phases: int, now: datetime | None) -> int:
    """The numberPhases of the Tx/TxDefault profile in force (its wiring's if none)."""
    return _held(state, connector, phases, now)[2] or phases


def _held(
    state: SimState, connector: int, phases: int, now: datetime | None
) -> tuple[float | None, float | None, int | None]:
    cap: float | None = None
    best: tuple[int, int, float] | None = None  # (specific, stack level, limit)
    best_phases: int | None = None
    for profile_id, profile in state.profiles.items():
        if not _in_force(profile, now):
            continue
        on = state.profile_connector.get(profile_id, 0)
        schedule = profile["charging_schedule"]
        period = schedule["charging_schedule_period"][0]
        limit = float(period["limit"])
        if schedule["charging_rate_unit"] == "W":
            limit = limit / (VOLTAGE * max(1, period.get("number_phases", phases)))
        purpose = profile["charging_profile_purpose"]
        if purpose == "ChargePointMaxProfile":
            cap = limit if cap is None else min(cap, limit)
        elif on in (0, connector):
            rank = (1 if on == connector else 0, int(profile["stack_level"]), limit)
            if best is None or rank[:2] > best[:2]:
                best = rank
                best_phases = period.get("number_phases")
    return cap, (best[2] if best else None), best_phases


def held_limit(
    state: SimState, connector: int, phases: int, now: datetime | None = None
) -> float | None:
    """The limit (A per phase) the profiles held put on a connector at `now` (None: none).

    Profiles outside their validFrom/validTo are ignored, so an expired one falls
    through to the one below. ChargePointMaxProfile (connector 0) caps the station;
    among Tx/TxDefault profiles, a connector-specific one beats a connector-0 one, and
    the highest stack level wins.
    """
    limits = [v for v in _limits(state, connector, phases, now) if v is not None]
    return min(limits) if limits else None


def profile_limit(
    station: SimulatedStation, connector: int, phases: int, now: datetime | None = None
) -> float | None:
    """The limit the profiles a station holds put on a connector (see `held_limit`)."""
    return held_limit(station.state, connector, phases, now)


@dataclass
class ChargerState:
    """What one connector of the simulated charger is doing."""

    car: Car | None = None
    badge: str | None = None
    transaction_id: int | None = None
    energy_wh: float = 0.0
    current: float = 0.0
    status: str = "Available"
    history: list[tuple[float, float]] = field(default_factory=list)  # (time, current)


class SimulatedCharger:
    """One station, connected (and reconnecting) to a central system, a car per connector."""

    def __init__(
        self,
        url: str,
        station_id: str,
        *,
        wiring: str = "l1-l2-l3",
        max_current: float = 32.0,
        behaviour: StationBehaviour | None = None,
        tick: float = 1.0,
        meter_interval: float | None = None,
        energy_wh: float = 0.0,
        password: str | None = None,
        connectors: int = 1,
        idle_meter_values: bool = True,
        measurands: str = "current",
        ignore_limits: bool = False,
        boot_on_reconnect: bool = True,
        phase_switching: bool = False,
    ) -> None:
        if connectors < 1:
            raise ValueError("a station has at least one connector")
        if measurands not in ("current", "power"):
            raise ValueError("measurands is 'current' or 'power'")
        self.url = url
        self.password = password  # security profile 1 (HTTP Basic), if set
        self.station_id = station_id
        self.wiring = wiring
        self.grid = WIRINGS[wiring.upper()]  # either case: l1-l2-l3 is how Home Assistant stores it
        self.max_current = max_current
        self.behaviour = behaviour or StationBehaviour()
        self.tick = tick
        self.meter_interval = meter_interval
        self.idle_meter_values = idle_meter_values
        self.measurands = measurands
        self.ignore_limits = ignore_limits
        self.boot_on_reconnect = boot_on_reconnect
        self.phase_switching = phase_switching
        self.boots = 0  # BootNotifications sent
        # One state per connector (1..n); the registers start apart so sessions differ.
        self.points = {
            n: ChargerState(energy_wh=energy_wh + (n - 1) * 1_000_000.0)
            for n in range(1, connectors + 1)
        }
        self.client: StationClient | None = None
        self.station: SimulatedStation | None = None
        self.connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._reconnect = asyncio.Event()
        self._loop = asyncio.get_event_loop()
        self._time = 0.0
        self._meter_task: asyncio.Task[None] | None = None
        # What the station holds, across reconnects (configuration, profiles, badges).
        self.memory = SimState()
        self.memory.configuration = default_configuration(self.behaviour)
        self.memory.configuration["NumberOfConnectors"] = str(connectors)
        # Seconds the station's clock is ahead of real time (see `advance`).
        self.clock_offset = 0.0
        # Told about every command (after the charger's own reaction); an awaitable it
        # returns for SetChargingProfile delays the station's answer.
        self.command_hook: CommandHook | None = None

    @property
    def state(self) -> ChargerState:
        """Connector 1 (the only one of most stations)."""
        return self.points[1]

    def now(self) -> datetime:
        """The station's clock."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    def advance(self, seconds: float) -> None:
        """Move the station's clock forward (profiles expire as if that time had passed)."""
        self.clock_offset += seconds

    # --- lifecycle ----------------------------------------------------------------

    async def start(self, wait: bool = True) -> None:
        """Connect (retrying until the central system answers) and run."""
        self._tasks = [
            asyncio.create_task(self._connection_loop(), name=f"{self.station_id} link"),
            asyncio.create_task(self._physics_loop(), name=f"{self.station_id} car"),
        ]
        if wait:
            await self.connected.wait()

    async def stop(self) -> None:
        """Disconnect and stop."""
        self._stopping = True
        if self._meter_task is not None:
            self._tasks.append(self._meter_task)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.client is not None:
            await self.client.close()

    def drop(self) -> None:
        """Drop the connection (it comes back by itself)."""
        self._reconnect.set()

    async def _connection_loop(self) -> None:
        delay = 0.2
        while not self._stopping:
            client = StationClient(
                self.url,
                self.station_id,
                self.behaviour,
                password=self.password,
                state=self.memory,
            )
            try:
                station = await client.connect()
            except OSError, InvalidHandshake:  # down, or refused at the handshake
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            self.client, self.station = client, station
            station.on_command = self._on_command
            try:
                if self.boot_on_reconnect or not self.boots:
                    await station.boot(vendor="Simulated", model="SimCharger")
                    self.boots += 1
                    for connector, point in self.points.items():
                        await station.status(connector, point.status)
                else:
                    station.booted = True  # it booted on an earlier connection
                self.connected.set()
                self._reconnect.clear()
                closed = asyncio.ensure_future(client.connection.wait_closed())  # type: ignore[union-attr]
                wanted = asyncio.ensure_future(self._reconnect.wait())
                try:
                    await asyncio.wait({closed, wanted}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    closed.cancel()
                    wanted.cancel()
                    await asyncio.gather(closed, wanted, return_exceptions=True)
            except Exception:  # noqa: BLE001 - the link died: reconnect
                _LOGGER.debug("%s: connection lost", self.station_id)
            self.connected.clear()
            await client.close()
            self.station = None

    # --- commands from the central system ---------------------------------------------

    def _on_command(self, action: str, payload: dict[str, Any]) -> Awaitable[None] | None:
        self._react(action, payload)
        if self.command_hook is not None:
            return self.command_hook(action, payload)
        return None

    def _react(self, action: str, payload: dict[str, Any]) -> None:
        if action == "RemoteStartTransaction":
            connector = payload.get("connector_id") or next(
                (n for n, p in self.points.items() if p.car and p.transaction_id is None), 1
            )
            if connector in self.points and self.points[connector].car is not None:
                self._spawn(self.start_session(payload["id_tag"], connector))
        elif action == "RemoteStopTransaction":
            for connector, point in self.points.items():
                if point.transaction_id == payload.get("transaction_id"):
                    self._spawn(self.stop_session("Remote", connector))
        elif action == "UnlockConnector":
            connector = payload.get("connector_id", 1)
            if connector in self.points and self.points[connector].transaction_id is not None:
                self._spawn(self.stop_session("Remote", connector))
        elif action == "Reset":
            self._loop.call_later(0.1, self.drop)
        elif action == "TriggerMessage" and payload["requested_message"] == "StatusNotification":
            asked = payload.get("connector_id")
            for connector, point in self.points.items():
                if asked in (None, connector):
                    self._spawn(self._status(point.status, connector))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.append(task)

    # --- the car ------------------------------------------------------------------

    async def plug(self, car: Car, badge: str | None, connector: int = 1) -> bool:
        """A car arrives; with a badge, the session starts (False: refused)."""
        self.points[connector].car = car
        await self._status("Preparing", connector)
        if badge is None:
            return False
        return await self.start_session(badge, connector)

    async def start_session(self, badge: str, connector: int = 1) -> bool:
        """Authorize and start a transaction."""
        station = self.station
        point = self.points[connector]
        if station is None:
            return False
        answer = await station.authorize(badge)
        if answer.id_tag_info["status"] != "Accepted":
            return False
        started = await station.start_transaction(connector, badge, int(point.energy_wh))
        if started.id_tag_info["status"] != "Accepted":
            await station.stop_transaction(
                started.transaction_id, int(point.energy_wh), reason="DeAuthorized"
            )
            return False
        point.badge = badge
        point.transaction_id = started.transaction_id
        await self._status("Charging", connector)
        return True

    async def stop_session(self, reason: str = "EVDisconnected", connector: int = 1) -> None:
        """Stop the transaction."""
        point = self.points[connector]
        station, transaction = self.station, point.transaction_id
        point.transaction_id = None
        point.current = 0.0
        if station is not None and transaction is not None:
            await station.stop_transaction(
                transaction, int(point.energy_wh), reason=reason, id_tag=point.badge
            )
        await self._status("Finishing", connector)

    async def unplug(self, connector: int = 1) -> None:
        """The car leaves."""
        point = self.points[connector]
        if point.transaction_id is not None:
            await self.stop_session(connector=connector)
        point.car = None
        await self._status("Available", connector)

    async def _status(self, status: str, connector: int = 1) -> None:
        self.points[connector].status = status
        if self.station is not None:
            with contextlib.suppress(Exception):
                await self.station.status(connector, status)

    def limit(self, connector: int = 1) -> float:
        """The current the station lets the car on a connector draw now (A per phase).

        A station that ignores limits lets it draw its own maximum.
        """
        if self.ignore_limits:
            return self.max_current
        _cap, held = _limits(self.memory, connector, len(self.grid), self.now())
        limit = self.max_current if held is None else min(self.max_current, held)
        return limit if limit >= MIN_CURRENT else 0.0

    def _share_cap(self, wants: dict[int, float]) -> dict[int, float]:
        """What each connector draws under the station's ChargePointMaxProfile, if any.

        The cap is on the sum: connectors are served in order, each at least the
        minimum a car can be signalled, or paused.
        """
        if self.ignore_limits:
            return wants
        cap, _held = _limits(self.memory, 0, len(self.grid), self.now())
        if cap is None or sum(wants.values()) <= cap:
            return wants
        left = cap
        result: dict[int, float] = {}
        drawing = [n for n, w in wants.items() if w > 0]
        for index, connector in enumerate(drawing):
            share = min(wants[connector], left / (len(drawing) - index))
            result[connector] = share if share >= MIN_CURRENT else 0.0
            left -= result[connector]
        return {n: result.get(n, 0.0) for n in wants}

    async def _physics_loop(self) -> None:
        since_values = 0.0
        while True:
            await asyncio.sleep(self.tick)
            self._time += self.tick
            wants: dict[int, float] = {}
            for connector, point in self.points.items():
                car = point.car
                if car is None or point.transaction_id is None:
                    wants[connector] = 0.0
                else:
                    wants[connector] = min(car.wants(), self.limit(connector))
            for connector, current in self._share_cap(wants).items():
                point = self.points[connector]
                point.current = current
                if point.car is not None and point.transaction_id is not None:
                    point.energy_wh += point.car.charge(
                        current, self.tick, self.phases_now(connector)
                    )
                    if point.car.soc >= 1.0 and point.status == "Charging":
                        await self._status("SuspendedEV", connector)
                point.history.append((self._time, current))
                del point.history[:-3600]
            since_values += self.tick
            interval = self.meter_interval or self._configured_interval()
            if since_values >= interval:
                since_values = 0.0
                # In the background: an answer that does not come (the link is stuck)
                # must not stop the car; one MeterValues at a time.
                if self._meter_task is None or self._meter_task.done():
                    self._meter_task = asyncio.ensure_future(self._send_all_meter_values())

    def _configured_interval(self) -> float:
        station = self.station
        if station is None:
            return 10.0
        try:
            return max(1.0, float(station.state.configuration["MeterValueSampleInterval"]))
        except KeyError, ValueError:
            return 10.0

    def phases_now(self, connector: int = 1) -> int:
        """The phases a connector's car charges on.

        A station that switches phases follows the numberPhases of its profile (the
        others ignore it).
        """
        if not self.phase_switching:
            return len(self.grid)
        return max(
            1, min(len(self.grid), held_phases(self.memory, connector, len(self.grid), self.now()))
        )

    def grid_currents(self) -> tuple[float, float, float]:
        """What this station draws on each building phase (A), all connectors."""
        draw = [0.0, 0.0, 0.0]
        for connector, point in self.points.items():
            for phase in self.grid[: self.phases_now(connector)]:
                draw[phase] += point.current
        return (draw[0], draw[1], draw[2])

    async def _send_all_meter_values(self) -> None:
        for connector, point in self.points.items():
            if point.transaction_id is not None or self.idle_meter_values:
                await self.send_meter_values(connector)

    async def send_meter_values(self, connector: int = 1) -> None:
        """MeterValues as a real station sends them (station phases, Wh register)."""
        station = self.station
        if station is None:
            return
        point = self.points[connector]
        current = point.current
        phases = len(self.grid)
        active = self.phases_now(connector)  # the others report 0 A
        values: list[dict[str, str]] = [
            {
                "value": f"{point.energy_wh:.0f}",
                "measurand": "Energy.Active.Import.Register",
                "unit": "Wh",
                "context": "Sample.Periodic",
                "location": "Outlet",
            },
            {
                "value": f"{current * VOLTAGE * active:.0f}",
                "measurand": "Power.Active.Import",
                "unit": "W",
                "context": "Sample.Periodic",
            },
        ]
        if self.measurands == "current":
            values.append(
                {
                    "value": f"{self.limit(connector):.1f}",
                    "measurand": "Current.Offered",
                    "unit": "A",
                }
            )
            for index in range(phases):
                name = f"L{index + 1}"
                values.append(
                    {
                        "value": f"{current if index < active else 0.0:.2f}",
                        "measurand": "Current.Import",
                        "phase": name,
                        "unit": "A",
                    }
                )
                values.append(
                    {
                        "value": f"{VOLTAGE:.1f}",
                        "measurand": "Voltage",
                        "phase": f"{name}-N",
                        "unit": "V",
                    }
                )
        if point.car is not None:
            values.append(
                {"value": f"{point.car.soc * 100:.0f}", "measurand": "SoC", "unit": "Percent"}
            )
        with contextlib.suppress(Exception):
            await station.meter_values(
                connector, values, transaction_id=point.transaction_id, timestamp=now_iso()
            )
