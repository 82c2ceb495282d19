"""Switching a station between one and three phases on a small solar surplus, end to end.

A real Modbus server serves the car park's DLM meter (unit 1) and the grid connection's
meter (unit 2), whose phases follow what the simulated car really draws on each phase
against the roof's export; a simulated station that follows (or ignores) the numberPhases
of its charging profiles; Home Assistant in between, the hub ticked *Grid meter nets the
phases*.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
import logging
from typing import Any

import pytest

from custom_components.charge_zones.loadmanager import FOLLOW_TIME, PHASE_DOUBT_TIME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from simulator.charger import Car, SimulatedCharger
from simulator.meter import SimulatedMeter, SimulatedUnit

from .conftest import DEFAULT_BADGES, quick_hub_entry, ws_url
from .helpers import submit_options, wait_until
from .test_dlm import connection, managed, meter, zone
from .test_peak import sim_meter  # noqa: F401 - its fixture
from .test_solar_charging import grid_meter

VOLTS = 230.0


def switchable(station_id: str) -> dict[str, Any]:
    sub = managed(station_id, max_current=16)
    sub["data"] |= {"charging_mode": "solar", "phase_switching": True}
    return sub


def imports(unit: SimulatedUnit, amperes: tuple[float, float, float]) -> None:
    """The building imports these per phase (negative: exports)."""
    unit.set_currents(*(abs(a) for a in amperes), VOLTS)
    for phase, amps in enumerate(amperes, start=1):
        unit.set(f"power_l{phase}", amps * VOLTS)
    unit.set("power_total", sum(amperes) * VOLTS)


class Roof:
    """The grid meter: the car's draw per phase less the roof's export per phase."""

    def __init__(self, unit: SimulatedUnit, charger: SimulatedCharger, export: float) -> None:
        self.unit, self.charger, self.export = unit, charger, export
        self._task: asyncio.Task[None] | None = None

    async def _follow(self) -> None:
        while True:
            car = self.charger.grid_currents()
            imports(self.unit, (car[0] - self.export, car[1] - self.export, car[2] - self.export))
            await asyncio.sleep(0.1)

    def __enter__(self) -> Roof:
        self._task = asyncio.create_task(self._follow())
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


async def _hub(hass: HomeAssistant, port: int, served: SimulatedMeter) -> Any:
    entry = quick_hub_entry(
        port,
        [
            connection(served.port),
            meter(),
            grid_meter(),
            zone(max_current=32.0),
            switchable("CP-SW"),
            *DEFAULT_BADGES,
        ],
        solar_start_delay=2,
        solar_stop_delay=5,
        solar_min_on_time=0,
        solar_smoothing=0,
        grid_nets_phases=True,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    load = entry.runtime_data.load
    # Switches at most every 5 s here (300 s by default: a test does not wait that long).
    load.solar.settings = replace(load.solar.settings, phase_switch_hold=5.0)
    return entry


def _phases_asked(charger: SimulatedCharger) -> int | None:
    """The numberPhases of the live limit the station holds."""
    for profile in charger.memory.profiles.values():
        if profile["charging_profile_purpose"] != "ChargePointMaxProfile" and "valid_to" in profile:
            return int(profile["charging_schedule"]["charging_schedule_period"][0]["number_phases"])
    return None


async def test_a_small_surplus_starts_the_car_on_one_phase_and_more_sun_on_three(
    hass: HomeAssistant,
    port: int,
    sim_meter: SimulatedMeter,  # noqa: F811 - the fixture imported above
    caplog: pytest.LogCaptureFixture,
) -> None:
    """3 A exported on each phase (2.1 kW): 6 A on three phases would need 4.1 kW, so a
    three-phase car in Solar only would wait all day; on one phase it charges at 9 A,
    all of it sun. The sun rises to 12 A a phase: it goes back to three phases (12 A
    each), once the surplus has held for the start delay."""
    caplog.set_level(logging.INFO)
    entry = await _hub(hass, port, sim_meter)
    charger = SimulatedCharger(
        ws_url(entry), "CP-SW", max_current=16, phase_switching=True, meter_interval=2
    )
    await charger.start()
    with contextlib.ExitStack() as stack:
        roof = stack.enter_context(Roof(sim_meter.units[2], charger, export=3.0))
        try:
            assert await charger.plug(Car(max_current=16, soc=0.2), "BADGE-ALICE")
            await wait_until(
                hass,
                lambda: charger.phases_now() == 1 and abs(charger.limit() - 9.0) < 0.11,
                within=20,
            )
            assert _phases_asked(charger) == 1
            # The car draws on the station's L1 only, and the building imports nothing.
            await wait_until(hass, lambda: charger.grid_currents()[0] > 8.5, within=5)
            assert charger.grid_currents()[1:] == (0.0, 0.0)

            roof.export = 12.0
            await wait_until(
                hass,
                lambda: charger.phases_now() == 3 and abs(charger.limit() - 12.0) < 0.11,
                within=30,
            )
            assert "CP-SW charges on 3 phases" in caplog.text
            assert "CP-SW charges on 1 phase " in caplog.text
        finally:
            await charger.stop()


async def test_a_station_ignoring_the_switch_is_switched_no_more(
    hass: HomeAssistant,
    port: int,
    sim_meter: SimulatedMeter,  # noqa: F811 - the fixture imported above
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ticked *Phase switching*, but the station lets the car draw on three phases
    whatever the numberPhases: seen in its readings after the switch, said in the log,
    and it charges on three phases from then on. Its zone counted it on all three all
    along (no breaker at risk)."""
    entry = await _hub(hass, port, sim_meter)
    charger = SimulatedCharger(ws_url(entry), "CP-SW", max_current=16, meter_interval=2)
    await charger.start()
    with contextlib.ExitStack() as stack:
        stack.enter_context(Roof(sim_meter.units[2], charger, export=3.0))
        try:
            assert await charger.plug(Car(max_current=16, soc=0.2), "BADGE-ALICE")
            await wait_until(hass, lambda: _phases_asked(charger) == 1, within=20)
            runtime = entry.runtime_data.station_by_id("CP-SW")
            assert runtime is not None
            await wait_until(
                hass,
                lambda: runtime.phase_switch_ignored,
                within=FOLLOW_TIME + PHASE_DOUBT_TIME + 15,
            )
            assert "ignores numberPhases" in caplog.text
            await wait_until(hass, lambda: _phases_asked(charger) == 3, within=10)
        finally:
            await charger.stop()


async def test_the_netting_option_is_stored_and_applied(
    hass: HomeAssistant,
    port: int,
    sim_meter: SimulatedMeter,  # noqa: F811 - the fixture imported above
) -> None:
    """*Grid meter nets the phases* in the hub's options: stored when ticked, applied
    to the load manager at once; unticked, nothing stored (each phase on its own)."""
    entry = await _hub(hass, port, sim_meter)
    # (The tests' quick raise hold of 0.3 s is below the form's range.)
    base = {k: v for k, v in entry.options.items() if k != "grid_nets_phases"} | {"raise_hold": 2.0}
    result = await submit_options(hass, entry, **base, grid_nets_phases=False)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result.get("errors")
    await hass.async_block_till_done()
    assert "grid_nets_phases" not in entry.options
    assert entry.runtime_data.load.solar.settings.netted is False
    result = await submit_options(hass, entry, **base, grid_nets_phases=True)
    await hass.async_block_till_done()
    assert entry.options["grid_nets_phases"] is True
    assert entry.runtime_data.load.solar.settings.netted is True
