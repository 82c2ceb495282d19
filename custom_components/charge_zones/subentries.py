"""Reading the subentries' data: Modbus connections and meter models.

Shared by the config flow (to validate and test) and the site (to run them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .central.models import Wiring
from .const import (
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_HOST,
    CONF_KIND,
    CONF_METER_MODEL,
    CONF_PARITY,
    CONF_PHASES,
    CONF_PORT,
    CONF_REGISTERS,
    CONF_SERIAL_PORT,
    CONF_STOPBITS,
    CONF_TIMEOUT,
    CONF_ZONE_PHASES,
    DEFAULT_MODBUS_TIMEOUT,
    METER_MODEL_CUSTOM,
    MODEL_ABB_TERRA,
    PARITY_EVEN,
    PARITY_NONE,
    PARITY_ODD,
    SUBENTRY_CONNECTION,
    SUBENTRY_STATION,
    SUBENTRY_ZONE,
    ZONE_THREE_PHASES,
)
from .meters import MODELS as METER_MODELS, ConnectionConfig, MeterModel, custom_model
from .meters.registers import CURRENTS, POWERS, VOLTAGES

# A station's device model before its boot tells its own: the configured model.
STATION_MODEL_LABELS: Final = {MODEL_ABB_TERRA: "ABB Terra"}
STANDARD_STATION_MODEL: Final = "OCPP 1.6J"


def station_model_label(model: str) -> str:
    """The device model of a station configured as model (until its boot)."""
    return STATION_MODEL_LABELS.get(model, STANDARD_STATION_MODEL)


KIND_TCP: Final = "tcp"
KIND_RTU_OVER_TCP: Final = "rtu_over_tcp"
KIND_RTU: Final = "rtu"
TCP_KINDS: Final = (KIND_TCP, KIND_RTU_OVER_TCP)

# Stored parity -> the serial parity letter pymodbus takes
PARITY_LETTERS: Final = {PARITY_NONE: "N", PARITY_EVEN: "E", PARITY_ODD: "O"}
PARITIES: Final = tuple(PARITY_LETTERS)

# Stored wiring of a station (lowercase: a translation key) and the wiring it names
WIRINGS: Final = {wiring.value.lower(): wiring for wiring in Wiring}

# Stored phases of a zone -> the building phases (0 = L1) it draws from
ZONE_PHASES: Final = {ZONE_THREE_PHASES: (0, 1, 2), "l1": (0,), "l2": (1,), "l3": (2,)}

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
            parity=PARITY_LETTERS.get(str(data[CONF_PARITY]), str(data[CONF_PARITY])),
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


def station_wiring(data: Mapping[str, Any]) -> Wiring:
    """The wiring of a station subentry's data (ValueError if unknown)."""
    return Wiring(str(data[CONF_PHASES]).upper())


def zone_phases(data: Mapping[str, Any]) -> tuple[int, ...]:
    """The building phases (0 = L1) a zone subentry's data draws from (all three if unset)."""
    return ZONE_PHASES.get(str(data.get(CONF_ZONE_PHASES, ZONE_THREE_PHASES)), (0, 1, 2))


# Version 1 stored these select values as shown to the installer (upper case).
_LEGACY_VALUES: Final[dict[str, dict[str, dict[str, str]]]] = {
    SUBENTRY_STATION: {CONF_PHASES: {wiring.value: wiring.value.lower() for wiring in Wiring}},
    SUBENTRY_ZONE: {CONF_ZONE_PHASES: {key.upper(): key for key in ZONE_PHASES}},
    SUBENTRY_CONNECTION: {CONF_PARITY: {letter: key for key, letter in PARITY_LETTERS.items()}},
}


def migrate_subentry_data(subentry_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A subentry's data with the select values of version 1 in today's form."""
    migrated = dict(data)
    for key, renames in _LEGACY_VALUES.get(subentry_type, {}).items():
        value = migrated.get(key)
        if isinstance(value, str) and value in renames:
            migrated[key] = renames[value]
    return migrated
