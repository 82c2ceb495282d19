"""Repairs: add a station that tried to connect, in one step."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import probatio as vol

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant

from .const import (
    CONF_CONNECTORS,
    CONF_MAX_CURRENT,
    CONF_MIN_CURRENT,
    CONF_MODEL,
    CONF_PHASES,
    CONF_STATION_ID,
    MIN_SIGNAL_CURRENT,
    MODEL_STANDARD,
    SUBENTRY_STATION,
    WIRING_THREE_PHASES,
)


class AddUnknownStationFlow(RepairsFlow):
    """Confirm to add the station with default settings (editable afterwards)."""

    def __init__(self, entry_id: str, station_id: str) -> None:
        """Remember which station."""
        self._entry_id = entry_id
        self._station_id = station_id

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Start."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Add it."""
        if user_input is None:
            return self.async_show_form(
                step_id="confirm",
                data_schema=vol.Schema({}),
                description_placeholders={"station_id": self._station_id},
            )
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        if any(
            s.subentry_type == SUBENTRY_STATION and s.data[CONF_STATION_ID] == self._station_id
            for s in entry.subentries.values()
        ):
            return self.async_create_entry(data={})
        self.hass.config_entries.async_add_subentry(
            entry,
            ConfigSubentry(
                data=MappingProxyType(
                    {
                        CONF_STATION_ID: self._station_id,
                        CONF_MODEL: MODEL_STANDARD,
                        CONF_CONNECTORS: 1,
                        CONF_PHASES: WIRING_THREE_PHASES,
                        CONF_MIN_CURRENT: MIN_SIGNAL_CURRENT,
                        CONF_MAX_CURRENT: 16.0,
                    }
                ),
                subentry_type=SUBENTRY_STATION,
                title=self._station_id,
                unique_id=self._station_id,
            ),
        )
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Create the fix flow of a repair issue."""
    assert data is not None
    return AddUnknownStationFlow(str(data["entry_id"]), str(data["station_id"]))
