"""Entity platforms and helpers: station numbers, device information, the hub's tariff."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones.billing import Price
from custom_components.charge_zones.entity import (
    meter_device_info,
    station_device_info,
    zone_device_info,
)
from custom_components.charge_zones.site import Site
from custom_components.charge_zones.tariff import HubTariff
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from simulator.station import SimulatedStation, StationClient

from .conftest import (
    DEFAULT_BADGES,
    STATION_ID,
    connection_subentry,
    meter_subentry,
    station_subentry,
    ws_url,
    zone_subentry,
)
from .helpers import entity_id, state_of, wait_until

SUB = f"sub_{STATION_ID}"


@pytest.fixture
def subentries() -> list[dict[str, Any]]:
    """A station (not load-managed, 8-20 A), a meter and a zone."""
    return [
        station_subentry(min_current=8, max_current=20),
        connection_subentry(),
        meter_subentry(),
        zone_subentry(dlm_meters=["meter_commons"]),
        *DEFAULT_BADGES,
    ]


def held_limit(station: SimulatedStation) -> float | None:
    """The limit of the default profile the station holds."""
    profiles = [p for p in station.state.profiles.values() if p["stack_level"] is not None]
    if not profiles:
        return None
    top = max(profiles, key=lambda p: p["stack_level"])
    return float(top["charging_schedule"]["charging_schedule_period"][0]["limit"])


# --- station maximum current ---------------------------------------------------------


async def test_station_max_current_number(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The number shows the station's maximum, never offers less than its minimum, is
    settable while the station is offline, and the station is sent the new limit."""
    number = entity_id(hass, "number", f"{SUB}_max_current")
    state = hass.states.get(number)
    assert state is not None
    assert (state.state, state.attributes["min"], state.attributes["max"]) == ("20.0", 8, 80)

    # Offline: stored all the same.
    await hass.services.async_call(
        "number", "set_value", {ATTR_ENTITY_ID: number, "value": 16}, blocking=True
    )
    assert loaded_entry.subentries[SUB].data["max_current"] == 16.0
    assert state_of(hass, "number", f"{SUB}_max_current") == "16.0"

    async with StationClient(ws_url(loaded_entry), STATION_ID) as station:
        assert (await station.boot()).status == "Accepted"
        await wait_until(hass, lambda: held_limit(station) == 16.0)
        await hass.services.async_call(
            "number", "set_value", {ATTR_ENTITY_ID: number, "value": 10.5}, blocking=True
        )
        await wait_until(hass, lambda: held_limit(station) == 10.5)
    assert loaded_entry.subentries[SUB].data["max_current"] == 10.5
    assert loaded_entry.runtime_data.stations[SUB].config.max_current == 10.5


async def test_station_max_current_refuses_below_minimum(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Home Assistant refuses a value below the number's minimum; nothing is stored."""
    number = entity_id(hass, "number", f"{SUB}_max_current")
    with pytest.raises(Exception, match="8"):
        await hass.services.async_call(
            "number", "set_value", {ATTR_ENTITY_ID: number, "value": 6}, blocking=True
        )
    assert loaded_entry.subentries[SUB].data["max_current"] == 20.0


# --- device information --------------------------------------------------------------


async def test_station_booted_before_its_entities_has_its_device_details(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """A station that boots before the platforms are set up (a reconnect storm at start)
    gets vendor, model, firmware and serial on its device from the entities' device info;
    without a hub device (not set up yet) devices hang under none."""
    config_entry.add_to_hass(hass)
    site = Site(hass, config_entry)
    await site.async_start()
    try:
        station = site.stations[SUB]
        info = station_device_info(site, station)
        assert "manufacturer" not in info
        assert "via_device_id" not in info
        async with StationClient(ws_url(config_entry), STATION_ID) as client:
            await client.boot(vendor="Wallbox", model="Pulsar Plus", firmware="6.5.2")
            await wait_until(hass, lambda: station.boot is not None)
            info = station_device_info(site, station)
        assert info["identifiers"] == {("charge_zones", SUB)}
        assert (info["manufacturer"], info["model"], info["sw_version"]) == (
            "Wallbox",
            "Pulsar Plus",
            "6.5.2",
        )
        assert info["serial_number"] == f"SN-{STATION_ID}"
        zone = next(iter(site.load.zones.values()))
        meter = next(iter(site.load.meters.values()))
        assert "via_device_id" not in zone_device_info(site, zone)
        assert "via_device_id" not in meter_device_info(site, meter)
    finally:
        await site.async_stop()


async def test_devices_hang_under_the_hub(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Stations, zones and meters are devices via the hub; a boot fills in the station's."""
    registry = dr.async_get(hass)
    hub = registry.async_get_device_by_identifier(
        ("charge_zones", loaded_entry.entry_id), loaded_entry.entry_id
    )
    assert hub is not None
    for key in (SUB, "zone_car_park", "meter_commons"):
        device = registry.async_get_device_by_identifier(
            ("charge_zones", key), loaded_entry.entry_id
        )
        assert device is not None, key
        assert device.via_device_id == hub.id, key
    async with StationClient(ws_url(loaded_entry), STATION_ID) as client:
        await client.boot(vendor="ABB", model="Terra AC", firmware="1.8.2")
        await hass.async_block_till_done()
        device = registry.async_get_device_by_identifier(
            ("charge_zones", SUB), loaded_entry.entry_id
        )
        assert device is not None
        assert (device.manufacturer, device.model, device.sw_version) == (
            "ABB",
            "Terra AC",
            "1.8.2",
        )


# --- the hub's tariff ----------------------------------------------------------------


async def test_tariff_fixed_price(hass: HomeAssistant) -> None:
    """A fixed price in the options' or Home Assistant's currency; none without a price."""
    hass.config.currency = "EUR"
    options: dict[str, Any] = {"tariff": "fixed", "price": 0.25}
    tariff = HubTariff(hass, lambda: options)
    assert tariff.kind == "fixed"
    assert tariff() == Price(0.25, "EUR")
    options["currency"] = "CHF"
    assert tariff() == Price(0.25, "CHF")
    options.pop("price")
    assert tariff() is None
    options["price"] = "0.25"  # not a number: never guessed
    assert tariff() is None
    options.clear()
    assert tariff.kind == "none"
    assert tariff() is None


async def test_tariff_price_entity(hass: HomeAssistant) -> None:
    """A price entity's price, kept while it is briefly unavailable, but never carried
    over to another price entity."""
    hass.config.currency = "EUR"
    options: dict[str, Any] = {"tariff": "entity", "price_entity": "sensor.spot"}
    tariff = HubTariff(hass, lambda: options)
    assert tariff() is None  # no such entity yet
    hass.states.async_set("sensor.spot", "0.31", {"unit_of_measurement": "EUR/kWh"})
    assert tariff() == Price(0.31, "EUR", dynamic=True)
    hass.states.async_set("sensor.spot", "unavailable")
    assert tariff() == Price(0.31, "EUR", dynamic=True)  # the last price known
    options["price_entity"] = "sensor.other"
    hass.states.async_set("sensor.other", "unavailable")
    assert tariff() is None  # not sensor.spot's price
    hass.states.async_set("sensor.other", "0.12", {"unit_of_measurement": "EUR/kWh"})
    assert tariff() == Price(0.12, "EUR", dynamic=True)
    options.pop("price_entity")
    assert tariff() is None
