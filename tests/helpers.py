"""Helpers shared by the tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er


async def wait_until(
    hass: HomeAssistant, predicate: Callable[[], bool], within: float = 5.0
) -> None:
    """Let the loop run until predicate() holds (fails the test after timeout)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)
    await hass.async_block_till_done()


def entity_id(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """Entity id from a unique id."""
    found = er.async_get(hass).async_get_entity_id(platform, "charge_zones", unique_id)
    assert found is not None, f"no {platform} entity with unique id {unique_id}"
    return found


def enable_by_user(hass: HomeAssistant, entry: MockConfigEntry, *keys: str) -> None:
    """Sensors disabled by default (e.g. a station's per-phase currents), enabled as a user
    would have enabled them, for every station of a hub not yet set up."""
    registry = er.async_get(hass)
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type != "station":
            continue
        for key in keys:
            registry.async_get_or_create(
                "sensor",
                "charge_zones",
                f"{subentry_id}_{key}",
                config_entry=entry,
                config_subentry_id=subentry_id,
            )


def state_of(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """State of an entity by unique id."""
    state = hass.states.get(entity_id(hass, platform, unique_id))
    assert state is not None
    return state.state


def copy_entry(entry: MockConfigEntry) -> MockConfigEntry:
    """The same hub entry, for another Home Assistant on the same storage."""
    return MockConfigEntry(
        domain=entry.domain,
        entry_id=entry.entry_id,
        title=entry.title,
        data=dict(entry.data),
        options=dict(entry.options),
        subentries_data=[
            {
                "data": dict(s.data),
                "subentry_id": s.subentry_id,
                "subentry_type": s.subentry_type,
                "title": s.title,
                "unique_id": s.unique_id,
            }
            for s in entry.subentries.values()
        ],
    )


async def submit_options(
    hass: HomeAssistant, entry: MockConfigEntry, **fields: Any
) -> dict[str, Any]:
    """Submit the hub's options form once with these fields; the flow's result."""
    flow = await hass.config_entries.options.async_init(entry.entry_id)
    return dict(await hass.config_entries.options.async_configure(flow["flow_id"], fields))


def open_session(sessions: Any, transaction_id: int | str) -> Any:
    """The open session of a transaction id the hub handed out (unique across stations)."""
    found = [s for s in sessions.open.values() if s.transaction_id == str(transaction_id)]
    assert len(found) == 1, f"open sessions with id {transaction_id}: {found}"
    return found[0]


def is_open(sessions: Any, transaction_id: int | str) -> bool:
    """Whether a transaction id the hub handed out is open."""
    return any(s.transaction_id == str(transaction_id) for s in sessions.open.values())
