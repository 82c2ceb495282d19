"""The meter form (add and edit), the custom register table and the test read."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
import contextlib
import logging
from typing import Any, Final

import probatio as vol

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.helpers import selector

from ..const import (
    CONF_AMPERAGE,
    CONF_CONNECTION,
    CONF_GRID_METER,
    CONF_GRID_POWER,
    CONF_METER_MODEL,
    CONF_NAME,
    CONF_POLL_INTERVAL,
    CONF_REGISTERS,
    CONF_UNIT,
    DEFAULT_POLL_INTERVAL,
    LOGGER,
    METER_MODEL_CUSTOM,
    SUBENTRY_CONNECTION,
    SUBENTRY_METER,
)
from ..meters import (
    MODELS as METER_MODELS,
    BusConnectionError,
    BusDataError,
    BusError,
    BusExceptionResponse,
    BusTimeout,
    DataType,
    ImplausibleReading,
    MeterModel,
    ModbusBus,
    Quantity,
    WordOrder,
    read_meter,
)
from ..meters.reader import OVER_RATING
from ..subentries import (
    connection_config,
    custom_meter_model,
)
from .common import (
    CONF_SKIP_TEST,
    RECONFIGURED,
    _is_subentry,
    _number,
    _select,
    _subentry_options,
    _subentry_select,
    _taken,
    decimal_mark,
    range_errors,
)

#: Seconds the test read of a meter may take in all (each request has the bus timeout).
READ_TEST_LIMIT: Final = 20.0


MAX_UNIT: Final = 247


MAX_AMPERAGE: Final = 4000


CUSTOM_REGISTERS_EXAMPLE: Final = (
    "```yaml\n"
    "current_l1:\n  function: 4\n  address: 0x0006\n  data_type: float32\n"
    "current_l2:\n  function: 4\n  address: 0x0008\n  data_type: float32\n"
    "current_l3:\n  function: 4\n  address: 0x000A\n  data_type: float32\n"
    "import_energy:\n  function: 4\n  address: 0x0048\n  data_type: float32\n"
    "  word_order: big\n  scale: 1000\n"
    "```"
)


# --- meters -------------------------------------------------------------------------------


def meter_unique_id(data: Mapping[str, Any]) -> str:
    """Unique id of a meter subentry: one meter per Modbus address per connection."""
    return f"meter {data[CONF_CONNECTION]} {data[CONF_UNIT]}"


def _registers_data(model: MeterModel) -> dict[str, dict[str, Any]]:
    """A custom register table as stored: plain JSON, every field explicit."""
    return {
        str(quantity): {
            "function": register.function,
            "address": register.address,
            "data_type": str(register.data_type),
            "word_order": str(register.word_order),
            "scale": register.scale,
        }
        for quantity, register in model.registers.items()
    }


#: pymodbus' own logger: it logs a request left unanswered as an ERROR.
PYMODBUS_LOGGER: Final = "pymodbus.logging"


class _Probing(logging.Filter):
    """Drops pymodbus' records while a form probes a bus.

    A probe that fails is the form's answer (in words) and one warning of ours with the
    detail; pymodbus' ERROR lines about it would only alarm. Other buses polled in those
    seconds are quiet too; their failures still show in their meters' sensors, repairs
    and diagnostics.
    """

    def __init__(self) -> None:
        super().__init__()
        self.probes = 0

    def filter(self, record: logging.LogRecord) -> bool:
        return False


_PROBING = _Probing()


@contextlib.contextmanager
def quiet_pymodbus() -> Iterator[None]:
    """Silence pymodbus' logger for the time of a form probe."""
    logger = logging.getLogger(PYMODBUS_LOGGER)
    if _PROBING.probes == 0:
        logger.addFilter(_PROBING)
    _PROBING.probes += 1
    try:
        yield
    finally:
        _PROBING.probes -= 1
        if _PROBING.probes == 0:
            logger.removeFilter(_PROBING)


#: Modbus exceptions of a gateway that cannot reach the device behind it.
GATEWAY_EXCEPTIONS: Final = frozenset({10, 11})


#: Modbus exceptions of a device that has no such register or function (another model).
REGISTER_EXCEPTIONS: Final = frozenset({1, 2, 3})


def _bus_problem(
    err: BusError, unit: int, model: MeterModel, where: str
) -> tuple[str, dict[str, str]]:
    """A failed test read in the installer's words (the bus's wording goes to the log)."""
    placeholders = {"unit": str(unit), "model": model.label, "connection": where}
    if isinstance(err, BusTimeout):
        return "meter_silent", placeholders
    if isinstance(err, BusConnectionError):
        return "bus_unreachable", placeholders
    if isinstance(err, BusExceptionResponse):
        if err.code in GATEWAY_EXCEPTIONS:
            return "gateway_no_meter", placeholders
        if err.code in REGISTER_EXCEPTIONS:
            return "wrong_registers", placeholders
        return "meter_refused", placeholders
    if isinstance(err, BusDataError):
        return "garbled_answer", placeholders
    return "cannot_read", placeholders


async def meter_read_error(
    connection: Mapping[str, Any], unit: int, model: MeterModel, amperage: float | None = None
) -> tuple[str, dict[str, str]] | None:
    """Read the meter once on a bus of its own; the form error and its placeholders.

    None when the read worked and every value it gave can be the model's: values that
    cannot be true (another model's table, another meter at the address, a current far
    above the ``amperage``) are refused as ``implausible_reading``, naming them. A read
    that fails is told in words (see _bus_problem); what the bus said goes to the log,
    as a warning, and nothing is logged as an error.
    """
    name = str(connection.get(CONF_NAME) or "")
    try:
        bus = ModbusBus(connection_config(connection))
    except ValueError as err:
        LOGGER.warning("Connection %s cannot be used: %s", name, err)
        return "cannot_read", {"unit": str(unit), "model": model.label, "connection": name}
    max_current = None if amperage is None else OVER_RATING * amperage
    where = f"{name} ({bus.config.label})" if name else bus.config.label
    with quiet_pymodbus():
        try:
            async with asyncio.timeout(READ_TEST_LIMIT):
                reading = await read_meter(bus, unit, model, max_current=max_current)
        except ImplausibleReading as err:
            return _implausible(model, err.values)
        except BusError as err:
            LOGGER.warning(
                "Test read of %s at address %s on %s failed: %s", model.label, unit, where, err
            )
            return _bus_problem(err, unit, model, where)
        except TimeoutError:
            LOGGER.warning(
                "Test read of %s at address %s on %s: no complete answer within %g s",
                model.label,
                unit,
                where,
                READ_TEST_LIMIT,
            )
            return "meter_too_slow", {
                "unit": str(unit),
                "model": model.label,
                "connection": where,
                "limit": f"{READ_TEST_LIMIT:g}",
            }
        finally:
            await bus.close()
    if reading.implausible:
        return _implausible(model, reading.implausible)
    return None


def _implausible(model: MeterModel, values: Sequence[str]) -> tuple[str, dict[str, str]]:
    return "implausible_reading", {
        "count": str(len(values)),
        "model": model.label,
        "values": "; ".join(values),
    }


def _registers_placeholders(error: str = "") -> dict[str, str]:
    return {
        "example": CUSTOM_REGISTERS_EXAMPLE,
        "quantities": ", ".join(quantity.value for quantity in Quantity),
        "data_types": ", ".join(data_type.value for data_type in DataType),
        "word_orders": ", ".join(order.value for order in WordOrder),
        "error": error,
    }


class MeterSubentryFlow(ConfigSubentryFlow):
    """Add or edit a Modbus meter; a test read before saving unless skipped."""

    def __init__(self) -> None:
        """Nothing entered yet."""
        super().__init__()
        self._pending: dict[str, Any] = {}
        self._skip_test = False
        self._grid_other = ""  # the meter that is already the grid connection

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a meter."""
        return await self._async_meter_form("user", user_input, None)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a meter."""
        subentry = self._get_reconfigure_subentry()
        return await self._async_meter_form("reconfigure", user_input, subentry.data)

    def _schema(self, connections: list[selector.SelectOptionDict]) -> vol.Schema:
        connection = vol.Required(CONF_CONNECTION)
        if len(connections) == 1:
            connection = vol.Required(CONF_CONNECTION, default=connections[0]["value"])
        return vol.Schema(
            {
                vol.Required(CONF_NAME): selector.TextSelector(),
                connection: _subentry_select(connections),
                vol.Required(CONF_UNIT, default=1): vol.All(_number(1, MAX_UNIT), vol.Coerce(int)),
                vol.Required(CONF_METER_MODEL): _select(
                    [*METER_MODELS, METER_MODEL_CUSTOM], "meter_model"
                ),
                # Not Required: the frontend would fill a required number in with its
                # minimum; the installer must enter the rating (checked in _validate).
                vol.Optional(CONF_AMPERAGE): vol.All(
                    _number(1, MAX_AMPERAGE, 1, "A"), vol.Coerce(float)
                ),
                vol.Required(CONF_POLL_INTERVAL, default=DEFAULT_POLL_INTERVAL): vol.All(
                    _number(0.2, 60, 0.1, "s"), vol.Coerce(float)
                ),
                vol.Optional(CONF_GRID_METER, default=False): selector.BooleanSelector(),
                vol.Optional(CONF_SKIP_TEST, default=False): selector.BooleanSelector(),
            }
        )

    async def _async_meter_form(
        self, step_id: str, user_input: dict[str, Any] | None, current: Mapping[str, Any] | None
    ) -> SubentryFlowResult:
        entry = self._get_entry()
        connections = _subentry_options(entry, SUBENTRY_CONNECTION)
        if not connections:
            return self.async_abort(reason="no_connections")
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            data, errors = self._validate(user_input)
            out_of_range, placeholders = range_errors(
                self._schema(connections), user_input, await decimal_mark(self.hass)
            )
            errors |= out_of_range
            if CONF_GRID_METER in errors:
                placeholders["other"] = self._grid_other
            if not errors:
                skip_test = bool(user_input.get(CONF_SKIP_TEST))
                if data[CONF_METER_MODEL] == METER_MODEL_CUSTOM:
                    self._pending, self._skip_test = data, skip_test
                    return await self.async_step_registers()
                errors, placeholders = await self._async_test(
                    data, METER_MODELS[data[CONF_METER_MODEL]], skip_test
                )
                if not errors:
                    return self._async_finish(data)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                self._schema(connections), user_input or dict(current or {})
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_registers(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The register table of a custom meter."""
        errors: dict[str, str] = {}
        placeholders = _registers_placeholders()
        if user_input is not None:
            if not _is_subentry(
                self._get_entry(), self._pending[CONF_CONNECTION], SUBENTRY_CONNECTION
            ):
                return self.async_abort(reason="unknown_connection")
            try:
                model = custom_meter_model(user_input.get(CONF_REGISTERS))
            except ValueError as err:
                errors[CONF_REGISTERS] = "invalid_registers"
                placeholders["error"] = str(err)
            else:
                data = {**self._pending, CONF_REGISTERS: _registers_data(model)}
                errors, read = await self._async_test(
                    data, model, bool(user_input.get(CONF_SKIP_TEST))
                )
                placeholders.update(read)
                if not errors:
                    return self._async_finish(data)
        suggested: dict[str, Any] = dict(user_input or {})
        if user_input is None:
            suggested[CONF_SKIP_TEST] = self._skip_test
            if self.source == SOURCE_RECONFIGURE:
                stored = self._get_reconfigure_subentry().data.get(CONF_REGISTERS)
                if stored:
                    suggested[CONF_REGISTERS] = stored
        return self.async_show_form(
            step_id="registers",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_REGISTERS): selector.ObjectSelector(),
                        vol.Optional(CONF_SKIP_TEST, default=False): selector.BooleanSelector(),
                    }
                ),
                suggested,
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _validate(self, user_input: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        entry = self._get_entry()
        editing = (
            self._get_reconfigure_subentry().subentry_id
            if self.source == SOURCE_RECONFIGURE
            else None
        )
        data: dict[str, Any] = {
            CONF_NAME: user_input[CONF_NAME].strip(),
            CONF_CONNECTION: user_input[CONF_CONNECTION],
            CONF_UNIT: int(user_input[CONF_UNIT]),
            CONF_METER_MODEL: user_input[CONF_METER_MODEL],
            CONF_POLL_INTERVAL: float(user_input[CONF_POLL_INTERVAL]),
        }
        errors: dict[str, str] = {}
        if user_input.get(CONF_AMPERAGE) is None:
            errors[CONF_AMPERAGE] = "amperage_required"
        else:
            data[CONF_AMPERAGE] = float(user_input[CONF_AMPERAGE])
        if not data[CONF_NAME]:
            errors[CONF_NAME] = "name_required"
        if not _is_subentry(entry, data[CONF_CONNECTION], SUBENTRY_CONNECTION):
            errors[CONF_CONNECTION] = "unknown_connection"
        elif _taken(entry, SUBENTRY_METER, meter_unique_id(data), editing):
            errors[CONF_UNIT] = "already_configured"
        if user_input.get(CONF_GRID_METER):
            data[CONF_GRID_METER] = True
            # One grid connection: its export is the building's solar surplus.
            other = next(
                (
                    s
                    for s in entry.subentries.values()
                    if s.subentry_type == SUBENTRY_METER
                    and s.subentry_id != editing
                    and s.data.get(CONF_GRID_METER)
                ),
                None,
            )
            if other is not None:
                errors[CONF_GRID_METER] = "grid_meter_taken"
                self._grid_other = other.title
            elif sensor := entry.options.get(CONF_GRID_POWER):
                # The hub's options name power sensors as the grid connection.
                errors[CONF_GRID_METER] = "grid_meter_taken"
                self._grid_other = str(sensor)
        return data, errors

    async def _async_test(
        self, data: dict[str, Any], model: MeterModel, skip_test: bool
    ) -> tuple[dict[str, str], dict[str, str]]:
        if skip_test:
            return {}, {}
        connection = self._get_entry().subentries[data[CONF_CONNECTION]]
        failed = await meter_read_error(
            connection.data, data[CONF_UNIT], model, data[CONF_AMPERAGE]
        )
        if failed is None:
            return {}, {}
        error, placeholders = failed
        return {"base": error}, placeholders

    def _async_finish(self, data: dict[str, Any]) -> SubentryFlowResult:
        if self.source == SOURCE_RECONFIGURE:
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                title=data[CONF_NAME],
                unique_id=meter_unique_id(data),
                data=data,
                reason=RECONFIGURED,  # our words, not Home Assistant's default
            )
        return self.async_create_entry(
            title=data[CONF_NAME], data=data, unique_id=meter_unique_id(data)
        )
