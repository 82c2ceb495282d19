"""Timestamped meter readings and the poller that produces them.

A reading is all or nothing for the currents: if any phase current cannot be read or
decoded, the read fails and the poller keeps its last good reading. A missing reading is
never 0 A; how old the last good one may get is decided by the caller via `age`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
import logging
import math
import time
from typing import Protocol

from .bus import BusDataError, BusError
from .registers import CURRENTS, POWERS, VOLTAGES, Block, MeterModel, Quantity, decode, read_plan

_LOGGER = logging.getLogger(__name__)

type PhaseValues = tuple[float | None, float | None, float | None]


class RegisterReader(Protocol):
    """What `read_meter` needs from a bus (`ModbusBus` is one)."""

    async def read(self, unit: int, function: int, address: int, count: int) -> list[int]:
        """Read ``count`` registers."""
        ...


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One complete read of a meter, in base units (A, V, W, Wh, Hz).

    ``at`` is `time.monotonic()` taken just before the first request went out, so the
    age of a reading is never underestimated.
    """

    at: float
    wall: datetime
    current: PhaseValues
    voltage: PhaseValues
    power: PhaseValues
    power_total: float | None
    import_wh: float | None
    export_wh: float | None
    frequency: float | None

    def age(self, now: float) -> float:
        """Seconds since the reading was taken (``now`` from `time.monotonic()`)."""
        return now - self.at


async def read_meter(
    bus: RegisterReader, unit: int, model: MeterModel, *, plan: Sequence[Block] | None = None
) -> MeterReading:
    """Read every register of ``model`` from device ``unit``.

    Raises `BusError` (`BusDataError` when a phase current is not a finite number).
    Other quantities that do not decode are left as None.
    """
    at = time.monotonic()
    wall = datetime.now(UTC)
    values: dict[Quantity, float | None] = {}
    for block in plan if plan is not None else read_plan(model):
        words = await bus.read(unit, block.function, block.address, block.count)
        if len(words) != block.count:
            raise BusDataError(f"expected {block.count} registers, got {len(words)}")
        for quantity, offset in block.items:
            register = model.registers[quantity]
            try:
                values[quantity] = decode(register, words[offset : offset + register.words])
            except ValueError as err:
                if quantity in CURRENTS:
                    raise BusDataError(f"unit {unit} {quantity}: {err}") from err
                values[quantity] = None

    def phases(quantities: tuple[Quantity, Quantity, Quantity]) -> PhaseValues:
        return (
            values.get(quantities[0]),
            values.get(quantities[1]),
            values.get(quantities[2]),
        )

    return MeterReading(
        at=at,
        wall=wall,
        current=phases(CURRENTS),
        voltage=phases(VOLTAGES),
        power=phases(POWERS),
        power_total=values.get(Quantity.POWER_TOTAL),
        import_wh=values.get(Quantity.IMPORT_ENERGY),
        export_wh=values.get(Quantity.EXPORT_ENERGY),
        frequency=values.get(Quantity.FREQUENCY),
    )


def next_tick(tick: float, now: float, interval: float) -> float:
    """The first tick of the grid ``tick + k * interval`` (k >= 1) that is after ``now``.

    A read that overran its slot skips the missed ticks instead of shifting the grid,
    so the cadence never drifts by the read duration.
    """
    following = tick + interval
    if following > now:
        return following
    return following + (math.floor((now - following) / interval) + 1) * interval


class MeterPoller:
    """Reads one meter every ``interval`` seconds in its own task.

    ``last_good`` only ever changes to a newer complete reading; a failed read leaves it
    as it was and counts in ``failures`` / ``consecutive_failures``. ``reads`` counts
    successful reads. ``on_update`` is called after every attempt, good or bad.
    """

    def __init__(
        self,
        bus: RegisterReader,
        unit: int,
        model: MeterModel,
        interval: float = 1.0,
        on_update: Callable[[MeterPoller], None] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"interval {interval!r} must be positive")
        self.bus = bus
        self.unit = unit
        self.model = model
        self.interval = interval
        self.on_update = on_update
        self.name = name or f"{model.label} unit {unit}"
        self.plan = read_plan(model)
        self.last_good: MeterReading | None = None
        self.last_error: str | None = None
        self.consecutive_failures = 0
        self.reads = 0
        self.failures = 0
        self._failing_since: float | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the polling task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start polling (no-op when already running); needs a running event loop."""
        if self.running:
            return
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"charge_zones meter poller {self.name}"
        )

    async def stop(self) -> None:
        """Stop polling and wait until the task has ended."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise

    async def poll_once(self) -> MeterReading | None:
        """One read attempt; updates the state and calls ``on_update``."""
        reading: MeterReading | None = None
        try:
            reading = await read_meter(self.bus, self.unit, self.model, plan=self.plan)
        except BusError as err:
            self._failed(str(err))
        except Exception as err:  # the poller must outlive any bug below it
            _LOGGER.exception("Unexpected error reading meter %s", self.name)
            self._failed(f"unexpected error: {err!r}")
        else:
            self._succeeded(reading)
        if self.on_update is not None:
            try:
                self.on_update(self)
            except Exception:
                _LOGGER.exception("Error in update callback of meter %s", self.name)
        return reading

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        tick = loop.time()
        while True:
            await self.poll_once()
            tick = next_tick(tick, loop.time(), self.interval)
            await asyncio.sleep(tick - loop.time())

    def _succeeded(self, reading: MeterReading) -> None:
        if self.consecutive_failures:
            down = time.monotonic() - (self._failing_since or reading.at)
            _LOGGER.info(
                "Meter %s answers again after %d failed reads (%.1f s)",
                self.name,
                self.consecutive_failures,
                down,
            )
        self.last_good = reading
        self.last_error = None
        self.consecutive_failures = 0
        self._failing_since = None
        self.reads += 1

    def _failed(self, message: str) -> None:
        self.failures += 1
        self.consecutive_failures += 1
        self.last_error = message
        if self.consecutive_failures == 1:
            self._failing_since = time.monotonic()
            _LOGGER.warning("Meter %s cannot be read: %s", self.name, message)
        else:
            _LOGGER.debug(
                "Meter %s still cannot be read (%d in a row): %s",
                self.name,
                self.consecutive_failures,
                message,
            )
