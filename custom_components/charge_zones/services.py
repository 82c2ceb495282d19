"""Actions: every OCPP command the central system sends, targeted at a station device.

And the billing export: the sessions of a period as response data and a CSV file.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import date, datetime, time, timedelta
import json
from pathlib import Path
from typing import Any, cast

import probatio as vol

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID, ATTR_DEVICE_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonValueType

from .badges import holder_key
from .billing import ExportFilter, SessionRow, csv_text, export_filename, select, totals
from .central.connection import CommandError
from .const import (
    CONF_CHARGING_MODE,
    CONF_HOLDER,
    CONF_NAME,
    CONF_TAG,
    DOMAIN,
    EXPORT_DIR,
    SUBENTRY_BADGE,
    SUBENTRY_CONNECTION,
    SUBENTRY_ZONE,
)
from .dlm.solar import ChargingMode
from .entity import holder_device_identifier
from .meters import MODELS, BusError
from .site import Site
from .stations import PROFILE_IDS, Station, schedule_start
from .transaction_ids import public_id, transaction_key

ATTR_KEYS = "keys"
ATTR_KEY = "key"
ATTR_VALUE = "value"
ATTR_MESSAGE = "message"
ATTR_CONNECTOR_ID = "connector_id"
ATTR_ID_TAG = "id_tag"
ATTR_TRANSACTION_ID = "transaction_id"
ATTR_TYPE = "type"
ATTR_AVAILABLE = "available"
ATTR_LIMIT = "limit"
ATTR_UNIT = "unit"
ATTR_PURPOSE = "purpose"
ATTR_STACK_LEVEL = "stack_level"
ATTR_PROFILE_ID = "profile_id"
ATTR_NUMBER_PHASES = "number_phases"
ATTR_DURATION = "duration"
ATTR_CONNECTION = "connection"
ATTR_UNIT = "unit"
ATTR_MODEL = "model"
ATTR_START = "start"
ATTR_END = "end"
ATTR_STATIONS = "stations"
ATTR_BADGES = "badges"
ATTR_ZONES = "zones"
ATTR_FILENAME = "filename"
ATTR_VENDOR_ID = "vendor_id"
ATTR_MESSAGE_ID = "message_id"
ATTR_DATA = "data"
ATTR_MODE = "mode"
ATTR_THIS_SESSION = "this_session"

# Messages a station can be asked to send: the action's value (a translation key) -> OCPP
TRIGGER_MESSAGES = {
    "boot_notification": "BootNotification",
    "diagnostics_status_notification": "DiagnosticsStatusNotification",
    "firmware_status_notification": "FirmwareStatusNotification",
    "heartbeat": "Heartbeat",
    "meter_values": "MeterValues",
    "status_notification": "StatusNotification",
}


def _trigger_message(value: Any) -> str:
    """The OCPP message an action names (its key, or the OCPP name earlier versions took)."""
    text = cv.string(value)
    if text in TRIGGER_MESSAGES:
        return TRIGGER_MESSAGES[text]
    if text in TRIGGER_MESSAGES.values():
        return text
    raise vol.Invalid(f"{text} is not one of {', '.join(TRIGGER_MESSAGES)}")


PURPOSES = ["ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"]

STATION = vol.Schema({vol.Required(ATTR_DEVICE_ID): cv.string}, extra=vol.PREVENT_EXTRA)
CONNECTOR = vol.All(vol.Coerce(int), vol.Range(min=0, max=99))
OUTLET = vol.All(vol.Coerce(int), vol.Range(min=1, max=99))  # a real connector, not 0


def _moment(value: Any) -> date | datetime:
    """A date (a whole day) or a datetime."""
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    if (parsed := dt_util.parse_datetime(text)) is None:
        raise vol.Invalid(f"not a date or a date and time: {value}")
    return parsed


NAMES = vol.All(cv.ensure_list, [cv.string])


def _data_text(value: Any) -> str:
    """DataTransfer data: text as it is, a structure (mapping, list, number) as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as err:
        raise vol.Invalid(f"data is not text nor JSON: {err}") from err


SCHEMAS: dict[str, vol.Schema] = {
    "get_configuration": STATION.extend(
        {vol.Optional(ATTR_KEYS): vol.All(cv.ensure_list, [cv.string])}
    ),
    "change_configuration": STATION.extend(
        {vol.Required(ATTR_KEY): cv.string, vol.Required(ATTR_VALUE): cv.string}
    ),
    "trigger_message": STATION.extend(
        {
            vol.Required(ATTR_MESSAGE): _trigger_message,
            vol.Optional(ATTR_CONNECTOR_ID): OUTLET,
        }
    ),
    "remote_start_transaction": STATION.extend(
        {vol.Required(ATTR_ID_TAG): cv.string, vol.Optional(ATTR_CONNECTOR_ID): OUTLET}
    ),
    "remote_stop_transaction": STATION.extend(
        {
            vol.Optional(ATTR_TRANSACTION_ID): vol.Coerce(transaction_key),
            vol.Optional(ATTR_CONNECTOR_ID): OUTLET,
        }
    ),
    "reset": STATION.extend({vol.Optional(ATTR_TYPE, default="soft"): vol.In(["soft", "hard"])}),
    "unlock_connector": STATION.extend({vol.Optional(ATTR_CONNECTOR_ID, default=1): OUTLET}),
    "change_availability": STATION.extend(
        {
            vol.Required(ATTR_AVAILABLE): cv.boolean,
            vol.Optional(ATTR_CONNECTOR_ID, default=0): CONNECTOR,
        }
    ),
    "set_charging_mode": STATION.extend(
        {
            vol.Required(ATTR_MODE): vol.In([str(mode) for mode in ChargingMode]),
            vol.Optional(ATTR_THIS_SESSION, default=False): cv.boolean,
        }
    ),
    "set_charging_profile": STATION.extend(
        {
            vol.Required(ATTR_LIMIT): vol.All(vol.Coerce(float), vol.Range(min=0, max=1_000_000)),
            vol.Optional(ATTR_UNIT, default="A"): vol.In(["A", "W"]),
            vol.Optional(ATTR_CONNECTOR_ID, default=0): CONNECTOR,
            vol.Optional(ATTR_PURPOSE, default="TxDefaultProfile"): vol.In(PURPOSES),
            vol.Optional(ATTR_STACK_LEVEL): vol.All(vol.Coerce(int), vol.Range(min=0, max=99)),
            vol.Optional(ATTR_PROFILE_ID): vol.All(vol.Coerce(int), vol.Range(min=1)),
            vol.Optional(ATTR_NUMBER_PHASES): vol.All(vol.Coerce(int), vol.Range(min=1, max=3)),
            vol.Optional(ATTR_DURATION): vol.All(vol.Coerce(int), vol.Range(min=1)),
        }
    ),
    "clear_charging_profile": STATION.extend(
        {
            vol.Optional(ATTR_PROFILE_ID): vol.All(vol.Coerce(int), vol.Range(min=1)),
            vol.Optional(ATTR_CONNECTOR_ID): CONNECTOR,
            vol.Optional(ATTR_PURPOSE): vol.In(PURPOSES),
            vol.Optional(ATTR_STACK_LEVEL): vol.All(vol.Coerce(int), vol.Range(min=0, max=99)),
        }
    ),
    "update_configuration": vol.Schema(
        {vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string])}
    ),
    "get_local_list_version": STATION,
    "clear_cache": vol.Schema({vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string])}),
    "data_transfer": STATION.extend(
        {
            vol.Required(ATTR_VENDOR_ID): vol.All(cv.string, vol.Length(min=1, max=255)),
            vol.Optional(ATTR_MESSAGE_ID): vol.All(cv.string, vol.Length(max=50)),
            # Text as it is; anything else (a mapping, a list, a number) as JSON text.
            vol.Optional(ATTR_DATA): _data_text,
        }
    ),
    "read_meter": vol.Schema(
        {
            vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
            vol.Required(ATTR_CONNECTION): cv.string,
            vol.Required(ATTR_UNIT): vol.All(vol.Coerce(int), vol.Range(min=1, max=247)),
            vol.Required(ATTR_MODEL): vol.In(list(MODELS)),
        }
    ),
    "export_sessions": vol.Schema(
        {
            vol.Required(ATTR_START): _moment,
            vol.Optional(ATTR_END): _moment,
            vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
            vol.Optional(ATTR_STATIONS): NAMES,
            vol.Optional(ATTR_BADGES): NAMES,
            vol.Optional(ATTR_ZONES): NAMES,
            vol.Optional(ATTR_FILENAME): cv.string,
        }
    ),
}


def _instant(value: date | datetime, *, end: bool) -> datetime:
    """A period bound: a date means its local midnight (the day after, for an end)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt_util.get_default_time_zone())
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(), tzinfo=dt_util.get_default_time_zone())


def _unknown(kind: str, value: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=f"unknown_{kind}_filter",
        translation_placeholders={"value": value},
    )


def _holder_identifier(site: Site, badge: Mapping[str, Any]) -> str:
    """The device identifier of a badge's holder (see sensor.holder_device_identifier)."""
    return holder_device_identifier(site.entry.entry_id, holder_key(str(badge[CONF_HOLDER])))


def _identifiers(hass: HomeAssistant, value: str) -> set[str]:
    """Our identifiers of a device (empty when value is not a device id)."""
    device = dr.async_get(hass).async_get(value)
    if device is None:
        return set()
    return {identifier for domain, identifier in device.identifiers if domain == DOMAIN}


async def _export_filter(
    hass: HomeAssistant, sites: list[Site], data: dict[str, Any], start: datetime, end: datetime
) -> ExportFilter:
    """Resolve the filters: device ids, or OCPP ids / tags / zone names as typed.

    A station or badge no longer configured is still found by the sessions it had.
    """
    seen_stations: set[str] = set()
    seen_tags: set[str] = set()
    if ATTR_STATIONS in data or ATTR_BADGES in data:
        for site in sites:
            stations_seen, tags_seen = await site.sessions.async_seen()
            seen_stations |= stations_seen
            seen_tags |= tags_seen
    stations: set[str] | None = None
    if ATTR_STATIONS in data:
        stations = set()
        for value in data[ATTR_STATIONS]:
            ids = _identifiers(hass, value)
            found = {
                st.station_id
                for site in sites
                for key, st in site.stations.items()
                if key in ids or st.station_id == value
            }
            if not found and not ids and value in seen_stations:
                found = {value}
            if not found:
                raise _unknown("station", value)
            stations |= found
    tags: set[str] | None = None
    if ATTR_BADGES in data:
        tags = set()
        for value in data[ATTR_BADGES]:
            ids = _identifiers(hass, value)
            # A holder's device stands for every badge of that holder.
            found = {
                str(sub.data[CONF_TAG]).upper()
                for site in sites
                for key, sub in site.entry.subentries.items()
                if sub.subentry_type == SUBENTRY_BADGE
                and (
                    key in ids
                    or _holder_identifier(site, sub.data) in ids
                    or str(sub.data[CONF_TAG]).upper() == value.upper()
                )
            }
            if not found and not ids and value.upper() in seen_tags:
                found = {value.upper()}
            if not found:
                raise _unknown("badge", value)
            tags |= found
    zones: set[str] | None = None
    if ATTR_ZONES in data:
        zones = set()
        for value in data[ATTR_ZONES]:
            ids = _identifiers(hass, value) or {value}
            found = {
                key
                for site in sites
                for key, sub in site.entry.subentries.items()
                if sub.subentry_type == SUBENTRY_ZONE
                and (
                    key in ids
                    or str(sub.data.get(CONF_NAME, sub.title)).casefold() == value.casefold()
                )
            }
            if not found:
                raise _unknown("zone", value)
            zones |= found
    return ExportFilter(
        start=start,
        end=end,
        stations=None if stations is None else frozenset(stations),
        tags=None if tags is None else frozenset(tags),
        zones=None if zones is None else frozenset(zones),
    )


def _write(path: Path, text: str) -> None:
    """Write an export (in the executor). With a BOM: spreadsheets then read UTF-8."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".csv.tmp")
    temporary.write_text(text, encoding="utf-8-sig", newline="")
    temporary.replace(path)


def _sites(hass: HomeAssistant) -> list[Site]:
    return [
        entry.runtime_data
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
    ]


def _station(hass: HomeAssistant, device_id: str) -> tuple[Site, Station]:
    device = dr.async_get(hass).async_get(device_id)
    if device is not None:
        for site in _sites(hass):
            for domain, identifier in device.identifiers:
                if domain == DOMAIN and identifier in site.stations:
                    return site, site.stations[identifier]
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="not_a_station",
        translation_placeholders={"device_id": device_id},
    )


async def _run(station: Station, command: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await command()
    except CommandError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_failed",
            translation_placeholders={"station": station.station_id, "error": str(err)},
        ) from err


def _profile(station: Station, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The connector to send to and the profile (ids per purpose, never evicting another)."""
    purpose: str = data[ATTR_PURPOSE]
    connector: int = data[ATTR_CONNECTOR_ID]
    period: dict[str, Any] = {"start_period": 0, "limit": round(data[ATTR_LIMIT], 1)}
    if ATTR_NUMBER_PHASES in data:
        period["number_phases"] = data[ATTR_NUMBER_PHASES]
    schedule: dict[str, Any] = {
        "charging_rate_unit": data[ATTR_UNIT],
        "charging_schedule_period": [period],
    }
    if ATTR_DURATION in data:
        schedule["duration"] = data[ATTR_DURATION]
    profile: dict[str, Any] = {
        "charging_profile_id": data.get(ATTR_PROFILE_ID, PROFILE_IDS[purpose]),
        "stack_level": data.get(ATTR_STACK_LEVEL, station.stack_level),
        "charging_profile_purpose": purpose,
        "charging_profile_kind": "Absolute",
        "charging_schedule": schedule,
    }
    schedule["start_schedule"] = schedule_start()  # Absolute: it starts now
    if purpose == "ChargePointMaxProfile":
        connector = 0  # OCPP: a ChargePointMaxProfile is only valid on connector 0
    elif purpose == "TxProfile":
        session = next(
            (s for s in station.open_sessions() if connector in (0, s.connector_id)), None
        )
        if session is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="no_transaction",
                translation_placeholders={"station": station.station_id},
            )
        # OCPP 1.6's TxProfile names its transaction by number (the hub's own ids).
        profile["transaction_id"] = public_id(session.transaction_id)
        connector = session.connector_id  # a TxProfile goes to its transaction's connector
    return connector, profile


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, in async_setup)."""

    async def get_configuration(call: ServiceCall) -> ServiceResponse:
        _site, station = _station(hass, call.data[ATTR_DEVICE_ID])
        values, unknown = await _run(
            station,
            lambda: station.require_connection().get_configuration(call.data.get(ATTR_KEYS)),
        )
        return {
            "configuration": [
                {"key": key, "value": item["value"], "readonly": item["readonly"]}
                for key, item in sorted(values.items())
            ],
            "unknown_keys": unknown,
        }

    async def change_configuration(call: ServiceCall) -> ServiceResponse:
        _site, station = _station(hass, call.data[ATTR_DEVICE_ID])
        status = await _run(
            station,
            lambda: station.require_connection().change_configuration(
                call.data[ATTR_KEY], call.data[ATTR_VALUE]
            ),
        )
        return {"status": status}

    async def trigger_message(call: ServiceCall) -> ServiceResponse:
        _site, station = _station(hass, call.data[ATTR_DEVICE_ID])
        status = await _run(
            station,
            lambda: station.require_connection().trigger_message(
                call.data[ATTR_MESSAGE], call.data.get(ATTR_CONNECTOR_ID)
            ),
        )
        return {"status": status}

    async def remote_start(call: ServiceCall) -> ServiceResponse:
        _site, station = _station(hass, call.data[ATTR_DEVICE_ID])
        status = await _run(
            station,
            lambda: station.require_connection().remote_start(
                call.data[ATTR_ID_TAG], call.data.get(ATTR_CONNECTOR_ID)
            ),
        )
        return {"status": status}

    async def remote_stop(call: ServiceCall) -> ServiceResponse:
        _site, station = _station(hass, call.data[ATTR_DEVICE_ID])
        transaction_id = call.data.get(ATTR_TRANSACTION_ID)
        if transaction_id is None:
            connector = call.data.get(ATTR_CONNECTOR_ID)
            session = next(
                (
                    s
                    for s in station.open_sessions()
                    if connector is None or s.connector_id == connector
                ),
                None,
            )
            if session is None:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="no_transaction",
                    translation_placeholders={"station": station.station_id},
                )
            transaction_id = session.transaction_id
        status = await _run(
            station, lambda: station.require_connection().remote_stop(transaction_id)
        )
        return {"status": status, "transaction_id": public_id(transaction_id)}

    async def reset(call: ServiceCall) -> ServiceResponse:
        _site, station = _station(hass, call.data[ATTR_DEVICE_ID])
        reset_type = "Hard" if call.data[ATTR_TYPE] == "hard" else "Soft"
        status = await _run(station, lambda: station.require_connection().reset(reset_type))
        return {"status": status}

    async def unlock_connector(call: ServiceCall) -> ServiceResponse:
        _site, station = _station(hass, call.data[ATTR_DEVICE_ID])
        status = await _run(
            station,
            lambda: station.require_connection().unlock_connector(call.data[ATTR_CONNECTOR_ID]),
        )
        return {"status": status}

    async def change_availability(call: ServiceCall) -> ServiceResponse:
        _site, station = _station(hass, call.data[ATTR_DEVICE_ID])
        status = await _run(
            station,
            lambda: station.async_change_availability(
                call.data[ATTR_CONNECTOR_ID], call.data[ATTR_AVAILABLE]
            ),
        )
        return {"status": status}

    async def set_charging_mode(call: ServiceCall) -> ServiceResponse:
        site, station = _station(hass, call.data[ATTR_DEVICE_ID])
        mode: str = call.data[ATTR_MODE]
        if station.config.zone is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="not_managed",
                translation_placeholders={"station": station.station_id},
            )
        if call.data[ATTR_THIS_SESSION]:
            sessions = station.open_sessions()
            if not sessions:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="no_session",
                    translation_placeholders={"station": station.station_id},
                )
            for session in sessions:
                site.sessions.set_charging_mode(session, mode)
            site.load.request_cycle()
            return {"mode": mode, "sessions": [public_id(s.transaction_id) for s in sessions]}
        entry = site.entry
        subentry = entry.subentries[station.config.subentry_id]
        data = {**subentry.data, CONF_CHARGING_MODE: mode}
        if mode == ChargingMode.FAST:
            data.pop(CONF_CHARGING_MODE)
        hass.config_entries.async_update_subentry(entry, subentry, data=data)
        return {"mode": mode, "sessions": []}

    async def set_charging_profile(call: ServiceCall) -> ServiceResponse:
        _site, station = _station(hass, call.data[ATTR_DEVICE_ID])
        connector, profile = _profile(station, dict(call.data))
        status = await _run(
            station,
            lambda: station.require_connection().set_charging_profile(connector, profile),
        )
        station.note_profile(connector, profile, status)
        return {"status": status, "connector_id": connector, "profile": profile}

    async def clear_charging_profile(call: ServiceCall) -> ServiceResponse:
        _site, station = _station(hass, call.data[ATTR_DEVICE_ID])
        status = await _run(
            station,
            lambda: station.require_connection().clear_charging_profile(
                call.data.get(ATTR_PROFILE_ID),
                call.data.get(ATTR_CONNECTOR_ID),
                call.data.get(ATTR_PURPOSE),
                call.data.get(ATTR_STACK_LEVEL),
            ),
        )
        return {"status": status}

    async def update_configuration(call: ServiceCall) -> ServiceResponse:
        device_ids: list[str] | None = call.data.get(ATTR_DEVICE_ID)
        results: dict[str, str] = {}
        if not device_ids:
            for site in _sites(hass):
                results |= await site.async_update_all_local_lists()
            return {"stations": cast(JsonValueType, results)}
        for device_id in device_ids:
            _site, station = _station(hass, device_id)
            results[station.station_id] = await _run(station, station.async_update_local_list)
        return {"stations": cast(JsonValueType, results)}

    async def get_local_list_version(call: ServiceCall) -> ServiceResponse:
        site, station = _station(hass, call.data[ATTR_DEVICE_ID])
        version = await _run(station, lambda: station.require_connection().get_local_list_version())
        return {"version": version, "expected": site.sessions.local_list_version}

    async def clear_cache(call: ServiceCall) -> ServiceResponse:
        """Empty the authorization cache of the stations named (default: every one)."""
        device_ids: list[str] | None = call.data.get(ATTR_DEVICE_ID)
        results: dict[str, str] = {}
        if not device_ids:
            for site in _sites(hass):
                for station in site.stations.values():
                    if not station.connected:
                        results[station.station_id] = "NotConnected"
                        continue
                    try:
                        results[station.station_id] = await station.async_clear_cache()
                    except CommandError as err:
                        results[station.station_id] = f"Failed: {err}"
            return {"stations": cast(JsonValueType, results)}
        for device_id in device_ids:
            _site, station = _station(hass, device_id)
            results[station.station_id] = await _run(station, station.async_clear_cache)
        return {"stations": cast(JsonValueType, results)}

    async def data_transfer(call: ServiceCall) -> ServiceResponse:
        """A vendor-specific DataTransfer to the station; its answer as the response."""
        _site, station = _station(hass, call.data[ATTR_DEVICE_ID])
        status, data = await _run(
            station,
            lambda: station.require_connection().data_transfer(
                call.data[ATTR_VENDOR_ID], call.data.get(ATTR_MESSAGE_ID), call.data.get(ATTR_DATA)
            ),
        )
        return {"status": status, "data": data}

    async def read_meter(call: ServiceCall) -> ServiceResponse:
        """Troubleshooting: read a meter by its Modbus address, as the guide suggests."""
        entry = hass.config_entries.async_get_entry(call.data[ATTR_CONFIG_ENTRY_ID])
        if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="hub_not_loaded"
            )
        site: Site = entry.runtime_data
        wanted = call.data[ATTR_CONNECTION]
        connection = next(
            (
                key
                for key, sub in entry.subentries.items()
                if sub.subentry_type == SUBENTRY_CONNECTION and wanted in (key, sub.title)
            ),
            None,
        )
        if connection is None or connection not in site.load.connections:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_connection",
                translation_placeholders={"connection": wanted},
            )
        model = MODELS[call.data[ATTR_MODEL]]
        try:
            reading = await site.load.async_read(connection, call.data[ATTR_UNIT], model)
        except BusError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="meter_read_failed",
                translation_placeholders={"unit": str(call.data[ATTR_UNIT]), "error": str(err)},
            ) from err
        return {
            "unit": call.data[ATTR_UNIT],
            "model": model.label,
            "read_at": reading.wall.isoformat(),
            "current": list(reading.current),
            "voltage": list(reading.voltage),
            "power": list(reading.power),
            "power_total": reading.power_total,
            "import_energy_wh": reading.import_wh,
            "export_energy_wh": reading.export_wh,
            "frequency": reading.frequency,
        }

    async def export_sessions(call: ServiceCall) -> ServiceResponse:
        """Sessions of a period (by stop time) with totals per holder, and the CSV file."""
        if ATTR_CONFIG_ENTRY_ID in call.data:
            entry = hass.config_entries.async_get_entry(call.data[ATTR_CONFIG_ENTRY_ID])
            if (
                entry is None
                or entry.domain != DOMAIN
                or entry.state is not ConfigEntryState.LOADED
            ):
                raise ServiceValidationError(
                    translation_domain=DOMAIN, translation_key="hub_not_loaded"
                )
            sites = [cast(Site, entry.runtime_data)]
        else:
            sites = _sites(hass)
        start = _instant(call.data[ATTR_START], end=False)
        end = _instant(call.data.get(ATTR_END, dt_util.now()), end=True)
        if end <= start:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="bad_period",
                translation_placeholders={"start": start.isoformat(), "end": end.isoformat()},
            )
        export = await _export_filter(hass, sites, dict(call.data), start, end)
        rows: list[SessionRow] = []
        for site in sites:
            rows.extend(await site.sessions.async_closed_rows(site.holder_of, start, end))
        chosen = select(rows, export)
        by_holder = totals(chosen)
        filename = export_filename(call.data.get(ATTR_FILENAME), start, end)
        path = Path(hass.config.path(EXPORT_DIR, filename))
        await hass.async_add_executor_job(_write, path, csv_text(chosen, by_holder))
        billable = [row for row in chosen if row.billable]
        costs = [row.cost for row in billable if row.cost is not None]
        return cast(
            ServiceResponse,
            {
                "path": str(path),
                "filename": filename,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "sessions": [row.as_dict() for row in chosen],
                "totals": {holder: total.as_dict() for holder, total in by_holder.items()},
                "billable": {
                    "sessions": len(billable),
                    "energy_kwh": round(sum(r.energy_wh or 0.0 for r in billable) / 1000, 3),
                    "cost": round(sum(costs), 2) if costs else None,
                },
                "flagged": {
                    "sessions": len(chosen) - len(billable),
                    "transaction_ids": [
                        public_id(r.transaction_id) for r in chosen if not r.billable
                    ],
                },
            },
        )

    handlers: dict[
        str, tuple[Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]], SupportsResponse]
    ] = {
        "get_configuration": (get_configuration, SupportsResponse.ONLY),
        "change_configuration": (change_configuration, SupportsResponse.OPTIONAL),
        "trigger_message": (trigger_message, SupportsResponse.OPTIONAL),
        "remote_start_transaction": (remote_start, SupportsResponse.OPTIONAL),
        "remote_stop_transaction": (remote_stop, SupportsResponse.OPTIONAL),
        "reset": (reset, SupportsResponse.OPTIONAL),
        "unlock_connector": (unlock_connector, SupportsResponse.OPTIONAL),
        "change_availability": (change_availability, SupportsResponse.OPTIONAL),
        "set_charging_mode": (set_charging_mode, SupportsResponse.OPTIONAL),
        "set_charging_profile": (set_charging_profile, SupportsResponse.OPTIONAL),
        "clear_charging_profile": (clear_charging_profile, SupportsResponse.OPTIONAL),
        "update_configuration": (update_configuration, SupportsResponse.OPTIONAL),
        "get_local_list_version": (get_local_list_version, SupportsResponse.ONLY),
        "clear_cache": (clear_cache, SupportsResponse.OPTIONAL),
        "data_transfer": (data_transfer, SupportsResponse.OPTIONAL),
        "read_meter": (read_meter, SupportsResponse.ONLY),
        # Writes the file too, so it may be called without using the response.
        "export_sessions": (export_sessions, SupportsResponse.OPTIONAL),
    }
    for name, (handler, supports) in handlers.items():
        hass.services.async_register(
            DOMAIN, name, handler, schema=SCHEMAS[name], supports_response=supports
        )
