"""Diagnostics: hub, stations as they are now, badges, sessions and billing (redacted)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_HOLDER, CONF_KEYFILE, CONF_PASSWORD, CONF_TAG
from .site import ChargeZonesConfigEntry, Site
from .stations import Station

TO_REDACT = {
    CONF_TAG,
    CONF_HOLDER,
    CONF_PASSWORD,
    CONF_KEYFILE,
    "id_tag",
    "holder",
    "iccid",
    "imsi",
    "AuthorizationKey",
}


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
            "endpoint": station.config.endpoint,
            "password_set": station.config.password is not None,
            "load_managed": station.config.zone is not None,
            "charging_mode": station.config.charging_mode,
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
        "local_list_refused": station.local_list_refused,
        "cache_status": station.cache_status,
        "security_events": [
            {
                "type": event.type,
                "at": event.at.isoformat(),
                "tech_info": event.tech_info,
                "received_at": event.received_at.isoformat(),
            }
            for event in station.security_events
        ],
        "limit_sent": station.limit_sent,
        "profile_status": station.profile_status,
        "profile_strategy": station.profile_strategy,
        "profile_error": station.profile_error,
        "ignoring_limit": station.ignoring_limit,
        "connector_count": station.connector_count,
        "connector_limits": {str(c): v for c, v in station.connector_limits.items()},
        "station_cap": station.station_cap,
        "connector_allocations": {
            str(c): {"limit": a.limit, "reason": str(a.reason)}
            for c, a in station.connector_allocations.items()
        },
        "fallback": station.fallback,
        "failsafe_limit": station.failsafe_limit,
        "fallback_setting": station.fallback_setting,
        "live_valid_to": station.live_valid_to.isoformat() if station.live_valid_to else None,
        "zone": station.config.zone,
        # Phase switching (solar modes): phases its live limits ask for (None: wiring's).
        "phase_switching": station.config.phase_switching,
        "phases_in_use": station.phases_in_use,
        "phase_switch_ignored": station.phase_switch_ignored,
        "allocation": None
        if station.allocation is None
        else {
            "limit": station.allocation.limit,
            "reason": str(station.allocation.reason),
            "limited_by": station.allocation.node,
        },
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


def _billing(site: Site) -> dict[str, Any]:
    """Tariff and price now, and every badge's totals (without its tag)."""
    price = site.tariff()
    return {
        "tariff": site.tariff.kind,
        "currency": site.tariff.currency,
        "price_now": None if price is None else asdict(price),
        # The solar/grid split (a self-consumption community): the solar price now, the
        # building's solar fraction last noted, the PV production read, what was charged.
        "solar_price_now": None if (solar := site.solar_tariff()) is None else asdict(solar),
        "solar_share": site.load.solar_log.fraction,
        "pv_power": site.load.pv_power,
        "charged_solar_wh": round(site.sessions.charged_solar_wh, 1),
        "charged_grid_wh": round(site.sessions.charged_grid_wh, 1),
        "badge_totals": [t.as_dict() for t in site.sessions.badge_totals.values()],
        # Keyed by nothing personal: the holder's name is a (redacted) field.
        "holder_totals": [
            {"holder": t.name, **{k: v for k, v in t.as_dict().items() if k != "name"}}
            for t in site.sessions.holder_totals.values()
        ],
        "station_serials": site.sessions.station_serials,
    }


def _load(site: Site) -> dict[str, Any]:
    load = site.load
    return {
        "running": load.running,
        "cycles": load.cycles,
        "cycle_error": load.cycle_error,
        "cycle_failures": load.cycle_failures,
        "zones": {
            key: {
                "name": zone.name,
                "spec": asdict(zone.spec),
                "state": asdict(load.zone_states[key]) if key in load.zone_states else None,
            }
            for key, zone in load.zones.items()
        },
        "meters": {
            key: {
                "name": meter.name,
                "model": meter.model.label,
                "unit": meter.unit,
                "amperage": meter.amperage,
                "grid_connection": meter.grid,
                "reads": poller.reads if (poller := load.pollers.get(key)) else None,
                "failures": poller.failures if poller else None,
                "last_error": poller.last_error if poller else None,
                "blocks": poller.block_status if poller else None,
                "last_reading": asdict(poller.last_good) if poller and poller.last_good else None,
            }
            for key, meter in load.meters.items()
        },
        "buses": {key: asdict(bus.stats) for key, bus in load.buses.items()},
        "other_load": load.last_budget.other_load if load.last_budget else None,
        "solar": {
            "settings": asdict(load.solar.settings),
            "surplus": load.surplus,
            "surplus_power": load.surplus_power,
            "sessions": {key: asdict(cap) for key, cap in load.solar_caps.items()},
        },
        # The Scheduled mode's window: window, price (open), closed, unsure, none.
        "charging_window": site.charging_window.state,
        # Scheduled sessions with a departure plan (departures.py): may charge now.
        "departure_windows": {
            f"{station} {tx}": open_now for (station, tx), open_now in load.session_windows.items()
        },
        # Zones whose maximum is reduced now (tariff windows, prices): A, and why.
        "zone_reductions": {
            key: {"current": current, "reason": site.zone_reductions.reasons.get(key)}
            for key, current in load.zone_reductions.items()
        },
        # The peak limit's quarter hour (W, J, epoch seconds), the stations' room and
        # what the rest of the building draws (W, as estimated: see dlm.peak).
        "peak": None
        if load.peak is None
        else {
            **asdict(load.peak),
            "charging_room": load.peak_room,
            "rest_of_building": load.peak_rest,
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
            "server": {
                "running": site.server.running,
                "port": site.server.bound_port,
                "tls": site.server.tls,
                "throttled_frames": {
                    station_id: connection.throttle.throttled
                    for station_id, connection in site.links.connections.items()
                    if connection.throttle.throttled
                },
            },
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
            "load_management": _load(site),
            "billing": _billing(site),
            "sessions": {
                "last_transaction_id": site.sessions.last_transaction_id,
                "open": [s.as_dict() for s in site.sessions.open.values()],
                "closed_count": site.sessions.history_count,
                "recent": [s.as_dict() for s in site.sessions.closed[-20:]],
                "local_list_version": site.sessions.local_list_version,
            },
        },
        TO_REDACT,
    )
