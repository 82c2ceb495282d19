"""A simulated OCPP 2.0.1 charging station, built on the `ocpp` library's client side.

The 2.0.1 counterpart of ``station.py``: it connects over a real websocket (subprotocol
``ocpp2.0.1``), answers the commands a central system sends, keeps what it is given
across reconnects (its device model variables, charging profiles per EVSE, local list,
authorization cache) and records every command received (``received``).

What differs from 1.6 and is simulated as real stations do it:

- the station makes its transaction ids (text) and numbers each transaction's events
  (``seqNo``, from 0);
- a transaction's events made while the central system is unreachable are queued and sent
  after the reconnect, in order, flagged ``offline`` (``Station201State.queue``);
- limits are per EVSE (EVSE 0: the whole station), a ChargingStationMaxProfile caps the
  station, the highest stack level of the TxProfile / TxDefaultProfile of an EVSE (or of
  EVSE 0) wins, ``validTo`` is honoured (``held_limit``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
import uuid

from ocpp.routing import on as _on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from websockets.asyncio.client import ClientConnection, connect

from .station import basic_auth, close_link

SUBPROTOCOL = "ocpp2.0.1"
VOLTAGE = 230.0


def on[F: Callable[..., Any]](action: str) -> Callable[[F], F]:
    """Typed `ocpp.routing.on`."""
    return cast(Callable[[F], F], _on(action))


def now_iso() -> str:
    """Current time as an OCPP timestamp."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def default_variables(evses: int = 1) -> dict[str, str]:
    """The device model variables a simulated station starts with ("Component.Variable")."""
    return {
        "OCPPCommCtrlr.HeartbeatInterval": "60",
        "SampledDataCtrlr.TxUpdatedInterval": "60",
        "SampledDataCtrlr.TxUpdatedMeasurands": "Energy.Active.Import.Register,Current.Import",
        "SmartChargingCtrlr.ProfileStackLevel": "3",
        "SmartChargingCtrlr.RateUnit": "A",
        "SmartChargingCtrlr.PeriodsPerSchedule": "24",
        "LocalAuthListCtrlr.Enabled": "true",
        "LocalAuthListCtrlr.ItemsPerMessage": "100",
        "LocalAuthListCtrlr.Entries": "0",
        "AuthCacheCtrlr.Enabled": "true",
        "EVSE.Count": str(evses),
    }


@dataclass
class Station201State:
    """What the station holds, across its connections (give every one the same)."""

    variables: dict[str, str] = field(default_factory=default_variables)
    # Write-only variables (never read back), e.g. SecurityCtrlr.BasicAuthPassword.
    secrets: dict[str, str] = field(default_factory=dict)
    # Installed charging profiles by id: (EVSE id, the profile as received).
    profiles: dict[int, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    local_list_version: int = 0
    local_list: dict[str, dict[str, Any]] = field(default_factory=dict)
    auth_cache: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Availability per EVSE (0: the station).
    availability: dict[int, str] = field(default_factory=dict)
    # TransactionEvents not sent yet (made while offline), oldest first.
    queue: list[dict[str, Any]] = field(default_factory=list)
    # The next seqNo of each transaction.
    seq_no: dict[str, int] = field(default_factory=dict)


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _first_period(profile: dict[str, Any], phases: int) -> tuple[float, int | None]:
    """The limit (A per phase) and numberPhases of a profile's first period."""
    schedule = profile["charging_schedule"][0]
    period = schedule["charging_schedule_period"][0]
    limit = float(period["limit"])
    number = period.get("number_phases")
    if schedule["charging_rate_unit"] == "W":
        limit = limit / (VOLTAGE * max(1, number or phases))
    return limit, number


def held_limit(
    state: Station201State, evse_id: int, phases: int = 3, now: datetime | None = None
) -> float | None:
    """The limit (A per phase) the profiles held put on an EVSE at `now` (None: none).

    A ChargingStationMaxProfile caps the station; among TxProfile / TxDefaultProfile, one
    for this EVSE beats one for EVSE 0, then the highest stack level wins. Profiles
    outside validFrom / validTo are ignored.
    """
    now = now or datetime.now(UTC)
    cap: float | None = None
    best: tuple[int, int, float] | None = None
    for on_evse, profile in state.profiles.values():
        if (start := profile.get("valid_from")) and now < _parse_time(start):
            continue
        if (end := profile.get("valid_to")) and now >= _parse_time(end):
            continue
        limit, _phases = _first_period(profile, phases)
        if profile["charging_profile_purpose"] == "ChargingStationMaxProfile":
            cap = limit if cap is None else min(cap, limit)
        elif on_evse in (0, evse_id):
            rank = (1 if on_evse == evse_id else 0, int(profile["stack_level"]), limit)
            if best is None or rank[:2] > best[:2]:
                best = rank
    limits = [v for v in (cap, best[2] if best else None) if v is not None]
    return min(limits) if limits else None


class SimulatedStation201(ChargePoint):  # type: ignore[misc]
    """The station side of an OCPP 2.0.1 connection.

    state: what the station holds; give every connection of one station the same.
    """

    def __init__(
        self,
        station_id: str,
        connection: ClientConnection,
        state: Station201State | None = None,
        *,
        reject_profiles: bool = False,
    ) -> None:
        super().__init__(station_id, connection)
        self.state = state or Station201State()
        self.reject_profiles = reject_profiles
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.reports: list[dict[str, Any]] = []  # NotifyReport payloads sent
        self._report_tasks: set[asyncio.Task[None]] = set()

    # --- messages from the station -----------------------------------------------

    async def boot(
        self, vendor: str = "Simulated", model: str = "SimCharger201", reason: str = "PowerUp"
    ) -> Any:
        """BootNotification."""
        return await self.call(
            call.BootNotification(
                charging_station={
                    "vendor_name": vendor,
                    "model": model,
                    "serial_number": f"SN-{self.id}",
                    "firmware_version": "2.0.1-sim",
                },
                reason=reason,
            )
        )

    async def heartbeat(self) -> Any:
        """Heartbeat."""
        return await self.call(call.Heartbeat())

    async def status(self, evse_id: int, connector_id: int, status: str) -> Any:
        """StatusNotification of one connector of one EVSE."""
        return await self.call(
            call.StatusNotification(
                timestamp=now_iso(),
                connector_status=status,
                evse_id=evse_id,
                connector_id=connector_id,
            )
        )

    async def authorize(self, id_token: str, kind: str = "ISO14443") -> Any:
        """Authorize an id token."""
        return await self.call(call.Authorize(id_token={"id_token": id_token, "type": kind}))

    async def send_event(self, payload: dict[str, Any]) -> Any:
        """Send a TransactionEvent (its seqNo given by `transaction_event`)."""
        return await self.call(call.TransactionEvent(**payload))

    async def replay(self) -> list[Any]:
        """Send the events queued while offline, oldest first; answers in order."""
        answers = []
        while self.state.queue:
            answers.append(await self.send_event(self.state.queue[0]))
            self.state.queue.pop(0)
        return answers

    # --- commands from the central system ----------------------------------------

    def _got(self, action: str, payload: dict[str, Any]) -> None:
        self.received.append((action, payload))

    @on(Action.set_charging_profile)
    def _set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any]) -> Any:
        self._got("SetChargingProfile", {"evse_id": evse_id, "charging_profile": charging_profile})
        top = int(self.state.variables["SmartChargingCtrlr.ProfileStackLevel"])
        if self.reject_profiles or int(charging_profile["stack_level"]) > top:
            return call_result.SetChargingProfile(status="Rejected")
        purpose = charging_profile["charging_profile_purpose"]
        if purpose == "ChargingStationMaxProfile" and evse_id != 0:
            return call_result.SetChargingProfile(status="Rejected")
        if charging_profile["charging_profile_kind"] == "Absolute" and not all(
            s.get("start_schedule") for s in charging_profile["charging_schedule"]
        ):
            # 2.0.1 requires a startSchedule for an Absolute profile.
            return call_result.SetChargingProfile(status="Rejected")
        # A profile replaces the one with its id, and the one of the same purpose and stack
        # level on that EVSE.
        for profile_id, (on_evse, held) in list(self.state.profiles.items()):
            if (
                on_evse == evse_id
                and held["charging_profile_purpose"] == purpose
                and held["stack_level"] == charging_profile["stack_level"]
            ):
                del self.state.profiles[profile_id]
        self.state.profiles[int(charging_profile["id"])] = (evse_id, charging_profile)
        return call_result.SetChargingProfile(status="Accepted")

    @on(Action.clear_charging_profile)
    def _clear_charging_profile(
        self,
        charging_profile_id: int | None = None,
        charging_profile_criteria: dict[str, Any] | None = None,
    ) -> Any:
        self._got(
            "ClearChargingProfile",
            {
                "charging_profile_id": charging_profile_id,
                "charging_profile_criteria": charging_profile_criteria,
            },
        )
        criteria = charging_profile_criteria or {}
        cleared = False
        for profile_id, (on_evse, held) in list(self.state.profiles.items()):
            if charging_profile_id is not None and profile_id != charging_profile_id:
                continue
            if "evse_id" in criteria and criteria["evse_id"] != on_evse:
                continue
            purpose = criteria.get("charging_profile_purpose")
            if purpose is not None and held["charging_profile_purpose"] != purpose:
                continue
            level = criteria.get("stack_level")
            if level is not None and held["stack_level"] != level:
                continue
            del self.state.profiles[profile_id]
            cleared = True
        return call_result.ClearChargingProfile(status="Accepted" if cleared else "Unknown")

    @on(Action.get_composite_schedule)
    def _get_composite_schedule(
        self, duration: int, evse_id: int, charging_rate_unit: str | None = None
    ) -> Any:
        self._got("GetCompositeSchedule", {"duration": duration, "evse_id": evse_id})
        limit = held_limit(self.state, evse_id)
        if limit is None:
            return call_result.GetCompositeSchedule(status="Rejected")
        return call_result.GetCompositeSchedule(
            status="Accepted",
            schedule={
                "evse_id": evse_id,
                "duration": duration,
                "schedule_start": now_iso(),
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": limit}],
            },
        )

    @on(Action.get_variables)
    def _get_variables(self, get_variable_data: list[dict[str, Any]]) -> Any:
        self._got("GetVariables", {"get_variable_data": get_variable_data})
        results = []
        for item in get_variable_data:
            name = f"{item['component']['name']}.{item['variable']['name']}"
            entry: dict[str, Any] = {
                "component": item["component"],
                "variable": item["variable"],
            }
            if name in self.state.variables:
                entry |= {
                    "attribute_status": "Accepted",
                    "attribute_value": self.state.variables[name],
                }
            elif name in self.state.secrets:
                entry["attribute_status"] = "Rejected"  # write-only
            else:
                entry["attribute_status"] = "UnknownVariable"
            results.append(entry)
        return call_result.GetVariables(get_variable_result=results)

    @on(Action.set_variables)
    def _set_variables(self, set_variable_data: list[dict[str, Any]]) -> Any:
        self._got("SetVariables", {"set_variable_data": set_variable_data})
        results = []
        for item in set_variable_data:
            name = f"{item['component']['name']}.{item['variable']['name']}"
            if name == "SecurityCtrlr.BasicAuthPassword":
                self.state.secrets[name] = str(item["attribute_value"])
                status = "Accepted"
            elif name in self.state.variables:
                self.state.variables[name] = str(item["attribute_value"])
                status = "Accepted"
            else:
                status = "UnknownVariable"
            results.append(
                {
                    "attribute_status": status,
                    "component": item["component"],
                    "variable": item["variable"],
                }
            )
        return call_result.SetVariables(set_variable_result=results)

    @on(Action.get_base_report)
    def _get_base_report(self, request_id: int, report_base: str) -> Any:
        self._got("GetBaseReport", {"request_id": request_id, "report_base": report_base})
        task = asyncio.get_running_loop().create_task(self._notify_report(request_id))
        self._report_tasks.add(task)
        task.add_done_callback(self._report_tasks.discard)
        return call_result.GetBaseReport(status="Accepted")

    async def _notify_report(self, request_id: int) -> None:
        data = []
        for name, value in sorted(self.state.variables.items()):
            component, variable = name.split(".", 1)
            data.append(
                {
                    "component": {"name": component},
                    "variable": {"name": variable},
                    "variable_attribute": [{"type": "Actual", "value": value}],
                }
            )
        payload = {
            "request_id": request_id,
            "generated_at": now_iso(),
            "seq_no": 0,
            "report_data": data,
        }
        self.reports.append(payload)
        with contextlib.suppress(Exception):
            await self.call(call.NotifyReport(**payload))

    @on(Action.send_local_list)
    def _send_local_list(
        self,
        version_number: int,
        update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None,
    ) -> Any:
        self._got(
            "SendLocalList",
            {
                "version_number": version_number,
                "update_type": update_type,
                "local_authorization_list": local_authorization_list,
            },
        )
        if self.state.variables.get("LocalAuthListCtrlr.Enabled") != "true":
            return call_result.SendLocalList(status="Failed")
        if update_type == "Full":
            self.state.local_list = {}
        for entry in local_authorization_list or []:
            token = entry["id_token"]["id_token"]
            if entry.get("id_token_info") is None:
                self.state.local_list.pop(token, None)
            else:
                self.state.local_list[token] = entry["id_token_info"]
        self.state.local_list_version = version_number
        self.state.variables["LocalAuthListCtrlr.Entries"] = str(len(self.state.local_list))
        return call_result.SendLocalList(status="Accepted")

    @on(Action.get_local_list_version)
    def _get_local_list_version(self) -> Any:
        self._got("GetLocalListVersion", {})
        return call_result.GetLocalListVersion(version_number=self.state.local_list_version)

    @on(Action.clear_cache)
    def _clear_cache(self) -> Any:
        self._got("ClearCache", {})
        if self.state.variables.get("AuthCacheCtrlr.Enabled") != "true":
            return call_result.ClearCache(status="Rejected")
        self.state.auth_cache = {}
        return call_result.ClearCache(status="Accepted")

    @on(Action.request_start_transaction)
    def _request_start_transaction(
        self, id_token: dict[str, Any], remote_start_id: int, evse_id: int | None = None, **_: Any
    ) -> Any:
        self._got(
            "RequestStartTransaction",
            {"id_token": id_token, "remote_start_id": remote_start_id, "evse_id": evse_id},
        )
        return call_result.RequestStartTransaction(status="Accepted")

    @on(Action.request_stop_transaction)
    def _request_stop_transaction(self, transaction_id: str) -> Any:
        self._got("RequestStopTransaction", {"transaction_id": transaction_id})
        known = transaction_id in self.state.seq_no
        return call_result.RequestStopTransaction(status="Accepted" if known else "Rejected")

    @on(Action.reset)
    def _reset(self, type: str, evse_id: int | None = None) -> Any:
        self._got("Reset", {"type": type, "evse_id": evse_id})
        return call_result.Reset(status="Accepted")

    @on(Action.unlock_connector)
    def _unlock_connector(self, evse_id: int, connector_id: int) -> Any:
        self._got("UnlockConnector", {"evse_id": evse_id, "connector_id": connector_id})
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.change_availability)
    def _change_availability(
        self, operational_status: str, evse: dict[str, Any] | None = None
    ) -> Any:
        self._got("ChangeAvailability", {"operational_status": operational_status, "evse": evse})
        self.state.availability[(evse or {}).get("id", 0)] = operational_status
        return call_result.ChangeAvailability(status="Accepted")

    @on(Action.trigger_message)
    def _trigger_message(self, requested_message: str, evse: dict[str, Any] | None = None) -> Any:
        self._got("TriggerMessage", {"requested_message": requested_message, "evse": evse})
        return call_result.TriggerMessage(status="Accepted")

    @on(Action.data_transfer)
    def _data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: Any = None
    ) -> Any:
        self._got("DataTransfer", {"vendor_id": vendor_id, "message_id": message_id, "data": data})
        return call_result.DataTransfer(status="UnknownVendorId")


def _meter_value(energy_wh: float, current: float | None, context: str) -> dict[str, Any]:
    sampled: list[dict[str, Any]] = [
        {
            "value": round(energy_wh, 1),
            "measurand": "Energy.Active.Import.Register",
            "context": context,
            "unit_of_measure": {"unit": "Wh"},
        }
    ]
    if current is not None:
        sampled.extend(
            {
                "value": round(current, 1),
                "measurand": "Current.Import",
                "phase": phase,
                "context": context,
                "unit_of_measure": {"unit": "A"},
            }
            for phase in ("L1", "L2", "L3")
        )
    return {"timestamp": now_iso(), "sampled_value": sampled}


class Station201Client:
    """Connects a simulated 2.0.1 station, runs its message loop, and keeps its events.

    A transaction's events go out at once while connected; made while not (``online``
    False or no connection), they wait in the state's queue, flagged offline, until
    ``connect`` (which replays them after the boot).
    """

    def __init__(
        self,
        url: str,
        station_id: str,
        *,
        password: str | None = None,
        state: Station201State | None = None,
        reject_profiles: bool = False,
    ) -> None:
        self.url = url.rstrip("/") + "/" + station_id
        self.station_id = station_id
        self.password = password
        self.state = state or Station201State()
        self.reject_profiles = reject_profiles
        self.connection: ClientConnection | None = None
        self.station: SimulatedStation201 | None = None
        self._task: asyncio.Task[None] | None = None

    async def connect(self, *, boot: bool = True) -> SimulatedStation201:
        """Open the websocket (subprotocol ocpp2.0.1), boot, send what was queued."""
        self.connection = await connect(
            self.url,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            additional_headers=basic_auth(self.station_id, self.password),
        )
        self.station = SimulatedStation201(
            self.station_id, self.connection, self.state, reject_profiles=self.reject_profiles
        )
        self._task = asyncio.create_task(self._run(), name=f"sim201 {self.station_id}")
        if boot:
            await self.station.boot()
        await self.station.replay()
        return self.station

    async def _run(self) -> None:
        assert self.station is not None
        with contextlib.suppress(Exception):  # connection closed: the loop ends
            await self.station.start()

    async def close(self) -> None:
        """Close the websocket and stop the loop (what is held stays in the state)."""
        await close_link(self.connection, self._task)
        self._task = None
        self.station = None

    # --- transactions --------------------------------------------------------------

    async def event(
        self,
        event_type: str,
        trigger: str,
        transaction_id: str,
        *,
        evse_id: int = 1,
        connector_id: int = 1,
        id_token: str | None = None,
        energy_wh: float | None = None,
        current: float | None = None,
        charging_state: str | None = None,
        stopped_reason: str | None = None,
    ) -> Any:
        """One TransactionEvent: sent now, or queued (offline) when not connected.

        Returns the central system's answer (None when queued).
        """
        seq_no = self.state.seq_no.get(transaction_id, 0)
        self.state.seq_no[transaction_id] = seq_no + 1
        info: dict[str, Any] = {"transaction_id": transaction_id}
        if charging_state is not None:
            info["charging_state"] = charging_state
        if stopped_reason is not None:
            info["stopped_reason"] = stopped_reason
        payload: dict[str, Any] = {
            "event_type": event_type,
            "timestamp": now_iso(),
            "trigger_reason": trigger,
            "seq_no": seq_no,
            "transaction_info": info,
        }
        if event_type == "Started":
            payload["evse"] = {"id": evse_id, "connector_id": connector_id}
        if id_token is not None:
            payload["id_token"] = {"id_token": id_token, "type": "ISO14443"}
        if energy_wh is not None:
            context = {
                "Started": "Transaction.Begin",
                "Ended": "Transaction.End",
            }.get(event_type, "Sample.Periodic")
            payload["meter_value"] = [_meter_value(energy_wh, current, context)]
        if self.station is None or self.connection is None or self.connection.close_code:
            payload["offline"] = True
            self.state.queue.append(payload)
            return None
        return await self.station.send_event(payload)

    async def start(
        self, id_token: str, energy_wh: float, *, evse_id: int = 1, connector_id: int = 1
    ) -> tuple[str, Any]:
        """Start a transaction (the station makes its id): (id, answer or None)."""
        transaction_id = str(uuid.uuid4())
        answer = await self.event(
            "Started",
            "Authorized",
            transaction_id,
            evse_id=evse_id,
            connector_id=connector_id,
            id_token=id_token,
            energy_wh=energy_wh,
            charging_state="Charging",
        )
        return transaction_id, answer
