"""Meter register maps as data: one table per model, plus decoding and read planning.

Addresses are 0-based PDU addresses (what goes on the wire), not the 3xxxx/4xxxx
"register numbers" of some manuals. Byte order inside a 16-bit word is always big-endian
(Modbus); ``WordOrder`` only says which 16-bit word of a 32/64-bit value comes first.

Nothing here does I/O and nothing imports Home Assistant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
import math
import struct
from types import MappingProxyType
from typing import Any, Final

FUNCTION_HOLDING: Final = 3
FUNCTION_INPUT: Final = 4
FUNCTIONS: Final = (FUNCTION_HOLDING, FUNCTION_INPUT)

#: Largest read request the plan builds (Modbus allows 125 registers per read).
MAX_BLOCK: Final = 100
#: Unused registers a block may span to save a request.
MAX_GAP: Final = 10


class Quantity(StrEnum):
    """What a register measures, in base units (A, V, W, Wh, Hz)."""

    CURRENT_L1 = "current_l1"
    CURRENT_L2 = "current_l2"
    CURRENT_L3 = "current_l3"
    VOLTAGE_L1 = "voltage_l1"
    VOLTAGE_L2 = "voltage_l2"
    VOLTAGE_L3 = "voltage_l3"
    POWER_L1 = "power_l1"
    POWER_L2 = "power_l2"
    POWER_L3 = "power_l3"
    POWER_TOTAL = "power_total"
    IMPORT_ENERGY = "import_energy"
    EXPORT_ENERGY = "export_energy"
    FREQUENCY = "frequency"


CURRENTS: Final = (Quantity.CURRENT_L1, Quantity.CURRENT_L2, Quantity.CURRENT_L3)
VOLTAGES: Final = (Quantity.VOLTAGE_L1, Quantity.VOLTAGE_L2, Quantity.VOLTAGE_L3)
POWERS: Final = (Quantity.POWER_L1, Quantity.POWER_L2, Quantity.POWER_L3)
_NOT_SINGLE_PHASE: Final = frozenset(
    (*CURRENTS[1:], *VOLTAGES[1:], *POWERS[1:]),
)

#: Quantities reported together: a block of the read plan never mixes groups, so one
#: group a meter does not offer (e.g. no export counter) cannot lose another.
GROUPS: Final[dict[str, tuple[Quantity, ...]]] = {
    "current": CURRENTS,
    "voltage": VOLTAGES,
    "power": (*POWERS, Quantity.POWER_TOTAL),
    "energy": (Quantity.IMPORT_ENERGY, Quantity.EXPORT_ENERGY),
    "frequency": (Quantity.FREQUENCY,),
}
_GROUP_OF: Final = {quantity: group for group, members in GROUPS.items() for quantity in members}


def group_of(quantity: Quantity) -> str:
    """The group (current, voltage, power, energy, frequency) a quantity is reported in."""
    return _GROUP_OF[quantity]


class DataType(StrEnum):
    """How the words of one value are interpreted."""

    FLOAT32 = "float32"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"


class WordOrder(StrEnum):
    """Order of the 16-bit words of a multi-word value."""

    BIG = "big"  # high word first (Eastron, ABB, Schneider, Chint)
    LITTLE = "little"  # low word first (Carlo Gavazzi)


# data type -> (struct format, words)
_FORMATS: Final[dict[DataType, tuple[str, int]]] = {
    DataType.FLOAT32: ("f", 2),
    DataType.INT16: ("h", 1),
    DataType.UINT16: ("H", 1),
    DataType.INT32: ("i", 2),
    DataType.UINT32: ("I", 2),
    DataType.INT64: ("q", 4),
    DataType.UINT64: ("Q", 4),
}
# integer data type -> (min, max) raw value
_INT_RANGES: Final[dict[DataType, tuple[int, int]]] = {
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
    DataType.INT64: (-(2**63), 2**63 - 1),
    DataType.UINT64: (0, 2**64 - 1),
}


def words_needed(data_type: DataType | str) -> int:
    """Number of 16-bit registers one value of this type occupies."""
    return _FORMATS[DataType(data_type)][1]


@dataclass(frozen=True, slots=True)
class Register:
    """Where and how one quantity is stored in a meter."""

    function: int  # 3 = holding registers, 4 = input registers
    address: int  # 0-based PDU address
    data_type: DataType
    word_order: WordOrder = WordOrder.BIG
    scale: float = 1.0  # raw value x scale = value in base units

    def __post_init__(self) -> None:
        """Normalise enums given as strings and reject impossible registers."""
        try:
            object.__setattr__(self, "data_type", DataType(self.data_type))
        except ValueError:
            raise ValueError(
                f"data_type {self.data_type!r} is not one of {_choices(DataType)}"
            ) from None
        try:
            object.__setattr__(self, "word_order", WordOrder(self.word_order))
        except ValueError:
            raise ValueError(
                f"word_order {self.word_order!r} is not one of {_choices(WordOrder)}"
            ) from None
        if isinstance(self.function, bool) or self.function not in FUNCTIONS:
            raise ValueError(f"function {self.function!r} is not 3 (holding) or 4 (input)")
        if isinstance(self.address, bool) or not isinstance(self.address, int):
            raise ValueError(f"address {self.address!r} is not an integer")
        if not 0 <= self.address <= 0xFFFF - self.words + 1:
            raise ValueError(
                f"address {self.address} is outside 0..{0xFFFF - self.words + 1} "
                f"for a {self.data_type} value"
            )
        if (
            isinstance(self.scale, bool)
            or not isinstance(self.scale, int | float)
            or not math.isfinite(self.scale)
            or self.scale == 0
        ):
            raise ValueError(f"scale {self.scale!r} is not a finite, non-zero number")

    @property
    def words(self) -> int:
        """Registers this value occupies."""
        return words_needed(self.data_type)


def decode(register: Register, words: Sequence[int]) -> float:
    """Value in base units from the raw words of one register.

    Raises ValueError for a wrong number of words, words outside 0..65535 and
    non-finite values (a float32 NaN or infinity is never a reading).
    """
    fmt, count = _FORMATS[register.data_type]
    if len(words) != count:
        raise ValueError(f"{register.data_type} needs {count} words, got {len(words)}")
    for word in words:
        if not 0 <= word <= 0xFFFF:
            raise ValueError(f"word {word!r} is outside 0..65535")
    ordered = list(words) if register.word_order is WordOrder.BIG else list(reversed(words))
    raw: float = struct.unpack(f">{fmt}", struct.pack(f">{count}H", *ordered))[0]
    value = raw * register.scale
    if not math.isfinite(value):
        raise ValueError(f"{register.data_type} value {raw!r} is not a finite number")
    return float(value)


def is_no_value(register: Register, words: Sequence[int]) -> bool:
    """Whether the raw words are a meter's "no value" marker rather than a value.

    Integer registers: all ones (0xFFFF, 0xFFFFFFFF, ...), the largest signed value
    (0x7FFF, 0x7FFFFFFF, ...) and the smallest one (0x8000, 0x80000000, ...), whatever
    the register's signedness (ABB answers 0xFFFFFFFF / 0x7FFFFFFF for "no value").
    A float32 NaN or infinity is refused by `decode` already.
    """
    if register.data_type is DataType.FLOAT32:
        return False
    ordered = list(words) if register.word_order is WordOrder.BIG else list(reversed(words))
    raw = int.from_bytes(struct.pack(f">{len(ordered)}H", *ordered), "big")
    bits = 16 * len(ordered)
    return raw in ((1 << bits) - 1, (1 << (bits - 1)) - 1, 1 << (bits - 1))


def encode(register: Register, value: float) -> list[int]:
    """Raw words a meter stores for this value (the inverse of `decode`).

    Integer types are rounded to the nearest raw step. Raises ValueError for
    non-finite values and values the register cannot hold.
    """
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    fmt, count = _FORMATS[register.data_type]
    scaled = value / register.scale
    if register.data_type is DataType.FLOAT32:
        try:
            packed = struct.pack(">f", scaled)
        except OverflowError:
            raise ValueError(f"{value!r} does not fit a float32 register") from None
    else:
        raw = round(scaled)
        low, high = _INT_RANGES[register.data_type]
        if not low <= raw <= high:
            raise ValueError(f"{value!r} (raw {raw}) does not fit a {register.data_type} register")
        packed = struct.pack(f">{fmt}", raw)
    words = list(struct.unpack(f">{count}H", packed))
    return words if register.word_order is WordOrder.BIG else words[::-1]


@dataclass(frozen=True, slots=True)
class MeterModel:
    """A meter model: which quantities it offers and where."""

    key: str
    label: str
    phases: int
    registers: Mapping[Quantity, Register] = field(hash=False)
    #: Register holding the current-transformer ratio when the meter reports currents and
    #: powers on the secondary side of its transformers (Chint DTSU666's IrAt): they are
    #: multiplied by it. Read with the currents, on every read.
    ct_ratio: Register | None = None

    def __post_init__(self) -> None:
        """Freeze the register table and check it can serve load management."""
        if self.phases not in (1, 3):
            raise ValueError(f"phases must be 1 or 3, not {self.phases!r}")
        registers = MappingProxyType(dict(self.registers))
        if self.phases == 1 and (extra := sorted(_NOT_SINGLE_PHASE & registers.keys())):
            raise ValueError(f"a single-phase meter has no {', '.join(extra)}")
        if missing := [q for q in CURRENTS[: self.phases] if q not in registers]:
            raise ValueError(
                f"load management needs the current of every phase; missing {', '.join(missing)}"
            )
        object.__setattr__(self, "registers", registers)


def _model(
    key: str,
    label: str,
    phases: int,
    table: Mapping[Quantity, tuple[Any, ...]],
    ct_ratio: Register | None = None,
) -> MeterModel:
    registers = {q: Register(*spec) for q, spec in table.items()}
    return MeterModel(key, label, phases, registers, ct_ratio)


def _eastron(key: str, label: str) -> MeterModel:
    # Eastron SDM630 / SDM72D-M v2: input registers, float32, high word first.
    f, in_ = DataType.FLOAT32, FUNCTION_INPUT
    return _model(
        key,
        label,
        3,
        {
            Quantity.VOLTAGE_L1: (in_, 0x0000, f),
            Quantity.VOLTAGE_L2: (in_, 0x0002, f),
            Quantity.VOLTAGE_L3: (in_, 0x0004, f),
            Quantity.CURRENT_L1: (in_, 0x0006, f),
            Quantity.CURRENT_L2: (in_, 0x0008, f),
            Quantity.CURRENT_L3: (in_, 0x000A, f),
            Quantity.POWER_L1: (in_, 0x000C, f),
            Quantity.POWER_L2: (in_, 0x000E, f),
            Quantity.POWER_L3: (in_, 0x0010, f),
            Quantity.POWER_TOTAL: (in_, 0x0034, f),
            Quantity.FREQUENCY: (in_, 0x0046, f),
            Quantity.IMPORT_ENERGY: (in_, 0x0048, f, WordOrder.BIG, 1000.0),  # kWh
            Quantity.EXPORT_ENERGY: (in_, 0x004A, f, WordOrder.BIG, 1000.0),  # kWh
        },
    )


def _carlo_gavazzi(
    key: str, label: str, frequency: int, import_energy: int, export_energy: int
) -> MeterModel:
    # Carlo Gavazzi: input registers, int32 low word first. Voltages, currents and powers
    # sit at the same addresses on the EM24 (both variants) and the EM340; frequency
    # (0.1 Hz) and the total import/export counters (0.1 kWh) do not:
    # - EM340/EM330/EM530/EM540 and the Ethernet EM24 (E1): 0x33, 0x34, 0x4E;
    # - the RS485 EM24 (AV2/AV5/AV6/AV9): 0x37, 0x3E, 0x5C (0x33 is a power factor and
    #   0x42 a resettable partial counter there).
    # (vendor manuals as used by open-source drivers, e.g. Victron's dbus-modbus-client)
    i32, in_, lo = DataType.INT32, FUNCTION_INPUT, WordOrder.LITTLE
    return _model(
        key,
        label,
        3,
        {
            Quantity.VOLTAGE_L1: (in_, 0x0000, i32, lo, 0.1),
            Quantity.VOLTAGE_L2: (in_, 0x0002, i32, lo, 0.1),
            Quantity.VOLTAGE_L3: (in_, 0x0004, i32, lo, 0.1),
            Quantity.CURRENT_L1: (in_, 0x000C, i32, lo, 0.001),
            Quantity.CURRENT_L2: (in_, 0x000E, i32, lo, 0.001),
            Quantity.CURRENT_L3: (in_, 0x0010, i32, lo, 0.001),
            Quantity.POWER_L1: (in_, 0x0012, i32, lo, 0.1),
            Quantity.POWER_L2: (in_, 0x0014, i32, lo, 0.1),
            Quantity.POWER_L3: (in_, 0x0016, i32, lo, 0.1),
            Quantity.POWER_TOTAL: (in_, 0x0028, i32, lo, 0.1),
            Quantity.FREQUENCY: (in_, frequency, DataType.UINT16, lo, 0.1),
            Quantity.IMPORT_ENERGY: (in_, import_energy, i32, lo, 100.0),  # 0.1 kWh
            Quantity.EXPORT_ENERGY: (in_, export_energy, i32, lo, 100.0),  # 0.1 kWh
        },
    )


_f32: Final = DataType.FLOAT32
_HR: Final = FUNCTION_HOLDING
_IR: Final = FUNCTION_INPUT
_BIG: Final = WordOrder.BIG

MODELS: Final[dict[str, MeterModel]] = {
    model.key: model
    for model in (
        _eastron("sdm630", "Eastron SDM630"),
        _eastron("sdm72dm_v2", "Eastron SDM72D-M v2"),
        _model(
            "sdm120",
            "Eastron SDM120",
            1,
            {
                Quantity.VOLTAGE_L1: (_IR, 0x0000, _f32),
                Quantity.CURRENT_L1: (_IR, 0x0006, _f32),
                Quantity.POWER_L1: (_IR, 0x000C, _f32),
                # single phase: the total is the phase power (same register)
                Quantity.POWER_TOTAL: (_IR, 0x000C, _f32),
                Quantity.FREQUENCY: (_IR, 0x0046, _f32),
                Quantity.IMPORT_ENERGY: (_IR, 0x0048, _f32, _BIG, 1000.0),  # kWh
                Quantity.EXPORT_ENERGY: (_IR, 0x004A, _f32, _BIG, 1000.0),  # kWh
            },
        ),
        _model(
            "abb_b23",
            "ABB B23/B24",
            3,
            {
                Quantity.VOLTAGE_L1: (_HR, 0x5B00, DataType.UINT32, _BIG, 0.1),
                Quantity.VOLTAGE_L2: (_HR, 0x5B02, DataType.UINT32, _BIG, 0.1),
                Quantity.VOLTAGE_L3: (_HR, 0x5B04, DataType.UINT32, _BIG, 0.1),
                Quantity.CURRENT_L1: (_HR, 0x5B0C, DataType.UINT32, _BIG, 0.01),
                Quantity.CURRENT_L2: (_HR, 0x5B0E, DataType.UINT32, _BIG, 0.01),
                Quantity.CURRENT_L3: (_HR, 0x5B10, DataType.UINT32, _BIG, 0.01),
                Quantity.POWER_TOTAL: (_HR, 0x5B14, DataType.INT32, _BIG, 0.01),
                Quantity.POWER_L1: (_HR, 0x5B16, DataType.INT32, _BIG, 0.01),
                Quantity.POWER_L2: (_HR, 0x5B18, DataType.INT32, _BIG, 0.01),
                Quantity.POWER_L3: (_HR, 0x5B1A, DataType.INT32, _BIG, 0.01),
                Quantity.FREQUENCY: (_HR, 0x5B2C, DataType.UINT16, _BIG, 0.01),
                Quantity.IMPORT_ENERGY: (_HR, 0x5000, DataType.UINT64, _BIG, 10.0),  # 0.01 kWh
                Quantity.EXPORT_ENERGY: (_HR, 0x5004, DataType.UINT64, _BIG, 10.0),  # 0.01 kWh
            },
        ),
        # "em24" is the key entries saved before the RS485 map existed: it keeps the
        # Ethernet map it always had (currents, voltages and powers are the same on both).
        _carlo_gavazzi("em24", "Carlo Gavazzi EM24 Ethernet (E1)", 0x0033, 0x0034, 0x004E),
        _carlo_gavazzi("em24_rs485", "Carlo Gavazzi EM24 RS485 (AV)", 0x0037, 0x003E, 0x005C),
        _carlo_gavazzi("em340", "Carlo Gavazzi EM340", 0x0033, 0x0034, 0x004E),
        _model(
            "iem3x5x",
            "Schneider iEM3x5x",
            3,
            {
                Quantity.CURRENT_L1: (_HR, 0x0BB7, _f32),
                Quantity.CURRENT_L2: (_HR, 0x0BB9, _f32),
                Quantity.CURRENT_L3: (_HR, 0x0BBB, _f32),
                Quantity.VOLTAGE_L1: (_HR, 0x0BD3, _f32),
                Quantity.VOLTAGE_L2: (_HR, 0x0BD5, _f32),
                Quantity.VOLTAGE_L3: (_HR, 0x0BD7, _f32),
                Quantity.POWER_L1: (_HR, 0x0BED, _f32, _BIG, 1000.0),  # kW
                Quantity.POWER_L2: (_HR, 0x0BEF, _f32, _BIG, 1000.0),  # kW
                Quantity.POWER_L3: (_HR, 0x0BF1, _f32, _BIG, 1000.0),  # kW
                Quantity.POWER_TOTAL: (_HR, 0x0BF3, _f32, _BIG, 1000.0),  # kW
                Quantity.FREQUENCY: (_HR, 0x0C25, _f32),
                # total active energy import/export: INT64 in Wh
                Quantity.IMPORT_ENERGY: (_HR, 0x0C83, DataType.INT64),
                Quantity.EXPORT_ENERGY: (_HR, 0x0C87, DataType.INT64),
            },
        ),
        # Chint DTSU666: holding registers, float32 high word first, values in fixed
        # decimal steps. Addresses and steps come from the vendor manual as collected
        # by open-source projects: Ua/Ub/Uc 0x2006/08/0A (0.1 V; 0x2000-0x2004 are the
        # line-to-line voltages), Ia/Ib/Ic 0x200C/0E/10 (0.001 A), Pt 0x2012 and
        # Pa/Pb/Pc 0x2014/16/18 (0.1 W), Freq 0x2044 (0.01 Hz), ImpEp 0x101E and
        # ExpEp 0x1028 (kWh). Currents and powers are secondary-side: with current
        # transformers they are multiplied by IrAt (0x0006, int16, 1 without CTs).
        _model(
            "dtsu666",
            "Chint DTSU666",
            3,
            {
                Quantity.VOLTAGE_L1: (_HR, 0x2006, _f32, _BIG, 0.1),
                Quantity.VOLTAGE_L2: (_HR, 0x2008, _f32, _BIG, 0.1),
                Quantity.VOLTAGE_L3: (_HR, 0x200A, _f32, _BIG, 0.1),
                Quantity.CURRENT_L1: (_HR, 0x200C, _f32, _BIG, 0.001),
                Quantity.CURRENT_L2: (_HR, 0x200E, _f32, _BIG, 0.001),
                Quantity.CURRENT_L3: (_HR, 0x2010, _f32, _BIG, 0.001),
                Quantity.POWER_TOTAL: (_HR, 0x2012, _f32, _BIG, 0.1),
                Quantity.POWER_L1: (_HR, 0x2014, _f32, _BIG, 0.1),
                Quantity.POWER_L2: (_HR, 0x2016, _f32, _BIG, 0.1),
                Quantity.POWER_L3: (_HR, 0x2018, _f32, _BIG, 0.1),
                Quantity.FREQUENCY: (_HR, 0x2044, _f32, _BIG, 0.01),
                Quantity.IMPORT_ENERGY: (_HR, 0x101E, _f32, _BIG, 1000.0),  # kWh
                Quantity.EXPORT_ENERGY: (_HR, 0x1028, _f32, _BIG, 1000.0),  # kWh
            },
            ct_ratio=Register(_HR, 0x0006, DataType.INT16),
        ),
    )
}


_SPEC_FIELDS: Final = frozenset({"function", "address", "data_type", "word_order", "scale"})


def custom_model(
    spec: Mapping[str, Mapping[str, Any]],
    phases: int = 3,
    *,
    key: str = "custom",
    label: str = "Custom meter",
) -> MeterModel:
    """A model from user data: ``{quantity: {function, address, data_type, word_order, scale}}``.

    ``function``, ``address`` and ``data_type`` are required; ``word_order`` defaults to
    ``big`` and ``scale`` to 1. Integers may be given as strings (``"0x5B00"``).
    Raises ValueError naming the offending quantity and field.
    """
    if not isinstance(spec, Mapping) or not spec:
        raise ValueError("a custom meter needs at least one register")
    if isinstance(phases, bool) or phases not in (1, 3):
        raise ValueError(f"phases must be 1 or 3, not {phases!r}")
    registers: dict[Quantity, Register] = {}
    for name, entry in spec.items():
        try:
            quantity = Quantity(name)
        except ValueError:
            raise ValueError(
                f"unknown quantity {name!r}; expected one of {_choices(Quantity)}"
            ) from None
        if not isinstance(entry, Mapping):
            raise ValueError(f"{quantity}: expected a mapping of register fields")
        if unknown := sorted(set(entry) - _SPEC_FIELDS):
            raise ValueError(f"{quantity}: unknown field(s) {', '.join(map(str, unknown))}")
        if missing := [f for f in ("function", "address", "data_type") if f not in entry]:
            raise ValueError(f"{quantity}: missing {', '.join(missing)}")
        try:
            registers[quantity] = Register(
                function=_integer(entry["function"], "function"),
                address=_integer(entry["address"], "address"),
                data_type=entry["data_type"],
                word_order=entry.get("word_order", WordOrder.BIG),
                scale=_number(entry.get("scale", 1.0), "scale"),
            )
        except ValueError as err:
            raise ValueError(f"{quantity}: {err}") from None
    return MeterModel(key=key, label=label, phases=phases, registers=registers)


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} {value!r} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip(), 0)
        except ValueError:
            pass
    raise ValueError(f"{name} {value!r} is not an integer")


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} {value!r} is not a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise ValueError(f"{name} {value!r} is not a number")


def _choices(enum: type[StrEnum]) -> str:
    return ", ".join(member.value for member in enum)


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: ``count`` registers from ``address``; where each quantity sits.

    ``refused`` says why a block is no longer sent (the meter answered "illegal data
    address" for it alone): its quantities are reported unavailable for that reason.
    """

    function: int
    address: int
    count: int
    items: tuple[tuple[Quantity, int], ...]  # (quantity, offset in the block)
    refused: str | None = None

    @property
    def essential(self) -> bool:
        """Whether the block holds currents (a read fails without them)."""
        return any(quantity in CURRENTS for quantity, _offset in self.items)

    @property
    def group(self) -> str:
        """The group of the block's quantities (a block never mixes groups)."""
        return group_of(self.items[0][0])


def read_plan(
    model: MeterModel, *, max_count: int = MAX_BLOCK, max_gap: int = MAX_GAP
) -> list[Block]:
    """Fewest read requests covering every register of the model, one group at a time.

    The currents come first, in blocks of their own; then every other group (voltage,
    power, energy, frequency), so that a group the meter refuses loses nothing else.
    Registers of one function and group are merged while the block stays within
    ``max_count`` registers and skips at most ``max_gap`` unused registers between two
    values. Within a group, blocks come ordered by function, then address.
    """
    if max_count < 4:
        raise ValueError("max_count must allow at least one 64-bit value (4 registers)")
    if max_gap < 0:
        raise ValueError("max_gap must not be negative")
    blocks: list[Block] = []
    for members in GROUPS.values():
        table = {q: model.registers[q] for q in members if q in model.registers}
        blocks.extend(_plan(table, max_count, max_gap))
    return blocks


def _plan(registers: Mapping[Quantity, Register], max_count: int, max_gap: int) -> list[Block]:
    blocks: list[Block] = []
    for function in FUNCTIONS:
        entries = sorted(
            (reg.address, reg.words, quantity)
            for quantity, reg in registers.items()
            if reg.function == function
        )
        start = end = 0
        members: list[tuple[Quantity, int]] = []
        for address, words, quantity in entries:
            if members and (
                address - end > max_gap or max(end, address + words) - start > max_count
            ):
                blocks.append(_block(function, start, end, members))
                members = []
            if not members:
                start = end = address
            members.append((quantity, address))
            end = max(end, address + words)
        if members:
            blocks.append(_block(function, start, end, members))
    return blocks


def split(block: Block, model: MeterModel) -> list[Block]:
    """One block per quantity of ``block`` (registers shared by two quantities stay one)."""
    by_address: dict[int, list[tuple[Quantity, int]]] = {}
    for quantity, offset in block.items:
        by_address.setdefault(block.address + offset, []).append((quantity, 0))
    return [
        Block(
            block.function,
            address,
            max(model.registers[q].words for q, _ in members),
            tuple(members),
        )
        for address, members in sorted(by_address.items())
    ]


def _block(function: int, start: int, end: int, members: list[tuple[Quantity, int]]) -> Block:
    return Block(
        function=function,
        address=start,
        count=end - start,
        items=tuple((quantity, address - start) for quantity, address in members),
    )
