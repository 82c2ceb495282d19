"""The reason, visible: what load management does to a station, on the station's device.

Real OCPP stations over websockets, a real Modbus TCP meter, Home Assistant in between;
stations edited through their reconfigure form, as a user does. None of it reloads the
hub: every station stays connected.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.charge_zones.const import DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
from simulator.meter import SimulatedMeter
from simulator.station import SimulatedStation, StationClient

from .conftest import DEFAULT_BADGES, quick_hub_entry, station_subentry, ws_url
from .helpers import entity_id, state_of, wait_until
from .test_config_flow import start_subentry_reconfigure, station_input
from .test_dlm import ZONE, connection, managed, meter, zone
from .test_zone_pause import set_zone_max

FREE = "CP-A"  # outside the zones at first
MANAGED = "CP-M"  # in the zone, priority 3
REMOTE = "CP-R"  # a cloud station: never load-managed
MANAGED_KEYS = ("allocated_current", "load_management", "zone", "priority")


@pytest.fixture
def subentries(sim_meter: SimulatedMeter) -> list[dict[str, Any]]:
    """A 32 A zone behind a 40 A commons meter; a free, a managed and a remote station."""
    vip = managed(MANAGED)
    vip["data"]["priority"] = 3
    return [
        connection(sim_meter.port),
        meter(),
        zone(),
        station_subentry(FREE),
        vip,
        station_subentry(REMOTE, remote=True, password="remote-station-password"),
        *DEFAULT_BADGES,
    ]


@pytest.fixture
def config_entry(port: int, subentries: list[dict[str, Any]]) -> MockConfigEntry:
    return quick_hub_entry(port, subentries)


def registry_entry(hass: HomeAssistant, platform: str, unique_id: str) -> er.RegistryEntry | None:
    """The entity registry's entry of a unique id, if any."""
    registry = er.async_get(hass)
    found = registry.async_get_entity_id(platform, DOMAIN, unique_id)
    return None if found is None else registry.entities[found]


async def edit_station(
    hass: HomeAssistant, entry: MockConfigEntry, station_id: str, **changes: Any
) -> None:
    """Submit the station's reconfigure form with some fields changed."""
    result = await start_subentry_reconfigure(hass, entry, f"sub_{station_id}")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], station_input(station_id, **changes)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()


async def no_reload(hass: HomeAssistant, entry: MockConfigEntry, site: Any) -> None:
    """Home Assistant reloads an entry 30 s after one of its entities is enabled: none is
    due, the hub runs on (the same site, its stations connected)."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is site


async def booted(entry: MockConfigEntry, client: StationClient) -> SimulatedStation:
    station = await client.connect()
    assert (await station.boot()).status == "Accepted"
    return station


# --- 1. Load management, a translated enum sensor of every managed station -----------


async def test_load_management_sensors_follow_the_zone(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A station put in a zone gets *Allocated current*, *Load management*, *Zone* and
    *Priority*, enabled, with no reload; out of the zone it has none; back in, what the
    user disabled stays disabled."""
    site = loaded_entry.runtime_data
    for key in MANAGED_KEYS:
        assert registry_entry(hass, "sensor", f"sub_{FREE}_{key}") is None, key
        assert registry_entry(hass, "sensor", f"sub_{MANAGED}_{key}") is not None, key

    async with StationClient(ws_url(loaded_entry), FREE) as station:
        assert (await station.boot()).status == "Accepted"
        hub_station = site.stations[f"sub_{FREE}"]
        await wait_until(hass, lambda: hub_station.ready)

        await edit_station(hass, loaded_entry, FREE, zone=ZONE)
        for key in MANAGED_KEYS:
            found = registry_entry(hass, "sensor", f"sub_{FREE}_{key}")
            assert found is not None, key
            assert found.disabled_by is None, key
        load = entity_id(hass, "sensor", f"sub_{FREE}_load_management")
        await wait_until(
            hass, lambda: state_of(hass, "sensor", f"sub_{FREE}_load_management") == "idle"
        )
        state = hass.states.get(load)
        assert state is not None
        assert state.attributes["options"] == [
            "fair_share",
            "capped_by_car",
            "station_max",
            "paused",
            "failsafe",
            "idle",
            "ignoring_limit",
            "offline",
            "solar",
            "waiting_for_sun",
            "mode_off",
            "waiting_for_schedule",
        ]
        assert "limited_by" in state.attributes
        assert state_of(hass, "sensor", f"sub_{FREE}_allocated_current") == "6.0"
        assert state_of(hass, "sensor", f"sub_{FREE}_zone") == "Zone1"
        assert state_of(hass, "sensor", f"sub_{FREE}_priority") == "0"
        await no_reload(hass, loaded_entry, site)
        assert hub_station.connected

        # The user disables Load management; the station leaves the zone, then comes back.
        er.async_get(hass).async_update_entity(load, disabled_by=er.RegistryEntryDisabler.USER)
        await hass.async_block_till_done()
        await edit_station(hass, loaded_entry, FREE)
        for key in MANAGED_KEYS:
            assert registry_entry(hass, "sensor", f"sub_{FREE}_{key}") is None, key
        assert hass.states.get(load) is None
        await edit_station(hass, loaded_entry, FREE, zone=ZONE, priority=2)
        again = registry_entry(hass, "sensor", f"sub_{FREE}_load_management")
        assert again is not None
        assert (again.entity_id, again.disabled_by) == (load, er.RegistryEntryDisabler.USER)
        await wait_until(
            hass, lambda: state_of(hass, "sensor", f"sub_{FREE}_allocated_current") == "6.0"
        )
        assert state_of(hass, "sensor", f"sub_{FREE}_priority") == "2"
        await no_reload(hass, loaded_entry, site)
        assert hub_station.connected


async def test_allocated_current_disabled_by_an_earlier_version_is_enabled(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Earlier versions created *Allocated current* disabled for a station outside the
    zones, and it stayed disabled once the station was put in one: now it is enabled
    (without a reload); a station outside the zones keeps no such entity."""
    config_entry.add_to_hass(hass)
    registry = er.async_get(hass)
    for station_id, disabled_by in (
        (MANAGED, er.RegistryEntryDisabler.INTEGRATION),
        (FREE, None),
        (REMOTE, er.RegistryEntryDisabler.INTEGRATION),
    ):
        registry.async_get_or_create(
            "sensor",
            DOMAIN,
            f"sub_{station_id}_allocated_current",
            config_entry=config_entry,
            config_subentry_id=f"sub_{station_id}",
            disabled_by=disabled_by,
            suggested_object_id=f"{station_id}_allocated_current",
        )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    site = config_entry.runtime_data

    found = registry_entry(hass, "sensor", f"sub_{MANAGED}_allocated_current")
    assert found is not None
    assert found.disabled_by is None
    assert found.entity_id == "sensor.cp_m_allocated_current"
    assert hass.states.get(found.entity_id) is not None
    assert registry_entry(hass, "sensor", f"sub_{FREE}_allocated_current") is None
    assert registry_entry(hass, "sensor", f"sub_{REMOTE}_allocated_current") is None
    await no_reload(hass, config_entry, site)

    # The free station joins: created enabled, not restored from the old disabled entry.
    await edit_station(hass, config_entry, FREE, zone=ZONE)
    found = registry_entry(hass, "sensor", f"sub_{FREE}_allocated_current")
    assert found is not None
    assert found.disabled_by is None
    await no_reload(hass, config_entry, site)
    await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()


# --- 2. A pause of load management is the station's status -----------------------------


async def test_paused_station_says_so(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """A session held at 0 A by load management reads *Paused by load management*, not
    *Charging*: on its status (the station's own status in `ocpp_status`) and on *Load
    management*; when the zone gives room again it is *Charging*."""
    site = loaded_entry.runtime_data
    await set_zone_max(hass, ZONE, 0)
    async with StationClient(ws_url(loaded_entry), MANAGED) as station:
        await station.boot()
        await station.start_transaction(1, "BADGE-ALICE", 0)
        await station.status(1, "Charging")
        status = entity_id(hass, "sensor", f"sub_{MANAGED}_connector_1_status")
        await wait_until(
            hass, lambda: state_of(hass, "sensor", f"sub_{MANAGED}_connector_1_status") == "paused"
        )
        state = hass.states.get(status)
        assert state is not None
        assert state.attributes["ocpp_status"] == "Charging"
        assert "paused" in state.attributes["options"]
        assert state_of(hass, "sensor", f"sub_{MANAGED}_load_management") == "paused"
        assert state_of(hass, "sensor", f"sub_{MANAGED}_allocated_current") == "0.0"

        await set_zone_max(hass, ZONE, 32)
        await wait_until(
            hass,
            lambda: state_of(hass, "sensor", f"sub_{MANAGED}_connector_1_status") == "charging",
            within=10,
        )
        state = hass.states.get(status)
        assert state is not None
        assert "ocpp_status" not in state.attributes
        assert state_of(hass, "sensor", f"sub_{MANAGED}_load_management") != "paused"

        # Out of the zones nothing is held: the station's own status again.
        await set_zone_max(hass, ZONE, 0)
        await wait_until(
            hass, lambda: state_of(hass, "sensor", f"sub_{MANAGED}_connector_1_status") == "paused"
        )
        await edit_station(hass, loaded_entry, MANAGED)
        assert state_of(hass, "sensor", f"sub_{MANAGED}_connector_1_status") == "charging"
        assert site.stations[f"sub_{MANAGED}"].connected


# --- 3. Device pages: zone, priority, configured model, meter amperage -----------------


async def test_device_pages(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """Before its boot a station's device shows its configured model (and a model edit);
    after, the boot's, kept over a restart; its zone and priority are diagnostic sensors;
    the meter shows its amperage; the remote station has no *Maximum current*."""
    devices = dr.async_get(hass)

    def device(key: str) -> dr.DeviceEntry:
        found = devices.async_get_device_by_identifier((DOMAIN, key), loaded_entry.entry_id)
        assert found is not None
        return found

    assert device(f"sub_{MANAGED}").model == "OCPP 1.6J"
    assert device(f"sub_{MANAGED}").manufacturer is None
    assert state_of(hass, "sensor", f"sub_{MANAGED}_zone") == "Zone1"
    assert state_of(hass, "sensor", f"sub_{MANAGED}_priority") == "3"
    zone_sensor = registry_entry(hass, "sensor", f"sub_{MANAGED}_zone")
    assert zone_sensor is not None
    assert zone_sensor.entity_category is er.EntityCategory.DIAGNOSTIC
    await edit_station(hass, loaded_entry, MANAGED, zone=ZONE, priority=3, model="abb_terra")
    assert device(f"sub_{MANAGED}").model == "ABB Terra"

    # A zone renamed: its stations' Zone sensor follows.
    zone_entry = loaded_entry.subentries[ZONE]
    hass.config_entries.async_update_subentry(
        loaded_entry, zone_entry, data={**zone_entry.data, "name": "Car park"}
    )
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", f"sub_{MANAGED}_zone") == "Car park"

    amperage = registry_entry(hass, "sensor", "meter1_meter_amperage")
    assert amperage is not None
    assert amperage.entity_category is er.EntityCategory.DIAGNOSTIC
    state = hass.states.get(amperage.entity_id)
    assert state is not None
    assert (state.state, state.attributes["unit_of_measurement"]) == ("40.0", "A")

    assert registry_entry(hass, "number", f"sub_{FREE}_max_current") is not None
    assert registry_entry(hass, "number", f"sub_{REMOTE}_max_current") is None
    # Made remote, a station loses its maximum current; made local again, gets it back.
    result = await start_subentry_reconfigure(hass, loaded_entry, f"sub_{FREE}")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        station_input(FREE, endpoint="remote", password="free-station-password"),
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert registry_entry(hass, "number", f"sub_{FREE}_max_current") is None
    await edit_station(hass, loaded_entry, FREE, endpoint="local")
    assert registry_entry(hass, "number", f"sub_{FREE}_max_current") is not None

    async with StationClient(ws_url(loaded_entry), MANAGED) as station:
        await station.boot(vendor="ABB", model="Terra AC W22", firmware="1.8.2")
        await wait_until(hass, lambda: device(f"sub_{MANAGED}").manufacturer == "ABB")
    assert device(f"sub_{MANAGED}").model == "Terra AC W22"
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert device(f"sub_{MANAGED}").model == "Terra AC W22"


# --- 4. New connectors without a reload ------------------------------------------------


async def test_connectors_edited_without_reload(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Two connectors: the second gets its status, error code and unlock at once, the
    first is named after its number; back to one, the second's entities go. The station
    stays connected throughout."""
    site = loaded_entry.runtime_data
    status_1 = entity_id(hass, "sensor", f"sub_{FREE}_connector_1_status")
    async with StationClient(ws_url(loaded_entry), FREE) as station:
        await station.boot()
        hub_station = site.stations[f"sub_{FREE}"]
        await wait_until(hass, lambda: hub_station.ready)
        await station.status(1, "Available")
        await wait_until(
            hass, lambda: state_of(hass, "sensor", f"sub_{FREE}_connector_1_status") == "available"
        )

        await edit_station(hass, loaded_entry, FREE, connectors=2.0)
        await station.status(2, "Preparing")
        await wait_until(
            hass,
            lambda: (
                hass.states.get("sensor.cp_a_connector_2_status") is not None
                and state_of(hass, "sensor", f"sub_{FREE}_connector_2_status") == "preparing"
            ),
        )
        assert registry_entry(hass, "sensor", f"sub_{FREE}_connector_2_error_code") is not None
        assert registry_entry(hass, "button", f"sub_{FREE}_unlock_2") is not None
        state = hass.states.get(status_1)  # the same entity, named after its number
        assert state is not None
        assert state.attributes["friendly_name"] == "CP-A Connector 1 status"
        assert state.state == "available"
        unlock_1 = registry_entry(hass, "button", f"sub_{FREE}_unlock_1")
        assert unlock_1 is not None
        assert unlock_1.translation_key == "unlock_connector"
        await no_reload(hass, loaded_entry, site)
        assert hub_station.connected

        await edit_station(hass, loaded_entry, FREE, connectors=1.0)
        await hass.async_block_till_done()
        assert registry_entry(hass, "sensor", f"sub_{FREE}_connector_2_status") is None
        assert registry_entry(hass, "button", f"sub_{FREE}_unlock_2") is None
        await wait_until(
            hass,
            lambda: (
                (state := hass.states.get(status_1)) is not None
                and state.attributes["friendly_name"] == "CP-A Status"
            ),
        )
        await no_reload(hass, loaded_entry, site)
        assert hub_station.connected
