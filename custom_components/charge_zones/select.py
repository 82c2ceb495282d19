"""Select: a station's charging mode (fast, solar + minimum, solar only, off)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_CHARGING_MODE
from .dlm.solar import ChargingMode
from .entity import StationEntity, add_for_stations
from .site import ChargeZonesConfigEntry
from .stations import Station

PARALLEL_UPDATES = 1

CHARGING_MODE = SelectEntityDescription(
    key="charging_mode",
    translation_key="charging_mode",
    options=[str(mode) for mode in ChargingMode],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeZonesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The charging mode of every station in a zone (load management applies it)."""
    site = entry.runtime_data

    def station_selects(station: Station) -> list[ChargingModeSelect]:
        if station.config.zone is None:
            return []
        return [ChargingModeSelect(site, station, CHARGING_MODE)]

    entry.async_on_unload(add_for_stations(site, "select", station_selects, async_add_entities))


class ChargingModeSelect(StationEntity, SelectEntity):
    """How the station's sessions charge; stored in its subentry, applied by the load manager.

    Only for a station in a zone (load management decides its current): it comes when
    the station joins a zone and goes when it leaves (its setting stays in the subentry).
    """

    @property
    def available(self) -> bool:
        """Configurable while the station is offline too."""
        return True

    @property
    def current_option(self) -> str:
        """The configured mode."""
        mode = self.station.config.charging_mode
        return mode if mode in self.options else str(ChargingMode.FAST)

    def _snapshot(self) -> Any:
        return self.current_option

    async def async_select_option(self, option: str) -> None:
        """Store it; the load manager applies it at its next cycle."""
        entry = self.site.entry
        subentry = entry.subentries[self.station.config.subentry_id]
        data = {**subentry.data, CONF_CHARGING_MODE: option}
        if option == ChargingMode.FAST:
            data.pop(CONF_CHARGING_MODE)
        self.hass.config_entries.async_update_subentry(entry, subentry, data=data)
