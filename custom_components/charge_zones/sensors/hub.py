"""The sensors of the hub."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import (
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)

from ..entity import (
    HubEntity,
)
from ..site import Site


class ConnectedStationsSensor(HubEntity, SensorEntity):
    """How many configured stations are connected."""

    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(self, site: Site) -> None:
        """Create the sensor."""
        super().__init__(
            site,
            SensorEntityDescription(key="connected_stations", translation_key="connected_stations"),
        )

    @property
    def native_value(self) -> int:
        """Connected stations."""
        return self.site.connected_count

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Configured stations and unknown stations that tried to connect."""
        return {
            "configured": len(self.site.stations),
            "unknown_stations": sorted(self.site.unknown_stations),
        }

    def _snapshot(self) -> Any:
        return (
            self.native_value,
            len(self.site.stations),
            tuple(sorted(self.site.unknown_stations)),
        )
