"""Binary sensors: station connectivity."""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import StationEntity
from .site import ChargeZonesConfigEntry
from .stations import Station

PARALLEL_UPDATES = 0

CONNECTED = BinarySensorEntityDescription(
    key="connected",
    translation_key="connected",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeZonesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up binary sensors for every station, now and when added."""
    site = entry.runtime_data

    @callback
    def add_station(station: Station) -> None:
        async_add_entities(
            [StationConnectedSensor(site, station, CONNECTED)],
            config_subentry_id=station.config.subentry_id,
        )

    for station in site.stations.values():
        add_station(station)
    entry.async_on_unload(site.on_station_added(add_station))


class StationConnectedSensor(StationEntity, BinarySensorEntity):
    """Whether the station's websocket is open."""

    @property
    def available(self) -> bool:
        """Always known."""
        return True

    @property
    def is_on(self) -> bool:
        """Connected."""
        return self.station.connected

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """When the station was last heard from."""
        seen = self.station.last_seen
        return {"last_seen": seen.isoformat() if seen else None}

    def _snapshot(self) -> Any:
        return self.station.connected
