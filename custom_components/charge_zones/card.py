"""The Charge Zones card: served and registered by the integration, fed over the websocket.

The card (frontend/charge-zones-card.js, built from the repository's frontend/ folder) is
served at CARD_URL, with the file's hash as a query so that browsers fetch it anew after an
update. Its data comes from three websocket commands: the hubs and their zones (for the
card editor), a hub's overview, and a subscription that pushes the overview again when it
changes.

How dashboards load it. Home Assistant's HTTP server answers as soon as its frontend is set
up, seconds before it sets up Charge Zones; a page served in between gets neither the
frontend's extra modules added later (they are written into the page when it is served, and
the frontend never asks for them again) nor an answer from the card's URL (not served yet),
and the card stays "Custom element doesn't exist" on that page until it is reloaded. So the
card is a dashboard resource (the dashboards' resources are stored, and read by every page
from the start), and that resource is a small loader of its own (a data: URL, served by no
one) that waits until the card's URL answers, then imports it. Dashboards whose resources
are in YAML (lovelace resource_mode: yaml) cannot be given one: there the card is added to
the frontend's extra modules (pages served after Charge Zones set up load it).
"""

from __future__ import annotations

from collections.abc import Callable
import hashlib
from pathlib import Path
from typing import Any

import probatio as vol

from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL, add_extra_js_url
from homeassistant.components.http.server import StaticPathConfig
from homeassistant.components.lovelace.const import LOVELACE_DATA
from homeassistant.components.lovelace.resources import ResourceStorageCollection
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import ERR_NOT_FOUND
from homeassistant.components.websocket_api.decorators import websocket_command
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .overview import build_overview
from .site import Site

CARD_DIR = Path(__file__).parent / "frontend"
CARD_FILE = "charge-zones-card.js"
CARD_PATH = f"/{DOMAIN}/frontend"
CARD_URL = f"{CARD_PATH}/{CARD_FILE}"
# The dashboard resource that loads the card: a module in a data: URL (nothing to serve),
# which waits (every half second, for up to ten minutes: Home Assistant may take that long
# to set Charge Zones up) until the card's URL answers, then imports it. Resources starting
# with LOADER_PREFIX (or the card's own URL, added by hand) are this integration's.
LOADER_PREFIX = "data:text/javascript,/* Charge Zones card, kept by the Charge Zones integration"
LOADER = (
    LOADER_PREFIX + ": loads the card as soon as Home Assistant serves it */ "
    "const url = new URL('{url}', location.href).href; "
    "(async () => {{ for (let i = 0; i < 1200; i++) {{ "
    "const ok = await fetch(url, {{method: 'HEAD'}}).then(r => r.ok, () => false); "
    "if (ok) return import(url); "
    "await new Promise(done => setTimeout(done, 500)); }} }})();"
)
# The subscription pushes at most this often (the DLM service cycles every second and
# after every meter read; stations report every few seconds).
PUSH_INTERVAL = 1.0
DATA_CARD_URL: HassKey[str] = HassKey(f"{DOMAIN}_card_url")


def _card_hash() -> str:
    return hashlib.sha256((CARD_DIR / CARD_FILE).read_bytes()).hexdigest()[:12]


async def async_register_card(hass: HomeAssistant) -> str:
    """Serve the card; returns its URL (with version).

    Where the dashboards' resources are not stored, the card is one of the frontend's
    extra modules (async_keep_card_resource makes it a resource elsewhere).
    """
    version = await hass.async_add_executor_job(_card_hash)
    await hass.http.async_register_static_paths(
        [StaticPathConfig(CARD_PATH, str(CARD_DIR), cache_headers=True)]
    )
    url = f"{CARD_URL}?v={version}"
    hass.data[DATA_CARD_URL] = url
    # The frontend is set up before (after_dependencies) wherever there is one.
    if DATA_EXTRA_MODULE_URL in hass.data and _stored_resources(hass) is None:
        add_extra_js_url(hass, url)
    async_register_command(hass, ws_hubs)
    async_register_command(hass, ws_overview)
    async_register_command(hass, ws_subscribe)
    return url


def _stored_resources(hass: HomeAssistant) -> ResourceStorageCollection | None:
    """The dashboards' resources, when they are stored (not in YAML); None else."""
    if (data := hass.data.get(LOVELACE_DATA)) is None:
        return None
    resources = data.resources
    return resources if isinstance(resources, ResourceStorageCollection) else None


def _is_loader(url: str) -> bool:
    return url.startswith((LOADER_PREFIX, CARD_URL))


async def async_keep_card_resource(hass: HomeAssistant) -> None:
    """Make the card's loader, for this version of the card, one of the stored resources.

    Once: an earlier version's loader, or the card's URL added by hand, is replaced.
    """
    if (resources := _stored_resources(hass)) is None or DATA_CARD_URL not in hass.data:
        return
    await resources.async_get_info()  # loads them
    loader = LOADER.format(url=hass.data[DATA_CARD_URL])
    mine = [item for item in resources.async_items() if _is_loader(str(item.get("url", "")))]
    if not mine:
        await resources.async_create_item({"res_type": "module", "url": loader})
        return
    first, *others = mine
    if first["url"] != loader or first.get("type") != "module":
        await resources.async_update_item(first["id"], {"res_type": "module", "url": loader})
    for item in others:
        await resources.async_delete_item(item["id"])


async def async_forget_card_resource(hass: HomeAssistant) -> None:
    """Remove the card's loader from the dashboards' resources (the last hub is removed)."""
    if (resources := _stored_resources(hass)) is None:
        return
    await resources.async_get_info()
    for item in list(resources.async_items()):
        if _is_loader(str(item.get("url", ""))):
            await resources.async_delete_item(item["id"])


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
