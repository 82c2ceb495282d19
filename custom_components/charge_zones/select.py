"""Select: the charging mode of a station, and the default one of a badge holder.

A station's mode: fast, solar + minimum, solar only, scheduled, off. A holder's: the mode
of their sessions whichever station they use, or "station" (none of their own).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_CHARGING_MODE
from .dlm.solar import ChargingMode
from .entity import ChargeZonesEntity, StationEntity, add_for_stations
from .sensors.badge import add_for_holders, holder_device_info
from .sessions import HOLDER_MODE_STATION
from .site import ChargeZonesConfigEntry, Site
from .stations import Station

PARALLEL_UPDATES = 1

CHARGING_MODE = SelectEntityDescription(
    key="charging_mode",
    translation_key="charging_mode",
    options=[str(mode) for mode in ChargingMode],
)
HOLDER_CHARGING_MODE = SelectEntityDescription(
    key="holder_charging_mode",
    translation_key="holder_charging_mode",
    options=[HOLDER_MODE_STATION, *(str(mode) for mode in ChargingMode)],
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

    entry.async_on_unload(
        add_for_holders(
            site, lambda key, name: [HolderModeSelect(site, key, name)], async_add_entities
        )
    )


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


class HolderModeSelect(ChargeZonesEntity, SelectEntity):
    """A badge holder's default charging mode, on their device (stored with the sessions).

    Their new sessions charge so, whichever station they use: a mode set on one of their
    badges wins over it, and the action set_charging_mode over both for one session.
    "station": no default (as the station).
    """

    entity_description = HOLDER_CHARGING_MODE

    def __init__(self, site: Site, key: str, name: str) -> None:
        """Bind to a holder (by key; name: the device's)."""
        self.site = site
        self.key = key
        self._attr_unique_id = f"{site.entry.entry_id}_holder_{key}_charging_mode"
        self._attr_device_info = holder_device_info(site, key, name)

    @property
    def current_option(self) -> str:
        """The holder's default, or "station"."""
        return self.site.sessions.holder_modes.get(self.key, HOLDER_MODE_STATION)

    def _snapshot(self) -> Any:
        return self.current_option

    async def async_select_option(self, option: str) -> None:
        """Store it (for the holder's sessions that start from now on)."""
        self.site.sessions.set_holder_mode(self.key, option)
        self._handle_update()
