"""Handshake refusals and malformed frames, over real websockets."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from custom_components.charge_zones.central.connection import _wired_list
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .conftest import STATION_ID, ws_url
from .helpers import state_of, wait_until

SUB = f"sub_{STATION_ID}"


async def _exchange(ws: ClientConnection, frame: str) -> list[Any]:
    await ws.send(frame)
    return json.loads(await ws.recv())  # type: ignore[no-any-return]


async def test_unknown_station_refused_and_reported(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """An id that is not configured gets 404 and a repair issue naming it."""
    with pytest.raises(InvalidStatus) as err:
        await connect(f"{ws_url(loaded_entry)}/STRANGER-1", subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    assert err.value.response.status_code == 404
    assert b"STRANGER-1" in err.value.response.body
    await hass.async_block_till_done()
    issue = ir.async_get(hass).async_get_issue(
        "charge_zones", f"unknown_station_{loaded_entry.entry_id}_STRANGER-1"
    )
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["station_id"] == "STRANGER-1"
    hub_sensor = hass.states.get(
        "sensor.charge_zones_port_" + str(loaded_entry.data["port"]) + "_connected_stations"
    )
    assert hub_sensor is not None
    assert hub_sensor.attributes["unknown_stations"] == ["STRANGER-1"]


@pytest.mark.parametrize("subprotocols", [None, ["ocpp2.0.1"]])
async def test_wrong_subprotocol_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, subprotocols: list[str] | None
) -> None:
    """A client that does not offer ocpp1.6 gets a clear 400."""
    with pytest.raises(InvalidStatus) as err:
        await connect(f"{ws_url(loaded_entry)}/{STATION_ID}", subprotocols=subprotocols)  # type: ignore[arg-type]
    assert err.value.response.status_code == 400
    assert b"ocpp1.6" in err.value.response.body


async def test_no_station_id_refused(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """A URL without a station id is refused."""
    with pytest.raises(InvalidStatus) as err:
        await connect(f"{ws_url(loaded_entry)}/", subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    assert err.value.response.status_code == 404


@pytest.mark.parametrize(
    ("frame", "unique_id", "code"),
    [
        ("this is not json", "-1", "FormationViolation"),
        ('[2, "abc-1", "Heartbeat", {', "abc-1", "FormationViolation"),
        ('{"not": "a list"}', "-1", "ProtocolError"),
        ('[2, "abc-2"]', "abc-2", "ProtocolError"),
        ('[2, "abc-4", "MakeCoffee", {}]', "abc-4", "NotImplemented"),
        ('[2, "abc-9", "SignCertificate", {"csr": "x"}]', "abc-9", "NotSupported"),
        ('[2, "abc-5", "Authorize", {"idTag": 12}]', "abc-5", "TypeConstraintViolation"),
        ('[2, "abc-6", "Authorize", {}]', "abc-6", "ProtocolError"),
        (
            '[2, "abc-7", "StartTransaction", {"connectorId": 1, "idTag": "X", '
            '"meterStart": 0, "timestamp": "yesterday"}]',
            "abc-7",
            "FormationViolation",
        ),
        (
            '[2, "abc-8", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": '
            '"2026-11-24T10:00:00Z", "sampledValue": [{"value": "lots"}]}]}]',
            "abc-8",
            "FormationViolation",
        ),
        (
            '[2, "mv-1", "MeterValues", {"connectorId": "1", "meterValue": [{"timestamp": '
            '"2026-11-24T10:00:00Z", "sampledValue": [{"value": "1"}]}]}]',
            "mv-1",
            "TypeConstraintViolation",
        ),
        ('[2, "mv-2", "MeterValues", {"connectorId": 1}]', "mv-2", "ProtocolError"),
        (
            '[2, "mv-3", "MeterValues", {"connectorId": 1, "meterValue": [], "x": 1}]',
            "mv-3",
            "FormationViolation",
        ),
        (
            '[2, "mv-4", "MeterValues", {"connectorId": 1, "meterValue": []}]',
            "mv-4",
            "OccurenceConstraintViolation",
        ),
        (
            '[2, "mv-5", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": '
            '"2026-11-24T10:00:00Z", "sampledValue": [{"value": 12}]}]}]',
            "mv-5",
            "TypeConstraintViolation",
        ),
        (
            '[2, "mv-6", "MeterValues", {"connectorId": true, "meterValue": [{"timestamp": '
            '"2026-11-24T10:00:00Z", "sampledValue": [{"value": "1"}]}]}]',
            "mv-6",
            "TypeConstraintViolation",
        ),
        (
            '[2, "mv-7", "MeterValues", {"connectorId": 1, "transactionId": "t", "meterValue": '
            '[{"timestamp": "2026-11-24T10:00:00Z", "sampledValue": [{"value": "1"}]}]}]',
            "mv-7",
            "TypeConstraintViolation",
        ),
        (
            '[2, "mv-8", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": '
            '"2026-11-24T10:00:00Z", "sampledValue": [{"value": "1", "colour": "red"}]}]}]',
            "mv-8",
            "FormationViolation",
        ),
        (
            '[2, "mv-9", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": 5, '
            '"sampledValue": [{"value": "1"}]}]}]',
            "mv-9",
            "TypeConstraintViolation",
        ),
        (
            '[2, "mv-10", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": '
            '"2026-11-24T10:00:00Z", "sampledValue": []}]}]',
            "mv-10",
            "OccurenceConstraintViolation",
        ),
        (
            '[2, "mv-11", "MeterValues", {"connectorId": 1, "meterValue": ["x"]}]',
            "mv-11",
            "FormationViolation",
        ),
        (
            '[2, "mv-12", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": '
            '"2026-11-24T10:00:00Z", "sampledValue": ["x"]}]}]',
            "mv-12",
            "FormationViolation",
        ),
    ],
)
async def test_malformed_frames_get_callerror_and_connection_stays(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    frame: str,
    unique_id: str,
    code: str,
) -> None:
    """Bad JSON, unknown actions and schema violations: the proper CALLERROR, no disconnect."""
    async with connect(f"{ws_url(loaded_entry)}/{STATION_ID}", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        answer = await _exchange(ws, frame)
        assert answer[0] == 4
        assert answer[1] == unique_id
        assert answer[2] == code
        # Still connected and served.
        answer = await _exchange(ws, '[2, "hb-1", "Heartbeat", {}]')
        assert answer[0] == 3
        assert answer[1] == "hb-1"
        assert "currentTime" in answer[2]
        await hass.async_block_till_done()
        assert state_of(hass, "binary_sensor", f"{SUB}_connected") == "on"


async def test_second_connection_replaces_first(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A station reconnecting while its old socket lingers takes over cleanly."""
    url = f"{ws_url(loaded_entry)}/{STATION_ID}"
    first = await connect(url, subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    second = await connect(url, subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    await first.wait_closed()
    answer = await _exchange(second, '[2, "hb-2", "Heartbeat", {}]')
    assert answer[1] == "hb-2"
    site = loaded_entry.runtime_data
    await wait_until(hass, lambda: site.station_by_id(STATION_ID).connected)  # type: ignore[union-attr]
    await second.close()
    await wait_until(hass, lambda: not site.station_by_id(STATION_ID).connected)  # type: ignore[union-attr]


async def test_data_transfer_and_notifications(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """DataTransfer is answered UnknownVendorId; firmware and diagnostics statuses are kept."""
    async with connect(f"{ws_url(loaded_entry)}/{STATION_ID}", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        answer = await _exchange(
            ws, '[2, "d-1", "DataTransfer", {"vendorId": "com.example", "messageId": "x"}]'
        )
        assert answer[2] == {"status": "UnknownVendorId"}
        answer = await _exchange(
            ws, '[2, "f-1", "FirmwareStatusNotification", {"status": "Downloading"}]'
        )
        assert answer[0] == 3
        answer = await _exchange(
            ws, '[2, "g-1", "DiagnosticsStatusNotification", {"status": "Uploaded"}]'
        )
        assert answer[0] == 3
        station = loaded_entry.runtime_data.station_by_id(STATION_ID)
        assert station is not None
        assert station.firmware_status == "Downloading"
        assert station.diagnostics_status == "Uploaded"


async def test_removing_the_hub_forgets_its_repairs(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Unknown-station repairs of a removed hub go with it."""
    with pytest.raises(InvalidStatus):
        await connect(f"{ws_url(loaded_entry)}/STRANGER-9", subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    await hass.async_block_till_done()
    assert [i for (d, i) in ir.async_get(hass).issues if d == "charge_zones"]
    assert await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert not [i for (d, i) in ir.async_get(hass).issues if d == "charge_zones"]


async def test_unsolicited_results_are_dropped(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """CALLRESULT/CALLERROR frames answering nothing are dropped, not queued forever,
    and the connection keeps working."""
    site = loaded_entry.runtime_data
    async with connect(f"{ws_url(loaded_entry)}/{STATION_ID}", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        await wait_until(hass, lambda: STATION_ID in site.links.connections)
        connection = site.links.connections[STATION_ID]
        for index in range(50):
            await ws.send(json.dumps([3, f"stray-{index}", {}]))
            await ws.send(json.dumps([4, f"stray-err-{index}", "GenericError", "", {}]))
        await ws.send(json.dumps([2, "hb-1", "Heartbeat", {}]))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert reply[:2] == [3, "hb-1"]
        assert connection._response_queue.qsize() == 0


async def test_frame_log_on_demand(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """The frames logger at INFO logs every frame received and sent."""
    logger = "custom_components.charge_zones.central.connection.frames"
    async with connect(f"{ws_url(loaded_entry)}/{STATION_ID}", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        caplog.set_level(logging.INFO, logger=logger)
        await ws.send(json.dumps([2, "loud-1", "Heartbeat", {}]))
        await asyncio.wait_for(ws.recv(), 5)
        meter = {"connectorId": 1, "meterValue": [sample_set()]}
        await ws.send(json.dumps([2, "loud-2", "MeterValues", meter]))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == [3, "loud-2", {}]
    received = [r.getMessage() for r in caplog.records if "receive message" in r.getMessage()]
    sent = [r.getMessage() for r in caplog.records if ": send " in r.getMessage()]
    assert any("loud-1" in m for m in received)
    assert any("loud-2" in m for m in received)
    assert any("loud-1" in m for m in sent)
    assert any("loud-2" in m for m in sent)


def sample_set() -> dict[str, Any]:
    """One meterValue entry with an energy register."""
    return {
        "timestamp": "2026-11-24T08:00:00Z",
        "sampledValue": [{"value": "1000", "measurand": "Energy.Active.Import.Register"}],
    }


def test_a_badge_list_is_wired_once_and_never_mistaken_for_another() -> None:
    """The badge list goes to every station in wire form made once per list; a new list
    (even one whose entries land where a freed list's were in memory) is wired anew."""
    entries = [
        {"id_tag": f"T{i}", "id_tag_info": {"status": "Accepted", "parent_id_tag": None}}
        for i in range(3)
    ]
    wired = _wired_list(entries)
    assert wired == [{"idTag": f"T{i}", "idTagInfo": {"status": "Accepted"}} for i in range(3)]
    assert _wired_list(list(entries)) is wired  # the same entries: the same wire form
    assert _wired_list(entries[:2]) == wired[:2]
    for n in range(200):
        fresh = [{"id_tag": f"R{n}-{i}", "id_tag_info": {"status": "Blocked"}} for i in range(2)]
        assert _wired_list(fresh) == [
            {"idTag": f"R{n}-{i}", "idTagInfo": {"status": "Blocked"}} for i in range(2)
        ]
        del fresh
