"""Hubs written by earlier versions keep working: their config entries are migrated.

Version 1 stored select values as shown (``L2``, ``L2-L3-L1``, zone phases ``L1``, parity
``E``); hassfest rejects such translation keys, so version 2 stores them lowercase.
"""

from __future__ import annotations

from typing import Any

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones.central.models import Wiring
from custom_components.charge_zones.const import DOMAIN, ENTRY_MINOR_VERSION, ENTRY_VERSION
from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er

from .conftest import (
    connection_subentry,
    meter_subentry,
    station_subentry,
    zone_subentry,
)


def old_hub(port: int, subentries: list[dict[str, Any]], **version: int) -> MockConfigEntry:
    """A hub entry as an earlier version wrote it."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Charge Zones (port {port})",
        data={"host": "127.0.0.1", "port": port},
        options={"heartbeat_interval": 300, "meter_value_sample_interval": 10},
        subentries_data=subentries,
        **({"version": 1, "minor_version": 1} | version),
    )


OLD_SUBENTRIES = [
    station_subentry("MONO", phases="L2", zone="zone_l1"),
    station_subentry("DUO", connectors=2, phases="L2-L3-L1"),
    connection_subentry("Serial bus", subentry_id="conn_rtu", kind="rtu", parity="E"),
    connection_subentry(
        "Odd bus", subentry_id="conn_odd", kind="rtu", parity="O", serial_port="/dev/ttyUSB1"
    ),
    connection_subentry(),
    meter_subentry(),
    zone_subentry("Single phase", subentry_id="zone_l1", zone_phases="L1", max_current=32),
    zone_subentry(dlm_meters=["meter_commons"], zone_phases="L1-L2-L3"),
]


async def test_version_1_hub_migrated_and_working(hass: HomeAssistant, port: int) -> None:
    """Stored values are rewritten, every subentry included, and mean what they meant."""
    entry = old_hub(port, OLD_SUBENTRIES)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (ENTRY_VERSION, ENTRY_MINOR_VERSION)

    subs = entry.subentries
    assert subs["sub_MONO"].data["phases"] == "l2"
    assert subs["sub_DUO"].data["phases"] == "l2-l3-l1"
    assert subs["conn_rtu"].data["parity"] == "even"
    assert subs["conn_odd"].data["parity"] == "odd"
    assert subs["zone_l1"].data["zone_phases"] == "l1"
    assert subs["zone_car_park"].data["zone_phases"] == "l1-l2-l3"
    # Everything else is left as it was.
    assert (
        dict(subs["sub_MONO"].data) == station_subentry("MONO", phases="l2", zone="zone_l1")["data"]
    )
    assert dict(subs["meter_commons"].data) == meter_subentry()["data"]
    assert dict(entry.data) == {"host": "127.0.0.1", "port": port}

    site = entry.runtime_data
    assert site.stations["sub_MONO"].config.wiring is Wiring.L2
    assert site.stations["sub_DUO"].config.wiring is Wiring.L2_L3_L1
    # A single-phase zone stays single-phase (not read as three phases).
    assert site.load.zones["zone_l1"].spec.phases == (0,)
    assert site.load.zones["zone_car_park"].spec.phases == (0, 1, 2)
    assert site.load.connections["conn_rtu"].parity == "E"
    assert site.load.connections["conn_odd"].parity == "O"
    # The single-phase station has its current sensor on its building phase only.
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("sensor", DOMAIN, "sub_MONO_current_l2")
    assert registry.async_get_entity_id("sensor", DOMAIN, "sub_MONO_current_l1") is None


async def test_migrated_values_fit_the_forms(hass: HomeAssistant, port: int) -> None:
    """A migrated station and zone save unchanged from their edit forms."""
    entry = old_hub(port, OLD_SUBENTRIES)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    for subentry_id, unchanged in (
        ("sub_DUO", {"phases"}),
        ("zone_l1", {"zone_phases"}),
        ("conn_rtu", {"parity"}),
    ):
        subentry = entry.subentries[subentry_id]
        result = await hass.config_entries.subentries.async_init(
            (entry.entry_id, subentry.subentry_type),
            context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id},
        )
        assert result["type"] is FlowResultType.FORM, subentry_id
        fields = {str(marker.schema): marker for marker in result["data_schema"].schema}
        for key in unchanged:
            shown = (fields[key].description or {}).get("suggested_value")
            assert shown == subentry.data[key]
            # The stored value is one of the select's options.
            result["data_schema"].schema[fields[key]](shown)
        hass.config_entries.subentries.async_abort(result["flow_id"])


async def test_current_entry_not_rewritten(hass: HomeAssistant, port: int) -> None:
    """An entry of this version is left alone."""
    entry = old_hub(
        port,
        [station_subentry("MONO", phases="l3")],
        version=ENTRY_VERSION,
        minor_version=ENTRY_MINOR_VERSION,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.subentries["sub_MONO"].data["phases"] == "l3"
    assert entry.runtime_data.stations["sub_MONO"].config.wiring is Wiring.L3


async def test_newer_minor_version_loads_unchanged(hass: HomeAssistant, port: int) -> None:
    """A hub written by a later version with only additions (a newer minor version) loads
    as it is: nothing is rewritten, nothing is lost."""
    entry = old_hub(
        port,
        [station_subentry("MONO", phases="l2")],
        version=ENTRY_VERSION,
        minor_version=ENTRY_MINOR_VERSION + 1,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (ENTRY_VERSION, ENTRY_MINOR_VERSION + 1)
    assert entry.runtime_data.stations["sub_MONO"].config.wiring is Wiring.L2


async def test_newer_entry_refused(hass: HomeAssistant, port: int) -> None:
    """An entry written by a newer version is not loaded (it could be misread)."""
    entry = old_hub(port, [], version=ENTRY_VERSION + 1, minor_version=1)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
