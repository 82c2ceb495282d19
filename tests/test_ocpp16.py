"""OCPP 1.6J exactly: error codes, frames to ignore, stations that reconnect without
booting or answer loosely, charging profile forms, DataTransfer both ways.

Real websockets to the real server on 127.0.0.1: raw frames, or simulated stations.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
import json
import logging
from typing import Any

from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.messages import MessageType, get_validator
from ocpp.v16 import call
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from websockets.asyncio.client import ClientConnection, connect

from custom_components.charge_zones import stations as stations_module
from custom_components.charge_zones.central import connection as connection_module
from custom_components.charge_zones.central.connection import _schema_error
from custom_components.charge_zones.const import DOMAIN
from custom_components.charge_zones.stations import Station
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from simulator.charger import Car, SimulatedCharger
from simulator.station import StationBehaviour, StationClient

from .conftest import STATION_ID, ws_url
from .helpers import state_of, wait_until

SUB = f"sub_{STATION_ID}"
# Time to boot given to a station that connects (shortened: the tests wait for it).
GRACE = 0.3


@pytest.fixture(autouse=True)
def short_boot_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stations that do not boot are probed after GRACE rather than 5 s."""
    monkeypatch.setattr(stations_module, "BOOT_GRACE", GRACE)


def station_device(hass: HomeAssistant, entry: MockConfigEntry) -> dr.DeviceEntry:
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, SUB), entry.entry_id)
    assert device is not None
    return device


def runtime(entry: MockConfigEntry) -> Station:
    station = entry.runtime_data.station_by_id(STATION_ID)
    assert station is not None
    return station


async def raw_station(entry: MockConfigEntry) -> ClientConnection:
    return await connect(f"{ws_url(entry)}/{STATION_ID}", subprotocols=["ocpp1.6"])  # type: ignore[list-item]


async def heartbeat_reply(ws: ClientConnection, name: str) -> list[Any]:
    """Send a heartbeat; return the first frame that comes back (anything else is a reply
    to an earlier frame)."""
    await ws.send(json.dumps([2, name, "Heartbeat", {}]))
    return json.loads(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[no-any-return]


# --- error codes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "unique_id", "code"),
    [
        # Unreadable: OCPP 1.6J's FormationViolation (FormatViolation is OCPP 2.0's).
        ("this is not json", "-1", "FormationViolation"),
        ('[2, "e-1", "Heartbeat", {', "e-1", "FormationViolation"),
        ("[2, " * 5000 + "]" * 5000, "-1", "FormationViolation"),
        # A property the schema does not have: the structure is wrong.
        ('[2, "e-2", "Heartbeat", {"mood": "fine"}]', "e-2", "FormationViolation"),
        # A value outside its enumeration: a property constraint.
        (
            '[2, "e-3", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", '
            '"status": "Dancing"}]',
            "e-3",
            "PropertyConstraintViolation",
        ),
        (
            '[2, "e-4", "FirmwareStatusNotification", {"status": "Sleeping"}]',
            "e-4",
            "PropertyConstraintViolation",
        ),
        # An empty array where the schema says minItems 1: an occurrence constraint.
        (
            '[2, "e-5", "MeterValues", {"connectorId": 1, "meterValue": []}]',
            "e-5",
            "OccurenceConstraintViolation",
        ),
        (
            '[2, "e-6", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": '
            '"2026-11-24T10:00:00Z", "sampledValue": []}]}]',
            "e-6",
            "OccurenceConstraintViolation",
        ),
        # A required property missing: the payload is incomplete (ProtocolError).
        ('[2, "e-8", "DataTransfer", {"messageId": "x"}]', "e-8", "ProtocolError"),
        ('[2, "e-9", "StatusNotification", {"connectorId": 1}]', "e-9", "ProtocolError"),
        # A value of the wrong type.
        ('[2, "e-10", "Heartbeat", []]', "e-10", "TypeConstraintViolation"),
        (
            '[2, "e-11", "MeterValues", {"connectorId": 1, "meterValue": {}}]',
            "e-11",
            "TypeConstraintViolation",
        ),
        (
            '[2, "e-12", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": '
            '"2026-11-24T10:00:00Z", "sampledValue": "1"}]}]',
            "e-12",
            "TypeConstraintViolation",
        ),
    ],
)
async def test_ocpp16_error_codes(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, frame: str, unique_id: str, code: str
) -> None:
    """Every refusal uses an OCPP-J 1.6 error code, the one its fault calls for."""
    async with await raw_station(loaded_entry) as ws:
        await ws.send(frame)
        answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert answer[:3] == [4, unique_id, code]
        assert isinstance(answer[3], str)
        assert isinstance(answer[4], dict)
        assert (await heartbeat_reply(ws, "hb-after"))[:2] == [3, "hb-after"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"connectorId": 1, "meterValue": []}, "OccurenceConstraintViolation"),
        ({"connectorId": 1}, "ProtocolError"),
        ({"connectorId": "1", "meterValue": [{}]}, "TypeConstraintViolation"),
        (
            {
                "connectorId": 1,
                "meterValue": [
                    {"timestamp": "t", "sampledValue": [{"value": "1", "unit": "furlong"}]}
                ],
            },
            "PropertyConstraintViolation",
        ),
        (
            {
                "connectorId": 1,
                "colour": "red",
                "meterValue": [{"timestamp": "t", "sampledValue": [{"value": "1"}]}],
            },
            "FormationViolation",
        ),
    ],
)
def test_schema_violations_map_to_ocpp16_codes(payload: dict[str, Any], code: str) -> None:
    """Each kind of schema violation has its OCPP-J 1.6 code (section 4.2.3)."""
    validator = get_validator(MessageType.Call, "MeterValues", "1.6")
    error = next(iter(validator.iter_errors(payload)))
    assert _schema_error(error).code == code


@pytest.mark.parametrize(
    "frame",
    [
        '[9, "x-1", "Heartbeat", {}]',  # unknown MessageTypeId: ignored (OCPP-J 4.1.3)
        '[5, "x-2", {}]',
        '["2", "x-3", "Heartbeat", {}]',
        '[3, "x-4"]',  # a CALLRESULT without its payload
        '[3, "x-5", {}, "more"]',
        "[3]",
        '[4, "x-6", "GenericError"]',  # a CALLERROR without description and details
        "[4]",
    ],
)
async def test_frames_that_get_no_answer(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, frame: str
) -> None:
    """Unknown message types and malformed answers are not answered at all."""
    async with await raw_station(loaded_entry) as ws:
        await ws.send(frame)
        # The first frame back is the heartbeat's answer: nothing answered the frame.
        assert (await heartbeat_reply(ws, "hb-1"))[:2] == [3, "hb-1"]


@pytest.mark.parametrize("answer", ['[3, "{id}"]', '[4, "{id}", "GenericError"]', "[3]"])
async def test_malformed_answer_fails_the_pending_command_at_once(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    answer: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A command answered with a malformed frame fails then, not after its 30 s."""
    device = station_device(hass, loaded_entry)
    async with await raw_station(loaded_entry) as ws:
        await wait_until(hass, lambda: runtime(loaded_entry).connected)
        command = hass.async_create_task(
            hass.services.async_call(
                DOMAIN,
                "get_local_list_version",
                {"device_id": device.id},
                blocking=True,
                return_response=True,
            )
        )
        request = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert request[:3] == [2, request[1], "GetLocalListVersion"]
        await ws.send(answer.replace("{id}", request[1]))
        async with asyncio.timeout(5):  # the command would otherwise wait 30 s
            with pytest.raises(HomeAssistantError):
                await command
        # Nothing was sent back for the malformed frame; the station is still served.
        assert (await heartbeat_reply(ws, "hb-2"))[:2] == [3, "hb-2"]
    assert any("malformed" in r.getMessage() for r in caplog.records)


# --- a station that reconnects without booting -------------------------------------------


@pytest.fixture
async def quiet_charger(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> AsyncIterator[SimulatedCharger]:
    """A station that boots once and stays up across the hub's restarts, charging."""
    sim = SimulatedCharger(
        ws_url(loaded_entry), STATION_ID, tick=0.05, meter_interval=0.2, boot_on_reconnect=False
    )
    await sim.start()
    assert await sim.plug(Car(), "BADGE-ALICE")
    yield sim
    await sim.stop()


async def test_reconnect_without_boot_asks_for_the_connector_status(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, quiet_charger: SimulatedCharger
) -> None:
    """After a hub reload the station does not boot again: it is asked for its status."""
    await wait_until(
        hass, lambda: state_of(hass, "sensor", f"{SUB}_connector_1_status") == "charging"
    )
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    await wait_until(hass, lambda: runtime(loaded_entry).connected, within=10)
    assert quiet_charger.boots == 1
    await wait_until(
        hass,
        lambda: state_of(hass, "sensor", f"{SUB}_connector_1_status") == "charging",
        within=10,
    )
    assert quiet_charger.station is not None
    asked = [p for a, p in quiet_charger.station.received if a == "TriggerMessage"]
    assert {"requested_message": "StatusNotification", "connector_id": None} in asked
    # And it is configured on the new connection.
    await wait_until(hass, lambda: runtime(loaded_entry).ready, within=10)


async def test_station_booting_late_is_configured_at_once(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A station that answers nothing before its boot is not configured blind; its boot
    configuration does not wait behind commands sent before it."""
    client = StationClient(
        ws_url(loaded_entry), STATION_ID, StationBehaviour(answer_before_boot=False)
    )
    station = await client.connect()
    try:
        # The hub tries something once the grace is over; it goes unanswered.
        await wait_until(hass, lambda: bool(station.unanswered), within=10)
        assert "GetConfiguration" not in station.unanswered
        await station.boot()
        await wait_until(
            hass,
            lambda: (
                runtime(loaded_entry).ready
                and "ChargeProfileMaxStackLevel" in runtime(loaded_entry).configuration
            ),
            within=10,
        )
        assert runtime(loaded_entry).configuration_error is None
        assert [a for a, _ in station.received].count("GetConfiguration") == 1
    finally:
        await client.close()


async def test_silent_station_is_left_alone_until_it_boots(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A station that does not answer the probe gets nothing more until its boot."""
    monkeypatch.setattr(stations_module, "PROBE_WITHIN", 0.3)
    client = StationClient(
        ws_url(loaded_entry), STATION_ID, StationBehaviour(answer_before_boot=False)
    )
    station = await client.connect()
    try:
        await wait_until(hass, lambda: bool(station.unanswered), within=10)
        # Well past the probe's time: still only the probe, and not configured.
        await asyncio.sleep(1.0)
        assert station.unanswered == ["TriggerMessage"]
        assert not runtime(loaded_entry).ready
        await station.boot()
        await wait_until(hass, lambda: runtime(loaded_entry).ready, within=10)
        assert runtime(loaded_entry).configuration_error is None
    finally:
        await client.close()


async def test_station_refusing_the_probe_is_configured(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A station without TriggerMessage (it answers a CALLERROR) still answers: configured."""
    async with await raw_station(loaded_entry) as ws:
        probe = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert probe[2:] == ["TriggerMessage", {"requestedMessage": "StatusNotification"}]
        await ws.send(json.dumps([4, probe[1], "NotSupported", "", {}]))
        request = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert request[2] == "GetConfiguration"


async def test_booted_station_without_boot_notification_is_still_configured(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A station that answers but never sends BootNotification is configured anyway."""
    client = StationClient(ws_url(loaded_entry), STATION_ID)
    station = await client.connect()
    try:
        await wait_until(hass, lambda: runtime(loaded_entry).ready, within=10)
        actions = [a for a, _ in station.received]
        assert actions[0] == "TriggerMessage"
        assert "GetConfiguration" in actions
    finally:
        await client.close()


# --- lenient with what stations answer -----------------------------------------------


async def test_configuration_value_over_500_characters_is_accepted(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A vendor's over-long value (OCPP says at most 500) does not fail the boot read."""
    long_value = ",".join(["Core", "SmartCharging", "LocalAuthListManagement"] * 20)
    assert len(long_value) > 500
    behaviour = StationBehaviour(extra_configuration={"SupportedFeatureProfiles": long_value})
    caplog.set_level(logging.INFO)
    async with StationClient(ws_url(loaded_entry), STATION_ID, behaviour) as station:
        await station.boot()
        await wait_until(hass, lambda: runtime(loaded_entry).ready, within=10)
        station_runtime = runtime(loaded_entry)
        assert station_runtime.configuration_error is None
        assert station_runtime.configuration["SupportedFeatureProfiles"]["value"] == long_value
        assert station_runtime.configuration["ChargeProfileMaxStackLevel"]["value"] == "3"
    assert any(
        "OCPP 1.6" in r.getMessage() and "GetConfiguration" in r.getMessage()
        for r in caplog.records
    )


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ({"listVersion": "seven"}, "TypeConstraintViolation"),
        ({}, "ProtocolError"),
        ([7], "TypeConstraintViolation"),
    ],
)
async def test_answer_unusable_still_fails(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, answer: Any, code: str
) -> None:
    """Leniency stops where the answer cannot be used: a missing or mistyped field."""
    device = station_device(hass, loaded_entry)
    async with await raw_station(loaded_entry) as ws:
        await wait_until(hass, lambda: runtime(loaded_entry).connected)
        command = hass.async_create_task(
            hass.services.async_call(
                DOMAIN,
                "get_local_list_version",
                {"device_id": device.id},
                blocking=True,
                return_response=True,
            )
        )
        request = json.loads(await asyncio.wait_for(ws.recv(), 5))
        await ws.send(json.dumps([3, request[1], answer]))
        with pytest.raises(HomeAssistantError, match=f"not usable.*{code}"):
            await command


async def test_invalid_command_is_not_sent(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Strict with what is sent: a command outside OCPP 1.6 (a 60-character key) fails
    without reaching the station."""
    device = station_device(hass, loaded_entry)
    async with StationClient(ws_url(loaded_entry), STATION_ID) as station:
        await station.boot()
        await wait_until(hass, lambda: runtime(loaded_entry).ready, within=10)
        with pytest.raises(HomeAssistantError, match=r"not valid OCPP 1\.6"):
            await hass.services.async_call(
                DOMAIN,
                "change_configuration",
                {"device_id": device.id, "key": "K" * 60, "value": "1"},
                blocking=True,
                return_response=True,
            )
        # A round trip on the connection: anything sent before it has arrived.
        await station.heartbeat()
        assert "K" * 60 not in [p.get("key") for _a, p in station.received]


# --- charging profiles -------------------------------------------------------------------


async def test_absolute_profiles_carry_a_start_schedule(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """An Absolute profile says when its schedule starts (UTC, not after now)."""
    sim = SimulatedCharger(ws_url(loaded_entry), STATION_ID, tick=0.05, meter_interval=0.2)
    await sim.start()
    try:
        await wait_until(hass, lambda: 1 in sim.memory.profiles, within=10)
        profile = sim.memory.profiles[1]
        assert profile["charging_profile_kind"] == "Absolute"
        start = profile["charging_schedule"]["start_schedule"]
        assert start.endswith("Z")
        assert datetime.fromisoformat(start.replace("Z", "+00:00")) <= datetime.now(UTC)
    finally:
        await sim.stop()


async def test_station_rejecting_absolute_profiles_gets_relative_ones(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Wallbox: Absolute profiles are rejected, the limit goes out as a Relative one."""
    sim = SimulatedCharger(
        ws_url(loaded_entry),
        STATION_ID,
        tick=0.05,
        meter_interval=0.2,
        behaviour=StationBehaviour(reject_absolute=True),
    )
    await sim.start()
    try:
        assert await sim.plug(Car(max_current=32.0), "BADGE-ALICE")
        await wait_until(hass, lambda: 1 in sim.memory.profiles, within=10)
        profile = sim.memory.profiles[1]
        assert profile["charging_profile_kind"] == "Relative"
        assert "start_schedule" not in profile["charging_schedule"]
        station = runtime(loaded_entry)
        await wait_until(hass, lambda: station.limit_sent == 16.0)
        assert station.profile_error is None
        await wait_until(hass, lambda: sim.state.current == 16.0)
    finally:
        await sim.stop()


# --- DataTransfer -----------------------------------------------------------------------


async def test_data_transfer_action_returns_the_answer(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """charge_zones.data_transfer sends a DataTransfer and returns the station's answer."""
    device = station_device(hass, loaded_entry)
    behaviour = StationBehaviour(data_transfer_answer='{"mode": "eco"}')
    async with StationClient(ws_url(loaded_entry), STATION_ID, behaviour) as station:
        await station.boot()
        await wait_until(hass, lambda: runtime(loaded_entry).ready, within=10)
        response = await hass.services.async_call(
            DOMAIN,
            "data_transfer",
            {
                "device_id": device.id,
                "vendor_id": "com.example",
                "message_id": "GetMode",
                "data": "now",
            },
            blocking=True,
            return_response=True,
        )
        assert response == {"status": "Accepted", "data": '{"mode": "eco"}'}
        assert (
            "DataTransfer",
            {"vendor_id": "com.example", "message_id": "GetMode", "data": "now"},
        ) in station.received
        # Structured data goes out as JSON text.
        await hass.services.async_call(
            DOMAIN,
            "data_transfer",
            {"device_id": device.id, "vendor_id": "com.example", "data": {"a": 1}},
            blocking=True,
            return_response=True,
        )
        assert station.received[-1] == (
            "DataTransfer",
            {"vendor_id": "com.example", "data": '{"a": 1}'},
        )


async def test_incoming_data_transfer_fires_an_event(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A DataTransfer from a station reaches automations as an event."""
    events = async_capture_events(hass, "charge_zones_data_transfer")
    device = station_device(hass, loaded_entry)
    async with await raw_station(loaded_entry) as ws:
        await ws.send(
            json.dumps(
                [
                    2,
                    "dt-1",
                    "DataTransfer",
                    {"vendorId": "com.example", "messageId": "Temp", "data": "41.5"},
                ]
            )
        )
        answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert answer == [3, "dt-1", {"status": "UnknownVendorId"}]
    await hass.async_block_till_done()
    assert len(events) == 1
    assert events[0].data == {
        "entry_id": loaded_entry.entry_id,
        "station_id": STATION_ID,
        "device_id": device.id,
        "vendor_id": "com.example",
        "message_id": "Temp",
        "data": "41.5",
    }


@pytest.mark.parametrize(
    "command",
    [
        call.SendLocalList(
            list_version=3,
            update_type="Differential",
            local_authorization_list=[
                {"id_tag": "A", "id_tag_info": {"status": "Accepted", "parent_id_tag": "G"}},
                {"id_tag": "B", "id_tag_info": {"status": "Expired", "expiry_date": None}},
                {"id_tag": "C"},
            ],
        ),
        call.SetChargingProfile(
            connector_id=0,
            cs_charging_profiles={
                "charging_profile_id": 1,
                "stack_level": 2,
                "charging_profile_purpose": "TxDefaultProfile",
                "charging_profile_kind": "Relative",
                "valid_to": None,
                "charging_schedule": {
                    "charging_rate_unit": "A",
                    "charging_schedule_period": [
                        {"start_period": 0, "limit": 16.0, "number_phases": 3}
                    ],
                },
            },
        ),
        call.GetConfiguration(key=["HeartbeatInterval"]),
        call.GetConfiguration(),
        call.RemoteStartTransaction(id_tag="X", connector_id=None),
        call.GetCompositeSchedule(connector_id=1, duration=3600, charging_rate_unit="A"),
        call.DataTransfer(vendor_id="v", message_id=None, data="d"),
    ],
)
def test_commands_are_written_as_the_library_writes_them(command: Any) -> None:
    """Our own writer of commands (no deep copies) gives what the library would send."""
    library = remove_nones(snake_to_camel_case(serialize_as_dict(command)))
    assert connection_module._wire(command) == library
