"""Events: every badge presented at a station, and the security events it reports."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import StationEntity
from .site import ChargeZonesConfigEntry
from .stations import AuthorizationEvent, SecurityEvent, Station

PARALLEL_UPDATES = 0

EVENT_ACCEPTED = "accepted"
EVENT_REJECTED = "rejected"

AUTHORIZATION = EventEntityDescription(
    key="authorization",
    translation_key="authorization",
    event_types=[EVENT_ACCEPTED, EVENT_REJECTED],
)

# SecurityEventNotification types (OCPP 1.6 security whitepaper; the OCPP 2.0.1 names
# some stations send are the same events) as event types; any other is "other".
SECURITY_EVENT_TYPES: dict[str, str] = {
    "FirmwareUpdated": "firmware_updated",
    "FailedToAuthenticateAtCentralSystem": "failed_to_authenticate_at_central_system",
    "FailedToAuthenticateAtCsms": "failed_to_authenticate_at_central_system",
    "CentralSystemFailedToAuthenticate": "central_system_failed_to_authenticate",
    "CsmsFailedToAuthenticate": "central_system_failed_to_authenticate",
    "SettingSystemTime": "setting_system_time",
    "StartupOfTheDevice": "startup_of_the_device",
    "ResetOrReboot": "reset_or_reboot",
    "SecurityLogWasCleared": "security_log_was_cleared",
    "ReconfigurationOfSecurityParameters": "reconfiguration_of_security_parameters",
    "MemoryExhaustion": "memory_exhaustion",
    "InvalidMessages": "invalid_messages",
    "AttemptedReplayAttacks": "attempted_replay_attacks",
    "TamperDetectionActivated": "tamper_detection_activated",
    "InvalidFirmwareSignature": "invalid_firmware_signature",
    "InvalidFirmwareSigningCertificate": "invalid_firmware_signing_certificate",
    "InvalidCentralSystemCertificate": "invalid_central_system_certificate",
    "InvalidCsmsCertificate": "invalid_central_system_certificate",
    "InvalidChargePointCertificate": "invalid_charge_point_certificate",
    "InvalidChargingStationCertificate": "invalid_charge_point_certificate",
    "InvalidTLSVersion": "invalid_tls_version",
    "InvalidTLSCipherSuite": "invalid_tls_cipher_suite",
}
SECURITY_OTHER = "other"

SECURITY = EventEntityDescription(
    key="security_event",
    translation_key="security_event",
    event_types=sorted({*SECURITY_EVENT_TYPES.values(), SECURITY_OTHER}),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeZonesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the authorization event of every station."""
    site = entry.runtime_data

    @callback
    def add_station(station: Station) -> None:
        async_add_entities(
            [
                AuthorizationEventEntity(site, station, AUTHORIZATION),
                SecurityEventEntity(site, station, SECURITY),
            ],
            config_subentry_id=station.config.subentry_id,
        )

    for station in site.stations.values():
        add_station(station)
    entry.async_on_unload(site.on_station_added(add_station))


class AuthorizationEventEntity(StationEntity, EventEntity):
    """Fires when a badge is presented: accepted or rejected, with tag and holder."""

    @property
    def available(self) -> bool:
        """Events stay visible while the station is offline."""
        return True

    def _snapshot(self) -> Any:
        return None

    async def async_added_to_hass(self) -> None:
        """Listen to authorizations."""
        await super().async_added_to_hass()
        self.async_on_remove(self.station.add_authorization_listener(self._on_authorization))

    @callback
    def _on_authorization(self, event: AuthorizationEvent) -> None:
        self._trigger_event(
            EVENT_ACCEPTED if event.accepted else EVENT_REJECTED,
            {"tag": event.tag, "holder": event.holder, "status": event.status.lower()},
        )
        self.async_write_ha_state()


class SecurityEventEntity(StationEntity, EventEntity):
    """Fires for each SecurityEventNotification: its type, the station's time, tech info."""

    @property
    def available(self) -> bool:
        """Events stay visible while the station is offline."""
        return True

    def _snapshot(self) -> Any:
        return None

    async def async_added_to_hass(self) -> None:
        """Listen to security events."""
        await super().async_added_to_hass()
        self.async_on_remove(self.station.add_security_listener(self._on_security_event))

    @callback
    def _on_security_event(self, event: SecurityEvent) -> None:
        self._trigger_event(
            SECURITY_EVENT_TYPES.get(event.type, SECURITY_OTHER),
            {
                "type": event.type,
                "tech_info": event.tech_info,
                "timestamp": event.at.isoformat(),
            },
        )
        self.async_write_ha_state()
