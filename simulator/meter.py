"""Simulated Modbus DLM meters, served over TCP by pymodbus' own server.

One `SimulatedMeter` is one TCP endpoint (a meter with a Modbus TCP interface, or a
TCP gateway in front of an RS485 bus) serving one or more units, each a meter model.
Values are stored exactly as the real meter stores them (register, data type, word
order, scale) through `registers.encode`, the inverse of what the integration decodes.

Failure modes per unit: ``silent`` (requests get no answer: the client times out),
``exception_code`` (every request gets that Modbus exception), ``garbage`` (answers
carry one register too few), ``delay`` (seconds before answering) and ``missing`` (the
quantities the meter does not offer: a read touching one of their registers gets
exception 2, illegal data address, as from a meter variant without, say, an export
counter). `SimulatedUnit.set_no_value` stores a "no value" marker and `set_words` any
raw words (a NaN, another model's layout). A meter model with a current-transformer
ratio register (Chint DTSU666) stores secondary-side currents and powers: see
`SimulatedUnit.set_ct_ratio`. A request for a unit the endpoint does not serve gets
exception 0x0B, as from a TCP gateway.

CLI: ``python -m simulator.meter --model sdm630 --port 5020 --unit 1 --currents 10 12 8``
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
import sys

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType, SimData, SimDevice

from custom_components.charge_zones.meters.registers import (
    CURRENTS,
    FUNCTION_HOLDING,
    FUNCTION_INPUT,
    FUNCTIONS,
    MODELS,
    POWERS,
    VOLTAGES,
    MeterModel,
    Quantity,
    Register,
    encode,
)

# quantities a current-transformer ratio applies to (the meter stores them secondary-side)
_SCALED_BY_CT = frozenset((*CURRENTS, *POWERS, Quantity.POWER_TOTAL))


# Whether a model's phase-current registers carry the direction of the flow, as the real
# meter reports it at a grid connection point (import positive, export negative). Every
# model signs its phase and total powers; where the current is not signed the meter gives
# the current's magnitude and the direction is only in the power (`SimulatedUnit.set_flows`).
SIGNED_CURRENTS: dict[str, bool] = {
    # Eastron SDM630 / SDM72D-M v2 / SDM120: float32 currents, always positive; evcc takes
    # their sign from the phase powers (evcc-io/evcc#5131, table "SDM630: currents correct:
    # -"; its grid templates, e.g. templates/definition/meter/eastron-sdm72v2_630.yaml, read
    # `powers` for that, evcc's "sign detection of unsigned currents").
    "sdm630": False,
    "sdm72dm_v2": False,
    "sdm120": False,
    # ABB B23/B24: currents are UINT32 and powers INT32 in the vendor's register table
    # (B-series manual; volkszaehler/mbmd meters/rs485/abb.go reads snip32u / snip32i,
    # victronenergy/dbus-modbus-client abb.py Reg_u32b / Reg_s32b).
    "abb_b23": False,
    # Carlo Gavazzi EM24 / EM340: currents and powers INT32; with the bidirectional
    # measuring system both carry the sign: Victron's grid driver had them "always
    # positive" until it set the measurement type (victronenergy/venus#174, "et340 power
    # and current measurements are not signed", fixed in dbus-cgwacs 1.8.3), and its
    # dbus-modbus-client carlo_gavazzi.py reads the currents as signed (Reg_s32l).
    "em24": True,
    "em24_rs485": True,
    "em340": True,
    # Schneider iEM3x5x and Chint DTSU666: float32; no source found that they sign the
    # phase currents (the DTSU666 manual lists them as plain "current", mbmd's dtsu666.go
    # reads them as such): served as magnitudes, the direction in the powers.
    "iem3x5x": False,
    "dtsu666": False,
}


def signed_currents(model: MeterModel | str) -> bool:
    """Whether the model's phase currents are negative on export (see `SIGNED_CURRENTS`)."""
    key = model if isinstance(model, str) else model.key
    return SIGNED_CURRENTS.get(key, False)


def _bits_block() -> list[SimData]:
    return [SimData(0, values=False, datatype=SimType.BITS)]


class SimulatedUnit:
    """One meter (one unit id) behind a simulated endpoint."""

    def __init__(self, model: MeterModel, unit: int) -> None:
        if not 1 <= unit <= 247:
            raise ValueError(f"unit {unit} is outside 1..247")
        self.model = model
        self.unit = unit
        self.values: dict[Quantity, float] = {}
        self.words: dict[int, dict[int, int]] = {function: {} for function in FUNCTIONS}
        self.silent = False
        self.garbage = False
        self.exception_code: int | None = None
        self.delay = 0.0
        # quantities whose registers answer exception 2 (illegal data address)
        self.missing: set[Quantity] = set()
        self.ct_ratio = 1
        # what the server saw: (function, address, count) of every read that reached it
        self.requests: list[tuple[int, int, int]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        if model.ct_ratio is not None:
            self.set_ct_ratio(1)
        self.set_currents(0.0, 0.0, 0.0)
        self.set_energy(0.0, 0.0)
        if Quantity.FREQUENCY in model.registers:
            self.set(Quantity.FREQUENCY, 50.0)

    def set(self, quantity: Quantity | str, value: float) -> None:
        """Store ``value`` (base units) in the quantity's register, encoded as the meter does."""
        quantity = Quantity(quantity)
        register = self.model.registers.get(quantity)
        if register is None:
            raise ValueError(f"{self.model.label} has no register for {quantity}")
        stored = value / self.ct_ratio if quantity in _SCALED_BY_CT else value
        self.set_words(quantity, encode(register, stored))
        self.values[quantity] = value

    def set_ct_ratio(self, ratio: int) -> None:
        """The meter's current-transformer ratio (its IrAt setting; 1 = no transformer).

        Currents and powers set afterwards are stored secondary-side (value / ratio), as
        the meter measures them; only models with a ratio register have one.
        """
        register = self.model.ct_ratio
        if register is None:
            raise ValueError(f"{self.model.label} has no current-transformer ratio")
        self._store(register, encode(register, ratio))
        self.ct_ratio = ratio

    def set_no_value(self, quantity: Quantity | str) -> None:
        """Store the meter's "no value" marker (all ones: 0xFFFF..., a NaN for float32)."""
        quantity = Quantity(quantity)
        self.set_words(quantity, [0xFFFF] * self.model.registers[quantity].words)

    def set_words(self, quantity: Quantity | str, words: Sequence[int]) -> None:
        """Store raw words in the quantity's register (e.g. a float32 NaN)."""
        quantity = Quantity(quantity)
        register = self.model.registers[quantity]
        if len(words) != register.words:
            raise ValueError(f"{quantity} takes {register.words} words, not {len(words)}")
        self._store(register, words)
        self.values.pop(quantity, None)

    def _store(self, register: Register, words: Sequence[int]) -> None:
        table = self.words[register.function]
        for offset, word in enumerate(words):
            table[register.address + offset] = word

    def set_currents(
        self, l1: float, l2: float = 0.0, l3: float = 0.0, voltage: float = 230.0
    ) -> None:
        """Phase currents at ``voltage`` and unity power factor; updates power and total."""
        currents = (l1, l2, l3)
        if self.model.phases == 1 and (l2 or l3):
            raise ValueError(f"{self.model.label} is a single-phase meter")
        total = 0.0
        for phase in range(self.model.phases):
            power = currents[phase] * voltage
            total += power
            self.set(CURRENTS[phase], currents[phase])
            self._set_if_present(VOLTAGES[phase], voltage)
            self._set_if_present(POWERS[phase], power)
        self._set_if_present(Quantity.POWER_TOTAL, total)

    def set_flows(
        self,
        l1: float,
        l2: float = 0.0,
        l3: float = 0.0,
        *,
        voltage: float = 230.0,
        signed: bool | None = None,
    ) -> None:
        """Signed phase currents at a connection point (A; import > 0, export < 0).

        Powers (per phase and total) get the sign; the currents get it only where the
        meter signs them (``signed``; by default as the model does, `signed_currents`),
        else their magnitude, as the real meter reports them. Unity power factor.
        """
        if signed is None:
            signed = signed_currents(self.model)
        currents = (l1, l2, l3)
        if self.model.phases == 1 and (l2 or l3):
            raise ValueError(f"{self.model.label} is a single-phase meter")
        total = 0.0
        for phase in range(self.model.phases):
            power = currents[phase] * voltage
            total += power
            self.set(CURRENTS[phase], currents[phase] if signed else abs(currents[phase]))
            self._set_if_present(VOLTAGES[phase], voltage)
            self._set_if_present(POWERS[phase], power)
        self._set_if_present(Quantity.POWER_TOTAL, total)

    def set_energy(self, import_wh: float, export_wh: float | None = None) -> None:
        """Energy counters in Wh."""
        self._set_if_present(Quantity.IMPORT_ENERGY, import_wh)
        if export_wh is not None:
            self._set_if_present(Quantity.EXPORT_ENERGY, export_wh)

    def _set_if_present(self, quantity: Quantity, value: float) -> None:
        if quantity in self.model.registers:
            self.set(quantity, value)

    def spans(self) -> dict[int, tuple[int, int]]:
        """Per function, the address range [first, end) the meter answers."""
        result: dict[int, tuple[int, int]] = {}
        registers = [*self.model.registers.values()]
        if self.model.ct_ratio is not None:
            registers.append(self.model.ct_ratio)
        for register in registers:
            first, end = result.get(register.function, (register.address, register.address))
            result[register.function] = (
                min(first, register.address),
                max(end, register.address + register.words),
            )
        return result

    def device(self) -> SimDevice:
        """The pymodbus device serving this unit (holding and input registers apart)."""
        spans = self.spans()

        def block(function: int) -> list[SimData]:
            first, end = spans.get(function, (0, 1))
            return [SimData(first, count=end - first, values=0, datatype=SimType.REGISTERS)]

        return SimDevice(
            id=self.unit,
            simdata=(
                _bits_block(),
                _bits_block(),
                block(FUNCTION_HOLDING),
                block(FUNCTION_INPUT),
            ),
            action=self._action,
        )

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """Called by the pymodbus server for every access: fill in the current values."""
        if set_values is not None:
            return ExcCodes.ILLEGAL_FUNCTION  # a meter's measurements are read-only
        self.requests.append((function_code, address, count))
        if self._touches_missing(function_code, address, count):
            return ExcCodes.ILLEGAL_ADDRESS
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        table = self.words.get(function_code, {})
        for index in range(count):
            registers[address - start_address + index] = table.get(address + index, 0)
        return None

    def _touches_missing(self, function: int, address: int, count: int) -> bool:
        for quantity in self.missing:
            register = self.model.registers[quantity]
            if register.function == function and (
                address < register.address + register.words and register.address < address + count
            ):
                return True
        return False


class SimulatedMeter:
    """A Modbus TCP endpoint on 127.0.0.1 serving simulated meters.

    ``SimulatedMeter("sdm630", unit=1)`` serves one meter; `add_unit` adds more before
    `start`. The setters and failure flags on this object act on the first unit.
    """

    def __init__(self, model: str | MeterModel, unit: int = 1, *, framer: str = "socket") -> None:
        if framer not in ("socket", "rtu"):
            raise ValueError("framer must be 'socket' (Modbus TCP) or 'rtu' (RTU over TCP)")
        self.framer = framer
        self.units: dict[int, SimulatedUnit] = {}
        self.primary = self.add_unit(model, unit)
        self.host = "127.0.0.1"
        self.port = 0
        self._server: ModbusTcpServer | None = None

    def add_unit(self, model: str | MeterModel, unit: int) -> SimulatedUnit:
        """Serve one more meter at ``unit`` (before `start`)."""
        if self._server_running():
            raise RuntimeError("add units before start()")
        if unit in self.units:
            raise ValueError(f"unit {unit} is already served")
        if isinstance(model, str):
            if model not in MODELS:
                raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")
            model = MODELS[model]
        simulated = SimulatedUnit(model, unit)
        self.units[unit] = simulated
        return simulated

    def _server_running(self) -> bool:
        return getattr(self, "_server", None) is not None

    # --- the first unit, for the common one-meter case ----------------------------

    @property
    def model(self) -> MeterModel:
        """Model of the first unit."""
        return self.primary.model

    @property
    def unit(self) -> int:
        """Unit id of the first unit."""
        return self.primary.unit

    def set(self, quantity: Quantity | str, value: float) -> None:
        """See `SimulatedUnit.set`."""
        self.primary.set(quantity, value)

    def set_currents(
        self, l1: float, l2: float = 0.0, l3: float = 0.0, voltage: float = 230.0
    ) -> None:
        """See `SimulatedUnit.set_currents`."""
        self.primary.set_currents(l1, l2, l3, voltage)

    def set_energy(self, import_wh: float, export_wh: float | None = None) -> None:
        """See `SimulatedUnit.set_energy`."""
        self.primary.set_energy(import_wh, export_wh)

    @property
    def silent(self) -> bool:
        """When True the first unit's requests get no answer."""
        return self.primary.silent

    @silent.setter
    def silent(self, value: bool) -> None:
        self.primary.silent = value

    @property
    def garbage(self) -> bool:
        """When True the first unit answers one register too few."""
        return self.primary.garbage

    @garbage.setter
    def garbage(self, value: bool) -> None:
        self.primary.garbage = value

    @property
    def exception_code(self) -> int | None:
        """When set, the first unit answers every request with this exception."""
        return self.primary.exception_code

    @exception_code.setter
    def exception_code(self, value: int | None) -> None:
        self.primary.exception_code = value

    # --- server ---------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host:port`` (0: any free port); returns the bound port."""
        if self._server is not None:
            raise RuntimeError("already started")
        devices = [unit.device() for unit in self.units.values()]
        # id 0 catches every other unit id; its answers become exception 0x0B below
        devices.append(
            SimDevice(
                id=0,
                simdata=(
                    _bits_block(),
                    _bits_block(),
                    [SimData(0, values=0, datatype=SimType.REGISTERS)],
                    [SimData(0, values=0, datatype=SimType.REGISTERS)],
                ),
            )
        )
        server = ModbusTcpServer(
            devices,
            framer=FramerType.RTU if self.framer == "rtu" else FramerType.SOCKET,
            address=(host, port),
            trace_packet=self._trace_packet,
            trace_pdu=self._trace_pdu,
        )
        await server.serve_forever(background=True)
        self._server = server
        sockets = getattr(server.transport, "sockets", None) or ()
        self.host = host
        self.port = int(sockets[0].getsockname()[1]) if sockets else port
        return self.port

    async def stop(self) -> None:
        """Stop listening and drop every client connection."""
        server, self._server = self._server, None
        if server is not None:
            await server.shutdown()  # type: ignore[no-untyped-call]
            await asyncio.sleep(0)

    async def __aenter__(self) -> SimulatedMeter:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        """Swallow answers of silent units (the client then times out)."""
        if sending and data:
            unit_id = data[0] if self.framer == "rtu" else data[6] if len(data) > 6 else -1
            unit = self.units.get(unit_id)
            if unit is not None and unit.silent:
                return b""
        return data

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        """Turn answers into exceptions or garbage where asked to."""
        if not sending:
            return pdu
        unit = self.units.get(pdu.dev_id)
        function = pdu.function_code & 0x7F
        code = ExcCodes.GATEWAY_NO_RESPONSE if unit is None else unit.exception_code
        if code:
            return ExceptionResponse(
                function, int(code), device_id=pdu.dev_id, transaction=pdu.transaction_id
            )
        if unit is not None and unit.garbage and not pdu.isError():
            return type(pdu)(
                dev_id=pdu.dev_id,
                transaction_id=pdu.transaction_id,
                registers=pdu.registers[:-1],
            )
        return pdu


# --- command line ---------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m simulator.meter``."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator.meter", description="Serve a simulated Modbus meter over TCP."
    )
    parser.add_argument("--model", default="sdm630", choices=sorted(MODELS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5020, help="0 = any free port")
    parser.add_argument("--unit", type=int, default=1)
    parser.add_argument(
        "--currents", type=float, nargs="+", default=[0.0], metavar="A", help="L1 [L2 L3]"
    )
    parser.add_argument("--voltage", type=float, default=230.0)
    parser.add_argument("--energy", type=float, default=0.0, help="import counter in Wh")
    parser.add_argument(
        "--framer", choices=("socket", "rtu"), default="socket", help="rtu = RTU over TCP"
    )
    parser.add_argument(
        "--duration", type=float, default=0.0, help="stop after this many seconds (0 = never)"
    )
    return parser


async def serve(args: argparse.Namespace) -> None:
    """Run the simulator described by parsed CLI arguments."""
    if len(args.currents) > 3:
        raise SystemExit("--currents takes at most 3 values")
    l1, l2, l3 = [*args.currents, 0.0, 0.0][:3]
    meter = SimulatedMeter(args.model, args.unit, framer=args.framer)
    meter.set_currents(l1, l2, l3, voltage=args.voltage)
    meter.set_energy(args.energy)
    port = await meter.start(args.host, args.port)
    print(
        f"Serving {meter.model.label} as unit {meter.unit} on {args.host}:{port} "
        f"({'RTU over TCP' if args.framer == 'rtu' else 'Modbus TCP'}); Ctrl-C to stop",
        flush=True,
    )
    try:
        if args.duration > 0:
            await asyncio.sleep(args.duration)
        else:
            await asyncio.Event().wait()
    finally:
        await meter.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulator.meter``."""
    args = build_parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
