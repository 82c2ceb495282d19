"""The remote OCPP endpoint on Home Assistant's web server, for cloud-connected stations."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from custom_components.charge_zones.central.server import MAX_FRAME_SIZE
from custom_components.charge_zones.const import ENTRY_MINOR_VERSION, ENTRY_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from simulator.station import StationClient

from .conftest import (
    STATION_ID,
    badge_subentry,
    free_port,
    station_subentry,
    ws_url,
    zone_subentry,
)
from .helpers import wait_until
from .test_config_flow import start_station_flow, station_input
from .test_session import sampled

REMOTE_ID = "EASEE-EHXYZ123"
PASSWORD = "cloud-station-secret-1"


@pytest.fixture
def subentries() -> list[dict[str, Any]]:
    """A local station, a remote (cloud) station, a zone and a badge."""
    return [
        station_subentry(),
        station_subentry(REMOTE_ID, remote=True, password=PASSWORD),
        zone_subentry(max_current=32),
        badge_subentry("BADGE-ALICE", "Alice"),
    ]


@pytest.fixture
async def remote_url(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, aiohttp_client: ClientSessionGenerator
) -> str:
    """Base URL of the remote endpoint on Home Assistant's web server (a real 127.0.0.1 port)."""
    client = await aiohttp_client(hass.http.app)
    return f"ws://127.0.0.1:{client.server.port}/api/charge_zones/ocpp"


async def refused(url: str, headers: dict[str, str] | None = None) -> int:
    """HTTP status of a refused handshake."""
    with pytest.raises(InvalidStatus) as err:
        async with connect(url, subprotocols=["ocpp1.6"], additional_headers=headers):  # type: ignore[list-item]
            pass
    return err.value.response.status_code


async def test_remote_station_session(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, remote_url: str
) -> None:
    """Metering, badges and sessions work for a remote station exactly as for a local one,
    and it is never sent a charging profile."""
    site = loaded_entry.runtime_data
    client = StationClient(remote_url, REMOTE_ID, password=PASSWORD)
    station = await client.connect()
    assert (await station.boot()).status == "Accepted"
    await wait_until(hass, lambda: site.station_by_id(REMOTE_ID).ready)
    assert (await station.authorize("BADGE-ALICE")).id_tag_info["status"] == "Accepted"
    assert (await station.authorize("BADGE-NOBODY")).id_tag_info["status"] == "Invalid"
    started = await station.start_transaction(1, "BADGE-ALICE", meter_start=10_000)
    tid = started.transaction_id
    await station.meter_values(1, sampled(12_000, (16, 16, 16)), transaction_id=tid)
    remote = site.station_by_id(REMOTE_ID)
    await wait_until(hass, lambda: remote.energy_wh == 12_000)
    stopped = await station.stop_transaction(tid, meter_stop=14_500, id_tag="BADGE-ALICE")
    assert stopped.id_tag_info["status"] == "Accepted"
    session = site.sessions.closed[-1]
    assert (session.station_id, session.energy_wh, session.holder) == (REMOTE_ID, 4_500, "Alice")
    # Never load-managed: no profile was sent, even at connect.
    assert not [a for a, _ in station.received if a == "SetChargingProfile"]
    assert remote.config.zone is None
    assert REMOTE_ID in site.links.connections
    await client.close()
    await wait_until(hass, lambda: not remote.connected)


async def test_remote_endpoint_refusals(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, remote_url: str
) -> None:
    """Wrong password 401, local or unknown stations 404, no subprotocol 400, bad id 400."""
    assert await refused(f"{remote_url}/{REMOTE_ID}") == 401
    client = StationClient(remote_url, REMOTE_ID, password="not-the-right-password")
    with pytest.raises(InvalidStatus) as err:
        await client.connect()
    assert err.value.response.status_code == 401
    assert err.value.response.headers["WWW-Authenticate"].startswith("Basic")
    # A local station is not accepted on the remote endpoint, nor a remote one locally.
    assert await refused(f"{remote_url}/{STATION_ID}") == 404
    local = StationClient(ws_url(loaded_entry), REMOTE_ID, password=PASSWORD)
    with pytest.raises(InvalidStatus) as err:
        await local.connect()
    assert err.value.response.status_code == 404
    assert await refused(f"{remote_url}/NOBODY-1") == 404
    assert await refused(f"{remote_url}/bad%20id") == 400
    with pytest.raises(InvalidStatus) as err:
        async with connect(f"{remote_url}/{REMOTE_ID}"):
            pass
    assert err.value.response.status_code == 400
    assert not loaded_entry.runtime_data.station_by_id(REMOTE_ID).connected


async def test_remote_reconnect_replaces_connection(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, remote_url: str
) -> None:
    """A second remote connection with the same id replaces the first one."""
    site = loaded_entry.runtime_data
    first = StationClient(remote_url, REMOTE_ID, password=PASSWORD)
    await first.connect()
    await wait_until(hass, lambda: REMOTE_ID in site.links.connections)
    old = site.links.connections[REMOTE_ID]
    second = StationClient(remote_url, REMOTE_ID, password=PASSWORD)
    station = await second.connect()
    await wait_until(hass, lambda: site.links.connections.get(REMOTE_ID) is not old)
    assert (await station.heartbeat()).current_time
    await wait_until(hass, lambda: first.connection is not None and first.connection.close_code)
    assert site.station_by_id(REMOTE_ID).connected
    await first.close()
    await second.close()


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"endpoint": "remote"}, {"password": "remote_needs_password"}),
        (
            {"endpoint": "remote", "password": PASSWORD, "zone": "zone_car_park"},
            {"zone": "remote_not_managed"},
        ),
        ({"password": "short"}, {"password": "invalid_password"}),
        ({"password": "x" * 41}, {"password": "invalid_password"}),
        ({"password": "has spaces in it, 16+"}, {"password": "invalid_password"}),
    ],
)
async def test_station_form_security_errors(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    overrides: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """The form says why a remote station or a password is refused."""
    result = await start_station_flow(hass, loaded_entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], station_input("CLOUD-2", **overrides)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors


async def test_add_remote_station(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """A remote station is saved with its password and without a zone."""
    result = await start_station_flow(hass, loaded_entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], station_input("CLOUD-2", endpoint="remote", password=PASSWORD)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    subentry = next(
        s for s in loaded_entry.subentries.values() if s.data.get("station_id") == "CLOUD-2"
    )
    assert subentry.data["endpoint"] == "remote"
    assert subentry.data["password"] == PASSWORD
    assert "zone" not in subentry.data
    await hass.async_block_till_done()
    station = loaded_entry.runtime_data.station_by_id("CLOUD-2")
    assert station.config.remote
    assert station.config.zone is None


async def test_password_redacted_in_diagnostics(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Diagnostics never contain a station's password."""
    from custom_components.charge_zones.diagnostics import async_get_config_entry_diagnostics

    data = await async_get_config_entry_diagnostics(hass, loaded_entry)
    assert PASSWORD not in repr(data)
    remote = next(s for s in data["stations"] if s["station_id"] == REMOTE_ID)
    assert remote["config"]["endpoint"] == "remote"
    assert remote["config"]["password_set"] is True
    assert remote["config"]["load_managed"] is False


async def test_wrong_passwords_count_as_failed_logins(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    aiohttp_client: ClientSessionGenerator,
    tmp_path: Path,
) -> None:
    """On the internet-facing endpoint, wrong passwords feed Home Assistant's IP ban."""
    # The ban list is a file in the config directory: keep it out of the shared one.
    hass.config.config_dir = str(tmp_path)
    assert await async_setup_component(
        hass, "http", {"http": {"ip_ban_enabled": True, "login_attempts_threshold": 2}}
    )
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    client = await aiohttp_client(hass.http.app)
    url = f"ws://127.0.0.1:{client.server.port}/api/charge_zones/ocpp"
    wrong = StationClient(url, REMOTE_ID, password="not-the-right-password")
    for _ in range(2):
        with pytest.raises(InvalidStatus) as err:
            await wrong.connect()
        assert err.value.response.status_code == 401
    # Banned now: even the right password from that address is turned away.
    right = StationClient(url, REMOTE_ID, password=PASSWORD)
    with pytest.raises(InvalidStatus) as err:
        await right.connect()
    assert err.value.response.status_code == 403
    assert not config_entry.runtime_data.station_by_id(REMOTE_ID).connected
    await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert "127.0.0.1" in (tmp_path / "ip_bans.yaml").read_text()


def basic_auth(station_id: str, password: str) -> dict[str, str]:
    """HTTP Basic credentials of a station."""
    token = base64.b64encode(f"{station_id}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_remote_binary_frame_is_read_as_text(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, remote_url: str
) -> None:
    """A station that sends its JSON in binary frames is understood all the same."""
    async with connect(
        f"{remote_url}/{REMOTE_ID}",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers=basic_auth(REMOTE_ID, PASSWORD),
    ) as websocket:
        await websocket.send(json.dumps([2, "hb-1", "Heartbeat", {}]).encode())
        answer = json.loads(await asyncio.wait_for(websocket.recv(), 10))
        assert answer[:2] == [3, "hb-1"]
        assert "currentTime" in answer[2]


async def test_remote_oversized_frame_closes_the_link(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, remote_url: str
) -> None:
    """A frame over the size limit ends the connection (1009), as on the local server."""
    site = loaded_entry.runtime_data
    async with connect(
        f"{remote_url}/{REMOTE_ID}",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers=basic_auth(REMOTE_ID, PASSWORD),
        max_size=None,
    ) as websocket:
        await wait_until(hass, lambda: site.station_by_id(REMOTE_ID).connected)
        await websocket.send("[" + " " * (MAX_FRAME_SIZE + 1) + "]")
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(websocket.recv(), 10)
        assert websocket.close_code == 1009
    await wait_until(hass, lambda: not site.station_by_id(REMOTE_ID).connected)


async def test_remote_station_of_a_second_hub(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, remote_url: str
) -> None:
    """With two hubs, a remote station is served by the hub that knows it."""
    other = MockConfigEntry(
        domain="charge_zones",
        title="Charge Zones (other)",
        data={"host": "127.0.0.1", "port": free_port()},
        options={"heartbeat_interval": 300, "meter_value_sample_interval": 10},
        subentries_data=[station_subentry("CLOUD-2", remote=True, password=PASSWORD)],
        version=ENTRY_VERSION,
        minor_version=ENTRY_MINOR_VERSION,
    )
    other.add_to_hass(hass)
    assert await hass.config_entries.async_setup(other.entry_id)
    await hass.async_block_till_done()
    client = StationClient(remote_url, "CLOUD-2", password=PASSWORD)
    station = await client.connect()
    assert (await station.boot()).status == "Accepted"
    await wait_until(hass, lambda: other.runtime_data.station_by_id("CLOUD-2").connected)
    assert loaded_entry.runtime_data.station_by_id("CLOUD-2") is None
    await client.close()
    await hass.config_entries.async_unload(other.entry_id)
    await hass.async_block_till_done()


async def test_remote_unknown_station_logged_once(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    remote_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unknown station retrying the remote endpoint is logged once, not at every try."""
    for _ in range(3):
        assert await refused(f"{remote_url}/STRANGER-9") == 404
    logged = [
        r
        for r in caplog.records
        if r.name.startswith("custom_components") and "STRANGER-9" in r.getMessage()
    ]
    assert len(logged) == 1
    assert logged[0].levelname == "WARNING"
