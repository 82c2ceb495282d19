"""The charging station form (add and edit)."""

from __future__ import annotations

import re
from typing import Any

import probatio as vol

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.helpers import selector

from ..central.models import MODELS
from ..central.server import valid_station_id
from ..const import (
    CONF_CHARGING_MODE,
    CONF_CONNECTORS,
    CONF_ENDPOINT,
    CONF_MAX_CURRENT,
    CONF_MIN_CURRENT,
    CONF_MODEL,
    CONF_PASSWORD,
    CONF_PHASE_SWITCHING,
    CONF_PHASES,
    CONF_PRIORITY,
    CONF_STATION_ID,
    CONF_ZONE,
    ENDPOINT_LOCAL,
    ENDPOINT_REMOTE,
    MIN_SIGNAL_CURRENT,
    MODEL_STANDARD,
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    SUBENTRY_STATION,
    SUBENTRY_ZONE,
    WIRING_THREE_PHASES,
)
from ..dlm.solar import ChargingMode
from ..subentries import (
    WIRINGS,
    station_wiring,
)
from .common import (
    RECONFIGURED,
    _is_subentry,
    _number,
    _select,
    _subentry_options,
    _subentry_select,
    decimal_mark,
    range_errors,
)

MAX_STATION_CURRENT = 80


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


class StationSubentryFlow(ConfigSubentryFlow):
    """Add or edit a charging station."""

    def _validate(
        self, user_input: dict[str, Any], editing: str | None, mark: str
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
        out_of_range, range_placeholders = range_errors(self._schema(), user_input, mark)
        if out_of_range:  # the currents are not compared while one is out of its range
            errors |= out_of_range
            placeholders |= range_placeholders
        elif float(user_input[CONF_MIN_CURRENT]) > float(user_input[CONF_MAX_CURRENT]):
            errors[CONF_MIN_CURRENT] = "min_above_max"
        remote = user_input.get(CONF_ENDPOINT) == ENDPOINT_REMOTE
        if (zone := user_input.get(CONF_ZONE)) and not _is_subentry(
            self._get_entry(), zone, SUBENTRY_ZONE
        ):
            errors[CONF_ZONE] = "unknown_zone"
        elif zone and remote:
            errors[CONF_ZONE] = "remote_not_managed"
        if user_input.get(CONF_PHASE_SWITCHING) and (
            station_wiring(user_input).phase_count != 3 or int(user_input[CONF_CONNECTORS]) != 1
        ):
            errors[CONF_PHASE_SWITCHING] = "phase_switching_three_phase"
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
            mode = user_input.get(CONF_CHARGING_MODE) or ChargingMode.FAST
            if mode != ChargingMode.FAST:
                data[CONF_CHARGING_MODE] = str(mode)
            if user_input.get(CONF_PHASE_SWITCHING):
                data[CONF_PHASE_SWITCHING] = True
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
                vol.Optional(CONF_CHARGING_MODE, default=ChargingMode.FAST.value): _select(
                    [str(mode) for mode in ChargingMode], "charging_mode"
                ),
                vol.Optional(CONF_PHASE_SWITCHING, default=False): selector.BooleanSelector(),
            }
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a station; its name is its OCPP identifier."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            errors, placeholders = self._validate(user_input, None, await decimal_mark(self.hass))
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
            errors, placeholders = self._validate(
                user_input, subentry.subentry_id, await decimal_mark(self.hass)
            )
            if not errors:
                data = self._data(user_input)
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    title=data[CONF_STATION_ID],
                    unique_id=data[CONF_STATION_ID],
                    data=data,
                    reason=RECONFIGURED,  # our words, not Home Assistant's default
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                self._schema(), user_input or dict(subentry.data)
            ),
            errors=errors,
            description_placeholders=placeholders,
        )
