"""The OCPP 1.6J websocket server: handshake checks, one connection per station id.

Two endpoints feed the same `StationLinks`: the central system's own websocket server
(`OcppServer`, port 9000 by default, plain or TLS) and, for cloud-connected stations, a view
on Home Assistant's web server (`remote.py`). Whichever endpoint a station comes through,
a second connection with the same id replaces the first, and every frame goes through the
same throttle.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
import hmac
from http import HTTPStatus
import logging
import re
import socket
import ssl
import time
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .connection import SUBPROTOCOL, StationConnection, StationHandler

_LOGGER = logging.getLogger(__name__)

MAX_FRAME_SIZE = 256 * 1024
# Websocket pings: a station that does not answer one within PING_TIMEOUT is gone.
PING_INTERVAL = 30.0
PING_TIMEOUT = 30.0
# Frames a station may send per second on average, and in a burst (a station flushing
# its offline queue after a reconnect stays within this).
FRAME_RATE = 20.0
FRAME_BURST = 100


def station_id_from_path(path: str) -> str:
    """The station id: the last segment of the URL path, percent-decoded."""
    return unquote(urlsplit(path).path.rstrip("/").rsplit("/", 1)[-1])


# OCPP chargePointId as accepted here: printable, no whitespace or path separators.
STATION_ID_RE = re.compile(r"^[A-Za-z0-9._:*+@-]{1,48}$")


def valid_station_id(station_id: str) -> bool:
    """Whether an identifier is acceptable as a station's OCPP id."""
    return STATION_ID_RE.match(station_id) is not None and station_id not in (".", "..")


def offered_subprotocols(header_values: list[str]) -> list[str]:
    """Subprotocols the client offers, in its order."""
    return [item.strip() for header in header_values for item in header.split(",") if item.strip()]


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) of an HTTP Basic Authorization header, None if absent or malformed."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("latin-1")
    except binascii.Error, ValueError:
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def authorization_key(password: str) -> str:
    """The AuthorizationKey value for a password (OCPP 1.6 security: hex-encoded)."""
    return password.encode().hex()


def password_matches(given: str, password: str) -> bool:
    """Whether a Basic password is the station's password.

    Stations decode the hex AuthorizationKey they were given; some use it as typed. Both
    are accepted, compared in constant time.
    """
    given_bytes = given.encode("latin-1", errors="replace")
    return hmac.compare_digest(given_bytes, password.encode()) or hmac.compare_digest(
        given_bytes, authorization_key(password).encode()
    )


class Endpoint(StrEnum):
    """Where a station connects."""

    LOCAL = "local"  # the central system's own server (port 9000)
    REMOTE = "remote"  # Home Assistant's web server, for cloud-connected stations


class Verdict(StrEnum):
    """Outcome of a handshake check."""

    ACCEPT = "accept"
    INVALID_ID = "invalid_id"
    UNKNOWN = "unknown"
    WRONG_ENDPOINT = "wrong_endpoint"
    UNAUTHORIZED = "unauthorized"


@dataclass(frozen=True, slots=True)
class Handshake:
    """What a station presents when it connects."""

    station_id: str
    remote: str
    endpoint: Endpoint
    authorization: str | None


def refusal(verdict: Verdict, station_id: str) -> tuple[HTTPStatus, str] | None:
    """HTTP status and text for a refused handshake (None: accepted)."""
    match verdict:
        case Verdict.ACCEPT:
            return None
        case Verdict.INVALID_ID:
            return (
                HTTPStatus.BAD_REQUEST,
                "Charge Zones: invalid station identifier (1-48 characters: letters, digits "
                "and . _ : * + @ -)\n",
            )
        case Verdict.UNAUTHORIZED:
            return HTTPStatus.UNAUTHORIZED, "Charge Zones: wrong or missing credentials\n"
        case Verdict.WRONG_ENDPOINT:
            return (
                HTTPStatus.NOT_FOUND,
                f"Charge Zones: station '{station_id}' is not configured for this endpoint\n",
            )
    return (
        HTTPStatus.NOT_FOUND,
        f"Charge Zones: unknown charging station '{station_id}'; add it in Home Assistant "
        "(Charge Zones > Add charging station)\n",
    )


class Socket(Protocol):
    """A station's websocket, whichever server accepted it."""

    async def recv(self) -> str | bytes:
        """The next frame; raises LinkClosed (or ConnectionClosed) when the socket closes."""

    async def send(self, message: str) -> None:
        """Send a text frame."""

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the socket."""


class LinkClosed(Exception):
    """A station's socket closed."""


class Throttle:
    """Token bucket: `rate` frames per second on average, bursts of `burst`."""

    def __init__(self, rate: float = FRAME_RATE, burst: int = FRAME_BURST) -> None:
        """Start full."""
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._at = time.monotonic()
        self.frames = 0  # frames seen
        self.throttled = 0  # frames that had to wait
        self.episodes = 0  # floods: waits since the bucket was last full
        self._waiting = False

    def delay(self) -> float:
        """Take a token; seconds to wait before handling the frame (0: at once)."""
        self.frames += 1
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= 1
        if self._tokens >= 0:
            if self._tokens >= self.burst - 1:  # refilled: the flood is over
                self._waiting = False
            return 0.0
        if not self._waiting:
            self._waiting = True
            self.episodes += 1
        self.throttled += 1
        return -self._tokens / self.rate


class ThrottledConnection(StationConnection):
    """A station connection that paces the frames it reads."""

    def __init__(
        self,
        station_id: str,
        socket: Socket,
        handler: StationHandler,
        response_timeout: float,
        throttle: Throttle,
    ) -> None:
        """Wrap a socket."""
        super().__init__(station_id, socket, handler, response_timeout)
        self.throttle = throttle
        self.socket = socket

    async def start(self) -> None:
        """Read and route frames until the socket closes, pacing a flooding station."""
        while True:
            message = await self.socket.recv()
            self.logger.info("%s: receive message %s", self.id, message)
            episodes = self.throttle.episodes
            wait = self.throttle.delay()
            if wait > 0:
                if self.throttle.episodes != episodes:  # once per flood, not per frame
                    _LOGGER.warning(
                        "Station %s sends more than %g messages per second: throttled",
                        self.id,
                        self.throttle.rate,
                    )
                await asyncio.sleep(wait)
            await self.route_message(message)


class StationLinks:
    """The live connection of each station, whichever endpoint it came through."""

    def __init__(
        self,
        *,
        lookup: Callable[[str], StationHandler | None],
        on_connect: Callable[[StationConnection], None],
        on_disconnect: Callable[[StationConnection], None],
        response_timeout: float = 30,
        frame_rate: float = FRAME_RATE,
        frame_burst: int = FRAME_BURST,
    ) -> None:
        """Prepare an empty registry."""
        self._lookup = lookup
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self.response_timeout = response_timeout
        self.frame_rate = frame_rate
        self.frame_burst = frame_burst
        self.connections: dict[str, ThrottledConnection] = {}

    async def serve(self, station_id: str, socket: Socket, remote: str, endpoint: Endpoint) -> None:
        """Run a station's connection until it closes (replacing an earlier one)."""
        handler = self._lookup(station_id)
        if handler is None:  # removed between the handshake and now
            await socket.close(1008, "unknown station")
            return
        connection = ThrottledConnection(
            station_id,
            socket,
            handler,
            self.response_timeout,
            Throttle(self.frame_rate, self.frame_burst),
        )
        previous = self.connections.get(station_id)
        self.connections[station_id] = connection
        if previous is not None:
            _LOGGER.info("Station %s reconnected: closing its previous connection", station_id)
            await previous.socket.close(1000, "replaced by a new connection")
        _LOGGER.info("Station %s connected from %s (%s)", station_id, remote, endpoint)
        self._on_connect(connection)
        try:
            await connection.start()
        except (ConnectionClosed, LinkClosed) as err:
            _LOGGER.info("Station %s disconnected (%s)", station_id, err or "closed")
        finally:
            if self.connections.get(station_id) is connection:
                del self.connections[station_id]
                self._on_disconnect(connection)

    async def close_all(self, reason: str) -> None:
        """Close every connection."""
        for connection in list(self.connections.values()):
            await connection.socket.close(1001, reason)


async def listen_error(host: str, port: int) -> OSError | None:
    """Why a TCP server cannot listen on host:port right now (None: it can)."""
    loop = asyncio.get_running_loop()
    try:
        server = await loop.create_server(asyncio.Protocol, host, port, reuse_address=True)
    except OSError as err:
        # asyncio reports a failure on every address without its errno: bind ourselves
        # to find it (in use, not an address of this machine, not allowed).
        return err if err.errno is not None else (await _bind_error(host, port) or err)
    server.close()
    await server.wait_closed()
    return None


async def _bind_error(host: str, port: int) -> OSError | None:
    """The first error binding a socket to host:port, with its errno (None: it binds)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as err:
        return err
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError as err:
                return err
    return None


class OcppServer:
    """Accepts stations on ws[s]://host:port/<station id>."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        links: StationLinks,
        check: Callable[[Handshake], Verdict],
        ssl_context: ssl.SSLContext | None = None,
        ping_interval: float | None = PING_INTERVAL,
        ping_timeout: float | None = PING_TIMEOUT,
        max_frame_size: int = MAX_FRAME_SIZE,
        close_timeout: float = 10,
    ) -> None:
        """Prepare (not start) the server."""
        self.host = host
        self.port = port
        self.links = links
        self._check = check
        self._ssl = ssl_context
        self._ping = (ping_interval, ping_timeout)
        self._max_size = max_frame_size
        self._close_timeout = close_timeout
        self._server: Server | None = None

    @property
    def tls(self) -> bool:
        """Whether the server speaks wss://."""
        return self._ssl is not None

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
            max_size=self._max_size,
            ping_interval=self._ping[0],
            ping_timeout=self._ping[1],
            close_timeout=self._close_timeout,
            server_header="Charge Zones",
            # No permessage-deflate: OCPP frames are small and stations are on the LAN;
            # compressing each one costs CPU on both sides for a few bytes.
            compression=None,
            logger=logging.getLogger("websockets.server.charge_zones"),
        )
        _LOGGER.info(
            "OCPP central system listening on %s://%s:%s",
            "wss" if self.tls else "ws",
            self.host,
            self.bound_port,
        )

    async def stop(self) -> None:
        """Close the listener and every station connection it accepted."""
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
                "Charge Zones: connect to ws://[host]:[port]/[station OCPP id]\n",
            )
        if SUBPROTOCOL not in offered_subprotocols(
            request.headers.get_all("Sec-WebSocket-Protocol")
        ):
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
        verdict = self._check(
            Handshake(station_id, remote, Endpoint.LOCAL, request.headers.get("Authorization"))
        )
        refused = refusal(verdict, station_id)
        if refused is None:
            return None
        response = connection.respond(*refused)
        if verdict is Verdict.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = 'Basic realm="Charge Zones OCPP"'
        return response

    async def _serve_station(self, websocket: ServerConnection) -> None:
        assert websocket.request is not None
        station_id = station_id_from_path(websocket.request.path)
        await self.links.serve(station_id, websocket, _remote(websocket), Endpoint.LOCAL)


def _remote(connection: Any) -> str:
    address = connection.remote_address
    return f"{address[0]}:{address[1]}" if address else "?"
