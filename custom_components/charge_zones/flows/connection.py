"""The Modbus connection form (add and edit): TCP, RTU over TCP, RTU; the connection test."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import contextlib
import errno
import os
import socket
import stat
import termios
from typing import Any, Final

import probatio as vol

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.helpers import selector

from ..const import (
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_HOST,
    CONF_KIND,
    CONF_NAME,
    CONF_PARITY,
    CONF_PORT,
    CONF_SERIAL_PORT,
    CONF_STOPBITS,
    CONF_TIMEOUT,
    DEFAULT_BAUDRATE,
    DEFAULT_MODBUS_PORT,
    DEFAULT_MODBUS_TIMEOUT,
    LOGGER,
    PARITY_NONE,
    SUBENTRY_CONNECTION,
)
from ..subentries import (
    KIND_RTU,
    KIND_RTU_OVER_TCP,
    KIND_TCP,
    PARITIES,
    TCP_KINDS,
    connection_config,
)
from .common import (
    CONF_SKIP_TEST,
    RECONFIGURED,
    _number,
    _select,
    _taken,
    decimal_mark,
    range_errors,
)

CONNECTION_KINDS: Final = (KIND_TCP, KIND_RTU_OVER_TCP, KIND_RTU)


BAUDRATES: Final = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


#: Seconds the connection test waits for a TCP connection to open.
CONNECT_TEST_TIMEOUT: Final = 3.0


# --- Modbus connections -------------------------------------------------------------------


def connection_unique_id(data: Mapping[str, Any]) -> str:
    """Unique id of a connection subentry: one per TCP endpoint and kind, or serial port."""
    if data[CONF_KIND] == KIND_RTU:
        return f"connection rtu {data[CONF_SERIAL_PORT]}"
    return f"connection {data[CONF_KIND]} {str(data[CONF_HOST]).lower()}:{data[CONF_PORT]}"


async def tcp_connect_problem(
    host: str, port: int, within: float = CONNECT_TEST_TIMEOUT
) -> tuple[str, str] | None:
    """Why a TCP connection to host:port cannot be opened within seconds (None if it can).

    The form's error (in words) and the system's wording (for the log).
    """
    try:
        async with asyncio.timeout(within):
            _reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return "no_answer", f"no answer within {within:g} s"
    except OSError as err:
        if isinstance(err, socket.gaierror):
            return "host_not_found", err.strerror or str(err)
        if err.errno and err.errno > 0:
            # "Connection refused", not asyncio's wording
            kind = "connection_refused" if err.errno == errno.ECONNREFUSED else "cannot_connect"
            return kind, os.strerror(err.errno)
        return "cannot_connect", err.strerror or str(err) or type(err).__name__
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


async def tcp_connect_error(
    host: str, port: int, within: float = CONNECT_TEST_TIMEOUT
) -> str | None:
    """Why a TCP connection to host:port cannot be opened within seconds (None if it can)."""
    problem = await tcp_connect_problem(host, port, within)
    return None if problem is None else problem[1]


def serial_port_problem(path: str) -> tuple[str, str] | None:
    """Why the serial port cannot be opened now (None if it can), blocking.

    The form's error (in words) and the system's wording (for the log): no such device
    (the adapter unplugged, a typo), not a device, no permission, in use, or else.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "serial_port_not_found", f"{path}: no such device"
    except OSError as err:
        return "serial_port_unusable", f"{path}: {err.strerror or err}"
    if not stat.S_ISCHR(mode):
        return "not_a_serial_port", f"{path} is not a character device"
    try:  # as pymodbus' serial transport opens it
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as err:
        if err.errno in (errno.EACCES, errno.EPERM):
            return "serial_port_not_allowed", f"{path}: {err.strerror}"
        if err.errno == errno.EBUSY:
            return "serial_port_busy", f"{path}: {err.strerror}"
        if err.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
            return "serial_port_not_found", f"{path}: {err.strerror}"
        return "serial_port_unusable", f"{path}: {err.strerror or err}"
    try:
        termios.tcgetattr(fd)
    except termios.error as err:
        return "not_a_serial_port", f"{path} is not a terminal: {err}"
    finally:
        os.close(fd)
    return None


def _connection_schema(kind: str) -> vol.Schema:
    fields: dict[vol.Marker, Any] = {vol.Required(CONF_NAME): selector.TextSelector()}
    if kind in TCP_KINDS:
        fields[vol.Required(CONF_HOST)] = selector.TextSelector()
        fields[vol.Required(CONF_PORT, default=DEFAULT_MODBUS_PORT)] = vol.All(
            _number(1, 65535), vol.Coerce(int)
        )
    else:
        fields[vol.Required(CONF_SERIAL_PORT)] = selector.TextSelector()
        fields[vol.Required(CONF_BAUDRATE, default=str(DEFAULT_BAUDRATE))] = _select(
            [str(rate) for rate in BAUDRATES]
        )
        fields[vol.Required(CONF_PARITY, default=PARITY_NONE)] = _select(list(PARITIES), "parity")
        fields[vol.Required(CONF_STOPBITS, default="1")] = _select(["1", "2"])
        fields[vol.Required(CONF_BYTESIZE, default="8")] = _select(["7", "8"])
    fields[vol.Required(CONF_TIMEOUT, default=DEFAULT_MODBUS_TIMEOUT)] = vol.All(
        _number(0.1, 10, 0.1, "s"), vol.Coerce(float)
    )
    fields[vol.Optional(CONF_SKIP_TEST, default=False)] = selector.BooleanSelector()
    return vol.Schema(fields)


def _connection_form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Stored connection data as form values (the selects hold strings)."""
    values = dict(data)
    for key in (CONF_BAUDRATE, CONF_STOPBITS, CONF_BYTESIZE):
        if key in values:
            values[key] = str(values[key])
    return values


def _connection_data(kind: str, user_input: Mapping[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {CONF_NAME: user_input[CONF_NAME].strip(), CONF_KIND: kind}
    if kind in TCP_KINDS:
        data[CONF_HOST] = user_input[CONF_HOST].strip()
        data[CONF_PORT] = int(user_input[CONF_PORT])
    else:
        data[CONF_SERIAL_PORT] = user_input[CONF_SERIAL_PORT].strip()
        data[CONF_BAUDRATE] = int(user_input[CONF_BAUDRATE])
        data[CONF_PARITY] = user_input[CONF_PARITY]
        data[CONF_STOPBITS] = int(user_input[CONF_STOPBITS])
        data[CONF_BYTESIZE] = int(user_input[CONF_BYTESIZE])
    data[CONF_TIMEOUT] = float(user_input[CONF_TIMEOUT])
    return data


class ConnectionSubentryFlow(ConfigSubentryFlow):
    """Add or edit a Modbus connection (a bus that meters are read on)."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Choose how the bus is reached."""
        return self.async_show_menu(step_id="user", menu_options=list(CONNECTION_KINDS))

    async def async_step_tcp(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Modbus TCP."""
        return await self._async_form("tcp", KIND_TCP, user_input)

    async def async_step_rtu_over_tcp(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Modbus RTU frames through a transparent TCP gateway."""
        return await self._async_form("rtu_over_tcp", KIND_RTU_OVER_TCP, user_input)

    async def async_step_rtu(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Modbus RTU on a local serial port (RS485)."""
        return await self._async_form("rtu", KIND_RTU, user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a connection (its kind stays)."""
        subentry = self._get_reconfigure_subentry()
        return await self._async_form("reconfigure", subentry.data[CONF_KIND], user_input)

    async def _async_form(
        self, step_id: str, kind: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        editing = self._get_reconfigure_subentry() if self.source == SOURCE_RECONFIGURE else None
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            data, errors, placeholders = await self._async_validate(
                kind, user_input, editing.subentry_id if editing else None
            )
            if not errors:
                if editing is not None:
                    return self.async_update_and_abort(
                        self._get_entry(),
                        editing,
                        title=data[CONF_NAME],
                        unique_id=connection_unique_id(data),
                        data=data,
                        reason=RECONFIGURED,  # our words, not Home Assistant's default
                    )
                return self.async_create_entry(
                    title=data[CONF_NAME], data=data, unique_id=connection_unique_id(data)
                )
        if user_input is not None:
            values: Mapping[str, Any] = user_input
        elif editing is not None:
            values = _connection_form_values(editing.data)
        else:
            values = {}
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(_connection_schema(kind), values),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_validate(
        self, kind: str, user_input: dict[str, Any], editing: str | None
    ) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
        errors: dict[str, str] = {}
        data = _connection_data(kind, user_input)
        if not data[CONF_NAME]:
            errors[CONF_NAME] = "name_required"
        where = CONF_HOST if kind in TCP_KINDS else CONF_SERIAL_PORT
        if not data[where]:
            errors[where] = f"{where}_required"
        out_of_range, placeholders = range_errors(
            _connection_schema(kind), user_input, await decimal_mark(self.hass)
        )
        errors |= out_of_range
        if errors:
            return data, errors, placeholders
        try:
            config = connection_config(data)
        except ValueError as err:
            return data, {"base": "invalid_connection"}, {"error": str(err)}
        if _taken(self._get_entry(), SUBENTRY_CONNECTION, connection_unique_id(data), editing):
            return data, {where: "already_configured"}, {}
        if kind in TCP_KINDS and not user_input.get(CONF_SKIP_TEST):
            problem = await tcp_connect_problem(config.host, config.port)
            if problem is not None:
                kind, detail = problem
                LOGGER.warning(
                    "Connection test to %s:%s failed: %s", config.host, config.port, detail
                )
                return (
                    data,
                    {"base": kind},
                    {
                        "host": config.host,
                        "port": str(config.port),
                        "limit": f"{CONNECT_TEST_TIMEOUT:g}",
                    },
                )
        if kind == KIND_RTU and not user_input.get(CONF_SKIP_TEST):
            found = await self.hass.async_add_executor_job(serial_port_problem, config.serial_port)
            if found is not None:
                error, detail = found
                LOGGER.warning("Serial port test of %s failed: %s", config.serial_port, detail)
                return data, {CONF_SERIAL_PORT: error}, {"serial_port": config.serial_port}
        return data, {}, {}
