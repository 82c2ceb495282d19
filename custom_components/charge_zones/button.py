"""Buttons: reset, unlock, "Update configuration" (push the badge list), clear the cache."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.button.const import ButtonDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .central.connection import CommandError
from .const import DOMAIN
from .entity import HubEntity, StationEntity, add_for_stations
from .site import ChargeZonesConfigEntry, Site
from .stations import Station

PARALLEL_UPDATES = 1

OK_STATUSES = {"Accepted", "Unlocked", "Scheduled"}


@dataclass(frozen=True, kw_only=True)
class StationButtonDescription(ButtonEntityDescription):
    """A station button and what it does (returns the station's answer)."""

    press_fn: Callable[[Station], Awaitable[str]]


def _unlock(connector_id: int) -> Callable[[Station], Awaitable[str]]:
    def press(station: Station) -> Awaitable[str]:
        return station.require_connection().unlock_connector(connector_id)

    return press


def station_buttons(station: Station) -> list[StationButtonDescription]:
    """Buttons of one station."""
    buttons = [
        StationButtonDescription(
            key="reset",
            translation_key="reset",
            device_class=ButtonDeviceClass.RESTART,
            entity_category=EntityCategory.CONFIG,
            entity_registry_enabled_default=False,
            press_fn=lambda s: s.require_connection().reset("Soft"),
        ),
        StationButtonDescription(
            key="update_configuration",
            translation_key="update_configuration",
            entity_category=EntityCategory.CONFIG,
            press_fn=lambda s: s.async_update_local_list(),
        ),
        StationButtonDescription(
            key="clear_cache",
            translation_key="clear_cache",
            entity_category=EntityCategory.CONFIG,
            entity_registry_enabled_default=False,
            press_fn=lambda s: s.async_clear_cache(),
        ),
    ]
    count = station.config.connectors
    buttons.extend(
        StationButtonDescription(
            key=f"unlock_{connector_id}",
            translation_key="unlock" if count == 1 else "unlock_connector",
            translation_placeholders={"connector": str(connector_id)},
            entity_category=EntityCategory.CONFIG,
            entity_registry_enabled_default=False,
            press_fn=_unlock(connector_id),
        )
        for connector_id in range(1, count + 1)
    )
    return buttons


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeZonesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up buttons for the hub and every station."""
    site = entry.runtime_data
    async_add_entities([HubUpdateConfigurationButton(site), RestartDlmButton(site)])

    entry.async_on_unload(
        add_for_stations(
            site,
            "button",
            lambda station: [StationButton(site, station, d) for d in station_buttons(station)],
            async_add_entities,
        )
    )


class StationButton(StationEntity, ButtonEntity):
    """A command to one station."""

    entity_description: StationButtonDescription

    def _snapshot(self) -> Any:
        return self.available

    async def async_press(self) -> None:
        """Send the command; a refusal is an error the user sees."""
        try:
            status = await self.entity_description.press_fn(self.station)
        except CommandError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_failed",
                translation_placeholders={"station": self.station.station_id, "error": str(err)},
            ) from err
        if status not in OK_STATUSES:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_refused",
                translation_placeholders={"station": self.station.station_id, "status": status},
            )


class HubUpdateConfigurationButton(HubEntity, ButtonEntity):
    """The hub's "Update configuration": badges to every connected station."""

    def __init__(self, site: Site) -> None:
        """Create the button."""
        super().__init__(
            site,
            ButtonEntityDescription(
                key="update_configuration",
                translation_key="update_configuration",
                entity_category=EntityCategory.CONFIG,
            ),
        )

    def _snapshot(self) -> Any:
        return None

    async def async_press(self) -> None:
        """Push to all; fail when any connected station did not accept."""
        results = await self.site.async_update_all_local_lists()
        failed = {sid: r for sid, r in results.items() if r not in ("Accepted", "NotConnected")}
        if failed:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="update_configuration_failed",
                translation_placeholders={
                    "stations": ", ".join(f"{sid} ({r})" for sid, r in sorted(failed.items()))
                },
            )


class RestartDlmButton(HubEntity, ButtonEntity):
    """Restart the service that reads the DLM meters and shares the current."""

    def __init__(self, site: Site) -> None:
        """Create the button."""
        super().__init__(
            site,
            ButtonEntityDescription(
                key="restart_dlm_service",
                translation_key="restart_dlm_service",
                device_class=ButtonDeviceClass.RESTART,
                entity_category=EntityCategory.CONFIG,
            ),
        )

    def _snapshot(self) -> Any:
        return None

    async def async_press(self) -> None:
        """Restart it."""
        await self.site.load.async_restart()
