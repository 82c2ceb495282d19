"""Sensors: station measurements and state, hub counters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .central.models import Phase
from .entity import HubEntity, StationEntity
from .site import ChargeZonesConfigEntry, Site
from .stations import Station

PARALLEL_UPDATES = 0

CONNECTOR_STATUSES = [
    "available",
    "preparing",
    "charging",
    "suspendedevse",
    "suspendedev",
    "finishing",
    "reserved",
    "unavailable",
    "faulted",
]
ERROR_CODES = [
    "connectorlockfailure",
    "evcommunicationerror",
    "groundfailure",
    "hightemperature",
    "internalerror",
    "locallistconflict",
    "noerror",
    "othererror",
    "overcurrentfailure",
    "overvoltage",
    "powermeterfailure",
    "powerswitchfailure",
    "readerfailure",
    "resetfailure",
    "undervoltage",
    "weaksignal",
]


@dataclass(frozen=True, kw_only=True)
class StationSensorDescription(SensorEntityDescription):
    """A station sensor and how to read it."""

    value_fn: Callable[[Station], StateType | datetime]
    attrs_fn: Callable[[Station], dict[str, Any] | None] = lambda _station: None
    always_available: bool = False


def _session_energy(station: Station) -> float | None:
    session = station.last_session()
    return session.energy_wh if session else None


def _session_duration(station: Station) -> float | None:
    session = station.last_session()
    return round(session.duration_s(datetime.now(UTC))) if session else None


def _active_badge(station: Station) -> str | None:
    sessions = station.open_sessions()
    if not sessions:
        return None
    return sessions[0].holder or sessions[0].id_tag


def _active_badge_attrs(station: Station) -> dict[str, Any] | None:
    sessions = station.open_sessions()
    if not sessions:
        return None
    return {
        "tag": sessions[0].id_tag,
        "connector": sessions[0].connector_id,
        "transaction_id": sessions[0].transaction_id,
    }


def _connector_value(
    connector_id: int, attribute: str, options: list[str]
) -> Callable[[Station], str | None]:
    def value(station: Station) -> str | None:
        raw = getattr(station.connectors[connector_id], attribute)
        if raw is None:
            return None
        lowered = str(raw).lower()
        return lowered if lowered in options else None

    return value


def _connector_attr(
    connector_id: int, attribute: str
) -> Callable[[Station], dict[str, Any] | None]:
    def attrs(station: Station) -> dict[str, Any] | None:
        raw = getattr(station.connectors[connector_id], attribute)
        return {attribute: raw} if raw else None

    return attrs


def _phase_current(station: Station, phase: Phase) -> float | None:
    return station.current(phase)


def _phase_voltage(station: Station, phase: Phase) -> float | None:
    return station.voltage(phase)


def _connector_descriptions(station: Station) -> list[StationSensorDescription]:
    count = station.config.connectors
    descriptions: list[StationSensorDescription] = []
    for connector_id in range(1, count + 1):
        suffix = "" if count == 1 else "_connector"
        placeholders = {"connector": str(connector_id)}
        descriptions.append(
            StationSensorDescription(
                key=f"connector_{connector_id}_status",
                translation_key=f"status{suffix}",
                translation_placeholders=placeholders,
                device_class=SensorDeviceClass.ENUM,
                options=CONNECTOR_STATUSES,
                value_fn=_connector_value(connector_id, "status", CONNECTOR_STATUSES),
                attrs_fn=_connector_attr(connector_id, "info"),
            )
        )
        descriptions.append(
            StationSensorDescription(
                key=f"connector_{connector_id}_error_code",
                translation_key=f"error_code{suffix}",
                translation_placeholders=placeholders,
                device_class=SensorDeviceClass.ENUM,
                options=ERROR_CODES,
                entity_category=EntityCategory.DIAGNOSTIC,
                entity_registry_enabled_default=False,
                value_fn=_connector_value(connector_id, "error_code", ERROR_CODES),
                attrs_fn=_connector_attr(connector_id, "vendor_error_code"),
            )
        )
    return descriptions


def _phase_descriptions(station: Station) -> list[StationSensorDescription]:
    descriptions: list[StationSensorDescription] = []
    for phase in station.used_phases:
        low = phase.value.lower()
        descriptions.append(
            StationSensorDescription(
                key=f"current_{low}",
                translation_key=f"current_{low}",
                device_class=SensorDeviceClass.CURRENT,
                native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
                state_class=SensorStateClass.MEASUREMENT,
                suggested_display_precision=1,
                value_fn=partial(_phase_current, phase=phase),
            )
        )
        descriptions.append(
            StationSensorDescription(
                key=f"voltage_{low}",
                translation_key=f"voltage_{low}",
                device_class=SensorDeviceClass.VOLTAGE,
                native_unit_of_measurement=UnitOfElectricPotential.VOLT,
                state_class=SensorStateClass.MEASUREMENT,
                suggested_display_precision=0,
                entity_registry_enabled_default=False,
                value_fn=partial(_phase_voltage, phase=phase),
            )
        )
    return descriptions


STATION_SENSORS: tuple[StationSensorDescription, ...] = (
    StationSensorDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda s: s.power_w,
    ),
    StationSensorDescription(
        key="energy",
        translation_key="energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda s: s.energy_wh,
    ),
    StationSensorDescription(
        key="session_energy",
        translation_key="session_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=_session_energy,
        always_available=True,
    ),
    StationSensorDescription(
        key="session_duration",
        translation_key="session_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        entity_registry_enabled_default=False,
        value_fn=_session_duration,
        always_available=True,
    ),
    StationSensorDescription(
        key="current_offered",
        translation_key="current_offered",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda s: s.current_offered,
    ),
    StationSensorDescription(
        key="active_badge",
        translation_key="active_badge",
        value_fn=_active_badge,
        attrs_fn=_active_badge_attrs,
        always_available=True,
    ),
    StationSensorDescription(
        key="last_heartbeat",
        translation_key="last_heartbeat",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda s: s.last_heartbeat,
        always_available=True,
    ),
)


def station_sensors(site: Site, station: Station) -> list[StationSensor]:
    """All sensors of one station."""
    descriptions = [
        *_connector_descriptions(station),
        *_phase_descriptions(station),
        *STATION_SENSORS,
    ]
    return [StationSensor(site, station, description) for description in descriptions]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeZonesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up sensors for the hub and every station, now and when added."""
    site = entry.runtime_data
    async_add_entities([ConnectedStationsSensor(site)])

    @callback
    def add_station(station: Station) -> None:
        async_add_entities(
            station_sensors(site, station), config_subentry_id=station.config.subentry_id
        )

    for station in site.stations.values():
        add_station(station)
    entry.async_on_unload(site.on_station_added(add_station))


class StationSensor(StationEntity, SensorEntity):
    """A sensor of one station."""

    entity_description: StationSensorDescription

    @property
    def available(self) -> bool:
        """Measurements need the station connected."""
        return self.entity_description.always_available or self.station.connected

    @property
    def native_value(self) -> StateType | datetime:
        """The value."""
        return self.entity_description.value_fn(self.station)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Extra attributes."""
        return self.entity_description.attrs_fn(self.station)

    def _snapshot(self) -> Any:
        return (
            self.available,
            self.entity_description.value_fn(self.station),
            self.entity_description.attrs_fn(self.station),
        )


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
