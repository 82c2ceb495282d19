"""Billing over real stations: badge totals, tariffs, flagged sessions, the CSV export."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
import io
from pathlib import Path
from typing import Any

from ocpp.v16 import call
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.charge_zones import sessions as sessions_module
from custom_components.charge_zones.billing import (
    CSV_COLUMNS,
    TOTAL_COLUMNS,
    Price,
    SessionRow,
    csv_text,
    export_filename,
    price_from_state,
    totals,
)
from custom_components.charge_zones.const import DOMAIN
from homeassistant.components.media_source import async_resolve_media
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.template import Template
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from simulator.station import SimulatedStation, StationClient

from .conftest import badge_subentry, station_subentry, ws_url, zone_subentry
from .helpers import entity_id, state_of, wait_until
from .test_session import sampled

BADGES = [
    badge_subentry("BADGE-1", "Alice"),
    badge_subentry("BADGE-2", "Bob"),
    badge_subentry("BADGE-3", "Carol"),
    badge_subentry("BADGE-4", "Alice"),  # Alice's second badge (her other car)
]


@pytest.fixture
def subentries() -> list[dict[str, Any]]:
    """Two stations in two zones, four badges of three holders."""
    return [
        zone_subentry("Car park", subentry_id="zone_a"),
        zone_subentry("Garage", subentry_id="zone_b"),
        station_subentry("ST-A", zone="zone_a"),
        station_subentry("ST-B", zone="zone_b"),
        *BADGES,
    ]


async def set_options(hass: HomeAssistant, entry: MockConfigEntry, **tariff: Any) -> None:
    """Choose a tariff through the options form (the intervals unchanged)."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "heartbeat_interval": 300,
            "meter_value_sample_interval": 10,
            "raise_hold": 15,
            "sensor_update_interval": 0,
            **tariff,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()


async def connect(hass: HomeAssistant, entry: MockConfigEntry, station_id: str) -> StationClient:
    """A station connected and booted."""
    client = StationClient(ws_url(entry), station_id)
    station = await client.connect()
    await station.boot()
    await wait_until(hass, lambda: entry.runtime_data.station_by_id(station_id).connected)
    return client


def sim(client: StationClient) -> SimulatedStation:
    """The client's station."""
    assert client.station is not None
    return client.station


async def charge(
    station: SimulatedStation,
    tag: str,
    start: int,
    meters: list[int],
    stop: int,
) -> int:
    """A whole session: start, MeterValues at each register, stop. Returns its id."""
    started = await station.start_transaction(1, tag, meter_start=start)
    tid = int(started.transaction_id)
    for register in meters:
        await station.meter_values(1, sampled(register, (16, 16, 16)), transaction_id=tid)
    await station.stop_transaction(tid, meter_stop=stop, id_tag=tag)
    return tid


def period() -> dict[str, str]:
    """A period around now (local days, inclusive)."""
    today = dt_util.now().date()
    return {"start": str(today - timedelta(days=1)), "end": str(today + timedelta(days=1))}


async def export(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call the export action and return its response."""
    response = await hass.services.async_call(
        DOMAIN, "export_sessions", {**period(), **data}, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


def read_csv(path: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The CSV's session lines and total lines."""
    text = Path(path).read_text(encoding="utf-8-sig", newline="")
    sessions_part, totals_part = text.split("\r\n\r\n")
    sessions = list(csv.DictReader(io.StringIO(sessions_part)))
    totals = list(csv.DictReader(io.StringIO(totals_part)))
    return sessions, totals


def badge_energy(hass: HomeAssistant, tag: str) -> float:
    """A badge's energy sensor (kWh)."""
    return float(state_of(hass, "sensor", f"badge_{tag}_billed_energy"))


def device_id(hass: HomeAssistant, entry: MockConfigEntry, identifier: str) -> str:
    """The device of a station, badge or zone (by subentry id)."""
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, identifier), entry.entry_id)
    assert device is not None
    return device.id


async def test_three_badges_two_stations_reload_and_export(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Per-holder totals of the export equal the stations' register differences to the Wh."""
    await set_options(hass, loaded_entry, tariff="fixed", price=0.5, currency="chf")
    client_a = await connect(hass, loaded_entry, "ST-A")
    client_b = await connect(hass, loaded_entry, "ST-B")
    a, b = sim(client_a), sim(client_b)

    await charge(a, "BADGE-1", 10_007, [11_000], 12_347)  # Alice 2 340 Wh
    await charge(b, "badge-2", 50_001, [51_500], 52_001)  # Bob 2 000 Wh (tag case ignored)
    # Carol starts on ST-A, then Home Assistant reloads the hub mid-session.
    started = await a.start_transaction(1, "BADGE-3", meter_start=12_347)
    carol_tid = int(started.transaction_id)
    await a.meter_values(1, sampled(13_000, (16, 16, 16)), transaction_id=carol_tid)
    await hass.async_block_till_done()
    alice_before = badge_energy(hass, "BADGE-1")
    assert alice_before == pytest.approx(2.34)
    await client_a.close()
    await client_b.close()

    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    # Totals are kept across the reload: the sensor never goes down.
    assert badge_energy(hass, "BADGE-1") == alice_before
    energy = hass.states.get(entity_id(hass, "sensor", "badge_BADGE-1_billed_energy"))
    assert energy is not None
    assert energy.attributes["state_class"] == "total_increasing"
    assert energy.attributes["unit_of_measurement"] == "kWh"

    client_a = await connect(hass, loaded_entry, "ST-A")
    client_b = await connect(hass, loaded_entry, "ST-B")
    a, b = sim(client_a), sim(client_b)
    await a.stop_transaction(carol_tid, meter_stop=15_007, id_tag="BADGE-3")  # Carol 2 660
    await charge(b, "BADGE-4", 52_001, [52_900], 53_281)  # Alice's other badge: 1 280 Wh
    await hass.async_block_till_done()

    # Badge sensors: on their holder's device, named after their tag.
    assert badge_energy(hass, "BADGE-3") == pytest.approx(2.66)
    assert state_of(hass, "sensor", "badge_BADGE-1_billed_sessions") == "1"
    assert float(state_of(hass, "sensor", "badge_BADGE-4_billed_cost")) == pytest.approx(0.64)
    cost = hass.states.get(entity_id(hass, "sensor", "badge_BADGE-4_billed_cost"))
    assert cost is not None
    assert cost.attributes["unit_of_measurement"] == "CHF"
    last = hass.states.get(entity_id(hass, "sensor", "badge_BADGE-3_last_session"))
    assert last is not None
    assert last.state not in ("unknown", "unavailable")
    assert last.attributes["station"] == "ST-A"
    assert last.attributes["energy_kwh"] == pytest.approx(2.66)
    assert last.attributes["cost"] == pytest.approx(1.33)
    assert last.attributes["zone"] == "Car park"
    assert last.name == "Carol Last session, badge BADGE-3"
    devices = dr.async_get(hass)
    assert (
        devices.async_get_device_by_identifier((DOMAIN, "badge_BADGE-3"), loaded_entry.entry_id)
        is None
    )
    carol = holder_device(hass, loaded_entry, "carol")
    assert carol is not None
    assert carol.name == "Carol"
    entities = er.async_get(hass)
    assert entities.async_get(last.entity_id).device_id == carol.id  # type: ignore[union-attr]

    result = await export(hass, filename="October ../../etc")
    registers = (15_007 - 10_007) + (53_281 - 50_001)  # what both stations' registers moved
    assert sum(t["energy_wh"] for t in result["totals"].values()) == registers
    assert result["totals"] == {
        "Alice": {
            "sessions": 2,
            "energy_wh": 3_620,
            "energy_kwh": 3.62,
            "solar_kwh": 0.0,
            "grid_kwh": 3.62,
            "cost": 1.81,
            "currency": "CHF",
            "flagged_sessions": 0,
            "flagged_energy_wh": 0.0,
        },
        "Bob": {
            "sessions": 1,
            "energy_wh": 2_000,
            "energy_kwh": 2.0,
            "solar_kwh": 0.0,
            "grid_kwh": 2.0,
            "cost": 1.0,
            "currency": "CHF",
            "flagged_sessions": 0,
            "flagged_energy_wh": 0.0,
        },
        "Carol": {
            "sessions": 1,
            "energy_wh": 2_660,
            "energy_kwh": 2.66,
            "solar_kwh": 0.0,
            "grid_kwh": 2.66,
            "cost": 1.33,
            "currency": "CHF",
            "flagged_sessions": 0,
            "flagged_energy_wh": 0.0,
        },
    }
    assert result["billable"] == {"sessions": 4, "energy_kwh": 8.28, "cost": 4.14}
    assert result["flagged"] == {"sessions": 0, "transaction_ids": []}
    # The file stays in the exports folder whatever the name asked.
    assert result["filename"] == "October_.._.._etc.csv"
    assert Path(result["path"]) == Path(
        hass.config.path("charge_zones/exports", result["filename"])
    )

    rows, totals = read_csv(result["path"])
    assert list(rows[0]) == CSV_COLUMNS
    assert [(r["badge"], r["holder"], r["station"], r["zone"]) for r in rows] == [
        ("BADGE-1", "Alice", "ST-A", "Car park"),
        ("badge-2", "Bob", "ST-B", "Garage"),
        ("BADGE-3", "Carol", "ST-A", "Car park"),
        ("BADGE-4", "Alice", "ST-B", "Garage"),
    ]
    for row in rows:
        assert float(row["energy_wh"]) == int(row["meter_stop_wh"]) - int(row["meter_start_wh"])
        assert row["billable"] == "yes"
        assert row["currency"] == "CHF"
    assert [r["transaction_id"] for r in rows][2] == str(carol_tid)
    assert list(totals[0]) == TOTAL_COLUMNS
    assert {t["holder"]: float(t["energy_wh"]) for t in totals} == {
        "Alice": 3_620,
        "Bob": 2_000,
        "Carol": 2_660,
    }
    assert {t["holder"]: t["cost"] for t in totals} == {
        "Alice": "1.81",
        "Bob": "1.0",
        "Carol": "1.33",
    }
    assert sum(float(r["energy_wh"]) for r in rows) == registers

    # Filters: stations, badges and zones by device or by name; they combine.
    only_b = await export(hass, stations=[device_id(hass, loaded_entry, "sub_ST-B")])
    assert {s["station"] for s in only_b["sessions"]} == {"ST-B"}
    assert set(only_b["totals"]) == {"Alice", "Bob"}
    by_name = await export(hass, stations=["ST-A"], badges=["badge-3"])
    assert [s["transaction_id"] for s in by_name["sessions"]] == [carol_tid]
    alice_device = holder_device(hass, loaded_entry, "alice")
    assert alice_device is not None
    alice = await export(hass, badges=[alice_device.id])  # every badge of the holder
    assert alice["totals"]["Alice"]["energy_wh"] == 3_620
    assert set(alice["totals"]) == {"Alice"}
    garage = await export(hass, zones=["garage"])
    assert [s["badge"] for s in garage["sessions"]] == ["badge-2", "BADGE-4"]
    car_park = await export(hass, zones=[device_id(hass, loaded_entry, "zone_a")])
    assert [s["badge"] for s in car_park["sessions"]] == ["BADGE-1", "BADGE-3"]
    # A period without sessions: empty, with a file all the same.
    empty = await export(hass, start="2020-01-01", end="2020-01-31")
    assert empty["sessions"] == []
    assert empty["totals"] == {}
    assert empty["filename"] == "sessions_2020-01-01_2020-02-01.csv"
    assert read_csv(empty["path"]) == ([], [])

    with pytest.raises(ServiceValidationError) as err:
        await export(hass, stations=["NOPE"])
    assert err.value.translation_key == "unknown_station_filter"
    with pytest.raises(ServiceValidationError) as err:
        await export(hass, zones=["Attic"])
    assert err.value.translation_key == "unknown_zone_filter"
    with pytest.raises(ServiceValidationError) as err:
        await export(hass, badges=[device_id(hass, loaded_entry, "sub_ST-A")])
    assert err.value.translation_key == "unknown_badge_filter"
    with pytest.raises(ServiceValidationError) as err:
        await export(hass, badges=["BADGE-TYPO"])
    assert err.value.translation_key == "unknown_badge_filter"
    with pytest.raises(ServiceValidationError) as err:
        await export(hass, config_entry_id="nope")
    assert err.value.translation_key == "hub_not_loaded"
    with pytest.raises(ServiceValidationError) as err:
        await export(hass, start="2026-10-31", end="2026-10-01")
    assert err.value.translation_key == "bad_period"
    await client_a.close()
    await client_b.close()


async def test_totals_survive_pruning_and_reload(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Old sessions pruned from the store never lower a badge's energy."""
    monkeypatch.setattr(sessions_module, "MAX_CLOSED_SESSIONS", 1)
    client = await connect(hass, loaded_entry, "ST-A")
    await charge(sim(client), "BADGE-1", 1_000, [1_500], 2_000)
    await charge(sim(client), "BADGE-2", 2_000, [], 2_500)
    await hass.async_block_till_done()
    assert badge_energy(hass, "BADGE-1") == pytest.approx(1.0)
    await client.close()
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    # Only the last session is kept, Alice's total is not.
    assert [s.id_tag for s in loaded_entry.runtime_data.sessions.closed] == ["BADGE-2"]
    assert badge_energy(hass, "BADGE-1") == pytest.approx(1.0)
    assert state_of(hass, "sensor", "badge_BADGE-1_billed_sessions") == "1"
    # The holder's total too (not rebuilt from the sessions kept: stored apart).
    assert float(
        state_of(hass, "sensor", f"{loaded_entry.entry_id}_holder_alice_billed_energy")
    ) == pytest.approx(1.0)


async def test_price_entity_changing_mid_session(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Each MeterValues delta costs the price in force then; the tail the price at stop."""
    hass.states.async_set("sensor.spot_price", "0.20", {"unit_of_measurement": "EUR/kWh"})
    await set_options(hass, loaded_entry, tariff="entity", price_entity="sensor.spot_price")
    client = await connect(hass, loaded_entry, "ST-A")
    station = sim(client)
    started = await station.start_transaction(1, "BADGE-1", meter_start=100_000)
    tid = int(started.transaction_id)
    await station.meter_values(1, sampled(101_000, (16, 16, 16)), transaction_id=tid)  # 0.20
    hass.states.async_set("sensor.spot_price", "500", {"unit_of_measurement": "EUR/MWh"})
    await station.meter_values(1, sampled(103_000, (16, 16, 16)), transaction_id=tid)  # 0.50
    # The price entity goes away for a while: its last price still applies.
    hass.states.async_set("sensor.spot_price", "unavailable")
    await station.meter_values(1, sampled(104_000, (16, 16, 16)), transaction_id=tid)  # 0.50
    hass.states.async_set("sensor.spot_price", "0.10", {"unit_of_measurement": "EUR/kWh"})
    await station.stop_transaction(tid, meter_stop=104_500, id_tag="BADGE-1")  # tail: 0.10
    session = loaded_entry.runtime_data.sessions.closed[-1]
    # 1 kWh x 0.20 + 2 kWh x 0.50 + 1 kWh x 0.50 + 0.5 kWh x 0.10
    assert session.cost == pytest.approx(1.75)
    assert session.currency == "EUR"
    assert session.estimated_wh == 500
    result = await export(hass)
    assert result["sessions"][0]["cost"] == pytest.approx(1.75)
    assert result["sessions"][0]["cost_estimated_wh"] == 500
    assert result["totals"]["Alice"]["cost"] == pytest.approx(1.75)
    assert result["totals"]["Alice"]["currency"] == "EUR"
    await client.close()


async def test_session_started_while_home_assistant_was_down(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A stop for a transaction never seen started is billed from its transactionData."""
    await set_options(hass, loaded_entry, tariff="fixed", price=0.3)
    client = await connect(hass, loaded_entry, "ST-B")
    station = sim(client)
    begin = (dt_util.utcnow() - timedelta(hours=3)).replace(microsecond=0)
    answer = await station.stop_transaction(
        4_242,
        meter_stop=21_500,
        id_tag="BADGE-2",
        transaction_data=[
            {
                "timestamp": begin.isoformat().replace("+00:00", "Z"),
                "sampled_value": [
                    {
                        "value": "20.0",
                        "unit": "kWh",
                        "context": "Transaction.Begin",
                        "measurand": "Energy.Active.Import.Register",
                    }
                ],
            }
        ],
    )
    assert answer.id_tag_info["status"] == "Accepted"
    # Without transactionData its energy is unknown: listed, flagged, not billed.
    await station.stop_transaction(4_243, meter_stop=30_000, id_tag="BADGE-2")
    await hass.async_block_till_done()

    assert badge_energy(hass, "BADGE-2") == pytest.approx(1.5)
    result = await export(hass)
    down, unknown = result["sessions"]
    assert down["transaction_id"] == 4_242
    assert down["holder"] == "Bob"
    assert down["start"] == begin.isoformat()
    assert down["zone"] == "Garage"
    assert down["energy_wh"] == 1_500
    assert down["cost"] == pytest.approx(0.45)
    assert down["billable"] is True
    assert "unknown_transaction" in down["flags"]
    assert unknown["billable"] is False
    assert "meter_start_unknown" in unknown["flags"]
    assert unknown["energy_wh"] is None
    assert result["totals"]["Bob"]["sessions"] == 1
    assert result["totals"]["Bob"]["energy_wh"] == 1_500
    assert result["totals"]["Bob"]["flagged_sessions"] == 1
    assert result["flagged"]["transaction_ids"] == [4_243]
    await client.close()


async def test_register_backwards_and_replaced_station_flagged(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Such sessions are listed and counted apart, never in the billable totals."""
    client_a = await connect(hass, loaded_entry, "ST-A")
    client_b = await connect(hass, loaded_entry, "ST-B")
    a, b = sim(client_a), sim(client_b)
    await charge(a, "BADGE-1", 10_000, [10_500], 11_000)  # a good one: 1 000 Wh
    # Stops below the register its MeterValues showed (a meter swapped, a reset).
    backwards = await charge(a, "BADGE-1", 11_000, [12_000], 11_500)
    # ST-B is replaced mid-session: it boots again with another serial number.
    started = await b.start_transaction(1, "BADGE-3", meter_start=0)
    replaced = int(started.transaction_id)
    await b.meter_values(1, sampled(800, (16, 16, 16)), transaction_id=replaced)
    await b.call(
        call.BootNotification(
            charge_point_vendor="Simulated",
            charge_point_model="SimCharger",
            charge_box_serial_number="SN-REPLACEMENT",
        )
    )
    await b.stop_transaction(replaced, meter_stop=900, id_tag="BADGE-3")
    # The new unit's own sessions are fine again.
    await charge(b, "BADGE-3", 900, [1_000], 1_100)
    # A station that charges a refused badge anyway.
    stranger = await charge(b, "STRANGER", 1_100, [], 1_400)
    await hass.async_block_till_done()

    sessions = loaded_entry.runtime_data.sessions
    went_back = await sessions.async_find_closed("ST-A", str(backwards))
    assert went_back is not None
    assert "register_backwards" in went_back.flags
    swapped = await sessions.async_find_closed("ST-B", str(replaced))
    assert swapped is not None
    assert "station_replaced" in swapped.flags
    assert badge_energy(hass, "BADGE-1") == pytest.approx(1.0)
    assert badge_energy(hass, "BADGE-3") == pytest.approx(0.2)
    billed = hass.states.get(entity_id(hass, "sensor", "badge_BADGE-1_billed_sessions"))
    assert billed is not None
    assert (billed.state, billed.attributes["flagged_sessions"]) == ("1", 1)

    result = await export(hass)
    flagged = {s["transaction_id"]: s for s in result["sessions"] if not s["billable"]}
    assert set(flagged) == {backwards, replaced, stranger}
    assert flagged[replaced]["flags"] == ["station_replaced"]
    assert result["totals"]["Alice"]["energy_wh"] == 1_000
    assert result["totals"]["Alice"]["flagged_sessions"] == 1
    assert result["totals"]["Carol"]["energy_wh"] == 200
    assert result["totals"]["Carol"]["flagged_energy_wh"] == 900
    assert result["totals"]["STRANGER"]["sessions"] == 0
    assert result["totals"]["STRANGER"]["flagged_energy_wh"] == 300
    assert result["flagged"]["transaction_ids"] == [backwards, replaced, stranger]
    rows, _totals = read_csv(result["path"])
    assert {r["transaction_id"]: r["billable"] for r in rows if r["billable"] == "no"} == {
        str(backwards): "no",
        str(replaced): "no",
        str(stranger): "no",
    }
    # A badge that is not configured is still found by its sessions.
    refused = await export(hass, badges=["stranger"])
    assert [s["flags"] for s in refused["sessions"]] == [["not_authorized"]]
    await client_a.close()
    await client_b.close()


async def test_tariff_options_checked(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """A fixed tariff needs its price, an entity tariff its entity; none stores nothing."""
    base = {
        "heartbeat_interval": 300,
        "meter_value_sample_interval": 10,
        "raise_hold": 15,
        "profile_validity": 10,
        "sensor_update_interval": 0,
        "rotation_period": 15,
        "solar_start_delay": 60,
        "solar_stop_delay": 300,
        "solar_min_on_time": 600,
        "solar_smoothing": 30,
        "solar_start_margin": 3.0,
    }
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, "tariff": "fixed"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"price": "price_required"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, "tariff": "entity"}
    )
    assert result["errors"] == {"price_entity": "price_entity_required"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, "tariff": "fixed", "price": 0.25, "currency": " eur "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options == {**base, "tariff": "fixed", "price": 0.25, "currency": "EUR"}
    assert loaded_entry.runtime_data.tariff() == Price(0.25, "EUR")
    await set_options(hass, loaded_entry, tariff="none", price=0.25)
    assert loaded_entry.options == base
    assert loaded_entry.runtime_data.tariff() is None
    # Without a tariff, sessions have no cost.
    client = await connect(hass, loaded_entry, "ST-A")
    await charge(sim(client), "BADGE-1", 0, [500], 1_000)
    assert loaded_entry.runtime_data.sessions.closed[-1].cost is None
    assert state_of(hass, "sensor", "badge_BADGE-1_billed_sessions") == "1"
    await client.close()


def test_price_units_and_file_names() -> None:
    """A price entity's unit gives the currency and the scale; names stay file names."""
    assert price_from_state("0.25", "EUR/kWh", "CHF") == Price(0.25, "EUR", dynamic=True)
    assert price_from_state("250", "EUR/MWh", None) == Price(0.25, "EUR", dynamic=True)
    assert price_from_state("0.00025", "/Wh", "CHF") == Price(0.25, "CHF", dynamic=True)
    assert price_from_state("0.3", None, "CHF") == Price(0.3, "CHF", dynamic=True)
    assert price_from_state("0.3", "EUR/kW", "CHF") is None
    assert price_from_state("unknown", "EUR/kWh", "CHF") is None
    assert price_from_state("nan", "EUR/kWh", "CHF") is None
    assert price_from_state(None, None, None) is None
    start = dt_util.parse_datetime("2026-10-01T00:00:00+02:00")
    end = dt_util.parse_datetime("2026-11-01T00:00:00+01:00")
    assert start is not None
    assert end is not None
    assert export_filename(None, start, end) == "sessions_2026-10-01_2026-11-01.csv"
    assert export_filename("2026-10.csv", start, end) == "2026-10.csv"
    assert export_filename("../..", start, end) == "sessions.csv"


def test_csv_never_holds_a_formula() -> None:
    """A holder named like a spreadsheet formula is written as text (CSV injection)."""
    start = datetime(2026, 10, 1, tzinfo=UTC)
    row = SessionRow(
        transaction_id="1",
        station_id="CP-1",
        connector_id=1,
        zone_id=None,
        zone=None,
        id_tag="@TAG",
        holder='=HYPERLINK("http://evil.example","x")',
        started_at=start,
        stopped_at=start + timedelta(hours=1),
        meter_start=0,
        meter_stop=1_000,
        energy_wh=1_000.0,
        cost=None,
        currency=None,
        estimated_wh=0.0,
        flags=(),
    )
    text = csv_text([row], totals([row]))
    cells = [cell for line in csv.reader(io.StringIO(text)) for cell in line]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "@")]
    assert '\'=HYPERLINK("http://evil.example","x")' in cells
    assert "'@TAG" in cells


async def add_badge(hass: HomeAssistant, entry: MockConfigEntry, tag: str, holder: str) -> None:
    """Add a badge through its form, as the installer does."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "badge"), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"tag": tag, "holder": holder, "status": "active"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_badges_added_and_edited_later(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: Any
) -> None:
    """A new badge gets its sensors; an edited one's move to its new holder's device (the same
    entities); diagnostics hide tags."""
    await add_badge(hass, loaded_entry, "BADGE-9", "Dan")
    new = next(s for s in loaded_entry.subentries.values() if s.unique_id == "badge BADGE-9")
    client = await connect(hass, loaded_entry, "ST-A")
    await charge(sim(client), "BADGE-9", 0, [300], 600)
    await hass.async_block_till_done()
    assert float(state_of(hass, "sensor", f"{new.subentry_id}_billed_energy")) == 0.6

    energy = entity_id(hass, "sensor", "badge_BADGE-2_billed_energy")
    result = await hass.config_entries.subentries.async_init(
        (loaded_entry.entry_id, "badge"),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": "badge_BADGE-2"},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"tag": "BADGE-2", "holder": "Robert", "status": "active"}
    )
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()
    robert = holder_device(hass, loaded_entry, "robert")
    assert robert is not None
    assert robert.name == "Robert"
    moved = er.async_get(hass).async_get(energy)
    assert moved is not None  # the same entity (id and history), on Robert's device
    assert moved.device_id == robert.id
    state = hass.states.get(energy)
    assert state is not None
    assert state.name == "Robert Energy charged, badge BADGE-2"
    # Without a tariff the cost sensor is unavailable rather than a cost of 0.
    assert state_of(hass, "sensor", "badge_BADGE-2_billed_cost") == "unavailable"

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    billing = diagnostics["billing"]
    assert billing["tariff"] == "none"
    assert billing["price_now"] is None
    assert billing["badge_totals"][0]["energy_wh"] == 600
    assert "BADGE-9" not in str(billing)
    assert billing["station_serials"] == {"ST-A": "SN-ST-A"}
    await client.close()


async def test_readme_monthly_mail_recipe(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The README's recipe: its dates, and the export reachable as the SMTP attachment."""
    hass.config.media_dirs = {"charge_zones": hass.config.path("charge_zones/exports")}
    assert await async_setup_component(hass, "media_source", {})
    first = Template(
        "{{ (now().replace(day=1) - timedelta(days=1)).replace(day=1).date() | string }}", hass
    ).async_render()
    last = Template(
        "{{ (now().replace(day=1) - timedelta(days=1)).date() | string }}", hass
    ).async_render()
    today = dt_util.now().date()
    assert date.fromisoformat(last) == today.replace(day=1) - timedelta(days=1)
    assert date.fromisoformat(first) == date.fromisoformat(last).replace(day=1)

    bill = await export(hass, start=first, end=last, filename=f"charging-{first[:7]}")
    media = await async_resolve_media(
        hass, f"media-source://media_source/charge_zones/{bill['filename']}", None
    )
    assert media.path == Path(bill["path"])
    assert media.mime_type == "text/csv"


def holder_uid(entry: MockConfigEntry, key: str, figure: str) -> str:
    """Unique id of a holder sensor (figure: billed_energy, billed_sessions, ...)."""
    return f"{entry.entry_id}_holder_{key}_{figure}"


def holder_energy(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> float:
    """A holder's energy sensor (kWh)."""
    return float(state_of(hass, "sensor", holder_uid(entry, key, "billed_energy")))


def holder_device(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> dr.DeviceEntry | None:
    """A holder's device, if there is one."""
    return dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{entry.entry_id}_holder_{key}"), entry.entry_id
    )


async def edit_badge(
    hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str, tag: str, holder: str
) -> None:
    """Give a badge another holder through its reconfigure flow."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "badge"),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"tag": tag, "holder": holder, "status": "active"}
    )
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()


async def test_holder_totals_over_two_badges_reload_and_badge_moved(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A holder's energy is the sum of their badges' sessions; a moved badge bills anew."""
    await set_options(hass, loaded_entry, tariff="fixed", price=0.5, currency="chf")
    client_a = await connect(hass, loaded_entry, "ST-A")
    client_b = await connect(hass, loaded_entry, "ST-B")
    a, b = sim(client_a), sim(client_b)
    await charge(a, "BADGE-1", 10_007, [11_000], 12_347)  # Alice 2 340 Wh
    await charge(b, "badge-4", 52_001, [52_900], 53_281)  # Alice's other badge: 1 280 Wh
    await charge(b, "BADGE-2", 53_281, [], 54_000)  # Bob 719 Wh
    # Kept out of the totals, counted apart: a stop below its MeterValues register.
    await charge(a, "BADGE-1", 12_347, [13_000], 12_500)
    await hass.async_block_till_done()

    sessions = loaded_entry.runtime_data.sessions
    badges = sessions.badge_totals
    assert sessions.holder_totals["alice"].energy_wh == 3_620
    assert badges["BADGE-1"].energy_wh + badges["BADGE-4"].energy_wh == 3_620
    assert holder_energy(hass, loaded_entry, "alice") == pytest.approx(3.62)
    assert holder_energy(hass, loaded_entry, "bob") == pytest.approx(0.719)
    energy = hass.states.get(
        entity_id(hass, "sensor", holder_uid(loaded_entry, "alice", "billed_energy"))
    )
    assert energy is not None
    assert energy.attributes["state_class"] == "total_increasing"
    assert energy.attributes["device_class"] == "energy"
    assert energy.attributes["unit_of_measurement"] == "kWh"
    count = hass.states.get(
        entity_id(hass, "sensor", holder_uid(loaded_entry, "alice", "billed_sessions"))
    )
    assert count is not None
    assert (count.state, count.attributes["flagged_sessions"]) == ("2", 1)
    cost = hass.states.get(
        entity_id(hass, "sensor", holder_uid(loaded_entry, "alice", "billed_cost"))
    )
    assert cost is not None
    assert (float(cost.state), cost.attributes["unit_of_measurement"]) == (1.81, "CHF")
    last = hass.states.get(
        entity_id(hass, "sensor", holder_uid(loaded_entry, "alice", "last_session"))
    )
    assert last is not None
    assert last.attributes["station"] == "ST-A"
    assert last.attributes["tag"] == "BADGE-1"
    assert last.attributes["billable"] is False
    # One device per holder, under the hub, named after them.
    device = holder_device(hass, loaded_entry, "alice")
    assert device is not None
    assert (device.name, device.model) == ("Alice", "Badge holder")
    assert device.via_device_id == loaded_entry.runtime_data.hub_device_id
    assert energy.entity_id.startswith("sensor.alice_")
    await client_a.close()
    await client_b.close()

    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert holder_energy(hass, loaded_entry, "alice") == pytest.approx(3.62)
    assert loaded_entry.runtime_data.sessions.holder_totals["alice"].energy_wh == 3_620

    # Alice's second badge goes to Bob: what Alice was billed stays hers.
    await edit_badge(hass, loaded_entry, "badge_BADGE-4", "BADGE-4", "bob")
    assert holder_energy(hass, loaded_entry, "alice") == pytest.approx(3.62)
    assert holder_energy(hass, loaded_entry, "bob") == pytest.approx(0.719)
    client_b = await connect(hass, loaded_entry, "ST-B")
    await charge(sim(client_b), "BADGE-4", 54_000, [54_500], 55_000)  # now Bob's: 1 000 Wh
    await hass.async_block_till_done()
    assert holder_energy(hass, loaded_entry, "alice") == pytest.approx(3.62)
    assert holder_energy(hass, loaded_entry, "bob") == pytest.approx(1.719)
    bob = loaded_entry.runtime_data.sessions.holder_totals["bob"]
    assert (bob.sessions, bob.energy_wh) == (2, 1_719)
    # Bob's device keeps the name of his first badge ("Bob", not the "bob" typed later).
    bob_device = holder_device(hass, loaded_entry, "bob")
    assert bob_device is not None
    assert bob_device.name == "Bob"
    await client_b.close()


async def test_holders_added_later_kept_and_removed(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: Any
) -> None:
    """New holders get sensors without a reload; billed ones stay; unbilled ones go."""
    await add_badge(hass, loaded_entry, "BADGE-9", "Dan")
    assert holder_energy(hass, loaded_entry, "dan") == 0.0
    assert state_of(hass, "sensor", holder_uid(loaded_entry, "dan", "billed_cost")) == (
        "unavailable"
    )
    assert state_of(hass, "sensor", holder_uid(loaded_entry, "dan", "last_session")) == "unknown"
    new = next(s for s in loaded_entry.subentries.values() if s.unique_id == "badge BADGE-9")

    # Renamed during his first session: Dan has no badge and no totals, his device goes.
    client = await connect(hass, loaded_entry, "ST-B")
    started = await sim(client).start_transaction(1, "BADGE-9", meter_start=5_000)
    await edit_badge(hass, loaded_entry, new.subentry_id, "BADGE-9", "Daniel")
    assert holder_device(hass, loaded_entry, "dan") is None
    registry = er.async_get(hass)
    assert (
        registry.async_get_entity_id(
            "sensor", DOMAIN, holder_uid(loaded_entry, "dan", "billed_energy")
        )
        is None
    )
    assert holder_energy(hass, loaded_entry, "daniel") == 0.0
    # The session stays Dan's (its holder when it started): he is billed, and back.
    tid = int(started.transaction_id)
    await sim(client).stop_transaction(tid, meter_stop=5_250, id_tag="BADGE-9")
    await hass.async_block_till_done()
    assert holder_energy(hass, loaded_entry, "dan") == pytest.approx(0.25)
    assert holder_energy(hass, loaded_entry, "daniel") == 0.0
    await client.close()

    # Carol charges, then her only badge is removed: her totals and device stay.
    client = await connect(hass, loaded_entry, "ST-A")
    await charge(sim(client), "BADGE-3", 0, [400], 800)
    await charge(sim(client), "BADGE-9", 800, [], 1_100)
    await hass.async_block_till_done()
    assert holder_energy(hass, loaded_entry, "carol") == pytest.approx(0.8)
    assert hass.config_entries.async_remove_subentry(loaded_entry, "badge_BADGE-3")
    await hass.async_block_till_done()
    assert holder_device(hass, loaded_entry, "carol") is not None
    assert holder_energy(hass, loaded_entry, "carol") == pytest.approx(0.8)
    await client.close()
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert holder_energy(hass, loaded_entry, "carol") == pytest.approx(0.8)
    assert holder_energy(hass, loaded_entry, "daniel") == pytest.approx(0.3)
    assert holder_energy(hass, loaded_entry, "dan") == pytest.approx(0.25)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    holders = diagnostics["billing"]["holder_totals"]
    assert sorted(t["energy_wh"] for t in holders) == [250, 300, 800]
    assert {t["holder"] for t in holders} == {"**REDACTED**"}
    assert "Carol" not in str(holders)
    assert "BADGE-3" not in str(holders)


async def test_holder_totals_started_from_an_older_store(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """A store written before the holder totals starts them from the sessions it kept."""
    client = await connect(hass, loaded_entry, "ST-A")
    await charge(sim(client), "BADGE-1", 0, [400], 1_000)
    await charge(sim(client), "BADGE-4", 1_000, [], 1_500)
    await charge(sim(client), "STRANGER", 1_500, [], 1_700)  # no holder: nobody's
    await client.close()
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[f"{DOMAIN}.{loaded_entry.entry_id}.sessions"]["data"]
    assert stored["holder_totals"]["alice"]["energy_wh"] == 1_500
    del stored["holder_totals"]

    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    totals = loaded_entry.runtime_data.sessions.holder_totals
    assert set(totals) == {"alice"}
    assert (totals["alice"].sessions, totals["alice"].energy_wh) == (2, 1_500)
    assert holder_energy(hass, loaded_entry, "alice") == pytest.approx(1.5)
