"""Sensors: station measurements and state, hub counters, badge billing figures."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
import time
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
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .badges import holder_key
from .billing import TARIFF_NONE, BadgeTotal, ResidentTotal
from .central.models import Phase
from .const import CONF_HOLDER, CONF_TAG, DOMAIN, SUBENTRY_BADGE
from .dlm.allocate import Reason
from .entity import (
    ChargeZonesEntity,
    HubEntity,
    LoadEntity,
    StationEntity,
    add_for_stations,
    add_for_subentries,
    holder_device_identifier,
    meter_device_info,
    zone_device_info,
)
from .loadmanager import ZoneState
from .meters import MeterPoller
from .site import ChargeZonesConfigEntry, Site
from .stations import FALLBACKS, Station

PARALLEL_UPDATES = 0

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


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeZonesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up sensors for the hub and every station, now and when added."""
    site = entry.runtime_data
    async_add_entities([ConnectedStationsSensor(site)])
    entry.async_on_unload(
        add_for_subentries(
            site,
            "zone",
            lambda key: [ZoneSensor(site, key, d) for d in ZONE_SENSORS],
            async_add_entities,
        )
    )
    entry.async_on_unload(
        add_for_subentries(
            site,
            "meter",
            lambda key: [MeterSensor(site, key, d) for d in METER_SENSORS],
            async_add_entities,
        )
    )

    _forget_unmanaged_sensors(hass, site)
    entry.async_on_unload(
        add_for_stations(site, "sensor", partial(station_sensors, site), async_add_entities)
    )

    _move_badge_sensors_to_holders(hass, site)
    # A badge's sensors, by subentry: its holder's key and its tag when they were added.
    badges_done: dict[str, tuple[tuple[str, str], list[BadgeSensor]]] = {}

    async def replace(old: list[BadgeSensor], new: list[BadgeSensor]) -> None:
        for entity in old:
            if entity.hass is not None:
                await entity.async_remove()
        async_add_entities(new)

    @callback
    def add_badges() -> None:
        """Sensors for new badges; an edited badge's are replaced.

        A new holder moves them to that holder's device, a new tag renames them; they
        keep their registry entries (entity ids, history).
        """
        for subentry_id, subentry in entry.subentries.items():
            if subentry.subentry_type != SUBENTRY_BADGE:
                continue
            signature = _badge_signature(subentry.data)
            known = badges_done.get(subentry_id)
            if known is not None and known[0] == signature:
                continue
            sensors = [BadgeSensor(site, subentry_id, d) for d in BADGE_SENSORS]
            badges_done[subentry_id] = (signature, sensors)
            # Not in the badge's subentry: they share the holder's device, and a device
            # belongs to one subentry (the hub's own, none); removed below with the badge.
            if known is None:
                async_add_entities(sensors)
            else:
                site.create_task(replace(known[1], sensors), f"badge {subentry_id}")
        registry = er.async_get(hass)
        for gone in badges_done.keys() - entry.subentries.keys():
            del badges_done[gone]
            for description in BADGE_SENSORS:
                unique_id = f"{gone}_{description.key}"
                if (found := registry.async_get_entity_id("sensor", DOMAIN, unique_id)) is not None:
                    registry.async_remove(found)

    add_badges()
    entry.async_on_unload(site.on_configured(add_badges))

    holders_done: set[str] = set()

    @callback
    def add_holders() -> None:
        """Sensors for new holders; a holder with no badge and no totals loses its device."""
        wanted = holders_of(site)
        for key in wanted.keys() - holders_done:
            holders_done.add(key)
            async_add_entities([HolderSensor(site, key, wanted[key], d) for d in HOLDER_SENSORS])
        registry = dr.async_get(hass)
        prefix = holder_device_identifier(entry.entry_id, "")
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            for domain, identifier in device.identifiers:
                if domain != DOMAIN or not identifier.startswith(prefix):
                    continue
                key = identifier.removeprefix(prefix)
                if key not in wanted:
                    registry.async_remove_device(device.id)  # its entities go with it
                    holders_done.discard(key)
                elif device.name != wanted[key]:
                    registry.async_update_device(device.id, name=wanted[key])

    @callback
    def billed_holder(key: str) -> None:
        """A holder billed for the first time (a badge edited during its session)."""
        if key not in holders_done:
            add_holders()

    add_holders()
    entry.async_on_unload(site.on_configured(add_holders))
    site.sessions.holder_listeners.append(billed_holder)
    entry.async_on_unload(lambda: site.sessions.holder_listeners.remove(billed_holder))


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


# --- zones --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ZoneSensorDescription(SensorEntityDescription):
    """A zone sensor and how to read it."""

    value_fn: Callable[[ZoneState], StateType]
    needs_budget: bool = False  # unknown while the zone is in fail-safe


def _phase_value(attribute: str, index: int) -> Callable[[ZoneState], StateType]:
    def value(state: ZoneState) -> StateType:
        phases: tuple[float, float, float] = getattr(state, attribute)
        return round(phases[index], 1)

    return value


ZONE_SENSORS: tuple[ZoneSensorDescription, ...] = (
    *(
        ZoneSensorDescription(
            key=f"{kind}_l{index + 1}",
            translation_key=f"{kind}_l{index + 1}",
            device_class=SensorDeviceClass.CURRENT,
            native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
            state_class=SensorStateClass.MEASUREMENT,
            suggested_display_precision=1,
            value_fn=_phase_value(kind, index),
            needs_budget=kind == "budget",
        )
        for kind in ("budget", "allocated")
        for index in range(3)
    ),
    ZoneSensorDescription(
        key="headroom",
        translation_key="headroom",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda state: round(state.headroom, 1),
        needs_budget=True,
    ),
    ZoneSensorDescription(
        key="active_sessions",
        translation_key="active_sessions",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda state: state.active,
    ),
    ZoneSensorDescription(
        key="paused_sessions",
        translation_key="paused_sessions",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda state: state.paused,
    ),
)


class ZoneSensor(LoadEntity, SensorEntity):
    """A figure of one electrical zone."""

    entity_description: ZoneSensorDescription

    def __init__(self, site: Site, key: str, description: ZoneSensorDescription) -> None:
        """Bind to a zone."""
        super().__init__(site, key, description)
        self._attr_device_info = zone_device_info(site, site.load.zones[key])

    @property
    def _state(self) -> ZoneState | None:
        if self.key not in self.site.load.zones:
            return None
        return self.site.load.zone_states.get(self.key)

    @property
    def available(self) -> bool:
        """Known once the DLM service has computed the zone (the budget: not in fail-safe)."""
        state = self._state
        if state is None or self.site.load.last_cycle is None:
            return False
        return not (self.entity_description.needs_budget and state.failsafe is not None)

    @property
    def native_value(self) -> StateType:
        """The value."""
        state = self._state
        return None if state is None else self.entity_description.value_fn(state)

    def _snapshot(self) -> Any:
        return (self.available, self.native_value)


# --- meters -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MeterSensorDescription(SensorEntityDescription):
    """A meter sensor and how to read it."""

    value_fn: Callable[[MeterPoller], StateType]
    needs_reading: bool = True


def _reading_phase(attribute: str, index: int) -> Callable[[MeterPoller], StateType]:
    def value(poller: MeterPoller) -> StateType:
        reading = poller.last_good
        if reading is None:
            return None
        item: float | None = getattr(reading, attribute)[index]
        return None if item is None else round(item, 3)

    return value


def _reading_total(attribute: str) -> Callable[[MeterPoller], StateType]:
    def value(poller: MeterPoller) -> StateType:
        reading = poller.last_good
        item: float | None = None if reading is None else getattr(reading, attribute)
        return None if item is None else round(item, 3)

    return value


def _age(poller: MeterPoller) -> StateType:
    reading = poller.last_good
    if reading is None:
        return None
    return round(reading.age(time.monotonic()), 1)


_PHASE_UNITS: dict[str, tuple[SensorDeviceClass, str, bool]] = {
    "current": (SensorDeviceClass.CURRENT, UnitOfElectricCurrent.AMPERE, True),
    "voltage": (SensorDeviceClass.VOLTAGE, UnitOfElectricPotential.VOLT, False),
    "power": (SensorDeviceClass.POWER, UnitOfPower.WATT, False),
}

METER_SENSORS: tuple[MeterSensorDescription, ...] = (
    *(
        MeterSensorDescription(
            key=f"meter_{kind}_l{index + 1}",
            translation_key=f"{kind}_l{index + 1}",
            device_class=_PHASE_UNITS[kind][0],
            native_unit_of_measurement=_PHASE_UNITS[kind][1],
            entity_registry_enabled_default=_PHASE_UNITS[kind][2],
            state_class=SensorStateClass.MEASUREMENT,
            suggested_display_precision=1,
            value_fn=_reading_phase(kind, index),
        )
        for kind in ("current", "voltage", "power")
        for index in range(3)
    ),
    MeterSensorDescription(
        key="meter_power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=_reading_total("power_total"),
    ),
    MeterSensorDescription(
        key="meter_import_energy",
        translation_key="import_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=_reading_total("import_wh"),
    ),
    MeterSensorDescription(
        key="meter_amperage",
        translation_key="amperage",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda poller: poller.amperage,
        needs_reading=False,
    ),
    MeterSensorDescription(
        key="meter_reading_age",
        translation_key="reading_age",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_age,
        needs_reading=False,
    ),
    MeterSensorDescription(
        key="meter_read_errors",
        translation_key="read_errors",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda poller: poller.failures,
        needs_reading=False,
    ),
)


class MeterSensor(LoadEntity, SensorEntity):
    """A value read from one Modbus meter."""

    entity_description: MeterSensorDescription

    def __init__(self, site: Site, key: str, description: MeterSensorDescription) -> None:
        """Bind to a meter."""
        super().__init__(site, key, description)
        self._attr_device_info = meter_device_info(site, site.load.meters[key])

    @property
    def _poller(self) -> MeterPoller | None:
        return self.site.load.pollers.get(self.key)

    @property
    def available(self) -> bool:
        """Values need a recent good reading; counters only a running poller."""
        poller = self._poller
        if poller is None:
            return False
        if not self.entity_description.needs_reading:
            return True
        return poller.last_good is not None and poller.consecutive_failures == 0

    @property
    def native_value(self) -> StateType:
        """The value."""
        poller = self._poller
        return None if poller is None else self.entity_description.value_fn(poller)

    def _snapshot(self) -> Any:
        return (self.available, self.native_value)


# --- badges (billing) ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BadgeSensorDescription(SensorEntityDescription):
    """A billing figure of one badge."""

    value_fn: Callable[[BadgeTotal], StateType | datetime]
    attrs_fn: Callable[[BadgeTotal], dict[str, Any] | None] = lambda _total: None


def _last_stop(total: BadgeTotal) -> datetime | None:
    if total.last is None:
        return None
    return datetime.fromisoformat(total.last["stopped_at"])


def _last_attrs(total: BadgeTotal) -> dict[str, Any] | None:
    if total.last is None:
        return None
    return {k: v for k, v in total.last.items() if k != "stopped_at"}


BADGE_SENSORS: tuple[BadgeSensorDescription, ...] = (
    BadgeSensorDescription(
        key="billed_energy",
        translation_key="billed_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda total: round(total.energy_wh, 1),
    ),
    BadgeSensorDescription(
        key="billed_sessions",
        translation_key="billed_sessions",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda total: total.sessions,
        attrs_fn=lambda total: {"flagged_sessions": total.flagged_sessions},
    ),
    BadgeSensorDescription(
        key="billed_cost",
        translation_key="billed_cost",
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        value_fn=lambda total: round(total.cost, 2),
    ),
    BadgeSensorDescription(
        key="last_session",
        translation_key="last_session",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_last_stop,
        attrs_fn=_last_attrs,
    ),
)


class BilledSensor(ChargeZonesEntity, SensorEntity):
    """A billing figure (of a badge or of a holder), updated when a session ends."""

    entity_description: BadgeSensorDescription
    site: Site

    @property
    def _total(self) -> BadgeTotal:
        raise NotImplementedError

    @property
    def _is_cost(self) -> bool:
        return self.entity_description.device_class is SensorDeviceClass.MONETARY

    @property
    def available(self) -> bool:
        """The cost only with a tariff (or a cost already counted)."""
        if self._is_cost:
            return self.site.tariff.kind != TARIFF_NONE or bool(self._total.cost)
        return True

    @property
    def native_value(self) -> StateType | datetime:
        """The figure."""
        return self.entity_description.value_fn(self._total)

    @property
    def native_unit_of_measurement(self) -> str | None:
        """The cost's currency (of the last priced session, else the tariff's)."""
        if self._is_cost:
            return self._total.currency or self.site.tariff.currency
        return super().native_unit_of_measurement

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Details."""
        return self.entity_description.attrs_fn(self._total)

    def _snapshot(self) -> Any:
        return (self._total.as_dict(), self.native_unit_of_measurement, self.available)


def _holder_name(data: Mapping[str, Any]) -> str:
    """A badge's holder as written on it (spaces collapsed)."""
    return " ".join(str(data[CONF_HOLDER]).split())


def _badge_signature(data: Mapping[str, Any]) -> tuple[str, str]:
    """What a badge's sensors show of it: on whose device, under which tag."""
    return holder_key(_holder_name(data)), str(data[CONF_TAG]).upper()


def _move_badge_sensors_to_holders(hass: HomeAssistant, site: Site) -> None:
    """Move what an earlier version put on a device per badge to its holder's device.

    One device per holder, with the sensors of their badges on it: the entities keep
    their registry entries (entity ids, settings, history); the badge's device, then
    empty, is removed.
    """
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    entry = site.entry
    holders = holders_of(site)
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type != SUBENTRY_BADGE:
            continue
        old = devices.async_get_device_by_identifier((DOMAIN, subentry_id), entry.entry_id)
        if old is None:
            continue
        key, _tag = _badge_signature(subentry.data)
        info = holder_device_info(site, key, holders.get(key, _holder_name(subentry.data)))
        holder = devices.async_get_or_create(config_entry_id=entry.entry_id, **info)
        for moved in er.async_entries_for_device(entities, old.id, include_disabled_entities=True):
            entities.async_update_entity(
                moved.entity_id, device_id=holder.id, config_subentry_id=None
            )
        devices.async_remove_device(old.id)


class BadgeSensor(BilledSensor):
    """A billing figure of one badge, on its holder's device (its name tells the tag)."""

    def __init__(self, site: Site, subentry_id: str, description: BadgeSensorDescription) -> None:
        """Bind to a badge subentry."""
        self.subentry_id = subentry_id
        self._attr_unique_id = f"{subentry_id}_{description.key}"
        data = site.entry.subentries[subentry_id].data
        key, tag = _badge_signature(data)
        self._attr_translation_placeholders = {"tag": tag}
        self.entity_description = description
        self.site = site
        self._attr_device_info = holder_device_info(
            site, key, holders_of(site).get(key, _holder_name(data))
        )

    @property
    def tag(self) -> str | None:
        """The badge's tag now (upper case; it may be edited)."""
        subentry = self.site.entry.subentries.get(self.subentry_id)
        return None if subentry is None else str(subentry.data[CONF_TAG]).upper()

    @property
    def _total(self) -> BadgeTotal:
        tag = self.tag
        total = self.site.sessions.badge_totals.get(tag) if tag else None
        return total if total is not None else BadgeTotal()

    def _snapshot(self) -> Any:
        return (self.tag, *super()._snapshot())

    @callback
    def _on_billed(self, tag: str) -> None:
        if tag == self.tag:
            self._handle_update()

    async def async_added_to_hass(self) -> None:
        """Listen to the sessions that end (and to hub changes: a tag edited)."""
        await super().async_added_to_hass()
        self._last = self._snapshot()
        listeners = self.site.sessions.billing_listeners
        listeners.append(self._on_billed)
        self.async_on_remove(lambda: listeners.remove(self._on_billed))
        self.async_on_remove(self.site.add_listener(self._handle_update, configuration_only=True))


# --- badge holders (billing over all their badges) ----------------------------------


def holder_device_info(site: Site, key: str, name: str) -> DeviceInfo:
    """Device of a badge holder: their totals and the sensors of each of their badges."""
    info = DeviceInfo(
        identifiers={(DOMAIN, holder_device_identifier(site.entry.entry_id, key))},
        name=name,
        manufacturer="Charge Zones",
        model="Badge holder",
    )
    if site.hub_device_id is not None:
        info["via_device_id"] = site.hub_device_id
    return info


def holders_of(site: Site) -> dict[str, str]:
    """Holders that get sensors, by key, with their name.

    Every holder of a configured badge (named as on their first badge), and every holder
    ever billed (named as last billed): totals once billed are never dropped, even when
    the holder has no badge any more.
    """
    holders = {key: total.name for key, total in site.sessions.holder_totals.items()}
    configured: dict[str, str] = {}
    for subentry in site.entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_BADGE:
            name = " ".join(str(subentry.data[CONF_HOLDER]).split())
            if name:
                configured.setdefault(holder_key(name), name)
    return holders | configured


HOLDER_SENSORS: tuple[BadgeSensorDescription, ...] = tuple(
    replace(description, key=f"holder_{description.key}", translation_key=f"holder_{key}")
    for description, key in zip(
        BADGE_SENSORS, ("energy", "sessions", "cost", "last_session"), strict=True
    )
)


class HolderSensor(BilledSensor):
    """A billing figure of one badge holder over all their badges, on the holder's device."""

    def __init__(
        self, site: Site, key: str, name: str, description: BadgeSensorDescription
    ) -> None:
        """Bind to a holder (by key; name: the device's)."""
        self.key = key
        entry_id = site.entry.entry_id
        self._attr_unique_id = f"{entry_id}_holder_{key}_{description.key.removeprefix('holder_')}"
        self.entity_description = description
        self.site = site
        self._attr_device_info = holder_device_info(site, key, name)

    @property
    def _total(self) -> ResidentTotal:
        total = self.site.sessions.holder_totals.get(self.key)
        return total if total is not None else ResidentTotal()

    async def async_added_to_hass(self) -> None:
        """Listen to this holder's sessions that end (and to hub changes: the tariff)."""
        await super().async_added_to_hass()
        self._last = self._snapshot()
        self.async_on_remove(self.site.sessions.on_holder_billed(self.key, self._handle_update))
        self.async_on_remove(self.site.add_listener(self._handle_update, configuration_only=True))
