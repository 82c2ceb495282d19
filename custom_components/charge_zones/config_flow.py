"""Config flow: the hub, its options and reconfiguration; subentries.

Subentries: stations and badges (OCPP), and for load management Modbus connections (buses),
meters on them and electrical zones. Selects that point at other subentries hold their
subentry ids; the options are built when the form is shown and checked again on submit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
import contextlib
import errno
import logging
import os
import re
import socket
from typing import Any, Final

import probatio as vol

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import selector

from .billing import TARIFF_FIXED, TARIFF_KINDS, TARIFF_NONE
from .central.models import MODELS
from .central.server import listen_error, valid_station_id
from .const import (
    BADGE_ACTIVE,
    BADGE_BLOCKED,
    CONF_AMPERAGE,
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_CERTFILE,
    CONF_CONNECTION,
    CONF_CONNECTORS,
    CONF_CONSUMPTION_METER,
    CONF_CURRENCY,
    CONF_DLM_METERS,
    CONF_ENDPOINT,
    CONF_EXPIRY,
    CONF_FAILSAFE_CURRENT,
    CONF_GROUP,
    CONF_HEARTBEAT_INTERVAL,
    CONF_HOLDER,
    CONF_HOST,
    CONF_KEYFILE,
    CONF_KIND,
    CONF_MAX_CURRENT,
    CONF_METER_INTERVAL,
    CONF_METER_MODEL,
    CONF_MIN_CURRENT,
    CONF_MODEL,
    CONF_NAME,
    CONF_PARENT_ZONE,
    CONF_PARITY,
    CONF_PASSWORD,
    CONF_PHASES,
    CONF_POLL_INTERVAL,
    CONF_PORT,
    CONF_PRICE,
    CONF_PRICE_ENTITY,
    CONF_PRIORITY,
    CONF_PROFILE_VALIDITY,
    CONF_RAISE_HOLD,
    CONF_REGISTERS,
    CONF_SERIAL_PORT,
    CONF_STALE_AFTER,
    CONF_STATION_ID,
    CONF_STATUS,
    CONF_STOPBITS,
    CONF_TAG,
    CONF_TARIFF,
    CONF_TIMEOUT,
    CONF_TLS,
    CONF_UNIT,
    CONF_ZONE,
    CONF_ZONE_PHASES,
    DEFAULT_BAUDRATE,
    DEFAULT_FAILSAFE_CURRENT,
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_HOST,
    DEFAULT_METER_INTERVAL,
    DEFAULT_MODBUS_PORT,
    DEFAULT_MODBUS_TIMEOUT,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_PORT,
    DEFAULT_PROFILE_VALIDITY,
    DEFAULT_RAISE_HOLD,
    DEFAULT_STALE_AFTER,
    DOMAIN,
    ENDPOINT_LOCAL,
    ENDPOINT_REMOTE,
    ENTRY_MINOR_VERSION,
    ENTRY_VERSION,
    LOGGER,
    METER_MODEL_CUSTOM,
    MIN_SIGNAL_CURRENT,
    MODEL_STANDARD,
    PARITY_NONE,
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    SUBENTRY_BADGE,
    SUBENTRY_CONNECTION,
    SUBENTRY_METER,
    SUBENTRY_STATION,
    SUBENTRY_ZONE,
    TLS_FILES,
    TLS_HOME_ASSISTANT,
    TLS_NONE,
    WIRING_THREE_PHASES,
    ZONE_THREE_PHASES,
)
from .meters import (
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
from .meters.reader import OVER_RATING
from .site import ChargeZonesConfigEntry, server_ssl_context, tls_files
from .subentries import (
    KIND_RTU,
    KIND_RTU_OVER_TCP,
    KIND_TCP,
    PARITIES,
    TCP_KINDS,
    WIRINGS,
    ZONE_PHASES,
    connection_config,
    custom_meter_model,
)

# OCPP idTag: CiString20.
TAG_RE = re.compile(r"^[\x21-\x7e]{1,20}$")
MAX_STATION_CURRENT = 80


def _number(
    minimum: float, maximum: float, step: float = 1, unit: str | None = None
) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(
        min=minimum, max=maximum, step=step, mode=selector.NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)


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

STATION_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_STATION_ID): selector.TextSelector(),
        vol.Required(CONF_MODEL, default=MODEL_STANDARD): selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=list(MODELS), translation_key="model", mode=selector.SelectSelectorMode.LIST
            )
        ),
        vol.Required(CONF_CONNECTORS, default=1): vol.All(_number(1, 10), vol.Coerce(int)),
        vol.Required(CONF_PHASES, default=WIRING_THREE_PHASES): selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=list(WIRINGS),
                translation_key="phases",
                mode=selector.SelectSelectorMode.DROPDOWN,
            )
        ),
        vol.Required(CONF_MIN_CURRENT, default=MIN_SIGNAL_CURRENT): vol.All(
            _number(MIN_SIGNAL_CURRENT, MAX_STATION_CURRENT, 0.5, "A"), vol.Coerce(float)
        ),
        vol.Required(CONF_MAX_CURRENT, default=16): vol.All(
            _number(MIN_SIGNAL_CURRENT, MAX_STATION_CURRENT, 0.5, "A"), vol.Coerce(float)
        ),
        vol.Required(CONF_ENDPOINT, default=ENDPOINT_LOCAL): selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=[ENDPOINT_LOCAL, ENDPOINT_REMOTE],
                translation_key="endpoint",
                mode=selector.SelectSelectorMode.LIST,
            )
        ),
        vol.Optional(CONF_PASSWORD): selector.TextSelector(
            selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
        ),
    }
)

# Security profile 1 passwords: 16 to 40 printable ASCII characters (no spaces).
PASSWORD_RE = re.compile(rf"^[\x21-\x7e]{{{PASSWORD_MIN_LENGTH},{PASSWORD_MAX_LENGTH}}}$")

BADGE_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_TAG): selector.TextSelector(),
        vol.Required(CONF_HOLDER): selector.TextSelector(),
        vol.Required(CONF_STATUS, default=BADGE_ACTIVE): selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=[BADGE_ACTIVE, BADGE_BLOCKED],
                translation_key="badge_status",
                mode=selector.SelectSelectorMode.LIST,
            )
        ),
        vol.Optional(CONF_EXPIRY): selector.DateSelector(),
        vol.Optional(CONF_GROUP): selector.TextSelector(),
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
        if user_input is not None:
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
            data_schema=self.add_suggested_values_to_schema(
                ADDRESS_SCHEMA.extend(OPTIONS_SCHEMA.schema), user_input or {}
            ),
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
        )


HUB_OPTIONS_SCHEMA = OPTIONS_SCHEMA.extend(
    {
        vol.Required(CONF_RAISE_HOLD, default=DEFAULT_RAISE_HOLD): vol.All(
            _number(1, 600, unit="s"), vol.Coerce(float)
        ),
        vol.Required(CONF_PROFILE_VALIDITY, default=DEFAULT_PROFILE_VALIDITY): vol.All(
            _number(2, 120, unit="min"), vol.Coerce(int)
        ),
        vol.Required(CONF_TARIFF, default=TARIFF_NONE): selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=TARIFF_KINDS,
                translation_key="tariff",
                mode=selector.SelectSelectorMode.LIST,
            )
        ),
        vol.Optional(CONF_PRICE): vol.All(
            selector.NumberSelector(
                selector.NumberSelectorConfig(
                    min=0, max=1000, step="any", mode=selector.NumberSelectorMode.BOX
                )
            ),
            vol.Coerce(float),
        ),
        vol.Optional(CONF_CURRENCY): selector.TextSelector(),
        vol.Optional(CONF_PRICE_ENTITY): selector.EntitySelector(
            selector.EntitySelectorConfig(domain=["sensor", "input_number", "number"])
        ),
    }
)


def _tariff_options(user_input: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The tariff options to store (none stores nothing) and the form's errors."""
    kind = user_input.get(CONF_TARIFF, TARIFF_NONE)
    if kind == TARIFF_NONE:
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
    return options, {}


class ChargeZonesOptionsFlow(OptionsFlow):
    """Intervals pushed to connected stations, the load management's raise hold, the tariff."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The only step."""
        errors: dict[str, str] = {}
        if user_input is not None:
            tariff, errors = _tariff_options(user_input)
            if not errors:
                return self.async_create_entry(
                    data={
                        CONF_HEARTBEAT_INTERVAL: int(user_input[CONF_HEARTBEAT_INTERVAL]),
                        CONF_METER_INTERVAL: int(user_input[CONF_METER_INTERVAL]),
                        CONF_RAISE_HOLD: float(user_input[CONF_RAISE_HOLD]),
                        CONF_PROFILE_VALIDITY: int(user_input[CONF_PROFILE_VALIDITY]),
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
        )


class StationSubentryFlow(ConfigSubentryFlow):
    """Add or edit a charging station."""

    def _validate(
        self, user_input: dict[str, Any], editing: str | None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The form's errors and their placeholders.

        Identifiers that differ only in case are refused: OCPP compares them exactly,
        but installers, station apps and badges (not case-sensitive) do not.
        """
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        station_id = user_input[CONF_STATION_ID].strip()
        if not valid_station_id(station_id):
            errors[CONF_STATION_ID] = "invalid_station_id"
        for subentry in self._get_entry().subentries.values():
            if subentry.subentry_type != SUBENTRY_STATION or subentry.subentry_id == editing:
                continue
            other = str(subentry.data[CONF_STATION_ID])
            if other == station_id:
                errors[CONF_STATION_ID] = "already_configured"
            elif other.casefold() == station_id.casefold():
                errors[CONF_STATION_ID] = "station_id_case"
                placeholders["other"] = other
        if float(user_input[CONF_MIN_CURRENT]) > float(user_input[CONF_MAX_CURRENT]):
            errors[CONF_MIN_CURRENT] = "min_above_max"
        remote = user_input.get(CONF_ENDPOINT) == ENDPOINT_REMOTE
        if (zone := user_input.get(CONF_ZONE)) and not _is_subentry(
            self._get_entry(), zone, SUBENTRY_ZONE
        ):
            errors[CONF_ZONE] = "unknown_zone"
        elif zone and remote:
            errors[CONF_ZONE] = "remote_not_managed"
        password = user_input.get(CONF_PASSWORD) or ""
        if password and not PASSWORD_RE.match(password):
            errors[CONF_PASSWORD] = "invalid_password"
        elif remote and not password:
            errors[CONF_PASSWORD] = "remote_needs_password"
        return errors, placeholders

    @staticmethod
    def _data(user_input: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {
            CONF_STATION_ID: user_input[CONF_STATION_ID].strip(),
            CONF_MODEL: user_input[CONF_MODEL],
            CONF_CONNECTORS: int(user_input[CONF_CONNECTORS]),
            CONF_PHASES: user_input[CONF_PHASES],
            CONF_MIN_CURRENT: float(user_input[CONF_MIN_CURRENT]),
            CONF_MAX_CURRENT: float(user_input[CONF_MAX_CURRENT]),
        }
        if user_input.get(CONF_ENDPOINT) == ENDPOINT_REMOTE:
            data[CONF_ENDPOINT] = ENDPOINT_REMOTE
        elif user_input.get(CONF_ZONE):
            data[CONF_ZONE] = user_input[CONF_ZONE]
            if priority := int(user_input.get(CONF_PRIORITY) or 0):
                data[CONF_PRIORITY] = priority
        if user_input.get(CONF_PASSWORD):
            data[CONF_PASSWORD] = user_input[CONF_PASSWORD]
        return data

    def _schema(self) -> vol.Schema:
        """The station form; the zone field only when the hub has zones."""
        zones = _subentry_options(self._get_entry(), SUBENTRY_ZONE)
        if not zones:
            return STATION_SCHEMA
        return STATION_SCHEMA.extend(
            {
                vol.Optional(CONF_ZONE): _subentry_select(zones),
                vol.Optional(CONF_PRIORITY, default=0): vol.All(_number(0, 9), vol.Coerce(int)),
            }
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a station; its name is its OCPP identifier."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            errors, placeholders = self._validate(user_input, None)
            if not errors:
                data = self._data(user_input)
                return self.async_create_entry(
                    title=data[CONF_STATION_ID], data=data, unique_id=data[CONF_STATION_ID]
                )
        suggested: dict[str, Any] = dict(user_input or {})
        entry = self._get_entry()
        if not suggested and entry.state is ConfigEntryState.LOADED:
            unknown = list(entry.runtime_data.unknown_stations)
            if unknown:
                suggested[CONF_STATION_ID] = unknown[-1]
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(self._schema(), suggested),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a station."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            errors, placeholders = self._validate(user_input, subentry.subentry_id)
            if not errors:
                data = self._data(user_input)
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    title=data[CONF_STATION_ID],
                    unique_id=data[CONF_STATION_ID],
                    data=data,
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                self._schema(), user_input or dict(subentry.data)
            ),
            errors=errors,
            description_placeholders=placeholders,
        )


def badge_unique_id(tag: str) -> str:
    """Unique id of a badge subentry (never equal to a station's OCPP id, which has no space)."""
    return f"badge {tag.upper()}"


class BadgeSubentryFlow(ConfigSubentryFlow):
    """Add or edit an RFID badge."""

    def _validate(self, user_input: dict[str, Any], editing: str | None) -> dict[str, str]:
        errors: dict[str, str] = {}
        tag = user_input[CONF_TAG].strip()
        if not TAG_RE.match(tag):
            errors[CONF_TAG] = "invalid_tag"
        for subentry in self._get_entry().subentries.values():
            if (
                subentry.subentry_type == SUBENTRY_BADGE
                and subentry.subentry_id != editing
                and subentry.data[CONF_TAG].upper() == tag.upper()
            ):
                errors[CONF_TAG] = "already_configured"
        if not user_input[CONF_HOLDER].strip():
            errors[CONF_HOLDER] = "holder_required"
        group = (user_input.get(CONF_GROUP) or "").strip()
        if group and not TAG_RE.match(group):
            errors[CONF_GROUP] = "invalid_tag"
        return errors

    @staticmethod
    def _data(user_input: dict[str, Any]) -> dict[str, Any]:
        data = {
            CONF_TAG: user_input[CONF_TAG].strip(),
            CONF_HOLDER: user_input[CONF_HOLDER].strip(),
            CONF_STATUS: user_input[CONF_STATUS],
        }
        if user_input.get(CONF_EXPIRY):
            data[CONF_EXPIRY] = user_input[CONF_EXPIRY]
        if group := (user_input.get(CONF_GROUP) or "").strip():
            data[CONF_GROUP] = group
        return data

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a badge."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = self._validate(user_input, None)
            if not errors:
                data = self._data(user_input)
                return self.async_create_entry(
                    title=f"{data[CONF_HOLDER]} ({data[CONF_TAG]})",
                    data=data,
                    unique_id=badge_unique_id(data[CONF_TAG]),
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(BADGE_SCHEMA, user_input or {}),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a badge (holder, status, expiry, even its tag)."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = self._validate(user_input, subentry.subentry_id)
            if not errors:
                data = self._data(user_input)
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    title=f"{data[CONF_HOLDER]} ({data[CONF_TAG]})",
                    unique_id=badge_unique_id(data[CONF_TAG]),
                    data=data,
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                BADGE_SCHEMA, user_input or dict(subentry.data)
            ),
            errors=errors,
        )


# --- load management: shared helpers ------------------------------------------------------

#: Form-only field: save without testing the connection or reading the meter.
CONF_SKIP_TEST: Final = "skip_test"

CONNECTION_KINDS: Final = (KIND_TCP, KIND_RTU_OVER_TCP, KIND_RTU)
BAUDRATES: Final = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)

#: Seconds the connection test waits for a TCP connection to open.
CONNECT_TEST_TIMEOUT: Final = 3.0
#: Seconds the test read of a meter may take in all (each request has the bus timeout).
READ_TEST_LIMIT: Final = 20.0

MAX_UNIT: Final = 247
MAX_AMPERAGE: Final = 4000
MAX_ZONE_CURRENT: Final = 1000
MAX_FAILSAFE_CURRENT: Final = 32


CUSTOM_REGISTERS_EXAMPLE: Final = (
    "```yaml\n"
    "current_l1:\n  function: 4\n  address: 0x0006\n  data_type: float32\n"
    "current_l2:\n  function: 4\n  address: 0x0008\n  data_type: float32\n"
    "current_l3:\n  function: 4\n  address: 0x000A\n  data_type: float32\n"
    "import_energy:\n  function: 4\n  address: 0x0048\n  data_type: float32\n"
    "  word_order: big\n  scale: 1000\n"
    "```"
)


def _subentry_options(
    entry: ConfigEntry, subentry_type: str, exclude: str | None = None
) -> list[selector.SelectOptionDict]:
    """Subentries of one type as select options (value: subentry id, label: title)."""
    options = [
        selector.SelectOptionDict(value=subentry.subentry_id, label=subentry.title)
        for subentry in entry.subentries.values()
        if subentry.subentry_type == subentry_type and subentry.subentry_id != exclude
    ]
    return sorted(options, key=lambda option: option["label"].casefold())


def _subentry_select(
    options: list[selector.SelectOptionDict], *, multiple: bool = False
) -> selector.SelectSelector:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=options, multiple=multiple, mode=selector.SelectSelectorMode.DROPDOWN
        )
    )


def _select(options: list[str], translation_key: str | None = None) -> selector.SelectSelector:
    config = selector.SelectSelectorConfig(
        options=options, mode=selector.SelectSelectorMode.DROPDOWN
    )
    if translation_key is not None:
        config["translation_key"] = translation_key
    return selector.SelectSelector(config)


def _is_subentry(entry: ConfigEntry, subentry_id: str, subentry_type: str) -> bool:
    """Whether the entry has a subentry of this type with this id."""
    subentry = entry.subentries.get(subentry_id)
    return subentry is not None and subentry.subentry_type == subentry_type


def _taken(entry: ConfigEntry, subentry_type: str, unique_id: str, editing: str | None) -> bool:
    """Whether another subentry of this type already has this unique id."""
    return any(
        subentry.subentry_type == subentry_type
        and subentry.subentry_id != editing
        and subentry.unique_id == unique_id
        for subentry in entry.subentries.values()
    )


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
    if kind in TCP_KINDS:
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
        if errors:
            return data, errors, {}
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
        return data, {}, {}


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
            )
        return self.async_create_entry(
            title=data[CONF_NAME], data=data, unique_id=meter_unique_id(data)
        )


# --- electrical zones ---------------------------------------------------------------------


def zone_unique_id(name: str) -> str:
    """Unique id of a zone subentry: its name, not case-sensitive."""
    return f"zone {name.casefold()}"


def _parent_cycle(entry: ConfigEntry, zone_id: str | None, parent_id: str) -> bool:
    """Whether the chain of parents from parent_id loops (through zone_id or otherwise)."""
    seen: set[str] = set()
    current: str | None = parent_id
    while current is not None:
        if current == zone_id or current in seen:
            return True
        seen.add(current)
        subentry = entry.subentries.get(current)
        if subentry is None or subentry.subentry_type != SUBENTRY_ZONE:
            return False
        current = subentry.data.get(CONF_PARENT_ZONE)
    return False


class ZoneSubentryFlow(ConfigSubentryFlow):
    """Add or edit an electrical zone."""

    def _schema(self, editing: str | None) -> vol.Schema:
        entry = self._get_entry()
        fields: dict[vol.Marker, Any] = {
            vol.Required(CONF_NAME): selector.TextSelector(),
            # 0 A pauses the zone (as its Maximum current number does). Not Required:
            # the frontend would fill a required number in with its minimum, 0 A, a
            # pause; the installer must enter the breaker's rating (see _validate).
            vol.Optional(CONF_MAX_CURRENT): vol.All(
                _number(0, MAX_ZONE_CURRENT, 1, "A"), vol.Coerce(float)
            ),
            vol.Required(CONF_ZONE_PHASES, default=ZONE_THREE_PHASES): _select(
                list(ZONE_PHASES), "zone_phases"
            ),
        }
        if meters := _subentry_options(entry, SUBENTRY_METER):
            fields[vol.Optional(CONF_DLM_METERS)] = _subentry_select(meters, multiple=True)
            fields[vol.Optional(CONF_CONSUMPTION_METER)] = _subentry_select(meters)
        if zones := _subentry_options(entry, SUBENTRY_ZONE, exclude=editing):
            fields[vol.Optional(CONF_PARENT_ZONE)] = _subentry_select(zones)
        fields[vol.Required(CONF_FAILSAFE_CURRENT, default=DEFAULT_FAILSAFE_CURRENT)] = vol.All(
            _number(MIN_SIGNAL_CURRENT, MAX_FAILSAFE_CURRENT, 0.5, "A"), vol.Coerce(float)
        )
        fields[vol.Required(CONF_STALE_AFTER, default=DEFAULT_STALE_AFTER)] = vol.All(
            _number(2, 600, 1, "s"), vol.Coerce(float)
        )
        return vol.Schema(fields)

    def _validate(
        self, user_input: dict[str, Any], editing: str | None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The zone's data and the field errors.

        The fail-safe current (what the stations fall back to when Home Assistant is
        down) is a setting of its own, checked where the user enters it or a maximum:
        a fail-safe current entered must not be above the maximum (a paused zone, 0 A,
        has none to check it against: refused until the zone has its maximum again); a
        maximum entered, unless 0 A (a pause), must not be below the fail-safe current.
        Values shown and saved untouched (a pause or a maximum an automation set through
        the zone's number) are never refused.
        """
        entry = self._get_entry()
        data: dict[str, Any] = {
            CONF_NAME: user_input[CONF_NAME].strip(),
            CONF_MAX_CURRENT: float(user_input.get(CONF_MAX_CURRENT) or 0),
            CONF_ZONE_PHASES: user_input[CONF_ZONE_PHASES],
            CONF_DLM_METERS: list(dict.fromkeys(user_input.get(CONF_DLM_METERS) or [])),
            CONF_FAILSAFE_CURRENT: float(user_input[CONF_FAILSAFE_CURRENT]),
            CONF_STALE_AFTER: float(user_input[CONF_STALE_AFTER]),
        }
        if consumption := user_input.get(CONF_CONSUMPTION_METER):
            data[CONF_CONSUMPTION_METER] = consumption
        if parent := user_input.get(CONF_PARENT_ZONE):
            data[CONF_PARENT_ZONE] = parent

        errors: dict[str, str] = {}
        if not data[CONF_NAME]:
            errors[CONF_NAME] = "name_required"
        elif _taken(entry, SUBENTRY_ZONE, zone_unique_id(data[CONF_NAME]), editing):
            errors[CONF_NAME] = "already_configured"
        if any(not _is_subentry(entry, m, SUBENTRY_METER) for m in data[CONF_DLM_METERS]):
            errors[CONF_DLM_METERS] = "unknown_meter"
        if consumption:
            if not _is_subentry(entry, consumption, SUBENTRY_METER):
                errors[CONF_CONSUMPTION_METER] = "unknown_meter"
            elif consumption in data[CONF_DLM_METERS]:
                errors[CONF_CONSUMPTION_METER] = "consumption_meter_is_dlm"
        if parent:
            if not _is_subentry(entry, parent, SUBENTRY_ZONE) and parent != editing:
                errors[CONF_PARENT_ZONE] = "unknown_zone"
            elif _parent_cycle(entry, editing, parent):
                errors[CONF_PARENT_ZONE] = "parent_cycle"
        if user_input.get(CONF_MAX_CURRENT) is None:
            errors[CONF_MAX_CURRENT] = "max_current_required"
            return data, errors
        found = entry.subentries.get(editing) if editing else None
        stored = found.data if found else {}
        maximum, failsafe = data[CONF_MAX_CURRENT], data[CONF_FAILSAFE_CURRENT]
        if failsafe > maximum and (
            failsafe != stored.get(CONF_FAILSAFE_CURRENT)
            or (maximum > 0 and maximum != stored.get(CONF_MAX_CURRENT))
        ):
            errors[CONF_FAILSAFE_CURRENT] = "failsafe_above_max"
        return data, errors

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a zone."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = self._validate(user_input, None)
            if not errors:
                return self.async_create_entry(
                    title=data[CONF_NAME], data=data, unique_id=zone_unique_id(data[CONF_NAME])
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(self._schema(None), user_input or {}),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a zone."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = self._validate(user_input, subentry.subentry_id)
            if not errors:
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    title=data[CONF_NAME],
                    unique_id=zone_unique_id(data[CONF_NAME]),
                    data=data,
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                self._schema(subentry.subentry_id), user_input or dict(subentry.data)
            ),
            errors=errors,
        )
