"""The sensors of a charging station: measurements, connector status, session, load management."""

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
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.typing import StateType

from ..central.models import Phase
from ..const import DOMAIN
from ..dlm.allocate import Reason
from ..entity import (
    StationEntity,
)
from ..site import Site
from ..stations import FALLBACKS, Station
from ..transaction_ids import public_id

CONNECTOR_STATUSES = [
    "available",
    "preparing",
    "charging",
    "suspendedevse",
    "suspendedev",
    "finishing",
    "reserved",
    "unavailable_connector",
    "faulted",
    "paused",  # not OCPP's: in a session that load management holds at 0 A
]


# OCPP statuses of a session that a pause of load management shows as "paused".
IN_SESSION_STATUSES = frozenset({"charging", "suspendedevse", "suspendedev"})


# Why a managed station has its allocated current (the allocator's reasons).
LOAD_MANAGEMENT_STATES = [str(reason) for reason in Reason]


# OCPP statuses whose lowercase name is one of Home Assistant's own states
RENAMED_STATUSES = {"unavailable": "unavailable_connector"}


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
    # Shows a reading: refreshed on every MeterValues (the others are not asked then).
    shows_readings: bool = False


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
        "transaction_id": public_id(sessions[0].transaction_id),
    }


def _connector_value(
    connector_id: int, attribute: str, options: list[str]
) -> Callable[[Station], str | None]:
    def value(station: Station) -> str | None:
        raw = getattr(station.connectors[connector_id], attribute)
        if raw is None:
            return None
        lowered = str(raw).lower()
        lowered = RENAMED_STATUSES.get(lowered, lowered)
        return lowered if lowered in options else None

    return value


def _connector_attr(
    connector_id: int, attribute: str
) -> Callable[[Station], dict[str, Any] | None]:
    def attrs(station: Station) -> dict[str, Any] | None:
        raw = getattr(station.connectors[connector_id], attribute)
        return {attribute: raw} if raw else None

    return attrs


def paused_by_load_management(station: Station, connector_id: int) -> bool:
    """Whether load management holds this connector's session at 0 A (a pause).

    A station with one charging point has its allocation on point 0, one with several
    on each connector.
    """
    if station.config.zone is None:
        return False
    allocations = station.connector_allocations
    allocation = allocations.get(connector_id, allocations.get(0))
    return allocation is not None and allocation.reason is Reason.PAUSED


def _connector_status(connector_id: int) -> Callable[[Station], str | None]:
    plain = _connector_value(connector_id, "status", CONNECTOR_STATUSES)

    def value(station: Station) -> str | None:
        status = plain(station)
        if status in IN_SESSION_STATUSES and paused_by_load_management(station, connector_id):
            return "paused"
        return status

    return value


def _connector_status_attrs(connector_id: int) -> Callable[[Station], dict[str, Any] | None]:
    info = _connector_attr(connector_id, "info")

    def attrs(station: Station) -> dict[str, Any] | None:
        found = info(station)
        if _connector_status(connector_id)(station) == "paused":
            # What the station itself reports (e.g. Charging at 0 A).
            found = (found or {}) | {"ocpp_status": station.connectors[connector_id].status}
        return found

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
                value_fn=_connector_status(connector_id),
                attrs_fn=_connector_status_attrs(connector_id),
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
                shows_readings=True,
                translation_key=f"current_{low}",
                device_class=SensorDeviceClass.CURRENT,
                native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
                state_class=SensorStateClass.MEASUREMENT,
                suggested_display_precision=1,
                entity_registry_enabled_default=False,
                value_fn=partial(_phase_current, phase=phase),
            )
        )
        descriptions.append(
            StationSensorDescription(
                key=f"voltage_{low}",
                shows_readings=True,
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
        shows_readings=True,
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda s: s.power_w,
    ),
    StationSensorDescription(
        key="energy",
        shows_readings=True,
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
        shows_readings=True,
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
        shows_readings=True,
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
        shows_readings=True,
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
        key="fallback",
        translation_key="fallback",
        device_class=SensorDeviceClass.ENUM,
        options=list(FALLBACKS),
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda s: s.fallback,
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


def _allocation_attrs(station: Station) -> dict[str, Any] | None:
    allocation = station.allocation
    if allocation is None:
        return None
    return {"reason": str(allocation.reason), "limited_by": station.allocation_by}


def _zone_name(site: Site, station: Station) -> str | None:
    zone = site.load.zones.get(station.config.zone or "")
    return zone.name if zone is not None else None


def _managed_descriptions(site: Site) -> list[StationSensorDescription]:
    """Sensors of a load-managed station (one in a zone): they exist while it is."""
    return [
        StationSensorDescription(
            key="allocated_current",
            translation_key="allocated_current",
            device_class=SensorDeviceClass.CURRENT,
            native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
            state_class=SensorStateClass.MEASUREMENT,
            suggested_display_precision=1,
            value_fn=lambda s: s.allocation.limit if s.allocation is not None else None,
            attrs_fn=_allocation_attrs,
            always_available=True,
        ),
        StationSensorDescription(
            key="load_management",
            translation_key="load_management",
            device_class=SensorDeviceClass.ENUM,
            options=LOAD_MANAGEMENT_STATES,
            value_fn=lambda s: str(s.allocation.reason) if s.allocation is not None else None,
            attrs_fn=lambda s: (
                {"limited_by": s.allocation_by} if s.allocation is not None else None
            ),
            always_available=True,
        ),
        StationSensorDescription(
            key="zone",
            translation_key="zone",
            entity_category=EntityCategory.DIAGNOSTIC,
            value_fn=partial(_zone_name, site),
            always_available=True,
        ),
        StationSensorDescription(
            key="priority",
            translation_key="priority",
            entity_category=EntityCategory.DIAGNOSTIC,
            value_fn=lambda s: s.config.priority,
            always_available=True,
        ),
    ]


MANAGED_SENSOR_KEYS = ("allocated_current", "load_management", "zone", "priority")


def _forget_unmanaged_sensors(hass: HomeAssistant, site: Site) -> None:
    """Registry entries of load-management sensors that a station should not have now.

    A station outside the zones has none (the registry keeps what a user set, for when
    it joins one). Earlier versions created *Allocated current* for every station,
    disabled by the integration outside the zones: such an entry would keep the sensor
    disabled once the station is in a zone, and enabling it would reload the hub. It is
    moved aside and removed, so the sensor is created as it is today (enabled).
    """
    registry = er.async_get(hass)
    for subentry_id, station in site.stations.items():
        for key in MANAGED_SENSOR_KEYS:
            unique_id = f"{subentry_id}_{key}"
            if (found := registry.async_get_entity_id("sensor", DOMAIN, unique_id)) is None:
                continue
            entry = registry.entities[found]
            if (
                entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
                and not site.entry.pref_disable_new_entities
            ):
                registry.async_update_entity(found, new_unique_id=f"{unique_id}_disabled_before")
                registry.async_remove(found)
            elif station.config.zone is None:
                registry.async_remove(found)


def station_sensors(site: Site, station: Station) -> list[StationSensor]:
    """All sensors of one station now (its configuration decides which)."""
    descriptions = [
        *_connector_descriptions(station),
        *_phase_descriptions(station),
        *STATION_SENSORS,
        *(_managed_descriptions(site) if station.config.zone is not None else ()),
    ]
    return [StationSensor(site, station, description) for description in descriptions]


class StationSensor(StationEntity, SensorEntity):
    """A sensor of one station."""

    entity_description: StationSensorDescription

    def __init__(self, site: Site, station: Station, description: StationSensorDescription) -> None:
        """Bind to a station; a sensor of a reading is refreshed on every MeterValues."""
        super().__init__(site, station, description)
        self._shows_readings = description.shows_readings

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
