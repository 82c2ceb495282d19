"""Config flow, options, reconfiguration, station and badge subentries, repairs.

Every flow runs against the real integration: hubs listen on 127.0.0.1, stations connect
over real websockets and the checks look at what actually reached them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
import socket
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from custom_components.charge_zones.central.server import listen_error
from custom_components.charge_zones.const import DOMAIN
from custom_components.charge_zones.site import unknown_station_issue_id
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
    ConfigSubentry,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from simulator.station import SimulatedStation, StationClient

from .conftest import STATION_ID, free_port, station_subentry, ws_url
from .helpers import entity_id, state_of, wait_until

SUB = f"sub_{STATION_ID}"
OCPP = [Subprotocol("ocpp1.6")]


# --- helpers --------------------------------------------------------------------------


@contextmanager
def occupied(port: int) -> Iterator[socket.socket]:
    """Something else listens on 127.0.0.1:<port> meanwhile."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield sock
    finally:
        sock.close()


def suggested(result: dict[str, Any], key: str) -> Any:
    """The suggested value of a form field (None when there is none)."""
    for marker in result["data_schema"].schema:
        if marker.schema == key:
            return (marker.description or {}).get("suggested_value")
    raise KeyError(key)


def hub_entry(port: int, subentries: list[dict[str, Any]] | None = None) -> MockConfigEntry:
    """Another hub entry (not added to hass)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Charge Zones (port {port})",
        data={"host": "127.0.0.1", "port": port},
        options={"heartbeat_interval": 300, "meter_value_sample_interval": 10},
        subentries_data=subentries or [],
    )


def hub_input(port: int, host: str = "127.0.0.1") -> dict[str, Any]:
    """What the user enters in the hub form (numbers come as floats from the UI)."""
    return {
        "host": host,
        "port": float(port),
        "heartbeat_interval": 120.0,
        "meter_value_sample_interval": 15.0,
    }


def station_input(station_id: str, **overrides: Any) -> dict[str, Any]:
    """What the user enters in the station form."""
    return {
        "station_id": station_id,
        "model": "standard",
        "connectors": 1.0,
        "phases": "l1-l2-l3",
        "min_current": 6.0,
        "max_current": 16.0,
    } | overrides


def badge_input(tag: str, holder: str, **overrides: Any) -> dict[str, Any]:
    """What the user enters in the badge form."""
    return {"tag": tag, "holder": holder, "status": "active"} | overrides


async def refused_as_unknown(url: str, station_id: str, status: int = 404) -> None:
    """A station with this id tries to connect and is refused (404: unknown)."""
    with pytest.raises(InvalidStatus) as err:
        async with connect(f"{url}/{station_id}", subprotocols=OCPP):
            pass
    assert err.value.response.status_code == status


async def connection_refused(port: int) -> bool:
    """Whether nothing accepts TCP connections on 127.0.0.1:<port>."""
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    await writer.wait_closed()
    return False


async def booted(hass: HomeAssistant, client: StationClient) -> SimulatedStation:
    """Boot the station and wait until the hub has configured it."""
    station = client.station
    assert station is not None
    assert (await station.boot()).status == "Accepted"
    # The configuration after boot ends with the current limit.
    await station.wait_for("SetChargingProfile")
    await hass.async_block_till_done()
    return station


async def start_station_flow(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """Open the "Add charging station" form."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "station"), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return result


async def start_subentry_reconfigure(
    hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str
) -> dict[str, Any]:
    """Open the edit form of a subentry."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, entry.subentries[subentry_id].subentry_type),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    return result


def subentry_by_unique_id(entry: MockConfigEntry, unique_id: str) -> ConfigSubentry:
    """The subentry with this unique id."""
    found = [s for s in entry.subentries.values() if s.unique_id == unique_id]
    assert len(found) == 1, f"{len(found)} subentries with unique id {unique_id}"
    return found[0]


def station_subentries(entry: MockConfigEntry, station_id: str) -> list[ConfigSubentry]:
    """Station subentries with this OCPP id."""
    return [
        s
        for s in entry.subentries.values()
        if s.subentry_type == "station" and s.data["station_id"] == station_id
    ]


# --- hub: user flow ---------------------------------------------------------------------


async def test_user_flow_creates_hub(hass: HomeAssistant, port: int) -> None:
    """The hub is created with its address as data and the intervals as options."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    fields = {marker.schema for marker in result["data_schema"].schema}
    assert fields == {
        "host",
        "port",
        "tls",
        "heartbeat_interval",
        "meter_value_sample_interval",
    }

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], hub_input(port, host=" 127.0.0.1 ")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Charge Zones (port {port})"
    assert result["data"] == {"host": "127.0.0.1", "port": port, "tls": "none"}
    assert type(result["data"]["port"]) is int
    assert result["options"] == {"heartbeat_interval": 120, "meter_value_sample_interval": 15}
    assert all(type(value) is int for value in result["options"].values())

    # The new hub is set up and its OCPP server answers on the chosen port.
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    await refused_as_unknown(f"ws://127.0.0.1:{port}", "NOBODY")
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_user_flow_port_in_use(hass: HomeAssistant, port: int) -> None:
    """A busy port is an error on the port, in words (the system's in the log); freeing it
    lets the flow finish."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    with occupied(port):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], hub_input(port))
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "user"
        assert result["errors"] == {"port": "port_in_use"}
        placeholders = result["description_placeholders"]
        assert placeholders == {"host": "127.0.0.1", "port": str(port)}
        # What the user typed is kept in the form.
        assert suggested(result, "host") == "127.0.0.1"
        assert suggested(result, "port") == float(port)
        assert suggested(result, "heartbeat_interval") == 120.0
        assert hass.config_entries.async_entries(DOMAIN) == []

    result = await hass.config_entries.flow.async_configure(result["flow_id"], hub_input(port))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)
    await hass.async_block_till_done()


async def test_user_flow_port_already_used_by_a_hub(
    hass: HomeAssistant, config_entry: MockConfigEntry, port: int
) -> None:
    """A second hub on the same port is refused, whatever the host."""
    config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], hub_input(port, host="127.0.0.2")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert hass.config_entries.async_entries(DOMAIN) == [config_entry]


# --- hub: options -----------------------------------------------------------------------


async def test_options_flow_changes_intervals(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """The form shows the current intervals and stores the new ones as integers."""
    config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert suggested(result, "heartbeat_interval") == 300
    assert suggested(result, "meter_value_sample_interval") == 10

    assert suggested(result, "raise_hold") is None  # default 15 s until set
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "heartbeat_interval": 600.0,
            "meter_value_sample_interval": 30.0,
            "raise_hold": 20,
            "profile_validity": 5.0,
            "sensor_update_interval": 10.0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert config_entry.options == {
        "heartbeat_interval": 600,
        "meter_value_sample_interval": 30,
        "raise_hold": 20.0,
        "profile_validity": 5,
        "sensor_update_interval": 10,
        "rotation_period": 15,
        # The solar delays at their defaults.
        "solar_start_delay": 60,
        "solar_stop_delay": 300,
        "solar_min_on_time": 600,
        "solar_smoothing": 30,
        "solar_start_margin": 3.0,
    }

    assert type(config_entry.options["heartbeat_interval"]) is int
    assert type(config_entry.options["solar_start_margin"]) is float
    assert type(config_entry.options["raise_hold"]) is float


async def test_profile_validity_applied_without_reload(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The profile validity, rotation period and solar start margin options reach the
    load management at once (minutes to s)."""
    site = loaded_entry.runtime_data
    assert site.load.control.validity == 600.0  # default 10 min
    assert site.load.allocation_settings.running_bonus == 900.0  # default 15 min
    assert site.load.solar.settings.start_margin == 3.0
    hass.config_entries.async_update_entry(
        loaded_entry,
        options={
            **loaded_entry.options,
            "profile_validity": 3,
            "rotation_period": 30,
            "solar_start_margin": 1.5,
        },
    )
    await hass.async_block_till_done()
    assert loaded_entry.runtime_data is site
    assert site.load.control.validity == 180.0
    assert site.load.control.refresh_after == 60.0
    assert site.load.allocation_settings.running_bonus == 1800.0
    assert site.load.solar.settings.start_margin == 1.5


async def test_options_pushed_to_connected_station(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """New intervals reach a connected station with ChangeConfiguration, without a reload."""
    site = loaded_entry.runtime_data
    station = await booted(hass, client)
    assert station.state.configuration["HeartbeatInterval"] == "300"
    assert station.state.configuration["MeterValueSampleInterval"] == "10"

    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"heartbeat_interval": 900, "meter_value_sample_interval": 20, "raise_hold": 15},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY

    changes = {}
    for _ in range(2):
        payload = await station.wait_for("ChangeConfiguration")
        changes[payload["key"]] = payload["value"]
    assert changes == {"HeartbeatInterval": "900", "MeterValueSampleInterval": "20"}
    assert station.state.configuration["HeartbeatInterval"] == "900"
    assert station.state.configuration["MeterValueSampleInterval"] == "20"
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data is site
    # The next boot is answered with the new heartbeat interval.
    assert (await station.boot()).interval == 900


# --- hub: reconfigure -------------------------------------------------------------------


async def test_reconfigure_moves_server_without_reload(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient, port: int
) -> None:
    """The server moves to the new port: the old one is closed, stations reconnect there."""
    site = loaded_entry.runtime_data
    await wait_until(hass, lambda: state_of(hass, "binary_sensor", f"{SUB}_connected") == "on")
    new_port = free_port()

    result = await loaded_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert suggested(result, "host") == "127.0.0.1"
    assert suggested(result, "port") == port
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": float(new_port)}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    assert loaded_entry.data == {"host": "127.0.0.1", "port": new_port, "tls": "none"}
    assert loaded_entry.title == f"Charge Zones (port {new_port})"
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data is site
    # The station connected to the old port was dropped, and nothing listens there now.
    assert client.connection is not None
    await asyncio.wait_for(client.connection.wait_closed(), 5)
    await wait_until(hass, lambda: state_of(hass, "binary_sensor", f"{SUB}_connected") == "off")
    assert await connection_refused(port)

    async with StationClient(f"ws://127.0.0.1:{new_port}", STATION_ID) as station:
        await wait_until(hass, lambda: state_of(hass, "binary_sensor", f"{SUB}_connected") == "on")
        assert (await station.boot()).status == "Accepted"


async def test_reconfigure_same_address_skips_bind_check(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, port: int
) -> None:
    """Keeping the address of a running hub is fine although its own server holds the port."""
    site = loaded_entry.runtime_data
    # A bind check would fail: the hub's server listens there.
    assert await listen_error("127.0.0.1", port) is not None

    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded_entry.data == {"host": "127.0.0.1", "port": port, "tls": "none"}
    assert loaded_entry.runtime_data is site
    assert site.server.running
    assert site.server.bound_port == port
    await refused_as_unknown(ws_url(loaded_entry), "NOBODY")


async def test_reconfigure_other_host_same_port(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, port: int
) -> None:
    """Changing only the listen address of a running hub is not blocked by its own server.

    "localhost" resolves to 127.0.0.1 (and maybe ::1): binding it on the hub's port
    conflicts with the hub's own listener, like 0.0.0.0 vs a LAN address would.
    """
    assert await listen_error("localhost", port) is not None  # the hub's own server

    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "localhost", "port": port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded_entry.data == {"host": "localhost", "port": port, "tls": "none"}
    assert loaded_entry.runtime_data.server.host == "localhost"
    assert loaded_entry.runtime_data.server.running
    async with StationClient(ws_url(loaded_entry), STATION_ID):
        await wait_until(hass, lambda: state_of(hass, "binary_sensor", f"{SUB}_connected") == "on")


async def test_reconfigure_other_host_unusable(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, port: int
) -> None:
    """An address this machine does not have is refused even on the hub's own port."""
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "192.0.2.1", "port": port}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"host": "address_not_local"}
    assert result["description_placeholders"]["host"] == "192.0.2.1"
    assert result["description_placeholders"]["port"] == str(port)
    assert loaded_entry.data == {"host": "127.0.0.1", "port": port}
    assert loaded_entry.runtime_data.server.running


async def test_reconfigure_busy_port(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, port: int
) -> None:
    """A busy port is refused and the hub keeps listening where it was."""
    busy_port = free_port()
    result = await loaded_entry.start_reconfigure_flow(hass)
    with occupied(busy_port):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"host": " 127.0.0.1 ", "port": busy_port}
        )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"port": "port_in_use"}
    assert result["description_placeholders"] == {"host": "127.0.0.1", "port": str(busy_port)}
    assert suggested(result, "port") == busy_port
    assert loaded_entry.data == {"host": "127.0.0.1", "port": port}
    await refused_as_unknown(ws_url(loaded_entry), "NOBODY")


async def test_reconfigure_not_loaded_checks_its_own_port(
    hass: HomeAssistant, config_entry: MockConfigEntry, port: int
) -> None:
    """Only a running hub skips the bind check of its unchanged address."""
    config_entry.add_to_hass(hass)
    result = await config_entry.start_reconfigure_flow(hass)
    with occupied(port):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"host": "127.0.0.1", "port": port}
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"port": "port_in_use"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"


async def test_reconfigure_port_of_another_hub(
    hass: HomeAssistant, config_entry: MockConfigEntry, port: int
) -> None:
    """A hub cannot move onto the port of another hub."""
    config_entry.add_to_hass(hass)
    other = hub_entry(free_port())
    other.add_to_hass(hass)
    result = await config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": other.data["port"]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert config_entry.data["port"] == port


# --- station subentries -------------------------------------------------------------------


async def test_station_created(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    """A station is stored with typed data, named and identified by its OCPP id."""
    config_entry.add_to_hass(hass)
    result = await start_station_flow(hass, config_entry)
    assert result["errors"] == {}
    # The hub is not running: no connection attempt to suggest.
    assert suggested(result, "station_id") is None

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        station_input(
            " CP-2 ",
            model="abb_terra",
            connectors=2.0,
            phases="l2-l3-l1",
            min_current=8,
            max_current=32,
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "CP-2"
    assert result["unique_id"] == "CP-2"
    subentry = subentry_by_unique_id(config_entry, "CP-2")
    assert subentry.subentry_type == "station"
    assert subentry.title == "CP-2"
    assert dict(subentry.data) == {
        "station_id": "CP-2",
        "model": "abb_terra",
        "connectors": 2,
        "phases": "l2-l3-l1",
        "min_current": 8.0,
        "max_current": 32.0,
    }
    assert type(subentry.data["connectors"]) is int
    assert type(subentry.data["min_current"]) is float
    assert type(subentry.data["max_current"]) is float


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        (station_input("bad id/x"), {"station_id": "invalid_station_id"}),
        (station_input("A" * 49), {"station_id": "invalid_station_id"}),
        (station_input(""), {"station_id": "invalid_station_id"}),
        (station_input(f" {STATION_ID} "), {"station_id": "already_configured"}),
        (
            station_input("CP-3", min_current=20, max_current=10),
            {"min_current": "min_above_max"},
        ),
        (
            station_input("bad/id", min_current=20, max_current=10),
            {"station_id": "invalid_station_id", "min_current": "min_above_max"},
        ),
    ],
)
async def test_station_errors(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    user_input: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Invalid ids, duplicates and inverted currents are refused; the input is kept."""
    config_entry.add_to_hass(hass)
    result = await start_station_flow(hass, config_entry)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == errors
    assert suggested(result, "station_id") == user_input["station_id"]
    assert suggested(result, "min_current") == user_input["min_current"]
    assert len([s for s in config_entry.subentries.values() if s.subentry_type == "station"]) == 1

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], station_input("CP-3", min_current=10, max_current=10)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert station_subentries(config_entry, "CP-3")


async def test_station_id_48_characters(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    """48 characters of the allowed set is the longest valid OCPP id."""
    config_entry.add_to_hass(hass)
    station_id = "Ab0._:*+@-" * 4 + "x" * 8
    assert len(station_id) == 48
    result = await start_station_flow(hass, config_entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], station_input(station_id)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["unique_id"] == station_id


async def test_station_suggested_from_last_unknown(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The form suggests the id of the last unknown station that tried to connect."""
    result = await start_station_flow(hass, loaded_entry)
    assert suggested(result, "station_id") is None
    hass.config_entries.subentries.async_abort(result["flow_id"])

    await refused_as_unknown(ws_url(loaded_entry), "STRANGER-1")
    await refused_as_unknown(ws_url(loaded_entry), "STRANGER-2")
    result = await start_station_flow(hass, loaded_entry)
    assert suggested(result, "station_id") == "STRANGER-2"

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], station_input("STRANGER-2")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    # Once added it is no longer suggested; the other one is.
    result = await start_station_flow(hass, loaded_entry)
    assert suggested(result, "station_id") == "STRANGER-1"


async def test_station_suggested_after_retry(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A station that retries after another one is the last that tried to connect."""
    await refused_as_unknown(ws_url(loaded_entry), "STRANGER-1")
    await refused_as_unknown(ws_url(loaded_entry), "STRANGER-2")
    await refused_as_unknown(ws_url(loaded_entry), "STRANGER-1")
    result = await start_station_flow(hass, loaded_entry)
    assert suggested(result, "station_id") == "STRANGER-1"


async def test_station_added_to_running_hub(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A new station gets its device and entities at once and may connect, without a reload."""
    site = loaded_entry.runtime_data
    await refused_as_unknown(ws_url(loaded_entry), "CP-NEW")
    issue_id = unknown_station_issue_id(loaded_entry.entry_id, "CP-NEW")
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None

    result = await start_station_flow(hass, loaded_entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], station_input("CP-NEW")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    subentry_id = subentry_by_unique_id(loaded_entry, "CP-NEW").subentry_id

    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data is site
    assert state_of(hass, "binary_sensor", f"{subentry_id}_connected") == "off"
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, subentry_id), loaded_entry.entry_id
    )
    assert device is not None
    assert device.name == "CP-NEW"
    # Adding the station settled its repair issue.
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert "CP-NEW" not in site.unknown_stations

    async with StationClient(ws_url(loaded_entry), "CP-NEW") as station:
        await wait_until(
            hass, lambda: state_of(hass, "binary_sensor", f"{subentry_id}_connected") == "on"
        )
        assert (await station.boot()).status == "Accepted"


async def test_station_reconfigure_max_current(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """A lower maximum current is sent to the connected station at once."""
    station = await booted(hass, client)
    result = await start_subentry_reconfigure(hass, loaded_entry, SUB)
    assert suggested(result, "station_id") == STATION_ID
    assert suggested(result, "max_current") == 16.0

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], station_input(STATION_ID, max_current=10.5)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    subentry = loaded_entry.subentries[SUB]
    assert subentry.data["max_current"] == 10.5
    assert subentry.title == STATION_ID

    payload = await station.wait_for("SetChargingProfile")
    period = payload["cs_charging_profiles"]["charging_schedule"]["charging_schedule_period"]
    assert period[0]["limit"] == 10.5
    assert loaded_entry.runtime_data.stations[SUB].config.max_current == 10.5
    # Same connection: the station was not dropped.
    assert client.connection is not None
    assert client.connection.close_code is None


async def test_station_rename(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """Renaming a station drops the old id's connection; the new id connects."""
    await wait_until(hass, lambda: state_of(hass, "binary_sensor", f"{SUB}_connected") == "on")
    result = await start_subentry_reconfigure(hass, loaded_entry, SUB)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], station_input(" CP-RENAMED ")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    subentry = loaded_entry.subentries[SUB]
    assert subentry.title == "CP-RENAMED"
    assert subentry.unique_id == "CP-RENAMED"
    assert subentry.data["station_id"] == "CP-RENAMED"

    assert client.connection is not None
    await asyncio.wait_for(client.connection.wait_closed(), 5)
    await refused_as_unknown(ws_url(loaded_entry), STATION_ID)

    runtime = loaded_entry.runtime_data.stations[SUB]
    assert runtime.station_id == "CP-RENAMED"
    async with StationClient(ws_url(loaded_entry), "CP-RENAMED") as station:
        await wait_until(
            hass,
            lambda: (
                runtime.connection is not None
                and runtime.connection
                is loaded_entry.runtime_data.links.connections.get("CP-RENAMED")
            ),
        )
        assert state_of(hass, "binary_sensor", f"{SUB}_connected") == "on"
        assert (await station.boot()).status == "Accepted"
        await hass.async_block_till_done()
        assert runtime.boot is not None
        assert runtime.boot.serial == "SN-CP-RENAMED"


async def test_station_rename_shows_it_disconnected(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """After a rename the station is offline until it connects with its new id."""
    await wait_until(hass, lambda: state_of(hass, "binary_sensor", f"{SUB}_connected") == "on")
    result = await start_subentry_reconfigure(hass, loaded_entry, SUB)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], station_input("CP-RENAMED")
    )
    assert result["reason"] == "reconfigure_successful"
    assert client.connection is not None
    await asyncio.wait_for(client.connection.wait_closed(), 5)
    await wait_until(hass, lambda: state_of(hass, "binary_sensor", f"{SUB}_connected") == "off")
    assert not loaded_entry.runtime_data.stations[SUB].connected


async def test_station_reconfigure_errors(hass: HomeAssistant, port: int) -> None:
    """Editing validates like adding; a station keeps its own id without a duplicate error."""
    entry = hub_entry(port, [station_subentry(), station_subentry("CP-2", subentry_id="sub_cp2")])
    entry.add_to_hass(hass)
    result = await start_subentry_reconfigure(hass, entry, SUB)
    flow_id = result["flow_id"]

    for user_input, errors in (
        (station_input("CP-2"), {"station_id": "already_configured"}),
        (station_input("no spaces"), {"station_id": "invalid_station_id"}),
        (
            station_input(STATION_ID, min_current=32, max_current=16),
            {"min_current": "min_above_max"},
        ),
    ):
        result = await hass.config_entries.subentries.async_configure(flow_id, user_input)
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "reconfigure"
        assert result["errors"] == errors
        assert suggested(result, "station_id") == user_input["station_id"]
    assert entry.subentries[SUB].data == station_subentry()["data"]

    result = await hass.config_entries.subentries.async_configure(
        flow_id, station_input(STATION_ID, connectors=2, phases="l1")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.subentries[SUB].data["connectors"] == 2
    assert entry.subentries[SUB].data["phases"] == "l1"
    assert entry.subentries["sub_cp2"].data["station_id"] == "CP-2"


async def test_station_removed(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """Removing a station removes its device and entities and drops its connection."""
    await wait_until(hass, lambda: state_of(hass, "binary_sensor", f"{SUB}_connected") == "on")
    device_registry = dr.async_get(hass)
    entity_registry = er.async_get(hass)
    device = device_registry.async_get_device_by_identifier((DOMAIN, SUB), loaded_entry.entry_id)
    assert device is not None
    entities = er.async_entries_for_device(entity_registry, device.id)
    assert entities
    connected_id = entity_id(hass, "binary_sensor", f"{SUB}_connected")

    assert hass.config_entries.async_remove_subentry(loaded_entry, SUB)
    await hass.async_block_till_done()

    assert SUB not in loaded_entry.subentries
    assert (
        device_registry.async_get_device_by_identifier((DOMAIN, SUB), loaded_entry.entry_id) is None
    )
    for entry in entities:
        assert entity_registry.async_get(entry.entity_id) is None
    assert hass.states.get(connected_id) is None
    assert SUB not in loaded_entry.runtime_data.stations
    assert client.connection is not None
    await asyncio.wait_for(client.connection.wait_closed(), 5)
    await refused_as_unknown(ws_url(loaded_entry), STATION_ID)
    assert loaded_entry.state is ConfigEntryState.LOADED


# --- badge subentries ---------------------------------------------------------------------


async def test_badge_created(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    """A badge is named after its holder and tag; its unique id is the upper-cased tag."""
    config_entry.add_to_hass(hass)
    result = await hass.config_entries.subentries.async_init(
        (config_entry.entry_id, "badge"), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], badge_input(" 04a1b2c3 ", " Dave ", expiry="2030-06-30")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Dave (04a1b2c3)"
    assert result["unique_id"] == "badge 04A1B2C3"
    subentry = subentry_by_unique_id(config_entry, "badge 04A1B2C3")
    assert subentry.subentry_type == "badge"
    assert dict(subentry.data) == {
        "tag": "04a1b2c3",
        "holder": "Dave",
        "status": "active",
        "expiry": "2030-06-30",
    }

    result = await hass.config_entries.subentries.async_init(
        (config_entry.entry_id, "badge"), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], badge_input("BADGE-EVE", "Eve", status="blocked")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert dict(subentry_by_unique_id(config_entry, "badge BADGE-EVE").data) == {
        "tag": "BADGE-EVE",
        "holder": "Eve",
        "status": "blocked",
    }


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        (badge_input("BAD TAG", "Dave"), {"tag": "invalid_tag"}),
        (badge_input("X" * 21, "Dave"), {"tag": "invalid_tag"}),
        (badge_input("badge-alice", "Dave"), {"tag": "already_configured"}),
        (badge_input("BADGE-DAVE", "   "), {"holder": "holder_required"}),
        (
            badge_input("BAD TAG", " "),
            {"tag": "invalid_tag", "holder": "holder_required"},
        ),
    ],
)
async def test_badge_errors(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    user_input: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Invalid tags, duplicates (any case) and blank holders are refused."""
    config_entry.add_to_hass(hass)
    badges_before = {s.unique_id for s in config_entry.subentries.values()}
    result = await hass.config_entries.subentries.async_init(
        (config_entry.entry_id, "badge"), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert suggested(result, "tag") == user_input["tag"]
    assert {s.unique_id for s in config_entry.subentries.values()} == badges_before

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], badge_input("X" * 20, "Dave")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_badge_blocked_reaches_station(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """Blocking a badge sends the new local list to connected stations."""
    station = await booted(hass, client)
    assert station.state.local_list["BADGE-ALICE"]["status"] == "Accepted"
    version = station.state.local_list_version

    result = await start_subentry_reconfigure(hass, loaded_entry, "badge_BADGE-ALICE")
    assert suggested(result, "tag") == "BADGE-ALICE"
    assert suggested(result, "holder") == "Alice"
    assert suggested(result, "status") == "active"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], badge_input("BADGE-ALICE", "Alice", status="blocked")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    subentry = loaded_entry.subentries["badge_BADGE-ALICE"]
    assert subentry.data["status"] == "blocked"
    assert subentry.title == "Alice (BADGE-ALICE)"

    payload = await station.wait_for("SendLocalList")
    assert payload["update_type"] == "Full"
    assert payload["list_version"] > version
    sent = {item["id_tag"]: item["id_tag_info"] for item in payload["local_authorization_list"]}
    assert sent["BADGE-ALICE"]["status"] == "Blocked"
    assert station.state.local_list["BADGE-ALICE"]["status"] == "Blocked"
    assert (await station.authorize("badge-alice")).id_tag_info["status"] == "Blocked"


async def test_badge_reconfigure(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    """Editing a badge validates like adding; its tag, holder and expiry can change."""
    config_entry.add_to_hass(hass)
    result = await start_subentry_reconfigure(hass, config_entry, "badge_BADGE-OLD")
    assert suggested(result, "expiry") == "2020-01-31"
    flow_id = result["flow_id"]

    for user_input, errors in (
        (badge_input("badge-bob", "Carol"), {"tag": "already_configured"}),
        (badge_input("BAD\tTAG", "Carol"), {"tag": "invalid_tag"}),
        (badge_input("BADGE-OLD", ""), {"holder": "holder_required"}),
    ):
        result = await hass.config_entries.subentries.async_configure(flow_id, user_input)
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "reconfigure"
        assert result["errors"] == errors

    # Its own tag in another case is no duplicate; leaving out the expiry clears it.
    result = await hass.config_entries.subentries.async_configure(
        flow_id, badge_input("badge-old", "Carol Jones")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    subentry = config_entry.subentries["badge_BADGE-OLD"]
    assert dict(subentry.data) == {"tag": "badge-old", "holder": "Carol Jones", "status": "active"}
    assert subentry.title == "Carol Jones (badge-old)"
    assert subentry.unique_id == "badge BADGE-OLD"


# --- repairs --------------------------------------------------------------------------------


async def start_fix_flow(hass: HomeAssistant, issue_id: str) -> dict[str, Any]:
    """Open the fix flow of a repair issue, as the Repairs panel does."""
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_init(DOMAIN, context={"issue_id": issue_id})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    return dict(result)


async def finish_fix_flow(hass: HomeAssistant, flow_id: str) -> dict[str, Any]:
    """Confirm a fix flow."""
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_configure(flow_id, {})
    await hass.async_block_till_done()
    return dict(result)


async def test_unknown_station_repair_adds_it(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """An unknown station raises a fixable issue; fixing it adds the station, which connects."""
    await refused_as_unknown(ws_url(loaded_entry), "CP-STRANGER")
    issue_id = unknown_station_issue_id(loaded_entry.entry_id, "CP-STRANGER")
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_key == "unknown_station"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["station_id"] == "CP-STRANGER"
    assert issue.data == {"entry_id": loaded_entry.entry_id, "station_id": "CP-STRANGER"}

    result = await start_fix_flow(hass, issue_id)
    assert result["description_placeholders"] == {"station_id": "CP-STRANGER"}
    result = await finish_fix_flow(hass, result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY

    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    [subentry] = station_subentries(loaded_entry, "CP-STRANGER")
    assert subentry.title == "CP-STRANGER"
    assert subentry.unique_id == "CP-STRANGER"
    assert dict(subentry.data) == {
        "station_id": "CP-STRANGER",
        "model": "standard",
        "connectors": 1,
        "phases": "l1-l2-l3",
        "min_current": 6.0,
        "max_current": 16.0,
    }
    async with StationClient(ws_url(loaded_entry), "CP-STRANGER") as station:
        await wait_until(
            hass,
            lambda: state_of(hass, "binary_sensor", f"{subentry.subentry_id}_connected") == "on",
        )
        assert (await station.boot()).status == "Accepted"
    # The added station is editable with the station form.
    result = await start_subentry_reconfigure(hass, loaded_entry, subentry.subentry_id)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], station_input("CP-STRANGER", model="abb_terra")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"


async def test_repair_after_station_added_by_hand(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """If the station was added meanwhile, confirming the fix adds no duplicate."""
    await refused_as_unknown(ws_url(loaded_entry), "CP-STRANGER")
    issue_id = unknown_station_issue_id(loaded_entry.entry_id, "CP-STRANGER")
    fix = await start_fix_flow(hass, issue_id)

    result = await start_station_flow(hass, loaded_entry)
    assert suggested(result, "station_id") == "CP-STRANGER"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], station_input("CP-STRANGER", max_current=32)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    result = await finish_fix_flow(hass, fix["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    [subentry] = station_subentries(loaded_entry, "CP-STRANGER")
    assert subentry.data["max_current"] == 32.0  # the hand-made settings stay
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_repair_after_hub_removed(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    """If the hub was removed meanwhile, the fix flow aborts."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await refused_as_unknown(ws_url(config_entry), "CP-STRANGER")
    issue_id = unknown_station_issue_id(config_entry.entry_id, "CP-STRANGER")
    fix = await start_fix_flow(hass, issue_id)

    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.config_entries.async_get_entry(config_entry.entry_id) is None

    result = await finish_fix_flow(hass, fix["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_removed"


async def test_invalid_station_id_not_reported(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """An identifier the station form would refuse raises no repair and is not suggested."""
    # Refused as malformed (400), not as unknown.
    await refused_as_unknown(ws_url(loaded_entry), "bad%20id", status=400)
    await hass.async_block_till_done()
    assert not [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]
    result = await start_station_flow(hass, loaded_entry)
    assert suggested(result, "station_id") is None


async def test_badge_tag_equal_to_station_id(hass: HomeAssistant, port: int) -> None:
    """A badge whose tag equals a station's OCPP id is a different thing, not a duplicate."""
    entry = hub_entry(port, [station_subentry()])
    entry.add_to_hass(hass)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "badge"), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], badge_input(STATION_ID, "Station Owner")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
