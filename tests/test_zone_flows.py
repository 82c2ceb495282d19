"""Load-management subentry flows: Modbus connections, meters, electrical zones, station zone.

Nothing is mocked: connection tests open real TCP connections on 127.0.0.1 and the test
read of a meter goes to a simulated Modbus TCP meter (pymodbus' own server).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import json
import logging
import os
from pathlib import Path
import re
import socket
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones.const import DOMAIN
from custom_components.charge_zones.flows import meter as meter_flow
from custom_components.charge_zones.flows.connection import tcp_connect_error
from custom_components.charge_zones.meters import MODELS, ConnectionConfig, Quantity
from custom_components.charge_zones.meters.registers import CURRENTS, POWERS, VOLTAGES
from custom_components.charge_zones.subentries import (
    connection_config,
    custom_meter_model,
    meter_model,
)
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from simulator.meter import SimulatedMeter

from .conftest import (
    connection_subentry,
    free_port,
    meter_subentry,
    station_subentry,
    zone_subentry,
)
from .helpers import wait_until

TRANSLATIONS = Path(__file__).parent.parent / "custom_components" / DOMAIN / "translations"
LANGUAGES = ("en", "fr", "de", "it")

# Eastron SDM630 current registers as a custom table (input registers, float32).
CUSTOM_3P = {
    "current_l1": {"function": 4, "address": 6, "data_type": "float32"},
    "current_l2": {"function": 4, "address": "0x0008", "data_type": "float32"},
    "current_l3": {"function": 4, "address": 10, "data_type": "float32", "word_order": "big"},
    "import_energy": {"function": 4, "address": 0x48, "data_type": "float32", "scale": 1000},
}


# --- helpers --------------------------------------------------------------------------


# A zone's reduced maximum (tariff windows), always offered.
REDUCTION_FIELDS = ("reduced_current", "reduce_when", "reduce_price_entity", "reduce_price_above")


def hub(hass: HomeAssistant, port: int, *subentries: dict[str, Any]) -> MockConfigEntry:
    """A hub entry with these subentries, added to hass (not set up)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Charge Zones (port {port})",
        data={"host": "127.0.0.1", "port": port},
        options={"heartbeat_interval": 300, "meter_value_sample_interval": 10},
        subentries_data=list(subentries),
    )
    entry.add_to_hass(hass)
    return entry


def fields(result: dict[str, Any]) -> set[str]:
    """The field names of a form."""
    return {marker.schema for marker in result["data_schema"].schema}


def suggested(result: dict[str, Any], key: str) -> Any:
    """The suggested value of a form field (None when there is none)."""
    for marker in result["data_schema"].schema:
        if marker.schema == key:
            return (marker.description or {}).get("suggested_value")
    raise KeyError(key)


def select_options(result: dict[str, Any], key: str) -> list[Any]:
    """The options of a select field."""
    for marker, validator in result["data_schema"].schema.items():
        if marker.schema == key:
            return list(validator.config["options"])
    raise KeyError(key)


def by_unique_id(entry: MockConfigEntry, unique_id: str) -> ConfigSubentry:
    """The subentry with this unique id."""
    [found] = [s for s in entry.subentries.values() if s.unique_id == unique_id]
    return found


async def start(hass: HomeAssistant, entry: MockConfigEntry, subentry_type: str) -> dict[str, Any]:
    """Open the "Add …" flow of a subentry type."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, subentry_type), context={"source": SOURCE_USER}
    )
    return dict(result)


async def reconfigure(
    hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str
) -> dict[str, Any]:
    """Open the edit flow of a subentry."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, entry.subentries[subentry_id].subentry_type),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id},
    )
    return dict(result)


async def submit(hass: HomeAssistant, result: dict[str, Any], user_input: dict[str, Any]) -> Any:
    """Submit a form (or pick a menu option)."""
    return await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)


def tcp_input(name: str, port: int, **overrides: Any) -> dict[str, Any]:
    """What the user enters in a TCP connection form (numbers come as floats)."""
    return {"name": name, "host": "127.0.0.1", "port": float(port), "timeout": 0.5} | overrides


def rtu_input(name: str, serial_port: str = "/dev/ttyUSB0", **overrides: Any) -> dict[str, Any]:
    """What the user enters in the serial connection form (selects hold strings)."""
    return {
        "name": name,
        "serial_port": serial_port,
        "baudrate": "19200",
        "parity": "even",
        "stopbits": "1",
        "bytesize": "8",
        "timeout": 0.3,
    } | overrides


def meter_input(name: str, connection: str = "conn_gw", **overrides: Any) -> dict[str, Any]:
    """What the user enters in the meter form."""
    return {
        "name": name,
        "connection": connection,
        "unit": 3.0,
        "meter_model": "sdm630",
        "amperage": 80.0,
        "poll_interval": 1.0,
    } | overrides


def zone_input(name: str, **overrides: Any) -> dict[str, Any]:
    """What the user enters in the zone form."""
    return {
        "name": name,
        "max_current": 63.0,
        "zone_phases": "l1-l2-l3",
        "failsafe_current": 6.0,
        "stale_after": 10.0,
    } | overrides


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


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedMeter]:
    """A simulated Eastron SDM630 at Modbus address 3 on 127.0.0.1 (Modbus TCP)."""
    meter = SimulatedMeter("sdm630", unit=3)
    meter.set_currents(10.0, 12.0, 8.0)
    await meter.start()
    yield meter
    await meter.stop()


@pytest.fixture
async def rtu_sim() -> AsyncIterator[SimulatedMeter]:
    """A simulated ABB B23 at address 7 behind an RTU-over-TCP gateway on 127.0.0.1."""
    meter = SimulatedMeter("abb_b23", unit=7, framer="rtu")
    meter.set_currents(5.0, 5.0, 5.0)
    await meter.start()
    yield meter
    await meter.stop()


def gateway(sim: SimulatedMeter, **overrides: Any) -> dict[str, Any]:
    """A TCP connection subentry pointing at the simulator (short timeout)."""
    return connection_subentry(**({"port": sim.port, "timeout": 0.2} | overrides))


# --- connections ----------------------------------------------------------------------


async def test_connection_menu(hass: HomeAssistant, port: int) -> None:
    """Adding a connection starts with the choice of the bus kind."""
    entry = hub(hass, port)
    result = await start(hass, entry, "connection")
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert list(result["menu_options"]) == ["tcp", "rtu_over_tcp", "rtu"]

    result = await submit(hass, result, {"next_step_id": "tcp"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "tcp"
    assert fields(result) == {"name", "host", "port", "timeout", "skip_test"}


async def test_connection_tcp_created(hass: HomeAssistant, port: int, sim: SimulatedMeter) -> None:
    """A Modbus TCP connection is tested with a real TCP connection, then saved."""
    entry = hub(hass, port)
    result = await submit(hass, await start(hass, entry, "connection"), {"next_step_id": "tcp"})
    result = await submit(
        hass, result, tcp_input(" Meter gateway ", sim.port, host=" 127.0.0.1 ", timeout=1.5)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Meter gateway"
    assert result["unique_id"] == f"connection tcp 127.0.0.1:{sim.port}"
    subentry = by_unique_id(entry, f"connection tcp 127.0.0.1:{sim.port}")
    assert subentry.subentry_type == "connection"
    assert dict(subentry.data) == {
        "name": "Meter gateway",
        "kind": "tcp",
        "host": "127.0.0.1",
        "port": sim.port,
        "timeout": 1.5,
    }
    assert type(subentry.data["port"]) is int
    assert connection_config(subentry.data) == ConnectionConfig(
        kind="tcp", host="127.0.0.1", port=sim.port, timeout=1.5
    )


async def test_connection_rtu_over_tcp_created(
    hass: HomeAssistant, port: int, rtu_sim: SimulatedMeter
) -> None:
    """RTU through a TCP gateway has the TCP fields and its own kind and unique id."""
    entry = hub(hass, port, connection_subentry(port=rtu_sim.port))  # same port, other kind
    result = await submit(
        hass, await start(hass, entry, "connection"), {"next_step_id": "rtu_over_tcp"}
    )
    assert result["step_id"] == "rtu_over_tcp"
    assert fields(result) == {"name", "host", "port", "timeout", "skip_test"}
    assert suggested(result, "port") is None  # the default (502) applies
    result = await submit(hass, result, tcp_input("RS485 gateway", rtu_sim.port))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["unique_id"] == f"connection rtu_over_tcp 127.0.0.1:{rtu_sim.port}"
    assert result["data"] == {
        "name": "RS485 gateway",
        "kind": "rtu_over_tcp",
        "host": "127.0.0.1",
        "port": rtu_sim.port,
        "timeout": 0.5,
    }
    assert connection_config(result["data"]).kind == "rtu_over_tcp"


async def test_connection_cannot_connect_then_save_anyway(hass: HomeAssistant, port: int) -> None:
    """Nobody listening: refused, said in words; "save anyway" saves untested."""
    entry = hub(hass, port)
    nobody = free_port()
    result = await submit(hass, await start(hass, entry, "connection"), {"next_step_id": "tcp"})
    result = await submit(hass, result, tcp_input("Not wired yet", nobody))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "tcp"
    assert result["errors"] == {"base": "connection_refused"}
    placeholders = result["description_placeholders"]
    assert placeholders == {"host": "127.0.0.1", "port": str(nobody), "limit": "3"}
    assert suggested(result, "name") == "Not wired yet"

    result = await submit(hass, result, tcp_input("Not wired yet", nobody, skip_test=True))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert "skip_test" not in result["data"]
    assert result["data"]["port"] == nobody


async def test_tcp_connect_error_reasons() -> None:
    """The connection test names the reason: refused, or no answer in time."""
    assert await tcp_connect_error("127.0.0.1", free_port()) == "Connection refused"
    # A listener whose backlog is full: the kernel drops further SYNs, the connect hangs.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        host, port = listener.getsockname()
        fillers = [socket.socket() for _ in range(3)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    filler.connect((host, port))
            await asyncio.sleep(0.05)
            assert await tcp_connect_error(host, port, within=0.2) == "no answer within 0.2 s"
        finally:
            for filler in fillers:
                filler.close()


async def test_connection_rtu_created(hass: HomeAssistant, port: int) -> None:
    """A serial bus stores its serial settings as numbers; a serial port that is not
    there is refused in words unless the installer saves without testing."""
    entry = hub(hass, port)
    result = await submit(hass, await start(hass, entry, "connection"), {"next_step_id": "rtu"})
    assert result["step_id"] == "rtu"
    assert fields(result) == {
        "name",
        "serial_port",
        "baudrate",
        "parity",
        "stopbits",
        "bytesize",
        "timeout",
        "skip_test",
    }
    assert select_options(result, "baudrate") == [
        "1200",
        "2400",
        "4800",
        "9600",
        "19200",
        "38400",
        "57600",
        "115200",
    ]
    result = await submit(
        hass, result, rtu_input("Basement RS485", " /dev/charge-zones-no-such-ttyUSB1 ")
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"serial_port": "serial_port_not_found"}
    assert result["description_placeholders"] == {
        "serial_port": "/dev/charge-zones-no-such-ttyUSB1"
    }
    assert not entry.subentries
    result = await submit(
        hass, result, rtu_input("Basement RS485", " /dev/ttyUSB1 ", skip_test=True)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["unique_id"] == "connection rtu /dev/ttyUSB1"
    assert result["data"] == {
        "name": "Basement RS485",
        "kind": "rtu",
        "serial_port": "/dev/ttyUSB1",
        "baudrate": 19200,
        "parity": "even",
        "stopbits": 1,
        "bytesize": 8,
        "timeout": 0.3,
    }
    assert connection_config(result["data"]).label == "/dev/ttyUSB1 (19200 8E1)"


@pytest.mark.parametrize(
    ("kind", "user_input", "errors"),
    [
        ("tcp", tcp_input("  ", 502, skip_test=True), {"name": "name_required"}),
        ("tcp", tcp_input("Gateway", 502, host=" "), {"host": "host_required"}),
        (
            "rtu_over_tcp",
            tcp_input("", 502, host=""),
            {"name": "name_required", "host": "host_required"},
        ),
        ("rtu", rtu_input("Bus", serial_port="  "), {"serial_port": "serial_port_required"}),
    ],
)
async def test_connection_required_fields(
    hass: HomeAssistant,
    port: int,
    kind: str,
    user_input: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Blank names, hosts and serial ports are refused field by field."""
    entry = hub(hass, port)
    result = await submit(hass, await start(hass, entry, "connection"), {"next_step_id": kind})
    result = await submit(hass, result, user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert not entry.subentries


async def test_connection_duplicates(hass: HomeAssistant, port: int) -> None:
    """One connection per TCP endpoint and kind (host not case-sensitive) or serial port."""
    entry = hub(
        hass,
        port,
        connection_subentry(host="gw.example", port=1502),
        connection_subentry("Serial", subentry_id="conn_serial", kind="rtu"),
    )
    result = await submit(hass, await start(hass, entry, "connection"), {"next_step_id": "tcp"})
    result = await submit(hass, result, tcp_input("Again", 1502, host="GW.example", skip_test=True))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"host": "already_configured"}

    result = await submit(hass, await start(hass, entry, "connection"), {"next_step_id": "rtu"})
    result = await submit(hass, result, rtu_input("Serial again", "/dev/ttyUSB0"))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"serial_port": "already_configured"}
    assert len(entry.subentries) == 2


async def test_connection_reconfigure_tcp(
    hass: HomeAssistant, port: int, sim: SimulatedMeter
) -> None:
    """Editing a TCP connection re-tests it unless skipped; its kind stays."""
    entry = hub(
        hass,
        port,
        connection_subentry(port=sim.port),
        connection_subentry("Other", subentry_id="conn_other", port=1502),
    )
    result = await reconfigure(hass, entry, "conn_gw")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert fields(result) == {"name", "host", "port", "timeout", "skip_test"}
    assert suggested(result, "host") == "127.0.0.1"
    assert suggested(result, "port") == sim.port

    result = await submit(hass, result, tcp_input("Gateway", 1502, skip_test=True))
    assert result["errors"] == {"host": "already_configured"}

    nobody = free_port()
    result = await submit(hass, result, tcp_input("Gateway", nobody))
    assert result["errors"] == {"base": "connection_refused"}
    assert result["description_placeholders"]["port"] == str(nobody)

    # Its own endpoint is no duplicate; the test passes against the simulator.
    result = await submit(hass, result, tcp_input("Main gateway", sim.port, timeout=2.0))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    subentry = entry.subentries["conn_gw"]
    assert subentry.title == "Main gateway"
    assert subentry.unique_id == f"connection tcp 127.0.0.1:{sim.port}"
    assert dict(subentry.data) == {
        "name": "Main gateway",
        "kind": "tcp",
        "host": "127.0.0.1",
        "port": sim.port,
        "timeout": 2.0,
    }

    result = await reconfigure(hass, entry, "conn_gw")
    result = await submit(hass, result, tcp_input("Moved", nobody, skip_test=True))
    assert result["type"] is FlowResultType.ABORT
    assert entry.subentries["conn_gw"].unique_id == f"connection tcp 127.0.0.1:{nobody}"


async def test_connection_reconfigure_rtu(hass: HomeAssistant, port: int) -> None:
    """Editing a serial bus shows its settings (selects as strings) and stores numbers."""
    entry = hub(
        hass,
        port,
        connection_subentry("Serial", subentry_id="conn_serial", kind="rtu", baudrate=4800),
        connection_subentry(
            "Serial 2", subentry_id="conn_s2", kind="rtu", serial_port="/dev/ttyS1"
        ),
    )
    result = await reconfigure(hass, entry, "conn_serial")
    assert result["step_id"] == "reconfigure"
    assert "skip_test" in fields(result)
    assert suggested(result, "baudrate") == "4800"
    assert suggested(result, "stopbits") == "1"
    assert suggested(result, "parity") == "none"

    result = await submit(hass, result, rtu_input("Serial", "/dev/ttyS1"))
    assert result["errors"] == {"serial_port": "already_configured"}

    result = await submit(
        hass, result, rtu_input("Serial", "/dev/ttyUSB0", stopbits="2", skip_test=True)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.subentries["conn_serial"].data["stopbits"] == 2
    assert entry.subentries["conn_serial"].data["baudrate"] == 19200


@pytest.mark.parametrize(
    ("what", "error"),
    [("pty", None), ("file", "not_a_serial_port"), ("null", "not_a_serial_port")],
)
async def test_connection_rtu_serial_port_tested(
    hass: HomeAssistant, port: int, tmp_path: Path, what: str, error: str | None
) -> None:
    """Before saving, the serial port is opened as the bus would open it: a terminal (a
    pseudo-terminal here, as an RS485 adapter's tty) is saved; a plain file or a device
    that is not a terminal is refused in words, naming it."""
    primary, secondary = os.openpty()
    try:
        path = {
            "pty": os.ttyname(secondary),
            "file": str(tmp_path / "ttyUSB0"),
            "null": os.devnull,
        }[what]
        (tmp_path / "ttyUSB0").write_text("")
        entry = hub(hass, port)
        result = await submit(hass, await start(hass, entry, "connection"), {"next_step_id": "rtu"})
        result = await submit(hass, result, rtu_input("RS485", path))
    finally:
        os.close(primary)
        os.close(secondary)
    if error is None:
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"]["serial_port"] == path
    else:
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"serial_port": error}
        assert result["description_placeholders"] == {"serial_port": path}


async def test_connection_unusable_settings(hass: HomeAssistant, port: int) -> None:
    """Settings the bus refuses (here an unknown stored kind) show the bus's reason."""
    bogus = connection_subentry("Odd", kind="rtu")
    bogus["data"]["kind"] = "bogus"
    entry = hub(hass, port, bogus)
    result = await reconfigure(hass, entry, "conn_gw")
    result = await submit(hass, result, rtu_input("Odd"))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_connection"}
    assert "bogus" in result["description_placeholders"]["error"]
    with pytest.raises(ValueError, match="needs a serial port"):
        connection_config(connection_subentry(kind="rtu", serial_port="")["data"])


# --- meters ---------------------------------------------------------------------------


async def test_meter_needs_a_connection(hass: HomeAssistant, port: int) -> None:
    """Without any connection, adding (or editing) a meter aborts with a hint."""
    entry = hub(hass, port, station_subentry(), meter_subentry(connection="gone"))
    result = await start(hass, entry, "meter")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_connections"
    result = await reconfigure(hass, entry, "meter_commons")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_connections"


async def test_meter_created_after_a_real_read(
    hass: HomeAssistant, port: int, sim: SimulatedMeter
) -> None:
    """The meter is read once on the chosen connection before it is saved."""
    entry = hub(hass, port, gateway(sim))
    result = await start(hass, entry, "meter")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert fields(result) == {
        "name",
        "connection",
        "unit",
        "meter_model",
        "amperage",
        "poll_interval",
        "grid_connection",
        "skip_test",
    }
    assert select_options(result, "connection") == [{"value": "conn_gw", "label": "Gateway"}]
    assert select_options(result, "meter_model") == [*MODELS, "custom"]
    for marker in result["data_schema"].schema:
        if marker.schema == "connection":
            assert marker.default() == "conn_gw"  # the only connection is preselected

    result = await submit(hass, result, meter_input(" Commons meter "))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Commons meter"
    assert result["unique_id"] == "meter conn_gw 3"
    assert result["data"] == {
        "name": "Commons meter",
        "connection": "conn_gw",
        "unit": 3,
        "meter_model": "sdm630",
        "amperage": 80.0,
        "poll_interval": 1.0,
    }
    assert type(result["data"]["unit"]) is int
    assert sim.primary.requests, "the simulated meter was never read"
    assert by_unique_id(entry, "meter conn_gw 3").subentry_type == "meter"


async def test_meter_read_through_rtu_gateway(
    hass: HomeAssistant, port: int, rtu_sim: SimulatedMeter
) -> None:
    """The test read speaks RTU framing through an RTU-over-TCP connection."""
    entry = hub(hass, port, gateway(rtu_sim, kind="rtu_over_tcp"))
    result = await start(hass, entry, "meter")
    result = await submit(
        hass, result, meter_input("Main meter", unit=7.0, meter_model="abb_b23", amperage=125.0)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["unique_id"] == "meter conn_gw 7"
    assert rtu_sim.primary.requests


@pytest.mark.parametrize(
    ("failure", "error", "reason"),
    [
        ("silent", "meter_silent", "no answer"),
        ("garbage", "garbled_answer", "registers"),
        ("stopped", "bus_unreachable", "127.0.0.1"),
    ],
)
async def test_meter_cannot_read(
    hass: HomeAssistant,
    port: int,
    sim: SimulatedMeter,
    failure: str,
    error: str,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bus error is said in the installer's words, naming the address and connection;
    the bus's own message goes to the log (a warning, never an error); nothing is saved."""
    entry = hub(hass, port, gateway(sim))
    if failure == "silent":
        sim.silent = True
    elif failure == "garbage":
        sim.garbage = True
    else:
        await sim.stop()  # nobody listens on that port any more
    result = await start(hass, entry, "meter")
    result = await submit(hass, result, meter_input("Meter"))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": error}
    assert result["description_placeholders"] == {
        "unit": "3",
        "model": "Eastron SDM630",
        "connection": f"Gateway (tcp://127.0.0.1:{sim.port})",
    }
    [logged] = [r for r in caplog.records if "Test read" in r.getMessage()]
    assert logged.levelname == "WARNING"
    assert reason in logged.getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert suggested(result, "name") == "Meter"
    assert not [s for s in entry.subentries.values() if s.subentry_type == "meter"]


@pytest.mark.parametrize(
    ("overrides", "error", "reason"),
    [
        ({"unit": 4.0}, "gateway_no_meter", "exception 11"),
        ({"meter_model": "abb_b23"}, "wrong_registers", "exception 2"),
    ],
    ids=["unit-not-served", "wrong-model"],
)
async def test_meter_wrong_address_or_model(
    hass: HomeAssistant,
    port: int,
    sim: SimulatedMeter,
    overrides: dict[str, Any],
    error: str,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A Modbus address nobody answers behind the gateway, or another model's registers,
    cannot be read: said in words, the Modbus exception in the log."""
    entry = hub(hass, port, gateway(sim))
    result = await submit(
        hass, await start(hass, entry, "meter"), meter_input("Meter", **overrides)
    )
    assert result["errors"] == {"base": error}
    assert "exception" not in str(result["description_placeholders"])
    assert reason in caplog.text


async def test_meter_refuses_another_models_readings(hass: HomeAssistant, port: int) -> None:
    """An EM24 at the address, SDM630 chosen: the test read refuses what it decodes."""
    em24 = SimulatedMeter("em24", unit=3)
    em24.set_currents(10.0, 12.0, 8.0)
    async with em24:
        entry = hub(hass, port, gateway(em24))
        result = await submit(hass, await start(hass, entry, "meter"), meter_input("Main"))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "implausible_reading"}
    placeholders = result["description_placeholders"]
    assert placeholders["count"] == "4"
    assert placeholders["model"] == "Eastron SDM630"
    values = placeholders["values"].split("; ")
    assert [value.split(" = ")[0] for value in values] == [
        "voltage_l1",
        "voltage_l2",
        "voltage_l3",
        "frequency",
    ]
    assert values[3] == "frequency = 0 Hz, outside 40-70 Hz"
    assert not [s for s in entry.subentries.values() if s.subentry_type == "meter"]


@pytest.mark.parametrize(
    ("answer", "error", "words"),
    [
        ("missing", "wrong_registers", "Eastron SDM72D-M v2"),
        ("zeros", "implausible_reading", "voltage_l1 = 0 V, outside 80-300 V"),
    ],
)
async def test_meter_sdm72dm_v1_is_not_a_v2(
    hass: HomeAssistant, port: int, answer: str, error: str, words: str
) -> None:
    """An SDM72D-M v1 (totals only) chosen as the v2 does not pass the test read."""
    v1 = SimulatedMeter("sdm72dm_v2", unit=3)
    per_phase = {*CURRENTS, *VOLTAGES, *POWERS}
    if answer == "missing":
        v1.primary.missing = per_phase
    else:
        for quantity in per_phase:
            v1.primary.set_words(quantity, [0, 0])
    async with v1:
        entry = hub(hass, port, gateway(v1))
        result = await submit(
            hass, await start(hass, entry, "meter"), meter_input("Main", meter_model="sdm72dm_v2")
        )
    assert result["errors"] == {"base": error}
    placeholders = result["description_placeholders"]
    assert words in placeholders.get("model", "") + placeholders.get("values", "")


async def test_meter_current_above_three_times_the_amperage(
    hass: HomeAssistant, port: int, sim: SimulatedMeter
) -> None:
    """The form knows the amperage: 250 A through an 80 A meter is no reading; 240 A is."""
    entry = hub(hass, port, gateway(sim))
    sim.set_currents(10.0, 250.0, 8.0)
    result = await submit(hass, await start(hass, entry, "meter"), meter_input("Main"))
    assert result["errors"] == {"base": "implausible_reading"}
    assert result["description_placeholders"]["values"] == (
        "current_l2 = 250 A, above 3 x the meter's amperage"
    )
    assert result["description_placeholders"]["count"] == "1"
    sim.set_currents(10.0, 240.0, 8.0)
    result = await submit(hass, result, meter_input("Main"))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_meter_implausible_optional_value_is_refused(
    hass: HomeAssistant, port: int, sim: SimulatedMeter
) -> None:
    """A negative energy counter alone would not fail a poll, but the form refuses it;
    a "no value" marker (a meter without that counter) passes."""
    entry = hub(hass, port, gateway(sim))
    sim.set(Quantity.EXPORT_ENERGY, -5_000.0)
    result = await submit(hass, await start(hass, entry, "meter"), meter_input("Main"))
    assert result["errors"] == {"base": "implausible_reading"}
    assert result["description_placeholders"]["values"] == (
        "export_energy = -5000 Wh, a negative energy counter"
    )
    sim.primary.set_no_value(Quantity.EXPORT_ENERGY)
    sim.primary.missing = {Quantity.FREQUENCY}
    result = await submit(hass, result, meter_input("Main"))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_meter_skip_test(hass: HomeAssistant, port: int) -> None:
    """ "Save without reading" saves a meter whose bus is not reachable."""
    entry = hub(hass, port, connection_subentry(port=free_port(), timeout=0.2))
    result = await start(hass, entry, "meter")
    result = await submit(hass, result, meter_input("Not wired", skip_test=True))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert "skip_test" not in result["data"]


async def test_meter_errors(hass: HomeAssistant, port: int, sim: SimulatedMeter) -> None:
    """Blank name, a taken Modbus address and a connection removed meanwhile are refused."""
    entry = hub(
        hass,
        port,
        gateway(sim),
        connection_subentry("Second", subentry_id="conn_2", port=free_port()),
        meter_subentry(unit=3),
    )
    result = await start(hass, entry, "meter")
    assert select_options(result, "connection") == [
        {"value": "conn_gw", "label": "Gateway"},
        {"value": "conn_2", "label": "Second"},
    ]
    result = await submit(hass, result, meter_input(" ", skip_test=True))
    assert result["errors"] == {"name": "name_required", "unit": "already_configured"}

    hass.config_entries.async_remove_subentry(entry, "conn_2")
    result = await submit(hass, result, meter_input("Meter", "conn_2", skip_test=True))
    assert result["errors"] == {"connection": "unknown_connection"}

    # The same address on another bus is another meter.
    result = await submit(hass, await start(hass, entry, "meter"), meter_input("Other", unit=4.0))
    assert result["errors"] == {"base": "gateway_no_meter"}  # the simulator serves unit 3 only
    result = await submit(hass, result, meter_input("Other", unit=4.0, skip_test=True))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_meter_unusable_connection_data(
    hass: HomeAssistant, port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A connection whose stored data no bus accepts makes the test read fail (why: in the
    log)."""
    bogus = connection_subentry()
    bogus["data"]["kind"] = "bogus"
    entry = hub(hass, port, bogus)
    result = await submit(hass, await start(hass, entry, "meter"), meter_input("Meter"))
    assert result["errors"] == {"base": "cannot_read"}
    assert result["description_placeholders"]["connection"] == "Gateway"
    assert "bogus" in caplog.text


async def test_meter_read_time_limit(
    hass: HomeAssistant, port: int, sim: SimulatedMeter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole test read is bounded, even when every request is answered slowly."""
    monkeypatch.setattr(meter_flow, "READ_TEST_LIMIT", 0.3)
    sim.primary.delay = 1.0
    entry = hub(hass, port, gateway(sim, timeout=5.0))
    result = await submit(hass, await start(hass, entry, "meter"), meter_input("Slow meter"))
    assert result["errors"] == {"base": "meter_too_slow"}
    assert result["description_placeholders"]["limit"] == "0.3"
    # let the simulator finish the request it is still sleeping on (its own task)
    await wait_until(hass, lambda: not sim.primary.in_flight)


async def test_meter_custom_registers(hass: HomeAssistant, port: int, sim: SimulatedMeter) -> None:
    """A custom meter's register table is validated, read once and stored normalised."""
    entry = hub(hass, port, gateway(sim))
    result = await start(hass, entry, "meter")
    result = await submit(hass, result, meter_input("Custom meter", meter_model="custom"))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "registers"
    assert fields(result) == {"registers", "skip_test"}
    placeholders = result["description_placeholders"]
    assert "current_l1" in placeholders["quantities"]
    assert "float32" in placeholders["data_types"]
    assert placeholders["word_orders"] == "big, little"
    assert "current_l3:" in placeholders["example"]
    assert suggested(result, "skip_test") is False

    for registers, reason in (
        (
            {"current_l1": {"function": 4, "address": 6, "data_type": "float32"}} | {"amps": {}},
            "unknown quantity 'amps'",
        ),
        ({k: v for k, v in CUSTOM_3P.items() if k != "current_l3"}, "current_l3"),
        ({"current_l1": {"function": 5, "address": 6, "data_type": "float32"}}, "function"),
        ({"current_l1": {"address": 6, "data_type": "float32"}}, "missing function"),
        ({"current_l1": {"function": 4, "address": 6, "data_type": "double"}}, "data_type"),
        ("current_l1: 6", "mapping"),
        ({}, "at least one register"),
    ):
        result = await submit(hass, result, {"registers": registers})
        assert result["type"] is FlowResultType.FORM, registers
        assert result["step_id"] == "registers"
        assert result["errors"] == {"registers": "invalid_registers"}, registers
        assert reason in result["description_placeholders"]["error"], registers

    requests_before = len(sim.primary.requests)
    result = await submit(hass, result, {"registers": CUSTOM_3P})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(sim.primary.requests) > requests_before
    data = result["data"]
    assert data["meter_model"] == "custom"
    assert data["registers"] == {
        "current_l1": {
            "function": 4,
            "address": 6,
            "data_type": "float32",
            "word_order": "big",
            "scale": 1.0,
        },
        "current_l2": {
            "function": 4,
            "address": 8,
            "data_type": "float32",
            "word_order": "big",
            "scale": 1.0,
        },
        "current_l3": {
            "function": 4,
            "address": 10,
            "data_type": "float32",
            "word_order": "big",
            "scale": 1.0,
        },
        "import_energy": {
            "function": 4,
            "address": 72,
            "data_type": "float32",
            "word_order": "big",
            "scale": 1000.0,
        },
    }
    json.dumps(data)  # storable as is
    model = meter_model(data)
    assert model.phases == 3
    assert set(model.registers) == set(CUSTOM_3P)


async def test_meter_custom_single_phase(hass: HomeAssistant, port: int) -> None:
    """A custom table without L2/L3 quantities is a single-phase meter."""
    sdm120 = SimulatedMeter("sdm120", unit=1)
    sdm120.set_currents(7.5)
    await sdm120.start()
    try:
        entry = hub(hass, port, gateway(sdm120))
        result = await start(hass, entry, "meter")
        result = await submit(
            hass, result, meter_input("Flat meter", unit=1.0, meter_model="custom", amperage=40.0)
        )
        result = await submit(
            hass,
            result,
            {"registers": {"current_l1": {"function": 4, "address": 6, "data_type": "float32"}}},
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert meter_model(result["data"]).phases == 1
    finally:
        await sdm120.stop()
    assert custom_meter_model({"current_l1": CUSTOM_3P["current_l1"]}).phases == 1
    assert meter_model(meter_subentry(meter_model="sdm120")["data"]) is MODELS["sdm120"]


async def test_meter_custom_cannot_read_and_skip(hass: HomeAssistant, port: int) -> None:
    """The custom step reads too; its own "save without reading" (preset from step 1) skips."""
    entry = hub(hass, port, connection_subentry(port=free_port(), timeout=0.2))
    result = await start(hass, entry, "meter")
    result = await submit(hass, result, meter_input("Custom", meter_model="custom"))
    result = await submit(hass, result, {"registers": CUSTOM_3P})
    assert result["step_id"] == "registers"
    assert result["errors"] == {"base": "bus_unreachable"}
    assert result["description_placeholders"]["unit"] == "3"
    result = await submit(hass, result, {"registers": CUSTOM_3P, "skip_test": True})
    assert result["type"] is FlowResultType.CREATE_ENTRY

    result = await start(hass, entry, "meter")
    result = await submit(
        hass, result, meter_input("Custom 2", unit=9.0, meter_model="custom", skip_test=True)
    )
    assert suggested(result, "skip_test") is True


async def test_meter_custom_connection_removed_meanwhile(
    hass: HomeAssistant, port: int, sim: SimulatedMeter
) -> None:
    """If the connection disappears between the two steps, the flow aborts."""
    entry = hub(hass, port, gateway(sim))
    result = await start(hass, entry, "meter")
    result = await submit(hass, result, meter_input("Custom", meter_model="custom"))
    hass.config_entries.async_remove_subentry(entry, "conn_gw")
    result = await submit(hass, result, {"registers": CUSTOM_3P})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unknown_connection"


async def test_meter_reconfigure(hass: HomeAssistant, port: int, sim: SimulatedMeter) -> None:
    """Editing re-reads the meter unless skipped and keeps one meter per address."""
    entry = hub(
        hass,
        port,
        gateway(sim),
        meter_subentry(unit=3),
        meter_subentry("Other", subentry_id="meter_other", unit=5),
    )
    result = await reconfigure(hass, entry, "meter_commons")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert suggested(result, "unit") == 3
    assert suggested(result, "amperage") == 63.0
    assert suggested(result, "meter_model") == "sdm630"

    result = await submit(hass, result, meter_input("Commons meter", unit=5.0, skip_test=True))
    assert result["errors"] == {"unit": "already_configured"}

    # an EM24 table against the SDM630: its values cannot be an EM24's
    result = await submit(hass, result, meter_input("Commons meter", meter_model="em24"))
    assert result["errors"] == {"base": "implausible_reading"}
    assert "current_l1 = " in result["description_placeholders"]["values"]

    result = await submit(hass, result, meter_input("Commons", amperage=100.0))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    subentry = entry.subentries["meter_commons"]
    assert subentry.title == "Commons"
    assert subentry.data["amperage"] == 100.0
    assert subentry.unique_id == "meter conn_gw 3"

    result = await reconfigure(hass, entry, "meter_other")
    result = await submit(hass, result, meter_input("Other", unit=6.0, skip_test=True))
    assert result["type"] is FlowResultType.ABORT
    assert entry.subentries["meter_other"].unique_id == "meter conn_gw 6"


async def test_meter_reconfigure_custom(
    hass: HomeAssistant, port: int, sim: SimulatedMeter
) -> None:
    """A custom meter's table is offered for editing; switching to a known model drops it."""
    stored = {
        "current_l1": {
            "function": 4,
            "address": 6,
            "data_type": "float32",
            "word_order": "big",
            "scale": 1.0,
        }
    }
    entry = hub(
        hass, port, gateway(sim), meter_subentry(unit=3, meter_model="custom", registers=stored)
    )
    result = await reconfigure(hass, entry, "meter_commons")
    result = await submit(hass, result, meter_input("Commons", meter_model="custom"))
    assert result["step_id"] == "registers"
    assert suggested(result, "registers") == stored
    result = await submit(hass, result, {"registers": CUSTOM_3P})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert set(entry.subentries["meter_commons"].data["registers"]) == set(CUSTOM_3P)

    result = await reconfigure(hass, entry, "meter_commons")
    result = await submit(hass, result, meter_input("Commons"))
    assert result["type"] is FlowResultType.ABORT
    assert "registers" not in entry.subentries["meter_commons"].data
    assert entry.subentries["meter_commons"].data["meter_model"] == "sdm630"


# --- zones ----------------------------------------------------------------------------

METERS = (
    connection_subentry(port=1502),
    meter_subentry("Commons meter", subentry_id="m_commons", unit=1),
    meter_subentry("Zone meter", subentry_id="m_zone", unit=2),
)


async def test_zone_created(hass: HomeAssistant, port: int) -> None:
    """A zone refers to its meters and parent by subentry id."""
    entry = hub(hass, port, *METERS, zone_subentry("Building", subentry_id="z_building"))
    result = await start(hass, entry, "zone")
    assert result["type"] is FlowResultType.FORM
    assert fields(result) == {
        "name",
        "max_current",
        "zone_phases",
        "dlm_meters",
        "consumption_meter",
        "parent_zone",
        "failsafe_current",
        "stale_after",
        *REDUCTION_FIELDS,
    }
    assert select_options(result, "dlm_meters") == [
        {"value": "m_commons", "label": "Commons meter"},
        {"value": "m_zone", "label": "Zone meter"},
    ]
    assert select_options(result, "parent_zone") == [{"value": "z_building", "label": "Building"}]
    assert select_options(result, "zone_phases") == ["l1-l2-l3", "l1", "l2", "l3"]

    result = await submit(
        hass,
        result,
        zone_input(
            " Car park ",
            dlm_meters=["m_commons"],
            consumption_meter="m_zone",
            parent_zone="z_building",
            failsafe_current=8.0,
            stale_after=15.0,
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Car park"
    assert result["unique_id"] == "zone car park"
    assert result["data"] == {
        "name": "Car park",
        "max_current": 63.0,
        "zone_phases": "l1-l2-l3",
        "dlm_meters": ["m_commons"],
        "consumption_meter": "m_zone",
        "parent_zone": "z_building",
        "failsafe_current": 8.0,
        "stale_after": 15.0,
    }


async def test_zone_without_meters(hass: HomeAssistant, port: int) -> None:
    """With no meters and no other zone, those fields are not shown; defaults apply."""
    entry = hub(hass, port)
    result = await start(hass, entry, "zone")
    assert fields(result) == {
        "name",
        "max_current",
        "zone_phases",
        "failsafe_current",
        "stale_after",
        *REDUCTION_FIELDS,
    }
    result = await submit(hass, result, {"name": "Garage", "max_current": 32.0})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        "name": "Garage",
        "max_current": 32.0,
        "zone_phases": "l1-l2-l3",
        "dlm_meters": [],
        "failsafe_current": 6.0,
        "stale_after": 10.0,
    }


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        (
            {"dlm_meters": ["m_commons", "m_zone"], "consumption_meter": "m_zone"},
            {"consumption_meter": "consumption_meter_is_dlm"},
        ),
        (
            {"max_current": 6.0, "failsafe_current": 10.0},
            {"failsafe_current": "failsafe_above_max"},
        ),
        ({"name": "  "}, {"name": "name_required"}),
        ({"name": "BUILDING"}, {"name": "already_configured"}),
        (
            {
                "name": "",
                "dlm_meters": ["m_zone"],
                "consumption_meter": "m_zone",
                "failsafe_current": 32.0,
                "max_current": 16.0,
            },
            {
                "name": "name_required",
                "consumption_meter": "consumption_meter_is_dlm",
                "failsafe_current": "failsafe_above_max",
            },
        ),
    ],
)
async def test_zone_rules(
    hass: HomeAssistant, port: int, overrides: dict[str, Any], errors: dict[str, str]
) -> None:
    """Each rule is a field error; a corrected form then saves."""
    entry = hub(hass, port, *METERS, zone_subentry("Building", subentry_id="z_building"))
    result = await start(hass, entry, "zone")
    result = await submit(hass, result, zone_input("Car park") | overrides)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    result = await submit(hass, result, zone_input("Car park", dlm_meters=["m_commons"]))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_zone_meter_may_be_consumption_meter_and_dlm_of_different_zones(
    hass: HomeAssistant, port: int
) -> None:
    """The rule is per zone: a zone's consumption meter may be another zone's DLM meter."""
    entry = hub(
        hass, port, *METERS, zone_subentry("Level 1", subentry_id="z1", dlm_meters=["m_zone"])
    )
    result = await submit(
        hass, await start(hass, entry, "zone"), zone_input("Level 2", consumption_meter="m_zone")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_zone_references_removed_meanwhile(hass: HomeAssistant, port: int) -> None:
    """Meters or zones removed while the form was open are refused, not stored."""
    entry = hub(hass, port, *METERS, zone_subentry("Building", subentry_id="z_building"))
    result = await start(hass, entry, "zone")
    hass.config_entries.async_remove_subentry(entry, "m_commons")
    hass.config_entries.async_remove_subentry(entry, "m_zone")
    hass.config_entries.async_remove_subentry(entry, "z_building")
    result = await submit(
        hass,
        result,
        zone_input(
            "Car park",
            dlm_meters=["m_commons"],
            consumption_meter="m_zone",
            parent_zone="z_building",
        ),
    )
    assert result["errors"] == {
        "dlm_meters": "unknown_meter",
        "consumption_meter": "unknown_meter",
        "parent_zone": "unknown_zone",
    }


async def test_zone_parent_cycle(hass: HomeAssistant, port: int) -> None:
    """A zone cannot be fed from itself through a chain of parents."""
    entry = hub(
        hass,
        port,
        zone_subentry("Building", subentry_id="z_a"),
        zone_subentry("Wing", subentry_id="z_b", parent_zone="z_a"),
        zone_subentry("Car park", subentry_id="z_c", parent_zone="z_b"),
    )
    result = await reconfigure(hass, entry, "z_a")
    assert result["step_id"] == "reconfigure"
    # the zone itself is not offered as its own parent
    assert [o["value"] for o in select_options(result, "parent_zone")] == ["z_c", "z_b"]
    for parent in ("z_b", "z_c"):
        result = await submit(hass, result, zone_input("Building", parent_zone=parent))
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"parent_zone": "parent_cycle"}
    assert "parent_zone" not in entry.subentries["z_a"].data

    # Moving the car park directly under the building is fine.
    result = await reconfigure(hass, entry, "z_c")
    assert suggested(result, "parent_zone") == "z_b"
    result = await submit(hass, result, zone_input("Car park", parent_zone="z_a"))
    assert result["type"] is FlowResultType.ABORT
    assert entry.subentries["z_c"].data["parent_zone"] == "z_a"


async def test_zone_parent_chain_already_looping(hass: HomeAssistant, port: int) -> None:
    """Stored data with a loop (edited by hand) is never extended: parent_cycle."""
    entry = hub(
        hass,
        port,
        zone_subentry("X", subentry_id="z_x", parent_zone="z_y"),
        zone_subentry("Y", subentry_id="z_y", parent_zone="z_x"),
    )
    result = await submit(
        hass, await start(hass, entry, "zone"), zone_input("New", parent_zone="z_x")
    )
    assert result["errors"] == {"parent_zone": "parent_cycle"}


async def test_zone_parent_chain_with_dangling_ancestor(hass: HomeAssistant, port: int) -> None:
    """A chain that ends at a zone removed meanwhile has no loop: the zone is saved."""
    entry = hub(hass, port, zone_subentry("Wing", subentry_id="z_wing", parent_zone="z_gone"))
    result = await submit(
        hass, await start(hass, entry, "zone"), zone_input("Car park", parent_zone="z_wing")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_zone_reconfigure(hass: HomeAssistant, port: int) -> None:
    """Editing validates like adding; the name may change, cleared optional fields go away."""
    entry = hub(
        hass,
        port,
        *METERS,
        zone_subentry("Building", subentry_id="z_building"),
        zone_subentry(
            "Car park",
            dlm_meters=["m_commons"],
            consumption_meter="m_zone",
            parent_zone="z_building",
        ),
    )
    result = await reconfigure(hass, entry, "zone_car_park")
    assert suggested(result, "dlm_meters") == ["m_commons"]
    assert suggested(result, "consumption_meter") == "m_zone"
    assert suggested(result, "max_current") == 63.0

    result = await submit(hass, result, zone_input("building"))
    assert result["errors"] == {"name": "already_configured"}
    result = await submit(
        hass, result, zone_input("Car park", dlm_meters=["m_zone"], consumption_meter="m_zone")
    )
    assert result["errors"] == {"consumption_meter": "consumption_meter_is_dlm"}

    # Its own name in another case is no duplicate.
    result = await submit(
        hass,
        result,
        zone_input("CAR PARK", max_current=50.0, dlm_meters=["m_commons", "m_commons"]),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    subentry = entry.subentries["zone_car_park"]
    assert subentry.title == "CAR PARK"
    assert subentry.unique_id == "zone car park"
    assert dict(subentry.data) == {
        "name": "CAR PARK",
        "max_current": 50.0,
        "zone_phases": "l1-l2-l3",
        "dlm_meters": ["m_commons"],
        "failsafe_current": 6.0,
        "stale_after": 10.0,
    }


async def test_zone_paused_form_saves_untouched(hass: HomeAssistant, port: int) -> None:
    """A paused zone (maximum 0 A) keeps its fail-safe current: its form saves as shown,
    and 0 A entered pauses a zone; a fail-safe current entered while paused has no
    maximum to be checked against: refused until the zone has its maximum again."""
    entry = hub(hass, port, zone_subentry("Car park", max_current=0.0, failsafe_current=6.0))
    result = await reconfigure(hass, entry, "zone_car_park")
    assert suggested(result, "max_current") == 0.0
    assert suggested(result, "failsafe_current") == 6.0
    result = await submit(hass, result, zone_input("Parking", max_current=0.0))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.subentries["zone_car_park"].data["max_current"] == 0.0
    assert entry.subentries["zone_car_park"].data["failsafe_current"] == 6.0

    result = await reconfigure(hass, entry, "zone_car_park")
    result = await submit(
        hass, result, zone_input("Parking", max_current=0.0, failsafe_current=10.0)
    )
    assert result["errors"] == {"failsafe_current": "failsafe_above_max"}
    result = await submit(
        hass, result, zone_input("Parking", max_current=32.0, failsafe_current=10.0)
    )
    assert result["type"] is FlowResultType.ABORT
    assert entry.subentries["zone_car_park"].data["failsafe_current"] == 10.0

    # Paused through the form: the fail-safe current stays.
    result = await reconfigure(hass, entry, "zone_car_park")
    result = await submit(
        hass, result, zone_input("Parking", max_current=0.0, failsafe_current=10.0)
    )
    assert result["type"] is FlowResultType.ABORT
    assert entry.subentries["zone_car_park"].data["max_current"] == 0.0
    assert entry.subentries["zone_car_park"].data["failsafe_current"] == 10.0

    # A new zone is given its maximum (the fail-safe current is checked against it).
    result = await start(hass, entry, "zone")
    result = await submit(hass, result, zone_input("Garage", max_current=0.0))
    assert result["errors"] == {"failsafe_current": "failsafe_above_max"}


async def test_zone_lowered_by_automation_form_saves_untouched(
    hass: HomeAssistant, port: int
) -> None:
    """A maximum lowered at run time below the fail-safe current (4 A < 6 A): the form saves
    unchanged values; a maximum or fail-safe current the user enters is checked."""
    entry = hub(hass, port, zone_subentry("Car park", max_current=4.0, failsafe_current=6.0))
    result = await reconfigure(hass, entry, "zone_car_park")
    result = await submit(hass, result, zone_input("Parking", max_current=4.0))
    assert result["type"] is FlowResultType.ABORT
    assert entry.subentries["zone_car_park"].data["max_current"] == 4.0
    assert entry.subentries["zone_car_park"].data["failsafe_current"] == 6.0

    result = await reconfigure(hass, entry, "zone_car_park")
    result = await submit(hass, result, zone_input("Parking", max_current=5.0))
    assert result["errors"] == {"failsafe_current": "failsafe_above_max"}
    result = await submit(
        hass, result, zone_input("Parking", max_current=4.0, failsafe_current=8.0)
    )
    assert result["errors"] == {"failsafe_current": "failsafe_above_max"}
    result = await submit(hass, result, zone_input("Parking", max_current=32.0))
    assert result["type"] is FlowResultType.ABORT
    assert entry.subentries["zone_car_park"].data["max_current"] == 32.0


# --- stations: the zone field -----------------------------------------------------------


async def test_station_zone_field(hass: HomeAssistant, port: int) -> None:
    """A station may belong to a zone; without zones the field is not shown."""
    entry = hub(hass, port, station_subentry())
    result = await start(hass, entry, "station")
    assert "zone" not in fields(result)

    entry = hub(
        hass,
        free_port(),
        station_subentry(),
        zone_subentry("Car park", subentry_id="z_park"),
        zone_subentry("Garage", subentry_id="z_garage"),
    )
    result = await start(hass, entry, "station")
    assert select_options(result, "zone") == [
        {"value": "z_park", "label": "Car park"},
        {"value": "z_garage", "label": "Garage"},
    ]
    result = await submit(hass, result, station_input("CP-2", zone="z_park"))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["zone"] == "z_park"
    assert "priority" not in result["data"]  # default 0 is not stored

    result = await start(hass, entry, "station")
    result = await submit(hass, result, station_input("CP-5", zone="z_park", priority=3.0))
    assert result["data"]["priority"] == 3

    # Not load-managed: no zone key at all.
    result = await submit(hass, await start(hass, entry, "station"), station_input("CP-3"))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert "zone" not in result["data"]

    # A zone removed while the form was open.
    result = await start(hass, entry, "station")
    hass.config_entries.async_remove_subentry(entry, "z_garage")
    result = await submit(hass, result, station_input("CP-4", zone="z_garage"))
    assert result["errors"] == {"zone": "unknown_zone"}


async def test_station_phase_switching(hass: HomeAssistant, port: int) -> None:
    """Phase switching is offered with the zone; it needs a three-phase station with one
    connector (the form says so), and is stored only when ticked."""
    entry = hub(hass, port, zone_subentry("Car park", subentry_id="z_park"))
    result = await start(hass, entry, "station")
    assert "phase_switching" in fields(result)
    for wrong in ({"phases": "l2"}, {"connectors": 2.0}):
        result = await submit(
            hass, result, station_input("CP-1", zone="z_park", phase_switching=True, **wrong)
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"phase_switching": "phase_switching_three_phase"}
    result = await submit(hass, result, station_input("CP-1", zone="z_park", phase_switching=True))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["phase_switching"] is True
    result = await submit(
        hass,
        await start(hass, entry, "station"),
        station_input("CP-2", zone="z_park", phase_switching=False),
    )
    assert "phase_switching" not in result["data"]


async def test_station_zone_reconfigure(hass: HomeAssistant, port: int) -> None:
    """Editing a station shows its zone; clearing it takes the station out of load management."""
    entry = hub(
        hass,
        port,
        station_subentry(zone="z_park"),
        zone_subentry("Car park", subentry_id="z_park"),
    )
    subentry_id = next(s for s in entry.subentries if s.startswith("sub_"))
    result = await reconfigure(hass, entry, subentry_id)
    assert suggested(result, "zone") == "z_park"
    station_id = entry.subentries[subentry_id].data["station_id"]
    result = await submit(hass, result, station_input(station_id))
    assert result["type"] is FlowResultType.ABORT
    assert "zone" not in entry.subentries[subentry_id].data

    result = await reconfigure(hass, entry, subentry_id)
    result = await submit(hass, result, station_input(station_id, zone="z_park"))
    assert result["type"] is FlowResultType.ABORT
    assert entry.subentries[subentry_id].data["zone"] == "z_park"


# --- translations ---------------------------------------------------------------------


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def test_translations_complete_and_consistent() -> None:
    """All languages have the same keys and placeholders; no markup; every flow key exists."""
    flat = {
        lang: _flatten(json.loads((TRANSLATIONS / f"{lang}.json").read_text(encoding="utf-8")))
        for lang in LANGUAGES
    }
    for lang in LANGUAGES[1:]:
        assert set(flat[lang]) == set(flat["en"]), lang
    placeholder = re.compile(r"\{(\w+)\}")
    for lang, strings in flat.items():
        for key, text in strings.items():
            assert "<" not in text, (lang, key)  # the frontend would read it as markup
            assert "'{" not in text, (lang, key)  # an apostrophe would quote the placeholder
            assert set(placeholder.findall(text)) == set(placeholder.findall(flat["en"][key])), (
                lang,
                key,
            )

    en = flat["en"]
    subentries = "config_subentries"
    expected = {
        "connection": {
            "step": ["user", "tcp", "rtu_over_tcp", "rtu", "reconfigure"],
            "error": [
                "name_required",
                "host_required",
                "serial_port_required",
                "invalid_connection",
                "already_configured",
                "cannot_connect",
            ],
            "abort": ["already_configured", "reconfigure_successful"],
        },
        "meter": {
            "step": ["user", "registers", "reconfigure"],
            "error": [
                "name_required",
                "unknown_connection",
                "already_configured",
                "cannot_read",
                "invalid_registers",
            ],
            "abort": [
                "no_connections",
                "unknown_connection",
                "already_configured",
                "reconfigure_successful",
            ],
        },
        "zone": {
            "step": ["user", "reconfigure"],
            "error": [
                "name_required",
                "already_configured",
                "unknown_meter",
                "unknown_zone",
                "consumption_meter_is_dlm",
                "parent_cycle",
                "failsafe_above_max",
            ],
            "abort": ["already_configured", "reconfigure_successful"],
        },
    }
    for kind, parts in expected.items():
        assert f"{subentries}.{kind}.initiate_flow.user" in en
        assert f"{subentries}.{kind}.entry_type" in en
        for step in parts["step"]:
            assert f"{subentries}.{kind}.step.{step}.title" in en, (kind, step)
        for part in ("error", "abort"):
            for key in parts[part]:
                assert f"{subentries}.{kind}.{part}.{key}" in en, (kind, part, key)
    for option in ("tcp", "rtu_over_tcp", "rtu"):
        assert f"{subentries}.connection.step.user.menu_options.{option}" in en
    assert en["config_subentries.station.error.unknown_zone"]
    for step in ("user", "reconfigure"):
        assert en[f"config_subentries.station.step.{step}.data.zone"]
    for key, model in MODELS.items():
        assert en[f"selector.meter_model.options.{key}"] == model.label
    assert en["selector.meter_model.options.custom"]
    assert {k for k in en if k.startswith("selector.meter_model.")} == {
        f"selector.meter_model.options.{key}" for key in [*MODELS, "custom"]
    }
    for selector_key, options in (
        ("parity", ("none", "even", "odd")),
        ("zone_phases", ("l1-l2-l3", "l1", "l2", "l3")),
    ):
        for option in options:
            assert en[f"selector.{selector_key}.options.{option}"], (selector_key, option)


async def test_tcp_connect_error_of_a_name_that_does_not_resolve() -> None:
    """A resolver failure (no errno of its own) is reported in the resolver's words.

    The tests cannot resolve names; an empty name fails in the resolver all the same."""
    reason = await tcp_connect_error("", free_port())
    assert reason
    assert "refused" not in reason.lower()
    assert "errno" not in reason.lower()


async def test_meter_reconfigure_to_custom_starts_an_empty_table(
    hass: HomeAssistant, port: int, sim: SimulatedMeter
) -> None:
    """A known-model meter switched to a custom table gets an empty table to fill in."""
    entry = hub(hass, port, gateway(sim), meter_subentry(unit=3))
    result = await reconfigure(hass, entry, "meter_commons")
    result = await submit(hass, result, meter_input("Commons", meter_model="custom"))
    assert result["step_id"] == "registers"
    assert suggested(result, "registers") is None
    result = await submit(hass, result, {"registers": CUSTOM_3P})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    data = entry.subentries["meter_commons"].data
    assert data["meter_model"] == "custom"
    assert set(data["registers"]) == set(CUSTOM_3P)
