"""The billing sensors of badges and badge holders (one device per holder)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    UnitOfEnergy,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.typing import StateType

from ..badges import holder_key
from ..billing import TARIFF_NONE, BadgeTotal, ResidentTotal
from ..const import (
    CONF_GRID_METER,
    CONF_GRID_POWER,
    CONF_HOLDER,
    CONF_PV_POWER,
    CONF_TAG,
    DOMAIN,
    SUBENTRY_BADGE,
    SUBENTRY_METER,
)
from ..entity import (
    MODEL_BADGE_HOLDER,
    ChargeZonesEntity,
    device_model,
    holder_device_identifier,
)
from ..site import Site

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
    def entity_registry_enabled_default(self) -> bool:
        """The solar/grid split only where the hub can tell them apart."""
        if self.entity_description in (*BADGE_SPLIT_SENSORS, *HOLDER_SPLIT_SENSORS):
            return splits_energy(self.site)
        return True

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
        model=device_model(site.hass, MODEL_BADGE_HOLDER),
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


def add_for_holders(
    site: Site, build: Callable[[str, str], list[Entity]], add: Callable[..., None]
) -> Callable[[], None]:
    """Give every new badge holder the entities build(key, name) returns (now and later).

    The sensor platform removes a holder's device (its entities with it) when it has
    neither a badge nor totals any more; a holder who comes back gets them again.
    """
    done: set[str] = set()

    @callback
    def refresh() -> None:
        wanted = holders_of(site)
        done.intersection_update(wanted)
        new = sorted(wanted.keys() - done)
        done.update(new)
        if new:
            add([entity for key in new for entity in build(key, wanted[key])])

    refresh()
    return site.on_configured(refresh)


HOLDER_SENSORS: tuple[BadgeSensorDescription, ...] = tuple(
    replace(description, key=f"holder_{description.key}", translation_key=f"holder_{key}")
    for description, key in zip(
        BADGE_SENSORS, ("energy", "sessions", "cost", "last_session"), strict=True
    )
)

# A self-consumption community's split of the energy charged: solar and grid (enabled
# by default on a hub with a grid connection meter or a PV production sensor).
_SPLIT_SENSOR = BADGE_SENSORS[0]
BADGE_SPLIT_SENSORS: tuple[BadgeSensorDescription, ...] = (
    replace(
        _SPLIT_SENSOR,
        key="billed_solar_energy",
        translation_key="billed_solar_energy",
        value_fn=lambda total: round(total.solar_wh, 1),
    ),
    replace(
        _SPLIT_SENSOR,
        key="billed_grid_energy",
        translation_key="billed_grid_energy",
        value_fn=lambda total: round(total.grid_wh, 1),
    ),
)
HOLDER_SPLIT_SENSORS: tuple[BadgeSensorDescription, ...] = tuple(
    replace(description, key=f"holder_{key}", translation_key=f"holder_{key}")
    for description, key in zip(BADGE_SPLIT_SENSORS, ("solar_energy", "grid_energy"), strict=True)
)


def splits_energy(site: Site) -> bool:
    """Whether the hub can tell solar from grid energy (a grid meter or a PV sensor)."""
    return any(
        sub.subentry_type == SUBENTRY_METER and sub.data.get(CONF_GRID_METER)
        for sub in site.entry.subentries.values()
    ) or any(site.entry.options.get(key) for key in (CONF_PV_POWER, CONF_GRID_POWER))


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
