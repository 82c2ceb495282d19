"""Station state in Home Assistant: wiring, connectors, odd sessions, diagnostics."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from simulator.station import StationClient

from .conftest import DEFAULT_BADGES, station_subentry, ws_url
from .helpers import entity_id, open_session, state_of, wait_until


@pytest.fixture
def subentries() -> list[dict[str, Any]]:
    """A single-phase station on L2 and a two-connector station rotated L2-L3-L1."""
    return [
        station_subentry("MONO-L2", phases="l2", max_current=32),
        station_subentry("DUO", connectors=2, phases="l2-l3-l1"),
        *DEFAULT_BADGES,
    ]


def _ids(hass: HomeAssistant, entry: MockConfigEntry, sub: str) -> set[str]:
    return {
        e.unique_id.removeprefix(f"{sub}_")
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.unique_id.startswith(sub)
    }


async def test_entities_follow_wiring_and_connectors(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Only used phases get sensors; every connector gets a status; few enabled by default."""
    mono = _ids(hass, loaded_entry, "sub_MONO-L2")
    assert {"current_l2", "voltage_l2"} <= mono
    assert not {"current_l1", "current_l3"} & mono
    duo = _ids(hass, loaded_entry, "sub_DUO")
    assert {"connector_1_status", "connector_2_status", "unlock_1", "unlock_2"} <= duo
    registry = er.async_get(hass)
    enabled = [
        e
        for e in er.async_entries_for_config_entry(registry, loaded_entry.entry_id)
        if e.unique_id.startswith("sub_DUO") and e.disabled_by is None
    ]
    assert len(enabled) <= 16
    # Per-phase currents and voltages are there for who needs them, disabled by default
    # (as Home Assistant's Peblar does): each written state is a recorder row.
    for key in ("current_l1", "current_l2", "current_l3", "voltage_l1"):
        entry = registry.async_get(entity_id(hass, "sensor", f"sub_DUO_{key}"))
        assert entry is not None
        assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    names = {
        hass.states.get(e.entity_id).name  # type: ignore[union-attr]
        for e in enabled
        if hass.states.get(e.entity_id) is not None
    }
    assert "DUO Connector 2 status" in names


@pytest.mark.enabled_by_user("current_l1", "current_l2", "current_l3")
async def test_single_phase_current_lands_on_its_phase(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A station on L2 reporting an unphased current shows it on L2."""
    async with StationClient(ws_url(loaded_entry), "MONO-L2") as station:
        await station.meter_values(
            1,
            [
                {"value": "13.2", "measurand": "Current.Import", "unit": "A"},
                {"value": "3036", "measurand": "Power.Active.Import", "unit": "W"},
            ],
        )
        await hass.async_block_till_done()
        assert float(state_of(hass, "sensor", "sub_MONO-L2_current_l2")) == pytest.approx(13.2)
        assert float(state_of(hass, "sensor", "sub_MONO-L2_power")) == 3036


@pytest.mark.enabled_by_user("current_l1", "current_l2", "current_l3")
async def test_rotated_station_maps_phases(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Station L1 on building L2 (rotation L2-L3-L1); two connectors add up per phase."""
    async with StationClient(ws_url(loaded_entry), "DUO") as station:
        for connector, amps in ((1, ("10", "11", "12")), (2, ("1", "2", "3"))):
            await station.meter_values(
                connector,
                [
                    {"value": a, "measurand": "Current.Import", "phase": p, "unit": "A"}
                    for p, a in zip(("L1", "L2", "L3"), amps, strict=True)
                ],
            )
        await hass.async_block_till_done()
        assert float(state_of(hass, "sensor", "sub_DUO_current_l2")) == 11  # station L1
        assert float(state_of(hass, "sensor", "sub_DUO_current_l3")) == 13  # station L2
        assert float(state_of(hass, "sensor", "sub_DUO_current_l1")) == 15  # station L3
        await station.status(2, "Faulted", error_code="GroundFailure", vendor_error_code="E42")
        await hass.async_block_till_done()
        assert state_of(hass, "sensor", "sub_DUO_connector_2_status") == "faulted"
        connector = loaded_entry.runtime_data.station_by_id("DUO").connectors[2]  # type: ignore[union-attr]
        assert (connector.error_code, connector.vendor_error_code) == ("GroundFailure", "E42")


async def test_odd_sessions_flagged_not_lost(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Unknown transaction ids, a register going backwards, a start over an open session."""
    sessions = loaded_entry.runtime_data.sessions
    async with StationClient(ws_url(loaded_entry), "DUO") as station:
        # A stop for a transaction this central system never saw (e.g. from another one).
        await station.stop_transaction(
            777,
            meter_stop=9_000,
            id_tag="BADGE-ALICE",
            transaction_data=[
                {
                    "timestamp": "2026-11-24T08:00:00Z",
                    "sampled_value": [{"value": "8000", "context": "Transaction.Begin"}],
                }
            ],
        )
        orphan = sessions.closed[-1]
        assert orphan.transaction_id == "777"
        assert "unknown_transaction" in orphan.flags
        assert orphan.energy_wh == 1_000
        # New ids never collide with it.
        first = await station.start_transaction(1, "BADGE-ALICE", 10_000)
        assert first.transaction_id == 778
        # The register jumps backwards mid-session.
        await station.meter_values(
            1, [{"value": "9500", "unit": "Wh"}], transaction_id=first.transaction_id
        )
        assert "register_backwards" in open_session(sessions, first.transaction_id).flags
        # A new start on the same connector without a stop closes the old one, flagged.
        second = await station.start_transaction(1, "BADGE-ALICE", 10_400)
        old = next(s for s in sessions.closed if s.transaction_id == str(first.transaction_id))
        assert "superseded" in old.flags
        # Its real stop, arriving late, still lands on it.
        await station.stop_transaction(first.transaction_id, meter_stop=10_400)
        assert old.meter_stop == 10_400
        assert old.energy_wh == 400
        await station.stop_transaction(second.transaction_id, meter_stop=9_000)
        assert "register_backwards" in sessions.closed[-1].flags
        assert sessions.closed[-1].energy_wh == 0
        # A stop with an id far ahead (a station's own numbering, 2^31 - 1) is kept and
        # flagged, but the counter does not jump there: it would soon overflow 32 bits.
        before = sessions.last_transaction_id
        await station.stop_transaction(2**31 - 1, meter_stop=9_000)
        assert sessions.closed[-1].transaction_id == str(2**31 - 1)
        assert "unknown_transaction" in sessions.closed[-1].flags
        assert sessions.last_transaction_id == before
        third = await station.start_transaction(1, "BADGE-ALICE", 9_000)
        assert third.transaction_id == before + 1


async def test_diagnostics_redacted(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, loaded_entry: MockConfigEntry
) -> None:
    """Diagnostics show stations and sessions, never badge ids or holders."""
    async with StationClient(ws_url(loaded_entry), "DUO") as station:
        await station.boot()
        await station.start_transaction(1, "BADGE-ALICE", 100)
        await wait_until(
            hass,
            lambda: bool(loaded_entry.runtime_data.station_by_id("DUO").configuration),  # type: ignore[union-attr]
        )
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    text = str(diagnostics)
    assert "BADGE-ALICE" not in text
    assert "Alice" not in text
    stations = {s["station_id"]: s for s in diagnostics["stations"]}
    assert stations["DUO"]["boot"]["vendor"] == "Simulated"
    assert stations["DUO"]["configuration"]["ChargeProfileMaxStackLevel"]["value"] == "3"
    assert diagnostics["sessions"]["open"][0]["id_tag"] == "**REDACTED**"
    assert diagnostics["server"]["running"] is True


async def test_availability_from_connectors_when_station_reports_none(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A station that reports only its connectors is available while one of them is."""
    async with StationClient(ws_url(loaded_entry), "DUO") as station:
        await station.status(1, "Available")
        await station.status(2, "Unavailable")
        await hass.async_block_till_done()
        assert state_of(hass, "switch", "sub_DUO_availability") == "on"
        await station.status(1, "Unavailable")
        await hass.async_block_till_done()
        assert state_of(hass, "switch", "sub_DUO_availability") == "off"


async def test_profile_kind_and_unit_come_from_the_model(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A watt-only model gets its limit as the power of that current on its phases."""
    from custom_components.charge_zones.badges import BadgeBook
    from custom_components.charge_zones.central.models import MODELS, ModelQuirks, Wiring
    from custom_components.charge_zones.sessions import SessionContext, SessionStore
    from custom_components.charge_zones.stations import HubSettings, Station, StationConfig

    monkeypatch.setitem(
        MODELS, "watts", ModelQuirks(label="Watt only", stack_level=1, rate_unit="W")
    )
    station = Station(
        StationConfig("sub", "W-1", "watts", 1, Wiring.L1_L2_L3, 6, 16),
        settings=lambda: HubSettings(300, 10),
        badges=BadgeBook(),
        sessions=SessionStore(
            hass, "test", SessionContext(lambda _id: (None, None), lambda: None, lambda _tag: None)
        ),
        timezone=lambda: None,  # type: ignore[arg-type,return-value]
        create_task=lambda coro, name: coro.close(),  # type: ignore[arg-type,return-value]
    )
    profile = station.max_current_profile(10)
    assert profile["stack_level"] == 1
    assert profile["charging_schedule"]["charging_rate_unit"] == "W"
    assert profile["charging_schedule"]["charging_schedule_period"][0]["limit"] == 6900.0
    standard = Station(
        StationConfig("sub2", "A-1", "standard", 1, Wiring.L2, 6, 16),
        settings=lambda: HubSettings(300, 10),
        badges=BadgeBook(),
        sessions=SessionStore(
            hass, "test", SessionContext(lambda _id: (None, None), lambda: None, lambda _tag: None)
        ),
        timezone=lambda: None,  # type: ignore[arg-type,return-value]
        create_task=lambda coro, name: coro.close(),  # type: ignore[arg-type,return-value]
    )
    period = standard.max_current_profile(10)["charging_schedule"]["charging_schedule_period"][0]
    assert period == {"start_period": 0, "limit": 10, "number_phases": 1}


@pytest.mark.enabled_by_user("current_l1", "current_l2", "current_l3")
async def test_meter_values_refresh_only_what_shows_readings(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A MeterValues refreshes the sensors of readings only; one changing nothing writes nothing.

    The other entities of the station (status, badge, buttons, switch...) are not even asked:
    a MeterValues cannot change what they show.
    """
    site = loaded_entry.runtime_data
    state = site.station_by_id("MONO-L2")
    assert state is not None
    told: list[str] = []
    remove = [
        state.add_listener(lambda: told.append("all"), readings=False),
        state.add_listener(lambda: told.append("readings")),
    ]
    values = [
        {"value": "13.2", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
        {"value": "3036", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "16", "measurand": "Current.Offered", "unit": "A"},
        {"value": "1234.5", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
    ]
    async with StationClient(ws_url(loaded_entry), "MONO-L2") as station:
        await station.status(1, "Charging")
        await hass.async_block_till_done()
        assert "all" in told
        told.clear()
        written: list[str] = []
        hass.bus.async_listen(
            "state_changed", lambda event: written.append(event.data["entity_id"])
        )
        await station.meter_values(1, values)
        await hass.async_block_till_done()
        assert told == ["readings"]
        assert float(state_of(hass, "sensor", "sub_MONO-L2_current_l2")) == pytest.approx(13.2)
        assert float(state_of(hass, "sensor", "sub_MONO-L2_power")) == 3036
        assert float(state_of(hass, "sensor", "sub_MONO-L2_current_offered")) == 16
        assert float(state_of(hass, "sensor", "sub_MONO-L2_energy")) == pytest.approx(1.2345)
        assert written
        written.clear()
        await station.meter_values(1, values)
        await hass.async_block_till_done()
        assert written == []
        assert told == ["readings", "readings"]
    for undo in remove:
        undo()


async def test_connected_stations_follow_connects_replacements_and_removal(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The hub's count of connected stations: a connection replaced by a new one of the
    same station counts once, and a station removed while connected no longer counts."""
    sensor = f"{loaded_entry.entry_id}_connected_stations"
    mono = StationClient(ws_url(loaded_entry), "MONO-L2")
    duo = StationClient(ws_url(loaded_entry), "DUO")
    await (await mono.connect()).boot()
    await (await duo.connect()).boot()
    await wait_until(hass, lambda: state_of(hass, "sensor", sensor) == "2")
    # DUO opens a second websocket (e.g. after a network blip) before the first closes.
    again = StationClient(ws_url(loaded_entry), "DUO")
    await (await again.connect()).boot()
    await duo.close()
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", sensor) == "2"
    assert hass.config_entries.async_remove_subentry(loaded_entry, "sub_MONO-L2")
    await wait_until(hass, lambda: state_of(hass, "sensor", sensor) == "1")
    await again.close()
    await wait_until(hass, lambda: state_of(hass, "sensor", sensor) == "0")
    await mono.close()
