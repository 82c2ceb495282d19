"""One OCPP 1.6J session per connected station.

`StationConnection` speaks the protocol (through the `ocpp` library) and hands every
request to a `StationHandler`, which owns the station's state. It also offers every
command the central system can send, raising `CommandError` on a refusal, a CALLERROR
or a timeout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import contextlib
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime
from decimal import Decimal
import functools
import itertools
import json
import logging
from pathlib import Path
import re
from typing import Any, Protocol, cast
import uuid

from ocpp import messages as ocpp_messages
from ocpp.charge_point import (
    camel_to_snake_case,
    snake_to_camel_case,
)
from ocpp.exceptions import (
    FormationViolationError,
    NotImplementedError,
    NotSupportedError,
    OccurenceConstraintViolationError,
    OCPPError,
    PropertyConstraintViolationError,
    ProtocolError,
    TypeConstraintViolationError,
)
from ocpp.messages import Call, CallError, CallResult, MessageType, get_validator
from ocpp.routing import after as _after, on as _on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

from .readings import (
    MeterValueError,
    MeterValueRangeError,
    Sample,
    parse_meter_values,
    parse_timestamp,
)

_LOGGER = logging.getLogger(__name__)
# The ocpp library logs every frame at INFO: keep that on its own logger.
FRAME_LOGGER = logging.getLogger(f"{__name__}.frames")
if FRAME_LOGGER.level == logging.NOTSET:
    # Opt-in only: INFO on the integration must not log every frame.
    FRAME_LOGGER.setLevel(logging.WARNING)

SUBPROTOCOL = "ocpp1.6"
_ACTIONS = frozenset(action.value for action in Action)
_UNIQUE_ID = re.compile(r'^\s*\[\s*\d+\s*,\s*"([^"\\]{1,36})"')
# Ids a station can hold (OCPP 1.6 integers are 32-bit in practice) and registers (Wh)
# that a JSON number carries exactly; anything beyond is refused, not stored.
MAX_ID = 2**31 - 1
MAX_REGISTER = 2**53 - 1


class CommandError(Exception):
    """A command to a station failed (refused, CALLERROR, timeout, disconnected)."""


@dataclass(frozen=True, slots=True)
class BootInfo:
    """What a station says about itself at boot."""

    vendor: str
    model: str
    serial_number: str | None = None
    charge_box_serial_number: str | None = None
    firmware_version: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    meter_type: str | None = None
    meter_serial_number: str | None = None

    @property
    def serial(self) -> str | None:
        """Best serial number available."""
        return self.charge_box_serial_number or self.serial_number


@dataclass(frozen=True, slots=True)
class IdTagInfo:
    """Answer to an authorization."""

    status: str
    expiry_date: str | None = None
    parent_id_tag: str | None = None

    def as_payload(self) -> dict[str, str]:
        """The idTagInfo object, snake_case (the library converts it)."""
        payload = {"status": self.status}
        if self.expiry_date:
            payload["expiry_date"] = self.expiry_date
        if self.parent_id_tag:
            payload["parent_id_tag"] = self.parent_id_tag
        return payload


class StationHandler(Protocol):
    """What a connection needs from the station it speaks for.

    Protocol-neutral: transaction ids are text (this connection turns the numbers of
    OCPP 1.6 into text and back).
    """

    @property
    def station_id(self) -> str:
        """The station's OCPP identifier."""

    def on_boot(self, info: BootInfo) -> int:
        """Record the boot, return the heartbeat interval to give the station."""

    def on_boot_answered(self) -> None:
        """The BootNotification answer has been sent (commands may follow)."""

    def on_heartbeat(self) -> None:
        """A heartbeat arrived."""

    def on_status(
        self,
        connector_id: int,
        status: str,
        error_code: str,
        info: str | None,
        vendor_error_code: str | None,
        timestamp: str | None,
    ) -> None:
        """A StatusNotification arrived."""

    def authorize(self, id_tag: str) -> IdTagInfo:
        """Authorize a badge."""

    async def start_transaction(
        self,
        connector_id: int,
        id_tag: str,
        meter_start: int,
        timestamp: str,
        reservation_id: int | None,
    ) -> tuple[str, IdTagInfo]:
        """Record a new transaction, return its id (the hub's number) and the badge's status."""

    async def stop_transaction(
        self,
        transaction_id: str,
        meter_stop: int,
        timestamp: str,
        reason: str | None,
        id_tag: str | None,
        samples: Sequence[Sample],
    ) -> IdTagInfo | None:
        """Close a transaction."""

    def on_meter_values(
        self, connector_id: int, transaction_id: str | None, samples: Sequence[Sample]
    ) -> None:
        """MeterValues arrived."""

    def on_data_transfer(
        self, vendor_id: str, message_id: str | None, data: str | None
    ) -> tuple[str, str | None]:
        """A DataTransfer arrived; return (status, data)."""

    def on_firmware_status(self, status: str) -> None:
        """A FirmwareStatusNotification arrived."""

    def on_diagnostics_status(self, status: str) -> None:
        """A DiagnosticsStatusNotification arrived."""

    def on_security_event(self, event_type: str, timestamp: str, tech_info: str | None) -> None:
        """A SecurityEventNotification arrived (OCPP 1.6 security extension)."""


def on[F: Callable[..., Any]](action: str) -> Callable[[F], F]:
    """Typed `ocpp.routing.on`, without the library's schema checks.

    `route_message` checks each request against our copy of its schema (the library
    would check it, and our answer, again with every message).
    """
    return cast(Callable[[F], F], _on(action, skip_schema_validation=True))


def after[F: Callable[..., Any]](action: str) -> Callable[[F], F]:
    """Typed `ocpp.routing.after`."""
    return cast(Callable[[F], F], _after(action))


class StationConnection(ChargePoint):  # type: ignore[misc]
    """The central system's side of one station's websocket."""

    def __init__(
        self,
        station_id: str,
        websocket: Any,
        handler: StationHandler,
        response_timeout: float = 30,
    ) -> None:
        """Wrap a websocket connection."""
        super().__init__(station_id, websocket, response_timeout, FRAME_LOGGER)
        self.handler = handler
        # Unique id of the command waiting for its answer (None: none).
        self._pending_id: str | None = None
        # Commands whose answers strayed from the schema (told once per connection).
        self._deviations: set[str] = set()

    # --- incoming frames -------------------------------------------------------

    async def route_message(self, raw_msg: str | bytes) -> None:
        """Route a frame as OCPP-J 1.6 asks.

        A CALL that cannot be handled gets a CALLERROR with the 1.6 error code its fault
        calls for; a frame that is not OCPP at all gets one too (never silence). A frame
        with an unknown MessageTypeId is ignored (OCPP-J 4.1.3). A malformed CALLRESULT or
        CALLERROR is never answered: it fails the command it answers at once.
        """
        try:
            frame = _load(raw_msg)
        except OCPPError as err:
            await self._refuse_frame(raw_msg, err)
            return
        kind = frame[0]
        if (
            isinstance(kind, bool)
            or not isinstance(kind, int | float)
            or kind not in _MESSAGE_TYPES
        ):
            _LOGGER.debug("Station %s sent a frame of unknown type %.20r: ignored", self.id, kind)
            return
        if kind != MessageType.Call:
            self._on_answer(frame)
            return
        if len(frame) != 4:
            await self._refuse_frame(
                raw_msg,
                ProtocolError(
                    description="a CALL has 4 elements",
                    details={"cause": "Message is missing elements."},
                ),
            )
            return
        msg = Call(*frame[1:])
        try:
            if not isinstance(msg.action, str) or (
                msg.action not in self.route_map and msg.action != _METER_VALUES
            ):
                raise _unhandled(msg.action)
            if not isinstance(msg.payload, dict):
                raise _type_error("the payload of a CALL must be a JSON object")
            if msg.action == _METER_VALUES:
                await self._on_meter_values(msg)
            else:
                if errors := _schema_errors(MessageType.Call, msg.action, msg.payload):
                    raise _schema_error(errors[0])
                await self._handle_call(msg)
        except OCPPError as err:
            _LOGGER.warning(
                "Station %s: %s refused with %s (%s)",
                self.id,
                msg.action,
                err.code,
                err.description,
            )
            await self._send(msg.create_call_error(err).to_json())

    async def _refuse_frame(self, raw_msg: str | bytes, err: OCPPError) -> None:
        """CALLERROR for a frame that is not a readable OCPP message."""
        text = raw_msg if isinstance(raw_msg, str) else raw_msg.decode(errors="replace")
        match = _UNIQUE_ID.match(text)
        _LOGGER.warning(
            "Station %s sent a frame that is not valid OCPP-J (%s): %.200s",
            self.id,
            err.description or type(err).__name__,
            text,
        )
        await self._send(
            json.dumps(
                [
                    MessageType.CallError,
                    match.group(1) if match else "-1",
                    err.code,
                    err.description or "",
                    # The frame itself is not echoed back (it may be bytes, or big).
                    {k: v for k, v in (err.details or {}).items() if k != "ocpp_message"},
                ],
                default=str,
            )
        )

    def _on_answer(self, frame: list[Any]) -> None:
        """A CALLRESULT or CALLERROR: to the command waiting for it, if any.

        A malformed one is not answered (OCPP-J: no answer to an answer); the command it
        answers (same id, or an unreadable id while one is waiting) fails at once.
        """
        unique_id = frame[1] if len(frame) > 1 else None
        pending = self._pending_id if self._call_lock.locked() else None
        if frame[0] == MessageType.CallResult:
            well_formed = len(frame) == 3 and isinstance(unique_id, str)
        else:
            well_formed = (
                len(frame) in (4, 5)
                and isinstance(unique_id, str)
                and all(isinstance(item, str) for item in frame[2:4])
                and (len(frame) == 4 or isinstance(frame[4], dict | None))
            )
        if well_formed:
            if pending is not None:
                answer = CallResult(*frame[1:]) if frame[0] == 3 else CallError(*frame[1:])
                self._response_queue.put_nowait(answer)
            else:
                # An answer to nothing we asked (late, or made up): dropped, so a station
                # cannot fill the response queue.
                _LOGGER.debug("Station %s sent an unsolicited %.200r: dropped", self.id, frame)
            return
        fails = pending is not None and (unique_id == pending or not isinstance(unique_id, str))
        _LOGGER.warning(
            "Station %s sent a malformed %s%s: %.200s",
            self.id,
            "CALLRESULT" if frame[0] == MessageType.CallResult else "CALLERROR",
            " (the command it answers fails)" if fails else "",
            json.dumps(frame, default=str),
        )
        if fails:
            cause = "malformed answer"
            self._response_queue.put_nowait(
                CallError(pending, FormationViolationError.code, cause, {"cause": cause})
            )

    @on(Action.boot_notification)
    def _on_boot(
        self, charge_point_vendor: str, charge_point_model: str, **kwargs: Any
    ) -> call_result.BootNotification:
        info = BootInfo(
            vendor=charge_point_vendor,
            model=charge_point_model,
            serial_number=kwargs.get("charge_point_serial_number"),
            charge_box_serial_number=kwargs.get("charge_box_serial_number"),
            firmware_version=kwargs.get("firmware_version"),
            iccid=kwargs.get("iccid"),
            imsi=kwargs.get("imsi"),
            meter_type=kwargs.get("meter_type"),
            meter_serial_number=kwargs.get("meter_serial_number"),
        )
        interval = self.handler.on_boot(info)
        return call_result.BootNotification(
            current_time=_now_iso(), interval=interval, status="Accepted"
        )

    @after(Action.boot_notification)
    def _after_boot(self, **_kwargs: Any) -> None:
        self.handler.on_boot_answered()

    @on(Action.heartbeat)
    def _on_heartbeat(self) -> call_result.Heartbeat:
        self.handler.on_heartbeat()
        return call_result.Heartbeat(current_time=_now_iso())

    @on(Action.status_notification)
    def _on_status(
        self, connector_id: int, error_code: str, status: str, **kwargs: Any
    ) -> call_result.StatusNotification:
        _check_range("connectorId", connector_id, 0, MAX_ID)
        timestamp = kwargs.get("timestamp")
        if timestamp is not None:
            _check_timestamp(timestamp)
        self.handler.on_status(
            connector_id,
            status,
            error_code,
            kwargs.get("info"),
            kwargs.get("vendor_error_code"),
            kwargs.get("timestamp"),
        )
        return call_result.StatusNotification()

    @on(Action.authorize)
    def _on_authorize(self, id_tag: str) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info=self.handler.authorize(id_tag).as_payload())

    @on(Action.start_transaction)
    async def _on_start_transaction(
        self,
        connector_id: int,
        id_tag: str,
        meter_start: int,
        timestamp: str,
        reservation_id: int | None = None,
    ) -> call_result.StartTransaction:
        _check_range("connectorId", connector_id, 1, MAX_ID)
        _check_range("meterStart", meter_start, 0, MAX_REGISTER)
        if reservation_id is not None:
            _check_range("reservationId", reservation_id, -MAX_ID - 1, MAX_ID)
        _check_timestamp(timestamp)
        transaction_id, info = await self.handler.start_transaction(
            connector_id, id_tag, meter_start, timestamp, reservation_id
        )
        # The hub hands out numbers to OCPP 1.6 stations (its counter).
        return call_result.StartTransaction(
            transaction_id=int(transaction_id), id_tag_info=info.as_payload()
        )

    @on(Action.stop_transaction)
    async def _on_stop_transaction(
        self,
        meter_stop: int,
        timestamp: str,
        transaction_id: int,
        reason: str | None = None,
        id_tag: str | None = None,
        transaction_data: list[dict[str, Any]] | None = None,
    ) -> call_result.StopTransaction:
        _check_range("transactionId", transaction_id, -MAX_ID - 1, MAX_ID)
        _check_range("meterStop", meter_stop, 0, MAX_REGISTER)
        _check_timestamp(timestamp)
        samples = _parse_samples(transaction_data or [])
        info = await self.handler.stop_transaction(
            str(transaction_id), meter_stop, timestamp, reason, id_tag, samples
        )
        return call_result.StopTransaction(id_tag_info=info.as_payload() if info else None)

    # MeterValues are most of the traffic: handled here, not through the ocpp library's
    # routing, whose JSON schema validation, recursive key conversion and handler
    # introspection cost most of a message's CPU (see benchmarks/stations.py). The checks
    # give the same CALLERRORs as the schema would.
    async def _on_meter_values(self, msg: Any) -> None:
        connector_id, transaction_id, meter_value = _check_meter_values(
            _snake_meter_values(msg.payload)
        )
        samples = _parse_samples(meter_value)
        try:
            self.handler.on_meter_values(
                connector_id, None if transaction_id is None else str(transaction_id), samples
            )
        except Exception as err:  # as the library does: InternalError, connection kept
            _LOGGER.exception("Station %s: error while handling MeterValues", self.id)
            await self._send(msg.create_call_error(err).to_json())
            return
        await self._send(msg.create_call_result({}).to_json())

    @on(Action.data_transfer)
    def _on_data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: str | None = None
    ) -> call_result.DataTransfer:
        status, answer = self.handler.on_data_transfer(vendor_id, message_id, data)
        return call_result.DataTransfer(status=status, data=answer)

    @on(Action.firmware_status_notification)
    def _on_firmware_status(self, status: str) -> call_result.FirmwareStatusNotification:
        self.handler.on_firmware_status(status)
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    def _on_diagnostics_status(self, status: str) -> call_result.DiagnosticsStatusNotification:
        self.handler.on_diagnostics_status(status)
        return call_result.DiagnosticsStatusNotification()

    @on(Action.security_event_notification)
    def _on_security_event(
        self, timestamp: str, tech_info: str | None = None, **kwargs: Any
    ) -> call_result.SecurityEventNotification:
        _check_timestamp(timestamp)
        self.handler.on_security_event(str(kwargs["type"]), timestamp, tech_info)
        return call_result.SecurityEventNotification()

    # --- outgoing commands ----------------------------------------------------

    async def _command(self, payload: Any, within: float | None = None) -> Any:
        try:
            return await self._request(payload, within or self._response_timeout)
        except _InvalidRequestError as err:
            raise CommandError(
                f"{type(payload).__name__} to {self.id} not sent, it is not valid OCPP 1.6: "
                f"{err.__cause__}"
            ) from err
        except _UnusableAnswerError as err:
            cause = cast(OCPPError, err.__cause__)
            raise CommandError(
                f"{self.id}: the answer to {type(payload).__name__} is not usable "
                f"({cause.code}: {cause.description})"
            ) from err
        except OCPPError as err:
            raise CommandError(
                f"{self.id} answered {type(payload).__name__} with {err.code}: {err.description}"
            ) from err
        except TimeoutError as err:
            raise CommandError(
                f"{self.id} did not answer {type(payload).__name__} within "
                f"{within or self._response_timeout} s"
            ) from err
        except Exception as err:  # websockets.ConnectionClosed and friends
            raise CommandError(
                f"{self.id}: {type(payload).__name__} failed: {err or type(err).__name__}"
            ) from err

    async def _request(self, payload: Any, within: float) -> Any:
        """Send a command and return the station's answer (the library's result class).

        Strict with what is sent (the OCPP 1.6 schema), lenient with the answer where a
        deviation is harmless (see `_usable_answer`).
        """
        action = type(payload).__name__
        request = Call(
            unique_id=str(uuid.uuid4()),
            action=action,
            payload=_wire(payload),
        )
        # The same request to many stations (a badge list, a configuration key, a
        # profile starting now) is checked once: a valid payload stays valid.
        text = json.dumps([action, _key_form(request.payload)], sort_keys=True, default=str)
        if text not in _VALID_REQUESTS:
            # Our copy of the schema, read at setup (not the library's check, which
            # runs in an executor or not as its process-wide flag says).
            if errors := _schema_errors(MessageType.Call, action, request.payload):
                raise _InvalidRequestError from _schema_error(errors[0])
            if len(_VALID_REQUESTS) >= _VALID_REQUESTS_KEPT:
                _VALID_REQUESTS.clear()
            _VALID_REQUESTS.add(text)
        async with self._call_lock:
            self._pending_id = request.unique_id
            try:
                await self._send(request.to_json())
                response = await self._get_specific_response(request.unique_id, within)
            finally:
                self._pending_id = None
        if response.message_type_id == MessageType.CallError:
            raise response.to_exception()
        try:
            answer = self._usable_answer(action, response.payload)
        except OCPPError as err:
            raise _UnusableAnswerError from err
        result_class = getattr(call_result, action)
        known = {field.name for field in fields(result_class)}
        return result_class(**{k: v for k, v in camel_to_snake_case(answer).items() if k in known})

    def _usable_answer(self, action: str, payload: Any) -> dict[str, Any]:
        """The answer if it can be used, deviations that do no harm let through.

        Harmless: strings longer than OCPP allows, properties OCPP does not have (dropped).
        Anything else (a missing field, a wrong type, a status that is not one) fails
        the command as before.
        """
        if not isinstance(payload, dict):
            raise _type_error(f"the answer to {action} is not a JSON object")
        errors = _answer_errors(action, payload)
        harmful = [e for e in errors if e.validator not in _HARMLESS]
        if harmful:
            raise _schema_error(harmful[0])
        if errors and action not in self._deviations:
            self._deviations.add(action)
            _LOGGER.info(
                "Station %s answered %s outside OCPP 1.6 (%s); accepted, as it does no "
                "harm. Please report the station's model and firmware if it misbehaves",
                self.id,
                action,
                "; ".join(e.message[:120] for e in errors[:3]),
            )
        return payload

    async def probe(self, within: float) -> bool:
        """Whether the station answers at all (it is asked for its connectors' status)."""
        try:
            await self._command(call.TriggerMessage(requested_message="StatusNotification"), within)
        except CommandError as err:
            return not isinstance(err.__cause__, TimeoutError)  # a refusal is an answer
        return True

    async def get_configuration(
        self, keys: Sequence[str] | None = None
    ) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """Read configuration keys: ({key: {value, readonly}}, unknown keys)."""
        result = await self._command(call.GetConfiguration(key=list(keys) if keys else None))
        values = {
            item["key"]: {"value": item.get("value"), "readonly": item.get("readonly", False)}
            for item in (result.configuration_key or [])
        }
        return values, list(result.unknown_key or [])

    async def change_configuration(self, key: str, value: str) -> str:
        """Change one configuration key."""
        result = await self._command(call.ChangeConfiguration(key=key, value=value))
        return str(result.status)

    async def trigger_message(self, message: str, connector_id: int | None = None) -> str:
        """Ask the station to send a message now."""
        result = await self._command(
            call.TriggerMessage(requested_message=message, connector_id=connector_id)
        )
        return str(result.status)

    async def remote_start(
        self,
        id_tag: str,
        connector_id: int | None = None,
        charging_profile: Mapping[str, Any] | None = None,
    ) -> str:
        """Start a transaction remotely."""
        result = await self._command(
            call.RemoteStartTransaction(
                id_tag=id_tag,
                connector_id=connector_id,
                charging_profile=dict(charging_profile) if charging_profile else None,
            )
        )
        return str(result.status)

    async def remote_stop(self, transaction_id: str) -> str:
        """Stop a transaction remotely (OCPP 1.6 knows numbers only)."""
        try:
            number = int(transaction_id)
        except ValueError:
            number = None
        if number is None or str(number) != transaction_id:
            raise CommandError(f"{transaction_id!r} is not an OCPP 1.6 transaction id")
        result = await self._command(call.RemoteStopTransaction(transaction_id=number))
        return str(result.status)

    async def reset(self, reset_type: str) -> str:
        """Reset the station (Soft or Hard)."""
        result = await self._command(call.Reset(type=reset_type))
        return str(result.status)

    async def unlock_connector(self, connector_id: int) -> str:
        """Unlock a connector."""
        result = await self._command(call.UnlockConnector(connector_id=connector_id))
        return str(result.status)

    async def change_availability(self, connector_id: int, availability: str) -> str:
        """Make a connector (0 = whole station) Operative or Inoperative."""
        result = await self._command(
            call.ChangeAvailability(connector_id=connector_id, type=availability)
        )
        return str(result.status)

    async def set_charging_profile(self, connector_id: int, profile: Mapping[str, Any]) -> str:
        """Install a charging profile (snake_case keys)."""
        result = await self._command(
            call.SetChargingProfile(connector_id=connector_id, cs_charging_profiles=dict(profile))
        )
        return str(result.status)

    async def clear_charging_profile(
        self,
        profile_id: int | None = None,
        connector_id: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> str:
        """Clear charging profiles matching the criteria."""
        result = await self._command(
            call.ClearChargingProfile(
                id=profile_id,
                connector_id=connector_id,
                charging_profile_purpose=purpose,
                stack_level=stack_level,
            )
        )
        return str(result.status)

    async def send_local_list(
        self, version: int, update_type: str, entries: Sequence[Mapping[str, Any]]
    ) -> str:
        """Send the local authorization list."""
        result = await self._command(
            call.SendLocalList(
                list_version=version,
                update_type=update_type,
                local_authorization_list=_wired_list(entries),
            )
        )
        return str(result.status)

    async def clear_cache(self) -> str:
        """Empty the station's authorization cache."""
        result = await self._command(call.ClearCache())
        return str(result.status)

    async def get_local_list_version(self) -> int:
        """Version of the local authorization list the station holds."""
        result = await self._command(call.GetLocalListVersion())
        return int(result.list_version)

    async def get_composite_schedule(
        self, connector_id: int, duration: int, unit: str
    ) -> dict[str, Any] | None:
        """The schedule in force on a connector (None when the station has none)."""
        result = await self._command(
            call.GetCompositeSchedule(
                connector_id=connector_id, duration=duration, charging_rate_unit=unit
            )
        )
        if result.status != "Accepted" or not isinstance(result.charging_schedule, dict):
            return None
        return dict(result.charging_schedule)

    async def data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: str | None = None
    ) -> tuple[str, str | None]:
        """Send a DataTransfer."""
        result = await self._command(
            call.DataTransfer(vendor_id=vendor_id, message_id=message_id, data=data)
        )
        return str(result.status), result.data


_MESSAGE_TYPES = frozenset({MessageType.Call, MessageType.CallResult, MessageType.CallError})
# Schema deviations in a station's answer that do no harm (the value is still usable).
_HARMLESS = frozenset({"maxLength", "additionalProperties"})


class _InvalidRequestError(Exception):
    """A command that would not be valid OCPP 1.6: not sent."""


class _UnusableAnswerError(Exception):
    """A station's answer that cannot be used (its cause says why)."""


def _load(raw_msg: str | bytes) -> list[Any]:
    """A frame as a non-empty JSON array; FormationViolation when it is not readable."""
    try:
        frame = json.loads(raw_msg)
    except (ValueError, RecursionError) as err:
        # Not UTF-8, not JSON, more digits than Python converts, nesting too deep.
        cause = f"frame is not readable JSON: {type(err).__name__}"
        raise FormationViolationError(description=cause, details={"cause": cause}) from err
    if not isinstance(frame, list):
        cause = f"an OCPP message is a JSON array, not {type(frame).__name__}"
        raise ProtocolError(description=cause, details={"cause": cause})
    if not frame:
        cause = "Message does not contain MessageTypeId"
        raise ProtocolError(description=cause, details={"cause": cause})
    return frame


# The OCPP 1.6 schemas, read by us with their decimals (multipleOf 0.1) as Decimal: the
# library caches one validator per action whichever float type its first caller asked
# for (its sending side asks for Decimal, other callers for float), so sharing its cache
# can compare floats with Decimals and raise.
# Requests already checked against their schema (as sent: action and payload).
_VALID_REQUESTS: set[str] = set()
_VALID_REQUESTS_KEPT = 256
_WIRED_TOKENS = itertools.count()
_WIRED_LISTS: dict[tuple[int, ...], tuple[tuple[Any, ...], _Wired]] = {}
_WIRED_LISTS_KEPT = 64
_CHECKED_ANSWERS: dict[tuple[str, str], list[Any]] = {}
_CHECKED_ANSWERS_KEPT = 512
_ANSWER_KEY_MAX = 2000
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)\Z")
_SCHEMA_DIR = Path(ocpp_messages.__file__).parent / "v16" / "schemas"
_VALIDATORS: dict[tuple[int, str], Any] = {}


def _decimals(value: Any) -> Any:
    """A JSON value with its floats as Decimal (as written, not as binary floats)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value


@functools.cache
def _camel(key: str) -> str:
    """A field's name as OCPP writes it (the library's rule, worked out once per name)."""
    return str(next(iter(snake_to_camel_case({key: None}))))


class _Wired(list[Any]):
    """A list already in wire form, never changed once made (see `_wired_list`)."""

    __slots__ = ("token",)

    def __init__(self, items: list[Any]) -> None:
        super().__init__(items)
        self.token = next(_WIRED_TOKENS)


def _wired_list(entries: Sequence[Mapping[str, Any]]) -> _Wired:
    """A badge list in wire form, made once for the same entries.

    A badge list goes to every station, in the same chunks of the same entry objects
    (the badges keep them per day): wired once, not once per station. The cache holds
    the entries it was made from, so their ids cannot be reused while it is kept.
    """
    key = tuple(map(id, entries))
    known = _WIRED_LISTS.get(key)
    if known is not None and all(a is b for a, b in zip(known[0], entries, strict=True)):
        return known[1]
    wired = _Wired([_wire(dict(entry)) for entry in entries])
    if len(_WIRED_LISTS) >= _WIRED_LISTS_KEPT:
        _WIRED_LISTS.clear()
    _WIRED_LISTS[key] = (tuple(entries), wired)
    return wired


def _key_form(value: Any) -> Any:
    """A payload as it stands in the checked-requests key.

    Two requests with the same key pass or fail the schema alike: a badge list in wire
    form stands by its token (never changed once made); a timestamp by its length (the
    schemas check a date-time's type and length, not its digits), so a profile that
    starts now is not checked anew every second.
    """
    if isinstance(value, _Wired):
        return f"\x00wired {value.token}"
    if isinstance(value, str):
        return f"\x00date-time {len(value)}" if _DATE_TIME.match(value) else value
    if isinstance(value, dict):
        return {k: _key_form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_key_form(v) for v in value]
    return value


def _answer_errors(action: str, payload: dict[str, Any]) -> list[Any]:
    """`_schema_errors` of an answer, worked out once for the same small answer.

    Most answers are the same few words ({"status": "Accepted"}) from every station.
    """
    text = json.dumps(payload, sort_keys=True, default=str)
    if len(text) > _ANSWER_KEY_MAX:
        return _schema_errors(MessageType.CallResult, action, payload)
    key = (action, text)
    errors = _CHECKED_ANSWERS.get(key)
    if errors is None:
        errors = _schema_errors(MessageType.CallResult, action, payload)
        if len(_CHECKED_ANSWERS) >= _CHECKED_ANSWERS_KEPT:
            _CHECKED_ANSWERS.clear()
        _CHECKED_ANSWERS[key] = errors
    return errors


def _wire(value: Any) -> Any:
    """A command as sent: camelCase keys, no None.

    What the library does, without its deep copies: a badge list of hundreds of entries
    goes to every station.
    """
    if isinstance(value, _Wired):
        return value
    if isinstance(value, dict):
        return {_camel(k): _wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_wire(v) for v in value if v is not None]
    if is_dataclass(value) and not isinstance(value, type):
        return _wire({f.name: getattr(value, f.name) for f in fields(value)})
    return value


def load_schemas() -> None:
    """Read every OCPP 1.6 schema (files: not in the event loop), once per process."""
    for action in Action:
        for message_type in (MessageType.Call, MessageType.CallResult):
            with contextlib.suppress(OSError, ValueError):
                _validator(message_type, action.value)


def _validator(message_type: int, action: str) -> Any:
    key = (message_type, action)
    validator = _VALIDATORS.get(key)
    if validator is None:
        name = f"{action}Response" if message_type == MessageType.CallResult else action
        schema = json.loads(
            (_SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8-sig"), parse_float=Decimal
        )
        # The library's validator class (Heartbeat's schema has no decimals).
        kind = type(get_validator(MessageType.Call, "Heartbeat", "1.6"))
        validator = _VALIDATORS[key] = kind(schema)
    return validator


def _schema_errors(message_type: int, action: str, payload: Any) -> list[Any]:
    """Where a payload departs from its OCPP 1.6 schema (jsonschema ValidationErrors)."""
    return list(_validator(message_type, action).iter_errors(_decimals(payload)))


def _schema_error(error: Any) -> OCPPError:
    # error: a jsonschema ValidationError (the library's validator).
    """The OCPP-J 1.6 error code for a schema violation (section 4.2.3)."""
    where = "/".join(str(p) for p in error.absolute_path) or "payload"
    cause = f"{where}: {error.message[:200]}"
    match error.validator:
        case "required":  # the payload is incomplete
            exception: type[OCPPError] = ProtocolError
        case "type" | "maxLength" | "minLength":  # not of the field's data type
            exception = TypeConstraintViolationError
        case "enum" | "minimum" | "maximum" | "multipleOf" | "format":  # a wrong value
            exception = PropertyConstraintViolationError
        case "minItems" | "maxItems":  # too few or too many
            exception = OccurenceConstraintViolationError
        case _:  # additionalProperties and the rest: not the structure of the action
            exception = FormationViolationError
    return exception(description=cause, details={"cause": cause})


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _check_timestamp(timestamp: str) -> None:
    try:
        parse_timestamp(timestamp)
    except MeterValueError as err:
        raise _formation(str(err)) from err


def _parse_samples(meter_value: list[dict[str, Any]]) -> list[Sample]:
    try:
        return parse_meter_values(meter_value)
    except MeterValueRangeError as err:
        raise PropertyConstraintViolationError(
            description=str(err), details={"cause": str(err)}
        ) from err
    except MeterValueError as err:
        raise _formation(str(err)) from err


_METER_VALUES = Action.meter_values.value
_METER_VALUES_KEYS = {
    "connectorId": "connector_id",
    "transactionId": "transaction_id",
    "meterValue": "meter_value",
}


def _snake_meter_values(payload: dict[str, Any]) -> dict[str, Any]:
    """A MeterValues payload with the keys the checks below expect (snake_case).

    Only the keys of the message are renamed (a sampled value's keys are single words);
    anything else is left as it is and refused by the checks.
    """
    converted = {_METER_VALUES_KEYS.get(key, key): value for key, value in payload.items()}
    meter_value = converted.get("meter_value")
    if isinstance(meter_value, list):
        converted["meter_value"] = [
            {("sampled_value" if key == "sampledValue" else key): v for key, v in entry.items()}
            if isinstance(entry, dict)
            else entry
            for entry in meter_value
        ]
    return converted


_SAMPLED_KEYS = frozenset({"value", "context", "format", "measurand", "phase", "location", "unit"})


def _check_meter_values(
    payload: dict[str, Any],
) -> tuple[int, int | None, list[dict[str, Any]]]:
    """Validate a MeterValues payload (snake_case) as its OCPP 1.6 JSON schema does."""
    unexpected = set(payload) - {"connector_id", "transaction_id", "meter_value"}
    if unexpected:
        raise _formation(f"unexpected fields {sorted(unexpected)}")
    if "connector_id" not in payload or "meter_value" not in payload:
        raise ProtocolError(
            description="MeterValues needs connectorId and meterValue",
            details={"cause": "missing required field"},
        )
    connector_id, transaction_id = payload["connector_id"], payload.get("transaction_id")
    if not _is_int(connector_id) or connector_id < 0:
        raise _type_error("connectorId must be a non-negative integer")
    if transaction_id is not None and not _is_int(transaction_id):
        raise _type_error("transactionId must be an integer")
    _check_range("connectorId", connector_id, 0, MAX_ID)
    if transaction_id is not None:
        _check_range("transactionId", transaction_id, -MAX_ID - 1, MAX_ID)
    meter_value = payload["meter_value"]
    if not isinstance(meter_value, list):
        raise _type_error("meterValue must be an array")
    if not meter_value:
        raise _occurrence("meterValue needs at least one item")
    for entry in meter_value:
        if not isinstance(entry, dict) or set(entry) - {"timestamp", "sampled_value"}:
            raise _formation("meterValue items have timestamp and sampledValue only")
        if not isinstance(entry.get("timestamp"), str):
            raise _type_error("meterValue.timestamp must be a date-time string")
        samples = entry.get("sampled_value")
        if not isinstance(samples, list):
            raise _type_error("sampledValue must be an array")
        if not samples:
            raise _occurrence("sampledValue needs at least one item")
        for sample in samples:
            if not isinstance(sample, dict) or set(sample) - _SAMPLED_KEYS:
                raise _formation("sampledValue has unexpected fields")
            if not all(isinstance(v, str) for v in sample.values()) or "value" not in sample:
                raise _type_error("sampledValue fields are strings and value is required")
    return connector_id, transaction_id, meter_value


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        cause = f"{name} {value} is outside {low}..{high}"
        raise PropertyConstraintViolationError(description=cause, details={"cause": cause})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_error(cause: str) -> OCPPError:
    return TypeConstraintViolationError(description=cause, details={"cause": cause})


def _unhandled(action: Any) -> OCPPError:
    """OCPP-J: NotImplemented for an unknown action, NotSupported for a known one.

    (The ocpp library has the two the other way round.)
    """
    if isinstance(action, str) and action in _ACTIONS:
        return NotSupportedError(
            description=f"{action} is not supported by this central system",
            details={"cause": f"{action} is not supported"},
        )
    return NotImplementedError(
        description=f"Unknown action {action!r}", details={"cause": f"unknown action {action}"}
    )


def _occurrence(cause: str) -> OCPPError:
    return OccurenceConstraintViolationError(description=cause, details={"cause": cause})


def _formation(cause: str) -> OCPPError:
    return FormationViolationError(description=cause, details={"cause": cause})


__all__ = [
    "SUBPROTOCOL",
    "BootInfo",
    "CommandError",
    "IdTagInfo",
    "StationConnection",
    "StationHandler",
]
