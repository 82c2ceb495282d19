"""Event: every badge presented at a station, accepted or rejected."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import StationEntity
from .site import ChargeZonesConfigEntry
from .stations import AuthorizationEvent, Station

PARALLEL_UPDATES = 0

EVENT_ACCEPTED = "accepted"
EVENT_REJECTED = "rejected"

AUTHORIZATION = EventEntityDescription(
    key="authorization",
    translation_key="authorization",
    event_types=[EVENT_ACCEPTED, EVENT_REJECTED],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeZonesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the authorization event of every station."""
    site = entry.runtime_data

    @callback
    def add_station(station: Station) -> None:
        async_add_entities(
            [AuthorizationEventEntity(site, station, AUTHORIZATION)],
            config_subentry_id=station.config.subentry_id,
        )

    for station in site.stations.values():
        add_station(station)
    entry.async_on_unload(site.on_station_added(add_station))


class AuthorizationEventEntity(StationEntity, EventEntity):
    """Fires when a badge is presented: accepted or rejected, with tag and holder."""

    @property
    def available(self) -> bool:
        """Events stay visible while the station is offline."""
        return True

    def _snapshot(self) -> Any:
        return None

    async def async_added_to_hass(self) -> None:
        """Listen to authorizations."""
        await super().async_added_to_hass()
        self.async_on_remove(self.station.add_authorization_listener(self._on_authorization))

    @callback
    def _on_authorization(self, event: AuthorizationEvent) -> None:
        self._trigger_event(
            EVENT_ACCEPTED if event.accepted else EVENT_REJECTED,
            {"tag": event.tag, "holder": event.holder, "status": event.status.lower()},
        )
        self.async_write_ha_state()
