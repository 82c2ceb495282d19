"""Base entities: one device per station (its subentry) and one for the hub."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er, translation
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import DOMAIN
from .loadmanager import MeterConfig, ZoneConfig
from .site import Site
from .stations import Station
from .subentries import station_model_label

_UNSET: Any = object()

#: Keys of the models of the devices Charge Zones makes up (translations: device.<key>.name).
#: Not given as the devices' model_id: Home Assistant shows a model id beside the model,
#: and there it would read as a raw key ("Zone électrique (electrical_zone)").
MODEL_CENTRAL_SYSTEM = "central_system"
MODEL_ELECTRICAL_ZONE = "electrical_zone"
MODEL_BADGE_HOLDER = "badge_holder"


def device_model(hass: HomeAssistant, model_id: str) -> str:
    """The model of one of Charge Zones' own devices, in Home Assistant's language.

    Home Assistant translates a device's name (translation_key), not its model: the
    model is written to the device registry as text. So it is looked up here, in the
    translations' device section (device.<model_id>.name), in the language of the
    server; it follows a change of language when the hub is next loaded.
    """
    strings = translation.async_get_cached_translations(
        hass, hass.config.language, "device", DOMAIN
    )
    return strings.get(f"component.{DOMAIN}.device.{model_id}.name", model_id)


def hub_device_info(site: Site) -> DeviceInfo:
    """Device of the hub (the central system)."""
    return DeviceInfo(
        identifiers={(DOMAIN, site.entry.entry_id)},
        name=site.entry.title,
        manufacturer="Charge Zones",
        model=device_model(site.hass, MODEL_CENTRAL_SYSTEM),
    )


def holder_device_identifier(entry_id: str, key: str) -> str:
    """Device identifier of a badge holder (key: holder_key of the name)."""
    return f"{entry_id}_holder_{key}"


def station_device_info(site: Site, station: Station) -> DeviceInfo:
    """Device of a station; vendor, model and firmware come with its boot.

    Before its first boot the model is the configured one; a station that booted
    before (a restart since) keeps what its last boot wrote on the device.
    """
    info = DeviceInfo(
        identifiers={(DOMAIN, station.config.subentry_id)},
        name=station.station_id,
    )
    if site.hub_device_id is not None:
        info["via_device_id"] = site.hub_device_id
    if station.boot is not None:
        info["manufacturer"] = station.boot.vendor
        info["model"] = station.boot.model
        info["sw_version"] = station.boot.firmware_version
        info["serial_number"] = station.boot.serial
    elif not booted_before(site, station):
        info["model"] = station_model_label(station.config.model)
    return info


def booted_before(site: Site, station: Station) -> bool:
    """Whether the station's device holds what a boot wrote (its vendor)."""
    device = dr.async_get(site.hass).async_get_device_by_identifier(
        (DOMAIN, station.config.subentry_id), site.entry.entry_id
    )
    return device is not None and device.manufacturer is not None


class ChargeZonesEntity(Entity):
    """Writes its state only when what it shows changed."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _last: Any = _UNSET

    def _snapshot(self) -> Any:
        """What this entity shows; a change of it means a state write."""
        raise NotImplementedError

    @callback
    def _handle_update(self) -> None:
        snapshot = self._snapshot()
        if snapshot != self._last:
            self._last = snapshot
            self.async_write_ha_state()


class StationEntity(ChargeZonesEntity):
    """An entity of one station, updated by that station only."""

    # Whether what it shows depends on MeterValues (measurements, session register).
    _shows_readings = False

    def __init__(self, site: Site, station: Station, description: EntityDescription) -> None:
        """Bind to a station."""
        self.entity_description = description
        self.site = site
        self.station = station
        self._attr_unique_id = f"{station.config.subentry_id}_{description.key}"
        self._attr_device_info = station_device_info(site, station)

    @property
    def available(self) -> bool:
        """Most station entities need the station connected."""
        return self.station.connected

    async def async_added_to_hass(self) -> None:
        """Listen to this station (and to the hub's configuration: its zone's name)."""
        await super().async_added_to_hass()
        self._last = self._snapshot()
        # Readings reach it at most once per sensor update interval; any other change of
        # the station at once (with the newest readings).
        self.async_on_remove(self.station.add_listener(self._handle_update, readings=False))
        if self._shows_readings:
            self.async_on_remove(self.site.readings_of(self.station).add(self._handle_update))
        self.async_on_remove(self.site.on_configured(self._handle_update))


class HubEntity(ChargeZonesEntity):
    """An entity of the hub."""

    def __init__(self, site: Site, description: EntityDescription) -> None:
        """Bind to the hub."""
        self.entity_description = description
        self.site = site
        self._attr_unique_id = f"{site.entry.entry_id}_{description.key}"
        self._attr_device_info = hub_device_info(site)

    async def async_added_to_hass(self) -> None:
        """Listen to hub-level changes."""
        await super().async_added_to_hass()
        self._last = self._snapshot()
        self.async_on_remove(self.site.add_listener(self._handle_update))


def zone_device_info(site: Site, zone: ZoneConfig) -> DeviceInfo:
    """Device of an electrical zone."""
    info = DeviceInfo(
        identifiers={(DOMAIN, zone.key)},
        name=zone.name,
        manufacturer="Charge Zones",
        model=device_model(site.hass, MODEL_ELECTRICAL_ZONE),
    )
    if site.hub_device_id is not None:
        info["via_device_id"] = site.hub_device_id
    return info


def meter_device_info(site: Site, meter: MeterConfig) -> DeviceInfo:
    """Device of a Modbus meter."""
    info = DeviceInfo(
        identifiers={(DOMAIN, meter.key)},
        name=meter.name,
        model=meter.model.label,
        serial_number=None,
    )
    if site.hub_device_id is not None:
        info["via_device_id"] = site.hub_device_id
    return info


class LoadEntity(ChargeZonesEntity):
    """An entity of a zone or meter, refreshed after each DLM cycle or meter read."""

    def __init__(self, site: Site, key: str, description: EntityDescription) -> None:
        """Bind to a zone or meter (by subentry id)."""
        self.entity_description = description
        self.site = site
        self.key = key
        self._attr_unique_id = f"{key}_{description.key}"

    async def async_added_to_hass(self) -> None:
        """Listen to the load manager."""
        await super().async_added_to_hass()
        self._last = self._snapshot()
        self.async_on_remove(self.site.load.add_listener(self._handle_update))


def add_for_subentries(
    site: Site,
    kind: str,
    build: Callable[[str], list[Entity]],
    add: Callable[..., None],
) -> Callable[[], None]:
    """Add entities for every zone or meter, now and whenever one is added."""
    done: set[str] = set()

    @callback
    def refresh() -> None:
        configured = site.load.zones if kind == "zone" else site.load.meters
        for key in configured:
            if key not in done:
                done.add(key)
                add(build(key), config_subentry_id=key)
        done.intersection_update(configured)

    refresh()
    return site.on_configured(refresh)


def _signature(entity: Entity) -> tuple[Any, ...]:
    """What an entity is called: an entity whose name changes is replaced."""
    description = entity.entity_description
    placeholders = description.translation_placeholders or {}
    return (type(entity), description.translation_key, tuple(sorted(placeholders.items())))


def add_for_stations(
    site: Site,
    platform: str,
    build: Callable[[Station], Sequence[StationEntity]],
    add: Callable[..., None],
) -> Callable[[], None]:
    """Give every station the entities build() returns, now and whenever it changes.

    A station added gets its entities; a station edited (its connectors, wiring, zone,
    connection) gets those it now has and loses, from the entity registry, those it no
    longer has (the registry remembers their settings should they come back, e.g. a
    user's disabling); an entity whose name changed (its connector number now shown) is
    replaced under the same registry entry. No reload: the others stay connected.
    """
    live: dict[str, dict[str | None, tuple[tuple[Any, ...], StationEntity]]] = {}

    async def replace(old: list[StationEntity], new: list[StationEntity], subentry: str) -> None:
        for entity in old:
            if entity.hass is not None:
                await entity.async_remove()
        add(new, config_subentry_id=subentry)

    @callback
    def sync(station: Station) -> None:
        subentry = station.config.subentry_id
        for gone in live.keys() - site.stations.keys():
            del live[gone]  # removed with its subentry (Home Assistant removes its entities)
        if site.stations.get(subentry) is not station:
            return
        had = live.setdefault(subentry, {})
        wanted = {entity.unique_id: entity for entity in build(station)}
        new: list[StationEntity] = []
        renamed: list[StationEntity] = []
        replaced: list[StationEntity] = []
        for unique_id, entity in wanted.items():
            signature = _signature(entity)
            known = had.get(unique_id)
            if known is not None and known[0] == signature:
                continue
            had[unique_id] = (signature, entity)
            if known is None:
                new.append(entity)
            else:
                replaced.append(known[1])
                renamed.append(entity)
        registry = er.async_get(site.hass)
        for unique_id in had.keys() - wanted.keys():
            del had[unique_id]
            assert unique_id is not None
            if (found := registry.async_get_entity_id(platform, DOMAIN, unique_id)) is not None:
                registry.async_remove(found)  # the entity goes with its registry entry
        if new:
            add(new, config_subentry_id=subentry)
        if renamed:
            site.create_task(replace(replaced, renamed, subentry), f"rename {station.station_id}")

    for station in site.stations.values():
        sync(station)
    remove_added = site.on_station_added(sync)
    remove_edited = site.on_station_edited(sync)

    def remove() -> None:
        remove_added()
        remove_edited()

    return remove
