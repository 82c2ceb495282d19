"""Time: a badge holder's departure time (their Scheduled sessions charge before it)."""

from __future__ import annotations

from datetime import time
from typing import Any

from homeassistant.components.time import TimeEntity, TimeEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import ChargeZonesEntity
from .sensors.badge import add_for_holders, holder_device_info
from .site import ChargeZonesConfigEntry, Site

PARALLEL_UPDATES = 0

DEPARTURE = TimeEntityDescription(key="holder_departure", translation_key="holder_departure")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeZonesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A departure time for every badge holder."""
    site = entry.runtime_data
    entry.async_on_unload(
        add_for_holders(
            site, lambda key, name: [HolderDepartureTime(site, key, name)], async_add_entities
        )
    )


class HolderDepartureTime(ChargeZonesEntity, TimeEntity):
    """When a badge holder leaves (their car must be charged by then).

    With their charging hours, their Scheduled sessions charge in the cheapest hours of
    the price forecast before it (dlm/cheapest.py). Unknown until set; with 0 charging
    hours the sessions follow the hub's charging window.
    """

    entity_description = DEPARTURE

    def __init__(self, site: Site, key: str, name: str) -> None:
        """Bind to a holder (by key; name: the device's)."""
        self.site = site
        self.key = key
        self._attr_unique_id = f"{site.entry.entry_id}_holder_{key}_departure"
        self._attr_device_info = holder_device_info(site, key, name)

    @property
    def native_value(self) -> time | None:
        """The departure time, if set."""
        value = self.site.sessions.holder_plans.get(self.key, {}).get("departure")
        return time.fromisoformat(value) if isinstance(value, str) else None

    def _snapshot(self) -> Any:
        return self.native_value

    async def async_set_value(self, value: time) -> None:
        """Store it (applies to the holder's open Scheduled sessions at once)."""
        self.site.sessions.set_holder_plan(self.key, departure=value.strftime("%H:%M"))
        self._handle_update()
