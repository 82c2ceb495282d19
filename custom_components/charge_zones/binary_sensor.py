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

from .entity import (
    HubEntity,
    LoadEntity,
    StationEntity,
    add_for_subentries,
    meter_device_info,
    zone_device_info,
)
from .site import ChargeZonesConfigEntry, Site
from .stations import Station

PARALLEL_UPDATES = 0

FAILSAFE = BinarySensorEntityDescription(
    key="failsafe",
    translation_key="failsafe",
    device_class=BinarySensorDeviceClass.PROBLEM,
)
REACHABLE = BinarySensorEntityDescription(
    key="reachable",
    translation_key="reachable",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)

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
    async_add_entities([DlmServiceSensor(site)])
    entry.async_on_unload(
        add_for_subentries(
            site, "zone", lambda key: [ZoneFailsafeSensor(site, key, FAILSAFE)], async_add_entities
        )
    )
    entry.async_on_unload(
        add_for_subentries(
            site,
            "meter",
            lambda key: [MeterReachableSensor(site, key, REACHABLE)],
            async_add_entities,
        )
    )

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


class DlmServiceSensor(HubEntity, BinarySensorEntity):
    """The guide's green indicator: the service that reads the DLM meters is running."""

    def __init__(self, site: Site) -> None:
        """Create the sensor."""
        super().__init__(
            site,
            BinarySensorEntityDescription(
                key="dlm_service",
                translation_key="dlm_service",
                device_class=BinarySensorDeviceClass.RUNNING,
            ),
        )

    async def async_added_to_hass(self) -> None:
        """Also follow the DLM cycles."""
        await super().async_added_to_hass()
        self.async_on_remove(self.site.load.add_listener(self._handle_update))

    @property
    def is_on(self) -> bool:
        """Running."""
        return self.site.load.running

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Meters polled and zones managed."""
        load = self.site.load
        return {
            "zones": len(load.zones),
            "meters": len(load.meters),
            "meters_reachable": sum(
                1 for p in load.pollers.values() if p.last_good and not p.consecutive_failures
            ),
        }

    def _snapshot(self) -> Any:
        return (self.is_on, tuple(self.extra_state_attributes.values()))


class ZoneFailsafeSensor(LoadEntity, BinarySensorEntity):
    """On while the zone is in fail-safe (its DLM meters cannot be read)."""

    def __init__(self, site: Site, key: str, description: BinarySensorEntityDescription) -> None:
        """Bind to a zone."""
        super().__init__(site, key, description)
        self._attr_device_info = zone_device_info(site, site.load.zones[key])

    @property
    def is_on(self) -> bool:
        """In fail-safe."""
        state = self.site.load.zone_states.get(self.key)
        return state is not None and state.failsafe is not None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Which meter, and how old its last reading is."""
        state = self.site.load.zone_states.get(self.key)
        if state is None or state.failsafe is None:
            return None
        meter = self.site.load.meters.get(state.failsafe.meter)
        return {
            "meter": meter.name if meter else state.failsafe.meter,
            "last_reading_age": state.failsafe.age,
            "stale_after": state.failsafe.stale_after,
        }

    def _snapshot(self) -> Any:
        attrs = self.extra_state_attributes
        return (self.is_on, attrs and attrs["meter"])


class MeterReachableSensor(LoadEntity, BinarySensorEntity):
    """Whether the meter answered its last read."""

    def __init__(self, site: Site, key: str, description: BinarySensorEntityDescription) -> None:
        """Bind to a meter."""
        super().__init__(site, key, description)
        self._attr_device_info = meter_device_info(site, site.load.meters[key])

    @property
    def is_on(self) -> bool:
        """Reachable."""
        poller = self.site.load.pollers.get(self.key)
        return (
            poller is not None and poller.last_good is not None and not poller.consecutive_failures
        )

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The last error, if any."""
        poller = self.site.load.pollers.get(self.key)
        return {"last_error": poller.last_error} if poller and poller.last_error else None

    def _snapshot(self) -> Any:
        return (self.is_on, self.extra_state_attributes)
