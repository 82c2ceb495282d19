"""A badge holder's default charging mode: a select on their device, for their sessions
whichever station they use (a badge's own mode wins, the action for one session over both)."""

from __future__ import annotations

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones.const import DOMAIN
from homeassistant.core import HomeAssistant
from simulator.station import StationClient

from .conftest import badge_subentry, quick_hub_entry, station_subentry, ws_url
from .helpers import entity_id, open_session


def _badges() -> list[dict[str, object]]:
    alice = badge_subentry("BADGE-ALICE", "Alice")
    spare = badge_subentry("BADGE-ALICE-2", "alice")  # the same holder, case aside
    spare["data"]["charging_mode"] = "fast"  # this badge's own mode
    return [alice, spare, badge_subentry("BADGE-BOB", "Bob")]


async def test_a_holders_default_mode_goes_with_their_new_sessions(
    hass: HomeAssistant, port: int
) -> None:
    entry: MockConfigEntry = quick_hub_entry(
        port, [station_subentry("ST-A"), station_subentry("ST-B"), *_badges()]
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    alice = entity_id(hass, "select", f"{entry.entry_id}_holder_alice_charging_mode")
    bob = entity_id(hass, "select", f"{entry.entry_id}_holder_bob_charging_mode")
    state = hass.states.get(alice)
    assert state is not None
    assert state.state == "station"
    assert state.attributes["options"] == [
        "station",
        "fast",
        "solar_min",
        "solar",
        "scheduled",
        "off",
    ]

    await hass.services.async_call(
        "select", "select_option", {"entity_id": alice, "option": "solar"}, blocking=True
    )
    assert hass.states.get(alice).state == "solar"  # type: ignore[union-attr]

    clients = [StationClient(ws_url(entry), sid) for sid in ("ST-A", "ST-B")]
    try:
        one = await clients[0].connect()
        two = await clients[1].connect()
        await one.boot()
        await two.boot()
        first = await one.start_transaction(1, "BADGE-ALICE", 0)
        bobs = await two.start_transaction(1, "BADGE-BOB", 0)
        sessions = entry.runtime_data.sessions
        assert open_session(sessions, first.transaction_id).charging_mode == "solar"
        assert open_session(sessions, bobs.transaction_id).charging_mode is None  # as the station
        await one.stop_transaction(first.transaction_id, 100)
        # Her spare badge has a mode of its own: it wins.
        spare = await one.start_transaction(1, "BADGE-ALICE-2", 100)
        assert open_session(sessions, spare.transaction_id).charging_mode == "fast"
        await one.stop_transaction(spare.transaction_id, 200)
    finally:
        for client in clients:
            await client.close()

    # Kept across a reload; "station" removes the default.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(alice).state == "solar"  # type: ignore[union-attr]
    await hass.services.async_call(
        "select", "select_option", {"entity_id": alice, "option": "station"}, blocking=True
    )
    assert entry.runtime_data.sessions.holder_modes == {}
    assert hass.states.get(bob) is not None
    assert DOMAIN in hass.config.components
