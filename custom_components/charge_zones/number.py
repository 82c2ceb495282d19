"""Number: a station's and a zone's maximum current, a badge holder's charging hours."""

from __future__ import annotations

from typing import Any

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import EntityCategory, UnitOfElectricCurrent, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_MAX_CURRENT, MIN_SIGNAL_CURRENT
from .entity import (
    ChargeZonesEntity,
    LoadEntity,
    StationEntity,
    add_for_stations,
    add_for_subentries,
    zone_device_info,
)
from .sensors.badge import add_for_holders, holder_device_info
from .site import ChargeZonesConfigEntry, Site
from .stations import Station

PARALLEL_UPDATES = 1

MAX_STATION_CURRENT = 80.0

MAX_CURRENT = NumberEntityDescription(
    key="max_current",
    translation_key="max_current",
    device_class=NumberDeviceClass.CURRENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    native_step=0.5,
    native_max_value=MAX_STATION_CURRENT,
    mode=NumberMode.BOX,
    entity_category=EntityCategory.CONFIG,
)

CHARGING_HOURS = NumberEntityDescription(
    key="holder_charging_hours",
    translation_key="holder_charging_hours",
    device_class=NumberDeviceClass.DURATION,
    native_unit_of_measurement=UnitOfTime.HOURS,
    native_min_value=0,
    native_max_value=24,
    native_step=0.25,
    mode=NumberMode.BOX,
)

ZONE_MAX_CURRENT = NumberEntityDescription(
    key="zone_max_current",
    translation_key="zone_max_current",
    device_class=NumberDeviceClass.CURRENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    native_step=1,
    native_max_value=1000,
    mode=NumberMode.BOX,
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeZonesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the maximum current of every local station and of every zone."""
    site = entry.runtime_data
    entry.async_on_unload(
        add_for_subentries(
            site,
            "zone",
            lambda key: [ZoneMaxCurrentNumber(site, key, ZONE_MAX_CURRENT)],
            async_add_entities,
        )
    )

    def station_numbers(station: Station) -> list[MaxCurrentNumber]:
        # A remote station is never sent a limit: no maximum to set.
        if station.config.remote:
            return []
        return [MaxCurrentNumber(site, station, MAX_CURRENT)]

    entry.async_on_unload(add_for_stations(site, "number", station_numbers, async_add_entities))
    entry.async_on_unload(
        add_for_holders(
            site, lambda key, name: [ChargingHoursNumber(site, key, name)], async_add_entities
        )
    )


class ChargingHoursNumber(ChargeZonesEntity, NumberEntity):
    """The hours of charging a holder's car needs before their departure time.

    With a departure time, their Scheduled sessions charge in the cheapest hours of the
    price forecast before it (dlm/cheapest.py); 0: no plan (the hub's charging window).
    """

    entity_description = CHARGING_HOURS

    def __init__(self, site: Site, key: str, name: str) -> None:
        """Bind to a holder (by key; name: the device's)."""
        self.site = site
        self.key = key
        self._attr_unique_id = f"{site.entry.entry_id}_holder_{key}_charging_hours"
        self._attr_device_info = holder_device_info(site, key, name)

    @property
    def native_value(self) -> float:
        """The hours needed (0: none set)."""
        return float(self.site.sessions.holder_plans.get(self.key, {}).get("hours", 0.0))

    def _snapshot(self) -> Any:
        return self.native_value

    async def async_set_native_value(self, value: float) -> None:
        """Store it (applies to the holder's open Scheduled sessions at once)."""
        self.site.sessions.set_holder_plan(self.key, hours=float(value) or None)
        self._handle_update()


class MaxCurrentNumber(StationEntity, NumberEntity):
    """The station's maximum current; stored in its subentry, sent as a profile."""

    @property
    def available(self) -> bool:
        """Configurable while the station is offline too."""
        return True

    @property
    def native_min_value(self) -> float:
        """Never below what a car can be signalled."""
        return max(MIN_SIGNAL_CURRENT, self.station.config.min_current)

    @property
    def native_value(self) -> float:
        """The configured maximum."""
        return self.station.config.max_current

    def _snapshot(self) -> Any:
        return (self.station.config.max_current, self.station.config.min_current)

    async def async_set_native_value(self, value: float) -> None:
        """Store it; the site applies it to the station."""
        entry = self.site.entry
        subentry = entry.subentries[self.station.config.subentry_id]
        self.hass.config_entries.async_update_subentry(
            entry, subentry, data={**subentry.data, CONF_MAX_CURRENT: float(value)}
        )


class ZoneMaxCurrentNumber(LoadEntity, NumberEntity):
    """A zone's maximum current per phase, changeable at run time (e.g. by an automation)."""

    def __init__(self, site: Site, key: str, description: NumberEntityDescription) -> None:
        """Bind to a zone."""
        super().__init__(site, key, description)
        self._attr_device_info = zone_device_info(site, site.load.zones[key])

    @property
    def available(self) -> bool:
        """While the zone exists."""
        return self.key in self.site.load.zones

    _attr_native_min_value = 0.0

    @property
    def native_value(self) -> float | None:
        """The configured maximum."""
        zone = self.site.load.zones.get(self.key)
        return zone.spec.max_current if zone else None

    def _snapshot(self) -> Any:
        return (self.available, self.native_value)

    async def async_set_native_value(self, value: float) -> None:
        """Store it in the zone; the next cycle uses it (0 A pauses the zone).

        The maximum only: the fail-safe current is a setting of its own (the stations'
        fallback when Home Assistant is down), never rewritten by a pause.
        """
        entry = self.site.entry
        subentry = entry.subentries[self.key]
        self.hass.config_entries.async_update_subentry(
            entry, subentry, data={**subentry.data, CONF_MAX_CURRENT: float(value)}
        )
