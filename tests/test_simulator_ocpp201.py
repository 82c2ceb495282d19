"""The simulated OCPP 2.0.1 station, driven by the `ocpp` library's own v201 central system
over a real websocket: what the station sends and holds is what OCPP 2.0.1 says, not what
Charge Zones expects (its 2.0.1 adapter is tested against this station later)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
import pytest
from websockets.asyncio.server import ServerConnection, serve

from simulator.station201 import SUBPROTOCOL, Station201Client, Station201State, held_limit

from .conftest import free_port


class LibraryCentralSystem(ChargePoint):  # type: ignore[misc]
    """The library's v201 central system: records what arrives, answers Accepted."""

    def __init__(self, station_id: str, connection: ServerConnection) -> None:
        super().__init__(station_id, connection)
        self.events: list[dict[str, Any]] = []
        self.boots: list[dict[str, Any]] = []
        self.reports: list[dict[str, Any]] = []
        self.statuses: list[tuple[int, int, str]] = []

    @on(Action.boot_notification)  # type: ignore[untyped-decorator]
    def boot(self, charging_station: dict[str, Any], reason: str, **_: Any) -> Any:
        self.boots.append({"charging_station": charging_station, "reason": reason})
        return call_result.BootNotification(
            current_time=datetime.now(UTC).isoformat(), interval=60, status="Accepted"
        )

    @on(Action.status_notification)  # type: ignore[untyped-decorator]
    def status(self, evse_id: int, connector_id: int, connector_status: str, **_: Any) -> Any:
        self.statuses.append((evse_id, connector_id, connector_status))
        return call_result.StatusNotification()

    @on(Action.authorize)  # type: ignore[untyped-decorator]
    def authorize(self, id_token: dict[str, Any], **_: Any) -> Any:
        status = "Accepted" if id_token["id_token"] == "BADGE-ALICE" else "Invalid"
        return call_result.Authorize(id_token_info={"status": status})

    @on(Action.transaction_event)  # type: ignore[untyped-decorator]
    def transaction_event(self, **payload: Any) -> Any:
        self.events.append(payload)
        return call_result.TransactionEvent(id_token_info={"status": "Accepted"})

    @on(Action.notify_report)  # type: ignore[untyped-decorator]
    def notify_report(self, **payload: Any) -> Any:
        self.reports.append(payload)
        return call_result.NotifyReport()


@pytest.fixture
async def central() -> AsyncIterator[tuple[str, dict[str, LibraryCentralSystem]]]:
    """A bare v201 central system of the library on 127.0.0.1."""
    systems: dict[str, LibraryCentralSystem] = {}

    async def handler(connection: ServerConnection) -> None:
        assert connection.request is not None
        station_id = connection.request.path.strip("/")
        system = LibraryCentralSystem(station_id, connection)
        systems[station_id] = system
        try:
            await system.start()
        except Exception:
            return

    port = free_port()
    async with serve(handler, "127.0.0.1", port, subprotocols=[SUBPROTOCOL]):  # type: ignore[list-item]
        yield f"ws://127.0.0.1:{port}", systems


async def _until(predicate: Any, within: float = 5.0) -> None:
    for _ in range(int(within / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in time")


async def test_a_session_with_a_limit_and_events_queued_offline(
    central: tuple[str, dict[str, LibraryCentralSystem]],
) -> None:
    """Boot, a badge, a transaction the station numbers itself, a limit per EVSE that the
    station applies, a connection lost mid-session: the events made meanwhile are sent
    after the reconnect, in order, flagged offline, their seqNo following on."""
    url, systems = central
    state = Station201State()
    client = Station201Client(url, "SIM-201", state=state)
    station = await client.connect()
    system = systems["SIM-201"]
    assert system.boots[0]["charging_station"]["model"] == "SimCharger201"
    await station.status(1, 1, "Occupied")
    assert system.statuses == [(1, 1, "Occupied")]
    assert (await station.authorize("BADGE-ALICE")).id_token_info["status"] == "Accepted"
    assert (await station.authorize("NOBODY")).id_token_info["status"] == "Invalid"

    tx, answer = await client.start("BADGE-ALICE", 10_000)
    assert answer.id_token_info["status"] == "Accepted"
    # The central system limits EVSE 1 (an Absolute profile needs its startSchedule).
    profile = {
        "id": 11,
        "stack_level": 1,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": [
            {
                "id": 1,
                "start_schedule": datetime.now(UTC).isoformat(),
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": 10.0}],
            }
        ],
    }
    result = await system.call(call.SetChargingProfile(evse_id=1, charging_profile=profile))
    assert result.status == "Accepted"
    without_start = {
        **profile,
        "id": 12,
        "charging_schedule": [
            {k: v for k, v in profile["charging_schedule"][0].items() if k != "start_schedule"}
        ],
    }
    result = await system.call(call.SetChargingProfile(evse_id=1, charging_profile=without_start))
    assert result.status == "Rejected"
    assert held_limit(state, 1) == 10.0
    schedule = await system.call(call.GetCompositeSchedule(duration=3600, evse_id=1))
    assert schedule.schedule["charging_schedule_period"][0]["limit"] == 10.0

    await client.event("Updated", "MeterValuePeriodic", tx, energy_wh=10_500, current=10.0)
    await client.close()  # the link drops mid-session
    await client.event("Updated", "MeterValuePeriodic", tx, energy_wh=11_000, current=10.0)
    await client.event(
        "Ended", "EVCommunicationLost", tx, energy_wh=11_200, stopped_reason="EVDisconnected"
    )
    assert [e["seq_no"] for e in state.queue] == [2, 3]
    await client.connect()
    await _until(lambda: len(systems["SIM-201"].events) == 2)
    replayed = systems["SIM-201"].events
    assert [(e["event_type"], e["seq_no"], e.get("offline")) for e in replayed] == [
        ("Updated", 2, True),
        ("Ended", 3, True),
    ]
    assert {e["transaction_info"]["transaction_id"] for e in [*system.events, *replayed]} == {tx}
    assert replayed[-1]["meter_value"][0]["sampled_value"][0]["value"] == 11_200
    assert not state.queue
    await client.close()


async def test_device_model_local_list_and_profiles_survive_a_reconnect(
    central: tuple[str, dict[str, LibraryCentralSystem]],
) -> None:
    """Variables (the password write-only), the local list and the profiles are the
    station's: they survive a reconnect; an expired profile no longer limits; a base
    report tells the device model."""
    url, systems = central
    client = Station201Client(url, "SIM-202")
    await client.connect()
    system = systems["SIM-202"]
    got = await system.call(
        call.GetVariables(
            get_variable_data=[
                {
                    "component": {"name": "SmartChargingCtrlr"},
                    "variable": {"name": "ProfileStackLevel"},
                },
                {"component": {"name": "Nowhere"}, "variable": {"name": "Nothing"}},
            ]
        )
    )
    assert [r["attribute_status"] for r in got.get_variable_result] == [
        "Accepted",
        "UnknownVariable",
    ]
    password = {
        "component": {"name": "SecurityCtrlr"},
        "variable": {"name": "BasicAuthPassword"},
        "attribute_value": "s3cret-0123456789",
    }
    result = await system.call(call.SetVariables(set_variable_data=[password]))
    assert result.set_variable_result[0]["attribute_status"] == "Accepted"
    entry = {"id_token": {"id_token": "BADGE-ALICE", "type": "ISO14443"}}
    result = await system.call(
        call.SendLocalList(
            version_number=3,
            update_type="Full",
            local_authorization_list=[{**entry, "id_token_info": {"status": "Accepted"}}],
        )
    )
    assert result.status == "Accepted"
    expired = {
        "id": 21,
        "stack_level": 2,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Relative",
        "valid_to": (datetime.now(UTC) + timedelta(seconds=30)).isoformat(),
        "charging_schedule": [
            {
                "id": 1,
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": 8.0}],
            }
        ],
    }
    failsafe = {**expired, "id": 20, "stack_level": 0}
    del failsafe["valid_to"]
    failsafe["charging_schedule"] = [
        {
            **expired["charging_schedule"][0],
            "charging_schedule_period": [{"start_period": 0, "limit": 6.0}],
        }
    ]
    for sent in (failsafe, expired):
        result = await system.call(call.SetChargingProfile(evse_id=0, charging_profile=sent))
        assert result.status == "Accepted"
    await client.close()
    await client.connect()
    system = systems["SIM-202"]
    assert (await system.call(call.GetLocalListVersion())).version_number == 3
    got = await system.call(
        call.GetVariables(
            get_variable_data=[
                {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}
            ]
        )
    )
    assert got.get_variable_result[0]["attribute_status"] == "Rejected"  # write-only
    assert held_limit(client.state, 1) == 8.0
    assert held_limit(client.state, 1, now=datetime.now(UTC) + timedelta(minutes=1)) == 6.0
    result = await system.call(call.GetBaseReport(request_id=7, report_base="FullInventory"))
    assert result.status == "Accepted"
    await _until(lambda: bool(system.reports))
    reported = {
        f"{d['component']['name']}.{d['variable']['name']}"
        for d in system.reports[0]["report_data"]
    }
    assert "SmartChargingCtrlr.ProfileStackLevel" in reported
    assert "SecurityCtrlr.BasicAuthPassword" not in reported
    await client.close()
