"""Charge Zones: OCPP central system, Modbus DLM and load management for a building."""

from __future__ import annotations

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    issue_registry as ir,
)
from homeassistant.helpers.typing import ConfigType

from .card import async_forget_card_resource, async_keep_card_resource, async_register_card
from .const import CONF_HOST, CONF_PORT, DOMAIN, ENTRY_MINOR_VERSION, ENTRY_VERSION, LOGGER
from .entity import hub_device_info
from .remote import RemoteOcppView
from .services import async_setup_services
from .site import ISSUE_KINDS, ChargeZonesConfigEntry, Site, issue_id
from .subentries import migrate_subentry_data

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TIME,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions, the remote OCPP endpoint and the card."""
    async_setup_services(hass)
    hass.http.register_view(RemoteOcppView(hass))
    await async_register_card(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: ChargeZonesConfigEntry) -> bool:
    """Bring a hub written by an earlier version to today's form.

    Home Assistant itself refuses a hub of a newer major version (written by a later
    Charge Zones) without calling this; one of a newer minor version loads as it is.
    """
    if entry.version == 1:
        # 2: select values are stored lowercase (L1-L2-L3 -> l1-l2-l3, parity N -> none).
        # The hub's own data and options hold no such value; its subentries do.
        for subentry in list(entry.subentries.values()):
            data = migrate_subentry_data(subentry.subentry_type, subentry.data)
            if data != subentry.data:
                hass.config_entries.async_update_subentry(entry, subentry, data=data)
        hass.config_entries.async_update_entry(
            entry, version=ENTRY_VERSION, minor_version=ENTRY_MINOR_VERSION
        )
        LOGGER.info("Migrated %s to configuration version %s", entry.title, ENTRY_VERSION)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: ChargeZonesConfigEntry) -> bool:
    """Start the central system of one hub."""
    site = Site(hass, entry)
    try:
        await site.async_start()
    except OSError as err:
        await site.async_stop()
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_listen",
            translation_placeholders={
                "host": entry.data[CONF_HOST],
                "port": str(entry.data[CONF_PORT]),
                "error": err.strerror or str(err),
            },
        ) from err
    entry.runtime_data = site
    # The card on every dashboard, also on a page served while Home Assistant starts.
    await async_keep_card_resource(hass)
    hub = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **hub_device_info(site)
    )
    site.hub_device_id = hub.id
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))

    async def _async_stop(_event: Event) -> None:
        await site.async_stop()

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _async_stop))
    return True


async def _async_update_listener(hass: HomeAssistant, entry: ChargeZonesConfigEntry) -> None:
    """Apply options, reconfiguration and subentry changes without a reload."""
    site = entry.runtime_data
    # The hub's device is named after the entry (its title follows the port).
    registry = dr.async_get(hass)
    hub = None if site.hub_device_id is None else registry.async_get(site.hub_device_id)
    if hub is not None and hub.name != entry.title:
        registry.async_update_device(hub.id, name=entry.title)
    await site.async_apply_entry()


async def async_unload_entry(hass: HomeAssistant, entry: ChargeZonesConfigEntry) -> bool:
    """Stop the central system."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: ChargeZonesConfigEntry) -> None:
    """Forget a removed hub's repair issues (and, with the last hub, the card's resource)."""
    prefixes = tuple(issue_id(kind, entry.entry_id) for kind in ISSUE_KINDS)
    registry = ir.async_get(hass)
    for domain, key in list(registry.issues):
        if domain == DOMAIN and key.startswith(prefixes):
            ir.async_delete_issue(hass, DOMAIN, key)
    if not any(e.entry_id != entry.entry_id for e in hass.config_entries.async_entries(DOMAIN)):
        await async_forget_card_resource(hass)
