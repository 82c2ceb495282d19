"""Forms that guide the installer (issue 12, "Forms").

The order of the *Add* buttons, no pre-filled values the installer must know, station ids
that differ only in case, the hub's device following its port, the bind errors in words,
one device per badge holder. Flows run through Home Assistant's flow managers; the hub
listens on 127.0.0.1.
"""

from __future__ import annotations

from typing import Any

import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones.const import DOMAIN
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)

from .conftest import (
    badge_subentry,
    connection_subentry,
    free_port,
    meter_subentry,
    station_subentry,
    zone_subentry,
)
from .helpers import entity_id


def initial_form_data(result: dict[str, Any]) -> dict[str, Any]:
    """What the frontend fills a form with before the user types anything.

    The schema as Home Assistant sends it to the frontend (helpers/data_entry_flow.py), read
    by the rules of the frontend's computeInitialHaFormData: a suggested value, else a
    default, else for a required field a value of its type (a number selector's minimum).
    """
    data: dict[str, Any] = {}
    for field in probatio.to_field_list(
        result["data_schema"], custom_serializer=cv.custom_serializer
    ):
        suggested = (field.get("description") or {}).get("suggested_value")
        if suggested is not None:
            data[field["name"]] = suggested
        elif "default" in field:
            data[field["name"]] = field["default"]
        elif field.get("required"):
            number = field.get("selector", {}).get("number")
            data[field["name"]] = (number or {}).get("min", 0) if number is not None else ""
    return data


def hub(
    hass: HomeAssistant, *subentries: dict[str, Any], port: int | None = None
) -> MockConfigEntry:
    """A hub entry with these subentries, added to hass (not set up)."""
    port = port or free_port()
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Charge Zones (port {port})",
        data={"host": "127.0.0.1", "port": port},
        options={"heartbeat_interval": 300, "meter_value_sample_interval": 10},
        subentries_data=list(subentries),
    )
    entry.add_to_hass(hass)
    return entry


async def start(
    hass: HomeAssistant, entry: MockConfigEntry, kind: str, subentry_id: str | None = None
) -> dict[str, Any]:
    """Open the add (or, with subentry_id, edit) form of a subentry type."""
    context: dict[str, Any] = {"source": SOURCE_USER}
    if subentry_id is not None:
        context = {"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id}
    return dict(
        await hass.config_entries.subentries.async_init((entry.entry_id, kind), context=context)
    )


async def submit(hass: HomeAssistant, result: dict[str, Any], user_input: dict[str, Any]) -> Any:
    """Submit a subentry form."""
    return await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)


async def test_add_buttons_in_the_installers_order(hass: HomeAssistant) -> None:
    """Home Assistant lists the Add buttons in the order of the supported subentry types:
    connection, meter, zone, station, badge (what each needs comes before it)."""
    entry = hub(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert list(entry.supported_subentry_types) == [
        "connection",
        "meter",
        "zone",
        "station",
        "badge",
    ]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_zone_maximum_current_not_prefilled(hass: HomeAssistant) -> None:
    """A new zone's maximum current starts empty (not 0 A, a pause); left empty it is asked
    for; editing a zone shows its maximum."""
    entry = hub(hass, zone_subentry(max_current=40.0))
    result = await start(hass, entry, "zone")
    shown = initial_form_data(result)
    assert "max_current" not in shown
    result = await submit(hass, result, shown | {"name": "Garage"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"max_current": "max_current_required"}
    result = await submit(hass, result, shown | {"name": "Garage", "max_current": 63.0})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["max_current"] == 63.0

    result = await start(hass, entry, "zone", "zone_car_park")
    assert initial_form_data(result)["max_current"] == 40.0
    # A pause (0 A) is still a maximum one may enter.
    result = await submit(hass, result, initial_form_data(result) | {"max_current": 0.0})
    assert result["type"] is FlowResultType.ABORT
    assert entry.subentries["zone_car_park"].data["max_current"] == 0.0


async def test_meter_amperage_not_prefilled(hass: HomeAssistant) -> None:
    """A new meter's amperage starts empty; left empty it is asked for (before any read);
    editing a meter shows its amperage."""
    entry = hub(hass, connection_subentry(port=free_port()), meter_subentry(amperage=40.0))
    result = await start(hass, entry, "meter")
    shown = initial_form_data(result)
    assert "amperage" not in shown
    typed = shown | {"name": "Main", "unit": 2.0, "meter_model": "sdm630", "skip_test": True}
    result = await submit(hass, result, typed)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"amperage": "amperage_required"}
    result = await submit(hass, result, typed | {"amperage": 100.0})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["amperage"] == 100.0

    result = await start(hass, entry, "meter", "meter_commons")
    assert initial_form_data(result)["amperage"] == 40.0


async def test_station_ids_differing_in_case_refused(hass: HomeAssistant) -> None:
    """tacw… next to TACW… is refused, naming the station it clashes with; the station's
    own id in another case is a rename, accepted."""
    entry = hub(hass, station_subentry("TACW1142021G1XYZ"), station_subentry("OTHER-1"))
    station = {
        "model": "standard",
        "connectors": 1.0,
        "phases": "l1-l2-l3",
        "min_current": 6.0,
        "max_current": 16.0,
    }
    result = await start(hass, entry, "station")
    result = await submit(hass, result, station | {"station_id": "tacw1142021g1xyz"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"station_id": "station_id_case"}
    assert result["description_placeholders"] == {"other": "TACW1142021G1XYZ"}

    result = await start(hass, entry, "station", "sub_OTHER-1")
    result = await submit(hass, result, station | {"station_id": "Tacw1142021G1xyz"})
    assert result["errors"] == {"station_id": "station_id_case"}
    result = await submit(hass, result, station | {"station_id": "other-1"})
    assert result["type"] is FlowResultType.ABORT
    assert entry.subentries["sub_OTHER-1"].data["station_id"] == "other-1"


async def test_hub_device_follows_the_port(hass: HomeAssistant) -> None:
    """Moved to another port, the hub's device and its entities' names say the new port; a
    title the user chose stays."""
    entry = hub(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    devices = dr.async_get(hass)
    hub_device = devices.async_get_device_by_identifier((DOMAIN, entry.entry_id), entry.entry_id)
    assert hub_device is not None
    sensor = entity_id(hass, "sensor", f"{entry.entry_id}_connected_stations")

    new_port = free_port()
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": new_port, "tls": "none"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.title == f"Charge Zones (port {new_port})"
    hub_device = devices.async_get(hub_device.id)
    assert hub_device is not None
    assert hub_device.name == f"Charge Zones (port {new_port})"
    state = hass.states.get(sensor)
    assert state is not None
    assert state.name == f"Charge Zones (port {new_port}) Connected stations"

    hass.config_entries.async_update_entry(entry, title="Building A")
    await hass.async_block_till_done()
    assert devices.async_get(hub_device.id).name == "Building A"  # type: ignore[union-attr]
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": free_port(), "tls": "none"}
    )
    await hass.async_block_till_done()
    assert entry.title == "Building A"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_hub_bind_errors_in_words(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """An address the machine does not have is said in words on the field; the system's
    wording ("[Errno 99] …") is only in the log. (A port in use: test_config_flow.)"""
    host, errors = "192.0.2.1", {"host": "address_not_local"}
    port = free_port()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"host": host, "port": port, "heartbeat_interval": 300, "meter_value_sample_interval": 10},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert result["description_placeholders"] == {"host": host, "port": str(port)}
    assert "could not listen" in caplog.text


async def test_one_device_per_badge_holder(hass: HomeAssistant) -> None:
    """Two badges of one holder: one device, the holder's, with both badges' sensors and the
    holder's totals; no device per badge."""
    entry = hub(hass, badge_subentry("TAG-1", "Alice"), badge_subentry("TAG-2", " alice "))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    mine = dr.async_entries_for_config_entry(devices, entry.entry_id)
    assert sorted(device.name or "" for device in mine) == ["Alice", entry.title]
    [alice] = [device for device in mine if device.name == "Alice"]
    on_alice = {e.unique_id for e in er.async_entries_for_device(entities, alice.id)}
    assert {f"badge_TAG-{n}_billed_energy" for n in (1, 2)} <= on_alice
    assert f"{entry.entry_id}_holder_alice_billed_energy" in on_alice
    state = hass.states.get(entity_id(hass, "sensor", "badge_TAG-2_billed_energy"))
    assert state is not None
    assert state.name == "Alice Energy charged, badge TAG-2"

    # A badge removed takes its sensors along; the holder keeps their device.
    hass.config_entries.async_remove_subentry(entry, "badge_TAG-2")
    await hass.async_block_till_done()
    assert entities.async_get_entity_id("sensor", DOMAIN, "badge_TAG-2_billed_energy") is None
    assert devices.async_get(alice.id) is not None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_badge_devices_of_earlier_versions_migrated(hass: HomeAssistant) -> None:
    """A device per badge (earlier versions): its sensors move to the holder's device with
    their entity ids and settings (history follows the entity id); the badge's device goes."""
    entry = hub(hass, badge_subentry("TAG-1", "Alice"))
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    old = devices.async_get_or_create(
        config_entry_id=entry.entry_id,
        config_subentry_id="badge_TAG-1",
        identifiers={(DOMAIN, "badge_TAG-1")},
        name="Alice (TAG-1)",
        manufacturer="Charge Zones",
        model="RFID badge",
    )
    kept: dict[str, str] = {}
    for figure in ("billed_energy", "billed_sessions", "billed_cost", "last_session"):
        registered = entities.async_get_or_create(
            "sensor",
            DOMAIN,
            f"badge_TAG-1_{figure}",
            config_entry=entry,
            config_subentry_id="badge_TAG-1",
            device_id=old.id,
            suggested_object_id=f"alice_tag_1_{figure}",
        )
        kept[registered.unique_id] = registered.entity_id
    entities.async_update_entity(
        kept["badge_TAG-1_billed_sessions"], disabled_by=er.RegistryEntryDisabler.USER
    )

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert devices.async_get(old.id) is None
    holder = devices.async_get_device_by_identifier(
        (DOMAIN, f"{entry.entry_id}_holder_alice"), entry.entry_id
    )
    assert holder is not None
    for unique_id, kept_id in kept.items():
        moved = entities.async_get(kept_id)
        assert moved is not None, unique_id
        assert moved.unique_id == unique_id
        assert moved.device_id == holder.id
    assert entities.async_get(kept["badge_TAG-1_billed_sessions"]).disabled_by == (  # type: ignore[union-attr]
        er.RegistryEntryDisabler.USER
    )
    state = hass.states.get(kept["badge_TAG-1_billed_energy"])
    assert state is not None
    assert state.state == "0.0"
    assert await hass.config_entries.async_unload(entry.entry_id)
