"""A station boots, badges and charges over a real websocket; entities follow."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones.sessions import SAVE_DELAY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from simulator.station import StationClient

from .conftest import STATION_ID
from .helpers import entity_id, open_session, state_of, wait_until

SUB = f"sub_{STATION_ID}"


def sampled(
    energy_wh: float,
    currents: tuple[float, float, float],
    voltage: float = 230.0,
    context: str = "Sample.Periodic",
) -> list[dict[str, str]]:
    """A realistic sample set: per-phase currents and voltages, power, Wh register."""
    values = [
        {
            "value": str(energy_wh),
            "measurand": "Energy.Active.Import.Register",
            "unit": "Wh",
            "context": context,
            "location": "Outlet",
        },
        {
            "value": str(round(sum(currents) * voltage)),
            "measurand": "Power.Active.Import",
            "unit": "W",
            "context": context,
        },
        {"value": "16", "measurand": "Current.Offered", "unit": "A", "context": context},
    ]
    for phase, current in zip(("L1", "L2", "L3"), currents, strict=True):
        values.append(
            {
                "value": str(current),
                "measurand": "Current.Import",
                "phase": phase,
                "unit": "A",
                "context": context,
            }
        )
        values.append(
            {
                "value": str(voltage),
                "measurand": "Voltage",
                "phase": f"{phase}-N",
                "unit": "V",
                "context": context,
            }
        )
    return values


async def test_boot_updates_device_and_connectivity(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """BootNotification is accepted with the hub's heartbeat; the device learns its model."""
    station = client.station
    assert station is not None
    await wait_until(hass, lambda: state_of(hass, "binary_sensor", f"{SUB}_connected") == "on")
    answer = await station.boot(vendor="ABB", model="Terra AC", firmware="1.8.2")
    assert answer.status == "Accepted"
    assert answer.interval == 300
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_device_by_identifier(
        ("charge_zones", SUB), loaded_entry.entry_id
    )
    assert device is not None
    assert device.manufacturer == "ABB"
    assert device.model == "Terra AC"
    assert device.sw_version == "1.8.2"
    assert device.serial_number == f"SN-{STATION_ID}"
    # The configuration keys are read at boot and the intervals aligned.
    await station.wait_for("GetConfiguration")
    await wait_until(hass, lambda: station.state.configuration["MeterValueSampleInterval"] == "10")
    assert station.state.configuration["HeartbeatInterval"] == "300"

    await client.close()
    await wait_until(hass, lambda: state_of(hass, "binary_sensor", f"{SUB}_connected") == "off")
    assert state_of(hass, "sensor", f"{SUB}_power") == "unavailable"


@pytest.mark.parametrize(
    ("tag", "status", "event_type"),
    [
        ("BADGE-ALICE", "Accepted", "accepted"),
        ("badge-alice", "Accepted", "accepted"),
        ("BADGE-BOB", "Blocked", "rejected"),
        ("BADGE-OLD", "Expired", "rejected"),
        ("NOBODY", "Invalid", "rejected"),
    ],
)
async def test_authorize(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    client: StationClient,
    caplog: pytest.LogCaptureFixture,
    tag: str,
    status: str,
    event_type: str,
) -> None:
    """Badges: known and active → Accepted; blocked, expired, unknown → refused."""
    caplog.set_level(logging.INFO, logger="custom_components.charge_zones")
    station = client.station
    assert station is not None
    answer = await station.authorize(tag)
    assert answer.id_tag_info["status"] == status
    await hass.async_block_till_done()
    assert f"Authorizing request {tag} from {STATION_ID}: {status}" in caplog.text
    state = hass.states.get(entity_id(hass, "event", f"{SUB}_authorization"))
    assert state is not None
    assert state.attributes["event_type"] == event_type
    assert state.attributes["tag"] == tag
    assert state.attributes["status"] == status.lower()
    if status == "Accepted":
        assert state.attributes["holder"] == "Alice"


@pytest.mark.enabled_by_user("current_l1", "current_l2", "current_l3")
async def test_full_session(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """Start, realistic MeterValues, stop: entities and the persisted session follow."""
    station = client.station
    assert station is not None
    await station.boot()
    await station.status(1, "Preparing")
    await wait_until(
        hass, lambda: state_of(hass, "sensor", f"{SUB}_connector_1_status") == "preparing"
    )
    started = await station.start_transaction(1, "BADGE-ALICE", meter_start=12_000)
    assert started.id_tag_info["status"] == "Accepted"
    transaction_id = started.transaction_id
    assert transaction_id >= 1
    await station.status(1, "Charging")
    await station.meter_values(
        1,
        sampled(12_000, (0, 0, 0), context="Transaction.Begin"),
        transaction_id=transaction_id,
    )
    await station.meter_values(
        1, sampled(13_500, (15.9, 16.1, 15.2)), transaction_id=transaction_id
    )
    await hass.async_block_till_done()

    assert state_of(hass, "sensor", f"{SUB}_connector_1_status") == "charging"
    assert float(state_of(hass, "sensor", f"{SUB}_current_l1")) == pytest.approx(15.9)
    assert float(state_of(hass, "sensor", f"{SUB}_current_l2")) == pytest.approx(16.1)
    assert float(state_of(hass, "sensor", f"{SUB}_current_l3")) == pytest.approx(15.2)
    assert float(state_of(hass, "sensor", f"{SUB}_power")) == pytest.approx(10856, abs=1)
    assert float(state_of(hass, "sensor", f"{SUB}_energy")) == pytest.approx(13.5)
    assert float(state_of(hass, "sensor", f"{SUB}_session_energy")) == pytest.approx(1.5)
    assert float(state_of(hass, "sensor", f"{SUB}_current_offered")) == pytest.approx(16)
    assert state_of(hass, "sensor", f"{SUB}_active_badge") == "Alice"
    energy = hass.states.get(entity_id(hass, "sensor", f"{SUB}_energy"))
    assert energy is not None
    assert energy.attributes["state_class"] == "total_increasing"
    assert energy.attributes["unit_of_measurement"] == "kWh"

    stopped = await station.stop_transaction(
        transaction_id,
        meter_stop=14_250,
        id_tag="BADGE-ALICE",
        reason="EVDisconnected",
        transaction_data=[
            {
                "timestamp": "2026-11-24T10:00:00Z",
                "sampled_value": [
                    {"value": "12000", "context": "Transaction.Begin"},
                ],
            },
            {
                "timestamp": "2026-11-24T11:00:00Z",
                "sampled_value": [{"value": "14250", "context": "Transaction.End"}],
            },
        ],
    )
    assert stopped.id_tag_info["status"] == "Accepted"
    await hass.async_block_till_done()
    assert float(state_of(hass, "sensor", f"{SUB}_session_energy")) == pytest.approx(2.25)
    assert state_of(hass, "sensor", f"{SUB}_active_badge") == "unknown"

    sessions = loaded_entry.runtime_data.sessions
    assert not sessions.open
    session = sessions.closed[-1]
    assert session.transaction_id == str(transaction_id)
    assert session.holder == "Alice"
    assert session.energy_wh == 2250
    assert session.stop_reason == "EVDisconnected"


async def test_transaction_ids_unique_and_retries_recognised(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """A retried StartTransaction gets the same id; a retried stop counts energy once."""
    station = client.station
    assert station is not None
    first = await station.start_transaction(1, "BADGE-ALICE", 100, "2026-11-24T08:00:00Z")
    again = await station.start_transaction(1, "BADGE-ALICE", 100, "2026-11-24T08:00:00Z")
    assert again.transaction_id == first.transaction_id
    await station.stop_transaction(first.transaction_id, 1100, timestamp="2026-11-24T09:00:00Z")
    await station.stop_transaction(first.transaction_id, 1100, timestamp="2026-11-24T09:00:00Z")
    second = await station.start_transaction(1, "BADGE-ALICE", 1100)
    assert second.transaction_id == first.transaction_id + 1
    sessions = loaded_entry.runtime_data.sessions
    assert [s.energy_wh for s in sessions.closed] == [1000]
    assert sessions.last_transaction_id == second.transaction_id


async def test_rejected_badge_session_is_recorded_not_lost(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> None:
    """A StartTransaction with a refused badge still gets an id and is recorded as such."""
    station = client.station
    assert station is not None
    started = await station.start_transaction(1, "NOBODY", 500)
    assert started.id_tag_info["status"] == "Invalid"
    session = open_session(loaded_entry.runtime_data.sessions, started.transaction_id)
    assert session.auth_status == "Invalid"
    assert "not_authorized" in session.flags


async def test_progress_is_saved_while_readings_keep_coming(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    client: StationClient,
    hass_storage: dict[str, Any],
) -> None:
    """Readings every 2 s (more often than the save delay) do not put off the save of a
    session's progress: it is on disk within the save delay of the first one (a power cut
    keeps it). Home Assistant's delayed save alone waited for a quiet save delay."""
    station = client.station
    assert station is not None
    await station.boot()
    started = await station.start_transaction(1, "BADGE-ALICE", meter_start=10_000)
    tid = started.transaction_id
    key = f"charge_zones.{loaded_entry.entry_id}.sessions"

    def saved_register() -> float | None:
        stored = hass_storage.get(key, {}).get("data", {})
        return next(
            (s["last_meter"] for s in stored.get("open", []) if s["transaction_id"] == str(tid)),
            None,
        )

    first = time.monotonic()
    register = 10_000
    while (saved := saved_register()) is None or saved <= 10_000:
        assert time.monotonic() - first < SAVE_DELAY + 3, "progress not saved"
        register += 100
        await station.meter_values(1, sampled(register, (16, 16, 16)), transaction_id=tid)
        await asyncio.sleep(2)
    assert 10_000 < saved <= register
