"""Diagnostics: hub, stations as they are now, badges and sessions (redacted)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_HOLDER, CONF_TAG
from .site import ChargeZonesConfigEntry
from .stations import Station

TO_REDACT = {CONF_TAG, CONF_HOLDER, "id_tag", "holder", "iccid", "imsi", "AuthorizationKey"}


def _station(station: Station) -> dict[str, Any]:
    boot = station.boot
    return {
        "station_id": station.station_id,
        "config": {
            "model": station.config.model,
            "connectors": station.config.connectors,
            "wiring": station.config.wiring.value,
            "min_current": station.config.min_current,
            "max_current": station.config.max_current,
        },
        "connected": station.connected,
        "boot": None
        if boot is None
        else {
            "vendor": boot.vendor,
            "model": boot.model,
            "serial": boot.serial,
            "firmware": boot.firmware_version,
            "iccid": boot.iccid,
            "imsi": boot.imsi,
        },
        "last_seen": station.last_seen.isoformat() if station.last_seen else None,
        "configuration": station.configuration,
        "unknown_keys": station.unknown_keys,
        "configuration_error": station.configuration_error,
        "local_list_version": station.local_list_version,
        "local_list_error": station.local_list_error,
        "limit_sent": station.limit_sent,
        "profile_status": station.profile_status,
        "firmware_status": station.firmware_status,
        "connectors": {
            str(cid): {
                "status": c.status,
                "error_code": c.error_code,
                "info": c.info,
                "measurements": [
                    {
                        "measurand": s.measurand,
                        "phase": s.phase,
                        "location": s.location,
                        "value": s.value,
                        "unit": s.unit,
                        "timestamp": s.timestamp.isoformat(),
                    }
                    for s in c.measurements.samples.values()
                ],
            }
            for cid, c in station.connectors.items()
        },
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: ChargeZonesConfigEntry
) -> dict[str, Any]:
    """Diagnostics of a hub."""
    site = entry.runtime_data
    return async_redact_data(
        {
            "entry": {"data": dict(entry.data), "options": dict(entry.options)},
            "server": {"running": site.server.running, "port": site.server.bound_port},
            "stations": [_station(s) for s in site.stations.values()],
            "unknown_stations": [
                {"station_id": u.station_id, "remote": u.remote}
                for u in site.unknown_stations.values()
            ],
            "badges": [
                {
                    "tag": b.data.get(CONF_TAG),
                    "holder": b.data.get(CONF_HOLDER),
                    "status": b.data.get("status"),
                    "expiry": b.data.get("expiry"),
                }
                for b in entry.subentries.values()
                if b.subentry_type == "badge"
            ],
            "sessions": {
                "last_transaction_id": site.sessions.last_transaction_id,
                "open": [s.as_dict() for s in site.sessions.open.values()],
                "closed_count": len(site.sessions.closed),
                "recent": [s.as_dict() for s in site.sessions.closed[-20:]],
                "local_list_version": site.sessions.local_list_version,
            },
        },
        TO_REDACT,
    )
