"""Timestamped meter readings and the poller that produces them.

A reading is all or nothing for the currents: if any phase current cannot be read, is
not a number, is a "no value" marker or cannot be true (negative, far above the meter's
amperage), or a voltage is outside what a low-voltage supply can have, the read fails
and the poller keeps its last good reading. A missing reading is never 0 A; how old the
last good one may get is decided by the caller via `age`.

The other groups (voltage, power, energy, frequency) are read in blocks of their own: a
block the meter refuses or answers with "no value" leaves its quantities at None, says
why in `MeterReading.unavailable`, and costs nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
import logging
import math
import time
from typing import Final, Protocol

from .bus import BusDataError, BusError, BusExceptionResponse
from .registers import (
    CURRENTS,
    GROUPS,
    POWERS,
    VOLTAGES,
    Block,
    MeterModel,
    Quantity,
    decode,
    group_of,
    is_no_value,
    read_plan,
    split,
)

_LOGGER = logging.getLogger(__name__)

type PhaseValues = tuple[float | None, float | None, float | None]

#: Phase-to-neutral voltages a meter on a low-voltage supply can report (V). Outside
#: this range the meter is not the model configured (or not wired as one): the read fails.
VOLTAGE_RANGE: Final = (80.0, 300.0)
#: A current at most this far below zero (A) is measurement noise around 0 and is taken
#: at its magnitude (never less than the meter says); further below, the read fails.
NEGATIVE_NOISE: Final = 0.5
#: A current above this multiple of the meter's amperage cannot be a reading.
OVER_RATING: Final = 3.0
#: Mains frequencies a meter can report (Hz); others are left out as implausible.
FREQUENCY_RANGE: Final = (40.0, 70.0)
#: Largest current-transformer ratio taken from a meter (e.g. 5000/5 A is 1000).
CT_RATIO_MAX: Final = 10_000.0
#: Exceptions meaning "these registers are not there" (a block is then read piecewise).
_ADDRESS_EXCEPTIONS: Final = (2, 3)
#: "Illegal data address" for one quantity alone: the meter does not offer it.
_ILLEGAL_ADDRESS: Final = 2
_SCALED_BY_CT: Final = frozenset((*CURRENTS, *POWERS, Quantity.POWER_TOTAL))
_UNITS: Final = {
    "current": "A",
    "voltage": "V",
    "power": "W",
    "energy": "Wh",
    "frequency": "Hz",
}


class RegisterReader(Protocol):
    """What `read_meter` needs from a bus (`ModbusBus` is one)."""

    async def read(self, unit: int, function: int, address: int, count: int) -> list[int]:
        """Read ``count`` registers."""
        ...


class ImplausibleReading(BusDataError):
    """The meter answered values that cannot be its readings (wrong model or address?).

    ``values`` describes every implausible value of the read, currents and voltages
    (which fail it) and others (which alone would only be left out).
    """

    def __init__(self, message: str, values: Sequence[str]) -> None:
        super().__init__(message)
        self.values = tuple(values)


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One complete read of a meter, in base units (A, V, W, Wh, Hz).

    ``at`` is `time.monotonic()` taken just before the first request went out, so the
    age of a reading is never underestimated. ``unavailable`` says, per quantity of the
    model left at None, why (block refused, "no value" marker, implausible value);
    ``implausible`` describes the values left out because they cannot be true.
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
    unavailable: Mapping[str, str] = field(default_factory=dict, hash=False)
    implausible: tuple[str, ...] = ()

    def age(self, now: float) -> float:
        """Seconds since the reading was taken (``now`` from `time.monotonic()`)."""
        return now - self.at


def group_status(model: MeterModel, reading: MeterReading) -> dict[str, str]:
    """Per group the model offers: "ok", or which quantities are unavailable and why."""
    status: dict[str, str] = {}
    for group, members in GROUPS.items():
        offered = [q for q in members if q in model.registers]
        if not offered:
            continue
        missing = [f"{q}: {reading.unavailable[q]}" for q in offered if q in reading.unavailable]
        status[group] = "; ".join(missing) if missing else "ok"
    return status


async def read_meter(
    bus: RegisterReader,
    unit: int,
    model: MeterModel,
    *,
    plan: Sequence[Block] | None = None,
    max_current: float | None = None,
) -> MeterReading:
    """Read every register of ``model`` from device ``unit``.

    Raises `BusError` when the currents cannot be read, `ImplausibleReading` (a
    `BusDataError`) when a current or a voltage cannot be true; ``max_current`` is the
    highest current (A) taken as a reading. Other quantities that cannot be read are
    left as None, with the reason in `MeterReading.unavailable`.
    """
    reading, _plan = await read_blocks(
        bus, unit, model, read_plan(model) if plan is None else plan, max_current=max_current
    )
    return reading


async def read_blocks(
    bus: RegisterReader,
    unit: int,
    model: MeterModel,
    plan: Sequence[Block],
    *,
    max_current: float | None = None,
) -> tuple[MeterReading, list[Block]]:
    """`read_meter` with a given plan; also returns the plan to use next time.

    A block of several quantities the meter refuses as "illegal data address/value" is
    read again quantity by quantity (at once, and in the returned plan); a single
    quantity refused as "illegal data address" is marked refused and not asked again.
    """
    at = time.monotonic()
    wall = datetime.now(UTC)
    raw: dict[Quantity, list[int]] = {}
    unavailable: dict[str, str] = {}
    next_plan: list[Block] = []
    for block in sorted(plan, key=lambda b: not b.essential):
        if block.refused is not None:
            unavailable.update(dict.fromkeys(_names(block), block.refused))
            next_plan.append(block)
        elif block.essential:
            _store(raw, model, block, await _read(bus, unit, block))
            next_plan.append(block)
        else:
            next_plan.extend(await _read_optional(bus, unit, model, block, raw, unavailable))
    ratio, problems = await _ct_ratio(bus, unit, model)
    values: dict[Quantity, float] = {}
    implausible: list[str] = []
    for quantity, words in raw.items():
        register = model.registers[quantity]
        essential = quantity in CURRENTS
        value: float | None = None
        if is_no_value(register, words):
            why = f"no value (the meter answered {_hex(words)})"
        else:
            try:
                value = decode(register, words)
            except ValueError as err:
                why = str(err)
        if value is None:
            if essential:
                problems.append(f"{quantity}: {why}")
            else:
                unavailable[str(quantity)] = why
            continue
        if quantity in _SCALED_BY_CT:
            value *= ratio
        if quantity in CURRENTS and value < -NEGATIVE_NOISE and _exports(model, raw, quantity):
            # Meters that sign their currents (Carlo Gavazzi EM24/EM340 set to
            # bidirectional) report export as a negative current, its power negative
            # too: a current flowing the other way, of that magnitude.
            value = -value
        value, wrong = _check(quantity, value, max_current)
        if wrong is None:
            values[quantity] = value
            continue
        implausible.append(wrong)
        if essential or quantity in VOLTAGES:
            problems.append(wrong)
        else:
            unavailable[str(quantity)] = f"implausible: {wrong}"
    if problems:
        unreadable = [problem for problem in problems if problem not in implausible]
        raise ImplausibleReading(
            f"unit {unit} answered {'; '.join(problems)}", [*unreadable, *implausible]
        )

    def phases(quantities: tuple[Quantity, Quantity, Quantity]) -> PhaseValues:
        return (
            values.get(quantities[0]),
            values.get(quantities[1]),
            values.get(quantities[2]),
        )

    reading = MeterReading(
        at=at,
        wall=wall,
        current=phases(CURRENTS),
        voltage=phases(VOLTAGES),
        power=phases(POWERS),
        power_total=values.get(Quantity.POWER_TOTAL),
        import_wh=values.get(Quantity.IMPORT_ENERGY),
        export_wh=values.get(Quantity.EXPORT_ENERGY),
        frequency=values.get(Quantity.FREQUENCY),
        unavailable=unavailable,
        implausible=tuple(implausible),
    )
    return reading, next_plan


async def _read(bus: RegisterReader, unit: int, block: Block) -> list[int]:
    words = await bus.read(unit, block.function, block.address, block.count)
    if len(words) != block.count:
        raise BusDataError(f"expected {block.count} registers, got {len(words)}")
    return words


async def _read_optional(
    bus: RegisterReader,
    unit: int,
    model: MeterModel,
    block: Block,
    raw: dict[Quantity, list[int]],
    unavailable: dict[str, str],
) -> list[Block]:
    """Read one block that may fail alone; the blocks that replace it in the plan."""
    try:
        _store(raw, model, block, await _read(bus, unit, block))
    except BusExceptionResponse as err:
        parts = split(block, model)
        if err.code not in _ADDRESS_EXCEPTIONS or len(parts) == 1:
            why = str(err)
            if err.code == _ILLEGAL_ADDRESS:
                why = f"not offered by the meter, not asked again: {err}"
                block = replace(block, refused=why)
            unavailable.update(dict.fromkeys(_names(block), why))
            return [block]
        replaced: list[Block] = []
        for part in parts:
            replaced.extend(await _read_optional(bus, unit, model, part, raw, unavailable))
        return replaced
    except BusError as err:
        unavailable.update(dict.fromkeys(_names(block), str(err)))
    return [block]


def _store(
    raw: dict[Quantity, list[int]], model: MeterModel, block: Block, words: list[int]
) -> None:
    for quantity, offset in block.items:
        raw[quantity] = words[offset : offset + model.registers[quantity].words]


async def _ct_ratio(bus: RegisterReader, unit: int, model: MeterModel) -> tuple[float, list[str]]:
    """The meter's current-transformer ratio (1 without one), and why it is unusable."""
    register = model.ct_ratio
    if register is None:
        return 1.0, []
    words = await bus.read(unit, register.function, register.address, register.words)
    if len(words) != register.words:
        raise BusDataError(f"expected {register.words} registers, got {len(words)}")
    if is_no_value(register, words):
        return 1.0, [f"CT ratio: no value (the meter answered {_hex(words)})"]
    ratio = decode(register, words)  # an integer register always decodes
    if not 1 <= ratio <= CT_RATIO_MAX:
        return 1.0, [f"CT ratio = {ratio:g}, not between 1 and {CT_RATIO_MAX:g}"]
    return ratio, []


def _exports(model: MeterModel, raw: Mapping[Quantity, list[int]], current: Quantity) -> bool:
    """Whether the power of a current's phase was read, and is negative (export)."""
    power = POWERS[CURRENTS.index(current)]
    words = raw.get(power)
    if words is None or is_no_value(model.registers[power], words):
        return False
    try:
        return decode(model.registers[power], words) < 0
    except ValueError:
        return False


def _check(quantity: Quantity, value: float, max_current: float | None) -> tuple[float, str | None]:
    """The value to keep, and why it cannot be a reading (None when it can)."""
    group = group_of(quantity)
    shown = f"{quantity} = {value:g} {_UNITS[group]}"
    if group == "current":
        if value < -NEGATIVE_NOISE:
            return value, f"{shown}, a negative current"
        value = abs(value)
        if max_current is not None and value > max_current:
            return value, f"{shown}, above {OVER_RATING:g} x the meter's amperage"
    elif group == "voltage":
        low, high = VOLTAGE_RANGE
        if not low <= value <= high:
            return value, f"{shown}, outside {low:g}-{high:g} V"
    elif group == "frequency":
        low, high = FREQUENCY_RANGE
        if not low <= value <= high:
            return value, f"{shown}, outside {low:g}-{high:g} Hz"
    elif group == "energy" and value < 0:
        return value, f"{shown}, a negative energy counter"
    return value, None


def _names(block: Block) -> list[str]:
    return [str(quantity) for quantity, _offset in block.items]


def _hex(words: Sequence[int]) -> str:
    return " ".join(f"{word:#06x}" for word in words)


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
    ``amperage`` (A) is the rating of the supply the meter protects: a current above
    `OVER_RATING` times it fails the read. ``block_status`` says per group of the
    last good reading whether it was complete.
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
        amperage: float | None = None,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"interval {interval!r} must be positive")
        if amperage is not None and not amperage > 0:
            raise ValueError(f"amperage {amperage!r} must be positive")
        self.amperage = amperage
        self.max_current = None if amperage is None else OVER_RATING * amperage
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
    def block_status(self) -> dict[str, str]:
        """Per group of the model, "ok" or what the last good reading lacked and why."""
        return {} if self.last_good is None else group_status(self.model, self.last_good)

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
            reading, self.plan = await read_blocks(
                self.bus, self.unit, self.model, self.plan, max_current=self.max_current
            )
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
        if self.last_good is None or reading.unavailable != self.last_good.unavailable:
            for group, status in group_status(self.model, reading).items():
                if status != "ok":
                    _LOGGER.warning("Meter %s: no %s reading: %s", self.name, group, status)
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
            _LOGGER.info("Meter %s cannot be read: %s", self.name, message)
        else:
            _LOGGER.debug(
                "Meter %s still cannot be read (%d in a row): %s",
                self.name,
                self.consecutive_failures,
                message,
            )
