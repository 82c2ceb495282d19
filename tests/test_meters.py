"""Modbus DLM meters: register maps, decoding, read plans, the bus and the poller.

Bus and poller tests talk to pymodbus' own server (the meter simulator) on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
import itertools
import logging
import math
import re
import socket
import struct
import time
from typing import Any

from hypothesis import HealthCheck, assume, given, settings, strategies as st
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.pdu import ModbusPDU
import pytest

from custom_components.charge_zones.meters import (
    MODELS,
    Block,
    BusConnectionError,
    BusDataError,
    BusError,
    BusExceptionResponse,
    BusTimeout,
    ConnectionConfig,
    DataType,
    ImplausibleReading,
    MeterModel,
    MeterPoller,
    MeterReading,
    ModbusBus,
    Quantity,
    Register,
    WordOrder,
    custom_model,
    decode,
    encode,
    group_status,
    read_meter,
    read_plan,
    words_needed,
)
from custom_components.charge_zones.meters.reader import next_tick, read_blocks
from custom_components.charge_zones.meters.registers import (
    CURRENTS,
    GROUPS,
    POWERS,
    VOLTAGES,
    group_of,
)
from simulator.meter import SimulatedMeter, build_parser, serve

Q = Quantity


def free_port() -> int:
    """A TCP port nobody listens on right now (127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


HYPOTHESIS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# A value per quantity that every model can store (signed power only where signed).
SAMPLE: dict[Quantity, float] = {
    Q.CURRENT_L1: 16.25,
    Q.CURRENT_L2: 7.5,
    Q.CURRENT_L3: 0.125,
    Q.VOLTAGE_L1: 230.1,
    Q.VOLTAGE_L2: 229.5,
    Q.VOLTAGE_L3: 231.7,
    Q.POWER_L1: 3700.5,
    Q.POWER_L2: 1725.25,
    Q.POWER_L3: 28.5,
    Q.POWER_TOTAL: 5454.25,
    Q.IMPORT_ENERGY: 12_345_600.0,
    Q.EXPORT_ENERGY: 4_000.0,
    Q.FREQUENCY: 50.0,
}


def tolerance(register: Register, value: float) -> float:
    """How far a stored value may be from what was asked (one raw step or float32)."""
    if register.data_type is DataType.FLOAT32:
        return abs(value) * 2**-23 + abs(register.scale) * 2**-126
    return abs(register.scale) / 2 + abs(value) * 1e-12


class TableBus:
    """A bus answering from a register table (function -> address -> word)."""

    def __init__(self, table: dict[int, dict[int, int]]) -> None:
        self.table = table
        self.calls: list[tuple[int, int, int, int]] = []

    async def read(self, unit: int, function: int, address: int, count: int) -> list[int]:
        self.calls.append((unit, function, address, count))
        words = self.table.get(function, {})
        return [words.get(address + i, 0) for i in range(count)]


def layout(model: MeterModel, values: dict[Quantity, float]) -> dict[int, dict[int, int]]:
    table: dict[int, dict[int, int]] = {3: {}, 4: {}}
    if model.ct_ratio is not None:  # no current transformer: ratio 1
        table[model.ct_ratio.function][model.ct_ratio.address] = 1
    for quantity, register in model.registers.items():
        for offset, word in enumerate(encode(register, values[quantity])):
            table[register.function][register.address + offset] = word
    return table


def sample_for(model: MeterModel) -> dict[Quantity, float]:
    values = {q: SAMPLE[q] for q in model.registers}
    if model.phases == 1:  # SDM120: total and L1 share a register
        values[Q.POWER_TOTAL] = values[Q.POWER_L1]
    return values


# --- register maps ----------------------------------------------------------------------


def test_models_listed() -> None:
    assert set(MODELS) == {
        "sdm630",
        "sdm72dm_v2",
        "sdm120",
        "abb_b23",
        "em24",
        "em24_rs485",
        "em340",
        "iem3x5x",
        "dtsu666",
    }
    assert MODELS["abb_b23"].label == "ABB B23/B24"
    for key, model in MODELS.items():
        assert model.key == key
        assert model.phases == (1 if key == "sdm120" else 3)
    sdm120 = MODELS["sdm120"].registers
    assert Q.CURRENT_L2 not in sdm120
    assert Q.VOLTAGE_L3 not in sdm120
    assert {Q.CURRENT_L1, Q.VOLTAGE_L1, Q.POWER_L1, Q.POWER_TOTAL, Q.IMPORT_ENERGY} <= set(sdm120)


def test_model_tables_are_read_only() -> None:
    assert len({MODELS["sdm630"], MODELS["sdm630"], MODELS["em24"]}) == 2  # hashable
    label = "Carlo Gavazzi EM24 Ethernet (E1)"
    assert MODELS["em24"] == MeterModel("em24", label, 3, MODELS["em24"].registers)
    assert MODELS["em24"] != MeterModel("em24", label, 3, MODELS["sdm630"].registers)
    with pytest.raises(TypeError):
        MODELS["sdm630"].registers[Q.CURRENT_L1] = Register(4, 0, DataType.FLOAT32)  # type: ignore[index]


@pytest.mark.parametrize("key", sorted(MODELS))
async def test_every_model_decodes_its_own_layout(key: str) -> None:
    """Values encoded into the model's register layout come back through the read plan."""
    model = MODELS[key]
    values = sample_for(model)
    for quantity, register in model.registers.items():
        assert decode(register, encode(register, values[quantity])) == pytest.approx(
            values[quantity], abs=tolerance(register, values[quantity])
        )
    bus = TableBus(layout(model, values))
    reading = await read_meter(bus, 7, model)
    # one request per block, and one for the current-transformer ratio where there is one
    assert len(bus.calls) == len(read_plan(model)) + (model.ct_ratio is not None)
    assert all(call[0] == 7 for call in bus.calls)
    got: dict[Quantity, float | None] = {
        Q.CURRENT_L1: reading.current[0],
        Q.CURRENT_L2: reading.current[1],
        Q.CURRENT_L3: reading.current[2],
        Q.VOLTAGE_L1: reading.voltage[0],
        Q.VOLTAGE_L2: reading.voltage[1],
        Q.VOLTAGE_L3: reading.voltage[2],
        Q.POWER_L1: reading.power[0],
        Q.POWER_L2: reading.power[1],
        Q.POWER_L3: reading.power[2],
        Q.POWER_TOTAL: reading.power_total,
        Q.IMPORT_ENERGY: reading.import_wh,
        Q.EXPORT_ENERGY: reading.export_wh,
        Q.FREQUENCY: reading.frequency,
    }
    for quantity, value in got.items():
        if quantity in model.registers:
            register = model.registers[quantity]
            assert value == pytest.approx(values[quantity], abs=tolerance(register, value or 0))
        else:
            assert value is None, quantity


def test_sdm630_raw_words() -> None:
    regs = MODELS["sdm630"].registers
    assert regs[Q.VOLTAGE_L1] == Register(4, 0x0000, DataType.FLOAT32, WordOrder.BIG, 1.0)
    assert encode(regs[Q.VOLTAGE_L1], 230.0) == [0x4366, 0x0000]
    assert encode(regs[Q.CURRENT_L2], 10.0) == [0x4120, 0x0000]
    assert encode(regs[Q.POWER_L3], -2300.0) == [0xC50F, 0xC000]
    assert encode(regs[Q.IMPORT_ENERGY], 1000.0) == [0x3F80, 0x0000]  # 1.0 kWh
    assert decode(regs[Q.FREQUENCY], [0x4248, 0x0000]) == 50.0
    assert (regs[Q.CURRENT_L3].address, regs[Q.POWER_TOTAL].address) == (0x000A, 0x0034)
    assert (regs[Q.IMPORT_ENERGY].address, regs[Q.EXPORT_ENERGY].address) == (0x0048, 0x004A)


def test_abb_b23_raw_words() -> None:
    regs = MODELS["abb_b23"].registers
    assert regs[Q.CURRENT_L1].function == 3
    assert encode(regs[Q.VOLTAGE_L1], 230.1) == [0x0000, 0x08FD]  # 2301 x 0.1 V
    assert encode(regs[Q.CURRENT_L3], 16.0) == [0x0000, 0x0640]  # 1600 x 0.01 A
    assert encode(regs[Q.POWER_L1], -1500.25) == [0xFFFD, 0xB5F7]  # -150025 x 0.01 W
    assert encode(regs[Q.IMPORT_ENERGY], 1_234_560.0) == [0, 0, 0x0001, 0xE240]  # 123456 x 10 Wh
    assert encode(regs[Q.FREQUENCY], 50.0) == [0x1388]
    assert decode(regs[Q.POWER_TOTAL], [0xFFFF, 0xFFFF]) == pytest.approx(-0.01)
    assert decode(regs[Q.CURRENT_L2], [0x0001, 0x0000]) == pytest.approx(655.36)


def test_em24_raw_words_low_word_first() -> None:
    regs = MODELS["em24"].registers
    assert regs[Q.CURRENT_L1].word_order is WordOrder.LITTLE
    assert encode(regs[Q.CURRENT_L1], 10.0) == [0x2710, 0x0000]  # 10000 mA
    assert encode(regs[Q.VOLTAGE_L2], 230.0) == [0x08FC, 0x0000]  # 2300 x 0.1 V
    assert encode(regs[Q.POWER_TOTAL], 100_000.0) == [0x4240, 0x000F]  # 1 000 000 x 0.1 W
    assert encode(regs[Q.POWER_L1], -2300.0) == [0xA628, 0xFFFF]  # -23000
    assert decode(regs[Q.IMPORT_ENERGY], [0x0001, 0x0002]) == pytest.approx(0x00020001 * 100)
    assert regs[Q.IMPORT_ENERGY].address == 0x0034
    assert MODELS["em340"].registers[Q.IMPORT_ENERGY].address == 0x0034
    # the RS485 EM24 (AV...) has its own frequency and total counters (0x33 is a PF there)
    rs485 = MODELS["em24_rs485"].registers
    assert [rs485[q].address for q in (Q.FREQUENCY, Q.IMPORT_ENERGY, Q.EXPORT_ENERGY)] == [
        0x0037,
        0x003E,
        0x005C,
    ]
    assert [regs[q].address for q in (Q.FREQUENCY, Q.IMPORT_ENERGY, Q.EXPORT_ENERGY)] == [
        0x0033,
        0x0034,
        0x004E,
    ]
    for quantity in (*CURRENTS, *VOLTAGES, *POWERS, Q.POWER_TOTAL):
        assert rs485[quantity] == regs[quantity]
    assert MODELS["em24_rs485"].label == "Carlo Gavazzi EM24 RS485 (AV)"


def test_schneider_and_chint_scales() -> None:
    iem = MODELS["iem3x5x"].registers
    assert decode(iem[Q.POWER_L1], [0x3F80, 0x0000]) == 1000.0  # 1 kW
    assert decode(iem[Q.IMPORT_ENERGY], [0, 0, 0, 1234]) == 1234.0  # Wh
    dtsu = MODELS["dtsu666"].registers
    assert decode(dtsu[Q.VOLTAGE_L1], [0x4366, 0x0000]) == pytest.approx(23.0)  # 230 x 0.1 V
    assert decode(dtsu[Q.CURRENT_L1], [0x461C, 0x4000]) == pytest.approx(10.0)  # 10000 x 1 mA
    assert decode(dtsu[Q.POWER_TOTAL], [0x4461, 0x0000]) == pytest.approx(90.0)  # 900 x 0.1 W
    assert [dtsu[q].address for q in (Q.VOLTAGE_L1, Q.CURRENT_L1, Q.POWER_TOTAL)] == [
        0x2006,
        0x200C,
        0x2012,
    ]
    # energy per the maker's manual (0x401E/0x4028 are not the counters)
    assert (dtsu[Q.IMPORT_ENERGY].address, dtsu[Q.EXPORT_ENERGY].address) == (0x101E, 0x1028)
    assert MODELS["dtsu666"].ct_ratio == Register(3, 0x0006, DataType.INT16)


def test_words_needed() -> None:
    assert [words_needed(t) for t in DataType] == [2, 1, 1, 2, 2, 4, 4]
    assert words_needed("uint64") == 4


@pytest.mark.parametrize(
    ("register", "words", "message"),
    [
        (Register(4, 0, DataType.FLOAT32), [0x4366], "needs 2 words"),
        (Register(4, 0, DataType.UINT16), [0x10000], "outside 0..65535"),
        (Register(4, 0, DataType.UINT16), [-1], "outside 0..65535"),
        (Register(4, 0, DataType.FLOAT32), [0x7FC0, 0x0000], "not a finite"),  # NaN
        (Register(4, 0, DataType.FLOAT32), [0x7F80, 0x0000], "not a finite"),  # +inf
        (Register(4, 0, DataType.FLOAT32), [0xFF80, 0x0000], "not a finite"),  # -inf
        (Register(4, 0, DataType.FLOAT32, scale=1e300), [0x7F7F, 0xFFFF], "not a finite"),
    ],
)
def test_decode_rejects(register: Register, words: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode(register, words)


@pytest.mark.parametrize(
    ("register", "value"),
    [
        (Register(4, 0, DataType.FLOAT32), math.nan),
        (Register(4, 0, DataType.FLOAT32), math.inf),
        (Register(4, 0, DataType.FLOAT32), 1e39),
        (Register(4, 0, DataType.UINT16), -1.0),
        (Register(4, 0, DataType.UINT16), 65535.6),
        (Register(4, 0, DataType.INT16, scale=0.1), 3276.8),
        (Register(4, 0, DataType.UINT32), 2.0**32),
        (Register(4, 0, DataType.INT64), 2.0**63),
    ],
)
def test_encode_rejects(register: Register, value: float) -> None:
    with pytest.raises(ValueError, match=r"finite|fit"):
        encode(register, value)


_PACK = {
    DataType.INT16: ">h",
    DataType.UINT16: ">H",
    DataType.INT32: ">i",
    DataType.UINT32: ">I",
    DataType.INT64: ">q",
    DataType.UINT64: ">Q",
}
_RAW_BOUNDS = {
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
    # 64-bit counters: exact through a float only up to ~2**50 (enough for any meter)
    DataType.INT64: (-(2**48), 2**48),
    DataType.UINT64: (0, 2**48),
}
SCALES = st.sampled_from([1.0, 0.1, 0.01, 0.001, 10.0, 100.0, 1000.0, -1.0])


def _words(packed: bytes, order: WordOrder) -> list[int]:
    words = list(struct.unpack(f">{len(packed) // 2}H", packed))
    return words if order is WordOrder.BIG else words[::-1]


@HYPOTHESIS
@given(
    data_type=st.sampled_from(list(_PACK)),
    order=st.sampled_from(list(WordOrder)),
    scale=SCALES,
    data=st.data(),
)
def test_integer_round_trip(
    data_type: DataType, order: WordOrder, scale: float, data: st.DataObject
) -> None:
    low, high = _RAW_BOUNDS[data_type]
    raw = data.draw(st.integers(low, high))
    words = _words(struct.pack(_PACK[data_type], raw), order)  # built without the code under test
    register = Register(3, 100, data_type, order, scale)
    value = decode(register, words)
    assert value == raw * scale
    assert encode(register, value) == words


@HYPOTHESIS
@given(
    raw=st.floats(width=32, allow_nan=False, allow_infinity=False),
    order=st.sampled_from(list(WordOrder)),
    scale=SCALES,
)
def test_float32_round_trip(raw: float, order: WordOrder, scale: float) -> None:
    words = _words(struct.pack(">f", raw), order)
    register = Register(4, 0, DataType.FLOAT32, order, scale)
    value = decode(register, words)
    assume(math.isfinite(value))
    assert value == raw * scale
    assert encode(register, value) == words


@HYPOTHESIS
@given(
    data_type=st.sampled_from(list(DataType)),
    order=st.sampled_from(list(WordOrder)),
    scale=SCALES,
    fraction=st.floats(0, 1),
)
def test_values_survive_encoding(
    data_type: DataType, order: WordOrder, scale: float, fraction: float
) -> None:
    """Any value the register can hold comes back within one raw step (or float32)."""
    register = Register(4, 0, data_type, order, scale)
    if data_type is DataType.FLOAT32:
        low, high = -3.0e38, 3.0e38
    else:
        low, high = _RAW_BOUNDS[data_type]
    raw = low + (high - low) * fraction
    value = raw * scale
    assert decode(register, encode(register, value)) == pytest.approx(
        value, abs=tolerance(register, value)
    )


def test_float32_nan_words_are_never_a_value() -> None:
    register = Register(4, 0, DataType.FLOAT32)
    for words in ([0x7FC0, 0], [0xFFC0, 0], [0x7F80, 1], [0x7F80, 0]):
        with pytest.raises(ValueError, match="not a finite number"):
            decode(register, words)


# --- read plans -------------------------------------------------------------------------


def _spans(plan: list[Block]) -> list[tuple[int, int, int]]:
    return [(b.function, b.address, b.count) for b in plan]


def test_read_plan_sdm630() -> None:
    """Currents first, alone; each other group in blocks of its own."""
    plan = read_plan(MODELS["sdm630"])
    assert _spans(plan) == [
        (4, 0x0006, 6),  # currents
        (4, 0x0000, 6),  # voltages
        (4, 0x000C, 6),  # powers
        (4, 0x0034, 2),  # total power
        (4, 0x0048, 4),  # energy
        (4, 0x0046, 2),  # frequency
    ]
    assert [b.essential for b in plan] == [True, False, False, False, False, False]
    assert [b.group for b in plan] == [
        "current",
        "voltage",
        "power",
        "power",
        "energy",
        "frequency",
    ]
    assert dict(plan[0].items) == {Q.CURRENT_L1: 0, Q.CURRENT_L2: 2, Q.CURRENT_L3: 4}
    assert dict(plan[4].items) == {Q.IMPORT_ENERGY: 0, Q.EXPORT_ENERGY: 2}


def test_read_plan_other_models() -> None:
    assert _spans(read_plan(MODELS["abb_b23"])) == [
        (3, 0x5B0C, 6),
        (3, 0x5B00, 6),
        (3, 0x5B14, 8),
        (3, 0x5000, 8),
        (3, 0x5B2C, 1),
    ]
    assert _spans(read_plan(MODELS["em24"])) == [
        (4, 0x000C, 6),
        (4, 0x0000, 6),
        (4, 0x0012, 6),
        (4, 0x0028, 2),
        (4, 0x0034, 2),
        (4, 0x004E, 2),
        (4, 0x0033, 1),
    ]
    assert _spans(read_plan(MODELS["em24_rs485"]))[-3:] == [
        (4, 0x003E, 2),
        (4, 0x005C, 2),
        (4, 0x0037, 1),
    ]
    assert _spans(read_plan(MODELS["dtsu666"])) == [
        (3, 0x200C, 6),
        (3, 0x2006, 6),
        (3, 0x2012, 8),
        (3, 0x101E, 12),
        (3, 0x2044, 2),
    ]
    assert _spans(read_plan(MODELS["iem3x5x"])) == [
        (3, 0x0BB7, 6),
        (3, 0x0BD3, 6),
        (3, 0x0BED, 8),
        (3, 0x0C83, 8),
        (3, 0x0C25, 2),
    ]
    sdm120 = read_plan(MODELS["sdm120"])
    assert _spans(sdm120) == [
        (4, 0x0006, 2),
        (4, 0x0000, 2),
        (4, 0x000C, 2),
        (4, 0x0048, 4),
        (4, 0x0046, 2),
    ]
    assert dict(sdm120[2].items) == {Q.POWER_L1: 0, Q.POWER_TOTAL: 0}


def test_read_plan_mixes_functions_and_respects_limits() -> None:
    # twelve float32 values of function 4 every 10 registers (gaps of 8), one of function 3
    spec: dict[str, dict[str, Any]] = {
        quantity.value: {"function": 4, "address": 10 * index, "data_type": "float32"}
        for index, quantity in enumerate(list(Quantity)[1:])
    }
    spec["current_l1"] = {"function": 3, "address": 0, "data_type": "float32"}
    model = custom_model(spec)
    # currents at 0 (function 3), 0, 10; voltages 20-40; powers 50-80; energy 90, 100;
    # frequency 110
    assert _spans(read_plan(model)) == [
        (3, 0, 2),
        (4, 0, 12),
        (4, 20, 22),
        (4, 50, 32),
        (4, 90, 12),
        (4, 110, 2),
    ]
    assert _spans(read_plan(model, max_count=20)) == [
        (3, 0, 2),
        (4, 0, 12),
        (4, 20, 12),
        (4, 40, 2),
        (4, 50, 12),
        (4, 70, 12),
        (4, 90, 12),
        (4, 110, 2),
    ]
    assert _spans(read_plan(model, max_gap=7)) == [(3, 0, 2)] + [(4, 10 * i, 2) for i in range(12)]
    offsets = dict(read_plan(model)[3].items)
    assert offsets[Quantity.POWER_L1] == 0
    assert offsets[Quantity.POWER_TOTAL] == 30
    with pytest.raises(ValueError, match="max_count"):
        read_plan(model, max_count=3)
    with pytest.raises(ValueError, match="max_gap"):
        read_plan(model, max_gap=-1)


@st.composite
def layouts(draw: st.DrawFn) -> MeterModel:
    spec: dict[str, dict[str, Any]] = {}
    for quantity in draw(
        st.lists(st.sampled_from(list(Quantity)), min_size=1, max_size=13, unique=True)
    ):
        spec[quantity.value] = {
            "function": draw(st.sampled_from([3, 4])),
            "address": draw(st.integers(0, 400)),
            "data_type": draw(st.sampled_from(list(DataType))),
        }
    for current in ("current_l1", "current_l2", "current_l3"):
        spec.setdefault(current, {"function": 4, "address": 500, "data_type": "uint16"})
    return custom_model(spec)


@HYPOTHESIS
@given(model=layouts(), max_count=st.integers(4, 125), max_gap=st.integers(0, 20))
def test_read_plan_properties(model: MeterModel, max_count: int, max_gap: int) -> None:
    plan = read_plan(model, max_count=max_count, max_gap=max_gap)
    seen: list[Quantity] = []
    for block in plan:
        assert 1 <= block.count <= max_count
        used: set[int] = set()
        for quantity, offset in block.items:
            register = model.registers[quantity]
            assert register.function == block.function
            assert block.address + offset == register.address
            assert offset + register.words <= block.count
            used.update(range(offset, offset + register.words))
            seen.append(quantity)
        assert min(used) == 0
        assert max(used) == block.count - 1
        holes = sorted(set(range(block.count)) - used)
        run = 0
        for index, hole in enumerate(holes):  # no run of unused registers above max_gap
            run = run + 1 if index and holes[index - 1] == hole - 1 else 1
            assert run <= max_gap
    assert sorted(seen) == sorted(model.registers)
    groups = [block.group for block in plan]
    assert groups == sorted(groups, key=list(GROUPS).index)  # currents first, then by group
    assert all(group_of(q) == block.group for block in plan for q, _ in block.items)
    for before, after in itertools.pairwise(plan):  # greedy blocks: none could merge
        if before.group != after.group:
            continue
        assert (before.function, before.address) < (after.function, after.address)
        if before.function == after.function:
            # the first register of `after` did not fit into `before`
            first_end = after.address + min(
                model.registers[q].words for q, offset in after.items if offset == 0
            )
            assert (
                after.address - (before.address + before.count) > max_gap
                or first_end - before.address > max_count
            )


# --- custom models ----------------------------------------------------------------------

GOOD = {"function": 3, "address": "0x5B0C", "data_type": "uint32", "scale": 0.01}


def _three(**l1: Any) -> dict[str, dict[str, Any]]:
    return {
        "current_l1": {**GOOD, **l1},
        "current_l2": {**GOOD, "address": 0x5B0E},
        "current_l3": {**GOOD, "address": 0x5B10},
    }


def test_custom_model_accepts_good_spec() -> None:
    model = custom_model(
        {**_three(), "voltage_l1": {"function": "4", "address": 0, "data_type": "float32"}}
    )
    assert model.key == "custom"
    assert model.phases == 3
    assert model.registers[Q.CURRENT_L1] == Register(
        3, 0x5B0C, DataType.UINT32, WordOrder.BIG, 0.01
    )
    assert model.registers[Q.VOLTAGE_L1].function == 4
    single = custom_model(
        {
            "current_l1": {
                "function": 4,
                "address": 6,
                "data_type": "float32",
                "word_order": "little",
            }
        },
        phases=1,
        key="mine",
        label="Mine",
    )
    assert (single.key, single.label, single.phases) == ("mine", "Mine", 1)
    assert single.registers[Q.CURRENT_L1].word_order is WordOrder.LITTLE


@pytest.mark.parametrize(
    ("spec", "phases", "message"),
    [
        ({}, 3, "at least one register"),
        (_three(), 2, "phases must be 1 or 3"),
        ({**_three(), "power_factor": GOOD}, 3, "unknown quantity 'power_factor'"),
        ({**_three(), "voltage_l1": [3, 0]}, 3, "voltage_l1: expected a mapping"),
        (_three(unit="A"), 3, "current_l1: unknown field"),
        ({**_three(), "voltage_l1": {"function": 3}}, 3, "voltage_l1: missing address, data_type"),
        (_three(function=6), 3, "current_l1: function 6 is not 3"),
        (_three(function=True), 3, "current_l1: function True is not an integer"),
        (_three(function="three"), 3, "current_l1: function 'three' is not an integer"),
        (_three(function=3.0), 3, "current_l1: function 3.0 is not an integer"),
        (_three(address=-1), 3, "current_l1: address -1 is outside"),
        (_three(address=0xFFFF), 3, "current_l1: address 65535 is outside 0..65534"),
        (_three(data_type="float64"), 3, "current_l1: data_type 'float64' is not one of"),
        (_three(word_order="middle"), 3, "current_l1: word_order 'middle' is not one of"),
        (_three(scale=0), 3, "current_l1: scale 0.0 is not a finite, non-zero"),
        (_three(scale="inf"), 3, "current_l1: scale inf is not a finite"),
        (_three(scale="x"), 3, "current_l1: scale 'x' is not a number"),
        (_three(scale=False), 3, "current_l1: scale False is not a number"),
        (_three(scale=None), 3, "current_l1: scale None is not a number"),
        ({"current_l1": GOOD, "current_l2": GOOD}, 3, "missing current_l3"),
        ({"voltage_l1": GOOD}, 1, "missing current_l1"),
        ({"current_l1": GOOD, "power_l2": GOOD}, 1, "single-phase meter has no power_l2"),
    ],
)
def test_custom_model_rejects(spec: Any, phases: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        custom_model(spec, phases)


def test_register_and_model_validation() -> None:
    with pytest.raises(ValueError, match="address '1' is not an integer"):
        Register(3, "1", DataType.UINT16)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scale"):
        Register(3, 1, DataType.UINT16, scale=math.nan)
    with pytest.raises(ValueError, match="phases"):
        MeterModel("x", "X", 2, {Q.CURRENT_L1: Register(3, 1, DataType.UINT16)})
    register = Register(3, 1, "int32", "little")  # type: ignore[arg-type]
    assert register.data_type is DataType.INT32
    assert register.word_order is WordOrder.LITTLE
    assert register.words == 2


# --- connection settings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "udp", "host": "h"}, "kind 'udp'"),
        ({"kind": "rtu"}, "serial port"),
        ({"kind": "rtu", "serial_port": "/dev/x", "parity": "X"}, "parity"),
        ({"kind": "rtu", "serial_port": "/dev/x", "stopbits": 3}, "stopbits"),
        ({"kind": "rtu", "serial_port": "/dev/x", "bytesize": 5}, "bytesize"),
        ({"kind": "rtu", "serial_port": "/dev/x", "baudrate": 0}, "baudrate"),
        ({}, "needs a host"),
        ({"host": "h", "port": 0}, "port 0"),
        ({"host": "h", "timeout": 0}, "timeout"),
        ({"host": "h", "retries": -1}, "retries"),
    ],
)
def test_connection_config_rejects(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConnectionConfig(**kwargs)


def test_connection_config_defaults_and_labels() -> None:
    tcp = ConnectionConfig(host="10.0.0.5")
    assert (tcp.kind, tcp.port, tcp.timeout, tcp.retries) == ("tcp", 502, 1.0, 1)
    assert tcp.label == "tcp://10.0.0.5:502"
    assert ConnectionConfig("rtu_over_tcp", "gw", 4196).label == "rtu-over-tcp://gw:4196"
    rtu = ConnectionConfig("rtu", serial_port="/dev/ttyUSB0", baudrate=19200, parity="E")
    assert rtu.label == "/dev/ttyUSB0 (19200 8E1)"


# --- the bus against a real pymodbus server ---------------------------------------------


def tcp(port: int, *, timeout: float = 0.2, kind: str = "tcp") -> ConnectionConfig:
    return ConnectionConfig(kind, host="127.0.0.1", port=port, timeout=timeout, retries=0)  # type: ignore[arg-type]


@pytest.fixture
async def meter() -> AsyncIterator[SimulatedMeter]:
    sim = SimulatedMeter("sdm630")
    sim.set_currents(10.0, 12.0, 8.0)
    sim.set_energy(1_500_000.0, 2_000.0)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def bus(meter: SimulatedMeter) -> AsyncIterator[ModbusBus]:
    modbus = ModbusBus(tcp(meter.port))
    yield modbus
    await modbus.close()


async def test_read_meter_over_tcp(meter: SimulatedMeter, bus: ModbusBus) -> None:
    before = time.monotonic()
    reading = await read_meter(bus, 1, MODELS["sdm630"])
    assert before <= reading.at <= time.monotonic()
    assert reading.wall.tzinfo is not None
    assert reading.current == (10.0, 12.0, 8.0)
    assert reading.voltage == (230.0, 230.0, 230.0)
    assert reading.power == (2300.0, 2760.0, 1840.0)
    assert reading.power_total == 6900.0
    assert reading.import_wh == 1_500_000.0
    assert reading.export_wh == 2_000.0
    assert reading.frequency == 50.0
    assert reading.age(reading.at + 2.5) == 2.5
    assert bus.stats.requests == 6  # currents, voltages, powers, total power, energy, frequency
    assert bus.stats.errors == 0
    assert bus.stats.connects == 1
    assert bus.connected
    assert [r[:2] for r in meter.primary.requests] == [
        (4, 0x0006),
        (4, 0x0000),
        (4, 0x000C),
        (4, 0x0034),
        (4, 0x0048),
        (4, 0x0046),
    ]
    assert reading.unavailable == {}
    assert reading.implausible == ()
    meter.set_currents(20.5, 0.0, 3.25)
    reading = await read_meter(bus, 1, MODELS["sdm630"])
    assert reading.current == (20.5, 0.0, 3.25)
    assert bus.stats.connects == 1  # the connection is kept


async def test_every_model_end_to_end() -> None:
    """One endpoint serving every model as its own unit, as a TCP gateway in front of RS485."""
    keys = sorted(MODELS)
    sim = SimulatedMeter(keys[0], unit=1)
    for index, key in enumerate(keys[1:], start=2):
        sim.add_unit(key, index)
    for unit in sim.units.values():
        if unit.model.phases == 3:
            unit.set_currents(31.5, 0.25, 16.0, voltage=231.0)
        else:
            unit.set_currents(31.5, voltage=231.0)
        unit.set_energy(987_000.0, 12_000.0)
    async with sim:
        modbus = ModbusBus(tcp(sim.port))
        try:
            readings = {
                unit.model.key: (unit.model, await read_meter(modbus, number, unit.model))
                for number, unit in sim.units.items()
            }
        finally:
            await modbus.close()
    assert modbus.stats.connects == 1
    assert sorted(readings) == keys
    for key, (model, reading) in readings.items():
        expected = (31.5, 0.25, 16.0) if model.phases == 3 else (31.5, None, None)
        assert reading.current == pytest.approx(expected), key
        assert reading.voltage[0] == pytest.approx(231.0), key
        assert reading.power[0] == pytest.approx(31.5 * 231.0), key
        total = 31.5 * 231.0 + (16.25 * 231.0 if model.phases == 3 else 0.0)
        step = tolerance(model.registers[Q.POWER_TOTAL], total)
        assert reading.power_total == pytest.approx(total, abs=step), key
        assert reading.import_wh == pytest.approx(987_000.0, rel=1e-6), key
        assert reading.export_wh == pytest.approx(12_000.0, rel=1e-6), key
        assert reading.frequency == pytest.approx(50.0), key


async def test_rtu_over_tcp() -> None:
    async with SimulatedMeter("abb_b23", unit=5, framer="rtu") as sim:
        sim.set_currents(12.34, 5.0, 0.0)
        modbus = ModbusBus(tcp(sim.port, kind="rtu_over_tcp", timeout=0.1))
        try:
            reading = await read_meter(modbus, 5, sim.model)
            sim.silent = True
            with pytest.raises(BusTimeout):
                await modbus.read(5, 3, 0x5B0C, 2)
        finally:
            await modbus.close()
    assert reading.current == pytest.approx((12.34, 5.0, 0.0))


async def test_silent_meter_times_out(meter: SimulatedMeter) -> None:
    bus = ModbusBus(tcp(meter.port, timeout=0.1))
    assert await bus.read(1, 4, 0x0006, 2) == [0x4120, 0x0000]
    meter.silent = True
    with pytest.raises(BusTimeout, match="no answer from unit 1"):
        await bus.read(1, 4, 0x0006, 2)
    assert bus.stats.timeouts == 1
    assert bus.stats.errors == 1
    assert bus.stats.last_error is not None
    assert "no answer" in bus.stats.last_error
    meter.silent = False
    assert await bus.read(1, 4, 0x0006, 2) == [0x4120, 0x0000]
    await bus.close()


async def test_retries_are_attempts_after_a_timeout(meter: SimulatedMeter) -> None:
    config = ConnectionConfig(host="127.0.0.1", port=meter.port, timeout=0.05, retries=2)
    modbus = ModbusBus(config)
    try:
        await modbus.read(1, 4, 0, 2)
        meter.silent = True
        meter.primary.requests.clear()
        with pytest.raises(BusTimeout):
            await modbus.read(1, 4, 0, 2)
    finally:
        await modbus.close()
    assert len(meter.primary.requests) == 3  # first try + 2 retries
    assert modbus.stats.requests == 2


async def test_exception_responses_keep_their_code(meter: SimulatedMeter, bus: ModbusBus) -> None:
    with pytest.raises(BusExceptionResponse, match="illegal data address") as illegal:
        await bus.read(1, 4, 0x1000, 2)
    assert illegal.value.code == 2
    with pytest.raises(BusExceptionResponse) as unknown_unit:
        await bus.read(9, 4, 0, 2)
    assert unknown_unit.value.code == 0x0B  # gateway: target device failed to respond
    meter.exception_code = 4
    with pytest.raises(BusExceptionResponse, match="server device failure") as failure:
        await bus.read(1, 4, 0, 2)
    assert failure.value.code == 4
    with pytest.raises(BusExceptionResponse):
        await read_meter(bus, 1, MODELS["sdm630"])
    assert bus.stats.exceptions == 4
    assert bus.stats.errors == 4
    assert isinstance(illegal.value, BusError)


async def test_garbage_answer_is_a_data_error(meter: SimulatedMeter, bus: ModbusBus) -> None:
    meter.garbage = True
    with pytest.raises(BusDataError, match="returned 17 registers instead of 18"):
        await bus.read(1, 4, 0, 18)
    assert bus.stats.data_errors == 1
    meter.garbage = False
    assert len(await bus.read(1, 4, 0, 18)) == 18


async def test_closed_port_is_a_connection_error() -> None:
    port = free_port()
    modbus = ModbusBus(tcp(port))
    with pytest.raises(BusConnectionError, match=f"cannot connect to tcp://127.0.0.1:{port}"):
        await modbus.read(1, 4, 0, 2)
    assert modbus.stats.connection_errors == 1
    assert modbus.stats.connects == 0
    assert not modbus.connected
    await modbus.close()


async def test_reconnects_after_the_server_comes_back() -> None:
    sim = SimulatedMeter("sdm630")
    sim.set_currents(5.0, 5.0, 5.0)
    port = await sim.start()
    modbus = ModbusBus(tcp(port, timeout=0.2))
    try:
        assert (await read_meter(modbus, 1, sim.model)).current == (5.0, 5.0, 5.0)
        sim.silent = True
        pending = asyncio.create_task(modbus.read(1, 4, 0, 2))
        await asyncio.sleep(0.05)
        await sim.stop()  # drops the connection while the read waits
        with pytest.raises(BusTimeout, match="connection lost"):
            await pending
        with pytest.raises(BusConnectionError):
            await modbus.read(1, 4, 0, 2)
        sim.silent = False
        sim.set_currents(7.0, 7.0, 7.0)
        await sim.start(port=port)
        assert (await read_meter(modbus, 1, sim.model)).current == (7.0, 7.0, 7.0)
        assert modbus.stats.connects == 2
        assert modbus.stats.timeouts == 1
        assert modbus.stats.connection_errors == 1
    finally:
        await modbus.close()
        await sim.stop()


async def test_one_request_at_a_time(meter: SimulatedMeter, bus: ModbusBus) -> None:
    meter.primary.delay = 0.05
    first, second = await asyncio.gather(bus.read(1, 4, 0x0006, 2), bus.read(1, 4, 0x0008, 2))
    assert first == [0x4120, 0x0000]  # 10 A
    assert second == [0x4140, 0x0000]  # 12 A
    assert bus.stats.requests == 2
    assert bus.stats.connects == 1  # the second read waited for the first one's connection
    assert len(meter.primary.requests) == 2
    assert meter.primary.max_in_flight == 1


async def test_cancelled_read_releases_the_bus(meter: SimulatedMeter) -> None:
    modbus = ModbusBus(tcp(meter.port, timeout=5.0))
    try:
        await modbus.read(1, 4, 0, 2)
        meter.silent = True
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await modbus.read(1, 4, 0, 2)
        assert time.monotonic() - started < 2.0  # not the 5 s bus timeout
        meter.silent = False
        assert await modbus.read(1, 4, 0x0006, 2) == [0x4120, 0x0000]
    finally:
        await modbus.close()


async def test_closed_bus_refuses(bus: ModbusBus) -> None:
    await bus.read(1, 4, 0, 2)
    await bus.close()
    assert bus.closed
    assert not bus.connected
    with pytest.raises(BusConnectionError, match="closed"):
        await bus.read(1, 4, 0, 2)
    await bus.close()  # idempotent


async def test_serial_bus_that_cannot_open() -> None:
    modbus = ModbusBus(ConnectionConfig("rtu", serial_port="/dev/charge-zones-no-such-port"))
    with pytest.raises(BusConnectionError, match="charge-zones-no-such-port"):
        await modbus.read(1, 3, 0, 2)
    assert modbus.stats.connection_errors == 1
    await modbus.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1, 5, 0, 1), "function 5"),
        ((256, 3, 0, 1), "unit 256"),
        ((1, 3, 0, 0), "count 0"),
        ((1, 3, 0, 126), "count 126"),
        ((1, 3, 0xFFFF, 2), "address 65535"),
    ],
)
async def test_read_arguments_checked(args: tuple[int, int, int, int], message: str) -> None:
    modbus = ModbusBus(tcp(free_port()))
    with pytest.raises(ValueError, match=message):
        await modbus.read(*args)
    assert modbus.stats.requests == 0


class FakeClient:
    """Stands in for a pymodbus client to reach answers a real server never gives."""

    def __init__(self, outcome: ModbusPDU | BaseException | None, connected: bool = True) -> None:
        self.outcome = outcome
        self.connected = connected
        self.closed = False

    async def connect(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True

    async def read_input_registers(self, address: int, *, count: int, device_id: int) -> Any:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    read_holding_registers = read_input_registers


def _pdu(function: int, registers: list[int]) -> ModbusPDU:
    pdu = ModbusPDU(dev_id=1, registers=registers)
    pdu.function_code = function
    return pdu


@pytest.mark.parametrize(
    ("outcome", "connected", "error", "message"),
    [
        (None, True, BusDataError, "no response object"),
        (_pdu(3, [1, 2]), True, BusDataError, "answered function 3 to function 4"),
        (_pdu(4, [1]), True, BusDataError, "returned 1 registers instead of 2"),
        (_pdu(4, [1, 0x10000]), True, BusDataError, "outside 0..65535"),
        (
            ModbusIOException("ERROR: request uses device id=1 but received 2."),
            True,
            BusDataError,
            "unusable answer",
        ),
        (ModbusIOException("socket closed"), False, BusConnectionError, "connection to .* lost"),
        (ModbusIOException("Server not responding"), True, BusTimeout, "no answer from unit 1"),
        (ConnectionException("Not connected"), True, BusConnectionError, "not connected"),
    ],
)
async def test_odd_client_outcomes(
    monkeypatch: pytest.MonkeyPatch,
    outcome: ModbusPDU | BaseException | None,
    connected: bool,
    error: type[BusError],
    message: str,
) -> None:
    client = FakeClient(outcome, connected)
    monkeypatch.setattr(ModbusBus, "_new_client", lambda self: client)
    modbus = ModbusBus(tcp(free_port()))
    with pytest.raises(error, match=message):
        await modbus.read(1, 4, 0, 2)
    assert modbus.stats.errors == 1
    assert client.closed == (error is BusConnectionError)


async def test_reconnects_when_the_client_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    clients = [FakeClient(_pdu(3, [7])), FakeClient(_pdu(3, [8]))]
    monkeypatch.setattr(ModbusBus, "_new_client", lambda self: clients[self.stats.connects])
    modbus = ModbusBus(tcp(free_port()))
    assert await modbus.read(1, 3, 0, 1) == [7]
    clients[0].connected = False  # e.g. pymodbus closed it after repeated timeouts
    assert await modbus.read(1, 3, 0, 1) == [8]
    assert clients[0].closed
    assert modbus.stats.connects == 2


# --- reading rules ----------------------------------------------------------------------


async def test_non_finite_current_fails_the_reading(meter: SimulatedMeter, bus: ModbusBus) -> None:
    meter.primary.set_words(Q.CURRENT_L2, [0x7FC0, 0x0000])  # NaN
    with pytest.raises(BusDataError, match="current_l2"):
        await read_meter(bus, 1, MODELS["sdm630"])
    meter.set_currents(1.0, 2.0, 3.0)
    meter.primary.set_words(Q.FREQUENCY, [0x7F80, 0x0000])  # +inf
    reading = await read_meter(bus, 1, MODELS["sdm630"])
    assert reading.current == (1.0, 2.0, 3.0)
    assert reading.frequency is None


async def test_short_answer_from_a_custom_bus() -> None:
    class ShortBus:
        async def read(self, unit: int, function: int, address: int, count: int) -> list[int]:
            return [0] * (count - 1)

    with pytest.raises(BusDataError, match="expected 6 registers, got 5"):
        await read_meter(ShortBus(), 1, MODELS["sdm630"])


# --- the poller -------------------------------------------------------------------------


def test_next_tick_keeps_the_grid() -> None:
    assert next_tick(10.0, 10.3, 1.0) == 11.0
    assert next_tick(10.0, 11.0, 1.0) == 12.0  # exactly on a tick: the next one
    assert next_tick(10.0, 12.5, 1.0) == 13.0  # overran two ticks: skip them
    assert next_tick(0.0, 0.01, 0.05) == 0.05


async def _until(predicate: Callable[[], bool], within: float = 3.0) -> None:
    """Wait until the predicate holds (state changes in other tasks; no event to wait on)."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - polling another task's state on purpose
            await asyncio.sleep(0.01)


async def test_poller_reads_at_its_interval(meter: SimulatedMeter, bus: ModbusBus) -> None:
    updates: asyncio.Queue[MeterReading | None] = asyncio.Queue()
    poller = MeterPoller(
        bus, 1, MODELS["sdm630"], interval=0.05, on_update=lambda p: updates.put_nowait(p.last_good)
    )
    assert not poller.running
    poller.start()
    poller.start()  # no second task
    try:
        readings = [await asyncio.wait_for(updates.get(), 3) for _ in range(6)]
    finally:
        await poller.stop()
    assert not poller.running
    assert all(r is not None for r in readings)
    times = [r.at for r in readings if r is not None]
    assert times == sorted(times)
    assert times[-1] - times[1] >= 4 * 0.05 * 0.9  # never faster than the interval
    assert times[-1] - times[1] < 2.0
    assert poller.reads >= 6
    assert poller.failures == 0
    assert poller.consecutive_failures == 0
    assert poller.last_error is None
    assert poller.last_good is not None
    assert poller.last_good.current == (10.0, 12.0, 8.0)
    await poller.stop()  # stopping twice is fine


async def test_poller_keeps_last_good_while_silent_and_recovers(
    meter: SimulatedMeter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.charge_zones.meters")
    bus = ModbusBus(tcp(meter.port, timeout=0.1))
    poller = MeterPoller(bus, 1, MODELS["sdm630"], interval=0.05)
    poller.start()
    try:
        await _until(lambda: poller.last_good is not None)
        good = poller.last_good
        assert good is not None
        meter.silent = True
        await _until(lambda: poller.consecutive_failures >= 2)
        assert poller.last_good is good  # a missing reading is never 0 A
        assert "no answer" in (poller.last_error or "")
        assert bus.stats.timeouts >= 2
        failures = poller.failures
        assert failures >= 2
        meter.set_currents(1.0, 1.0, 1.0)
        meter.silent = False
        await _until(lambda: poller.consecutive_failures == 0)
        assert poller.last_good is not good
        assert poller.last_good is not None
        assert poller.last_good.current == (1.0, 1.0, 1.0)
        assert poller.last_good.at > good.at
        assert poller.last_error is None
        assert poller.failures >= failures
    finally:
        await poller.stop()
        await bus.close()
    meter_logs = [r for r in caplog.records if r.name.startswith("custom_components")]
    # Home Assistant's log-when-unavailable rule: INFO once when it goes, once when it is back
    # (the installer is told louder by the zone's fail-safe and the meter's repair).
    assert [r for r in meter_logs if r.levelno >= logging.WARNING] == []
    infos = [r.getMessage() for r in meter_logs if r.levelno == logging.INFO]
    assert len(infos) == 2, infos
    assert "cannot be read" in infos[0]
    assert "answers again" in infos[1]
    assert any(r.levelno == logging.DEBUG and "still cannot" in r.getMessage() for r in meter_logs)


async def test_poller_survives_bugs(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenBus:
        calls = 0

        async def read(self, unit: int, function: int, address: int, count: int) -> list[int]:
            self.calls += 1
            raise RuntimeError("boom")

    def bad_callback(poller: MeterPoller) -> None:
        raise KeyError("callback bug")

    broken = BrokenBus()
    poller = MeterPoller(broken, 1, MODELS["em24"], interval=0.02, on_update=bad_callback)
    poller.start()
    try:
        await _until(lambda: poller.failures >= 3)
        assert poller.running
    finally:
        await poller.stop()
    assert poller.last_good is None
    assert poller.last_error == "unexpected error: RuntimeError('boom')"
    assert "Unexpected error reading meter" in caplog.text
    assert "Error in update callback" in caplog.text


async def test_poller_keeps_its_cadence_when_reads_are_slow() -> None:
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    class SlowBus(TableBus):
        async def read(self, unit: int, function: int, address: int, count: int) -> list[int]:
            starts.append(loop.time())
            await asyncio.sleep(0.03)
            return await super().read(unit, function, address, count)

    model = custom_model(
        {
            "current_l1": {"function": 4, "address": 0, "data_type": "uint16"},
            "current_l2": {"function": 4, "address": 1, "data_type": "uint16"},
            "current_l3": {"function": 4, "address": 2, "data_type": "uint16"},
        }
    )
    poller = MeterPoller(SlowBus({}), 1, model, interval=0.05)
    poller.start()
    try:
        await _until(lambda: len(starts) >= 7)
    finally:
        await poller.stop()
    steps = [b - a for a, b in itertools.pairwise(starts)][:6]
    # reading takes 0.03 s of each 0.05 s slot: a drifting loop would step 0.08 s
    assert sum(steps) / len(steps) < 0.07
    assert min(steps) > 0.03


async def test_poller_poll_once_and_arguments(meter: SimulatedMeter, bus: ModbusBus) -> None:
    with pytest.raises(ValueError, match="interval"):
        MeterPoller(bus, 1, MODELS["sdm630"], interval=0)
    seen: list[int] = []
    poller = MeterPoller(
        bus, 1, MODELS["sdm630"], on_update=lambda p: seen.append(p.reads), name="main"
    )
    assert poller.name == "main"
    reading = await poller.poll_once()
    assert reading is not None
    assert reading is poller.last_good
    assert seen == [1]
    meter.exception_code = 2
    assert await poller.poll_once() is None
    assert poller.last_good is reading
    assert (poller.reads, poller.failures, poller.consecutive_failures) == (1, 1, 1)
    assert seen == [1, 1]


async def test_stop_while_reading_a_silent_meter(meter: SimulatedMeter) -> None:
    modbus = ModbusBus(tcp(meter.port, timeout=5.0))
    poller = MeterPoller(modbus, 1, MODELS["sdm630"], interval=0.05)
    try:
        meter.silent = True
        poller.start()
        await _until(lambda: len(meter.primary.requests) >= 1)
        started = time.monotonic()
        await poller.stop()
        assert time.monotonic() - started < 2.0
        assert not poller.running
        assert poller.failures == 0  # cancelled, not counted as a failure
    finally:
        await modbus.close()


# --- simulator --------------------------------------------------------------------------


async def test_simulator_units_and_checks() -> None:
    sim = SimulatedMeter("sdm630", unit=1)
    second = sim.add_unit("sdm120", 2)
    with pytest.raises(ValueError, match="already served"):
        sim.add_unit("em24", 2)
    with pytest.raises(ValueError, match="unknown model"):
        sim.add_unit("sdm999", 3)
    with pytest.raises(ValueError, match="single-phase"):
        second.set_currents(1.0, 2.0)
    with pytest.raises(ValueError, match="no register for current_l2"):
        second.set(Q.CURRENT_L2, 1.0)
    with pytest.raises(ValueError, match="takes 2 words"):
        second.set_words(Q.CURRENT_L1, [1])
    with pytest.raises(ValueError, match="framer"):
        SimulatedMeter("sdm630", framer="ascii")
    with pytest.raises(ValueError, match="unit 0"):
        SimulatedMeter("sdm630", unit=0)
    second.set_currents(9.5, voltage=240.0)
    sim.set(Q.FREQUENCY, 49.9)
    await sim.start()
    try:
        with pytest.raises(RuntimeError, match="before start"):
            sim.add_unit("em24", 4)
        with pytest.raises(RuntimeError, match="already started"):
            await sim.start()
        modbus = ModbusBus(tcp(sim.port, timeout=0.1))
        try:
            one = await read_meter(modbus, 1, MODELS["sdm630"])
            two = await read_meter(modbus, 2, MODELS["sdm120"])
            second.silent = True
            with pytest.raises(BusTimeout):
                await modbus.read(2, 4, 0, 2)
            assert (await read_meter(modbus, 1, MODELS["sdm630"])).frequency == pytest.approx(49.9)
            with pytest.raises(BusExceptionResponse):  # meters are read-only
                await _write(sim.port)
        finally:
            await modbus.close()
    finally:
        await sim.stop()
    assert one.frequency == pytest.approx(49.9)
    assert two.current == (9.5, None, None)
    assert two.power_total == two.power[0] == pytest.approx(9.5 * 240.0)
    assert sim.silent is False
    assert second.values[Q.CURRENT_L1] == 9.5


async def _write(port: int) -> None:
    from pymodbus.client import AsyncModbusTcpClient

    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=0.5, retries=0)
    await client.connect()
    try:
        response = await client.write_register(0, 1, device_id=1)
        if response.isError():
            raise BusExceptionResponse(response.exception_code, "write refused")
    finally:
        client.close()


def test_simulator_flags_delegate_to_the_first_unit() -> None:
    sim = SimulatedMeter("em24", unit=4)
    assert sim.unit == 4
    sim.silent = True
    sim.garbage = True
    sim.exception_code = 6
    assert (sim.primary.silent, sim.primary.garbage, sim.primary.exception_code) == (True, True, 6)
    assert (sim.silent, sim.garbage, sim.exception_code) == (True, True, 6)
    sim.set_currents(1.0, 2.0, 3.0)
    assert sim.primary.values[Q.POWER_TOTAL] == pytest.approx(6.0 * 230.0)


async def test_simulator_cli(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(
        ["--model", "em24", "--port", "0", "--unit", "2", "--currents", "10", "12", "8"]
    )
    args.duration = 10.0
    task = asyncio.create_task(serve(args))
    try:
        async with asyncio.timeout(3):
            while "Serving" not in (out := capsys.readouterr().out):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        port = int(out.split("127.0.0.1:")[1].split()[0])
        modbus = ModbusBus(tcp(port))
        try:
            reading = await read_meter(modbus, 2, MODELS["em24"])
        finally:
            await modbus.close()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert reading.current == (10.0, 12.0, 8.0)
    assert "Carlo Gavazzi EM24 Ethernet (E1) as unit 2" in out
    with pytest.raises(SystemExit):
        await serve(build_parser().parse_args(["--currents", "1", "2", "3", "4"]))


async def test_simulator_stores_what_the_meter_would(meter: SimulatedMeter) -> None:
    words = meter.primary.words[4]
    assert [words[0x0006], words[0x0007]] == [0x4120, 0x0000]  # 10.0 A float32
    assert [words[0x0000], words[0x0001]] == [0x4366, 0x0000]  # 230 V
    assert 0x0012 not in words  # nothing outside the model's registers
    assert meter.primary.spans() == {4: (0x0000, 0x004C)}


# --- impossible readings (issue #10, defect 4) ----------------------------------------


async def test_another_models_table_is_not_a_reading(meter: SimulatedMeter, bus: ModbusBus) -> None:
    """An EM24 table read against an SDM630: no -1,073,724 A, the read fails, saying why."""
    meter.set_currents(10.0, 12.0, 8.0)
    with pytest.raises(ImplausibleReading) as caught:
        await read_meter(bus, 1, MODELS["em24"], max_current=3 * 63.0)
    err = caught.value
    assert isinstance(err, BusDataError)
    # the float words of the SDM630's powers read as int32 low word first: -1073724.4 A
    assert "current_l1 = -1.07372e+06 A, a negative current" in str(err)
    assert "voltage_l1 = 1725.4 V, outside 80-300 V" in str(err)
    assert len(err.values) >= 4
    assert all(value in err.values for value in str(err).split(" answered ")[1].split("; "))


@pytest.mark.parametrize(
    ("words", "why"),
    [
        ([0xFFFF, 0xFFFF], "no value (the meter answered 0xffff 0xffff)"),
        ([0x7FFF, 0xFFFF], "no value (the meter answered 0x7fff 0xffff)"),
        ([0x8000, 0x0000], "no value (the meter answered 0x8000 0x0000)"),
    ],
)
async def test_no_value_marker_in_a_current_fails_the_read(words: list[int], why: str) -> None:
    """ABB answers 0xFFFFFFFF for "no value": never 42,949,672.95 A."""
    async with SimulatedMeter("abb_b23", unit=2) as sim:
        sim.set_currents(20.0, 20.0, 20.0)
        sim.primary.set_words(Q.CURRENT_L2, words)
        modbus = ModbusBus(tcp(sim.port))
        try:
            with pytest.raises(ImplausibleReading, match=f"current_l2: {re.escape(why)}"):
                await read_meter(modbus, 2, sim.model)
        finally:
            await modbus.close()


async def test_no_value_markers_in_optional_quantities_are_none() -> None:
    async with SimulatedMeter("abb_b23", unit=2) as sim:
        sim.set_currents(20.0, 21.0, 22.0)
        sim.set_energy(5_000.0, 1_000.0)
        sim.primary.set_no_value(Q.IMPORT_ENERGY)  # uint64 all ones
        sim.primary.set_words(Q.POWER_TOTAL, [0x7FFF, 0xFFFF])  # int32 largest value
        sim.primary.set_no_value(Q.FREQUENCY)  # uint16 0xFFFF
        sim.primary.set_no_value(Q.VOLTAGE_L3)  # a missing voltage is not a failure
        modbus = ModbusBus(tcp(sim.port))
        try:
            reading = await read_meter(modbus, 2, sim.model, max_current=100.0)
        finally:
            await modbus.close()
    assert reading.current == pytest.approx((20.0, 21.0, 22.0))
    assert reading.import_wh is None
    assert reading.export_wh == pytest.approx(1_000.0)
    assert reading.power_total is None
    assert reading.frequency is None
    assert reading.voltage == pytest.approx((230.0, 230.0, None))
    assert reading.unavailable == {
        "import_energy": "no value (the meter answered 0xffff 0xffff 0xffff 0xffff)",
        "power_total": "no value (the meter answered 0x7fff 0xffff)",
        "frequency": "no value (the meter answered 0xffff)",
        "voltage_l3": "no value (the meter answered 0xffff 0xffff)",
    }
    assert reading.implausible == ()
    assert group_status(sim.model, reading) == {
        "current": "ok",
        "voltage": "voltage_l3: no value (the meter answered 0xffff 0xffff)",
        "power": "power_total: no value (the meter answered 0x7fff 0xffff)",
        "energy": "import_energy: no value (the meter answered 0xffff 0xffff 0xffff 0xffff)",
        "frequency": "frequency: no value (the meter answered 0xffff)",
    }


@pytest.mark.parametrize(
    ("currents", "expected", "error"),
    [
        ((-0.4, 5.0, 0.0), (0.4, 5.0, 0.0), None),  # noise around 0: its magnitude
        ((-0.6, 5.0, 0.0), None, "current_l1 = -0.6 A, a negative current"),
        ((189.0, 5.0, 0.0), (189.0, 5.0, 0.0), None),  # 3 x 63 A is still a reading
        ((5.0, 190.0, 0.0), None, "current_l2 = 190 A, above 3 x the meter's amperage"),
        ((float("nan"), 5.0, 0.0), None, "current_l1: float32 value nan is not a finite"),
        ((5.0, 5.0, float("inf")), None, "current_l3: float32 value inf is not a finite"),
    ],
)
async def test_current_bounds(
    meter: SimulatedMeter,
    bus: ModbusBus,
    currents: tuple[float, float, float],
    expected: tuple[float, float, float] | None,
    error: str | None,
) -> None:
    for quantity, value in zip(CURRENTS, currents, strict=True):
        meter.primary.set_words(quantity, list(struct.unpack(">2H", struct.pack(">f", value))))
    if error is None:
        reading = await read_meter(bus, 1, MODELS["sdm630"], max_current=3 * 63.0)
        assert reading.current == pytest.approx(expected, abs=1e-6)
    else:
        with pytest.raises(ImplausibleReading, match=re.escape(error)):
            await read_meter(bus, 1, MODELS["sdm630"], max_current=3 * 63.0)


@pytest.mark.parametrize(
    ("voltage", "ok"), [(79.0, False), (80.0, True), (300.0, True), (301.0, False), (0.0, False)]
)
async def test_voltage_range(
    meter: SimulatedMeter, bus: ModbusBus, voltage: float, ok: bool
) -> None:
    meter.set(Q.VOLTAGE_L2, voltage)
    if ok:
        assert (await read_meter(bus, 1, MODELS["sdm630"])).voltage[1] == voltage
    else:
        with pytest.raises(
            ImplausibleReading, match=f"voltage_l2 = {voltage:g} V, outside 80-300 V"
        ):
            await read_meter(bus, 1, MODELS["sdm630"])


async def test_implausible_optional_values_are_left_out(
    meter: SimulatedMeter, bus: ModbusBus
) -> None:
    meter.set(Q.FREQUENCY, 500.0)
    meter.set(Q.IMPORT_ENERGY, -161_000_000_000.0)
    reading = await read_meter(bus, 1, MODELS["sdm630"])
    assert reading.current == (10.0, 12.0, 8.0)
    assert (reading.frequency, reading.import_wh) == (None, None)
    assert reading.export_wh == 2_000.0
    assert reading.implausible == (
        "import_energy = -1.61e+11 Wh, a negative energy counter",
        "frequency = 500 Hz, outside 40-70 Hz",
    )
    assert reading.unavailable["frequency"] == "implausible: frequency = 500 Hz, outside 40-70 Hz"


async def test_poller_counts_impossible_readings_as_failures(
    meter: SimulatedMeter, bus: ModbusBus
) -> None:
    """Garbage is a failed read: counted, shown, and the last good reading stays."""
    poller = MeterPoller(bus, 1, MODELS["sdm630"], amperage=40.0)
    assert poller.max_current == 120.0
    assert poller.block_status == {}
    good = await poller.poll_once()
    assert good is not None
    assert poller.block_status == dict.fromkeys(GROUPS, "ok")
    meter.set_currents(10.0, 121.0, 8.0)
    assert await poller.poll_once() is None
    assert poller.last_good is good
    assert (poller.failures, poller.consecutive_failures, poller.reads) == (1, 1, 1)
    assert poller.last_error == "unit 1 answered current_l2 = 121 A, above 3 x the meter's amperage"
    meter.primary.set_no_value(Q.CURRENT_L3)
    assert await poller.poll_once() is None
    assert poller.last_error is not None
    assert "current_l3: float32 value nan is not a finite number" in poller.last_error
    with pytest.raises(ValueError, match="amperage"):
        MeterPoller(bus, 1, MODELS["sdm630"], amperage=0.0)


# --- one optional register loses nothing else (defect 5) --------------------------------


async def test_missing_export_register_keeps_the_currents(caplog: pytest.LogCaptureFixture) -> None:
    """An EM24 without export counter answers exception 2 there: the rest is read."""
    async with SimulatedMeter("em24", unit=1) as sim:
        sim.set_currents(10.0, 12.0, 8.0)
        sim.set_energy(5_000.0, 1_000.0)
        sim.primary.missing = {Q.EXPORT_ENERGY}
        modbus = ModbusBus(tcp(sim.port))
        poller = MeterPoller(modbus, 1, sim.model, amperage=63.0, name="Main")
        try:
            with caplog.at_level(logging.WARNING):
                first = await poller.poll_once()
                requests = len(sim.primary.requests)
                second = await poller.poll_once()
        finally:
            await modbus.close()
    assert first is not None
    assert second is not None
    assert first.current == second.current == pytest.approx((10.0, 12.0, 8.0))
    assert first.import_wh == second.import_wh == pytest.approx(5_000.0)
    assert first.export_wh is second.export_wh is None
    assert first.frequency == pytest.approx(50.0)
    why = first.unavailable["export_energy"]
    assert why.startswith("not offered by the meter, not asked again: ")
    assert "exception 2 (illegal data address)" in why
    assert second.unavailable == first.unavailable
    assert poller.block_status["energy"] == f"export_energy: {why}"
    assert poller.block_status["current"] == "ok"
    assert (poller.failures, poller.reads) == (0, 2)
    # the refused register is not asked again: one request less the second time
    assert len(sim.primary.requests) - requests == len(read_plan(sim.model)) - 1
    assert (4, 0x004E, 2) not in sim.primary.requests[requests:]
    assert [r.message for r in caplog.records].count(
        f"Meter Main: no energy reading: export_energy: {why}"
    ) == 1


async def test_refused_block_of_several_quantities_is_read_piecewise(
    meter: SimulatedMeter, bus: ModbusBus
) -> None:
    """SDM630 import and export share a block: a meter without export keeps its import."""
    meter.primary.missing = {Q.EXPORT_ENERGY, Q.VOLTAGE_L2}
    reading, plan = await read_blocks(bus, 1, MODELS["sdm630"], read_plan(MODELS["sdm630"]))
    assert reading.current == (10.0, 12.0, 8.0)
    assert reading.voltage == (230.0, None, 230.0)
    assert reading.import_wh == 1_500_000.0
    assert reading.export_wh is None
    refused = [(b.address, b.count) for b in plan if b.refused]
    assert refused == [(0x0002, 2), (0x004A, 2)]
    assert [(b.address, b.count) for b in plan if not b.refused] == [
        (0x0006, 6),
        (0x0000, 2),
        (0x0004, 2),
        (0x000C, 6),
        (0x0034, 2),
        (0x0048, 2),
        (0x0046, 2),
    ]
    again, plan_again = await read_blocks(bus, 1, MODELS["sdm630"], plan)
    assert plan_again == plan
    assert again.unavailable == reading.unavailable


@pytest.mark.parametrize("fault", ["busy", "silent"])
async def test_other_failures_of_an_optional_block_keep_it(
    meter: SimulatedMeter, fault: str
) -> None:
    """A busy answer or a timeout on an optional block: None for now, asked again next time."""

    class FlakyBus:
        def __init__(self, inner: ModbusBus) -> None:
            self.inner = inner

        async def read(self, unit: int, function: int, address: int, count: int) -> list[int]:
            if address == 0x0046:
                if fault == "busy":
                    raise BusExceptionResponse(
                        6, "unit 1 answered exception 6 (server device busy)"
                    )
                raise BusTimeout("no answer from unit 1")
            return await self.inner.read(unit, function, address, count)

    modbus = ModbusBus(tcp(meter.port))
    try:
        plan = read_plan(MODELS["sdm630"])
        reading, next_plan = await read_blocks(FlakyBus(modbus), 1, MODELS["sdm630"], plan)
    finally:
        await modbus.close()
    assert next_plan == plan
    assert reading.frequency is None
    assert reading.current == (10.0, 12.0, 8.0)
    assert reading.unavailable == {
        "frequency": "unit 1 answered exception 6 (server device busy)"
        if fault == "busy"
        else "no answer from unit 1"
    }


async def test_currents_refused_fail_the_read(meter: SimulatedMeter, bus: ModbusBus) -> None:
    meter.primary.missing = {Q.CURRENT_L3}
    with pytest.raises(BusExceptionResponse, match="exception 2"):
        await read_meter(bus, 1, MODELS["sdm630"])


@pytest.mark.parametrize("answer", ["missing", "zeros"])
async def test_sdm72dm_v1_does_not_pass_as_v2(answer: str) -> None:
    """The v1 has no per-phase values: it refuses them, or answers 0 (0 V is no supply)."""
    async with SimulatedMeter("sdm72dm_v2", unit=1) as sim:
        per_phase = {*CURRENTS, *VOLTAGES, *POWERS}
        if answer == "missing":
            sim.primary.missing = per_phase
        else:
            for quantity in per_phase:
                sim.primary.set_words(quantity, [0, 0])
        modbus = ModbusBus(tcp(sim.port))
        try:
            with pytest.raises(BusError) as caught:
                await read_meter(modbus, 1, sim.model, max_current=300.0)
        finally:
            await modbus.close()
    if answer == "missing":
        assert isinstance(caught.value, BusExceptionResponse)
        assert caught.value.code == 2
    else:
        assert isinstance(caught.value, ImplausibleReading)
        assert [v.split(",")[0] for v in caught.value.values] == [
            "voltage_l1 = 0 V",
            "voltage_l2 = 0 V",
            "voltage_l3 = 0 V",
        ]


# --- register maps (defect 6): DTSU666 current-transformer ratio -------------------------


async def test_dtsu666_currents_are_multiplied_by_the_ct_ratio() -> None:
    """A DTSU666 behind 200/5 A transformers measures 2.5 A for 100 A: the breaker sees 100 A."""
    async with SimulatedMeter("dtsu666", unit=1) as sim:
        sim.primary.set_ct_ratio(40)
        sim.set_currents(100.0, 80.0, 60.0)
        sim.set_energy(2_000_000.0, 0.0)
        stored = sim.primary.words[3]
        register = sim.model.registers[Q.CURRENT_L1]
        assert decode(register, [stored[0x200C], stored[0x200D]]) == pytest.approx(2.5)
        assert stored[0x0006] == 40
        modbus = ModbusBus(tcp(sim.port))
        try:
            reading = await read_meter(modbus, 1, sim.model, max_current=3 * 125.0)
            assert (3, 0x0006, 1) in sim.primary.requests
            sim.primary.set_ct_ratio(0)
            with pytest.raises(ImplausibleReading, match="CT ratio = 0, not between 1 and 10000"):
                await read_meter(modbus, 1, sim.model)
            sim.primary.set_ct_ratio(-1)  # 0xFFFF
            with pytest.raises(ImplausibleReading, match="CT ratio: no value"):
                await read_meter(modbus, 1, sim.model)
            sim.primary.missing = {Q.CURRENT_L1}
            with pytest.raises(BusExceptionResponse):
                await read_meter(modbus, 1, sim.model)
        finally:
            await modbus.close()
    assert reading.current == pytest.approx((100.0, 80.0, 60.0))
    assert reading.power[0] == pytest.approx(100.0 * 230.0)
    assert reading.power_total == pytest.approx(240.0 * 230.0)
    assert reading.voltage == pytest.approx((230.0, 230.0, 230.0))
    assert reading.import_wh == pytest.approx(2_000_000.0)


def test_simulator_ct_ratio_and_markers() -> None:
    sim = SimulatedMeter("sdm630")
    with pytest.raises(ValueError, match="no current-transformer ratio"):
        sim.primary.set_ct_ratio(10)
    sim.primary.set_no_value(Q.FREQUENCY)
    assert sim.primary.words[4][0x0046] == sim.primary.words[4][0x0047] == 0xFFFF
    assert Q.FREQUENCY not in sim.primary.values
    dtsu = SimulatedMeter("dtsu666")
    assert dtsu.primary.spans()[3] == (0x0006, 0x2046)
    assert dtsu.primary.ct_ratio == 1


@pytest.mark.parametrize("model", ["em340", "em24", "sdm630"])
async def test_a_grid_meter_exporting_is_read(model: str) -> None:
    """Export at the grid connection: meters that sign their currents (EM340, EM24) say
    it with a negative current and power, the others with a negative power only. Both
    read: the current's magnitude, the power's sign (not an implausible reading)."""
    sim = SimulatedMeter(model, unit=1)
    sim.primary.set_flows(-12.0, 3.0, -20.0)
    await sim.start()
    modbus = ModbusBus(tcp(sim.port))
    try:
        reading = await read_meter(modbus, 1, MODELS[model])
    finally:
        await modbus.close()
        await sim.stop()
    assert reading.current == pytest.approx((12.0, 3.0, 20.0), abs=0.01)
    signs = [None if p is None else p > 0 for p in reading.power]
    assert signs == [False, True, False]
    assert reading.implausible == ()
