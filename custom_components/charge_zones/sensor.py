"""Sensors: station measurements and state, hub counters, badge billing figures.

Set up here; each device kind's sensors are in a module of their own under sensors/
(sensors/station.py, sensors/hub.py, sensors/zone.py, sensors/meter.py, sensors/badge.py).
"""

from __future__ import annotations

from functools import partial

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN, SUBENTRY_BADGE
from .entity import (
    add_for_stations,
    add_for_subentries,
    holder_device_identifier,
)
from .sensors.badge import (
    BADGE_SENSORS,
    BADGE_SPLIT_SENSORS,
    HOLDER_SENSORS,
    HOLDER_SPLIT_SENSORS,
    BadgeSensor,
    HolderSensor,
    _badge_signature,
    _move_badge_sensors_to_holders,
    holders_of,
)
from .sensors.hub import (
    ChargedEnergySensor,
    ConnectedStationsSensor,
    PeakSensor,
    SolarSurplusSensor,
)
from .sensors.meter import METER_SENSORS, MeterSensor
from .sensors.station import _forget_unmanaged_sensors, station_sensors
from .sensors.zone import ZONE_SENSORS, ZoneSensor
from .site import ChargeZonesConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeZonesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up sensors for the hub and every station, now and when added."""
    site = entry.runtime_data
    async_add_entities(
        [
            ConnectedStationsSensor(site),
            SolarSurplusSensor(site),
            PeakSensor(site),
            ChargedEnergySensor(site, solar=True),
            ChargedEnergySensor(site, solar=False),
        ]
    )
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
            sensors = [
                BadgeSensor(site, subentry_id, d) for d in (*BADGE_SENSORS, *BADGE_SPLIT_SENSORS)
            ]
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
            for description in (*BADGE_SENSORS, *BADGE_SPLIT_SENSORS):
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
            async_add_entities(
                [
                    HolderSensor(site, key, wanted[key], d)
                    for d in (*HOLDER_SENSORS, *HOLDER_SPLIT_SENSORS)
                ]
            )
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
