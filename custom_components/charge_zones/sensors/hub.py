"""The sensors of the hub."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import UnitOfEnergy, UnitOfPower

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


class SolarSurplusSensor(HubEntity, SensorEntity):
    """The building's solar surplus that solar-mode sessions share (smoothed), in W.

    Unavailable without a meter marked as the building's grid connection, or while its
    reading is missing or stale (no surplus is then counted). Per phase in amperes as
    attributes.
    """

    _attr_device_class = SensorDeviceClass.POWER
    _attr_native_unit_of_measurement = UnitOfPower.WATT
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_suggested_display_precision = 0

    def __init__(self, site: Site) -> None:
        """Create the sensor."""
        super().__init__(
            site, SensorEntityDescription(key="solar_surplus", translation_key="solar_surplus")
        )

    async def async_added_to_hass(self) -> None:
        """Also follow the load manager's cycles."""
        await super().async_added_to_hass()
        self.async_on_remove(self.site.load.add_listener(self._handle_update))

    @property
    def available(self) -> bool:
        """Only with a fresh reading of the grid meter."""
        return self.site.load.surplus is not None

    @property
    def native_value(self) -> float | None:
        """The surplus in W (A per phase at the grid meter's voltages)."""
        return self.site.load.surplus_power

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The surplus per phase (A)."""
        surplus = self.site.load.surplus
        if surplus is None:
            return None
        return {f"current_l{i + 1}": round(value, 1) for i, value in enumerate(surplus)}

    def _snapshot(self) -> Any:
        surplus = self.site.load.surplus
        return None if surplus is None else tuple(round(v, 1) for v in surplus)


class PeakSensor(HubEntity, SensorEntity):
    """The building's average import in the current quarter hour, under the peak limit (kW).

    Unavailable without a peak limit (hub options) or before the grid meter is read in
    the quarter hour. Attributes: the limit, the import still allowed until the quarter
    hour ends, and the power the stations may draw under it now.
    """

    _attr_device_class = SensorDeviceClass.POWER
    _attr_native_unit_of_measurement = UnitOfPower.KILO_WATT
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_suggested_display_precision = 2

    def __init__(self, site: Site) -> None:
        """Create the sensor."""
        super().__init__(
            site, SensorEntityDescription(key="peak_average", translation_key="peak_average")
        )

    async def async_added_to_hass(self) -> None:
        """Also follow the load manager's cycles."""
        await super().async_added_to_hass()
        self.async_on_remove(self.site.load.add_listener(self._handle_update))

    def _average(self) -> float | None:
        window = self.site.load.peak
        return None if window is None else window.average(self.site.load.peak_clock())

    @property
    def available(self) -> bool:
        """Only with a peak limit and the quarter hour's import measured."""
        return self._average() is not None

    @property
    def native_value(self) -> float | None:
        """The quarter hour's average import so far (kW)."""
        average = self._average()
        return None if average is None else round(average / 1000.0, 2)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The limit, what may still be imported on average, the stations' room (kW)."""
        load = self.site.load
        window = load.peak
        if window is None:
            return None
        room = load.peak_room
        return {
            "limit": round(window.target / 1000.0, 2),
            "allowed": round(window.allowed(load.peak_clock()) / 1000.0, 2),
            "charging_room": None if room is None else round(room / 1000.0, 2),
        }

    def _snapshot(self) -> Any:
        average = self._average()
        room = self.site.load.peak_room
        return (
            None if average is None else round(average / 1000.0, 2),
            None if room is None else round(room / 1000.0, 1),
        )


class ChargedEnergySensor(HubEntity, SensorEntity):
    """Energy charged in all sessions from the building's solar, or from the grid (Wh).

    Counted as meter values arrive (never lowered), for the energy dashboard's
    statistics: the charging from solar and from grid.
    """

    _attr_device_class = SensorDeviceClass.ENERGY
    _attr_native_unit_of_measurement = UnitOfEnergy.WATT_HOUR
    _attr_suggested_unit_of_measurement = UnitOfEnergy.KILO_WATT_HOUR
    _attr_suggested_display_precision = 2
    _attr_state_class = SensorStateClass.TOTAL_INCREASING

    def __init__(self, site: Site, *, solar: bool) -> None:
        """Create the sensor."""
        self._solar = solar
        super().__init__(
            site,
            SensorEntityDescription(
                key="charged_solar_energy", translation_key="charged_solar_energy"
            )
            if solar
            else SensorEntityDescription(
                key="charged_grid_energy", translation_key="charged_grid_energy"
            ),
        )

    async def async_added_to_hass(self) -> None:
        """Also follow the energy counted.

        Written when it moved by 100 Wh or more, at most once per sensor update interval.
        """
        await super().async_added_to_hass()
        self.async_on_remove(self.site.energy_published.add(self._handle_update))

    @property
    def native_value(self) -> float:
        """The energy (Wh)."""
        sessions = self.site.sessions
        return round(sessions.charged_solar_wh if self._solar else sessions.charged_grid_wh, 1)

    def _snapshot(self) -> Any:
        return round(self.native_value, -2)
