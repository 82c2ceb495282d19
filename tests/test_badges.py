"""Badges and station events over real websockets (issue 11, "OCPP 1.6J exactly").

Expired badges in the local list and its re-push at each expiry, ClearCache when a badge
is revoked (and as an action and a button), group badges (parentIdTag), one badge on two
stations at once (ConcurrentTx), a refused local list (repair), SecurityEventNotification.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
import logging
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.charge_zones.const import DOMAIN
from custom_components.charge_zones.diagnostics import async_get_config_entry_diagnostics
from custom_components.charge_zones.stations import Station
from homeassistant.config_entries import SOURCE_USER, ConfigSubentry
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.util import dt as dt_util
from simulator.station import SimulatedStation, StationBehaviour, StationClient

from .conftest import DEFAULT_BADGES, STATION_ID, badge_subentry, station_subentry, ws_url
from .helpers import entity_id, wait_until

SUB = f"sub_{STATION_ID}"
OTHER_ID = "OTHER-STATION-02"
OTHER_SUB = f"sub_{OTHER_ID}"
TWO_STATIONS = [station_subentry(), station_subentry(OTHER_ID), *DEFAULT_BADGES]


def runtime(entry: MockConfigEntry, subentry_id: str = SUB) -> Station:
    """The integration's runtime of a station."""
    return entry.runtime_data.stations[subentry_id]


def commands(sim: SimulatedStation, action: str) -> list[dict[str, Any]]:
    """Payloads of every command of one kind the station received."""
    return [payload for got, payload in sim.received if got == action]


def sent_list(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A SendLocalList's entries by tag."""
    return {e["id_tag"]: e["id_tag_info"] for e in payload["local_authorization_list"]}


def device_id(hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str = SUB) -> str:
    """Device id of a station."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, subentry_id), entry.entry_id
    )
    assert device is not None
    return device.id


async def booted(hass: HomeAssistant, entry: MockConfigEntry, sim: SimulatedStation) -> None:
    """Boot the station and let the hub configure it (its limit comes last)."""
    assert (await sim.boot()).status == "Accepted"
    await sim.wait_for("SetChargingProfile")
    await wait_until(hass, lambda: runtime(entry).profile_status is not None)


@pytest.fixture
async def sim(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: StationClient
) -> SimulatedStation:
    """The simulated station, attached."""
    assert client.station is not None
    await wait_until(hass, lambda: runtime(loaded_entry).connected)
    return client.station


def local_issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    """The repair saying a station refuses the badge list."""
    return ir.async_get(hass).async_get_issue(DOMAIN, f"local_list_refused_{entry.entry_id}_{SUB}")


# --- expired badges -----------------------------------------------------------------


async def test_expired_badge_pushed_as_expired(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """A badge past its expiry goes out Expired (never Accepted with a past date)."""
    await booted(hass, loaded_entry, sim)
    [payload] = commands(sim, "SendLocalList")
    entries = sent_list(payload)
    assert entries["BADGE-OLD"] == {"status": "Expired", "expiry_date": "2020-02-01T07:59:59Z"}
    assert entries["BADGE-ALICE"] == {"status": "Accepted"}
    assert sim.offline_decision("BADGE-OLD") == "Expired"
    assert (await sim.authorize("BADGE-OLD")).id_tag_info["status"] == "Expired"
    started = await sim.start_transaction(1, "BADGE-OLD", 0)
    assert started.id_tag_info["status"] == "Expired"


# The hub's time zone in tests (pytest-homeassistant-custom-component sets it).
HUB_TZ = ZoneInfo("US/Pacific")


def expiring_today() -> list[dict[str, Any]]:
    """A station and a badge valid until the end of today (the hub's time zone)."""
    today = datetime.now(HUB_TZ).date()
    return [
        station_subentry(),
        badge_subentry("BADGE-ALICE", "Alice"),
        badge_subentry("BADGE-DAN", "Dan", expiry=today.isoformat()),
    ]


def end_of_today() -> datetime:
    """Local midnight after today: when a badge valid until today expires."""
    assert dt_util.get_default_time_zone() == HUB_TZ
    return datetime.combine(datetime.now(HUB_TZ).date() + timedelta(days=1), time(), HUB_TZ)


@pytest.mark.parametrize("subentries", [expiring_today()])
async def test_list_pushed_again_when_a_badge_expires(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """At the end of a badge's last day the list goes out again: new version, Expired,
    and the station's authorization cache is cleared (it may hold the badge)."""
    await booted(hass, loaded_entry, sim)
    assert sim.offline_decision("BADGE-DAN") == "Accepted"
    assert (await sim.authorize("BADGE-DAN")).id_tag_info["status"] == "Accepted"
    assert sim.state.auth_cache["BADGE-DAN"]["status"] == "Accepted"
    version = sim.state.local_list_version
    cleared = len(commands(sim, "ClearCache"))

    async_fire_time_changed(hass, end_of_today() + timedelta(seconds=1))
    await wait_until(hass, lambda: sim.state.local_list_version > version)
    await wait_until(hass, lambda: len(commands(sim, "ClearCache")) > cleared)
    payload = commands(sim, "SendLocalList")[-1]
    assert payload["list_version"] == version + 1
    assert sent_list(payload)["BADGE-DAN"]["status"] == "Expired"
    assert sent_list(payload)["BADGE-ALICE"]["status"] == "Accepted"
    assert sim.offline_decision("BADGE-DAN") == "Expired"
    assert "BADGE-DAN" not in sim.state.auth_cache
    # Home Assistant answers Expired from then on too.
    assert (await sim.authorize("BADGE-DAN")).id_tag_info["status"] == "Expired"


@pytest.mark.parametrize("subentries", [expiring_today()])
async def test_expiry_timer_survives_a_restart(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """After a restart the expiry is scheduled again; a station that was away while
    the badge expired gets the new list (and ClearCache) when it comes back."""
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    version = loaded_entry.runtime_data.sessions.local_list_version

    async_fire_time_changed(hass, end_of_today() + timedelta(seconds=1))
    await wait_until(
        hass, lambda: loaded_entry.runtime_data.sessions.local_list_version == version + 1
    )

    async with StationClient(ws_url(loaded_entry), STATION_ID) as sim:
        await booted(hass, loaded_entry, sim)
        [payload] = commands(sim, "SendLocalList")
        assert payload["list_version"] == version + 1
        assert sent_list(payload)["BADGE-DAN"]["status"] == "Expired"
        assert commands(sim, "ClearCache") == [{}]


# --- ClearCache ---------------------------------------------------------------------


async def test_blocked_or_removed_badge_cleared_from_cache(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """Blocking a badge, then removing one: the list goes out, then ClearCache."""
    await booted(hass, loaded_entry, sim)
    assert (await sim.authorize("BADGE-ALICE")).id_tag_info["status"] == "Accepted"
    assert sim.state.auth_cache["BADGE-ALICE"]["status"] == "Accepted"
    cleared = len(commands(sim, "ClearCache"))

    subentry = loaded_entry.subentries["badge_BADGE-ALICE"]
    hass.config_entries.async_update_subentry(
        loaded_entry, subentry, data={**subentry.data, "status": "blocked"}
    )
    await wait_until(hass, lambda: len(commands(sim, "ClearCache")) == cleared + 1)
    assert sim.received[-1] == ("ClearCache", {})
    assert sim.received[-2][0] == "SendLocalList"
    assert not sim.state.auth_cache
    assert sim.offline_decision("BADGE-ALICE") == "Blocked"

    # A badge added is no reason to clear the cache; one removed is.
    hass.config_entries.async_add_subentry(
        loaded_entry, ConfigSubentry(**badge_subentry("BADGE-EVE", "Eve"))
    )
    await wait_until(hass, lambda: "BADGE-EVE" in sim.state.local_list)
    await hass.async_block_till_done()
    assert len(commands(sim, "ClearCache")) == cleared + 1
    assert (await sim.authorize("BADGE-EVE")).id_tag_info["status"] == "Accepted"
    assert hass.config_entries.async_remove_subentry(loaded_entry, "badge_BADGE-EVE")
    await wait_until(hass, lambda: len(commands(sim, "ClearCache")) == cleared + 2)
    assert "BADGE-EVE" not in sim.state.local_list
    assert sim.offline_decision("BADGE-EVE") == "Invalid"


@pytest.mark.parametrize("subentries", [TWO_STATIONS])
async def test_clear_cache_action(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """charge_zones.clear_cache: one station, or every one (offline ones reported)."""
    await sim.authorize("BADGE-ALICE")
    response = await hass.services.async_call(
        DOMAIN,
        "clear_cache",
        {"device_id": device_id(hass, loaded_entry)},
        blocking=True,
        return_response=True,
    )
    assert response == {"stations": {STATION_ID: "Accepted"}}
    assert sim.received[-1] == ("ClearCache", {})
    assert not sim.state.auth_cache
    assert runtime(loaded_entry).cache_status == "Accepted"

    response = await hass.services.async_call(
        DOMAIN, "clear_cache", {}, blocking=True, return_response=True
    )
    assert response == {"stations": {STATION_ID: "Accepted", OTHER_ID: "NotConnected"}}

    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "clear_cache",
            {"device_id": device_id(hass, loaded_entry, OTHER_SUB)},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "command_failed"


async def enable_clear_cache_button(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """The station's "Clear authorization cache" button, enabled (it is not by default)."""
    registry = er.async_get(hass)
    button = entity_id(hass, "button", f"{SUB}_clear_cache")
    registered = registry.async_get(button)
    assert registered is not None
    assert registered.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    registry.async_update_entity(button, disabled_by=None)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    return button


async def test_clear_cache_button(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """Each station has a "Clear authorization cache" button."""
    button = await enable_clear_cache_button(hass, loaded_entry)
    async with StationClient(ws_url(loaded_entry), STATION_ID) as sim:
        await wait_until(hass, lambda: runtime(loaded_entry).connected)
        await sim.authorize("BADGE-ALICE")
        assert sim.state.auth_cache
        await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: button}, blocking=True)
        assert sim.received[-1] == ("ClearCache", {})
        assert not sim.state.auth_cache


@pytest.mark.parametrize("behaviour", [StationBehaviour(authorization_cache=False)])
async def test_clear_cache_button_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, behaviour: StationBehaviour
) -> None:
    """A station without a cache rejects ClearCache: the button says so."""
    button = await enable_clear_cache_button(hass, loaded_entry)
    async with StationClient(ws_url(loaded_entry), STATION_ID, behaviour):
        await wait_until(hass, lambda: runtime(loaded_entry).connected)
        with pytest.raises(HomeAssistantError) as err:
            await hass.services.async_call(
                "button", "press", {ATTR_ENTITY_ID: button}, blocking=True
            )
    assert err.value.translation_key == "command_refused"
    assert err.value.translation_placeholders == {"station": STATION_ID, "status": "Rejected"}


# --- group badges and ConcurrentTx ---------------------------------------------------

FAMILY = [
    station_subentry(),
    station_subentry(OTHER_ID),
    {
        **badge_subentry("BADGE-ANNA", "Anna"),
        "data": {**badge_subentry("BADGE-ANNA", "Anna")["data"], "group": "FLAT-12"},
    },
    {
        **badge_subentry("BADGE-BEN", "Ben"),
        "data": {**badge_subentry("BADGE-BEN", "Ben")["data"], "group": "FLAT-12"},
    },
    badge_subentry("FLAT-12", "Flat 12"),
    badge_subentry("BADGE-ALICE", "Alice"),
]


@pytest.mark.parametrize("subentries", [FAMILY])
async def test_group_badges_carry_parent_id_tag(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """A badge's group goes out as parentIdTag: Authorize, StartTransaction, local list."""
    await booted(hass, loaded_entry, sim)
    entries = sent_list(commands(sim, "SendLocalList")[0])
    assert entries["BADGE-ANNA"] == {"status": "Accepted", "parent_id_tag": "FLAT-12"}
    assert entries["BADGE-ALICE"] == {"status": "Accepted"}
    answer = await sim.authorize("badge-anna")
    assert answer.id_tag_info == {"status": "Accepted", "parent_id_tag": "FLAT-12"}
    started = await sim.start_transaction(1, "BADGE-BEN", 0)
    assert started.id_tag_info == {"status": "Accepted", "parent_id_tag": "FLAT-12"}
    # Anna stops Ben's session: the station compares the parentIdTag of both.
    stopped = await sim.stop_transaction(started.transaction_id, 100, id_tag="BADGE-ANNA")
    assert stopped.id_tag_info == {"status": "Accepted", "parent_id_tag": "FLAT-12"}


@pytest.mark.parametrize("subentries", [FAMILY])
async def test_one_badge_on_two_stations_is_concurrent_tx(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """A badge charging at one station is ConcurrentTx at another (Authorize and
    StartTransaction), Accepted at its own (to stop it); a group's tag is not limited."""
    async with StationClient(ws_url(loaded_entry), OTHER_ID) as other:
        await wait_until(hass, lambda: runtime(loaded_entry, OTHER_SUB).connected)
        started = await sim.start_transaction(1, "BADGE-ALICE", 0)
        assert started.id_tag_info["status"] == "Accepted"

        assert (await other.authorize("badge-alice")).id_tag_info["status"] == "ConcurrentTx"
        refused = await other.start_transaction(1, "BADGE-ALICE", 0)
        assert refused.id_tag_info["status"] == "ConcurrentTx"
        await other.stop_transaction(refused.transaction_id, 0, reason="DeAuthorized")
        # At its own station the badge may be shown to stop the session.
        assert (await sim.authorize("BADGE-ALICE")).id_tag_info["status"] == "Accepted"
        # Another badge of the same group is no concurrent use.
        assert (await other.authorize("BADGE-BEN")).id_tag_info["status"] == "Accepted"

        # The group's own tag may charge at both stations at once.
        first = await sim.start_transaction(2, "FLAT-12", 0)
        second = await other.start_transaction(1, "FLAT-12", 0)
        assert first.id_tag_info["status"] == "Accepted"
        assert second.id_tag_info["status"] == "Accepted"

        await sim.stop_transaction(started.transaction_id, 500, id_tag="BADGE-ALICE")
        assert (await other.authorize("BADGE-ALICE")).id_tag_info["status"] == "Accepted"

        # A session left open on a station that is offline does not lock the badge.
        started = await other.start_transaction(2, "BADGE-ANNA", 0)
        assert started.id_tag_info["status"] == "Accepted"
    await wait_until(hass, lambda: not runtime(loaded_entry, OTHER_SUB).connected)
    assert (await sim.authorize("BADGE-ANNA")).id_tag_info["status"] == "Accepted"


# --- a station refusing the local list --------------------------------------------------


@pytest.mark.parametrize(
    "behaviour",
    [StationBehaviour(local_auth_list_enabled=False, local_list_disabled_status="Failed")],
)
async def test_local_list_failed_raises_repair_until_accepted(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedStation,
    behaviour: StationBehaviour,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SendLocalList answered Failed: logged once and a repair naming the station; once
    LocalAuthListEnabled is true and the list accepted, the repair goes away."""
    caplog.set_level(logging.WARNING, logger="custom_components.charge_zones")
    await booted(hass, loaded_entry, sim)
    assert commands(sim, "SendLocalList")
    issue = local_issue(hass, loaded_entry)
    assert issue is not None
    assert issue.translation_key == "local_list_refused"
    assert issue.translation_placeholders == {"station_id": STATION_ID, "status": "Failed"}

    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "button",
            "press",
            {ATTR_ENTITY_ID: entity_id(hass, "button", f"{SUB}_update_configuration")},
            blocking=True,
        )
    refusals = [r for r in caplog.records if "refused the badge list" in r.getMessage()]
    assert len(refusals) == 1
    assert STATION_ID in refusals[0].getMessage()
    assert "LocalAuthListEnabled" in refusals[0].getMessage()

    # A reload keeps the repair until the station accepts the list.
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert local_issue(hass, loaded_entry) is not None
    async with StationClient(ws_url(loaded_entry), STATION_ID, behaviour, state=sim.state) as again:
        await wait_until(hass, lambda: runtime(loaded_entry).connected)
        await hass.async_block_till_done()
        assert local_issue(hass, loaded_entry) is not None
        await _enable_local_list_and_push(hass, loaded_entry, again)


async def _enable_local_list_and_push(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedStation
) -> None:
    """Set LocalAuthListEnabled=true as the repair says, push again: the repair goes."""
    response = await hass.services.async_call(
        DOMAIN,
        "change_configuration",
        {
            "device_id": device_id(hass, loaded_entry),
            "key": "LocalAuthListEnabled",
            "value": "true",
        },
        blocking=True,
        return_response=True,
    )
    assert response == {"status": "Accepted"}
    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: entity_id(hass, "button", f"{SUB}_update_configuration")},
        blocking=True,
    )
    assert sim.state.local_list
    assert local_issue(hass, loaded_entry) is None


# --- lists longer than a message, or than the station holds ----------------------------


def full_issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    """The repair saying a station's badge list cannot hold every badge."""
    return ir.async_get(hass).async_get_issue(DOMAIN, f"local_list_full_{entry.entry_id}_{SUB}")


@pytest.mark.parametrize(
    "behaviour", [StationBehaviour(local_list_max_length=2, local_list_capacity=10)]
)
async def test_long_list_goes_out_in_several_messages(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedStation,
    behaviour: StationBehaviour,
) -> None:
    """Three badges, two per SendLocalList: a Full update then a Differential one, each
    with a higher version, the last one the list's; the next boot sends nothing."""
    await booted(hass, loaded_entry, sim)
    first, second = commands(sim, "SendLocalList")
    version = runtime(loaded_entry).local_list_version
    assert version is not None
    assert (first["update_type"], first["list_version"]) == ("Full", version - 1)
    assert (second["update_type"], second["list_version"]) == ("Differential", version)
    assert len(first["local_authorization_list"]) == 2
    assert len(second["local_authorization_list"]) == 1
    assert set(sim.state.local_list) == {"BADGE-ALICE", "BADGE-BOB", "BADGE-OLD"}
    assert sim.state.local_list_version == version
    assert runtime(loaded_entry).local_list_error is None
    assert full_issue(hass, loaded_entry) is None

    async with StationClient(ws_url(loaded_entry), STATION_ID, behaviour, state=sim.state) as again:
        await wait_until(hass, lambda: runtime(loaded_entry).connected)
        assert (await again.boot()).status == "Accepted"
        await again.wait_for("GetCompositeSchedule")
        await wait_until(hass, lambda: runtime(loaded_entry).ready)
        await hass.async_block_till_done()
        assert not commands(again, "SendLocalList")


@pytest.mark.parametrize("behaviour", [StationBehaviour(local_list_max_length=2)])
async def test_list_beyond_what_the_station_holds(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedStation,
    behaviour: StationBehaviour,
) -> None:
    """Three badges for a station holding two: the badge valid today goes first, the
    installer gets a repair naming the station and the numbers; a reload keeps it until
    every badge fits, then it goes."""
    await booted(hass, loaded_entry, sim)
    [payload] = commands(sim, "SendLocalList")
    assert payload["update_type"] == "Full"
    assert len(sim.state.local_list) == 2
    assert sim.state.local_list["BADGE-ALICE"] == {"status": "Accepted"}
    issue = full_issue(hass, loaded_entry)
    assert issue is not None
    assert issue.translation_key == "local_list_full"
    assert issue.translation_placeholders == {
        "station_id": STATION_ID,
        "badges": "3",
        "capacity": "2",
        "online_only": "1",
    }
    assert runtime(loaded_entry).local_list_error == (
        "3 badges, the station holds 2: 1 checked online only"
    )
    diagnostics = await async_get_config_entry_diagnostics(hass, loaded_entry)
    [station] = diagnostics["stations"]
    assert station["local_list_error"] == runtime(loaded_entry).local_list_error

    # A reload keeps the repair while the list still cannot hold every badge.
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert full_issue(hass, loaded_entry) is not None
    async with StationClient(ws_url(loaded_entry), STATION_ID, behaviour, state=sim.state) as again:
        await wait_until(hass, lambda: runtime(loaded_entry).connected)
        assert (await again.boot()).status == "Accepted"
        await wait_until(hass, lambda: runtime(loaded_entry).ready)
        await again.wait_for("GetCompositeSchedule")
        await hass.async_block_till_done()
        assert not commands(again, "SendLocalList")
        assert full_issue(hass, loaded_entry) is not None

        # One badge fewer: every badge fits, the repair goes.
        assert hass.config_entries.async_remove_subentry(loaded_entry, "badge_BADGE-OLD")
        await wait_until(hass, lambda: full_issue(hass, loaded_entry) is None)
        assert set(again.state.local_list) == {"BADGE-ALICE", "BADGE-BOB"}
        assert runtime(loaded_entry).local_list_error is None


# --- SecurityEventNotification ---------------------------------------------------------


async def test_security_event_accepted_logged_and_shown(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedStation,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Accepted (not NotSupported), logged, fired on the station's event entity, and the
    last few kept in diagnostics."""
    caplog.set_level(logging.INFO, logger="custom_components.charge_zones")
    await booted(hass, loaded_entry, sim)
    answer = await sim.security_event("TamperDetectionActivated", "cover opened")
    assert answer is not None
    event = entity_id(hass, "event", f"{SUB}_security_event")
    state = hass.states.get(event)
    assert state is not None
    assert state.attributes["event_type"] == "tamper_detection_activated"
    assert state.attributes["type"] == "TamperDetectionActivated"
    assert state.attributes["tech_info"] == "cover opened"
    ours = [r for r in caplog.records if r.name == "custom_components.charge_zones"]
    warning = [r for r in ours if "TamperDetectionActivated" in r.getMessage()]
    assert warning
    assert warning[0].levelno == logging.WARNING
    assert STATION_ID in warning[0].getMessage()

    # A startup is reported at each boot: logged at INFO, never as a warning.
    await sim.security_event("StartupOfTheDevice")
    ours = [r for r in caplog.records if r.name == "custom_components.charge_zones"]
    startup = [r for r in ours if "StartupOfTheDevice" in r.getMessage()]
    assert startup
    assert startup[0].levelno == logging.INFO
    await sim.security_event("VendorSpecificThing", "x" * 200)
    state = hass.states.get(event)
    assert state is not None
    assert state.attributes["event_type"] == "other"
    assert state.attributes["type"] == "VendorSpecificThing"

    for n in range(12):
        await sim.security_event("InvalidMessages", f"message {n}")
    diagnostics = await async_get_config_entry_diagnostics(hass, loaded_entry)
    [station] = diagnostics["stations"]
    kept = station["security_events"]
    assert len(kept) == 10
    assert kept[-1]["type"] == "InvalidMessages"
    assert kept[-1]["tech_info"] == "message 11"
    assert kept[0]["tech_info"] == "message 2"


# --- the badge form: its group ------------------------------------------------------------


async def test_badge_form_group(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    """The badge form takes an optional group (a tag, like the badge's own)."""
    config_entry.add_to_hass(hass)
    result = await hass.config_entries.subentries.async_init(
        (config_entry.entry_id, "badge"), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"tag": "BADGE-ZOE", "holder": "Zoe", "status": "active", "group": "FLAT 12"},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"group": "invalid_tag"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"tag": "BADGE-ZOE", "holder": "Zoe", "status": "active", "group": " FLAT-12 "},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    [subentry] = [s for s in config_entry.subentries.values() if s.title == "Zoe (BADGE-ZOE)"]
    assert dict(subentry.data) == {
        "tag": "BADGE-ZOE",
        "holder": "Zoe",
        "status": "active",
        "group": "FLAT-12",
    }
