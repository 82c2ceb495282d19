"""Config flow: the hub, its options and reconfiguration; stations and badges as subentries."""

from __future__ import annotations

import re
from typing import Any

import probatio as vol

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.core import callback
from homeassistant.helpers import selector

from .central.models import MODELS, Wiring
from .central.server import listen_error, valid_station_id
from .const import (
    BADGE_ACTIVE,
    BADGE_BLOCKED,
    CONF_CONNECTORS,
    CONF_EXPIRY,
    CONF_HEARTBEAT_INTERVAL,
    CONF_HOLDER,
    CONF_HOST,
    CONF_MAX_CURRENT,
    CONF_METER_INTERVAL,
    CONF_MIN_CURRENT,
    CONF_MODEL,
    CONF_PHASES,
    CONF_PORT,
    CONF_STATION_ID,
    CONF_STATUS,
    CONF_TAG,
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_HOST,
    DEFAULT_METER_INTERVAL,
    DEFAULT_PORT,
    DOMAIN,
    MIN_SIGNAL_CURRENT,
    MODEL_STANDARD,
    SUBENTRY_BADGE,
    SUBENTRY_STATION,
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
    }
)

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
        vol.Required(CONF_PHASES, default=Wiring.L1_L2_L3.value): selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=[w.value for w in Wiring],
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
    }
)

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
    }
)


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
        return {"base": "cannot_listen"}, {"host": host, "port": str(port), "error": error}
    return {}, {}


class ChargeZonesConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create a Charge Zones hub."""

    VERSION = 1
    MINOR_VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> ChargeZonesOptionsFlow:
        """Options: intervals."""
        return ChargeZonesOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Stations and badges."""
        return {SUBENTRY_STATION: StationSubentryFlow, SUBENTRY_BADGE: BadgeSubentryFlow}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Listen address, port and intervals."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            self._async_abort_entries_match({CONF_PORT: int(user_input[CONF_PORT])})
            errors, placeholders = await _address_errors(user_input)
            if not errors:
                return self.async_create_entry(
                    title=f"Charge Zones (port {int(user_input[CONF_PORT])})",
                    data={
                        CONF_HOST: user_input[CONF_HOST].strip(),
                        CONF_PORT: int(user_input[CONF_PORT]),
                    },
                    options={
                        CONF_HEARTBEAT_INTERVAL: int(user_input[CONF_HEARTBEAT_INTERVAL]),
                        CONF_METER_INTERVAL: int(user_input[CONF_METER_INTERVAL]),
                    },
                )
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
        """Move the OCPP server to another address or port."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            port = int(user_input[CONF_PORT])
            for other in self._async_current_entries(include_ignore=False):
                if other.entry_id != entry.entry_id and int(other.data[CONF_PORT]) == port:
                    return self.async_abort(reason="already_configured")
            errors, placeholders = await _address_errors(user_input, entry)
            if not errors:
                return self.async_update_and_abort(
                    entry,
                    title=f"Charge Zones (port {port})",
                    data_updates={CONF_HOST: user_input[CONF_HOST].strip(), CONF_PORT: port},
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                ADDRESS_SCHEMA, user_input or dict(entry.data)
            ),
            errors=errors,
            description_placeholders=placeholders,
        )


class ChargeZonesOptionsFlow(OptionsFlow):
    """Heartbeat and meter value intervals, pushed to connected stations."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The only step."""
        if user_input is not None:
            return self.async_create_entry(
                data={key: int(value) for key, value in user_input.items()}
            )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA, dict(self.config_entry.options)
            ),
        )


class StationSubentryFlow(ConfigSubentryFlow):
    """Add or edit a charging station."""

    def _validate(self, user_input: dict[str, Any], editing: str | None) -> dict[str, str]:
        errors: dict[str, str] = {}
        station_id = user_input[CONF_STATION_ID].strip()
        if not valid_station_id(station_id):
            errors[CONF_STATION_ID] = "invalid_station_id"
        for subentry in self._get_entry().subentries.values():
            if (
                subentry.subentry_type == SUBENTRY_STATION
                and subentry.subentry_id != editing
                and subentry.data[CONF_STATION_ID] == station_id
            ):
                errors[CONF_STATION_ID] = "already_configured"
        if float(user_input[CONF_MIN_CURRENT]) > float(user_input[CONF_MAX_CURRENT]):
            errors[CONF_MIN_CURRENT] = "min_above_max"
        return errors

    @staticmethod
    def _data(user_input: dict[str, Any]) -> dict[str, Any]:
        return {
            CONF_STATION_ID: user_input[CONF_STATION_ID].strip(),
            CONF_MODEL: user_input[CONF_MODEL],
            CONF_CONNECTORS: int(user_input[CONF_CONNECTORS]),
            CONF_PHASES: user_input[CONF_PHASES],
            CONF_MIN_CURRENT: float(user_input[CONF_MIN_CURRENT]),
            CONF_MAX_CURRENT: float(user_input[CONF_MAX_CURRENT]),
        }

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a station; its name is its OCPP identifier."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = self._validate(user_input, None)
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
            data_schema=self.add_suggested_values_to_schema(STATION_SCHEMA, suggested),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a station."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = self._validate(user_input, subentry.subentry_id)
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
                STATION_SCHEMA, user_input or dict(subentry.data)
            ),
            errors=errors,
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
