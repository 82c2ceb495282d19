"""Config flow: the hub, its options and reconfiguration; the subentry types it offers.

Subentries: stations and badges (OCPP), and for load management Modbus connections (buses),
meters on them and electrical zones, each form in a module of its own under flows/
(flows/zone.py: the zone form, ...). Selects that point at other subentries hold their
subentry ids; the options are built when the form is shown and checked again on submit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import errno
import os
import socket
from typing import Any

import probatio as vol

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import selector

from .billing import TARIFF_FIXED, TARIFF_KINDS, TARIFF_NONE
from .central.server import listen_error
from .const import (
    CONF_CERTFILE,
    CONF_CURRENCY,
    CONF_GRID_EXPORT,
    CONF_GRID_METER,
    CONF_GRID_NETS_PHASES,
    CONF_GRID_POWER,
    CONF_HEARTBEAT_INTERVAL,
    CONF_HOST,
    CONF_KEYFILE,
    CONF_METER_INTERVAL,
    CONF_PEAK_LIMIT,
    CONF_PORT,
    CONF_PRICE,
    CONF_PRICE_ENTITY,
    CONF_PROFILE_VALIDITY,
    CONF_PV_POWER,
    CONF_RAISE_HOLD,
    CONF_ROTATION_PERIOD,
    CONF_SCHEDULE_PRICE,
    CONF_SCHEDULE_PRICE_BELOW,
    CONF_SCHEDULE_WHEN,
    CONF_SENSOR_INTERVAL,
    CONF_SOLAR_MIN_ON,
    CONF_SOLAR_PRICE,
    CONF_SOLAR_PRICE_ENTITY,
    CONF_SOLAR_SMOOTHING,
    CONF_SOLAR_START_DELAY,
    CONF_SOLAR_START_MARGIN,
    CONF_SOLAR_STOP_DELAY,
    CONF_TARIFF,
    CONF_TLS,
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_HOST,
    DEFAULT_METER_INTERVAL,
    DEFAULT_PORT,
    DEFAULT_PROFILE_VALIDITY,
    DEFAULT_RAISE_HOLD,
    DEFAULT_ROTATION_PERIOD,
    DEFAULT_SENSOR_INTERVAL,
    DEFAULT_SOLAR_MIN_ON,
    DEFAULT_SOLAR_SMOOTHING,
    DEFAULT_SOLAR_START_DELAY,
    DEFAULT_SOLAR_START_MARGIN,
    DEFAULT_SOLAR_STOP_DELAY,
    DOMAIN,
    ENTRY_MINOR_VERSION,
    ENTRY_VERSION,
    LOGGER,
    SUBENTRY_BADGE,
    SUBENTRY_CONNECTION,
    SUBENTRY_METER,
    SUBENTRY_STATION,
    SUBENTRY_ZONE,
    TLS_FILES,
    TLS_HOME_ASSISTANT,
    TLS_NONE,
)
from .flows.badge import BadgeSubentryFlow
from .flows.common import RECONFIGURED, _number, decimal_mark, range_errors
from .flows.connection import ConnectionSubentryFlow
from .flows.meter import MeterSubentryFlow
from .flows.station import StationSubentryFlow
from .flows.zone import ZoneSubentryFlow
from .site import ChargeZonesConfigEntry, server_ssl_context, tls_files

ADDRESS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_HOST, default=DEFAULT_HOST): selector.TextSelector(),
        vol.Required(CONF_PORT, default=DEFAULT_PORT): vol.All(_number(1, 65535), vol.Coerce(int)),
        vol.Required(CONF_TLS, default=TLS_NONE): selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=[TLS_NONE, TLS_HOME_ASSISTANT, TLS_FILES],
                translation_key="tls",
                mode=selector.SelectSelectorMode.LIST,
            )
        ),
    }
)


#: Asked in a second step, only when the hub's TLS uses certificate files.
CERTIFICATES_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_CERTFILE): selector.TextSelector(),
        vol.Required(CONF_KEYFILE): selector.TextSelector(),
    }
)


def _address_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Entry data for the server's address and TLS (certificate files come next)."""
    return {
        CONF_HOST: str(user_input[CONF_HOST]).strip(),
        CONF_PORT: int(user_input[CONF_PORT]),
        CONF_TLS: user_input.get(CONF_TLS, TLS_NONE),
    }


def _unreadable(files: Sequence[str]) -> tuple[str, str] | None:
    """The first file that is missing or that Home Assistant may not read, and why."""
    for path in files:
        if not os.path.isfile(path):
            return "tls_file_not_found", path
        if not os.access(path, os.R_OK):
            return "tls_file_not_readable", path
    return None


def _certificate_data(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Entry data for the certificate files (their full paths)."""
    return {
        CONF_CERTFILE: str(user_input.get(CONF_CERTFILE) or "").strip(),
        CONF_KEYFILE: str(user_input.get(CONF_KEYFILE) or "").strip(),
    }


async def _tls_errors(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """Check that the certificate and key the server should use load.

    The form says what to do in words; the library's wording goes to the log.
    """
    if data[CONF_TLS] == TLS_NONE:
        return {}, {}
    if data[CONF_TLS] == TLS_FILES and not (data.get(CONF_CERTFILE) and data.get(CONF_KEYFILE)):
        return {CONF_CERTFILE: "tls_files_missing"}, {}
    try:
        files = tls_files(hass, data)
    except ValueError:
        return {CONF_TLS: "no_ha_certificate"}, {}
    assert files is not None
    if (problem := await hass.async_add_executor_job(_unreadable, files)) is not None:
        return {"base": problem[0]}, {"file": problem[1]}
    try:
        await hass.async_add_executor_job(server_ssl_context, files)
    except (OSError, ValueError) as err:
        LOGGER.warning("Certificate %s with key %s cannot be used: %s", *files, err)
        return {"base": "tls_invalid"}, {}
    return {}, {}


OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_HEARTBEAT_INTERVAL, default=DEFAULT_HEARTBEAT_INTERVAL): vol.All(
            _number(10, 86400, unit="s"), vol.Coerce(int)
        ),
        vol.Required(CONF_METER_INTERVAL, default=DEFAULT_METER_INTERVAL): vol.All(
            _number(1, 3600, unit="s"), vol.Coerce(int)
        ),
    }
)


def _listen_problem(err: OSError, host: str, port: int) -> tuple[dict[str, str], dict[str, str]]:
    """A failed bind in the installer's words (the system's wording goes to the log)."""
    LOGGER.warning("The OCPP server could not listen on %s:%s: %s", host, port, err)
    placeholders = {"host": host, "port": str(port)}
    if isinstance(err, socket.gaierror):
        return {CONF_HOST: "host_not_found"}, placeholders
    if err.errno == errno.EADDRINUSE:
        return {CONF_PORT: "port_in_use"}, placeholders
    if err.errno == errno.EADDRNOTAVAIL:
        return {CONF_HOST: "address_not_local"}, placeholders
    if err.errno in (errno.EACCES, errno.EPERM):
        return {CONF_PORT: "port_not_allowed"}, placeholders
    return {"base": "cannot_listen"}, placeholders


async def _address_errors(
    data: dict[str, Any], current: ConfigEntry | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Check that the OCPP server can listen where asked."""
    host, port = data[CONF_HOST].strip(), int(data[CONF_PORT])
    own_port = False
    if (
        current is not None
        and current.state is ConfigEntryState.LOADED
        and int(current.data[CONF_PORT]) == port
    ):
        if current.data[CONF_HOST] == host:
            return {}, {}
        own_port = True
    error = await listen_error(host, port)
    if error is not None and own_port:
        # The hub's own server holds this port (e.g. 0.0.0.0 and a LAN address conflict
        # on the same port) and frees it before moving: only check the address itself.
        error = await listen_error(host, 0)
    if error is not None:
        return _listen_problem(error, host, port)
    return {}, {}


def _hub_title(port: int) -> str:
    return f"Charge Zones (port {port})"


class ChargeZonesConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create a Charge Zones hub."""

    VERSION = ENTRY_VERSION
    MINOR_VERSION = ENTRY_MINOR_VERSION

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ChargeZonesConfigEntry) -> ChargeZonesOptionsFlow:
        """Options: intervals."""
        return ChargeZonesOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Modbus connections, meters, electrical zones, stations and badges.

        Home Assistant shows the *Add* buttons in this order: the order an installer
        works in (a zone needs its meters, a meter its connection, a station its zone).
        """
        return {
            SUBENTRY_CONNECTION: ConnectionSubentryFlow,
            SUBENTRY_METER: MeterSubentryFlow,
            SUBENTRY_ZONE: ZoneSubentryFlow,
            SUBENTRY_STATION: StationSubentryFlow,
            SUBENTRY_BADGE: BadgeSubentryFlow,
        }

    def __init__(self) -> None:
        """Nothing entered yet."""
        self._data: dict[str, Any] = {}
        self._options: dict[str, Any] = {}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Listen address, port, TLS and intervals (certificate files in a second step)."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        schema = ADDRESS_SCHEMA.extend(OPTIONS_SCHEMA.schema)
        if user_input is not None:
            errors, placeholders = range_errors(schema, user_input, await decimal_mark(self.hass))
        if user_input is not None and not errors:
            self._async_abort_entries_match({CONF_PORT: int(user_input[CONF_PORT])})
            data = _address_data(user_input)
            errors, placeholders = await _address_errors(data)
            if not errors and data[CONF_TLS] != TLS_FILES:
                errors, placeholders = await _tls_errors(self.hass, data)
            if not errors:
                self._data = data
                self._options = {
                    CONF_HEARTBEAT_INTERVAL: int(user_input[CONF_HEARTBEAT_INTERVAL]),
                    CONF_METER_INTERVAL: int(user_input[CONF_METER_INTERVAL]),
                }
                if data[CONF_TLS] == TLS_FILES:
                    return await self.async_step_certificates()
                return self._async_finish()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Move the OCPP server to another address or port, or change its TLS."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            errors, placeholders = range_errors(
                ADDRESS_SCHEMA, user_input, await decimal_mark(self.hass)
            )
        if user_input is not None and not errors:
            port = int(user_input[CONF_PORT])
            for other in self._async_current_entries(include_ignore=False):
                if other.entry_id != entry.entry_id and int(other.data[CONF_PORT]) == port:
                    return self.async_abort(reason="already_configured")
            data = _address_data(user_input)
            errors, placeholders = await _address_errors(data, entry)
            if not errors and data[CONF_TLS] != TLS_FILES:
                errors, placeholders = await _tls_errors(self.hass, data)
            if not errors:
                self._data = data
                if data[CONF_TLS] == TLS_FILES:
                    return await self.async_step_certificates()
                return self._async_finish()
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                ADDRESS_SCHEMA, user_input or dict(entry.data)
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_certificates(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The certificate and key files, when TLS uses files."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            data = self._data | _certificate_data(user_input)
            errors, placeholders = await _tls_errors(self.hass, data)
            if not errors:
                self._data = data
                return self._async_finish()
        suggested: Mapping[str, Any] = user_input or {}
        if user_input is None and self.source == SOURCE_RECONFIGURE:
            suggested = self._get_reconfigure_entry().data
        return self.async_show_form(
            step_id="certificates",
            data_schema=self.add_suggested_values_to_schema(CERTIFICATES_SCHEMA, suggested),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _async_finish(self) -> ConfigFlowResult:
        """Create the hub, or update the one reconfigured.

        A reconfigured hub's title follows its port unless the user renamed it; the
        hub's device follows its title.
        """
        port = int(self._data[CONF_PORT])
        if self.source != SOURCE_RECONFIGURE:
            return self.async_create_entry(
                title=_hub_title(port), data=self._data, options=self._options
            )
        entry = self._get_reconfigure_entry()
        title = entry.title
        if title == _hub_title(int(entry.data[CONF_PORT])):
            title = _hub_title(port)
        return self.async_update_and_abort(
            entry,
            title=title,
            data={
                key: value
                for key, value in entry.data.items()
                if key not in (CONF_CERTFILE, CONF_KEYFILE)
            }
            | self._data,
            reason=RECONFIGURED,  # our words, not Home Assistant's default
        )


HUB_OPTIONS_SCHEMA = OPTIONS_SCHEMA.extend(
    {
        vol.Required(CONF_RAISE_HOLD, default=DEFAULT_RAISE_HOLD): vol.All(
            _number(1, 600, unit="s"), vol.Coerce(float)
        ),
        vol.Required(CONF_PROFILE_VALIDITY, default=DEFAULT_PROFILE_VALIDITY): vol.All(
            _number(2, 120, unit="min"), vol.Coerce(int)
        ),
        vol.Required(CONF_SENSOR_INTERVAL, default=DEFAULT_SENSOR_INTERVAL): vol.All(
            _number(0, 3600, unit="s"), vol.Coerce(int)
        ),
        vol.Required(CONF_ROTATION_PERIOD, default=DEFAULT_ROTATION_PERIOD): vol.All(
            _number(1, 240, unit="min"), vol.Coerce(int)
        ),
        vol.Required(CONF_SOLAR_START_DELAY, default=DEFAULT_SOLAR_START_DELAY): vol.All(
            _number(0, 3600, unit="s"), vol.Coerce(int)
        ),
        vol.Required(CONF_SOLAR_STOP_DELAY, default=DEFAULT_SOLAR_STOP_DELAY): vol.All(
            _number(0, 3600, unit="s"), vol.Coerce(int)
        ),
        vol.Required(CONF_SOLAR_MIN_ON, default=DEFAULT_SOLAR_MIN_ON): vol.All(
            _number(0, 7200, unit="s"), vol.Coerce(int)
        ),
        vol.Required(CONF_SOLAR_SMOOTHING, default=DEFAULT_SOLAR_SMOOTHING): vol.All(
            _number(0, 600, unit="s"), vol.Coerce(int)
        ),
        vol.Required(CONF_SOLAR_START_MARGIN, default=DEFAULT_SOLAR_START_MARGIN): vol.All(
            _number(0, 32, 0.5, unit="A"), vol.Coerce(float)
        ),
        vol.Optional(CONF_PEAK_LIMIT): vol.All(
            _number(0, 10000, 0.1, unit="kW"), vol.Coerce(float)
        ),
        # The Scheduled mode's window: an on/off entity, or a price below a threshold.
        vol.Optional(CONF_SCHEDULE_WHEN): selector.EntitySelector(
            selector.EntitySelectorConfig(
                domain=["schedule", "binary_sensor", "input_boolean", "switch"]
            )
        ),
        vol.Optional(CONF_SCHEDULE_PRICE): selector.EntitySelector(
            selector.EntitySelectorConfig(domain=["sensor", "input_number", "number"])
        ),
        vol.Optional(CONF_SCHEDULE_PRICE_BELOW): vol.All(
            _number(-1000, 1000, "any"), vol.Coerce(float)
        ),
        vol.Required(CONF_TARIFF, default=TARIFF_NONE): selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=TARIFF_KINDS,
                translation_key="tariff",
                mode=selector.SelectSelectorMode.LIST,
            )
        ),
        vol.Optional(CONF_PRICE): vol.All(_number(0, 1000, "any"), vol.Coerce(float)),
        vol.Optional(CONF_CURRENCY): selector.TextSelector(),
        vol.Optional(CONF_PRICE_ENTITY): selector.EntitySelector(
            selector.EntitySelectorConfig(domain=["sensor", "input_number", "number"])
        ),
        # The grid connection as Home Assistant power sensors (no Modbus grid meter).
        vol.Optional(CONF_GRID_POWER): selector.EntitySelector(
            selector.EntitySelectorConfig(domain="sensor", device_class="power")
        ),
        vol.Optional(CONF_GRID_EXPORT): selector.EntitySelector(
            selector.EntitySelectorConfig(domain="sensor", device_class="power")
        ),
        vol.Optional(CONF_GRID_NETS_PHASES, default=False): selector.BooleanSelector(),
        # A self-consumption community: charged energy split into solar and grid.
        vol.Optional(CONF_PV_POWER): selector.EntitySelector(
            selector.EntitySelectorConfig(domain="sensor", device_class="power")
        ),
        vol.Optional(CONF_SOLAR_PRICE): vol.All(_number(0, 1000, "any"), vol.Coerce(float)),
        vol.Optional(CONF_SOLAR_PRICE_ENTITY): selector.EntitySelector(
            selector.EntitySelectorConfig(domain=["sensor", "input_number", "number"])
        ),
    }
)


def _tariff_options(user_input: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The tariff options to store (none stores nothing) and the form's errors."""
    kind = user_input.get(CONF_TARIFF, TARIFF_NONE)
    if kind == TARIFF_NONE:
        if user_input.get(CONF_SOLAR_PRICE) is not None or user_input.get(CONF_SOLAR_PRICE_ENTITY):
            return {}, {CONF_TARIFF: "solar_price_needs_tariff"}
        return {}, {}
    options: dict[str, Any] = {CONF_TARIFF: kind}
    if currency := str(user_input.get(CONF_CURRENCY) or "").strip().upper():
        options[CONF_CURRENCY] = currency
    if kind == TARIFF_FIXED:
        if user_input.get(CONF_PRICE) is None:
            return {}, {CONF_PRICE: "price_required"}
        options[CONF_PRICE] = float(user_input[CONF_PRICE])
    else:
        if not user_input.get(CONF_PRICE_ENTITY):
            return {}, {CONF_PRICE_ENTITY: "price_entity_required"}
        options[CONF_PRICE_ENTITY] = user_input[CONF_PRICE_ENTITY]
    if user_input.get(CONF_SOLAR_PRICE) is not None and user_input.get(CONF_SOLAR_PRICE_ENTITY):
        return {}, {CONF_SOLAR_PRICE_ENTITY: "solar_price_twice"}
    if user_input.get(CONF_SOLAR_PRICE) is not None:
        options[CONF_SOLAR_PRICE] = float(user_input[CONF_SOLAR_PRICE])
    elif user_input.get(CONF_SOLAR_PRICE_ENTITY):
        options[CONF_SOLAR_PRICE_ENTITY] = user_input[CONF_SOLAR_PRICE_ENTITY]
    return options, {}


class ChargeZonesOptionsFlow(OptionsFlow):
    """Intervals pushed to connected stations, the load management's raise hold, the tariff."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The only step."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            tariff, errors = _tariff_options(user_input)
            out_of_range, placeholders = range_errors(
                HUB_OPTIONS_SCHEMA, user_input, await decimal_mark(self.hass)
            )
            errors |= out_of_range
            peak = float(user_input.get(CONF_PEAK_LIMIT) or 0)
            grid_meter = any(
                sub.data.get(CONF_GRID_METER) for sub in self.config_entry.subentries.values()
            )
            grid_sensors = {
                key: user_input[key]
                for key in (CONF_GRID_POWER, CONF_GRID_EXPORT)
                if user_input.get(key)
            }
            if grid_sensors and CONF_GRID_POWER not in grid_sensors:
                errors[CONF_GRID_POWER] = "grid_power_required"
            elif CONF_GRID_EXPORT in grid_sensors and (
                grid_sensors[CONF_GRID_EXPORT] == grid_sensors[CONF_GRID_POWER]
            ):
                errors[CONF_GRID_EXPORT] = "grid_export_same"
            elif grid_sensors and grid_meter:
                errors[CONF_GRID_POWER] = "grid_meter_twice"
            if (
                peak > 0
                and CONF_PEAK_LIMIT not in errors
                and not grid_meter
                and CONF_GRID_POWER not in grid_sensors
            ):
                errors[CONF_PEAK_LIMIT] = "peak_needs_grid_meter"
            window: dict[str, Any] = {
                key: user_input[key]
                for key in (CONF_SCHEDULE_WHEN, CONF_SCHEDULE_PRICE)
                if user_input.get(key)
            }
            if user_input.get(CONF_SCHEDULE_PRICE_BELOW) is not None:
                window[CONF_SCHEDULE_PRICE_BELOW] = float(user_input[CONF_SCHEDULE_PRICE_BELOW])
            if (
                CONF_SCHEDULE_PRICE in window
                and CONF_SCHEDULE_PRICE_BELOW not in window
                and CONF_SCHEDULE_PRICE_BELOW not in errors
            ):
                errors[CONF_SCHEDULE_PRICE_BELOW] = "price_below_required"
            if not errors:
                return self.async_create_entry(
                    data={
                        CONF_HEARTBEAT_INTERVAL: int(user_input[CONF_HEARTBEAT_INTERVAL]),
                        CONF_METER_INTERVAL: int(user_input[CONF_METER_INTERVAL]),
                        CONF_RAISE_HOLD: float(user_input[CONF_RAISE_HOLD]),
                        CONF_PROFILE_VALIDITY: int(user_input[CONF_PROFILE_VALIDITY]),
                        CONF_SENSOR_INTERVAL: int(user_input[CONF_SENSOR_INTERVAL]),
                        CONF_ROTATION_PERIOD: int(user_input[CONF_ROTATION_PERIOD]),
                        CONF_SOLAR_START_DELAY: int(user_input[CONF_SOLAR_START_DELAY]),
                        CONF_SOLAR_STOP_DELAY: int(user_input[CONF_SOLAR_STOP_DELAY]),
                        CONF_SOLAR_MIN_ON: int(user_input[CONF_SOLAR_MIN_ON]),
                        CONF_SOLAR_SMOOTHING: int(user_input[CONF_SOLAR_SMOOTHING]),
                        CONF_SOLAR_START_MARGIN: float(user_input[CONF_SOLAR_START_MARGIN]),
                        **({CONF_PEAK_LIMIT: peak} if peak > 0 else {}),
                        **(
                            {CONF_GRID_NETS_PHASES: True}
                            if user_input.get(CONF_GRID_NETS_PHASES)
                            else {}
                        ),
                        **grid_sensors,
                        **(
                            {CONF_PV_POWER: user_input[CONF_PV_POWER]}
                            if user_input.get(CONF_PV_POWER)
                            else {}
                        ),
                        **window,
                        **tariff,
                    }
                )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                HUB_OPTIONS_SCHEMA,
                user_input
                or {
                    CONF_CURRENCY: self.hass.config.currency,
                    **self.config_entry.options,
                },
            ),
            errors=errors,
            description_placeholders=placeholders,
        )
