"""The OCPP 1.6J websocket server: handshake checks, one connection per station id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from http import HTTPStatus
import logging
import re
import ssl
from typing import Any
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .connection import SUBPROTOCOL, StationConnection, StationHandler

_LOGGER = logging.getLogger(__name__)

MAX_FRAME_SIZE = 256 * 1024


def station_id_from_path(path: str) -> str:
    """The station id: the last segment of the URL path, percent-decoded."""
    return unquote(urlsplit(path).path.rstrip("/").rsplit("/", 1)[-1])


# OCPP chargePointId as accepted here: printable, no whitespace or path separators.
STATION_ID_RE = re.compile(r"^[A-Za-z0-9._:*+@-]{1,48}$")


def valid_station_id(station_id: str) -> bool:
    """Whether an identifier is acceptable as a station's OCPP id."""
    return STATION_ID_RE.match(station_id) is not None


def offered_subprotocols(request: Request) -> list[str]:
    """Subprotocols the client offers, in its order."""
    return [
        item.strip()
        for header in request.headers.get_all("Sec-WebSocket-Protocol")
        for item in header.split(",")
        if item.strip()
    ]


async def listen_error(host: str, port: int) -> str | None:
    """Why a TCP server cannot listen on host:port right now (None: it can)."""
    loop = asyncio.get_running_loop()
    try:
        server = await loop.create_server(asyncio.Protocol, host, port, reuse_address=True)
    except OSError as err:
        return err.strerror or str(err)
    server.close()
    await server.wait_closed()
    return None


class OcppServer:
    """Accepts stations on ws://host:port/<station id>."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        lookup: Callable[[str], StationHandler | None],
        on_unknown: Callable[[str, str], None],
        on_connect: Callable[[StationConnection], None],
        on_disconnect: Callable[[StationConnection], None],
        ssl_context: ssl.SSLContext | None = None,
        response_timeout: float = 30,
    ) -> None:
        """Prepare (not start) the server."""
        self.host = host
        self.port = port
        self._lookup = lookup
        self._on_unknown = on_unknown
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._ssl = ssl_context
        self._response_timeout = response_timeout
        self._server: Server | None = None
        self.connections: dict[str, StationConnection] = {}

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._server is not None

    @property
    def bound_port(self) -> int | None:
        """The port actually bound (useful when port 0 was asked)."""
        if self._server is None:
            return None
        for sock in self._server.sockets:
            return int(sock.getsockname()[1])
        return None

    async def start(self) -> None:
        """Start listening; raises OSError when the port cannot be bound."""
        self._server = await serve(
            self._serve_station,
            self.host,
            self.port,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            process_request=self._process_request,
            ssl=self._ssl,
            max_size=MAX_FRAME_SIZE,
            ping_interval=30,
            ping_timeout=30,
            server_header="Charge Zones",
            logger=logging.getLogger("websockets.server.charge_zones"),
        )
        _LOGGER.info("OCPP central system listening on %s:%s", self.host, self.bound_port)

    async def stop(self) -> None:
        """Close the listener and every station connection."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close(close_connections=True)
        await server.wait_closed()

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        station_id = station_id_from_path(request.path)
        remote = _remote(connection)
        if not station_id:
            return connection.respond(
                HTTPStatus.NOT_FOUND,
                "Charge Zones: connect to ws://<host>:<port>/<station OCPP id>\n",
            )
        if SUBPROTOCOL not in offered_subprotocols(request):
            _LOGGER.warning(
                "Station %s (%s) refused: it does not offer the websocket subprotocol %s",
                station_id,
                remote,
                SUBPROTOCOL,
            )
            return connection.respond(
                HTTPStatus.BAD_REQUEST,
                f"Charge Zones speaks OCPP 1.6J: the station must offer the websocket "
                f"subprotocol '{SUBPROTOCOL}'\n",
            )
        if self._lookup(station_id) is None:
            self._on_unknown(station_id, remote)
            return connection.respond(
                HTTPStatus.NOT_FOUND,
                f"Charge Zones: unknown charging station '{station_id}'; add it in Home "
                "Assistant (Charge Zones > Add charging station)\n",
            )
        return None

    async def _serve_station(self, websocket: ServerConnection) -> None:
        assert websocket.request is not None
        station_id = station_id_from_path(websocket.request.path)
        handler = self._lookup(station_id)
        if handler is None:  # removed between the handshake and now
            await websocket.close(1008, "unknown station")
            return
        connection = StationConnection(station_id, websocket, handler, self._response_timeout)
        previous = self.connections.get(station_id)
        self.connections[station_id] = connection
        if previous is not None:
            _LOGGER.info("Station %s reconnected: closing its previous connection", station_id)
            await previous._connection.close(1000, "replaced by a new connection")
        _LOGGER.info("Station %s connected from %s", station_id, _remote(websocket))
        self._on_connect(connection)
        try:
            await connection.start()
        except ConnectionClosed as err:
            _LOGGER.info("Station %s disconnected (%s)", station_id, err)
        finally:
            if self.connections.get(station_id) is connection:
                del self.connections[station_id]
                self._on_disconnect(connection)


def _remote(connection: Any) -> str:
    address = connection.remote_address
    return f"{address[0]}:{address[1]}" if address else "?"
