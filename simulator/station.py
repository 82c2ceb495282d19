"""A simulated OCPP 1.6J charging station, built on the `ocpp` library's client side.

It connects over a real websocket, answers every command a central system sends, keeps
the charging profiles and local authorization list it is given, and records every call
it received (``received``) so tests can check what the central system did.
"""

from __future__ import annotations

import asyncio
from base64 import b64encode
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
from ssl import SSLContext
from typing import Any, cast

from ocpp import messages as ocpp_messages
from ocpp.routing import on as _on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.client import ClientConnection, connect

# The library checks every message against its schema in the event loop's default
# executor: a thread per message in flight. Hundreds of simulated stations in one loop
# (Home Assistant's, in the tests) then fill its executor with threads that a loaded
# machine does not stop in time at shutdown. The checks stay, run in line. (A flag of
# the whole process: the integration checks what it sends with its own copy of the
# schemas, so it does not depend on it.)
ocpp_messages.ASYNC_VALIDATION = False


def on[F: Callable[..., Any]](
    action: str, *, skip_schema_validation: bool = False
) -> Callable[[F], F]:
    """Typed `ocpp.routing.on`."""
    return cast(Callable[[F], F], _on(action, skip_schema_validation=skip_schema_validation))


def now_iso() -> str:
    """Current time as an OCPP timestamp."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class StationBehaviour:
    """How the simulated station answers (quirks of real models)."""

    max_stack_level: int = 3
    # ABB Terra: refuses a profile whose stackLevel equals ChargeProfileMaxStackLevel.
    reject_stack_level_at_max: bool = False
    reject_profiles: bool = False
    # SendLocalListMaxLength: entries per SendLocalList message.
    local_list_max_length: int = 100
    # LocalAuthListMaxLength: entries the list holds in all (None: as many as per message).
    local_list_capacity: int | None = None
    local_auth_list_enabled: bool = True
    # What it answers SendLocalList while LocalAuthListEnabled is false (stations differ).
    local_list_disabled_status: str = "NotSupported"
    # An authorization cache (AuthorizationCacheEnabled); without one ClearCache is Rejected.
    authorization_cache: bool = True
    answer_delay: float = 0.0
    # Security profile 1: refuse a new AuthorizationKey (some stations only take it locally).
    reject_authorization_key: bool = False
    # Keys the station has besides the usual ones (e.g. a vendor's own fallback).
    extra_configuration: dict[str, str] = field(default_factory=dict)
    # Wallbox: rejects Absolute profiles (Relative ones work).
    reject_absolute: bool = False
    # A station still starting: commands sent before its BootNotification was accepted
    # go unanswered (kept in `unanswered`).
    answer_before_boot: bool = True
    # Vendor data sent back in a DataTransfer answer (None: none).
    data_transfer_answer: str | None = None


@dataclass
class SimState:
    """What the station holds."""

    configuration: dict[str, str] = field(default_factory=dict)
    profiles: dict[int, dict[str, Any]] = field(default_factory=dict)
    local_list_version: int = 0
    local_list: dict[str, dict[str, Any]] = field(default_factory=dict)
    availability: str = "Operative"
    # connector each installed profile applies to (by profile id)
    profile_connector: dict[int, int] = field(default_factory=dict)
    # Security profile 1: the password the central system gave (write-only, never read back)
    authorization_key: str | None = None
    # Authorization cache: idTagInfo of the badges the central system answered for.
    auth_cache: dict[str, dict[str, Any]] = field(default_factory=dict)


def default_configuration(behaviour: StationBehaviour) -> dict[str, str]:
    """The configuration keys a simulated station starts with."""
    return {
        "ChargeProfileMaxStackLevel": str(behaviour.max_stack_level),
        "ChargingScheduleAllowedChargingRateUnit": "Current",
        "MaxChargingProfilesInstalled": "10",
        "HeartbeatInterval": "60",
        "MeterValueSampleInterval": "60",
        "MeterValuesSampledData": "Energy.Active.Import.Register,Current.Import",
        "LocalAuthListEnabled": "true" if behaviour.local_auth_list_enabled else "false",
        "SendLocalListMaxLength": str(behaviour.local_list_max_length),
        "LocalAuthListMaxLength": str(
            behaviour.local_list_max_length
            if behaviour.local_list_capacity is None
            else behaviour.local_list_capacity
        ),
        "NumberOfConnectors": "1",
        "AuthorizationCacheEnabled": "true" if behaviour.authorization_cache else "false",
        **behaviour.extra_configuration,
    }


# Told about every command received; an awaitable it returns for SetChargingProfile
# delays the answer (and the profile) until it is done.
CommandHook = Callable[[str, dict[str, Any]], Awaitable[None] | None]


class SimulatedStation(ChargePoint):  # type: ignore[misc]
    """The station side of an OCPP 1.6J connection.

    state: what the station holds; give every connection of one station the same, so
    its configuration and profiles survive reconnects as on real hardware.
    """

    def __init__(
        self,
        station_id: str,
        connection: ClientConnection,
        behaviour: StationBehaviour,
        state: SimState | None = None,
    ) -> None:
        super().__init__(station_id, connection, response_timeout=10)
        self.behaviour = behaviour
        self.state = state if state is not None else SimState()
        if not self.state.configuration:
            self.state.configuration = default_configuration(behaviour)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        # Told about every command received (e.g. a simulated charger reacting to them).
        self.on_command: CommandHook | None = None
        self.booted = False
        # Commands left unanswered because the station had not booted (action names).
        self.unanswered: list[str] = []

    async def route_message(self, raw_msg: str | bytes) -> None:
        """Route a frame; before boot, a station that does not answer yet drops commands."""
        if not self.behaviour.answer_before_boot and not self.booted:
            with contextlib.suppress(ValueError, TypeError, IndexError, AttributeError):
                frame = json.loads(raw_msg)
                if frame[0] == 2:
                    self.unanswered.append(str(frame[2]))
                    return
                # Booted as soon as the answer to its BootNotification arrives (the
                # commands that follow it at once are answered).
                if frame[0] == 3 and {"currentTime", "interval"} <= frame[2].keys():
                    self.booted = frame[2].get("status") == "Accepted"
        await super().route_message(raw_msg)

    def _record(self, action: str, payload: dict[str, Any]) -> Awaitable[None] | None:
        self.received.append((action, payload))
        self.events.put_nowait((action, payload))
        if self.on_command is not None:
            return self.on_command(action, payload)
        return None

    async def wait_for(self, action: str, within: float = 5) -> dict[str, Any]:
        """Wait until the central system sends this action; return its payload."""

        async def _wait() -> dict[str, Any]:
            while True:
                got, payload = await self.events.get()
                if got == action:
                    return payload

        return await asyncio.wait_for(_wait(), within)

    async def _delay(self) -> None:
        if self.behaviour.answer_delay:
            await asyncio.sleep(self.behaviour.answer_delay)

    # --- messages the station sends ---------------------------------------------

    async def boot(
        self, vendor: str = "Simulated", model: str = "SimCharger", firmware: str = "1.0"
    ) -> Any:
        """BootNotification."""
        answer = await self.call(
            call.BootNotification(
                charge_point_vendor=vendor,
                charge_point_model=model,
                charge_point_serial_number=f"SN-{self.id}",
                firmware_version=firmware,
            )
        )
        self.booted = answer is not None and answer.status == "Accepted"
        return answer

    async def heartbeat(self) -> Any:
        """Heartbeat."""
        return await self.call(call.Heartbeat())

    async def status(
        self, connector_id: int, status: str, error_code: str = "NoError", **kwargs: Any
    ) -> Any:
        """StatusNotification."""
        return await self.call(
            call.StatusNotification(
                connector_id=connector_id,
                error_code=error_code,
                status=status,
                timestamp=now_iso(),
                **kwargs,
            )
        )

    async def authorize(self, id_tag: str) -> Any:
        """Authorize (the answer goes into its authorization cache, if it has one)."""
        answer = await self.call(call.Authorize(id_tag=id_tag))
        if self.behaviour.authorization_cache:
            self.state.auth_cache[id_tag.upper()] = dict(answer.id_tag_info)
        return answer

    def offline_decision(self, id_tag: str) -> str:
        """How the station decides on a badge without the central system.

        Its local list first, then its authorization cache; unknown: Invalid.
        """
        for tag, info in self.state.local_list.items():
            if tag.upper() == id_tag.upper():
                return str(info.get("status", "Invalid"))
        cached = self.state.auth_cache.get(id_tag.upper())
        return str(cached.get("status", "Invalid")) if cached else "Invalid"

    async def security_event(self, event_type: str, tech_info: str | None = None) -> Any:
        """SecurityEventNotification (OCPP 1.6 security extension)."""
        return await self.call(
            call.SecurityEventNotification(
                type=event_type, timestamp=now_iso(), tech_info=tech_info
            )
        )

    async def start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str | None = None
    ) -> Any:
        """StartTransaction."""
        return await self.call(
            call.StartTransaction(
                connector_id=connector_id,
                id_tag=id_tag,
                meter_start=meter_start,
                timestamp=timestamp or now_iso(),
            )
        )

    async def stop_transaction(
        self,
        transaction_id: int,
        meter_stop: int,
        reason: str = "Local",
        id_tag: str | None = None,
        transaction_data: list[dict[str, Any]] | None = None,
        timestamp: str | None = None,
    ) -> Any:
        """StopTransaction."""
        return await self.call(
            call.StopTransaction(
                meter_stop=meter_stop,
                timestamp=timestamp or now_iso(),
                transaction_id=transaction_id,
                reason=reason,
                id_tag=id_tag,
                transaction_data=transaction_data,
            )
        )

    async def meter_values(
        self,
        connector_id: int,
        sampled_values: list[dict[str, Any]],
        transaction_id: int | None = None,
        timestamp: str | None = None,
    ) -> Any:
        """MeterValues with one sample set (snake_case sampled values)."""
        return await self.call(
            call.MeterValues(
                connector_id=connector_id,
                transaction_id=transaction_id,
                meter_value=[
                    {"timestamp": timestamp or now_iso(), "sampled_value": sampled_values}
                ],
            )
        )

    # --- commands the central system sends ----------------------------------------

    # Sent as the station holds it, even beyond what OCPP allows (a vendor's long value).
    @on(Action.get_configuration, skip_schema_validation=True)
    async def _get_configuration(self, key: list[str] | None = None) -> Any:
        self._record("GetConfiguration", {"key": key})
        await self._delay()
        config = self.state.configuration
        keys = key or list(config)
        return call_result.GetConfiguration(
            configuration_key=[
                {"key": k, "readonly": False, "value": config[k]} for k in keys if k in config
            ],
            unknown_key=[k for k in keys if k not in config] or None,
        )

    @on(Action.change_configuration)
    async def _change_configuration(self, key: str, value: str) -> Any:
        self._record("ChangeConfiguration", {"key": key, "value": value})
        if key == "AuthorizationKey":
            if self.behaviour.reject_authorization_key:
                return call_result.ChangeConfiguration(status="Rejected")
            # Hex-encoded per the OCPP 1.6 security whitepaper; used as the Basic password.
            self.state.authorization_key = bytes.fromhex(value).decode()
            return call_result.ChangeConfiguration(status="Accepted")
        if key not in self.state.configuration:
            return call_result.ChangeConfiguration(status="NotSupported")
        self.state.configuration[key] = value
        return call_result.ChangeConfiguration(status="Accepted")

    @on(Action.trigger_message)
    async def _trigger_message(
        self, requested_message: str, connector_id: int | None = None
    ) -> Any:
        self._record(
            "TriggerMessage", {"requested_message": requested_message, "connector_id": connector_id}
        )
        return call_result.TriggerMessage(status="Accepted")

    @on(Action.remote_start_transaction)
    async def _remote_start(self, id_tag: str, **kwargs: Any) -> Any:
        self._record("RemoteStartTransaction", {"id_tag": id_tag, **kwargs})
        return call_result.RemoteStartTransaction(status="Accepted")

    @on(Action.remote_stop_transaction)
    async def _remote_stop(self, transaction_id: int) -> Any:
        self._record("RemoteStopTransaction", {"transaction_id": transaction_id})
        return call_result.RemoteStopTransaction(status="Accepted")

    @on(Action.reset)
    async def _reset(self, type: str) -> Any:
        self._record("Reset", {"type": type})
        return call_result.Reset(status="Accepted")

    @on(Action.unlock_connector)
    async def _unlock(self, connector_id: int) -> Any:
        self._record("UnlockConnector", {"connector_id": connector_id})
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.change_availability)
    async def _change_availability(self, connector_id: int, type: str) -> Any:
        self._record("ChangeAvailability", {"connector_id": connector_id, "type": type})
        if connector_id == 0:
            self.state.availability = type
        return call_result.ChangeAvailability(status="Accepted")

    @on(Action.set_charging_profile)
    async def _set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any]
    ) -> Any:
        hold = self._record(
            "SetChargingProfile",
            {"connector_id": connector_id, "cs_charging_profiles": cs_charging_profiles},
        )
        if hold is not None:
            await hold
        await self._delay()
        level = cs_charging_profiles["stack_level"]
        if (
            self.behaviour.reject_profiles
            or (
                self.behaviour.reject_stack_level_at_max and level >= self.behaviour.max_stack_level
            )
            or (
                self.behaviour.reject_absolute
                and cs_charging_profiles["charging_profile_kind"] == "Absolute"
            )
        ):
            return call_result.SetChargingProfile(status="Rejected")
        profile_id = cs_charging_profiles["charging_profile_id"]
        purpose = cs_charging_profiles["charging_profile_purpose"]
        # OCPP 1.6: the same id, or the same purpose and stack level, is replaced.
        for other, held in list(self.state.profiles.items()):
            if (
                held["charging_profile_purpose"] == purpose
                and held["stack_level"] == level
                and self.state.profile_connector.get(other) == connector_id
            ):
                del self.state.profiles[other]
        self.state.profiles[profile_id] = cs_charging_profiles
        self.state.profile_connector[profile_id] = connector_id
        return call_result.SetChargingProfile(status="Accepted")

    @on(Action.clear_charging_profile)
    async def _clear_charging_profile(self, **kwargs: Any) -> Any:
        self._record("ClearChargingProfile", kwargs)
        profile_id = kwargs.get("id")
        if profile_id is not None:
            found = self.state.profiles.pop(profile_id, None) is not None
        else:
            found = bool(self.state.profiles)
            self.state.profiles.clear()
        return call_result.ClearChargingProfile(status="Accepted" if found else "Unknown")

    @on(Action.get_composite_schedule)
    async def _get_composite_schedule(
        self, connector_id: int, duration: int, charging_rate_unit: str | None = None
    ) -> Any:
        """The limit in force on a connector.

        The TxDefaultProfile of the highest stack level (its own connector's before
        connector 0's), under the ChargePointMaxProfile.
        """
        self._record(
            "GetCompositeSchedule",
            {
                "connector_id": connector_id,
                "duration": duration,
                "charging_rate_unit": charging_rate_unit,
            },
        )
        now = datetime.now(UTC)

        def live(profile: dict[str, Any]) -> bool:
            valid_to = profile.get("valid_to")
            return valid_to is None or datetime.fromisoformat(valid_to) > now

        held = [
            (pid, p)
            for pid, p in self.state.profiles.items()
            if live(p) and self.state.profile_connector.get(pid) in (0, connector_id)
        ]
        defaults = [
            (p["stack_level"], self.state.profile_connector.get(pid) == connector_id, p)
            for pid, p in held
            if p["charging_profile_purpose"] == "TxDefaultProfile"
        ]
        caps = [p for _pid, p in held if p["charging_profile_purpose"] == "ChargePointMaxProfile"]
        chosen = [max(defaults, key=lambda d: (d[0], d[1]))[2]] if defaults else []
        limits = [
            (str(p["charging_schedule"]["charging_rate_unit"]), float(period["limit"]))
            for p in [*chosen, *caps]
            for period in p["charging_schedule"]["charging_schedule_period"][:1]
        ]
        if not limits:
            return call_result.GetCompositeSchedule(status="Rejected")
        unit, limit = min(limits, key=lambda u_l: u_l[1])
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=now_iso(),
            charging_schedule={
                "duration": duration,
                "charging_rate_unit": unit,
                "charging_schedule_period": [{"start_period": 0, "limit": limit}],
            },
        )

    @on(Action.send_local_list)
    async def _send_local_list(
        self,
        list_version: int,
        update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None,
    ) -> Any:
        self._record(
            "SendLocalList",
            {
                "list_version": list_version,
                "update_type": update_type,
                "local_authorization_list": local_authorization_list or [],
            },
        )
        if self.state.configuration.get("LocalAuthListEnabled", "true").lower() != "true":
            return call_result.SendLocalList(status=self.behaviour.local_list_disabled_status)
        entries = local_authorization_list or []
        if len(entries) > self.behaviour.local_list_max_length:
            return call_result.SendLocalList(status="Failed")
        # OCPP 1.6: a differential update must carry a higher version than the list held.
        if update_type == "Differential" and list_version <= self.state.local_list_version:
            return call_result.SendLocalList(status="VersionMismatch")
        held = {} if update_type == "Full" else dict(self.state.local_list)
        for entry in entries:
            if "id_tag_info" in entry:
                held[entry["id_tag"]] = entry["id_tag_info"]
            else:  # a differential entry without idTagInfo removes the badge
                held.pop(entry["id_tag"], None)
        capacity = self.behaviour.local_list_capacity or self.behaviour.local_list_max_length
        if len(held) > capacity:
            return call_result.SendLocalList(status="Failed")
        self.state.local_list = held
        self.state.local_list_version = list_version
        return call_result.SendLocalList(status="Accepted")

    @on(Action.clear_cache)
    async def _clear_cache(self) -> Any:
        self._record("ClearCache", {})
        if not self.behaviour.authorization_cache:
            return call_result.ClearCache(status="Rejected")
        self.state.auth_cache.clear()
        return call_result.ClearCache(status="Accepted")

    @on(Action.get_local_list_version)
    async def _get_local_list_version(self) -> Any:
        self._record("GetLocalListVersion", {})
        return call_result.GetLocalListVersion(list_version=self.state.local_list_version)

    @on(Action.data_transfer)
    async def _data_transfer(self, vendor_id: str, **kwargs: Any) -> Any:
        self._record("DataTransfer", {"vendor_id": vendor_id, **kwargs})
        return call_result.DataTransfer(status="Accepted", data=self.behaviour.data_transfer_answer)


def basic_auth(station_id: str, password: str | None) -> dict[str, str]:
    """The HTTP Basic header of security profile 1 (user: the station id), if a password."""
    if password is None:
        return {}
    token = b64encode(f"{station_id}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def close_link(connection: ClientConnection | None, task: asyncio.Task[None] | None) -> None:
    """Close a simulated station's websocket and stop its message loop."""
    if connection is not None:
        await connection.close()
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class StationClient:
    """Connects a simulated station and runs its message loop in the background."""

    def __init__(
        self,
        url: str,
        station_id: str,
        behaviour: StationBehaviour | None = None,
        *,
        password: str | None = None,
        ssl: SSLContext | None = None,
        state: SimState | None = None,
    ) -> None:
        self.url = url.rstrip("/") + "/" + station_id
        self.station_id = station_id
        self.behaviour = behaviour or StationBehaviour()
        self.password = password  # security profile 1: HTTP Basic, user = station id
        self.ssl = ssl  # security profile 2: wss:// trusting this context
        self.state = state
        self.connection: ClientConnection | None = None
        self.station: SimulatedStation | None = None
        self._task: asyncio.Task[None] | None = None

    async def connect(self) -> SimulatedStation:
        """Open the websocket (subprotocol ocpp1.6) and start answering."""
        self.connection = await connect(
            self.url,
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=basic_auth(self.station_id, self.password),
            ssl=self.ssl,
        )
        self.station = SimulatedStation(
            self.station_id, self.connection, self.behaviour, self.state
        )
        self._task = asyncio.create_task(self._run(), name=f"sim {self.station_id}")
        return self.station

    async def _run(self) -> None:
        assert self.station is not None
        try:
            await self.station.start()
        except Exception:  # noqa: BLE001 - connection closed: the loop ends
            return

    async def close(self) -> None:
        """Close the websocket and stop the loop."""
        await close_link(self.connection, self._task)
        self._task = None

    async def __aenter__(self) -> SimulatedStation:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
