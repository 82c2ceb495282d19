"""Reading the subentries' data: Modbus connections and meter models.

Shared by the config flow (to validate and test) and the site (to run them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .const import (
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_HOST,
    CONF_KIND,
    CONF_METER_MODEL,
    CONF_PARITY,
    CONF_PORT,
    CONF_REGISTERS,
    CONF_SERIAL_PORT,
    CONF_STOPBITS,
    CONF_TIMEOUT,
    DEFAULT_MODBUS_TIMEOUT,
    METER_MODEL_CUSTOM,
)
from .meters import MODELS as METER_MODELS, ConnectionConfig, MeterModel, custom_model
from .meters.registers import CURRENTS, POWERS, VOLTAGES

KIND_TCP: Final = "tcp"
KIND_RTU_OVER_TCP: Final = "rtu_over_tcp"
KIND_RTU: Final = "rtu"
TCP_KINDS: Final = (KIND_TCP, KIND_RTU_OVER_TCP)

# Quantities only a three-phase meter has: a custom table with any of them is three-phase.
_THREE_PHASE_QUANTITIES: Final = frozenset((*CURRENTS[1:], *VOLTAGES[1:], *POWERS[1:]))


def connection_config(data: Mapping[str, Any]) -> ConnectionConfig:
    """The bus settings of a connection subentry's data (ValueError if unusable)."""
    kind = data.get(CONF_KIND)
    timeout = float(data.get(CONF_TIMEOUT, DEFAULT_MODBUS_TIMEOUT))
    if kind == KIND_RTU:
        return ConnectionConfig(
            kind="rtu",
            serial_port=str(data[CONF_SERIAL_PORT]),
            baudrate=int(data[CONF_BAUDRATE]),
            parity=str(data[CONF_PARITY]),
            stopbits=int(data[CONF_STOPBITS]),
            bytesize=int(data[CONF_BYTESIZE]),
            timeout=timeout,
        )
    if kind in TCP_KINDS:
        return ConnectionConfig(
            kind="tcp" if kind == KIND_TCP else "rtu_over_tcp",
            host=str(data[CONF_HOST]),
            port=int(data[CONF_PORT]),
            timeout=timeout,
        )
    raise ValueError(f"unknown connection kind {kind!r}")


def custom_meter_model(spec: Any) -> MeterModel:
    """The model of a custom register table; three-phase if it has any L2/L3 quantity.

    Raises ValueError with a message naming the offending quantity and field.
    """
    if not isinstance(spec, Mapping):
        raise ValueError("expected a mapping of quantity to register")
    phases = 3 if _THREE_PHASE_QUANTITIES & set(spec) else 1
    return custom_model(spec, phases)


def meter_model(data: Mapping[str, Any]) -> MeterModel:
    """The model of a meter subentry's data (a known model or its custom register table)."""
    key = data[CONF_METER_MODEL]
    if key == METER_MODEL_CUSTOM:
        return custom_meter_model(data.get(CONF_REGISTERS))
    return METER_MODELS[key]
