"""The RFID badge form (add and edit)."""

from __future__ import annotations

import re
from typing import Any

import probatio as vol

from homeassistant.config_entries import (
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.helpers import selector

from ..const import (
    BADGE_ACTIVE,
    BADGE_BLOCKED,
    CONF_CHARGING_MODE,
    CONF_EXPIRY,
    CONF_GROUP,
    CONF_HOLDER,
    CONF_STATUS,
    CONF_TAG,
    SUBENTRY_BADGE,
)
from ..dlm.solar import ChargingMode
from .common import RECONFIGURED

# OCPP idTag: CiString20.
TAG_RE = re.compile(r"^[\x21-\x7e]{1,20}$")


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
        vol.Optional(CONF_CHARGING_MODE): selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=[str(mode) for mode in ChargingMode],
                translation_key="charging_mode",
                mode=selector.SelectSelectorMode.DROPDOWN,
            )
        ),
    }
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
        if mode := user_input.get(CONF_CHARGING_MODE):
            data[CONF_CHARGING_MODE] = mode
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
                    reason=RECONFIGURED,  # our words, not Home Assistant's default
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                BADGE_SCHEMA, user_input or dict(subentry.data)
            ),
            errors=errors,
        )
