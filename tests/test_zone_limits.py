"""A zone's reduced maximum (tariff windows, prices), end to end: a real Modbus meter,
real OCPP stations, Home Assistant entities as the schedule and the price."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from simulator.meter import SimulatedMeter

from .helpers import wait_until
from .test_dlm_world import (
    ZONE,
    _subentries,
    charging,
    currents,
    hub,
    limit_on,
    managed,
    setup,
)
from .test_zone_flows import start, submit

WINDOW = "input_boolean.peak_hours"
PRICE = "sensor.spot_price"


@pytest.fixture
async def meter() -> AsyncIterator[SimulatedMeter]:
    """The car park's DLM meter on a real Modbus server (10 A of other load)."""
    served = SimulatedMeter("sdm630", unit=1)
    served.set_currents(10, 10, 10)
    await served.start()
    yield served
    await served.stop()


def _zone_data(subentries: list[Any], **extra: Any) -> list[Any]:
    for sub in subentries:
        if sub.get("subentry_id") == ZONE:
            sub["data"] |= extra
    return subentries


async def test_the_zone_follows_its_tariff_window_and_its_price(
    hass: HomeAssistant, port: int, meter: SimulatedMeter
) -> None:
    """Parking: 32 A (a 60 A supply, 10 A of other load), reduced to 12 A while the
    peak-hours entity is on or the spot price is above 0.30. A 32 A station charging
    alone gets its 32 A, 12 A inside the window, 12 A at a price above the threshold,
    and 12 A when the price entity becomes unavailable (when unsure, less)."""
    hass.states.async_set(WINDOW, "off")
    hass.states.async_set(PRICE, "0.12")
    subentries = _zone_data(
        _subentries(meter.port, 60.0, [managed("CP-A", max_current=32)]),
        reduced_current=12.0,
        reduce_when=WINDOW,
        reduce_price_entity=PRICE,
        reduce_price_above=0.30,
    )
    entry = hub(port, subentries)
    await setup(hass, entry)
    client, station, _tx = await charging(entry, "CP-A")
    site = entry.runtime_data
    try:
        await wait_until(hass, lambda: limit_on(station, 1) == 32.0, within=15)
        hass.states.async_set(WINDOW, "on")
        await wait_until(hass, lambda: limit_on(station, 1) == 12.0)
        assert site.zone_reductions.reasons == {ZONE: "window"}
        assert site.load.zone_states[ZONE].budget[0] == 12.0
        hass.states.async_set(WINDOW, "off")
        await wait_until(hass, lambda: limit_on(station, 1) == 32.0, within=15)
        hass.states.async_set(PRICE, "0.41")
        await wait_until(hass, lambda: limit_on(station, 1) == 12.0)
        assert site.zone_reductions.reasons == {ZONE: "price"}
        hass.states.async_set(PRICE, "0.29")
        await wait_until(hass, lambda: limit_on(station, 1) == 32.0, within=15)
        hass.states.async_set(PRICE, "unavailable")
        await wait_until(hass, lambda: limit_on(station, 1) == 12.0)
        assert site.zone_reductions.reasons == {ZONE: "unsure"}
    finally:
        await client.close()


async def test_the_zone_form_asks_for_what_a_reduced_maximum_needs(
    hass: HomeAssistant, port: int, meter: SimulatedMeter
) -> None:
    """A reduced maximum without a trigger, a trigger without a current, a current above
    the maximum, a price without its threshold: each refused in the installer's words;
    a complete one saved and followed without a reload."""
    entry = hub(port, _subentries(meter.port, 60.0, []))
    await setup(hass, entry)
    base = {
        "name": "Garage",
        "max_current": 32.0,
        "zone_phases": "l1-l2-l3",
        "failsafe_current": 6.0,
        "stale_after": 10.0,
    }
    cases = [
        ({"reduced_current": 16.0}, {"reduce_when": "reduce_trigger_required"}),
        ({"reduce_when": WINDOW}, {"reduced_current": "reduced_current_required"}),
        (
            {"reduced_current": 40.0, "reduce_when": WINDOW},
            {"reduced_current": "reduced_above_max"},
        ),
        (
            {"reduced_current": 16.0, "reduce_price_entity": PRICE},
            {"reduce_price_above": "price_above_required"},
        ),
    ]
    for extra, errors in cases:
        result = await start(hass, entry, "zone")
        result = await submit(hass, result, base | extra)
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == errors
    hass.states.async_set(WINDOW, "on")
    result = await start(hass, entry, "zone")
    result = await submit(hass, result, base | {"reduced_current": 16.0, "reduce_when": WINDOW})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    garage = next(s for s in entry.subentries.values() if s.title == "Garage")
    assert garage.data["reduced_current"] == 16.0
    site = entry.runtime_data
    await wait_until(hass, lambda: site.zone_reductions.reasons.get(garage.subentry_id) == "window")
    await wait_until(hass, lambda: site.load.zone_reductions.get(garage.subentry_id) == 16.0)


def _scheduled_hub(
    port: int, meter: SimulatedMeter, options: dict[str, Any], *others: dict[str, Any]
) -> MockConfigEntry:
    """A hub with CP-S (a 32 A station in the Scheduled mode) and the window's options."""
    scheduled = managed("CP-S", max_current=32)
    scheduled["data"]["charging_mode"] = "scheduled"
    plain = hub(port, [])
    return MockConfigEntry(
        domain=plain.domain,
        title=plain.title,
        data=dict(plain.data),
        options={**plain.options, **options},
        subentries_data=_subentries(meter.port, 60.0, [scheduled, *others]),
    )


async def test_scheduled_sessions_charge_inside_the_window_or_below_the_price(
    hass: HomeAssistant, port: int, meter: SimulatedMeter
) -> None:
    """CP-S is Scheduled, in a 32 A zone. The hub's window: an input boolean (e.g.
    following a schedule helper) or the spot price below 0.10. Outside, CP-S waits at
    0 A (reason waiting_for_schedule); inside (either way) it charges as Fast; a price
    entity that becomes unavailable closes the window (when unsure, less)."""
    hass.states.async_set(WINDOW, "off")
    hass.states.async_set(PRICE, "0.25")
    entry = _scheduled_hub(
        port,
        meter,
        {"schedule_when": WINDOW, "schedule_price_entity": PRICE, "schedule_price_below": 0.10},
    )
    await setup(hass, entry)
    s_client, s, _s_tx = await charging(entry, "CP-S")
    site = entry.runtime_data
    runtime = site.station_by_id("CP-S")
    assert runtime is not None
    try:
        await wait_until(
            hass,
            lambda: (
                runtime.allocation is not None
                and runtime.allocation.reason == "waiting_for_schedule"
            ),
        )
        await wait_until(hass, lambda: limit_on(s, 1) == 0.0)  # sent, not only shown
        assert site.charging_window.state == "closed"
        hass.states.async_set(WINDOW, "on")
        await wait_until(hass, lambda: limit_on(s, 1) == 32.0, within=15)
        assert site.charging_window.state == "window"
        hass.states.async_set(WINDOW, "off")
        await wait_until(hass, lambda: limit_on(s, 1) == 0.0)
        hass.states.async_set(PRICE, "0.05")
        await wait_until(hass, lambda: limit_on(s, 1) == 32.0, within=15)
        assert site.charging_window.state == "price"
        hass.states.async_set(PRICE, "unavailable")
        await wait_until(hass, lambda: limit_on(s, 1) == 0.0)
        assert site.charging_window.state == "unsure"
    finally:
        await s_client.close()


async def test_the_hub_options_ask_for_the_price_below_which_scheduled_sessions_charge(
    hass: HomeAssistant, port: int, meter: SimulatedMeter
) -> None:
    entry = hub(port, _subentries(meter.port, 60.0, []))
    await setup(hass, entry)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    fields = {**entry.options, "raise_hold": 2.0, "schedule_price_entity": PRICE}
    result = await hass.config_entries.options.async_configure(result["flow_id"], fields)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"schedule_price_below": "price_below_required"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], fields | {"schedule_price_below": 0.1}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["schedule_price_below"] == 0.1
    assert entry.options["schedule_price_entity"] == PRICE


async def test_a_scheduled_session_stopped_by_its_window_frees_nothing_until_it_stops(
    hass: HomeAssistant, port: int, meter: SimulatedMeter
) -> None:
    """CP-S (Scheduled) and CP-F (Fast) share the 32 A zone, 16 A each, inside the
    window. The window closes: CP-S is cut to 0 A, but until it is seen to stop (a
    reading 10 s after the cut) its 16 A stay taken, so CP-F does not rise into them at
    once (a station applies its profile when it gets it: the rise could come first)."""
    hass.states.async_set(WINDOW, "on")
    entry = _scheduled_hub(port, meter, {"schedule_when": WINDOW}, managed("CP-F", max_current=32))
    await setup(hass, entry)
    s_client, s, s_tx = await charging(entry, "CP-S")
    f_client, f, f_tx = await charging(entry, "CP-F")
    loop = asyncio.get_running_loop()
    try:
        await wait_until(hass, lambda: limit_on(s, 1) == 16.0 and limit_on(f, 1) == 16.0, 40)
        meter.set_currents(42, 42, 42)
        await s.meter_values(1, currents(16.0), transaction_id=s_tx)
        await f.meter_values(1, currents(16.0), transaction_id=f_tx)
        await asyncio.sleep(11.0)  # both seen following their limits
        await s.meter_values(1, currents(16.0), transaction_id=s_tx)
        await f.meter_values(1, currents(16.0), transaction_id=f_tx)
        await asyncio.sleep(1.0)
        hass.states.async_set(WINDOW, "off")
        await wait_until(hass, lambda: limit_on(s, 1) == 0.0)
        cut_at = loop.time()
        await asyncio.sleep(3.0)
        assert limit_on(f, 1) == 16.0  # CP-S's 16 A not yet seen freed
        await asyncio.sleep(max(0.0, cut_at + 10.5 - loop.time()))
        meter.set_currents(26, 26, 26)
        await s.meter_values(1, currents(0.0), transaction_id=s_tx)
        await f.meter_values(1, currents(16.0), transaction_id=f_tx)
        await wait_until(hass, lambda: limit_on(f, 1) == 32.0, within=15)
    finally:
        await s_client.close()
        await f_client.close()
