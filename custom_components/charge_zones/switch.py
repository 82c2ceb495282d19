"""Switch: station availability (ChangeAvailability on connector 0)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .central.connection import CommandError
from .const import DOMAIN
from .entity import StationEntity
from .site import ChargeZonesConfigEntry
from .stations import Station

PARALLEL_UPDATES = 1

AVAILABILITY = SwitchEntityDescription(
    key="availability",
    translation_key="availability",
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeZonesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the availability switch of every station."""
    site = entry.runtime_data

    @callback
    def add_station(station: Station) -> None:
        async_add_entities(
            [AvailabilitySwitch(site, station, AVAILABILITY)],
            config_subentry_id=station.config.subentry_id,
        )

    for station in site.stations.values():
        add_station(station)
    entry.async_on_unload(site.on_station_added(add_station))


class AvailabilitySwitch(StationEntity, SwitchEntity):
    """On: the station is Operative; off: Inoperative."""

    @property
    def is_on(self) -> bool | None:
        """Operative."""
        return self.station.available

    def _snapshot(self) -> Any:
        return (self.available, self.station.available)

    async def _change(self, operative: bool) -> None:
        try:
            status = await self.station.async_change_availability(0, operative)
        except CommandError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_failed",
                translation_placeholders={"station": self.station.station_id, "error": str(err)},
            ) from err
        if status not in ("Accepted", "Scheduled"):
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_refused",
                translation_placeholders={"station": self.station.station_id, "status": status},
            )

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Make the station Operative."""
        await self._change(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Make the station Inoperative."""
        await self._change(False)
