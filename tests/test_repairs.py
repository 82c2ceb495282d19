"""Repair issues raised by the load manager's faults: a station refusing load management,
a meter that cannot be read. (Credentials and ports: tests/test_security.py.)"""

from __future__ import annotations

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones.const import DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from simulator.meter import SimulatedMeter
from simulator.station import StationBehaviour

from .helpers import wait_until
from .test_dlm import (  # noqa: F401  # fixtures
    METER,
    charging,
    config_entry,
    subentries,
)


def issue(hass: HomeAssistant, key: str) -> ir.IssueEntry | None:
    """A repair issue of Charge Zones."""
    return ir.async_get(hass).async_get_issue(DOMAIN, key)


async def test_station_refusing_profiles_raises_repair(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A managed station that refuses every profile gets a repair; leaving the zone clears it."""
    client, _station = await charging(loaded_entry, "CP-A", StationBehaviour(reject_profiles=True))
    key = f"profile_refused_{loaded_entry.entry_id}_sub_CP-A"
    await wait_until(hass, lambda: issue(hass, key) is not None)
    found = issue(hass, key)
    assert found is not None
    assert found.translation_placeholders is not None
    assert found.translation_placeholders["station_id"] == "CP-A"
    assert "rejected every charging profile" in found.translation_placeholders["error"]
    # A station that accepts profiles has none.
    assert issue(hass, f"profile_refused_{loaded_entry.entry_id}_sub_CP-B") is None

    subentry = loaded_entry.subentries["sub_CP-A"]
    data = {k: v for k, v in subentry.data.items() if k != "zone"}
    hass.config_entries.async_update_subentry(loaded_entry, subentry, data=data)
    await hass.async_block_till_done()
    assert issue(hass, key) is None
    await client.close()


async def test_unreachable_meter_raises_repair_until_it_answers(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim_meter: SimulatedMeter,
) -> None:
    """Several failed reads in a row: a repair naming the meter and the error; gone on reply."""
    key = f"meter_unreachable_{loaded_entry.entry_id}_{METER}"
    poller = loaded_entry.runtime_data.load.pollers[METER]
    await wait_until(hass, lambda: poller.reads > 0)
    assert issue(hass, key) is None
    sim_meter.silent = True
    await wait_until(hass, lambda: issue(hass, key) is not None, within=10)
    found = issue(hass, key)
    assert found is not None
    assert found.translation_placeholders is not None
    assert found.translation_placeholders["meter"] == "Commons"
    assert found.translation_placeholders["unit"] == "1"
    assert int(found.translation_placeholders["failures"]) >= 5
    assert found.translation_placeholders["error"]
    sim_meter.silent = False
    await wait_until(hass, lambda: issue(hass, key) is None, within=10)


async def test_removed_hub_leaves_no_repairs(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim_meter: SimulatedMeter,
) -> None:
    """Removing the hub removes every repair it raised."""
    key = f"meter_unreachable_{loaded_entry.entry_id}_{METER}"
    sim_meter.silent = True
    await wait_until(hass, lambda: issue(hass, key) is not None, within=10)
    assert await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert not [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]
