"""Runtime of one hub: the OCPP server, the stations, the badges and the session store.

The one place that wires them together. Subentry changes are applied incrementally: a new
station is added without touching the others' connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
import contextlib
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
import logging
import ssl
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.event import async_track_point_in_time
from homeassistant.util import dt as dt_util

from .badges import Badge, BadgeBook
from .central.connection import StationConnection, load_schemas
from .central.server import (
    Endpoint,
    Handshake,
    OcppServer,
    StationLinks,
    Verdict,
    authorization_key,
    basic_credentials,
    password_matches,
    valid_station_id,
)
from .const import (
    BADGE_ACTIVE,
    CONF_AMPERAGE,
    CONF_CERTFILE,
    CONF_CHARGING_MODE,
    CONF_CONNECTION,
    CONF_CONNECTORS,
    CONF_CONSUMPTION_METER,
    CONF_DLM_METERS,
    CONF_ENDPOINT,
    CONF_EXPIRY,
    CONF_FAILSAFE_CURRENT,
    CONF_GRID_EXPORT,
    CONF_GRID_METER,
    CONF_GRID_NETS_PHASES,
    CONF_GRID_POWER,
    CONF_GROUP,
    CONF_HEARTBEAT_INTERVAL,
    CONF_HOLDER,
    CONF_HOST,
    CONF_KEYFILE,
    CONF_MAX_CURRENT,
    CONF_METER_INTERVAL,
    CONF_MIN_CURRENT,
    CONF_MODEL,
    CONF_NAME,
    CONF_PARENT_ZONE,
    CONF_PASSWORD,
    CONF_PEAK_LIMIT,
    CONF_PHASE_SWITCHING,
    CONF_POLL_INTERVAL,
    CONF_PORT,
    CONF_PRIORITY,
    CONF_PROFILE_VALIDITY,
    CONF_PV_POWER,
    CONF_RAISE_HOLD,
    CONF_ROTATION_PERIOD,
    CONF_SCHEDULE_PRICE,
    CONF_SCHEDULE_PRICE_BELOW,
    CONF_SCHEDULE_WHEN,
    CONF_SENSOR_INTERVAL,
    CONF_SOLAR_MIN_ON,
    CONF_SOLAR_SMOOTHING,
    CONF_SOLAR_START_DELAY,
    CONF_SOLAR_START_MARGIN,
    CONF_SOLAR_STOP_DELAY,
    CONF_STALE_AFTER,
    CONF_STATION_ID,
    CONF_STATUS,
    CONF_TAG,
    CONF_TLS,
    CONF_UNIT,
    CONF_ZONE,
    CREDENTIALS_REJECTED_AFTER,
    DEFAULT_FAILSAFE_CURRENT,
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_METER_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_PROFILE_VALIDITY,
    DEFAULT_RAISE_HOLD,
    DEFAULT_ROTATION_PERIOD,
    DEFAULT_SENSOR_INTERVAL,
    DEFAULT_SOLAR_MIN_ON,
    DEFAULT_SOLAR_SMOOTHING,
    DEFAULT_SOLAR_START_DELAY,
    DEFAULT_SOLAR_START_MARGIN,
    DEFAULT_SOLAR_STOP_DELAY,
    DEFAULT_STALE_AFTER,
    DOMAIN,
    ENDPOINT_LOCAL,
    ENDPOINT_REMOTE,
    EVENT_DATA_TRANSFER,
    EVENT_FAILSAFE,
    METER_UNREACHABLE_AFTER,
    SUBENTRY_BADGE,
    SUBENTRY_CONNECTION,
    SUBENTRY_METER,
    SUBENTRY_STATION,
    SUBENTRY_ZONE,
    TLS_FILES,
    TLS_HOME_ASSISTANT,
)
from .departures import DeparturePlanner
from .dlm.allocate import Settings as AllocationSettings
from .dlm.budget import ZoneSpec
from .dlm.control import ControlSettings
from .dlm.solar import ChargingMode, SolarSettings
from .loadmanager import FailsafeChange, LoadManager, MeterConfig, ZoneConfig
from .meters import ConnectionConfig, MeterReading
from .publish import Publisher, ReadingPublisher
from .sessions import SessionContext, SessionStore
from .stations import HubSettings, Station, StationConfig
from .subentries import (
    connection_config,
    meter_model,
    station_model_label,
    station_wiring,
    zone_phases,
)
from .tariff import HubTariff
from .zone_limits import (
    ChargingWindow,
    ChargingWindowConfig,
    GridSensors,
    PvProduction,
    ZoneReductions,
    zone_reduction,
)

_LOGGER = logging.getLogger(__package__)


def station_config(subentry: ConfigSubentry) -> StationConfig:
    """A station's configuration from its subentry."""
    data = subentry.data
    remote = data.get(CONF_ENDPOINT) == ENDPOINT_REMOTE
    return StationConfig(
        subentry_id=subentry.subentry_id,
        station_id=data[CONF_STATION_ID],
        model=data[CONF_MODEL],
        connectors=int(data[CONF_CONNECTORS]),
        wiring=station_wiring(data),
        min_current=float(data[CONF_MIN_CURRENT]),
        max_current=float(data[CONF_MAX_CURRENT]),
        # A remote station is never load-managed, whatever its data says.
        zone=None if remote else data.get(CONF_ZONE) or None,
        priority=int(data.get(CONF_PRIORITY, 0)),
        charging_mode=str(data.get(CONF_CHARGING_MODE, ChargingMode.FAST)),
        phase_switching=bool(data.get(CONF_PHASE_SWITCHING)) and not remote,
        endpoint=ENDPOINT_REMOTE if remote else ENDPOINT_LOCAL,
        password=data.get(CONF_PASSWORD) or None,
    )


def badge_from(subentry: ConfigSubentry) -> Badge:
    """A badge from its subentry."""
    data = subentry.data
    expiry = data.get(CONF_EXPIRY)
    return Badge(
        tag=data[CONF_TAG],
        holder=data[CONF_HOLDER],
        status=data.get(CONF_STATUS, BADGE_ACTIVE),
        expiry=date.fromisoformat(expiry) if expiry else None,
        group=data.get(CONF_GROUP) or None,
        charging_mode=data.get(CONF_CHARGING_MODE) or None,
    )


def meter_config(subentry: ConfigSubentry) -> MeterConfig:
    """A meter from its subentry (raises ValueError when unusable)."""
    data = subentry.data
    return MeterConfig(
        key=subentry.subentry_id,
        name=data.get(CONF_NAME, subentry.title),
        connection=data[CONF_CONNECTION],
        unit=int(data[CONF_UNIT]),
        model=meter_model(data),
        amperage=float(data[CONF_AMPERAGE]),
        poll_interval=float(data.get(CONF_POLL_INTERVAL, DEFAULT_POLL_INTERVAL)),
        grid=bool(data.get(CONF_GRID_METER, False)),
    )


def zone_config(subentry: ConfigSubentry) -> ZoneConfig:
    """A zone from its subentry."""
    data = subentry.data
    return ZoneConfig(
        key=subentry.subentry_id,
        name=data.get(CONF_NAME, subentry.title),
        spec=ZoneSpec(
            key=subentry.subentry_id,
            max_current=float(data[CONF_MAX_CURRENT]),
            phases=zone_phases(data),
            parent=data.get(CONF_PARENT_ZONE) or None,
            dlm_meters=tuple(data.get(CONF_DLM_METERS) or ()),
            consumption_meter=data.get(CONF_CONSUMPTION_METER) or None,
            failsafe_current=float(data.get(CONF_FAILSAFE_CURRENT, DEFAULT_FAILSAFE_CURRENT)),
            stale_after=float(data.get(CONF_STALE_AFTER, DEFAULT_STALE_AFTER)),
        ),
    )


def failsafe_issue_id(entry_id: str, zone: str) -> str:
    """Repair issue id of a zone in fail-safe."""
    return f"failsafe_{entry_id}_{zone}"


def unknown_station_issue_id(entry_id: str, station_id: str) -> str:
    """Repair issue id for a station that tried to connect without being configured."""
    return f"unknown_station_{entry_id}_{station_id}"


def issue_id(kind: str, entry_id: str, key: str = "") -> str:
    """Repair issue id of one hub: kind, entry, the station or meter concerned."""
    return f"{kind}_{entry_id}_{key}" if key else f"{kind}_{entry_id}"


# Repair issue kinds raised per hub (all removed with the hub).
ISSUE_KINDS = (
    "unknown_station",
    "failsafe",
    "credentials_rejected",
    "key_not_delivered",
    "profile_refused",
    "limit_ignored",
    "meter_unreachable",
    "port_unavailable",
    "dlm_cycle_failed",
    "local_list_refused",
    "local_list_full",
)


def tls_files(hass: HomeAssistant, data: Any) -> tuple[str, str] | None:
    """Certificate and key files the OCPP server uses (None: plain ws://)."""
    mode = data.get(CONF_TLS)
    if mode == TLS_FILES:
        return str(data[CONF_CERTFILE]), str(data[CONF_KEYFILE])
    if mode == TLS_HOME_ASSISTANT:
        http = getattr(hass, "http", None)
        cert = getattr(http, "ssl_certificate", None)
        key = getattr(http, "ssl_key", None)
        if not cert or not key:
            raise ValueError("Home Assistant's web server has no certificate (http: ssl_*)")
        return str(cert), str(key)
    return None


def server_ssl_context(files: tuple[str, str]) -> ssl.SSLContext:
    """A TLS server context (blocking: run in the executor). Raises OSError/ssl.SSLError."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(*files)
    return context


@dataclass(frozen=True, slots=True)
class UnknownStation:
    """A station that tried to connect but is not configured."""

    station_id: str
    remote: str


class Site:
    """Everything one hub runs."""

    def __init__(self, hass: HomeAssistant, entry: ChargeZonesConfigEntry) -> None:
        """Prepare from the entry (start with async_start)."""
        self.hass = hass
        self.entry = entry
        self.tariff = HubTariff(hass, lambda: self.entry.options)
        self.solar_tariff = HubTariff(hass, lambda: self.entry.options, solar=True)
        self.sessions = SessionStore(
            hass,
            entry.entry_id,
            SessionContext(
                zone_of=self._zone_of,
                price=self.tariff,
                holder_of=self.holder_of,
                solar_share=self._solar_share,
                solar_price=self.solar_tariff,
            ),
        )
        self.badges = BadgeBook()
        self.stations: dict[str, Station] = {}  # by subentry id
        self._by_ocpp_id: dict[str, Station] = {}
        # Stations with an open websocket (subentry ids): counted at every connect.
        self._connected: set[str] = set()
        self.unknown_stations: dict[str, UnknownStation] = {}
        self._invalid_ids: set[str] = set()
        self._meters_reported: set[str] = set()
        self._cycle_reported = False
        self.hub_device_id: str | None = None
        self._station_added: list[Callable[[Station], None]] = []
        self._publishers: dict[str, ReadingPublisher] = {}  # by subentry id
        # The hub's energy-charged sensors move with every station's readings: written
        # at most once per sensor update interval too.
        self.energy_published = Publisher(hass, self.sensor_interval)
        self.sessions.energy_listeners.append(self.energy_published.notify)
        self._station_edited: list[Callable[[Station], None]] = []
        self._configured: list[Callable[[], None]] = []
        self._listeners: list[Callable[[], None]] = []
        self._config_listeners: list[Callable[[], None]] = []
        self._address = self._wanted_address()
        self._rejections: dict[str, int] = {}  # station id: refused handshakes in a row
        self._accepted_badges: frozenset[str] = frozenset()  # tags accepted today
        self._badge_timer: Callable[[], None] | None = None  # next badge to expire
        self._wrong_endpoint: set[str] = set()
        self.links = StationLinks(
            lookup=self._lookup,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
        )
        self.server = self._new_server(None)
        self.load = LoadManager(
            stations=self.stations.values,
            create_task=self.create_task,
            on_failsafe=self._on_failsafe,
            control=self._control_settings(),
            allocation=self._allocation_settings(),
            solar=self._solar_settings(),
        )
        # Zones' reduced maximums (tariff windows, prices), from Home Assistant entities.
        self.zone_reductions = ZoneReductions(hass, self.load.set_zone_reductions)
        # The Scheduled mode's window (hub options), from Home Assistant entities.
        self.charging_window = ChargingWindow(hass, self.load.set_schedule_open)
        # The PV production sensor (hub options): the solar/grid split of charged energy.
        self.pv_production = PvProduction(hass, self._set_pv_power)
        # The grid connection as Home Assistant power sensors (hub options).
        self.grid_sensors = GridSensors(hass, self._set_grid_reading)
        # Badge holders' departure plans: the cheapest hours of the price forecast.
        self.departures = DeparturePlanner(hass, self.sessions, self.load.set_session_windows)

    # --- lifecycle -------------------------------------------------------------

    @property
    def settings(self) -> HubSettings:
        """Hub-wide settings (options)."""
        options = self.entry.options
        return HubSettings(
            heartbeat_interval=int(
                options.get(CONF_HEARTBEAT_INTERVAL, DEFAULT_HEARTBEAT_INTERVAL)
            ),
            meter_interval=int(options.get(CONF_METER_INTERVAL, DEFAULT_METER_INTERVAL)),
        )

    def _wanted_address(self) -> tuple[str, int, tuple[Any, Any, Any]]:
        """Where and how the server listens (a change moves it)."""
        data = self.entry.data
        tls = (data.get(CONF_TLS), data.get(CONF_CERTFILE), data.get(CONF_KEYFILE))
        return data[CONF_HOST], int(data[CONF_PORT]), tls

    def _new_server(self, ssl_context: ssl.SSLContext | None) -> OcppServer:
        host, port, _tls = self._address
        return OcppServer(
            host, port, links=self.links, check=self.check_handshake, ssl_context=ssl_context
        )

    async def _async_start_server(self) -> None:
        """(Re)create the server for the wanted address and TLS, and start it.

        Raises OSError (port or certificate) after raising the hub's repair issue.
        """
        host, port, _tls = self._address
        try:
            try:
                files = tls_files(self.hass, self.entry.data)
            except ValueError as err:
                raise OSError(str(err)) from err
            context = (
                None
                if files is None
                else await self.hass.async_add_executor_job(server_ssl_context, files)
            )
            self.server = self._new_server(context)
            await self.server.start()
        except OSError as err:  # ssl.SSLError is an OSError
            reason = err.strerror or str(err)
            self._raise_issue(
                "port_unavailable",
                "",
                ir.IssueSeverity.ERROR,
                {"host": host, "port": str(port), "error": reason},
            )
            raise
        ir.async_delete_issue(self.hass, DOMAIN, issue_id("port_unavailable", self.entry.entry_id))

    async def async_start(self) -> None:
        """Load the store, build stations and badges, start listening."""
        await self.hass.async_add_executor_job(load_schemas)
        await self.sessions.async_load()
        self._sync_badges()
        for subentry in self.entry.subentries.values():
            if subentry.subentry_type == SUBENTRY_STATION:
                self._add_station(subentry)
        await self._configure_load()
        self.load.add_listener(self._check_meter_issues)
        await self.load.async_start()
        await self._async_start_server()

    async def async_stop(self) -> None:
        """Stop the server and write the store."""
        if self._badge_timer is not None:
            self._badge_timer()
            self._badge_timer = None
        for publisher in self._publishers.values():
            publisher.close()
        self._publishers.clear()
        self.energy_published.close()
        self.zone_reductions.close()
        self.charging_window.close()
        self.pv_production.close()
        self.grid_sensors.close()
        self.departures.close()
        await self.load.async_stop()
        await self.server.stop()
        await self.links.close_all("central system stopping")
        await self.sessions.async_flush()

    async def async_apply_entry(self) -> None:
        """Apply an updated entry: address, options, stations and badges."""
        address = self._wanted_address()
        if address != self._address:
            _LOGGER.info("Moving the OCPP server to %s:%s", *address[:2])
            await self.server.stop()
            self._address = address
            try:
                await self._async_start_server()
            except OSError as err:
                _LOGGER.error(
                    "The OCPP server cannot listen on %s:%s (%s); retrying setup",
                    *address[:2],
                    err.strerror or err,
                )
                self.hass.config_entries.async_schedule_reload(self.entry.entry_id)
                return

        for publisher in (*self._publishers.values(), self.energy_published):
            publisher.interval = self.sensor_interval
        wanted = {
            s.subentry_id: s
            for s in self.entry.subentries.values()
            if s.subentry_type == SUBENTRY_STATION
        }
        for subentry_id in list(self.stations):
            if subentry_id not in wanted:
                self._remove_station(subentry_id)
        edited: list[Station] = []
        for subentry_id, subentry in wanted.items():
            station = self.stations.get(subentry_id)
            if station is None:
                self._add_station(subentry)
                continue
            config = station_config(subentry)
            if config != station.config:
                edited.append(station)
                if config.station_id != station.station_id:
                    self._by_ocpp_id.pop(station.station_id, None)
                    self._by_ocpp_id[config.station_id] = station
                    if (connection := station.connection) is not None:
                        station.detach(connection)
                        self._connected.discard(station.config.subentry_id)
                        await connection._connection.close(1000, "station renamed")
                    self._rename_device(station, config.station_id)
                old = station.config
                station.reconfigure(config)
                if old.password != config.password or old.endpoint != config.endpoint:
                    self._rejections.pop(config.station_id, None)
                    self._wrong_endpoint.discard(config.station_id)
                    self._delete_issue("credentials_rejected", subentry_id)
                    if old.endpoint != config.endpoint and station.connection is not None:
                        await station.connection._connection.close(1000, "endpoint changed")
                    elif config.password and station.connected:
                        self.create_task(
                            self._async_deliver_key(station), f"key to {station.station_id}"
                        )
                    elif not config.password:
                        self._delete_issue("key_not_delivered", subentry_id)
                if old.zone is not None and config.zone is None:
                    self._delete_issue("profile_refused", subentry_id)
                    self._delete_issue("limit_ignored", subentry_id)
                    # Not load-managed any more: no allocation (nor pause) to show.
                    station.allocation = None
                    station.allocation_by = None
                    station.connector_allocations = {}
                    station.notify()
                if old.model != config.model:
                    self._configured_model_to_device(station)
                if config.zone is not None and old.zone != config.zone:
                    station.allocation = None
                    self.load.station_ready(station)
                if (
                    station.connected
                    and config.zone is None
                    # its maximum changed, or it left load management
                    and (old.max_current != config.max_current or old.zone is not None)
                ):
                    self.create_task(
                        _quietly(station.async_set_limit(config.max_current)),
                        f"limit {station.station_id}",
                    )

        await self._configure_load()
        for station in edited:
            for listener in list(self._station_edited):
                listener(station)
        if (revoked := self._sync_badges()) is not None:
            self._push_badges(revoked)
        for station in self.stations.values():
            if station.connected:
                self.create_task(
                    station.async_apply_settings(), f"settings to {station.station_id}"
                )
        self.notify(configuration=True)

    def create_task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run a task tied to the entry (cancelled on unload)."""
        return self.entry.async_create_background_task(self.hass, coro, f"{DOMAIN} {name}")

    def _control_settings(self) -> ControlSettings:
        hold = float(self.entry.options.get(CONF_RAISE_HOLD, DEFAULT_RAISE_HOLD))
        # Readings settle within a few seconds of a change: never trust them sooner than
        # the hold, and never wait longer than 10 s.
        validity = int(self.entry.options.get(CONF_PROFILE_VALIDITY, DEFAULT_PROFILE_VALIDITY))
        return ControlSettings(
            raise_hold=hold, settle_time=min(10.0, hold), validity=validity * 60.0
        )

    def _allocation_settings(self) -> AllocationSettings:
        period = int(self.entry.options.get(CONF_ROTATION_PERIOD, DEFAULT_ROTATION_PERIOD))
        return AllocationSettings(running_bonus=period * 60.0)

    def _solar_share(self, start: float, end: float) -> float:
        return self.load.solar_log.share(start, end)

    def _set_grid_reading(self, reading: MeterReading | None) -> None:
        self.load.grid_sensor_reading = reading

    def _set_pv_power(self, watts: float | None, at: float | None) -> None:
        self.load.pv_power, self.load.pv_at = watts, at

    def _solar_settings(self) -> SolarSettings:
        options = self.entry.options
        return SolarSettings(
            start_delay=float(options.get(CONF_SOLAR_START_DELAY, DEFAULT_SOLAR_START_DELAY)),
            stop_delay=float(options.get(CONF_SOLAR_STOP_DELAY, DEFAULT_SOLAR_STOP_DELAY)),
            min_on_time=float(options.get(CONF_SOLAR_MIN_ON, DEFAULT_SOLAR_MIN_ON)),
            smoothing=float(options.get(CONF_SOLAR_SMOOTHING, DEFAULT_SOLAR_SMOOTHING)),
            start_margin=float(options.get(CONF_SOLAR_START_MARGIN, DEFAULT_SOLAR_START_MARGIN)),
            netted=bool(options.get(CONF_GRID_NETS_PHASES)),
        )

    async def _configure_load(self) -> None:
        """Hand the connections, meters and zones to the load manager."""
        self.load.control = self._control_settings()
        self.load.allocation_settings = self._allocation_settings()
        self.load.solar_settings(self._solar_settings())
        self.load.set_peak_target(self.entry.options.get(CONF_PEAK_LIMIT))
        options = self.entry.options
        below = options.get(CONF_SCHEDULE_PRICE_BELOW)
        self.pv_production.configure(options.get(CONF_PV_POWER) or None)
        self.grid_sensors.configure(
            options.get(CONF_GRID_POWER) or None, options.get(CONF_GRID_EXPORT) or None
        )
        self.departures.configure(options.get(CONF_SCHEDULE_PRICE) or None)
        self.charging_window.configure(
            ChargingWindowConfig(
                when=options.get(CONF_SCHEDULE_WHEN) or None,
                price=options.get(CONF_SCHEDULE_PRICE) or None,
                price_below=None if below is None else float(below),
            )
        )
        connections: dict[str, ConnectionConfig] = {}
        meters: dict[str, MeterConfig] = {}
        zones: dict[str, ZoneConfig] = {}
        for subentry in self.entry.subentries.values():
            try:
                if subentry.subentry_type == SUBENTRY_CONNECTION:
                    connections[subentry.subentry_id] = connection_config(subentry.data)
                elif subentry.subentry_type == SUBENTRY_METER:
                    meters[subentry.subentry_id] = meter_config(subentry)
                elif subentry.subentry_type == SUBENTRY_ZONE:
                    zones[subentry.subentry_id] = zone_config(subentry)
            except (KeyError, ValueError) as err:
                _LOGGER.error(
                    "%s %s is not usable: %s", subentry.subentry_type, subentry.title, err
                )
        await self.load.async_configure(connections, meters, zones)
        self.zone_reductions.configure(
            [
                reduction
                for subentry in self.entry.subentries.values()
                if subentry.subentry_type == SUBENTRY_ZONE
                and (reduction := zone_reduction(subentry)) is not None
            ]
        )
        for listener in list(self._configured):
            listener()

    @callback
    def _on_failsafe(self, change: FailsafeChange) -> None:
        """Fire the fail-safe event and raise (or clear) the guide's repair message."""
        zone = self.load.zones.get(change.zone)
        info = change.info
        meter = self.load.meters.get(info.meter) if info else None
        meter_name = meter.name if meter else (info.meter if info else "?")
        if info is None or info.meter not in self.load.meters:
            reason = "meter_missing"
        elif info.age is None:
            reason = "never_read"
        else:
            reason = "stale"
        self.hass.bus.async_fire(
            EVENT_FAILSAFE,
            {
                "entry_id": self.entry.entry_id,
                "zone_id": change.zone,
                "zone": zone.name if zone else change.zone,
                "meter": meter_name,
                "reason": reason,
                "age": None if info is None or info.age is None else round(info.age, 1),
                "failsafe_current": zone.spec.failsafe_current if zone else None,
                "state": "entered" if change.entered else "left",
            },
        )
        key = failsafe_issue_id(self.entry.entry_id, change.zone)
        if change.entered and info is not None:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                key,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="dlm_meters_unread",
                translation_placeholders={
                    "zone": zone.name if zone else change.zone,
                    "meter": meter_name,
                    "seconds": f"{info.stale_after:g}",
                    "current": f"{zone.spec.failsafe_current:g}" if zone else "6",
                },
            )
        else:
            ir.async_delete_issue(self.hass, DOMAIN, key)

    # --- listeners --------------------------------------------------------------

    def on_configured(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call listener after zones, meters and connections were (re)configured."""
        self._configured.append(listener)
        return lambda: self._configured.remove(listener)

    @property
    def sensor_interval(self) -> float:
        """Seconds between two state writes of a station's readings (0: every one)."""
        return float(self.entry.options.get(CONF_SENSOR_INTERVAL, DEFAULT_SENSOR_INTERVAL))

    def readings_of(self, station: Station) -> ReadingPublisher:
        """What tells the entities showing a station's readings (at most once per interval)."""
        key = station.config.subentry_id
        if (publisher := self._publishers.get(key)) is None:
            publisher = ReadingPublisher(self.hass, station, self.sensor_interval)
            self._publishers[key] = publisher
        return publisher

    def on_station_added(self, listener: Callable[[Station], None]) -> Callable[[], None]:
        """Call listener for stations added after setup; returns a remover."""
        self._station_added.append(listener)
        return lambda: self._station_added.remove(listener)

    def on_station_edited(self, listener: Callable[[Station], None]) -> Callable[[], None]:
        """Call listener for a station whose subentry was edited; returns a remover."""
        self._station_edited.append(listener)
        return lambda: self._station_edited.remove(listener)

    def add_listener(
        self, listener: Callable[[], None], *, configuration_only: bool = False
    ) -> Callable[[], None]:
        """Call listener when hub-level state changes; returns a remover.

        configuration_only: only when the hub's configuration changed (badges, tariff),
        not when a station connects or leaves (hundreds at once after a network blip).
        """
        listeners = self._config_listeners if configuration_only else self._listeners
        listeners.append(listener)
        return lambda: listeners.remove(listener)

    def notify(self, *, configuration: bool = False) -> None:
        """Tell hub-level listeners that something changed (configuration: its settings)."""
        for listener in list(self._listeners):
            listener()
        if configuration:
            for listener in list(self._config_listeners):
                listener()

    # --- stations ---------------------------------------------------------------

    def station_by_id(self, station_id: str) -> Station | None:
        """A station by its OCPP identifier."""
        return self._by_ocpp_id.get(station_id)

    def _add_station(self, subentry: ConfigSubentry) -> Station:
        config = station_config(subentry)
        station = Station(
            config,
            settings=lambda: self.settings,
            badges=self.badges,
            sessions=self.sessions,
            timezone=dt_util.get_default_time_zone,
            create_task=self.create_task,
        )
        station.add_boot_listener(self._on_boot)
        station.badge_busy = self._badge_busy
        # Raised before a reload: kept until the station accepts the list again.
        raised = ir.async_get(self.hass).async_get_issue(
            DOMAIN, issue_id("local_list_refused", self.entry.entry_id, subentry.subentry_id)
        )
        if raised is not None:
            station.local_list_reported = True
            station.local_list_refused = (raised.translation_placeholders or {}).get(
                "status", "Failed"
            )
        full = ir.async_get(self.hass).async_get_issue(
            DOMAIN, issue_id("local_list_full", self.entry.entry_id, subentry.subentry_id)
        )
        if full is not None:
            placeholders = full.translation_placeholders or {}
            with contextlib.suppress(KeyError, ValueError):
                station.local_list_capacity = (
                    int(placeholders["badges"]),
                    int(placeholders["capacity"]),
                )
                station.local_list_full_reported = True
        # What it checks changes with the station's state, not with its readings.
        station.add_listener(partial(self._check_station_issues, station), readings=False)
        station.add_ready_listener(self.load.station_ready)
        station.session_listeners.append(self.load.request_cycle)
        station.data_transfer_listeners.append(partial(self._on_data_transfer, station))
        self.stations[subentry.subentry_id] = station
        self._by_ocpp_id[config.station_id] = station
        if config.station_id in self.unknown_stations:
            del self.unknown_stations[config.station_id]
            ir.async_delete_issue(
                self.hass, DOMAIN, unknown_station_issue_id(self.entry.entry_id, config.station_id)
            )
        for listener in list(self._station_added):
            listener(station)
        return station

    @callback
    def _on_data_transfer(
        self, station: Station, vendor_id: str, message_id: str | None, data: str | None
    ) -> None:
        """Hand a station's DataTransfer to automations (an event)."""
        device = dr.async_get(self.hass).async_get_device_by_identifier(
            (DOMAIN, station.config.subentry_id), self.entry.entry_id
        )
        self.hass.bus.async_fire(
            EVENT_DATA_TRANSFER,
            {
                "entry_id": self.entry.entry_id,
                "station_id": station.station_id,
                "device_id": device.id if device else None,
                "vendor_id": vendor_id,
                "message_id": message_id,
                "data": data,
            },
        )

    def _remove_station(self, subentry_id: str) -> None:
        station = self.stations.pop(subentry_id)
        self._connected.discard(subentry_id)
        if (publisher := self._publishers.pop(subentry_id, None)) is not None:
            publisher.close()
        self._by_ocpp_id.pop(station.station_id, None)
        for kind in (
            "credentials_rejected",
            "key_not_delivered",
            "profile_refused",
            "local_list_refused",
            "local_list_full",
        ):
            self._delete_issue(kind, subentry_id)
        if station.connection is not None:
            self.create_task(
                station.connection._connection.close(1000, "station removed"),
                f"close {station.station_id}",
            )
        # Home Assistant removes the subentry's device and entities itself.

    def _lookup(self, station_id: str) -> Station | None:
        return self._by_ocpp_id.get(station_id)

    def _configured_model_to_device(self, station: Station) -> None:
        """A station that never booted shows its configured model (see entity.py)."""
        registry = dr.async_get(self.hass)
        device = registry.async_get_device_by_identifier(
            (DOMAIN, station.config.subentry_id), self.entry.entry_id
        )
        if device is not None and device.manufacturer is None:
            registry.async_update_device(device.id, model=station_model_label(station.config.model))

    def _rename_device(self, station: Station, name: str) -> None:
        registry = dr.async_get(self.hass)
        device = registry.async_get_device_by_identifier(
            (DOMAIN, station.config.subentry_id), self.entry.entry_id
        )
        if device is not None:
            registry.async_update_device(device.id, name=name)

    # --- handshakes and credentials ------------------------------------------------------

    @callback
    def check_handshake(self, handshake: Handshake) -> Verdict:
        """Decide on a station's handshake, on either endpoint (and report refusals)."""
        station_id = handshake.station_id
        station = self._by_ocpp_id.get(station_id)
        if station is None:
            self._on_unknown_station(station_id, handshake.remote)
            return Verdict.INVALID_ID if not valid_station_id(station_id) else Verdict.UNKNOWN
        config = station.config
        if config.endpoint != handshake.endpoint:
            if station_id not in self._wrong_endpoint:
                self._wrong_endpoint.add(station_id)
                _LOGGER.warning(
                    "Charging station %s (%s) connected to the %s endpoint but is configured "
                    "as %s; change its OCPP server URL or its connection in Charge Zones",
                    station_id,
                    handshake.remote,
                    handshake.endpoint,
                    config.endpoint,
                )
            return Verdict.WRONG_ENDPOINT
        password = config.password
        if password is None and handshake.endpoint is Endpoint.REMOTE:
            return self._rejected(station, handshake, "no password is configured for it")
        if password is not None:
            credentials = basic_credentials(handshake.authorization)
            if credentials is None:
                return self._rejected(station, handshake, "no credentials")
            user, given = credentials
            if user != station_id or not password_matches(given, password):
                return self._rejected(station, handshake, "wrong credentials")
        self._wrong_endpoint.discard(station_id)
        if self._rejections.pop(station_id, 0):
            self._delete_issue("credentials_rejected", config.subentry_id)
        return Verdict.ACCEPT

    def _rejected(self, station: Station, handshake: Handshake, why: str) -> Verdict:
        """Count a refused handshake: logged once per streak, a repair after a few."""
        count = self._rejections.get(station.station_id, 0) + 1
        self._rejections[station.station_id] = count
        if count == 1:
            _LOGGER.warning(
                "Charging station %s (%s) refused: %s (security profile 1: user = its OCPP "
                "id, password = its password in Charge Zones)",
                station.station_id,
                handshake.remote,
                why,
            )
        if count == CREDENTIALS_REJECTED_AFTER:
            self._raise_issue(
                "credentials_rejected",
                station.config.subentry_id,
                ir.IssueSeverity.ERROR,
                {
                    "station_id": station.station_id,
                    "remote": handshake.remote,
                    "count": str(count),
                    "reason": why,
                },
            )
        return Verdict.UNAUTHORIZED

    async def _async_deliver_key(self, station: Station) -> None:
        """Push a changed password to the connected station as its AuthorizationKey."""
        password = station.config.password
        connection = station.connection
        if password is None or connection is None:
            return
        try:
            status = await connection.change_configuration(
                "AuthorizationKey", authorization_key(password)
            )
        except Exception as err:  # noqa: BLE001  # CommandError and disconnects alike
            status = str(err)
        if status in ("Accepted", "RebootRequired"):
            _LOGGER.info("Station %s accepted its new password", station.station_id)
            self._delete_issue("key_not_delivered", station.config.subentry_id)
            return
        _LOGGER.warning(
            "Station %s did not take its new password (%s): set it on the station itself",
            station.station_id,
            status,
        )
        self._raise_issue(
            "key_not_delivered",
            station.config.subentry_id,
            ir.IssueSeverity.WARNING,
            {"station_id": station.station_id, "status": status},
        )

    def _raise_issue(
        self, kind: str, key: str, severity: ir.IssueSeverity, placeholders: dict[str, str]
    ) -> None:
        """Raise (or update) a repair issue of this hub; its translation key is its kind."""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id(kind, self.entry.entry_id, key),
            is_fixable=False,
            severity=severity,
            translation_key=kind,
            translation_placeholders=placeholders,
        )

    def _delete_issue(self, kind: str, key: str = "") -> None:
        ir.async_delete_issue(self.hass, DOMAIN, issue_id(kind, self.entry.entry_id, key))

    # --- repairs for stations and meters ------------------------------------------------

    @callback
    def _check_station_issues(self, station: Station) -> None:
        """A managed station refusing or ignoring its limits gets a repair issue."""
        station.refusal_reported = self._sync_station_issue(
            station, "profile_refused", station.profile_error, station.refusal_reported
        )
        station.ignoring_reported = self._sync_station_issue(
            station, "limit_ignored", station.ignoring_limit, station.ignoring_reported
        )
        refused = station.local_list_refused
        if (refused is not None) != station.local_list_reported:
            station.local_list_reported = refused is not None
            if refused is not None:
                self._raise_issue(
                    "local_list_refused",
                    station.config.subentry_id,
                    ir.IssueSeverity.WARNING,
                    {"station_id": station.station_id, "status": refused},
                )
            else:
                self._delete_issue("local_list_refused", station.config.subentry_id)
        full = station.local_list_capacity
        if (full is not None) != station.local_list_full_reported:
            station.local_list_full_reported = full is not None
            if full is not None:
                badges, capacity = full
                self._raise_issue(
                    "local_list_full",
                    station.config.subentry_id,
                    ir.IssueSeverity.WARNING,
                    {
                        "station_id": station.station_id,
                        "badges": str(badges),
                        "capacity": str(capacity),
                        "online_only": str(badges - capacity),
                    },
                )
            else:
                self._delete_issue("local_list_full", station.config.subentry_id)

    def _sync_station_issue(
        self, station: Station, kind: str, error: str | None, reported: bool
    ) -> bool:
        """Raise or remove one repair of a station; returns whether it is raised."""
        wanted = error is not None and station.config.zone is not None
        if wanted != reported:
            if wanted:
                self._raise_issue(
                    kind,
                    station.config.subentry_id,
                    ir.IssueSeverity.ERROR,
                    {"station_id": station.station_id, "error": error or ""},
                )
            else:
                self._delete_issue(kind, station.config.subentry_id)
        return wanted

    @callback
    def _check_meter_issues(self) -> None:
        """A meter that fails several reads in a row gets a repair issue until it answers."""
        reported = self._meters_reported
        for key, poller in self.load.pollers.items():
            unreachable = poller.consecutive_failures >= METER_UNREACHABLE_AFTER
            if unreachable == (key in reported):
                continue
            if not unreachable:
                reported.discard(key)
                self._delete_issue("meter_unreachable", key)
                continue
            reported.add(key)
            meter = self.load.meters.get(key)
            self._raise_issue(
                "meter_unreachable",
                key,
                ir.IssueSeverity.ERROR,
                {
                    "meter": meter.name if meter else key,
                    "unit": str(poller.unit),
                    "failures": str(poller.consecutive_failures),
                    "error": poller.last_error or "",
                },
            )
        for key in reported - set(self.load.pollers):
            reported.discard(key)
            self._delete_issue("meter_unreachable", key)
        # A defect in the DLM cycle: the stations are at their fail-safe current.
        failing = self.load.cycle_error
        if failing is not None and not self._cycle_reported:
            self._cycle_reported = True
            self._raise_issue("dlm_cycle_failed", "", ir.IssueSeverity.ERROR, {"error": failing})
        elif failing is None and self._cycle_reported:
            self._cycle_reported = False
            self._delete_issue("dlm_cycle_failed")

    @callback
    def _on_unknown_station(self, station_id: str, remote: str) -> None:
        if not valid_station_id(station_id):
            if station_id not in self._invalid_ids:
                self._invalid_ids.add(station_id)
                _LOGGER.warning(
                    "A station (%s) tried to connect with the invalid identifier %r",
                    remote,
                    station_id,
                )
            return
        first = station_id not in self.unknown_stations
        # Most recent attempt last: the "Add charging station" form suggests it.
        self.unknown_stations.pop(station_id, None)
        self.unknown_stations[station_id] = UnknownStation(station_id, remote)
        if first:
            _LOGGER.warning(
                "Charging station %s (%s) tried to connect but is not configured; "
                "add it under Charge Zones > Add charging station",
                station_id,
                remote,
            )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            unknown_station_issue_id(self.entry.entry_id, station_id),
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="unknown_station",
            translation_placeholders={"station_id": station_id, "remote": remote},
            data={"entry_id": self.entry.entry_id, "station_id": station_id},
        )
        self.notify()

    @callback
    def _on_connect(self, connection: StationConnection) -> None:
        station = self._by_ocpp_id[connection.id]
        station.attach(connection)
        self._connected.add(station.config.subentry_id)
        self.notify()

    @callback
    def _on_disconnect(self, connection: StationConnection) -> None:
        station = self._by_ocpp_id.get(connection.id)
        if station is not None:
            station.detach(connection)
            if not station.connected:
                self._connected.discard(station.config.subentry_id)
        self.notify()

    @callback
    def _on_boot(self, station: Station) -> None:
        boot = station.boot
        assert boot is not None
        for session in self.sessions.note_boot(station.station_id, boot.serial):
            _LOGGER.warning(
                "Station %s booted with serial %s during transaction %s (started on %s): "
                "the session is flagged, not billed",
                station.station_id,
                boot.serial,
                session.transaction_id,
                session.station_serial,
            )
        registry = dr.async_get(self.hass)
        device = registry.async_get_device_by_identifier(
            (DOMAIN, station.config.subentry_id), self.entry.entry_id
        )
        if device is not None:
            registry.async_update_device(
                device.id,
                manufacturer=boot.vendor,
                model=boot.model,
                serial_number=boot.serial,
                sw_version=boot.firmware_version,
            )

    def _zone_of(self, station_id: str) -> tuple[str | None, str | None]:
        """A station's zone now (subentry id and name), for the sessions it starts."""
        station = self._by_ocpp_id.get(station_id)
        zone_id = station.config.zone if station is not None else None
        if zone_id is None:
            return None, None
        zone = self.entry.subentries.get(zone_id)
        return zone_id, (zone.data.get(CONF_NAME, zone.title) if zone else None)

    def holder_of(self, tag: str) -> str | None:
        """The holder of a badge now, if it is configured."""
        badge = self.badges.get(tag)
        return badge.holder if badge is not None else None

    @property
    def connected_count(self) -> int:
        """Number of connected stations."""
        return len(self._connected)

    # --- badges -----------------------------------------------------------------

    def _sync_badges(self, at: datetime | None = None) -> frozenset[str] | None:
        """Rebuild the badge book and the list version (the badges on today's date).

        Returns None when the list is the one already versioned, else the tags that
        were accepted and are not any more (removed, blocked or expired). Schedules
        the same at the next expiry, so an expired badge goes out as Expired.

        at: the expiry the timer fired for (the badges are never evaluated before it).
        """
        tz = dt_util.get_default_time_zone()
        now = dt_util.now(tz)
        if at is not None and at > now:
            now = at.astimezone(tz)
        self.badges.day = now.date()
        self.badges.replace(
            badge_from(s)
            for s in self.entry.subentries.values()
            if s.subentry_type == SUBENTRY_BADGE
        )
        before = self.sessions.local_list_version
        changed = self.sessions.bump_local_list(self.badges.digest(tz, now.date())) != before
        accepted = self.badges.accepted_keys(now.date())
        revoked = self._accepted_badges - accepted
        self._accepted_badges = accepted
        if self._badge_timer is not None:
            self._badge_timer()
            self._badge_timer = None
        if (when := self.badges.next_change(tz, now)) is not None:
            self._badge_timer = async_track_point_in_time(self.hass, self._on_badge_expiry, when)
        return revoked if changed else None

    @callback
    def _on_badge_expiry(self, when: datetime) -> None:
        """A badge expired: a new list version goes to every connected station."""
        self._badge_timer = None
        if (revoked := self._sync_badges(when)) is not None:
            _LOGGER.info("Badges expired (%s): updating the stations", len(revoked))
            self._push_badges(revoked)

    def _push_badges(self, revoked: frozenset[str]) -> None:
        """Send the changed list to every connected station.

        When a badge was revoked their authorization caches are cleared too (a station
        may have it there).
        """
        for station in self.stations.values():
            if station.connected:
                self.create_task(
                    self._async_badges_to(station, clear_cache=bool(revoked)),
                    f"badges to {station.station_id}",
                )

    @staticmethod
    async def _async_badges_to(station: Station, *, clear_cache: bool) -> None:
        await _quietly(station.async_update_local_list())
        if clear_cache:
            await _quietly(station.async_clear_cache())

    def _badge_busy(self, tag: str, station_id: str, connector_id: int | None) -> bool:
        """Whether a badge is charging elsewhere (ConcurrentTx, see the README).

        Elsewhere: an open session with the same tag on another connected station, or
        on another connector of this one (an Authorize at the station of its session
        is the resident stopping it). A group's own tag (the parentIdTag of other
        badges) may charge in several places at once. A session on a station that is
        offline now does not count: it may never have been closed.
        """
        key = tag.upper()
        if self.badges.is_group_parent(key):
            return False
        for session in self.sessions.open.values():
            if session.id_tag.upper() != key:
                continue
            if session.station_id == station_id:
                if connector_id is None or session.connector_id == connector_id:
                    continue
                return True
            other = self._by_ocpp_id.get(session.station_id)
            if other is not None and other.connected:
                return True
        return False

    async def async_update_all_local_lists(self) -> dict[str, str]:
        """Run "Update configuration" on every connected station."""
        results: dict[str, str] = {}
        for station in self.stations.values():
            if not station.connected:
                results[station.station_id] = "NotConnected"
                continue
            try:
                results[station.station_id] = await station.async_update_local_list()
            except Exception as err:  # noqa: BLE001  # reported per station
                results[station.station_id] = f"Failed: {err}"
        return results


type ChargeZonesConfigEntry = ConfigEntry[Site]


async def _quietly(coro: Coroutine[Any, Any, Any]) -> None:
    try:
        await coro
    except Exception as err:  # noqa: BLE001
        _LOGGER.warning("%s", err)
