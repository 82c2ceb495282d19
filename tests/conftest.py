"""Fixtures: a hub on a free 127.0.0.1 port, stations and badges as subentries, real stations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
import socket
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones.const import (
    CONF_AMPERAGE,
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_CONNECTION,
    CONF_CONNECTORS,
    CONF_CONSUMPTION_METER,
    CONF_DLM_METERS,
    CONF_FAILSAFE_CURRENT,
    CONF_HEARTBEAT_INTERVAL,
    CONF_HOLDER,
    CONF_HOST,
    CONF_KIND,
    CONF_MAX_CURRENT,
    CONF_METER_INTERVAL,
    CONF_METER_MODEL,
    CONF_MIN_CURRENT,
    CONF_MODEL,
    CONF_NAME,
    CONF_PARENT_ZONE,
    CONF_PARITY,
    CONF_PHASES,
    CONF_POLL_INTERVAL,
    CONF_PORT,
    CONF_REGISTERS,
    CONF_SERIAL_PORT,
    CONF_STALE_AFTER,
    CONF_STATION_ID,
    CONF_STATUS,
    CONF_STOPBITS,
    CONF_TAG,
    CONF_TIMEOUT,
    CONF_UNIT,
    CONF_ZONE,
    CONF_ZONE_PHASES,
    DOMAIN,
    ENTRY_MINOR_VERSION,
    ENTRY_VERSION,
    SUBENTRY_BADGE,
    SUBENTRY_CONNECTION,
    SUBENTRY_METER,
    SUBENTRY_STATION,
    SUBENTRY_ZONE,
)
from homeassistant.core import HomeAssistant
from simulator.meter import SimulatedMeter
from simulator.station import StationBehaviour, StationClient

from .flow_translations import FlowTranslationChecker, check_flow_translations
from .helpers import enable_by_user

STATION_ID = "TACW1142021G1XYZ"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components from this checkout."""


@pytest.fixture(autouse=True)
def flow_translations() -> Iterator[FlowTranslationChecker]:
    """Every flow form, menu and abort a test walks through is translated in en.json."""
    yield from check_flow_translations()


@pytest.fixture(autouse=True)
def real_sockets(socket_enabled: None) -> None:
    """Every test talks over real sockets; servers bind 127.0.0.1 only."""


@pytest.fixture(autouse=True)
def own_config_dir(hass: HomeAssistant, tmp_path: Path) -> None:
    """Files Home Assistant writes (exports, blueprints, IP bans) go to the test's own
    directory, not the test harness's shared testing_config."""
    hass.config.config_dir = str(tmp_path)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def port() -> int:
    """The hub's OCPP port for this test."""
    return free_port()


def station_subentry(
    station_id: str = STATION_ID,
    *,
    subentry_id: str | None = None,
    model: str = "standard",
    connectors: int = 1,
    phases: str = "l1-l2-l3",
    min_current: float = 6.0,
    max_current: float = 16.0,
    zone: str | None = None,
    password: str | None = None,
    remote: bool = False,
) -> dict[str, Any]:
    """Subentry data of a station (``zone``: subentry id of its zone, if load-managed)."""
    data: dict[str, Any] = {
        CONF_STATION_ID: station_id,
        CONF_MODEL: model,
        CONF_CONNECTORS: connectors,
        CONF_PHASES: phases,
        CONF_MIN_CURRENT: min_current,
        CONF_MAX_CURRENT: max_current,
    }
    if zone is not None:
        data[CONF_ZONE] = zone
    if password is not None:
        data["password"] = password
    if remote:
        data["endpoint"] = "remote"
    return {
        "data": data,
        "subentry_id": subentry_id or f"sub_{station_id}",
        "subentry_type": SUBENTRY_STATION,
        "title": station_id,
        "unique_id": station_id,
    }


def badge_subentry(
    tag: str, holder: str, status: str = "active", expiry: str | None = None
) -> dict[str, Any]:
    """Subentry data of a badge."""
    data: dict[str, Any] = {CONF_TAG: tag, CONF_HOLDER: holder, CONF_STATUS: status}
    if expiry:
        data["expiry"] = expiry
    return {
        "data": data,
        "subentry_id": f"badge_{tag}",
        "subentry_type": SUBENTRY_BADGE,
        "title": f"{holder} ({tag})",
        "unique_id": f"badge {tag.upper()}",
    }


def connection_subentry(
    name: str = "Gateway",
    *,
    subentry_id: str = "conn_gw",
    kind: str = "tcp",
    host: str = "127.0.0.1",
    port: int = 502,
    serial_port: str = "/dev/ttyUSB0",
    baudrate: int = 9600,
    parity: str = "none",
    stopbits: int = 1,
    bytesize: int = 8,
    timeout: float = 1.0,
) -> dict[str, Any]:
    """Subentry data of a Modbus connection (``kind``: tcp, rtu_over_tcp or rtu)."""
    data: dict[str, Any] = {CONF_NAME: name, CONF_KIND: kind}
    if kind == "rtu":
        data |= {
            CONF_SERIAL_PORT: serial_port,
            CONF_BAUDRATE: baudrate,
            CONF_PARITY: parity,
            CONF_STOPBITS: stopbits,
            CONF_BYTESIZE: bytesize,
        }
        unique_id = f"connection rtu {serial_port}"
    else:
        data |= {CONF_HOST: host, CONF_PORT: port}
        unique_id = f"connection {kind} {host.lower()}:{port}"
    data[CONF_TIMEOUT] = timeout
    return {
        "data": data,
        "subentry_id": subentry_id,
        "subentry_type": SUBENTRY_CONNECTION,
        "title": name,
        "unique_id": unique_id,
    }


def meter_subentry(
    name: str = "Commons meter",
    *,
    subentry_id: str = "meter_commons",
    connection: str = "conn_gw",
    unit: int = 1,
    meter_model: str = "sdm630",
    amperage: float = 63.0,
    poll_interval: float = 1.0,
    registers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Subentry data of a Modbus meter (``registers`` for meter_model "custom")."""
    data: dict[str, Any] = {
        CONF_NAME: name,
        CONF_CONNECTION: connection,
        CONF_UNIT: unit,
        CONF_METER_MODEL: meter_model,
        CONF_AMPERAGE: amperage,
        CONF_POLL_INTERVAL: poll_interval,
    }
    if registers is not None:
        data[CONF_REGISTERS] = registers
    return {
        "data": data,
        "subentry_id": subentry_id,
        "subentry_type": SUBENTRY_METER,
        "title": name,
        "unique_id": f"meter {connection} {unit}",
    }


def zone_subentry(
    name: str = "Car park",
    *,
    subentry_id: str = "zone_car_park",
    max_current: float = 63.0,
    zone_phases: str = "l1-l2-l3",
    dlm_meters: list[str] | None = None,
    consumption_meter: str | None = None,
    parent_zone: str | None = None,
    failsafe_current: float = 6.0,
    stale_after: float = 10.0,
) -> dict[str, Any]:
    """Subentry data of an electrical zone (meters and parent by subentry id)."""
    data: dict[str, Any] = {
        CONF_NAME: name,
        CONF_MAX_CURRENT: max_current,
        CONF_ZONE_PHASES: zone_phases,
        CONF_DLM_METERS: list(dlm_meters or []),
        CONF_FAILSAFE_CURRENT: failsafe_current,
        CONF_STALE_AFTER: stale_after,
    }
    if consumption_meter is not None:
        data[CONF_CONSUMPTION_METER] = consumption_meter
    if parent_zone is not None:
        data[CONF_PARENT_ZONE] = parent_zone
    return {
        "data": data,
        "subentry_id": subentry_id,
        "subentry_type": SUBENTRY_ZONE,
        "title": name,
        "unique_id": f"zone {name.casefold()}",
    }


DEFAULT_BADGES = [
    badge_subentry("BADGE-ALICE", "Alice"),
    badge_subentry("BADGE-BOB", "Bob", status="blocked"),
    badge_subentry("BADGE-OLD", "Carol", expiry="2020-01-31"),
]


@pytest.fixture
def subentries() -> list[dict[str, Any]]:
    """Subentries of the hub entry (override in a test module to change)."""
    return [station_subentry(), *DEFAULT_BADGES]


@pytest.fixture
def hub_options() -> dict[str, Any]:
    """The hub entry's options (override in a test module to change)."""
    # Every reading written at once: the tests check the states of each one
    # (tests/test_sensor_interval.py checks the default interval).
    return {CONF_HEARTBEAT_INTERVAL: 300, CONF_METER_INTERVAL: 10, "sensor_update_interval": 0}


@pytest.fixture
def config_entry(
    port: int, subentries: list[dict[str, Any]], hub_options: dict[str, Any]
) -> MockConfigEntry:
    """The hub entry, listening on 127.0.0.1:<port>."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Charge Zones (port {port})",
        data={CONF_HOST: "127.0.0.1", CONF_PORT: port},
        options=hub_options,
        subentries_data=subentries,
        version=ENTRY_VERSION,
        minor_version=ENTRY_MINOR_VERSION,
    )


def quick_hub_entry(port: int, subentries: list[dict[str, Any]], **options: Any) -> MockConfigEntry:
    """A hub entry whose limits rise after 0.3 s instead of the usual hold (DLM tests),
    with more hub options if given."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Charge Zones (port {port})",
        data={CONF_HOST: "127.0.0.1", CONF_PORT: port},
        options={
            CONF_HEARTBEAT_INTERVAL: 300,
            CONF_METER_INTERVAL: 10,
            "raise_hold": 0.3,
            "sensor_update_interval": 0,
            **options,
        },
        subentries_data=subentries,
        version=ENTRY_VERSION,
        minor_version=ENTRY_MINOR_VERSION,
    )


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant, config_entry: MockConfigEntry, request: pytest.FixtureRequest
) -> AsyncIterator[MockConfigEntry]:
    """The hub set up (and unloaded after the test), with the sensors a test's
    ``enabled_by_user`` marker names enabled as a user would have."""
    config_entry.add_to_hass(hass)
    if (marker := request.node.get_closest_marker("enabled_by_user")) is not None:
        enable_by_user(hass, config_entry, *marker.args)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    yield config_entry
    if (
        hass.config_entries.async_get_entry(config_entry.entry_id) is not None
        and config_entry.state.recoverable
    ):
        await hass.config_entries.async_unload(config_entry.entry_id)
        await hass.async_block_till_done()


def ws_url(entry: MockConfigEntry) -> str:
    """The OCPP URL of a hub entry."""
    return f"ws://127.0.0.1:{entry.data[CONF_PORT]}"


@pytest.fixture
async def sim_meter() -> AsyncIterator[SimulatedMeter]:
    """An SDM630 on 127.0.0.1 with 10 A of commons load per phase."""
    served = SimulatedMeter("sdm630", unit=1)
    served.set_currents(10, 10, 10)
    await served.start()
    yield served
    await served.stop()


@pytest.fixture
def behaviour() -> StationBehaviour:
    """How the simulated station behaves (override per test module)."""
    return StationBehaviour()


@pytest.fixture
async def client(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, behaviour: StationBehaviour
) -> AsyncIterator[StationClient]:
    """A simulated station connected (not yet booted)."""
    station_client = StationClient(ws_url(loaded_entry), STATION_ID, behaviour)
    await station_client.connect()
    yield station_client
    await station_client.close()
