"""The Charge Zones card: served and registered by the integration, fed over the websocket.

Home Assistant's real frontend, http and websocket components; a real Modbus meter and
real OCPP stations (simulator/) behind the hub.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import re
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.charge_zones.card import (
    CARD_DIR,
    CARD_FILE,
    CARD_URL,
    LOADER_PREFIX,
    PUSH_INTERVAL,
)
from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL
from homeassistant.components.lovelace.const import LOVELACE_DATA
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from simulator.meter import SimulatedMeter

from .conftest import DEFAULT_BADGES, quick_hub_entry, station_subentry
from .helpers import entity_id, wait_until
from .test_dlm import ZONE, charging, connection, managed, meter, zone

BUILDING = "building"


@pytest.fixture
def subentries(request: pytest.FixtureRequest, sim_meter: SimulatedMeter) -> list[dict[str, Any]]:
    """A 32 A zone behind a 40 A commons meter (10 A of other load) nested in a 100 A
    building zone; two managed stations, one on L2 only; one station outside the zones.

    "bounds": a 16 A zone on L1 without a DLM meter; a 32 A zone nested in a 20 A one."""
    if getattr(request, "param", "default") == "bounds":
        solo = zone("solo", max_current=16, dlm_meters=())
        solo["data"]["zone_phases"] = "l1"
        return [
            connection(sim_meter.port),
            meter(),
            solo,
            zone(BUILDING, max_current=20),
            zone("nested", max_current=32, dlm_meters=(), parent=BUILDING),
            managed("CP-SOLO", zone_key="solo", phases="l1"),
            managed("CP-NESTED", zone_key="nested"),
        ]
    return [
        connection(sim_meter.port),
        meter(),
        zone(BUILDING, max_current=100),
        zone(ZONE, max_current=32, dlm_meters=(), parent=BUILDING),
        managed("CP-A"),
        managed("CP-L2", phases="l2", max_current=32),
        station_subentry("CP-FREE"),
        *DEFAULT_BADGES,
    ]


@pytest.fixture
def config_entry(port: int, subentries: list[dict[str, Any]]) -> MockConfigEntry:
    return quick_hub_entry(port, subentries)


async def test_card_is_a_stored_resource_of_the_dashboards(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, port: int
) -> None:
    """The dashboards load the card through a stored resource, read by every page from the
    start (also a page served while Home Assistant starts, before Charge Zones is set up):
    a loader that imports the card from the integration's own static path, with the file's
    hash as its version, once that path answers. Once, however often a hub sets up; an
    earlier version's loader (or the card's URL added by hand) is replaced; removing the
    last hub removes it. Not among the frontend's extra modules (one way only)."""
    assert await async_setup_component(hass, "frontend", {})
    resources = hass.data[LOVELACE_DATA].resources
    await resources.async_get_info()
    await resources.async_create_item({"res_type": "module", "url": f"{CARD_URL}?v=old"})
    await resources.async_create_item({"res_type": "module", "url": "/local/other-card.js"})
    entry = quick_hub_entry(port, [])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    def loaders() -> list[dict[str, Any]]:
        return [i for i in resources.async_items() if i["url"].startswith(LOADER_PREFIX)]

    (loader,) = loaders()
    assert loader["type"] == "module"
    assert sorted(i["url"] for i in resources.async_items()) == sorted(
        ["/local/other-card.js", loader["url"]]
    )
    assert not [u for u in hass.data[DATA_EXTRA_MODULE_URL].urls if CARD_URL in u]
    (url,) = re.findall(r"new URL\('([^']+)'", loader["url"])
    version = url.removeprefix(f"{CARD_URL}?v=")
    assert len(version) == 12
    assert all(c in "0123456789abcdef" for c in version)
    assert "#" not in loader["url"]  # a data: URL ends at a "#"

    client = await hass_client()
    for method in (client.head, client.get):
        response = await method(url)
        assert response.status == 200
    body = await response.read()
    assert body == (CARD_DIR / CARD_FILE).read_bytes()
    assert b"charge-zones-card" in body
    assert b"customCards" in body

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert loaders() == [loader]
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert loaders() == []
    assert [i["url"] for i in resources.async_items()] == ["/local/other-card.js"]


async def test_resources_in_yaml_the_card_is_an_extra_module(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, port: int
) -> None:
    """Dashboards whose resources are in YAML cannot be given one: the frontend loads the
    card as one of its extra modules (pages served after Charge Zones set up)."""
    assert await async_setup_component(hass, "lovelace", {"lovelace": {"resource_mode": "yaml"}})
    assert await async_setup_component(hass, "frontend", {})
    entry = quick_hub_entry(port, [])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    urls = [u for u in hass.data[DATA_EXTRA_MODULE_URL].urls if u.startswith(CARD_URL)]
    assert len(urls) == 1
    assert len(urls[0].removeprefix(f"{CARD_URL}?v=")) == 12
    assert not [i for i in hass.data[LOVELACE_DATA].resources.async_items() if CARD_URL in str(i)]
    response = await (await hass_client()).get(urls[0])
    assert response.status == 200
    await hass.config_entries.async_unload(entry.entry_id)


async def test_without_frontend_the_card_is_served_only(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, loaded_entry: MockConfigEntry
) -> None:
    """Without the frontend (a headless install) nothing is registered, the file is served."""
    assert DATA_EXTRA_MODULE_URL not in hass.data
    response = await (await hass_client()).get(CARD_URL)
    assert response.status == 200


async def _report(a: Any, l2: Any, transactions: dict[str, int]) -> None:
    """CP-A draws 7.5/7.4/7.3 A, CP-L2's car nothing yet: their MeterValues."""
    await a.meter_values(
        1,
        [
            {"value": v, "measurand": "Current.Import", "phase": f"L{n}"}
            for n, v in ((1, "7.5"), (2, "7.4"), (3, "7.3"))
        ],
        transaction_id=transactions["CP-A"],
    )
    await l2.meter_values(
        1,
        [{"value": "0.0", "measurand": "Current.Import", "phase": "L2"}],
        transaction_id=transactions["CP-L2"],
    )


async def test_overview_of_a_charging_zone(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    loaded_entry: MockConfigEntry,
    sim_meter: SimulatedMeter,
) -> None:
    """The overview says what the entities show, and what they cannot: the tree, the
    supply's rating and other load, what bounds each budget, why each station gets what
    it gets, its badge holder; the subscription pushes a change of the meter."""
    site = loaded_entry.runtime_data
    # The meter sees CP-A's 7.5/7.4/7.3 A on top of 10 A of other load.
    sim_meter.set_currents(17.5, 17.4, 17.3)
    a_client, a = await charging(loaded_entry, "CP-A")
    l2_client, l2 = await charging(loaded_entry, "CP-L2")
    transactions = {
        s.station_id: int(session.transaction_id)
        for s in site.stations.values()
        for session in s.open_sessions()
    }
    # CP-L2's car draws nothing yet: its reading says so (a session without one holds
    # the other-load estimate until its first is due).
    await _report(a, l2, transactions)
    await wait_until(
        hass,
        lambda: all(
            s.allocation is not None and s.allocation.limit > 0
            for s in site.stations.values()
            if s.config.zone
        ),
    )
    # A cycle after the meter was read showing CP-A's current (the meter is polled: the
    # first cycles may still see the 10 A it showed before, and take no other load from
    # it, tests/test_other_load.py), and once CP-A's reading is settled (before, the
    # estimate stays on its safe side, e.g. 17.5 A of other load).
    await wait_until(
        hass,
        lambda: (
            (budget := site.load.last_budget) is not None
            and all(abs(v - 10.0) < 0.05 for v in budget.other_load.get("meter1", (0.0,) * 3))
        ),
    )

    ws = await hass_ws_client(hass)
    await ws.send_json_auto_id({"type": "charge_zones/hubs"})
    hubs = (await ws.receive_json())["result"]
    assert hubs == [
        {
            "entry_id": loaded_entry.entry_id,
            "title": loaded_entry.title,
            "zones": [{"key": BUILDING, "name": "Building"}, {"key": ZONE, "name": "Zone1"}],
        }
    ]

    await ws.send_json_auto_id({"type": "charge_zones/overview", "entry_id": loaded_entry.entry_id})
    reply = await ws.receive_json()
    assert reply["success"], reply
    overview = reply["result"]
    assert overview["dlm"]["running"] is True
    assert overview["dlm"]["entity"] == entity_id(
        hass, "binary_sensor", f"{loaded_entry.entry_id}_dlm_service"
    )
    # The tree: the building, the zone nested in it.
    zones = {z["key"]: z for z in overview["zones"]}
    assert [z["key"] for z in overview["zones"]] == [BUILDING, ZONE]
    assert zones[ZONE]["parent"] == BUILDING
    assert zones[ZONE]["depth"] == 1
    assert zones[BUILDING]["parent"] is None
    # The supply: 40 A, 10 A of other load per phase, read recently.
    (supply,) = overview["supplies"]
    assert supply["name"] == "Commons"
    assert supply["rating"] == 40.0
    assert supply["other_load"] == [10.0, 10.0, 10.0]
    assert supply["room"] == [30.0, 30.0, 30.0]
    assert supply["zones"] == [BUILDING, ZONE]
    assert supply["reading_age"] is not None
    assert 0 <= supply["reading_age"] < 5
    # The zone: budget 30 A (the supply's room bounds it, not its 32 A rating), the
    # entities' numbers, fail-safe off.
    car_park = zones[ZONE]
    assert car_park["rating"] == 32.0
    assert car_park["budget"] == [30.0, 30.0, 30.0]
    assert car_park["budget_bounds"][0] == {"kind": "supply", "key": "meter1", "name": "Commons"}
    assert zones[BUILDING]["budget_bounds"][0]["kind"] == "supply"
    assert car_park["failsafe"] is None
    assert car_park["meters"] == ["meter1"]
    for phase in range(3):
        budget_state = hass.states.get(car_park["entities"]["budget"][phase])
        allocated_state = hass.states.get(car_park["entities"]["allocated"][phase])
        assert budget_state is not None
        assert allocated_state is not None
        assert float(budget_state.state) == car_park["budget"][phase]
        assert float(allocated_state.state) == car_park["allocated"][phase]
    # L2 carries both stations: it is the binding phase.
    assert car_park["binding_phase"] == 1
    assert car_park["measured"] == [7.5, 7.4, 7.3]
    assert car_park["stations"] == ["sub_CP-A", "sub_CP-L2"]
    # The stations: under the zone, then the one outside any zone.
    stations = {s["station_id"]: s for s in overview["stations"]}
    assert [s["station_id"] for s in overview["stations"]] == ["CP-A", "CP-L2", "CP-FREE"]
    cp_a = stations["CP-A"]
    assert cp_a["zone"] == ZONE
    assert cp_a["connected"] is True
    assert cp_a["phases"] == [0, 1, 2]
    assert cp_a["badge"] == "Alice"
    assert cp_a["connectors"][0]["status"] == "charging"
    assert cp_a["drawn"] == [7.5, 7.4, 7.3]
    # Its per-phase current sensors are disabled by default: the card shows the overview's.
    assert cp_a["entities"]["current"] == [None, None, None]
    assert cp_a["reason"] in {"fair_share", "station_max", "capped_by_car"}
    allocated_state = hass.states.get(cp_a["entities"]["allocated"])
    assert allocated_state is not None
    assert float(allocated_state.state) == cp_a["allocated"]
    assert allocated_state.attributes["reason"] == cp_a["reason"]
    assert stations["CP-L2"]["phases"] == [1]
    free = stations["CP-FREE"]
    assert free["zone"] is None
    assert free["connected"] is False
    assert free["allocated"] is None

    # One zone: that zone and the zones nested in it, its stations only.
    await ws.send_json_auto_id(
        {"type": "charge_zones/overview", "entry_id": loaded_entry.entry_id, "zone": ZONE}
    )
    one = (await ws.receive_json())["result"]
    assert [z["key"] for z in one["zones"]] == [ZONE]
    assert [s["station_id"] for s in one["stations"]] == ["CP-A", "CP-L2"]

    # The subscription: the overview at once, then when the commons step up.
    await ws.send_json_auto_id(
        {"type": "charge_zones/overview/subscribe", "entry_id": loaded_entry.entry_id}
    )
    assert (await ws.receive_json())["success"]
    first = (await ws.receive_json())["event"]
    assert first["supplies"][0]["other_load"] == [10.0, 10.0, 10.0]
    sim_meter.set_currents(27.5, 27.4, 27.3)
    # The stations go on reporting (their limits may be cut meanwhile: a reading from
    # before a cut proves nothing, so the estimate waits for one after it).
    for _ in range(40):
        await _report(a, l2, transactions)
        try:
            async with asyncio.timeout(0.5):
                while True:
                    event = (await ws.receive_json())["event"]
                    if event["supplies"][0]["other_load"] == [20.0, 20.0, 20.0]:
                        break
            break
        except TimeoutError:
            continue
    else:
        pytest.fail("no overview with the new other load was pushed")
    assert event["zones"][1]["budget"] == [20.0, 20.0, 20.0]
    # Offline, a station's last readings are not what it draws.
    await a_client.close()
    site = loaded_entry.runtime_data
    await wait_until(hass, lambda: not site.station_by_id("CP-A").connected)  # type: ignore[union-attr]
    await ws.send_json_auto_id(
        {"type": "charge_zones/overview", "entry_id": loaded_entry.entry_id, "zone": ZONE}
    )
    while "result" not in (answer := await ws.receive_json()):
        pass  # the subscription's pushes
    offline = {s["station_id"]: s for s in answer["result"]["stations"]}
    assert offline["CP-A"]["connected"] is False
    assert offline["CP-A"]["drawn"] == [None, None, None]
    await ws.close()
    await l2_client.close()
    assert a is not None
    assert l2 is not None


async def test_overview_errors_and_failsafe(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    loaded_entry: MockConfigEntry,
    sim_meter: SimulatedMeter,
) -> None:
    """An unknown hub or zone is an error; a silent meter shows the zone in fail-safe
    with the age of its last reading."""
    ws = await hass_ws_client(hass)
    for message in (
        {"type": "charge_zones/overview", "entry_id": "nope"},
        {"type": "charge_zones/overview", "entry_id": loaded_entry.entry_id, "zone": "nope"},
        {"type": "charge_zones/overview/subscribe", "entry_id": "nope"},
    ):
        await ws.send_json_auto_id(message)
        reply = await ws.receive_json()
        assert not reply["success"]
        assert reply["error"]["code"] == "not_found"

    site = loaded_entry.runtime_data
    await wait_until(
        hass,
        lambda: (
            site.load.reading_age("meter1") is not None
            and site.load.zone_states.get(ZONE) is not None
            and site.load.zone_states[ZONE].failsafe is None
        ),
    )
    await sim_meter.stop()
    await wait_until(hass, lambda: site.load.zone_states[ZONE].failsafe is not None, within=10)
    await ws.send_json_auto_id({"type": "charge_zones/overview", "entry_id": loaded_entry.entry_id})
    overview = (await ws.receive_json())["result"]
    zones = {z["key"]: z for z in overview["zones"]}
    failsafe = zones[ZONE]["failsafe"]
    assert failsafe["meter"] == "Commons"
    assert failsafe["stale_after"] == 1.0
    assert failsafe["age"] > 1.0
    assert overview["supplies"][0]["reachable"] is False
    assert overview["supplies"][0]["reading_age"] > 1.0


@pytest.mark.parametrize("subentries", ["bounds"], indirect=True)
async def test_what_bounds_a_budget_and_a_changing_hub(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    loaded_entry: MockConfigEntry,
    sim_meter: SimulatedMeter,
) -> None:
    """A zone on one phase without a DLM meter is bound by its rating on that phase only;
    a zone nested in a smaller one by its parent. The subscription follows the hub as it
    changes (a station and the zone it watches removed) and ends when asked; hubs not
    loaded are not offered."""
    site = loaded_entry.runtime_data
    await wait_until(
        hass,
        lambda: (
            site.load.reading_age("meter1") is not None
            and all(site.load.zone_states.get(k) is not None for k in ("solo", "nested"))
            and site.load.zone_states["building"].failsafe is None
        ),
        within=10,
    )
    idle = MockConfigEntry(domain="charge_zones", title="Not loaded", data={})
    idle.add_to_hass(hass)
    ws = await hass_ws_client(hass)
    await ws.send_json_auto_id({"type": "charge_zones/hubs"})
    hubs = (await ws.receive_json())["result"]
    assert [h["entry_id"] for h in hubs] == [loaded_entry.entry_id]

    await ws.send_json_auto_id({"type": "charge_zones/overview", "entry_id": loaded_entry.entry_id})
    overview = (await ws.receive_json())["result"]
    zones = {z["key"]: z for z in overview["zones"]}
    assert [z["key"] for z in overview["zones"]] == ["solo", "building", "nested"]
    solo = zones["solo"]
    assert solo["phases"] == [0]
    assert solo["meters"] == []
    assert solo["budget_bounds"] == [{"kind": "rating", "key": "solo", "name": "Solo"}, None, None]
    assert solo["binding_phase"] == 0
    assert zones["nested"]["budget"] == [20.0, 20.0, 20.0]
    assert zones["nested"]["budget_bounds"][0] == {
        "kind": "parent",
        "key": "building",
        "name": "Building",
    }
    assert zones["building"]["budget_bounds"][0]["kind"] == "rating"

    # Watching the nested zone: a station removed, then the zone itself.
    await ws.send_json_auto_id(
        {
            "type": "charge_zones/overview/subscribe",
            "entry_id": loaded_entry.entry_id,
            "zone": "nested",
        }
    )
    subscription = (await ws.receive_json())["id"]
    first = (await ws.receive_json())["event"]
    assert [s["station_id"] for s in first["stations"]] == ["CP-NESTED"]
    assert hass.config_entries.async_remove_subentry(loaded_entry, "sub_CP-NESTED")
    await hass.async_block_till_done()
    for _ in range(10):
        event = (await ws.receive_json())["event"]
        if not event["stations"]:
            break
    else:
        pytest.fail("the station's removal was not pushed")
    assert hass.config_entries.async_remove_subentry(loaded_entry, "nested")
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=PUSH_INTERVAL + 1))
    await hass.async_block_till_done()
    # The zone is gone: nothing more is pushed for it; unsubscribing ends it.
    await ws.send_json_auto_id({"type": "unsubscribe_events", "subscription": subscription})
    while (reply := await ws.receive_json()).get("type") == "event":
        pass
    assert reply["success"]
