"""Who may connect: security profiles 1 and 2, identity checks, frame size, floods, pings."""

from __future__ import annotations

import asyncio
from base64 import b64encode
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
import json
import logging
from pathlib import Path
import ssl
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from custom_components.charge_zones.central.server import OcppServer
from custom_components.charge_zones.const import DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from simulator.station import StationBehaviour, StationClient

from .conftest import STATION_ID, badge_subentry, free_port, station_subentry, ws_url
from .helpers import wait_until

PASSWORD = "correct-horse-battery"  # 21 characters
SECURE_ID = "CP-SECURE"
OCPP = ["ocpp1.6"]


@pytest.fixture
def subentries() -> list[dict[str, Any]]:
    """An open station, a station with a password and a badge."""
    return [
        station_subentry(),
        station_subentry(SECURE_ID, password=PASSWORD),
        badge_subentry("BADGE-ALICE", "Alice"),
    ]


def basic(user: str, password: str) -> dict[str, str]:
    """An HTTP Basic Authorization header."""
    return {"Authorization": "Basic " + b64encode(f"{user}:{password}".encode()).decode()}


async def refused_status(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """Try a handshake that must be refused; its HTTP status and response."""
    with pytest.raises(InvalidStatus) as err:
        async with connect(url, subprotocols=OCPP, additional_headers=headers):  # type: ignore[arg-type]
            pass
    return err.value.response.status_code, err.value.response


def credentials_issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    """The repair issue for the secure station's rejected credentials."""
    return ir.async_get(hass).async_get_issue(
        DOMAIN, f"credentials_rejected_{entry.entry_id}_sub_{SECURE_ID}"
    )


async def test_password_checked_at_handshake(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Missing or wrong credentials get 401, logged once per streak without the secret."""
    url = f"{ws_url(loaded_entry)}/{SECURE_ID}"
    caplog.set_level(logging.INFO)
    status, response = await refused_status(url)
    assert status == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert (await refused_status(url, basic(SECURE_ID, "wrong-password-123456")))[0] == 401
    assert credentials_issue(hass, loaded_entry) is None  # two refusals: no repair yet
    # The user must be the station's own id.
    assert (await refused_status(url, basic("SOMEONE-ELSE", PASSWORD)))[0] == 401
    # A malformed header is a refusal, not a crash.
    assert (await refused_status(url, {"Authorization": "Basic !!!"}))[0] == 401
    refusals = [r for r in caplog.records if "refused" in r.getMessage() and SECURE_ID in r.message]
    assert len(refusals) == 1
    assert PASSWORD not in caplog.text
    assert "wrong-password-123456" not in caplog.text

    issue = credentials_issue(hass, loaded_entry)
    assert issue is not None
    assert issue.translation_key == "credentials_rejected"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["station_id"] == SECURE_ID

    # The right password (as typed) is accepted and clears the repair.
    site = loaded_entry.runtime_data
    client = StationClient(ws_url(loaded_entry), SECURE_ID, password=PASSWORD)
    station = await client.connect()
    boot = await station.boot()
    assert boot.status == "Accepted"
    assert site.station_by_id(SECURE_ID).connected
    assert credentials_issue(hass, loaded_entry) is None
    await client.close()

    # A station that decoded nothing and uses the hex AuthorizationKey as its password works too.
    client = StationClient(ws_url(loaded_entry), SECURE_ID, password=PASSWORD.encode().hex())
    await client.connect()
    await wait_until(hass, lambda: site.station_by_id(SECURE_ID).connected)
    await client.close()


async def test_station_without_password_stays_open(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A station configured without a password connects without credentials (profile 0)."""
    client = StationClient(ws_url(loaded_entry), STATION_ID)
    station = await client.connect()
    assert (await station.boot()).status == "Accepted"
    await client.close()


async def test_new_password_pushed_as_authorization_key(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Setting a password on a connected station sends it hex-encoded as AuthorizationKey;
    the station then reconnects with it, and without it is refused."""
    client = StationClient(ws_url(loaded_entry), STATION_ID)
    station = await client.connect()
    await station.boot()
    subentry = loaded_entry.subentries[f"sub_{STATION_ID}"]
    new_password = "Zone-Parking-2026-Key"
    hass.config_entries.async_update_subentry(
        loaded_entry, subentry, data={**subentry.data, "password": new_password}
    )
    # (The configuration after its boot, e.g. HeartbeatInterval, may still be going out.)
    while (payload := await station.wait_for("ChangeConfiguration"))["key"] != "AuthorizationKey":
        pass
    assert payload == {"key": "AuthorizationKey", "value": new_password.encode().hex()}
    await wait_until(hass, lambda: station.state.authorization_key == new_password)
    await client.close()

    status, _ = await refused_status(f"{ws_url(loaded_entry)}/{STATION_ID}")
    assert status == 401
    client = StationClient(
        ws_url(loaded_entry), STATION_ID, password=station.state.authorization_key
    )
    again = await client.connect()
    assert (await again.boot()).status == "Accepted"
    await client.close()


@pytest.mark.parametrize("behaviour", [StationBehaviour(reject_authorization_key=True)])
async def test_password_refused_by_station_is_reported(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """A station that does not take its new password raises a repair telling what to do."""
    assert client.station is not None
    await client.station.boot()
    subentry = loaded_entry.subentries[f"sub_{STATION_ID}"]
    hass.config_entries.async_update_subentry(
        loaded_entry, subentry, data={**subentry.data, "password": "Another-Password-42"}
    )
    issue_id = f"key_not_delivered_{loaded_entry.entry_id}_sub_{STATION_ID}"
    await wait_until(hass, lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {"station_id": STATION_ID, "status": "Rejected"}
    # Clearing the password clears the repair.
    subentry = loaded_entry.subentries[f"sub_{STATION_ID}"]
    data = {k: v for k, v in subentry.data.items() if k != "password"}
    hass.config_entries.async_update_subentry(loaded_entry, subentry, data=data)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.parametrize(
    "station_id",
    [
        "..",
        "a%2F..%2Fetc",
        "bad%20id",
        "x" * 49,
        "%00nul",
        "caf%C3%A9",
    ],
)
async def test_malformed_identity_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, station_id: str
) -> None:
    """Identities with path tricks, spaces, control or non-ASCII characters, or too long: 400."""
    status, response = await refused_status(f"{ws_url(loaded_entry)}/{station_id}")
    assert status == 400
    assert b"invalid station identifier" in response.body
    await hass.async_block_till_done()
    assert not [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]
    assert not loaded_entry.runtime_data.unknown_stations


async def test_prefixed_url_accepted(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """Stations that put a path before their id (…/ocpp/<id>) are accepted."""
    client = StationClient(f"{ws_url(loaded_entry)}/ocpp/cs", STATION_ID)
    station = await client.connect()
    assert (await station.boot()).status == "Accepted"
    await client.close()


async def test_oversized_frame_closes_connection(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A frame over the maximum size closes the connection (1009); the station can come back."""
    site = loaded_entry.runtime_data
    async with connect(f"{ws_url(loaded_entry)}/{STATION_ID}", subprotocols=OCPP) as ws:  # type: ignore[arg-type]
        await wait_until(hass, lambda: site.station_by_id(STATION_ID).connected)
        huge = json.dumps([2, "big-1", "DataTransfer", {"vendorId": "x", "data": "y" * 300_000}])
        await ws.send(huge)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009
    await wait_until(hass, lambda: not site.station_by_id(STATION_ID).connected)
    client = StationClient(ws_url(loaded_entry), STATION_ID)
    station = await client.connect()
    assert (await station.boot()).status == "Accepted"
    await client.close()


async def test_flooding_station_is_throttled_not_starving_others(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A station sending frames without waiting is paced; another station is served meanwhile,
    and the flooder still gets every answer."""
    site = loaded_entry.runtime_data
    # The default pace (20 frames/s after a burst of 100) makes this test long; the same
    # throttle at 10x the pace shows the same behaviour.
    site.links.frame_rate = 200.0
    flood = 500
    async with connect(f"{ws_url(loaded_entry)}/{STATION_ID}", subprotocols=OCPP) as flooder:  # type: ignore[arg-type]
        await wait_until(hass, lambda: STATION_ID in site.links.connections)
        connection = site.links.connections[STATION_ID]
        for index in range(flood):
            await flooder.send(json.dumps([2, f"f-{index}", "Heartbeat", {}]))
        await wait_until(hass, lambda: connection.throttle.throttled > 0)
        other = StationClient(ws_url(loaded_entry), SECURE_ID, password=PASSWORD)
        polite = await other.connect()
        assert (await polite.heartbeat()).current_time
        # The polite station was answered while the flooder's frames were still queued.
        assert connection.throttle.frames < flood
        answered = 0
        while answered < flood:
            reply = json.loads(await asyncio.wait_for(flooder.recv(), 10))
            assert reply[0] == 3
            assert reply[1] == f"f-{answered}"
            answered += 1
        # One flood, one warning (not one per frame held back).
        warnings = [r for r in caplog.records if "throttled" in r.getMessage()]
        assert len(warnings) == 1
        assert connection.throttle.episodes == 1
        assert site.station_by_id(STATION_ID).connected
        await other.close()


async def test_duplicate_connection_replaces_first(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A second connection with the same id (and the right password) takes over cleanly."""
    site = loaded_entry.runtime_data
    first = StationClient(ws_url(loaded_entry), SECURE_ID, password=PASSWORD)
    await first.connect()
    await wait_until(hass, lambda: site.station_by_id(SECURE_ID).connected)
    # An impostor without the password cannot push the real station out.
    assert (await refused_status(f"{ws_url(loaded_entry)}/{SECURE_ID}"))[0] == 401
    assert first.connection is not None
    assert first.connection.state.name == "OPEN"
    second = StationClient(ws_url(loaded_entry), SECURE_ID, password=PASSWORD)
    station = await second.connect()
    await wait_until(hass, lambda: first.connection is not None and first.connection.close_code)
    assert first.connection.close_code == 1000
    assert (await station.heartbeat()).current_time
    assert site.station_by_id(SECURE_ID).connected
    await first.close()
    await second.close()


async def test_silent_connection_detected_by_ping(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A station that stops answering websocket pings is disconnected."""
    site = loaded_entry.runtime_data
    port = free_port()
    server = OcppServer(
        "127.0.0.1",
        port,
        links=site.links,
        check=site.check_handshake,
        ping_interval=0.2,
        ping_timeout=0.2,
        close_timeout=0.2,
    )
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            (
                f"GET /{STATION_ID} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101")
        await wait_until(hass, lambda: site.station_by_id(STATION_ID).connected)
        # Never read, never pong: the server gives up on the connection.
        await wait_until(hass, lambda: not site.station_by_id(STATION_ID).connected, within=10)
        writer.close()
    finally:
        await server.stop()


# --- security profile 2: TLS ------------------------------------------------------------


async def plain_handshake(url: str) -> None:
    """Open and close a websocket."""
    async with connect(url, subprotocols=OCPP):  # type: ignore[arg-type]
        pass


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_tls_server(hass: HomeAssistant, port: int, tmp_path: Path) -> None:
    """With certificate files the server speaks wss:// only; a station trusting it connects
    with its password (security profile 2)."""
    cert, key = make_certificate(tmp_path)
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={
            "host": "127.0.0.1",
            "port": port,
            "tls": "files",
            "certfile": str(cert),
            "keyfile": str(key),
        },
        options={"heartbeat_interval": 300, "meter_value_sample_interval": 10},
        subentries_data=[station_subentry(SECURE_ID, password=PASSWORD)],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.server.tls

    trust = ssl.create_default_context(cafile=str(cert))
    client = StationClient(f"wss://localhost:{port}", SECURE_ID, password=PASSWORD, ssl=trust)
    station = await client.connect()
    assert (await station.boot()).status == "Accepted"
    await client.close()

    # Plain ws:// to the TLS port does not get a websocket.
    # (asyncio reports the failed TLS handshake to the loop's exception handler only in
    # debug mode, which the test harness turns on.)
    loop = asyncio.get_running_loop()
    loop.set_debug(False)
    try:
        with pytest.raises((InvalidHandshake, ConnectionClosed, OSError, TimeoutError)):
            await asyncio.wait_for(plain_handshake(f"ws://127.0.0.1:{port}/{SECURE_ID}"), 5)
        await asyncio.sleep(0.1)
    finally:
        loop.set_debug(True)
    # The password is still checked over TLS.
    with pytest.raises(InvalidStatus) as err:
        async with connect(f"wss://localhost:{port}/{SECURE_ID}", subprotocols=OCPP, ssl=trust):  # type: ignore[arg-type]
            pass
    assert err.value.response.status_code == 401
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unusable_certificate_raises_repair(
    hass: HomeAssistant, port: int, tmp_path: Path
) -> None:
    """A certificate file that does not load keeps the hub in setup retry with a repair."""
    bad = tmp_path / "broken.pem"
    bad.write_text("not a certificate")
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={
            "host": "127.0.0.1",
            "port": port,
            "tls": "files",
            "certfile": str(bad),
            "keyfile": str(bad),
        },
        options={"heartbeat_interval": 300, "meter_value_sample_interval": 10},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"port_unavailable_{entry.entry_id}")
    assert issue is not None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_port_in_use_raises_repair_until_free(hass: HomeAssistant, port: int) -> None:
    """A port another program holds: setup retries with a repair, which goes once it binds."""
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={"host": "127.0.0.1", "port": port},
        options={"heartbeat_interval": 300, "meter_value_sample_interval": 10},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    issue_id = f"port_unavailable_{entry.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["port"] == str(port)
    blocker.close()
    await blocker.wait_closed()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    await hass.config_entries.async_unload(entry.entry_id)


async def hub_form(hass: HomeAssistant) -> dict[str, Any]:
    """Open the hub's creation form."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    assert result["type"] is FlowResultType.FORM
    return result


def hub_input(port: int, **overrides: Any) -> dict[str, Any]:
    """What the installer enters in the hub form."""
    return {
        "host": "127.0.0.1",
        "port": port,
        "heartbeat_interval": 300,
        "meter_value_sample_interval": 10,
    } | overrides


@pytest.mark.parametrize(
    ("files", "errors", "placeholders"),
    [
        ({"certfile": " ", "keyfile": "/k.pem"}, {"certfile": "tls_files_missing"}, {}),
        (
            {"certfile": "/nonexistent/c.pem", "keyfile": "/nonexistent/k.pem"},
            {"base": "tls_file_not_found"},
            {"file": "/nonexistent/c.pem"},
        ),
        ("garbage", {"base": "tls_invalid"}, {}),
    ],
)
async def test_hub_form_certificate_errors(
    hass: HomeAssistant,
    port: int,
    tmp_path: Path,
    files: Any,
    errors: dict[str, str],
    placeholders: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Missing or unusable certificate files are refused in the second step, in words (the
    library's wording in the log); fixed, the hub is created."""
    if files == "garbage":
        bad = tmp_path / "broken.pem"
        bad.write_text("not a certificate")
        files = {"certfile": str(bad), "keyfile": str(bad)}
    result = await hub_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], hub_input(port, tls="files")
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "certificates"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], files)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "certificates"
    assert result["errors"] == errors
    assert result["description_placeholders"] == placeholders
    if errors == {"base": "tls_invalid"}:
        assert "cannot be used" in caplog.text  # the library's detail is in the log
    cert, key = make_certificate(tmp_path)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"certfile": str(cert), "keyfile": str(key)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        "host": "127.0.0.1",
        "port": port,
        "tls": "files",
        "certfile": str(cert),
        "keyfile": str(key),
    }
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_hub_form_without_home_assistant_certificate(hass: HomeAssistant, port: int) -> None:
    """Home Assistant's certificate chosen where it has none: refused on the first step."""
    await async_setup_component(hass, "http", {})
    result = await hub_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], hub_input(port, tls="home_assistant")
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"tls": "no_ha_certificate"}


async def test_hub_with_home_assistant_certificate(
    hass: HomeAssistant, port: int, tmp_path: Path
) -> None:
    """TLS with Home Assistant's own certificate: created, and the server speaks wss://."""
    cert, key = make_certificate(tmp_path)
    await async_setup_component(hass, "http", {})
    hass.http.ssl_certificate = str(cert)
    hass.http.ssl_key = str(key)
    result = await hub_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], hub_input(port, tls="home_assistant")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["tls"] == "home_assistant"
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.runtime_data.server.tls
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_turns_tls_on(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, tmp_path: Path
) -> None:
    """Reconfiguring to certificate files moves the server to wss:// without a reload."""
    cert, key = make_certificate(tmp_path)
    site = loaded_entry.runtime_data
    result = await loaded_entry.start_reconfigure_flow(hass)
    port = loaded_entry.data["port"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": port, "tls": "files"}
    )
    assert result["step_id"] == "certificates"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"certfile": str(cert), "keyfile": str(key)}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded_entry.runtime_data is site
    assert site.server.tls
    trust = ssl.create_default_context(cafile=str(cert))
    client = StationClient(f"wss://localhost:{port}", SECURE_ID, password=PASSWORD, ssl=trust)
    station = await client.connect()
    assert (await station.boot()).status == "Accepted"
    await client.close()
    # And back to plain ws://: the file paths are dropped.
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": port, "tls": "none"}
    )
    await hass.async_block_till_done()
    assert dict(loaded_entry.data) == {"host": "127.0.0.1", "port": port, "tls": "none"}
    assert not site.server.tls


async def test_hub_reconfigure_tls_error_then_fixed(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, tmp_path: Path
) -> None:
    """Moving the hub to unusable certificate files is refused with the reason, and the
    dialog recovers with files that load; the files it uses are shown when edited again."""
    port = loaded_entry.data["port"]
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": port, "tls": "files"}
    )
    assert result["step_id"] == "certificates"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"certfile": "/nonexistent/c.pem", "keyfile": "/nonexistent/k.pem"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "certificates"
    assert result["errors"] == {"base": "tls_file_not_found"}
    cert, key = make_certificate(tmp_path)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"certfile": str(cert), "keyfile": str(key)}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert loaded_entry.data["tls"] == "files"
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": port, "tls": "files"}
    )
    shown = {
        m.schema: (m.description or {}).get("suggested_value") for m in result["data_schema"].schema
    }
    assert shown == {"certfile": str(cert), "keyfile": str(key)}
