"""The remote OCPP endpoint: stations connect through Home Assistant's own web server.

For stations that cannot reach the building's network (cloud-connected Easee, Zaptec…):
`wss://<home assistant>/api/charge_zones/ocpp/<station id>`, behind Home Assistant's TLS or
reverse proxy, with the station's password (HTTP Basic). Only stations configured as remote
are accepted here, and they are never load-managed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from homeassistant.components.http.ban import process_success_login, process_wrong_login
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import HomeAssistantView

from .central.connection import SUBPROTOCOL
from .central.server import (
    MAX_FRAME_SIZE,
    PING_INTERVAL,
    Endpoint,
    Handshake,
    LinkClosed,
    Verdict,
    offered_subprotocols,
    refusal,
    valid_station_id,
)
from .const import DOMAIN, REMOTE_OCPP_PATH

if TYPE_CHECKING:
    from .site import Site

_LOGGER = logging.getLogger(__name__)


class AiohttpSocket:
    """An aiohttp websocket seen as a station socket."""

    def __init__(self, websocket: web.WebSocketResponse) -> None:
        """Wrap a prepared websocket."""
        self._ws = websocket

    async def recv(self) -> str | bytes:
        """The next text (or binary) frame; LinkClosed when the socket closes."""
        message = await self._ws.receive()
        if message.type is WSMsgType.TEXT:
            return str(message.data)
        if message.type is WSMsgType.BINARY:
            return bytes(message.data)
        if message.type is WSMsgType.ERROR:
            raise LinkClosed(f"websocket error: {self._ws.exception() or 'unknown'}")
        raise LinkClosed(f"closed ({self._ws.close_code})")

    async def send(self, message: str) -> None:
        """Send a text frame."""
        if self._ws.closed:
            raise LinkClosed("closed")
        await self._ws.send_str(message)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the websocket."""
        await self._ws.close(code=code, message=reason.encode())


class RemoteOcppView(HomeAssistantView):
    """`/api/charge_zones/ocpp/{station_id}`: OCPP 1.6J over Home Assistant's web server."""

    url = REMOTE_OCPP_PATH + "/{station_id}"
    name = "api:charge_zones:ocpp"
    # Stations authenticate with their own password (HTTP Basic), checked below; they have
    # no Home Assistant token.
    requires_auth = False

    def __init__(self, hass: HomeAssistant) -> None:
        """Serve every loaded Charge Zones hub."""
        self.hass = hass
        self._unknown_logged: set[str] = set()

    async def get(self, request: web.Request, station_id: str) -> web.StreamResponse:
        """Upgrade to a websocket for a configured remote station."""
        remote = request.remote or "?"
        if SUBPROTOCOL not in offered_subprotocols(
            request.headers.getall("Sec-WebSocket-Protocol", [])
        ):
            return web.Response(
                status=400,
                text=f"Charge Zones speaks OCPP 1.6J: the station must offer the websocket "
                f"subprotocol '{SUBPROTOCOL}'\n",
            )
        handshake = Handshake(
            station_id, remote, Endpoint.REMOTE, request.headers.get("Authorization")
        )
        site, verdict = self._site_for(handshake)
        refused = refusal(verdict, station_id)
        if verdict is Verdict.UNAUTHORIZED:
            # Home Assistant's own brute-force protection: counted like a failed login
            # (with `http: ip_ban_enabled`, the address is banned after the threshold).
            await process_wrong_login(request)
        elif verdict is Verdict.ACCEPT:
            process_success_login(request)
        if refused is not None:
            status, text = refused
            headers = (
                {"WWW-Authenticate": 'Basic realm="Charge Zones OCPP"'}
                if verdict is Verdict.UNAUTHORIZED
                else None
            )
            return web.Response(status=int(status), text=text, headers=headers)
        assert site is not None  # only a hub that knows the station accepts it
        websocket = web.WebSocketResponse(
            protocols=(SUBPROTOCOL,),
            heartbeat=PING_INTERVAL,
            max_msg_size=MAX_FRAME_SIZE,
        )
        await websocket.prepare(request)
        await site.links.serve(station_id, AiohttpSocket(websocket), remote, Endpoint.REMOTE)
        if not websocket.closed:
            await websocket.close()
        return websocket

    def _site_for(self, handshake: Handshake) -> tuple[Site | None, Verdict]:
        """The hub that knows the station, and its verdict on the handshake."""
        if not valid_station_id(handshake.station_id):
            return None, Verdict.INVALID_ID
        verdict = Verdict.UNKNOWN
        for entry in self.hass.config_entries.async_loaded_entries(DOMAIN):
            site: Site = entry.runtime_data
            if site.station_by_id(handshake.station_id) is None:
                continue
            verdict = site.check_handshake(handshake)
            return site, verdict
        if handshake.station_id not in self._unknown_logged and len(self._unknown_logged) < 100:
            self._unknown_logged.add(handshake.station_id)
            _LOGGER.warning(
                "Unknown charging station %s (%s) tried the remote OCPP endpoint",
                handshake.station_id,
                handshake.remote,
            )
        return None, verdict
