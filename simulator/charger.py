"""A simulated charging station with a car: it follows the charging profiles it holds.

The current the car draws is the lower of what the car wants (its maximum current,
tapering near full) and the limit of the profiles the station holds, so the effect of
load management shows up in the MeterValues, as on real hardware. The station
reconnects after a dropped connection, boots again after a reset, starts a session when
a car arrives and badges (or on RemoteStartTransaction) and stops it when the car
leaves or on RemoteStopTransaction. It keeps its profiles across reconnects and honours
their validity on its own clock, which a test can advance (`advance`) to show what
happens when a limit expires while the central system is away.
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

    def charge(self, current: float, seconds: float) -> float:
        """Draw `current` per phase for `seconds`; returns the energy taken (Wh)."""
        energy_wh = current * VOLTAGE * self.phases * seconds / 3600.0
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


def held_limit(
    state: SimState, connector: int, phases: int, now: datetime | None = None
) -> float | None:
    """The limit (A per phase) the profiles held put on a connector at `now` (None: none).

    Profiles outside their validFrom/validTo are ignored, so an expired one falls
    through to the one below. ChargePointMaxProfile (connector 0) caps the station;
    among Tx/TxDefault profiles, a connector-specific one beats a connector-0 one, and
    the highest stack level wins.
    """
    cap: float | None = None
    best: tuple[int, int, float] | None = None  # (specific, stack level, limit)
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
    limits = [v for v in (cap, best[2] if best else None) if v is not None]
    return min(limits) if limits else None


def profile_limit(
    station: SimulatedStation, connector: int, phases: int, now: datetime | None = None
) -> float | None:
    """The limit the profiles a station holds put on a connector (see `held_limit`)."""
    return held_limit(station.state, connector, phases, now)


@dataclass
class ChargerState:
    """What the simulated charger is doing."""

    car: Car | None = None
    badge: str | None = None
    transaction_id: int | None = None
    energy_wh: float = 0.0
    current: float = 0.0
    status: str = "Available"
    history: list[tuple[float, float]] = field(default_factory=list)  # (time, current)


class SimulatedCharger:
    """One station with one connector, connected (and reconnecting) to a central system."""

    def __init__(
        self,
        url: str,
        station_id: str,
        *,
        wiring: str = "L1-L2-L3",
        max_current: float = 32.0,
        behaviour: StationBehaviour | None = None,
        tick: float = 1.0,
        meter_interval: float | None = None,
        energy_wh: float = 0.0,
        password: str | None = None,
    ) -> None:
        self.url = url
        self.password = password  # security profile 1 (HTTP Basic), if set
        self.station_id = station_id
        self.wiring = wiring
        self.grid = WIRINGS[wiring]
        self.max_current = max_current
        self.behaviour = behaviour or StationBehaviour()
        self.tick = tick
        self.meter_interval = meter_interval
        self.state = ChargerState(energy_wh=energy_wh)
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
        # Seconds the station's clock is ahead of real time (see `advance`).
        self.clock_offset = 0.0
        # Told about every command (after the charger's own reaction); an awaitable it
        # returns for SetChargingProfile delays the station's answer.
        self.command_hook: CommandHook | None = None

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
                await station.boot(vendor="Simulated", model="SimCharger")
                await station.status(1, self.state.status)
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
        if action == "RemoteStartTransaction" and self.state.car is not None:
            self._spawn(self.start_session(payload["id_tag"]))
        elif action == "RemoteStopTransaction" or (
            action == "UnlockConnector" and self.state.transaction_id is not None
        ):
            self._spawn(self.stop_session("Remote"))
        elif action == "Reset":
            self._loop.call_later(0.1, self.drop)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.append(task)

    # --- the car ------------------------------------------------------------------

    async def plug(self, car: Car, badge: str | None) -> bool:
        """A car arrives; with a badge, the session starts (False: refused)."""
        self.state.car = car
        await self._status("Preparing")
        if badge is None:
            return False
        return await self.start_session(badge)

    async def start_session(self, badge: str) -> bool:
        """Authorize and start a transaction."""
        station = self.station
        if station is None:
            return False
        answer = await station.authorize(badge)
        if answer.id_tag_info["status"] != "Accepted":
            return False
        started = await station.start_transaction(1, badge, int(self.state.energy_wh))
        if started.id_tag_info["status"] != "Accepted":
            await station.stop_transaction(
                started.transaction_id, int(self.state.energy_wh), reason="DeAuthorized"
            )
            return False
        self.state.badge = badge
        self.state.transaction_id = started.transaction_id
        await self._status("Charging")
        return True

    async def stop_session(self, reason: str = "EVDisconnected") -> None:
        """Stop the transaction."""
        station, transaction = self.station, self.state.transaction_id
        self.state.transaction_id = None
        self.state.current = 0.0
        if station is not None and transaction is not None:
            await station.stop_transaction(
                transaction, int(self.state.energy_wh), reason=reason, id_tag=self.state.badge
            )
        await self._status("Finishing")

    async def unplug(self) -> None:
        """The car leaves."""
        if self.state.transaction_id is not None:
            await self.stop_session()
        self.state.car = None
        await self._status("Available")

    async def _status(self, status: str) -> None:
        self.state.status = status
        if self.station is not None:
            with contextlib.suppress(Exception):
                await self.station.status(1, status)

    def limit(self) -> float:
        """The current the station lets the car draw now (A per phase)."""
        held = held_limit(self.memory, 1, len(self.grid), self.now())
        limit = self.max_current if held is None else min(self.max_current, held)
        return limit if limit >= MIN_CURRENT else 0.0

    async def _physics_loop(self) -> None:
        since_values = 0.0
        while True:
            await asyncio.sleep(self.tick)
            self._time += self.tick
            car = self.state.car
            if car is None or self.state.transaction_id is None:
                self.state.current = 0.0
            else:
                self.state.current = min(car.wants(), self.limit())
                self.state.energy_wh += car.charge(self.state.current, self.tick)
                if car.soc >= 1.0 and self.state.status == "Charging":
                    await self._status("SuspendedEV")
            self.state.history.append((self._time, self.state.current))
            del self.state.history[:-3600]
            since_values += self.tick
            interval = self.meter_interval or self._configured_interval()
            if since_values >= interval:
                since_values = 0.0
                # In the background: an answer that does not come (the link is stuck)
                # must not stop the car; one MeterValues at a time.
                if self._meter_task is None or self._meter_task.done():
                    self._meter_task = asyncio.ensure_future(self.send_meter_values())

    def _configured_interval(self) -> float:
        station = self.station
        if station is None:
            return 10.0
        try:
            return max(1.0, float(station.state.configuration["MeterValueSampleInterval"]))
        except KeyError, ValueError:
            return 10.0

    def grid_currents(self) -> tuple[float, float, float]:
        """What this station draws on each building phase (A)."""
        draw = [0.0, 0.0, 0.0]
        for phase in self.grid:
            draw[phase] += self.state.current
        return (draw[0], draw[1], draw[2])

    async def send_meter_values(self) -> None:
        """MeterValues as a real station sends them (station phases, Wh register)."""
        station = self.station
        if station is None:
            return
        current = self.state.current
        phases = len(self.grid)
        values: list[dict[str, str]] = [
            {
                "value": f"{self.state.energy_wh:.0f}",
                "measurand": "Energy.Active.Import.Register",
                "unit": "Wh",
                "context": "Sample.Periodic",
                "location": "Outlet",
            },
            {
                "value": f"{current * VOLTAGE * phases:.0f}",
                "measurand": "Power.Active.Import",
                "unit": "W",
                "context": "Sample.Periodic",
            },
            {"value": f"{self.limit():.1f}", "measurand": "Current.Offered", "unit": "A"},
        ]
        for index in range(phases):
            name = f"L{index + 1}"
            values.append(
                {
                    "value": f"{current:.2f}",
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
        if self.state.car is not None:
            values.append(
                {"value": f"{self.state.car.soc * 100:.0f}", "measurand": "SoC", "unit": "Percent"}
            )
        with contextlib.suppress(Exception):
            await station.meter_values(
                1, values, transaction_id=self.state.transaction_id, timestamp=now_iso()
            )
