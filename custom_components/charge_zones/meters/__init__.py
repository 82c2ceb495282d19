"""Modbus side of dynamic load management: buses, meter models, timestamped readings.

Nothing in this package imports Home Assistant (standard library and pymodbus only).
"""

from __future__ import annotations

from .bus import (
    BusConnectionError,
    BusDataError,
    BusError,
    BusExceptionResponse,
    BusStats,
    BusTimeout,
    ConnectionConfig,
    ModbusBus,
)
from .reader import (
    ImplausibleReading,
    MeterPoller,
    MeterReading,
    RegisterReader,
    group_status,
    read_meter,
)
from .registers import (
    MODELS,
    Block,
    DataType,
    MeterModel,
    Quantity,
    Register,
    WordOrder,
    custom_model,
    decode,
    encode,
    read_plan,
    words_needed,
)

__all__ = [
    "MODELS",
    "Block",
    "BusConnectionError",
    "BusDataError",
    "BusError",
    "BusExceptionResponse",
    "BusStats",
    "BusTimeout",
    "ConnectionConfig",
    "DataType",
    "ImplausibleReading",
    "MeterModel",
    "MeterPoller",
    "MeterReading",
    "ModbusBus",
    "Quantity",
    "Register",
    "RegisterReader",
    "WordOrder",
    "custom_model",
    "decode",
    "encode",
    "group_status",
    "read_meter",
    "read_plan",
    "words_needed",
]
