"""One Modbus bus (TCP, RTU over TCP, or RTU on a serial port) shared by its meters.

pymodbus' async clients are asyncio-native, so nothing here blocks the event loop. The
bus connects on first use, reconnects after a failure, and lets one request at a time
onto the wire. Every failure becomes a `BusError` subclass with a plain message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final, Literal

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ExceptionResponse, ModbusPDU

from .registers import FUNCTION_HOLDING, FUNCTIONS

type BusKind = Literal["tcp", "rtu", "rtu_over_tcp"]
KINDS: Final = ("tcp", "rtu", "rtu_over_tcp")
PARITIES: Final = ("N", "E", "O")
#: Most registers one read may ask for (Modbus limit).
MAX_READ: Final = 125

EXCEPTION_NAMES: Final[dict[int, str]] = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}


class BusError(Exception):
    """A read on the bus failed."""


class BusTimeout(BusError):
    """The device did not answer in time."""


class BusExceptionResponse(BusError):
    """The device answered with a Modbus exception."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class BusConnectionError(BusError):
    """The bus cannot be opened (host unreachable, port refused, serial port gone)."""


class BusDataError(BusError):
    """The answer makes no sense (wrong register count, wrong function, bad value)."""


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    """How to reach a bus.

    ``tcp``: Modbus TCP to ``host:port``. ``rtu_over_tcp``: RTU frames through a
    transparent TCP gateway at ``host:port``. ``rtu``: RS485 on ``serial_port``
    (needs pyserial).
    """

    kind: BusKind = "tcp"
    host: str = ""
    port: int = 502
    serial_port: str = ""
    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8
    timeout: float = 1.0  # seconds per attempt
    retries: int = 1  # extra attempts after a timeout

    def __post_init__(self) -> None:
        """Reject settings no bus can use."""
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind == "rtu":
            if not self.serial_port:
                raise ValueError("an RTU bus needs a serial port")
            if self.parity not in PARITIES:
                raise ValueError(f"parity {self.parity!r} is not one of N, E, O")
            if self.stopbits not in (1, 2):
                raise ValueError(f"stopbits {self.stopbits!r} is not 1 or 2")
            if self.bytesize not in (7, 8):
                raise ValueError(f"bytesize {self.bytesize!r} is not 7 or 8")
            if self.baudrate <= 0:
                raise ValueError(f"baudrate {self.baudrate!r} is not positive")
        else:
            if not self.host:
                raise ValueError("a TCP bus needs a host")
            if not 1 <= self.port <= 65535:
                raise ValueError(f"port {self.port!r} is outside 1..65535")
        if not self.timeout > 0:
            raise ValueError(f"timeout {self.timeout!r} must be positive")
        if self.retries < 0:
            raise ValueError(f"retries {self.retries!r} must not be negative")

    @property
    def label(self) -> str:
        """Where the bus is, for logs and messages."""
        if self.kind == "rtu":
            return (
                f"{self.serial_port} ({self.baudrate} {self.bytesize}{self.parity}{self.stopbits})"
            )
        prefix = "rtu-over-tcp" if self.kind == "rtu_over_tcp" else "tcp"
        return f"{prefix}://{self.host}:{self.port}"


@dataclass(slots=True)
class BusStats:
    """Counters of one bus since it was created."""

    requests: int = 0
    errors: int = 0
    timeouts: int = 0
    exceptions: int = 0
    connection_errors: int = 0
    data_errors: int = 0
    connects: int = 0
    last_error: str | None = None


type _Client = AsyncModbusTcpClient | AsyncModbusSerialClient


class ModbusBus:
    """A Modbus bus; `read` is safe to call from many tasks (one request at a time)."""

    def __init__(self, config: ConnectionConfig) -> None:
        self.config = config
        self.stats = BusStats()
        self._lock = asyncio.Lock()
        self._client: _Client | None = None
        self._closed = False

    @property
    def connected(self) -> bool:
        """Whether the bus is open right now."""
        return self._client is not None and self._client.connected

    @property
    def closed(self) -> bool:
        """Whether `close` was called (a closed bus refuses reads)."""
        return self._closed

    async def read(self, unit: int, function: int, address: int, count: int) -> list[int]:
        """Read ``count`` registers (function 3 holding, 4 input) of device ``unit``."""
        if function not in FUNCTIONS:
            raise ValueError(f"function {function!r} is not 3 or 4")
        if not 0 <= unit <= 255:
            raise ValueError(f"unit {unit!r} is outside 0..255")
        if not 1 <= count <= MAX_READ:
            raise ValueError(f"count {count!r} is outside 1..{MAX_READ}")
        if not 0 <= address <= 0x10000 - count:
            raise ValueError(f"address {address!r} + count {count} is outside 0..65535")
        async with self._lock:
            self.stats.requests += 1
            try:
                return await self._read(unit, function, address, count)
            except BusError as err:
                self._count(err)
                raise

    async def close(self) -> None:
        """Close the connection for good; later reads raise BusConnectionError."""
        self._closed = True
        self._drop_client()

    # --- internals -----------------------------------------------------------------

    async def _read(self, unit: int, function: int, address: int, count: int) -> list[int]:
        client = await self._connect()
        where = f"unit {unit} at {self.config.label}"
        try:
            if function == FUNCTION_HOLDING:
                response = await client.read_holding_registers(address, count=count, device_id=unit)
            else:
                response = await client.read_input_registers(address, count=count, device_id=unit)
        except ModbusIOException as err:
            # pymodbus turns a cancellation of the waiting task into ModbusIOException;
            # give the canceller its CancelledError back.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from err
            lost = not client.connected
            if lost:
                self._drop_client()
            message = str(err)
            if "device id" in message or "transaction id" in message:
                raise BusDataError(f"unusable answer from {where}: {err}") from err
            if lost and "No response" not in message:
                raise BusConnectionError(f"connection to {self.config.label} lost") from err
            # pymodbus reports an unanswered request (after its retries) this way
            note = " (connection lost)" if lost else ""
            raise BusTimeout(f"no answer from {where}{note}") from err
        except ConnectionException as err:
            self._drop_client()
            raise BusConnectionError(f"not connected to {self.config.label}: {err}") from err
        return _registers(response, function, address, count, where)

    async def _connect(self) -> _Client:
        if self._closed:
            raise BusConnectionError(f"bus {self.config.label} is closed")
        if self._client is not None:
            if self._client.connected:
                return self._client
            self._drop_client()
        try:
            client = self._new_client()
            connected = await client.connect()
        except (OSError, RuntimeError, ValueError, TypeError) as err:
            raise BusConnectionError(f"cannot open {self.config.label}: {err}") from err
        if not connected:
            client.close()
            raise BusConnectionError(f"cannot connect to {self.config.label}")
        self._client = client
        self.stats.connects += 1
        return client

    def _new_client(self) -> _Client:
        config = self.config
        name = f"charge_zones {config.label}"
        # reconnect_delay=0: reconnection is ours (on the next read), no pymodbus task
        if config.kind == "rtu":
            return AsyncModbusSerialClient(
                config.serial_port,
                framer=FramerType.RTU,
                baudrate=config.baudrate,
                bytesize=config.bytesize,
                parity=config.parity,
                stopbits=config.stopbits,
                name=name,
                reconnect_delay=0.0,
                reconnect_delay_max=0.0,
                timeout=config.timeout,
                retries=config.retries,
            )
        return AsyncModbusTcpClient(
            config.host,
            port=config.port,
            framer=FramerType.RTU if config.kind == "rtu_over_tcp" else FramerType.SOCKET,
            name=name,
            reconnect_delay=0.0,
            reconnect_delay_max=0.0,
            timeout=config.timeout,
            retries=config.retries,
        )

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _count(self, err: BusError) -> None:
        stats = self.stats
        stats.errors += 1
        stats.last_error = str(err)
        if isinstance(err, BusTimeout):
            stats.timeouts += 1
        elif isinstance(err, BusExceptionResponse):
            stats.exceptions += 1
        elif isinstance(err, BusConnectionError):
            stats.connection_errors += 1
        else:
            stats.data_errors += 1


def _registers(
    response: ModbusPDU | None, function: int, address: int, count: int, where: str
) -> list[int]:
    if response is None:
        raise BusDataError(f"no response object for a read of {where}")
    if isinstance(response, ExceptionResponse) or response.isError():
        code = int(response.exception_code)
        name = EXCEPTION_NAMES.get(code, "unknown exception")
        raise BusExceptionResponse(
            code,
            f"{where} answered exception {code} ({name}) to function {function} "
            f"at {address:#06x} x{count}",
        )
    if response.function_code != function:
        raise BusDataError(
            f"{where} answered function {response.function_code} to function {function}"
        )
    registers = list(response.registers)
    if len(registers) != count:
        raise BusDataError(f"{where} returned {len(registers)} registers instead of {count}")
    if any(not 0 <= word <= 0xFFFF for word in registers):
        raise BusDataError(f"{where} returned a register outside 0..65535")
    return registers
