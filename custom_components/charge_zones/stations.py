"""Runtime of one configured charging station: its state and its commands.

A `Station` is the `StationHandler` its OCPP connection reports to. It keeps the latest
state (boot, heartbeat, connectors, measurements, sessions) and tells its listeners,
the entities of that station only, when something changed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
import logging
from typing import Any

from .badges import ACCEPTED, BadgeBook, Decision, expiry_timestamp
from .central.connection import BootInfo, CommandError, IdTagInfo, StationConnection
from .central.models import (
    NOMINAL_VOLTAGE,
    PHASES,
    FallbackKeys,
    Phase,
    Wiring,
    live_stack_level,
    model_quirks,
    profile_stack_level,
)
from .central.readings import (
    CURRENT_IMPORT,
    POWER_IMPORT,
    VOLTAGE,
    Measurements,
    Sample,
    parse_timestamp,
)
from .sessions import ChargingSession, SessionStore

_LOGGER = logging.getLogger(__package__)

# Keys read from every station at boot.
BOOT_KEYS: tuple[str, ...] = (
    "ChargeProfileMaxStackLevel",
    "ChargingScheduleAllowedChargingRateUnit",
    "ChargingScheduleMaxPeriods",
    "MaxChargingProfilesInstalled",
    "ConnectorPhaseRotation",
    "NumberOfConnectors",
    "MeterValuesSampledData",
    "MeterValueSampleInterval",
    "HeartbeatInterval",
    "LocalAuthListEnabled",
    "LocalAuthListMaxLength",
    "SendLocalListMaxLength",
    "LocalPreAuthorize",
    "AuthorizeRemoteTxRequests",
    "SupportedFeatureProfiles",
)

PROFILE_ID_MAX_CURRENT = 1
# Measurands that tell what a connector draws (fresh ones make its reading fresh).
_DRAW_MEASURANDS = frozenset({CURRENT_IMPORT, POWER_IMPORT})
# The live limit of one connector of a station with several (connector n: 10 + n).
PROFILE_ID_CONNECTOR_BASE = 10
# The fail-safe profile under the live limit of a load-managed station.
PROFILE_ID_FAILSAFE = 4
# Default charging profile id per purpose: a profile with the same id replaces the
# installed one, so purposes never evict each other.
PROFILE_IDS: dict[str, int] = {
    "TxDefaultProfile": PROFILE_ID_MAX_CURRENT,
    "ChargePointMaxProfile": 2,
    "TxProfile": 3,
}
# How a limit is sent, in order of preference: (purpose, stack level; None = the
# model's, layered, kind; None = the model's). A station that rejects one is tried with
# the next. The layered form puts the live limit (stack level >= 1, expiring) above the
# fail-safe profile (stack level 0, no expiry); the others are a single profile that
# never expires. Relative profiles come last (some stations, e.g. Wallbox, reject
# Absolute ones).
PROFILE_STRATEGIES: tuple[tuple[str, int | None, bool, str | None], ...] = (
    ("TxDefaultProfile", None, True, None),
    ("TxDefaultProfile", None, False, None),
    ("TxDefaultProfile", 0, False, None),
    ("ChargePointMaxProfile", 0, False, None),
    ("TxDefaultProfile", None, False, "Relative"),
    ("TxDefaultProfile", 0, False, "Relative"),
)
# What a load-managed station does when Home Assistant is gone (`Station.fallback`).
FALLBACK_PROFILE = "profile"  # its live limit expires onto the fail-safe profile
FALLBACK_SETTING = "station_setting"  # its own fallback setting (model's keys)
FALLBACK_NONE = "none"  # it keeps the last limit it was given
FALLBACKS: tuple[str, ...] = (FALLBACK_PROFILE, FALLBACK_SETTING, FALLBACK_NONE)
# Seconds a newly connected station has to send BootNotification before it is
# probed (asked for its connectors' status) and, when it answers, configured anyway
# (stations that stay up across a restart of Home Assistant). One that does not answer
# the probe within PROBE_WITHIN seconds is left alone until it boots.
BOOT_GRACE = 5.0
# Seconds of a station's composite schedule read back to see whether it holds its limit.
COMPOSITE_CHECK_S = 3600
PROBE_WITHIN = 5.0


@dataclass(frozen=True, slots=True)
class StationConfig:
    """A station as configured by the installer (its subentry)."""

    subentry_id: str
    station_id: str
    model: str
    connectors: int
    wiring: Wiring
    min_current: float
    max_current: float
    zone: str | None = None  # zone subentry id: the load manager owns the limit
    priority: int = 0  # higher charges first when its zone is short
    charging_mode: str = "fast"  # dlm/solar.py ChargingMode (managed stations)
    # May be switched between one and three phases (numberPhases in its profiles).
    phase_switching: bool = False
    endpoint: str = "local"  # "remote": via Home Assistant's web server, never managed
    password: str | None = field(default=None, repr=False)  # security profile 1

    @property
    def remote(self) -> bool:
        """Whether the station connects through Home Assistant's web server."""
        return self.endpoint == "remote"


@dataclass(slots=True)
class ConnectorState:
    """Latest state of one connector (0 = the station as a whole)."""

    connector_id: int
    status: str | None = None
    error_code: str | None = None
    info: str | None = None
    vendor_error_code: str | None = None
    status_at: datetime | None = None
    measurements: Measurements = field(default_factory=Measurements)
    measured_at: datetime | None = None
    # When the live values were last dropped (a session started or stopped).
    cleared_at: datetime | None = None

    def forget_live(self) -> None:
        """Drop the instantaneous values (currents, power, offered, SoC), keep registers.

        Called when a session starts or stops: many stations send nothing outside a
        transaction, so the last values of a session must not pass for what the
        connector draws now.
        """
        self.measurements.forget(lambda key: key[0].endswith("Register"))
        self.measured_at = None
        self.cleared_at = datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AuthorizationEvent:
    """A badge presented at a station."""

    tag: str
    status: str
    holder: str | None
    at: datetime

    @property
    def accepted(self) -> bool:
        """Whether the badge was accepted."""
        return self.status == ACCEPTED


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """A SecurityEventNotification (OCPP 1.6 security extension)."""

    type: str
    at: datetime  # the station's timestamp
    tech_info: str | None
    received_at: datetime


# Security events the station reports are kept (for diagnostics): the last few.
SECURITY_EVENTS_KEPT = 10
# Security events worth a warning in the log (the others are logged at INFO: a
# station reports StartupOfTheDevice at every boot).
ALARMING_SECURITY_EVENTS = frozenset(
    {
        "AttemptedReplayAttacks",
        "InvalidFirmwareSignature",
        "InvalidFirmwareSigningCertificate",
        "MemoryExhaustion",
        "TamperDetectionActivated",
    }
)
# Answers to SendLocalList that leave the station without the badge list.
LOCAL_LIST_REFUSALS = frozenset({"Failed", "NotSupported"})


@dataclass(frozen=True, slots=True)
class HubSettings:
    """Hub-wide settings a station needs."""

    heartbeat_interval: int
    meter_interval: int


class Station:
    """One configured station, connected or not."""

    def __init__(
        self,
        config: StationConfig,
        *,
        settings: Callable[[], HubSettings],
        badges: BadgeBook,
        sessions: SessionStore,
        timezone: Callable[[], tzinfo],
        create_task: Callable[[Coroutine[Any, Any, Any], str], Any],
    ) -> None:
        """Create the runtime of a configured station."""
        self.config = config
        self._settings = settings
        self._badges = badges
        self._sessions = sessions
        self._timezone = timezone
        self._create_task = create_task
        self.connection: StationConnection | None = None
        self.attached_at: datetime | None = None  # when the connection opened
        self.boot: BootInfo | None = None
        self.booted_at: datetime | None = None
        self.last_seen: datetime | None = None
        self.last_heartbeat: datetime | None = None
        self.firmware_status: str | None = None
        self.diagnostics_status: str | None = None
        self.configuration: dict[str, dict[str, Any]] = {}
        self.unknown_keys: list[str] = []
        self.configuration_error: str | None = None
        self.local_list_version: int | None = None
        self.local_list_error: str | None = None
        # The station refused the badge list (its answer): offline badging fails there.
        self.local_list_refused: str | None = None
        self.local_list_reported = False  # the hub's repair issue for it
        # (badges, what the station holds) when its list cannot hold every badge.
        self.local_list_capacity: tuple[int, int] | None = None
        self.local_list_full_reported = False  # the hub's repair issue for it
        self.cache_status: str | None = None  # answer to the last ClearCache
        self.security_events: deque[SecurityEvent] = deque(maxlen=SECURITY_EVENTS_KEPT)
        self._security_listeners: list[Callable[[SecurityEvent], None]] = []
        # Set by the site: whether a badge is charging elsewhere (tag, this station,
        # connector or None for an Authorize) so it is answered ConcurrentTx.
        self.badge_busy: Callable[[str, str, int | None], bool] = lambda *_args: False
        self.last_authorization: AuthorizationEvent | None = None
        self.availability_requested: str | None = None
        self.limit_sent: float | None = None
        self.profile_status: str | None = None
        self.profile_strategy = 0
        self.profile_error: str | None = None
        self.refusal_reported = False  # the hub's repair issue for refused profiles
        # Set by the load manager: the station draws clearly more than the limit it
        # accepted (what it draws and what it holds), and whether the repair was raised.
        self.ignoring_limit: str | None = None
        self.ignoring_reported = False
        # Limits in force per connector of a station with several (connector -> A).
        self.connector_limits: dict[int, float] = {}
        # The station-wide cap (ChargePointMaxProfile) in force; False: refused.
        self.station_cap: float | None = None
        self.cap_supported = True
        # Sessions seen on more connectors than configured: logged once.
        self.connectors_warned = False
        # The fail-safe current installed under the live limit on this connection.
        self.failsafe_limit: float | None = None
        # The fail-safe current set in the station's own fallback setting.
        self.fallback_setting: float | None = None
        # When the live limit in force expires (None: it does not).
        self.live_valid_to: datetime | None = None
        # What the station falls back to without Home Assistant (FALLBACKS; None:
        # not load-managed or nothing sent yet).
        self.fallback: str | None = None
        # Set by the load manager: the limit this station should have and why.
        self.allocation: Any = None
        self.allocation_by: str | None = None  # readable name of what limited it
        # Phase switching (solar modes): the phases its live limits ask for (None: its
        # wiring's), and whether it was seen ignoring numberPhases (then never again).
        self.phases_in_use: int | None = None
        self.phases_sent: int | None = None  # those of the last live limit it accepted
        self.phase_switch_ignored = False
        # Whether its readings carry a current per phase (a switch can then be checked).
        self.phase_currents_seen = False
        # Per charging point (0: the station; else each connector of a station with
        # several): the limit and why.
        self.connector_allocations: dict[int, Any] = {}
        self._ready_listeners: list[Callable[[Station], None]] = []
        # Told when sessions or connector states change (not on every meter value).
        self.session_listeners: list[Callable[[], None]] = []
        # Told about every DataTransfer the station sends (vendorId, messageId, data).
        self.data_transfer_listeners: list[Callable[[str, str | None, str | None], None]] = []
        self.connectors: dict[int, ConnectorState] = {}
        self._listeners: list[Callable[[], None]] = []
        # Told of MeterValues (those of _listeners that show a reading, and reading-only ones).
        self._reading_listeners: list[Callable[[], None]] = []
        self._grid_cache: dict[str, dict[Phase, float]] = {}
        self._auth_listeners: list[Callable[[AuthorizationEvent], None]] = []
        self._boot_listeners: list[Callable[[Station], None]] = []
        self._configure_lock = asyncio.Lock()
        self._configured_for: StationConnection | None = None
        # The connection the station last booted on, and the wait for a boot on a new one.
        self._booted_on: StationConnection | None = None
        self._boot_wait: Any = None
        self._ready_for: StationConnection | None = None
        self.last_closed: ChargingSession | None = sessions.last_closed_by_station.get(
            config.station_id
        )
        self._ensure_connectors()

    # --- identity / config ----------------------------------------------------

    @property
    def station_id(self) -> str:
        """The station's OCPP identifier."""
        return self.config.station_id

    def reconfigure(self, config: StationConfig) -> None:
        """Apply an edited subentry without dropping the connection."""
        self.config = config
        self._ensure_connectors()
        self.notify()

    def _ensure_connectors(self) -> None:
        for connector_id in range(self.config.connectors + 1):
            self.connectors.setdefault(connector_id, ConnectorState(connector_id))

    # --- listeners --------------------------------------------------------------

    def add_listener(
        self, listener: Callable[[], None], *, readings: bool = True
    ) -> Callable[[], None]:
        """Call listener when this station's state changes; returns a remover.

        readings=False: not called for MeterValues (which change only the measurements,
        the open session's register and when the station was last seen), the most frequent
        change by far.
        """
        self._listeners.append(listener)
        if readings:
            self._reading_listeners.append(listener)

        def remove() -> None:
            self._listeners.remove(listener)
            if readings:
                self._reading_listeners.remove(listener)

        return remove

    def add_reading_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call listener for MeterValues only (not for other changes); returns a remover."""
        self._reading_listeners.append(listener)
        return lambda: self._reading_listeners.remove(listener)

    def add_authorization_listener(
        self, listener: Callable[[AuthorizationEvent], None]
    ) -> Callable[[], None]:
        """Call listener for every badge presented; returns a remover."""
        self._auth_listeners.append(listener)
        return lambda: self._auth_listeners.remove(listener)

    def add_security_listener(
        self, listener: Callable[[SecurityEvent], None]
    ) -> Callable[[], None]:
        """Call listener for every security event the station reports; returns a remover."""
        self._security_listeners.append(listener)
        return lambda: self._security_listeners.remove(listener)

    def add_ready_listener(self, listener: Callable[[Station], None]) -> Callable[[], None]:
        """Call listener when the station has been configured after connecting."""
        self._ready_listeners.append(listener)
        return lambda: self._ready_listeners.remove(listener)

    def add_boot_listener(self, listener: Callable[[Station], None]) -> Callable[[], None]:
        """Call listener after each BootNotification; returns a remover."""
        self._boot_listeners.append(listener)
        return lambda: self._boot_listeners.remove(listener)

    def _sessions_changed(self) -> None:
        for listener in list(self.session_listeners):
            listener()

    def notify(self, *, readings_only: bool = False) -> None:
        """Tell this station's listeners that its state changed (readings_only: MeterValues)."""
        self._grid_cache.clear()
        for listener in list(self._reading_listeners if readings_only else self._listeners):
            listener()

    # --- connection -------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the station has an open websocket."""
        return self.connection is not None

    def attach(self, connection: StationConnection) -> None:
        """A websocket for this station opened."""
        self.connection = connection
        self.last_seen = self.attached_at = _utcnow()
        # Sent again once it is configured (it may have rebooted and lost its profiles).
        self.failsafe_limit = None
        self.station_cap = None
        self.cap_supported = True
        self.connector_limits = {}
        self.notify()
        # A station that was already booted before a restart of Home Assistant does
        # not boot again: configure it anyway if no BootNotification comes soon.
        self._cancel_boot_wait()
        self._boot_wait = self._create_task(
            self._configure_unbooted(connection), f"configure {self.station_id}"
        )

    async def _configure_unbooted(self, connection: StationConnection) -> None:
        """Configure a station that does not boot on this connection, if it answers.

        It is first asked for its connectors' status (TriggerMessage StatusNotification):
        the status it had is not known on a new connection, and a station that does not
        answer that is still starting (its boot configures it), not worth commands that
        would each wait for their timeout. A boot during the wait cancels it.
        """
        await asyncio.sleep(BOOT_GRACE)
        if self.connection is not connection:
            return
        answers = await connection.probe(PROBE_WITHIN)
        self._boot_wait = None  # past the wait: a boot no longer cancels what follows
        if not answers:
            _LOGGER.debug(
                "Station %s does not answer before its BootNotification: waiting for it",
                self.station_id,
            )
            return
        if (
            self.connection is connection
            and self._booted_on is not connection
            and self._configured_for is not connection
        ):
            await self.async_configure()

    def _cancel_boot_wait(self) -> None:
        if isinstance(self._boot_wait, asyncio.Task) and not self._boot_wait.done():
            self._boot_wait.cancel()
        self._boot_wait = None

    def detach(self, connection: StationConnection) -> None:
        """The station's websocket closed."""
        if self.connection is connection:
            self.connection = None
            self.notify()

    @property
    def ready(self) -> bool:
        """Connected and configured (its smart-charging keys read) on this connection."""
        return self.connection is not None and self._ready_for is self.connection

    def require_connection(self) -> StationConnection:
        """The connection, or CommandError when the station is offline."""
        if self.connection is None:
            raise CommandError(f"station {self.station_id} is not connected")
        return self.connection

    # --- StationHandler ---------------------------------------------------------

    def on_boot(self, info: BootInfo) -> int:
        """Record a BootNotification."""
        self.boot = info
        self.booted_at = self.last_seen = _utcnow()
        self._booted_on = self.connection
        self._cancel_boot_wait()  # its configuration follows the boot, without delay
        self.notify()
        for listener in list(self._boot_listeners):
            listener(self)
        return self._settings().heartbeat_interval

    def on_boot_answered(self) -> None:
        """Read the configuration once the station knows it was accepted."""
        self._create_task(self.async_configure(), f"configure {self.station_id}")

    def on_heartbeat(self) -> None:
        """Record a heartbeat."""
        self.last_heartbeat = self.last_seen = _utcnow()
        self.notify()

    def on_status(
        self,
        connector_id: int,
        status: str,
        error_code: str,
        info: str | None,
        vendor_error_code: str | None,
        timestamp: str | None,
    ) -> None:
        """Record a StatusNotification."""
        connector = self.connectors.setdefault(connector_id, ConnectorState(connector_id))
        connector.status = status
        connector.error_code = error_code
        connector.info = info
        connector.vendor_error_code = vendor_error_code
        connector.status_at = parse_timestamp(timestamp, _utcnow()) if timestamp else _utcnow()
        self.last_seen = _utcnow()
        self.notify()
        self._sessions_changed()

    def _decide(self, id_tag: str, connector_id: int | None = None) -> Decision:
        decision = self._badges.check(id_tag, self._badges.today(self._timezone()))
        if decision.accepted and self.badge_busy(id_tag, self.station_id, connector_id):
            decision = decision.concurrent()
        _LOGGER.info("Authorizing request %s from %s: %s", id_tag, self.station_id, decision.status)
        event = AuthorizationEvent(id_tag, decision.status, decision.holder, _utcnow())
        self.last_authorization = event
        for listener in list(self._auth_listeners):
            listener(event)
        return decision

    def _id_tag_info(self, decision: Decision) -> IdTagInfo:
        expiry = None
        if decision.badge is not None and decision.badge.expiry is not None:
            expiry = expiry_timestamp(decision.badge.expiry, self._timezone())
        return IdTagInfo(status=decision.status, expiry_date=expiry, parent_id_tag=decision.group)

    def authorize(self, id_tag: str) -> IdTagInfo:
        """Answer an Authorize request."""
        return self._id_tag_info(self._decide(id_tag))

    async def start_transaction(
        self,
        connector_id: int,
        id_tag: str,
        meter_start: int,
        timestamp: str,
        reservation_id: int | None,
    ) -> tuple[str, IdTagInfo]:
        """Record a StartTransaction (persisted before the answer goes out)."""
        decision = self._decide(id_tag, connector_id)
        badge = self._badges.get(id_tag)
        session, superseded = await self._sessions.async_start(
            station_id=self.station_id,
            connector_id=connector_id,
            id_tag=id_tag,
            holder=decision.holder,
            auth_status=decision.status,
            meter_start=meter_start,
            started_at=parse_timestamp(timestamp).isoformat(),
            # A resident's choice goes with their badge (else their default as its
            # holder), whichever station they use.
            charging_mode=(badge.charging_mode if badge is not None else None)
            or self._sessions.holder_mode(decision.holder),
        )
        for old in superseded:
            self.last_closed = old
            _LOGGER.warning(
                "Station %s started transaction %s on connector %s while transaction %s "
                "was still open there; closed it with its last known register",
                self.station_id,
                session.transaction_id,
                connector_id,
                old.transaction_id,
            )
        # What the connector reported before this session is not what it draws now.
        self.connectors.setdefault(connector_id, ConnectorState(connector_id)).forget_live()
        self.notify()
        self._sessions_changed()
        return session.transaction_id, self._id_tag_info(decision)

    async def stop_transaction(
        self,
        transaction_id: str,
        meter_stop: int,
        timestamp: str,
        reason: str | None,
        id_tag: str | None,
        samples: Sequence[Sample],
    ) -> IdTagInfo | None:
        """Record a StopTransaction (persisted before the answer goes out)."""
        begin = [
            s
            for s in samples
            if s.context == "Transaction.Begin"
            and s.measurand == "Energy.Active.Import.Register"
            and s.phase is None
        ]
        session = await self._sessions.async_stop(
            station_id=self.station_id,
            transaction_id=transaction_id,
            meter_stop=meter_stop,
            stopped_at=parse_timestamp(timestamp).isoformat(),
            reason=reason,
            id_tag=id_tag,
            meter_start_hint=round(begin[0].value) if begin else None,
            started_at_hint=begin[0].timestamp.isoformat() if begin else None,
        )
        if session.connector_id in self.connectors:
            connector = self.connectors[session.connector_id]
            connector.measurements.update(samples)
            # The session's last currents are not what the connector draws any more
            # (many stations send nothing until the next session).
            still_open = {s.connector_id for s in self.open_sessions()}
            if session.connector_id not in still_open:
                connector.forget_live()
            if not still_open:
                self.connectors[0].forget_live()
        self.last_closed = session
        self.notify()
        self._sessions_changed()
        if id_tag is None:
            return None
        decision = self._badges.check(id_tag, self._badges.today(self._timezone()))
        return self._id_tag_info(decision)

    def on_meter_values(
        self, connector_id: int, transaction_id: str | None, samples: Sequence[Sample]
    ) -> None:
        """Record MeterValues."""
        if (connector := self.connectors.get(connector_id)) is None:
            connector = self.connectors[connector_id] = ConnectorState(connector_id)
        connector.measurements.update(samples)
        self.last_seen = _utcnow()
        if any(s.measurand in _DRAW_MEASURANDS for s in samples):
            # Only a current or a power says what it draws now (not a register alone).
            connector.measured_at = self.last_seen
        if transaction_id is not None and (energy := connector.measurements.energy_wh) is not None:
            newest = max((s.timestamp for s in samples), default=None) or _utcnow()
            self._sessions.record_meter(
                transaction_id,
                energy,
                newest.isoformat(),
                station_id=self.station_id,
                connector_id=connector_id,
            )
        self.notify(readings_only=True)

    def on_data_transfer(
        self, vendor_id: str, message_id: str | None, data: str | None
    ) -> tuple[str, str | None]:
        """Hand the data to the listeners (automations get an event).

        The answer stays UnknownVendorId: Charge Zones implements no vendor extension,
        so the station learns that nothing here acted on it.
        """
        _LOGGER.debug(
            "DataTransfer from %s: vendor %s message %s", self.station_id, vendor_id, message_id
        )
        for listener in list(self.data_transfer_listeners):
            listener(vendor_id, message_id, data)
        return "UnknownVendorId", None

    def on_firmware_status(self, status: str) -> None:
        """Record a FirmwareStatusNotification."""
        self.firmware_status = status
        self.notify()

    def on_diagnostics_status(self, status: str) -> None:
        """Record a DiagnosticsStatusNotification."""
        self.diagnostics_status = status
        self.notify()

    def on_security_event(self, event_type: str, timestamp: str, tech_info: str | None) -> None:
        """Record a SecurityEventNotification: logged, kept, told to the event entity."""
        now = _utcnow()
        event = SecurityEvent(event_type, parse_timestamp(timestamp, now), tech_info, now)
        self.security_events.append(event)
        self.last_seen = now
        _LOGGER.log(
            logging.WARNING if event_type in ALARMING_SECURITY_EVENTS else logging.INFO,
            "Station %s reported the security event %s%s",
            self.station_id,
            event_type,
            f" ({tech_info})" if tech_info else "",
        )
        for listener in list(self._security_listeners):
            listener(event)

    # --- derived state ----------------------------------------------------------

    def open_sessions(self) -> list[ChargingSession]:
        """Open sessions of this station, by connector."""
        return sorted(self._sessions.open_of(self.station_id), key=lambda s: s.connector_id)

    def last_session(self) -> ChargingSession | None:
        """The open session, else the most recent closed one."""
        if sessions := self.open_sessions():
            return sessions[0]
        return self.last_closed

    def _sum_connectors(self, getter: Callable[[Measurements], float | None]) -> float | None:
        values = [
            v
            for cid, c in self.connectors.items()
            if cid > 0 and (v := getter(c.measurements)) is not None
        ]
        if values:
            return sum(values)
        return getter(self.connectors[0].measurements)

    def grid_values(self, measurand: str) -> dict[Phase, float]:
        """Per building phase values of a measurand (after the station's wiring).

        Cached until the next change: every phase sensor asks for it on each message.
        """
        cached = self._grid_cache.get(measurand)
        if cached is None:
            cached = self._grid_cache[measurand] = self._grid_values(measurand)
        return cached

    def _grid_values(self, measurand: str) -> dict[Phase, float]:
        result: dict[Phase, float] = {}
        wiring = self.config.wiring
        for cid, connector in self.connectors.items():
            if cid == 0 and len(self.connectors) > 1 and measurand == CURRENT_IMPORT:
                continue
            for station_phase, value in connector.measurements.per_phase(measurand).items():
                grid = wiring.to_grid(station_phase)
                if grid is None:
                    continue
                if measurand == VOLTAGE:
                    result[grid] = value
                else:
                    result[grid] = result.get(grid, 0.0) + value
        if not result and wiring.phase_count == 1:
            # Single-phase stations often report the current without a phase.
            total = self._sum_connectors(lambda m: m.value(measurand))
            if total is not None:
                result[wiring.grid_phases[0]] = total
        return result

    @property
    def sample_interval(self) -> float:
        """Seconds between the station's MeterValues (its setting, else the hub's)."""
        value = _int_key(self.configuration, "MeterValueSampleInterval")
        return float(value) if value and value > 0 else float(self._settings().meter_interval)

    @property
    def connector_count(self) -> int:
        """Connectors the station has: configured, reported, or seen, whichever is most.

        A connector the installer did not configure still draws current: it counts.
        """
        reported = _int_key(self.configuration, "NumberOfConnectors") or 0
        seen = max((cid for cid in self.connectors if cid > 0), default=0)
        return max(self.config.connectors, reported, seen)

    def draw(self, connector_id: int) -> tuple[tuple[float, float, float], datetime] | None:
        """What a connector (0: the whole station) draws per building phase, and when.

        None when nothing was reported since its session started. From Current.Import per phase; a station that reports only power gets its
        current estimated from it at the reported (else nominal) voltage, which with a
        power factor below 1 is less than the real current: the safe side, as that
        leaves more of the meter's reading to "other load".
        """
        if connector_id == 0:
            found = [r for cid, c in self.connectors.items() if cid > 0 and (r := self._draw(c))]
            if not found:
                return self._draw(self.connectors[0])
            total = [sum(r[0][p] for r in found) for p in range(3)]
            return (total[0], total[1], total[2]), min(r[1] for r in found)
        connector = self.connectors.get(connector_id)
        return self._draw(connector) if connector is not None else None

    def _draw(
        self, connector: ConnectorState
    ) -> tuple[tuple[float, float, float], datetime] | None:
        if connector.measured_at is None:
            return None
        measurements = connector.measurements
        wiring = self.config.wiring
        values = [0.0, 0.0, 0.0]

        def add(station_phase: Phase, amps: float) -> None:
            grid = wiring.to_grid(station_phase)
            if grid is not None:
                values[PHASES.index(grid)] += max(0.0, amps)

        currents = measurements.per_phase(CURRENT_IMPORT)
        unphased = measurements.value(CURRENT_IMPORT)
        powers = measurements.per_phase(POWER_IMPORT)
        power = measurements.power_w
        voltages = measurements.per_phase(VOLTAGE)
        # A station switched to one phase draws on its L1 only.
        own = PHASES[: self.phases_in_use or wiring.phase_count]
        if currents:
            self.phase_currents_seen = True
            for phase, amps in currents.items():
                add(phase, amps)
        elif unphased is not None:
            # Per phase or the sum? The sum spread over the phases is the lesser.
            for phase in own:
                add(phase, unphased / len(own))
        elif powers:
            for phase, watts in powers.items():
                add(phase, watts / voltages.get(phase, NOMINAL_VOLTAGE))
        elif power is not None:
            for phase in own:
                add(phase, power / len(own) / voltages.get(phase, NOMINAL_VOLTAGE))
        else:
            return None
        return (values[0], values[1], values[2]), connector.measured_at

    def current(self, phase: Phase) -> float | None:
        """Current drawn on one building phase (A)."""
        return self.grid_values(CURRENT_IMPORT).get(phase)

    def voltage(self, phase: Phase) -> float | None:
        """Voltage of one building phase (V)."""
        return self.grid_values(VOLTAGE).get(phase)

    @property
    def power_w(self) -> float | None:
        """Active power (W)."""
        return self._sum_connectors(lambda m: m.power_w)

    @property
    def energy_wh(self) -> float | None:
        """Energy register (Wh)."""
        return self._sum_connectors(lambda m: m.energy_wh)

    @property
    def current_offered(self) -> float | None:
        """Current offered to cars: reported by the station, else the limit sent."""
        offered = self._sum_connectors(lambda m: m.current_offered)
        return offered if offered is not None else self.limit_sent

    @property
    def used_phases(self) -> tuple[Phase, ...]:
        """Building phases this station draws from."""
        return tuple(p for p in PHASES if p in self.config.wiring.grid_phases)

    @property
    def available(self) -> bool | None:
        """Whether the station is Operative (None when unknown)."""
        status = self.connectors[0].status
        if status is not None:
            return status != "Unavailable"
        # Many stations report only their connectors: available while any connector is.
        reported = [c.status for cid, c in self.connectors.items() if cid > 0 and c.status]
        if reported:
            return any(s != "Unavailable" for s in reported)
        if self.availability_requested is None:
            return None
        return self.availability_requested == "Operative"

    # --- commands ---------------------------------------------------------------

    async def async_configure(self) -> None:
        """Read the smart-charging and local list keys; align intervals; push badges."""
        async with self._configure_lock:
            connection = self.connection
            if connection is None:
                return
            self._configured_for = connection
            keys = BOOT_KEYS
            if (fallback_keys := model_quirks(self.config.model).fallback_keys) is not None:
                keys += tuple(k for k in (fallback_keys.current, fallback_keys.timeout) if k)
            try:
                self.configuration, self.unknown_keys = await connection.get_configuration(keys)
                self.configuration_error = None
            except CommandError as err:
                self.configuration_error = str(err)
                _LOGGER.warning("Could not read the configuration of %s: %s", self.station_id, err)
            self._ready_for = connection
            settings = self._settings()
            await self._align("HeartbeatInterval", str(settings.heartbeat_interval))
            await self._align("MeterValueSampleInterval", str(settings.meter_interval))
            try:
                await self.async_update_local_list(only_if_outdated=True)
            except CommandError as err:
                _LOGGER.warning("Could not update the badges of %s: %s", self.station_id, err)
            if self.config.zone is None and not self.config.remote:
                try:
                    if not await self._holds_limit(self.config.max_current):
                        await self.async_set_limit(self.config.max_current)
                except CommandError as err:
                    _LOGGER.warning("Could not limit %s: %s", self.station_id, err)
            for listener in list(self._ready_listeners):
                listener(self)
            self.notify()

    async def _holds_limit(self, limit: float) -> bool:
        """Whether the station already limits every connector at exactly this.

        Read back with GetCompositeSchedule, so a station that kept its profile over a
        reconnect or a reboot is not written again. Any doubt (no answer, another value, a
        schedule that changes or ends within the hour) means the limit is sent.
        """
        profiles = self.configuration.get("SupportedFeatureProfiles", {}).get("value")
        if isinstance(profiles, str) and "SmartCharging" not in profiles:
            return False
        connection = self.require_connection()
        quirks = model_quirks(self.config.model)
        phases = self.config.wiring.phase_count
        value = round(limit if quirks.rate_unit == "A" else limit * NOMINAL_VOLTAGE * phases, 1)
        for connector_id in range(1, self.config.connectors + 1):
            try:
                schedule = await connection.get_composite_schedule(
                    connector_id, COMPOSITE_CHECK_S, quirks.rate_unit
                )
            except CommandError as err:
                _LOGGER.debug("%s: no composite schedule (%s)", self.station_id, err)
                return False
            if not _schedule_is(schedule, quirks.rate_unit, value):
                return False
        self.limit_sent = round(limit, 1)
        self.profile_status = "Accepted"
        self.profile_error = None
        self.live_valid_to = None
        self._note_fallback(None)
        _LOGGER.debug("%s already holds its limit of %s A: not sent again", self.station_id, limit)
        return True

    async def _align(self, key: str, value: str) -> None:
        current = self.configuration.get(key)
        if current is None or current.get("readonly") or current.get("value") == value:
            return
        try:
            status = await self.require_connection().change_configuration(key, value)
        except CommandError as err:
            _LOGGER.warning("Could not set %s on %s: %s", key, self.station_id, err)
            return
        if status in ("Accepted", "RebootRequired"):
            current["value"] = value
        _LOGGER.debug("%s=%s on %s: %s", key, value, self.station_id, status)

    async def async_apply_settings(self) -> None:
        """Push changed hub settings (intervals) to the connected station."""
        if self.connection is None:
            return
        settings = self._settings()
        await self._align("HeartbeatInterval", str(settings.heartbeat_interval))
        await self._align("MeterValueSampleInterval", str(settings.meter_interval))

    async def async_update_local_list(self, *, only_if_outdated: bool = False) -> str:
        """Send the full badge list (SendLocalList), tracking its version."""
        connection = self.require_connection()
        tz = self._timezone()
        version = self._sessions.bump_local_list(self._badges.digest(tz))
        if only_if_outdated:
            if "LocalAuthListEnabled" not in self.configuration and self.configuration:
                return "NotSupported"
            try:
                held = await connection.get_local_list_version()
            except CommandError:
                held = None
            if held == version:
                self.local_list_version = held
                self.local_list_error = self._note_capacity()
                return "Accepted"
            # It missed a change of the badges (a badge removed, blocked or expired
            # may still be in its authorization cache).
            try:
                return await self._send_local_list(connection)
            finally:
                await self._clear_cache_quietly()
        return await self._send_local_list(connection)

    def _note_capacity(self) -> str | None:
        """Whether the station's list holds every badge (None) or what it leaves out."""
        badges = len(self._badges)
        capacity = _int_key(self.configuration, "LocalAuthListMaxLength")
        if capacity is None or not 0 < capacity < badges:
            self.local_list_capacity = None
            return None
        self.local_list_capacity = (badges, capacity)
        return f"{badges} badges, the station holds {capacity}: {badges - capacity} checked online only"

    def _local_list_chunks(self) -> list[list[dict[str, Any]]]:
        """The badge list as the station can take it, in SendLocalList messages.

        LocalAuthListMaxLength caps the list: beyond it the badges valid now go first
        (the rest are checked online only, and the installer is told); SendLocalListMaxLength
        caps one message: a longer list goes out as a Full update and Differential ones.
        """
        entries = self._badges.local_list(self._timezone())
        self._note_capacity()
        if self.local_list_capacity is not None:
            entries = sorted(entries, key=lambda e: e["id_tag_info"]["status"] != ACCEPTED)
            entries = entries[: self.local_list_capacity[1]]
        per_message = _int_key(self.configuration, "SendLocalListMaxLength")
        if per_message is None or per_message <= 0:
            return [entries]
        return [entries[i : i + per_message] for i in range(0, len(entries), per_message)] or [[]]

    async def _send_local_list(self, connection: StationConnection) -> str:
        chunks = self._local_list_chunks()
        # Versions rise through the messages (a Differential update must carry a higher
        # version than the list held) and the last one is the list's: only a station
        # that took every message holds it.
        version = self._sessions.local_list_room(len(chunks))
        status = "Accepted"
        for index, chunk in enumerate(chunks):
            status = await connection.send_local_list(
                version - len(chunks) + 1 + index, "Full" if index == 0 else "Differential", chunk
            )
            if status != "Accepted":
                break
        if status == "Accepted":
            self.local_list_version = version
            self.local_list_error = self._note_capacity()
            self.local_list_refused = None
            self._sessions.station_list_versions[self.station_id] = version
            self._sessions.schedule_save()
        else:
            self.local_list_error = f"station answered {status}"
            if status in LOCAL_LIST_REFUSALS and self.local_list_refused is None:
                _LOGGER.warning(
                    "Station %s refused the badge list (SendLocalList: %s): it cannot check "
                    "badges while Home Assistant is unreachable; set LocalAuthListEnabled "
                    "to true on it (action change_configuration or its web interface), "
                    "then press Update configuration",
                    self.station_id,
                    status,
                )
            if status in LOCAL_LIST_REFUSALS:
                self.local_list_refused = status
        self.notify()
        return status

    async def async_clear_cache(self) -> str:
        """Empty the station's authorization cache (ClearCache)."""
        status = await self.require_connection().clear_cache()
        self.cache_status = status
        _LOGGER.info("Station %s cleared its authorization cache: %s", self.station_id, status)
        self.notify()
        return status

    async def _clear_cache_quietly(self) -> None:
        try:
            await self.async_clear_cache()
        except CommandError as err:
            _LOGGER.info("Could not clear the authorization cache of %s: %s", self.station_id, err)

    @property
    def stack_level(self) -> int:
        """Stack level for the profiles Charge Zones sends (by model and station report)."""
        max_stack = _int_key(self.configuration, "ChargeProfileMaxStackLevel")
        return profile_stack_level(self.config.model, max_stack)

    def note_profile(self, connector_id: int, profile: dict[str, Any], status: str) -> None:
        """Record the answer to a profile sent (by Charge Zones or an action)."""
        self.profile_status = status
        schedule = profile["charging_schedule"]
        if (
            status == "Accepted"
            and connector_id == 0
            and profile["charging_profile_id"] == PROFILE_ID_MAX_CURRENT
            and schedule["charging_rate_unit"] == "A"
        ):
            self.limit_sent = float(schedule["charging_schedule_period"][0]["limit"])
        self.notify()

    @property
    def live_stack_level(self) -> int | None:
        """Stack level of an expiring live limit above the fail-safe profile (None: none)."""
        max_stack = _int_key(self.configuration, "ChargeProfileMaxStackLevel")
        return live_stack_level(self.config.model, max_stack)

    def max_current_profile(
        self,
        limit: float,
        purpose: str = "TxDefaultProfile",
        stack_level: int | None = None,
        *,
        profile_id: int | None = None,
        valid_to: datetime | None = None,
        kind: str | None = None,
        phases: int | None = None,
    ) -> dict[str, Any]:
        """A profile on connector 0 capping every connector at limit (A per phase).

        phases: the numberPhases to charge on (a station switched to one phase), else
        its wiring's.

        The model decides the kind (unless given) and the unit: a watt-only station gets
        the total power of that current on its phases at the nominal voltage. An
        Absolute profile starts now (see `schedule_start`).
        """
        quirks = model_quirks(self.config.model)
        phases = phases or self.config.wiring.phase_count
        value = limit if quirks.rate_unit == "A" else limit * NOMINAL_VOLTAGE * phases
        kind = kind or quirks.profile_kind
        schedule: dict[str, Any] = {
            "charging_rate_unit": quirks.rate_unit,
            "charging_schedule_period": [
                {
                    "start_period": 0,
                    "limit": round(value, 1),
                    "number_phases": phases,
                }
            ],
        }
        if kind == "Absolute":
            schedule["start_schedule"] = schedule_start()
        profile: dict[str, Any] = {
            "charging_profile_id": PROFILE_IDS[purpose] if profile_id is None else profile_id,
            "stack_level": self.stack_level if stack_level is None else stack_level,
            "charging_profile_purpose": purpose,
            "charging_profile_kind": kind,
            "charging_schedule": schedule,
        }
        if valid_to is not None:
            profile["valid_to"] = _iso(valid_to)
        return profile

    @property
    def layered(self) -> bool:
        """Whether limits go out in the layered form (live limit above a fail-safe)."""
        return PROFILE_STRATEGIES[self.profile_strategy][2] and self.live_stack_level is not None

    def _leave_layered(self) -> None:
        if PROFILE_STRATEGIES[self.profile_strategy][2]:
            self.profile_strategy += 1

    async def async_set_failsafe(self, limit: float, validity: float) -> str:
        """Install the fail-safe current (A per phase) a managed station falls back to.

        In the layered form it is a TxDefaultProfile at stack level 0 without expiry,
        under the live limit; a station that rejects it gets its limits as a single
        profile from then on. Where the model has a fallback setting of its own, that
        is set too (the validity as its timeout).
        """
        connection = self.require_connection()
        status = "NotLayered"
        if self.layered:
            profile = self.max_current_profile(
                limit, "TxDefaultProfile", 0, profile_id=PROFILE_ID_FAILSAFE
            )
            status = await connection.set_charging_profile(0, profile)
            if status == "Accepted":
                self.failsafe_limit = round(limit, 1)
            else:
                _LOGGER.info(
                    "Station %s rejected the fail-safe profile (%s): its limits will not expire",
                    self.station_id,
                    status,
                )
                self.failsafe_limit = None
                self._leave_layered()
        else:
            self._leave_layered()
        if (keys := model_quirks(self.config.model).fallback_keys) is not None:
            await self._set_fallback_setting(keys, limit, validity)
        self.notify()
        return status

    async def _set_fallback_setting(
        self, keys: FallbackKeys, limit: float, validity: float
    ) -> None:
        """Set the station's own fallback current (and its timeout) where it has them."""
        if await self._change_key(keys.current, f"{limit:g}"):
            self.fallback_setting = round(limit, 1)
        else:
            self.fallback_setting = None
        if keys.timeout is not None and self.fallback_setting is not None:
            await self._change_key(keys.timeout, str(round(validity)))

    async def _change_key(self, key: str, value: str) -> bool:
        """Set a configuration key the station reported as writable; True when it took it."""
        current = self.configuration.get(key)
        if current is None or current.get("readonly"):
            return False
        if current.get("value") == value:
            return True
        status = await self.require_connection().change_configuration(key, value)
        if status in ("Accepted", "RebootRequired"):
            current["value"] = value
            return True
        _LOGGER.warning("Station %s did not take %s=%s: %s", self.station_id, key, value, status)
        return False

    async def _clear_failsafe(self, connection: StationConnection) -> None:
        """Remove the fail-safe profile: the limit going out does not expire."""
        await connection.clear_charging_profile(profile_id=PROFILE_ID_FAILSAFE)
        self.failsafe_limit = None

    async def async_set_limit(
        self, limit: float, *, validity: float | None = None, connector_id: int = 0
    ) -> str:
        """Send a current limit (A per phase) as a charging profile.

        connector_id 0 limits every connector (OCPP 1.6: a TxDefaultProfile on
        connector 0 applies to each connector); a station with several connectors gets
        a limit per connector instead, on that connector.

        validity (seconds): a load-managed limit. In the layered form, with the fail-safe
        profile installed, it expires after that long (refreshed by the load manager
        while it runs), so a station left alone falls back to the fail-safe current.
        A limit that does not expire (a station outside the zones, or a fallback) has
        nothing under it.

        A station that rejects the profile is tried with the fallbacks in order (a single
        profile at the model's stack level, at level 0, then a ChargePointMaxProfile);
        the one that works is kept. When all are rejected the station is marked as
        refusing profiles.
        """
        connection = self.require_connection()
        await self._clear_other_form(connection, connector_id)
        status = "Rejected"
        tried: set[tuple[str, int, bool, str | None]] = set()
        rejected = False
        for index in range(self.profile_strategy, len(PROFILE_STRATEGIES)):
            purpose, level, layered, kind = PROFILE_STRATEGIES[index]
            if connector_id and purpose == "ChargePointMaxProfile":
                continue  # a station-wide cap cannot limit one connector
            stack_level = self.live_stack_level if layered else level
            if layered and (stack_level is None or validity is None):
                continue  # a limit that never expires goes out at the model's level
            if stack_level is None:
                stack_level = self.stack_level
            expiring = layered and validity is not None and self.failsafe_limit is not None
            if (purpose, stack_level, expiring, kind) in tried:
                continue
            tried.add((purpose, stack_level, expiring, kind))
            if not expiring and self.failsafe_limit is not None:
                await self._clear_failsafe(connection)
            valid_to = (
                (_utcnow() + timedelta(seconds=validity)).replace(microsecond=0)
                if expiring and validity
                else None
            )
            asked = self.phases_in_use
            profile = self.max_current_profile(
                limit,
                purpose,
                stack_level,
                valid_to=valid_to,
                profile_id=PROFILE_ID_CONNECTOR_BASE + connector_id if connector_id else None,
                kind=kind,
                phases=asked,
            )
            status = await connection.set_charging_profile(connector_id, profile)
            self.profile_status = status
            if status != "Accepted":
                rejected = True
            else:
                self.phases_sent = asked
                if rejected and index != self.profile_strategy:
                    _LOGGER.info(
                        "Station %s accepts limits as %s at stack level %s%s",
                        self.station_id,
                        purpose,
                        stack_level,
                        f" ({kind})" if kind else "",
                    )
                    self.profile_strategy = index
                self.profile_error = None
                if connector_id:
                    self.connector_limits[connector_id] = round(limit, 1)
                else:
                    self.limit_sent = round(limit, 1)
                self.live_valid_to = valid_to
                self._note_fallback(validity)
                self.notify()
                return status
        self.profile_error = (
            f"rejected every charging profile limiting it to {limit:.1f} A ({status})"
        )
        _LOGGER.warning("Station %s %s", self.station_id, self.profile_error)
        self._note_fallback(validity)
        self.notify()
        return status

    async def _clear_other_form(self, connection: StationConnection, connector_id: int) -> None:
        """Remove the limits of the other form before sending one.

        A limit on connector 0 and limits per connector must not stay side by side: a
        station leaving per-connector limits (or the zones) would keep them, and one
        taking them would keep the connector-0 limit on connectors without their own.
        """
        if connector_id == 0:
            stale = [PROFILE_ID_CONNECTOR_BASE + c for c in self.connector_limits]
            if self.station_cap is not None:
                stale.append(PROFILE_IDS["ChargePointMaxProfile"])
            self.connector_limits = {}
            self.station_cap = None
        else:
            stale = [PROFILE_ID_MAX_CURRENT] if self.limit_sent is not None else []
            self.limit_sent = None
        for profile_id in stale:
            await connection.clear_charging_profile(profile_id=profile_id)

    async def async_set_station_cap(self, total: float, *, validity: float | None = None) -> str:
        """Cap the sum of every connector (A per phase) with a ChargePointMaxProfile.

        A second line behind the per-connector limits of a station with several
        connectors. It expires like the live limits (in the layered form), so a station
        left alone falls back to its fail-safe profile. A station that refuses it is
        not asked again on this connection (its connectors' limits still hold).
        """
        connection = self.require_connection()
        valid_to = (
            (_utcnow() + timedelta(seconds=validity)).replace(microsecond=0)
            if validity and self.layered and self.failsafe_limit is not None
            else None
        )
        profile = self.max_current_profile(
            total, "ChargePointMaxProfile", self.stack_level, valid_to=valid_to
        )
        status = await connection.set_charging_profile(0, profile)
        if status == "Accepted":
            self.station_cap = round(total, 1)
        else:
            self.cap_supported = False
            self.station_cap = None
            _LOGGER.info(
                "Station %s refused a station-wide cap (%s): its connectors are limited one by one",
                self.station_id,
                status,
            )
        self.notify()
        return status

    def _note_fallback(self, validity: float | None) -> None:
        if validity is None:
            self.fallback = None
        elif self.live_valid_to is not None and self.failsafe_limit is not None:
            self.fallback = FALLBACK_PROFILE
        elif self.fallback_setting is not None:
            self.fallback = FALLBACK_SETTING
        else:
            self.fallback = FALLBACK_NONE

    async def async_change_availability(self, connector_id: int, operative: bool) -> str:
        """Make the station (or one connector) available or not."""
        availability = "Operative" if operative else "Inoperative"
        status = await self.require_connection().change_availability(connector_id, availability)
        if status in ("Accepted", "Scheduled") and connector_id == 0:
            self.availability_requested = availability
            self.notify()
        return status


def _schedule_is(schedule: dict[str, Any] | None, unit: str, value: float) -> bool:
    """Whether a composite schedule holds exactly this limit for all its duration."""
    if schedule is None or str(schedule.get("charging_rate_unit")) != unit:
        return False
    duration = schedule.get("duration")
    if duration is not None and duration < COMPOSITE_CHECK_S:
        return False
    periods = schedule.get("charging_schedule_period") or []
    try:
        return bool(periods) and all(abs(float(p["limit"]) - value) < 0.05 for p in periods)
    except KeyError, TypeError, ValueError:
        return False


def _int_key(configuration: dict[str, dict[str, Any]], key: str) -> int | None:
    try:
        return int(str(configuration[key]["value"]).strip())
    except KeyError, TypeError, ValueError:
        return None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def schedule_start() -> str:
    """StartSchedule of an Absolute profile: now (UTC), a minute back.

    Without one an Absolute profile is ambiguous (OCPP 2.0.1 forbids it); a start a
    little in the past applies at once on a station whose clock is slightly behind.
    """
    return _iso((_utcnow() - timedelta(minutes=1)).replace(microsecond=0))


def _iso(moment: datetime) -> str:
    """An OCPP timestamp (UTC, seconds)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
