"""The other load behind a DLM meter is never taken from a meter reading older than the
stations' readings it is compared with (a real Modbus server, a real station).

A car that starts drawing shows in the station's MeterValues before the meter's next
read: the meter's older reading does not include it yet. Taking "meter - stations" then
would hide the car's current twice over (less other load, more room) for as long as the
estimate stays settled on it.
"""

from __future__ import annotations

from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.core import HomeAssistant
from simulator.meter import SimulatedMeter

from .conftest import DEFAULT_BADGES, quick_hub_entry
from .helpers import wait_until
from .test_dlm import METER, charging, connection, managed, meter, zone


@pytest.fixture
def subentries(sim_meter: SimulatedMeter) -> list[dict[str, Any]]:
    """A 40 A meter read every 30 s (10 A of other load), a 32 A zone that trusts it 60 s."""
    slow = meter()
    slow["data"]["poll_interval"] = 30.0
    car_park = zone()
    car_park["data"]["stale_after"] = 60.0
    return [connection(sim_meter.port), slow, car_park, managed("CP-A"), *DEFAULT_BADGES]


@pytest.fixture
def config_entry(port: int, subentries: list[dict[str, Any]]) -> MockConfigEntry:
    return quick_hub_entry(port, subentries)


async def test_a_reading_newer_than_the_meter_is_not_taken_off_its_reading(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim_meter: SimulatedMeter
) -> None:
    site = loaded_entry.runtime_data
    await wait_until(
        hass,
        lambda: (
            (budget := site.load.last_budget) is not None
            and budget.other_load.get(METER) == (10.0, 10.0, 10.0)
        ),
    )
    poller = site.load.pollers[METER]
    assert poller.last_good is not None
    read_at = poller.last_good.at

    client, station = await charging(loaded_entry, "CP-A")
    transaction = int(next(iter(site.stations.values())).open_sessions()[0].transaction_id)
    # The car draws 7.5 A; the meter, read before, does not show it yet.
    sim_meter.set_currents(17.5, 17.5, 17.5)
    await station.meter_values(
        1,
        [{"value": "7.5", "measurand": "Current.Import", "phase": f"L{n}"} for n in (1, 2, 3)],
        transaction_id=transaction,
    )
    cycles = site.load.cycles
    await wait_until(hass, lambda: site.load.cycles >= cycles + 3)
    assert poller.last_good.at == read_at  # not read again: the reading is the old one
    budget = site.load.last_budget
    assert budget is not None
    # Not 10 - 7.5 = 2.5 A: the 10 A the meter showed were all other load.
    assert budget.other_load[METER] == (10.0, 10.0, 10.0)
    await client.close()
