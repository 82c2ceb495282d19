"""The Charge Zones card: served and registered by the integration, fed over the websocket.

The card (frontend/charge-zones-card.js, built from the repository's frontend/ folder) is
served at CARD_URL and loaded on every dashboard as a frontend module, with the file's
hash as a query so that browsers fetch it anew after an update. Its data comes from
three websocket commands: the hubs and their zones (for the card editor), a hub's
overview, and a subscription that pushes the overview again when it changes.
"""

from __future__ import annotations

from collections.abc import Callable
import hashlib
from pathlib import Path
from typing import Any

import probatio as vol

from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL, add_extra_js_url
from homeassistant.components.http.server import StaticPathConfig
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import ERR_NOT_FOUND
from homeassistant.components.websocket_api.decorators import websocket_command
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .const import DOMAIN
from .overview import build_overview
from .site import Site

CARD_DIR = Path(__file__).parent / "frontend"
CARD_FILE = "charge-zones-card.js"
CARD_PATH = f"/{DOMAIN}/frontend"
CARD_URL = f"{CARD_PATH}/{CARD_FILE}"
# The subscription pushes at most this often (the DLM service cycles every second and
# after every meter read; stations report every few seconds).
PUSH_INTERVAL = 1.0


def _card_hash() -> str:
    return hashlib.sha256((CARD_DIR / CARD_FILE).read_bytes()).hexdigest()[:12]


async def async_register_card(hass: HomeAssistant) -> str:
    """Serve the card and load it on every dashboard; returns its URL (with version)."""
    version = await hass.async_add_executor_job(_card_hash)
    await hass.http.async_register_static_paths(
        [StaticPathConfig(CARD_PATH, str(CARD_DIR), cache_headers=True)]
    )
    url = f"{CARD_URL}?v={version}"
    # The frontend is set up before (after_dependencies) wherever there is one.
    if DATA_EXTRA_MODULE_URL in hass.data:
        add_extra_js_url(hass, url)
    async_register_command(hass, ws_hubs)
    async_register_command(hass, ws_overview)
    async_register_command(hass, ws_subscribe)
    return url


def _site(hass: HomeAssistant, entry_id: str) -> Site | None:
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
        return None
    site: Site = entry.runtime_data
    return site


def _overview(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> dict[str, Any] | None:
    site = _site(hass, msg["entry_id"])
    if site is None:
        connection.send_error(msg["id"], ERR_NOT_FOUND, "Hub not found or not loaded")
        return None
    try:
        return build_overview(hass, site, msg.get("zone"))
    except KeyError:
        connection.send_error(msg["id"], ERR_NOT_FOUND, "Zone not found")
        return None


@websocket_command({vol.Required("type"): f"{DOMAIN}/hubs"})
@callback
def ws_hubs(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """The loaded hubs and their zones (the card editor's choices)."""
    hubs = []
    for entry in hass.config_entries.async_entries(DOMAIN):
        if (site := _site(hass, entry.entry_id)) is None:
            continue
        hubs.append(
            {
                "entry_id": entry.entry_id,
                "title": entry.title,
                "zones": [{"key": k, "name": z.name} for k, z in site.load.zones.items()],
            }
        )
    connection.send_result(msg["id"], hubs)


@websocket_command(
    {
        vol.Required("type"): f"{DOMAIN}/overview",
        vol.Required("entry_id"): str,
        vol.Optional("zone"): str,
    }
)
@callback
def ws_overview(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """A hub's zones, supplies and stations, once."""
    if (overview := _overview(hass, connection, msg)) is not None:
        connection.send_result(msg["id"], overview)


@websocket_command(
    {
        vol.Required("type"): f"{DOMAIN}/overview/subscribe",
        vol.Required("entry_id"): str,
        vol.Optional("zone"): str,
    }
)
@callback
def ws_subscribe(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """The overview now, then again whenever it changed (at most once a second)."""
    if (overview := _overview(hass, connection, msg)) is None:
        return
    site = _site(hass, msg["entry_id"])
    assert site is not None
    msg_id = msg["id"]
    last = overview
    pending: CALLBACK_TYPE | None = None
    removers: list[Callable[[], None]] = []

    @callback
    def push(_now: Any = None) -> None:
        nonlocal last, pending
        pending = None
        try:
            overview = build_overview(hass, site, msg.get("zone"))
        except KeyError:
            return  # The zone was removed: the card shows what it had.
        if overview != last:
            last = overview
            connection.send_message(event_message(msg_id, overview))

    @callback
    def changed() -> None:
        nonlocal pending
        if pending is None:
            pending = async_call_later(hass, PUSH_INTERVAL, push)

    watched: dict[str, Callable[[], None]] = {}

    @callback
    def watch_stations(*_args: Any) -> None:
        for key in [k for k in watched if k not in site.stations]:
            watched.pop(key)()
        for key, station in site.stations.items():
            if key not in watched:
                watched[key] = station.add_listener(changed)
        changed()

    removers.append(site.load.add_listener(changed))
    removers.append(site.on_configured(watch_stations))
    removers.append(site.on_station_added(watch_stations))
    watch_stations()

    @callback
    def unsubscribe() -> None:
        if pending is not None:
            pending()
        for remove in [*removers, *watched.values()]:
            remove()

    connection.subscriptions[msg_id] = unsubscribe
    connection.send_result(msg_id)
    connection.send_message(event_message(msg_id, overview))
