"""Scheduled sessions in the cheapest hours before a departure (dlm/cheapest.py, departures.py).

The rule on its own (forecast formats, the choice of slots, holes and short forecasts),
then end to end: a badge holder's departure time and charging hours on their device, the
forecast in the attributes of the hub's Scheduled price entity, a real OCPP station in the
Scheduled mode, a real Modbus DLM meter.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from custom_components.charge_zones.dlm.cheapest import (
    Slot,
    charging_now,
    cheapest_slots,
    next_departure,
    parse_forecast,
)
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from simulator.meter import SimulatedMeter

from .helpers import entity_id, wait_until
from .test_dlm_world import charging, limit_on, setup
from .test_zone_limits import PRICE, _scheduled_hub, meter  # noqa: F401 - its fixture

T0 = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)


def _hourly(prices: list[float], start: datetime = T0) -> list[Slot]:
    return [
        Slot(start + timedelta(hours=i), start + timedelta(hours=i + 1), p)
        for i, p in enumerate(prices)
    ]


def test_forecasts_of_the_known_price_integrations_are_read() -> None:
    nord_pool = {
        "raw_today": [
            {"start": T0, "end": T0 + timedelta(hours=1), "value": 0.31},
            {"start": T0 + timedelta(hours=1), "end": T0 + timedelta(hours=2), "value": 0.12},
        ],
        "unit": "kWh",
        "current_price": 0.31,
    }
    assert parse_forecast(nord_pool) == _hourly([0.31, 0.12])
    entsoe = {
        "prices": [
            {"time": "2026-12-07 18:00:00+00:00", "price": 0.31},
            {"time": "2026-12-07 19:00:00+00:00", "price": 0.12},
        ]
    }
    assert parse_forecast(entsoe) == _hourly([0.31, 0.12])  # the last lasts as the one before
    epex = {
        "data": [
            {
                "start_time": "2026-12-07T19:00:00+01:00",
                "end_time": "2026-12-07T19:15:00+01:00",
                "price_per_kwh": 0.2,
            }
        ]
    }
    assert parse_forecast(epex) == [Slot(T0, T0 + timedelta(minutes=15), 0.2)]
    # What is not understood is left out, never guessed: a time without a time zone, a
    # price that is not a number, a list of plain numbers.
    odd = {
        "today": [0.1, 0.2],
        "x": [{"start": "2026-12-07T18:00:00", "value": 0.1}],
        "y": [{"start": "2026-12-07T18:00:00Z", "value": "cheap"}],
        "z": [{"start": "2026-12-07T18:00:00Z", "value": True}],
    }
    assert parse_forecast(odd) == []


def test_the_cheapest_slots_up_to_the_hours_needed() -> None:
    slots = _hourly([0.30, 0.10, 0.40, 0.05, 0.20, 0.50])
    departure = T0 + timedelta(hours=6)
    chosen = cheapest_slots(slots, T0, departure, 2.0)
    assert chosen == [slots[1], slots[3]]
    # Started in the middle of the 0.10 slot: half of it counts, so the 0.20 one too.
    chosen = cheapest_slots(slots, T0 + timedelta(hours=1, minutes=30), departure, 2.0)
    assert chosen == [slots[1], slots[3], slots[4]]
    # Less time left than needed: every slot left.
    assert cheapest_slots(slots, T0 + timedelta(hours=5), departure, 2.0) == [slots[5]]
    # The forecast does not reach the departure, or has a hole: no plan (the hub's window).
    assert cheapest_slots(slots, T0, departure + timedelta(hours=1), 2.0) is None
    holed = [*slots[:2], *slots[3:]]
    assert cheapest_slots(holed, T0, departure, 2.0) is None
    # Started before the forecast's first slot (yesterday's prices gone at midnight):
    # planned from the first slot known.
    assert cheapest_slots(slots, T0 - timedelta(hours=1), departure, 2.0) == [
        slots[1],
        slots[3],
    ]


def test_a_session_charges_in_its_slots_until_its_departure_then_the_next_days() -> None:
    slots = _hourly([0.30, 0.10, 0.40, 0.05, 0.20, 0.50] + [0.3] * 18 + [0.01] + [0.3] * 5)
    departure = time(0, 0)  # midnight UTC: 6 h after T0
    assert next_departure(T0, departure) == T0 + timedelta(hours=6)
    at = T0 + timedelta(minutes=5)
    assert charging_now(slots, T0, departure, 1.0, at) is False
    assert charging_now(slots, T0, departure, 1.0, T0 + timedelta(hours=3, minutes=1)) is True
    # Still plugged in after its departure: the next day's window, from that departure.
    assert charging_now(slots, T0, departure, 1.0, T0 + timedelta(hours=7)) is False
    assert charging_now(slots, T0, departure, 1.0, T0 + timedelta(hours=24, minutes=10)) is True
    # No forecast: the caller follows the hub's window.
    assert charging_now([], T0, departure, 1.0, at) is None


def _forecast(now: datetime, cheap_now: bool) -> dict[str, Any]:
    """Quarter hours from an hour ago to six hours ahead: 0.30, 0.05 two hours ahead;
    the slot now and the next one 0.01 when ``cheap_now``, else 0.40."""
    first = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    entries = []
    for i in range(-4, 25):
        start = first + timedelta(minutes=15 * i)
        price = 0.30
        if i in (0, 1):
            price = 0.01 if cheap_now else 0.40
        elif i == 8:
            price = 0.05
        entries.append(
            {
                "start": start.isoformat(),
                "end": (start + timedelta(minutes=15)).isoformat(),
                "value": price,
            }
        )
    return {"raw_today": entries, "unit_of_measurement": "EUR/kWh"}


async def test_a_holders_departure_plan_charges_their_scheduled_session_in_the_cheapest_slots(
    hass: HomeAssistant,
    port: int,
    meter: SimulatedMeter,  # noqa: F811 - the fixture imported above
) -> None:
    """CP-S is Scheduled; the hub's window is open (the price, 0.40, is below 0.50), so
    without a plan it charges. Alice leaves in 5 h and needs half an hour: the cheapest
    half hour of the forecast is later, so her session waits; made the cheapest now, it
    charges; her plan cleared (0 hours), the hub's window applies again; a forecast that
    disappears leaves the slots already seen."""
    now = dt_util.now()
    hass.states.async_set(PRICE, "0.40", _forecast(now, cheap_now=False))
    entry = _scheduled_hub(
        port, meter, {"schedule_price_entity": PRICE, "schedule_price_below": 0.50}
    )
    await setup(hass, entry)
    site = entry.runtime_data
    departure = entity_id(hass, "time", f"{entry.entry_id}_holder_alice_departure")
    hours = entity_id(hass, "number", f"{entry.entry_id}_holder_alice_charging_hours")
    await hass.services.async_call(
        "time",
        "set_value",
        {"entity_id": departure, "time": (now + timedelta(hours=5)).strftime("%H:%M:00")},
        blocking=True,
    )
    await hass.services.async_call(
        "number", "set_value", {"entity_id": hours, "value": 0.5}, blocking=True
    )
    state = hass.states.get(hours)
    assert state is not None
    assert float(state.state) == 0.5
    s_client, s, s_tx = await charging(entry, "CP-S")
    s_key = ("CP-S", str(s_tx))
    runtime = site.station_by_id("CP-S")
    assert runtime is not None
    try:
        await wait_until(hass, lambda: site.load.session_windows.get(s_key) is False)
        await wait_until(
            hass,
            lambda: (
                runtime.allocation is not None
                and runtime.allocation.reason == "waiting_for_schedule"
            ),
        )
        await wait_until(hass, lambda: limit_on(s, 1) == 0.0)

        # The forecast changes: the slot now is the cheapest.
        hass.states.async_set(PRICE, "0.01", _forecast(dt_util.now(), cheap_now=True))
        await wait_until(hass, lambda: limit_on(s, 1) == 32.0, within=15)
        assert site.load.session_windows[s_key] is True

        # The forecast expensive again, and Alice's plan cleared: the hub's window (open).
        hass.states.async_set(PRICE, "0.40", _forecast(dt_util.now(), cheap_now=False))
        await wait_until(hass, lambda: site.load.session_windows.get(s_key) is False)
        await hass.services.async_call(
            "number", "set_value", {"entity_id": hours, "value": 0}, blocking=True
        )
        await wait_until(hass, lambda: s_key not in site.load.session_windows)
        await wait_until(hass, lambda: limit_on(s, 1) == 32.0, within=15)

        # A plan again, and the price entity loses its forecast (its integration
        # restarted): the slots already seen still plan (the cheap one is later).
        await hass.services.async_call(
            "number", "set_value", {"entity_id": hours, "value": 0.5}, blocking=True
        )
        hass.states.async_set(PRICE, "0.40", {"unit_of_measurement": "EUR/kWh"})
        await wait_until(hass, lambda: site.load.session_windows.get(s_key) is False)
        await wait_until(hass, lambda: limit_on(s, 1) == 0.0)
    finally:
        await s_client.close()
    assert site.sessions.holder_plans["alice"]["hours"] == 0.5


def test_the_departure_is_the_next_time_of_day(monkeypatch: pytest.MonkeyPatch) -> None:
    at = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    assert next_departure(at, time(7, 0)) == datetime(2026, 12, 8, 7, 0, tzinfo=UTC)
    assert next_departure(at, time(23, 45)) == datetime(2026, 12, 7, 23, 45, tzinfo=UTC)
    assert next_departure(at, time(23, 30)) == datetime(2026, 12, 8, 23, 30, tzinfo=UTC)
