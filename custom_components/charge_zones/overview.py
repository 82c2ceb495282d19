"""What the Charge Zones card draws: a hub's zones, supplies and stations at a glance.

One JSON-ready structure per hub (or per zone and the zones nested in it): the zone tree
with, per building phase, the rating, the other load the DLM meter sees, the budget, the
allocated and the measured current, which phase binds and what bounds the budget; the
DLM service and each zone's fail-safe with the age of its last DLM reading; each station
under its zone with its connector status, allocated and drawn current, the reason code,
the badge holder and the session energy; and the entity ids whose states the card reads
live (the same numbers as the entities show).
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from .central.models import PHASES
from .const import DOMAIN
from .dlm.budget import ZERO, Budget, meter_node_key, zone_chain
from .loadmanager import LoadManager, ZoneConfig
from .site import Site
from .stations import Station

# The margin under which a phase's budget counts as set by a bound (rounding).
_BOUND_MARGIN = 0.05


def _entity(registry: er.EntityRegistry, platform: str, unique_id: str) -> str | None:
    """The entity the card reads live, None if none or disabled (no state to read)."""
    entity_id = registry.async_get_entity_id(platform, DOMAIN, unique_id)
    if entity_id is None or (entry := registry.async_get(entity_id)) is None:
        return None
    return None if entry.disabled else entity_id


def _round(values: Any) -> list[float | None]:
    return [None if v is None else round(float(v), 2) for v in values]


def _zone_meters(load: LoadManager, key: str) -> list[str]:
    """The DLM meters a zone is behind: its own, else those of the nearest parent."""
    specs = {k: z.spec for k, z in load.zones.items()}
    for zone in zone_chain(specs, key):
        if specs[zone].dlm_meters:
            return list(specs[zone].dlm_meters)
    return []


def _subtree(load: LoadManager, root: str) -> list[str]:
    """The zone and the zones nested in it, parents first."""
    result = [root]
    for key in result:
        result.extend(k for k, z in load.zones.items() if z.spec.parent == key and k not in result)
    return result


def _bounds(
    load: LoadManager, budget: Budget | None, zone: ZoneConfig, values: tuple[float, ...]
) -> list[dict[str, Any] | None]:
    """Per phase, what sets the zone's budget: its rating, a DLM supply or a parent zone."""
    result: list[dict[str, Any] | None] = []
    specs = {k: z.spec for k, z in load.zones.items()}
    for p, value in enumerate(values):
        if p not in zone.spec.phases or budget is None:
            result.append(None)
            continue
        found: dict[str, Any] | None = None
        if value >= zone.spec.max_current - _BOUND_MARGIN:
            found = {"kind": "rating", "key": zone.key, "name": zone.name}
        else:
            for key in zone_chain(specs, zone.key):
                for meter in specs[key].dlm_meters:
                    room = budget.headroom.get(meter, ZERO)[p]
                    if value >= room - _BOUND_MARGIN:
                        found = {"kind": "supply", "key": meter, "name": load.node_name(meter)}
                        break
                if found is not None:
                    break
                if key != zone.key and value >= specs[key].max_current - _BOUND_MARGIN:
                    found = {"kind": "parent", "key": key, "name": load.zones[key].name}
                    break
        result.append(found)
    return result


def _station(
    site: Site, registry: er.EntityRegistry, station: Station, failsafe: bool
) -> dict[str, Any]:
    sub = station.config.subentry_id
    allocation = station.allocation
    sessions = station.open_sessions()
    session = station.last_session()
    connectors = []
    for connector_id in range(1, station.config.connectors + 1):
        state = station.connectors.get(connector_id)
        point = station.connector_allocations.get(
            connector_id if station.config.connectors > 1 else 0
        )
        connectors.append(
            {
                "id": connector_id,
                "status": str(state.status).lower() if state and state.status else None,
                "allocated": None if point is None else round(point.limit, 2),
                "reason": None if point is None else str(point.reason),
                "entity": _entity(registry, "sensor", f"{sub}_connector_{connector_id}_status"),
            }
        )
    phases = [PHASES.index(p) for p in station.config.wiring.grid_phases]
    return {
        "key": sub,
        "station_id": station.station_id,
        "zone": station.config.zone,
        "remote": station.config.remote,
        "connected": station.connected,
        "phases": phases,
        "min_current": station.config.min_current,
        "max_current": station.config.max_current,
        "priority": station.config.priority,
        "connectors": connectors,
        "allocated": None if allocation is None else round(allocation.limit, 2),
        "reason": None if allocation is None else str(allocation.reason),
        "limited_by": station.allocation_by,
        "failsafe": failsafe,
        # An offline station's last readings are not what it draws (its sensors are
        # unavailable): none.
        "drawn": _round(station.current(p) if station.connected else None for p in PHASES),
        "badge": (sessions[0].holder or sessions[0].id_tag) if sessions else None,
        "session_energy_wh": session.energy_wh if session else None,
        "charging": bool(sessions),
        "entities": {
            "connected": _entity(registry, "binary_sensor", f"{sub}_connected"),
            "allocated": _entity(registry, "sensor", f"{sub}_allocated_current"),
            "current": [_entity(registry, "sensor", f"{sub}_current_{p.lower()}") for p in PHASES],
            "session_energy": _entity(registry, "sensor", f"{sub}_session_energy"),
            "badge": _entity(registry, "sensor", f"{sub}_active_badge"),
            "max_current": _entity(registry, "number", f"{sub}_max_current"),
        },
    }


def _meter(load: LoadManager, budget: Budget | None, key: str, zones: list[str]) -> dict[str, Any]:
    meter = load.meters.get(key)
    poller = load.pollers.get(key)
    reading = poller.last_good if poller is not None else None
    return {
        "key": key,
        "name": load.node_name(key),
        "shared": len(zones) > 1,
        "zones": zones,
        "rating": meter.amperage if meter else None,
        "measured": None if reading is None else _round(reading.current),
        "other_load": None
        if budget is None or key not in budget.other_load
        else _round(budget.other_load[key]),
        "room": None
        if budget is None or key not in budget.headroom
        else _round(budget.headroom[key]),
        "reading_age": load.reading_age(key),
        "reachable": bool(poller and poller.last_good and not poller.consecutive_failures),
    }


def build_overview(hass: HomeAssistant, site: Site, zone: str | None = None) -> dict[str, Any]:
    """The card's data for a hub, or for one zone and the zones nested in it."""
    registry = er.async_get(hass)
    load = site.load
    budget = load.last_budget
    entry_id = site.entry.entry_id
    if zone is not None and zone not in load.zones:
        raise KeyError(zone)
    keys = _subtree(load, zone) if zone is not None else _tops(load)
    zones: list[dict[str, Any]] = []
    station_rows: list[dict[str, Any]] = []
    meters: dict[str, list[str]] = {}
    for key in keys:
        config = load.zones[key]
        spec = config.spec
        state = load.zone_states.get(key)
        failsafe = state.failsafe if state is not None else None
        members = [s for s in site.stations.values() if s.config.zone == key]
        measured = [0.0, 0.0, 0.0]
        for sub in _subtree(load, key):
            for station in site.stations.values():
                if station.config.zone == sub and station.connected:
                    for p, phase in enumerate(PHASES):
                        measured[p] += station.current(phase) or 0.0
        budget_values = state.budget if state is not None else ZERO
        allocated = state.allocated if state is not None else ZERO
        room = [budget_values[p] - allocated[p] if p in spec.phases else None for p in range(3)]
        open_rooms = [(r, p) for p, r in enumerate(room) if r is not None]
        binding = min(open_rooms)[1] if open_rooms and state is not None else None
        zone_meters = _zone_meters(load, key)
        for meter in zone_meters:
            meters.setdefault(meter, [])
            if key not in meters[meter]:
                meters[meter].append(key)
        limiting = {
            s.allocation.node
            for s in members
            if s.allocation is not None and str(s.allocation.reason) == "fair_share"
        }
        zones.append(
            {
                "key": key,
                "name": config.name,
                "parent": spec.parent if spec.parent in load.zones else None,
                "depth": len(zone_chain({k: z.spec for k, z in load.zones.items()}, key)) - 1,
                "phases": list(spec.phases),
                "rating": spec.max_current,
                "failsafe_current": spec.failsafe_current,
                "stale_after": spec.stale_after,
                "budget": _round(budget_values) if state is not None else None,
                "allocated": _round(allocated) if state is not None else None,
                "measured": _round(measured),
                "binding_phase": binding,
                "limited_by": sorted(
                    name for node in limiting if (name := load.node_name(node)) is not None
                ),
                "binding": bool(limiting),
                "budget_bounds": _bounds(load, budget, config, budget_values),
                "meters": zone_meters,
                "active": state.active if state else 0,
                "paused": state.paused if state else 0,
                "failsafe": None
                if failsafe is None
                else {
                    "meter": load.node_name(failsafe.meter),
                    "age": failsafe.age,
                    "stale_after": failsafe.stale_after,
                },
                "stations": [s.config.subentry_id for s in members],
                "entities": {
                    "budget": [
                        _entity(registry, "sensor", f"{key}_budget_l{i}") for i in (1, 2, 3)
                    ],
                    "allocated": [
                        _entity(registry, "sensor", f"{key}_allocated_l{i}") for i in (1, 2, 3)
                    ],
                    "headroom": _entity(registry, "sensor", f"{key}_headroom"),
                    "failsafe": _entity(registry, "binary_sensor", f"{key}_failsafe"),
                    "max_current": _entity(registry, "number", f"{key}_zone_max_current"),
                },
            }
        )
        station_rows.extend(_station(site, registry, s, failsafe is not None) for s in members)
    if zone is None:
        station_rows.extend(
            _station(site, registry, s, False)
            for s in site.stations.values()
            if s.config.zone is None or s.config.zone not in load.zones
        )
    return {
        "entry_id": entry_id,
        "title": site.entry.title,
        "zone": zone,
        "dlm": {
            "running": load.running,
            "active": load.active,
            "error": load.cycle_error,
            "entity": _entity(registry, "binary_sensor", f"{entry_id}_dlm_service"),
        },
        "supplies": [
            _meter(load, budget, key, behind)
            for key, behind in meters.items()
            if key in load.meters or meter_node_key(key) in (budget.nodes if budget else {})
        ],
        "zones": zones,
        "stations": station_rows,
    }


def _tops(load: LoadManager) -> list[str]:
    """Every zone, each after its parent."""
    result: list[str] = []
    for key, config in load.zones.items():
        if config.spec.parent is None or config.spec.parent not in load.zones:
            result.extend(k for k in _subtree(load, key) if k not in result)
    # A cycle of parents (the flows refuse one) would leave zones out: add them last.
    result.extend(k for k in load.zones if k not in result)
    return result
