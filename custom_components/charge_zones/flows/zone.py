"""The electrical zone form (add and edit)."""

from __future__ import annotations

from typing import Any, Final

import probatio as vol

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.helpers import selector

from ..const import (
    CONF_CONSUMPTION_METER,
    CONF_DLM_METERS,
    CONF_FAILSAFE_CURRENT,
    CONF_MAX_CURRENT,
    CONF_NAME,
    CONF_PARENT_ZONE,
    CONF_REDUCE_PRICE,
    CONF_REDUCE_PRICE_ABOVE,
    CONF_REDUCE_WHEN,
    CONF_REDUCED_CURRENT,
    CONF_STALE_AFTER,
    CONF_ZONE_PHASES,
    DEFAULT_FAILSAFE_CURRENT,
    DEFAULT_STALE_AFTER,
    MIN_SIGNAL_CURRENT,
    SUBENTRY_METER,
    SUBENTRY_ZONE,
    ZONE_THREE_PHASES,
)
from ..subentries import (
    ZONE_PHASES,
)
from .common import (
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

MAX_ZONE_CURRENT: Final = 1000


MAX_FAILSAFE_CURRENT: Final = 32


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


def _reduction_errors(data: dict[str, Any]) -> dict[str, str]:
    """A reduced maximum needs what triggers it, and the other way round."""
    reduced = data.get(CONF_REDUCED_CURRENT)
    triggers = data.get(CONF_REDUCE_WHEN) or data.get(CONF_REDUCE_PRICE)
    if reduced is None:
        return {CONF_REDUCED_CURRENT: "reduced_current_required"} if triggers else {}
    if not triggers:
        return {CONF_REDUCE_WHEN: "reduce_trigger_required"}
    if reduced > data[CONF_MAX_CURRENT] > 0:
        return {CONF_REDUCED_CURRENT: "reduced_above_max"}
    if data.get(CONF_REDUCE_PRICE) and data.get(CONF_REDUCE_PRICE_ABOVE) is None:
        return {CONF_REDUCE_PRICE_ABOVE: "price_above_required"}
    return {}


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
        # Tariff windows: a lower maximum while an entity is on or a price is high.
        fields[vol.Optional(CONF_REDUCED_CURRENT)] = vol.All(
            _number(0, MAX_ZONE_CURRENT, 1, "A"), vol.Coerce(float)
        )
        fields[vol.Optional(CONF_REDUCE_WHEN)] = selector.EntitySelector(
            selector.EntitySelectorConfig(
                domain=["schedule", "binary_sensor", "input_boolean", "switch"]
            )
        )
        fields[vol.Optional(CONF_REDUCE_PRICE)] = selector.EntitySelector(
            selector.EntitySelectorConfig(domain=["sensor", "input_number", "number"])
        )
        fields[vol.Optional(CONF_REDUCE_PRICE_ABOVE)] = vol.All(
            _number(-1000, 1000, "any"), vol.Coerce(float)
        )
        return vol.Schema(fields)

    def _validate(
        self, user_input: dict[str, Any], editing: str | None, mark: str
    ) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
        """The zone's data, the field errors and their placeholders.

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
        for key in (CONF_REDUCE_WHEN, CONF_REDUCE_PRICE):
            if user_input.get(key):
                data[key] = user_input[key]
        for key in (CONF_REDUCED_CURRENT, CONF_REDUCE_PRICE_ABOVE):
            if user_input.get(key) is not None:
                data[key] = float(user_input[key])

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
        out_of_range, placeholders = range_errors(self._schema(editing), user_input, mark)
        if out_of_range:  # the currents are not compared while one is out of its range
            return data, errors | out_of_range, placeholders
        if user_input.get(CONF_MAX_CURRENT) is None:
            errors[CONF_MAX_CURRENT] = "max_current_required"
            return data, errors, placeholders
        found = entry.subentries.get(editing) if editing else None
        stored = found.data if found else {}
        maximum, failsafe = data[CONF_MAX_CURRENT], data[CONF_FAILSAFE_CURRENT]
        if failsafe > maximum and (
            failsafe != stored.get(CONF_FAILSAFE_CURRENT)
            or (maximum > 0 and maximum != stored.get(CONF_MAX_CURRENT))
        ):
            errors[CONF_FAILSAFE_CURRENT] = "failsafe_above_max"
        errors |= _reduction_errors(data)
        return data, errors, placeholders

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a zone."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            data, errors, placeholders = self._validate(
                user_input, None, await decimal_mark(self.hass)
            )
            if not errors:
                return self.async_create_entry(
                    title=data[CONF_NAME], data=data, unique_id=zone_unique_id(data[CONF_NAME])
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(self._schema(None), user_input or {}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a zone."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            data, errors, placeholders = self._validate(
                user_input, subentry.subentry_id, await decimal_mark(self.hass)
            )
            if not errors:
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    title=data[CONF_NAME],
                    unique_id=zone_unique_id(data[CONF_NAME]),
                    data=data,
                    reason=RECONFIGURED,  # our words, not Home Assistant's default
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                self._schema(subentry.subentry_id), user_input or dict(subentry.data)
            ),
            errors=errors,
            description_placeholders=placeholders,
        )
