"""Number: a station's maximum current, changeable at run time."""

from __future__ import annotations

from typing import Any

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import EntityCategory, UnitOfElectricCurrent
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_MAX_CURRENT, MIN_SIGNAL_CURRENT
from .entity import StationEntity
from .site import ChargeZonesConfigEntry
from .stations import Station

PARALLEL_UPDATES = 1

MAX_STATION_CURRENT = 80.0

MAX_CURRENT = NumberEntityDescription(
    key="max_current",
    translation_key="max_current",
    device_class=NumberDeviceClass.CURRENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    native_step=1,
    native_max_value=MAX_STATION_CURRENT,
    mode=NumberMode.BOX,
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeZonesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the maximum current of every station."""
    site = entry.runtime_data

    @callback
    def add_station(station: Station) -> None:
        async_add_entities(
            [MaxCurrentNumber(site, station, MAX_CURRENT)],
            config_subentry_id=station.config.subentry_id,
        )

    for station in site.stations.values():
        add_station(station)
    entry.async_on_unload(site.on_station_added(add_station))


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
