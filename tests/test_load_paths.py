"""Load management paths that only real-world events reach.

A zone with its own consumption meter read together with its DLM meter; a hub
reconfigured while it runs (a meter moved to another bus, a meter whose connection is
gone, a meter removed); a station that answers its limits too late or slowly; a station
that goes offline after refusing its limits; one that refuses a new fail-safe profile or
a station-wide cap; a cycle that keeps failing; a cut station that never reports. Real
websocket stations (simulator/station.py) and pymodbus' own server (simulator/meter.py);
Home Assistant via pytest-homeassistant-custom-component.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.core import HomeAssistant
from simulator.meter import SimulatedMeter
from simulator.station import SimulatedStation, StationClient

from .conftest import DEFAULT_BADGES, station_subentry, ws_url
from .helpers import wait_until
from .test_dlm_world import charging, currents, hub, limit_on, managed, setup

CONNECTION = "conn1"
METER = "meter1"
ZONE = "zone1"


def connection(port: int, key: str = CONNECTION) -> dict[str, Any]:
    return {
        "data": {
            "name": f"Bus {key}",
            "kind": "tcp",
            "host": "127.0.0.1",
            "port": port,
            "timeout": 0.3,
        },
        "subentry_id": key,
        "subentry_type": "connection",
        "title": f"Bus {key}",
        "unique_id": f"connection tcp 127.0.0.1:{port}",
    }


def meter(
    key: str = METER, *, unit: int = 1, amperage: float = 40.0, bus: str = CONNECTION
) -> dict[str, Any]:
    return {
        "data": {
            "name": key.capitalize(),
            "connection": bus,
            "unit": unit,
            "meter_model": "sdm630",
            "amperage": amperage,
            "poll_interval": 0.2,
        },
        "subentry_id": key,
        "subentry_type": "meter",
        "title": key.capitalize(),
        "unique_id": f"meter {bus} {unit}",
    }


def zone(
    key: str = ZONE,
    *,
    max_current: float = 32.0,
    dlm_meters: tuple[str, ...] = (METER,),
    consumption: str | None = None,
    parent: str | None = None,
    stale_after: float = 2.0,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": key.capitalize(),
        "max_current": max_current,
        "zone_phases": "l1-l2-l3",
        "dlm_meters": list(dlm_meters),
        "failsafe_current": 6.0,
        "stale_after": stale_after,
    }
    if consumption is not None:
        data["consumption_meter"] = consumption
    if parent is not None:
        data["parent_zone"] = parent
    return {
        "data": data,
        "subentry_id": key,
        "subentry_type": "zone",
        "title": key.capitalize(),
        "unique_id": f"zone {key}",
    }


@pytest.fixture
async def endpoint() -> AsyncIterator[SimulatedMeter]:
    """A Modbus TCP gateway with two SDM630: unit 1 (the supply), unit 2 (a sub-meter)."""
    served = SimulatedMeter("sdm630", unit=1)
    served.add_unit("sdm630", 2)
    served.set_currents(20, 20, 20)
    served.units[2].set_currents(0, 0, 0)
    await served.start()
    yield served
    await served.stop()


async def _car_at_16(
    hass: HomeAssistant,
    port: int,
    endpoint: SimulatedMeter,
    zones: list[dict[str, Any]],
    reported: float,
) -> tuple[MockConfigEntry, StationClient, SimulatedStation]:
    """A 50 A supply (unit 1) reading 46 A, a zone meter (unit 2) reading CP-A's 16 A,
    CP-A charging and reporting `reported` A."""
    subs = [
        connection(endpoint.port),
        meter(METER, unit=1, amperage=50.0),
        meter("zonemeter", unit=2, amperage=32.0),
        *zones,
        managed("CP-A"),
        *DEFAULT_BADGES,
    ]
    entry = hub(port, subs)
    await setup(hass, entry)
    a_client, a, tx = await charging(entry, "CP-A")
    await wait_until(hass, lambda: limit_on(a, 1) == 16.0)
    endpoint.set_currents(46, 46, 46)
    endpoint.units[2].set_currents(16, 16, 16)
    await a.meter_values(1, currents(reported), transaction_id=tx)
    return entry, a_client, a


async def test_consumption_meter_gives_the_charging_current(
    hass: HomeAssistant, port: int, endpoint: SimulatedMeter
) -> None:
    """A zone with a consumption meter: its charging current is what that meter reads,
    read together with the DLM meter, not what the station last reported.

    Supply 50 A; it reads 46 A: 30 A commons + 16 A the car draws, which the zone's own
    meter reads. The station's last reading says 10 A (it lags): counting that would make
    the commons 36 A and the zone's room 14 A. With the consumption meter the commons are
    30 A and the room 20 A. When the commons grow by 10 A, the room shrinks by 10 A.
    """
    entry, a_client, a = await _car_at_16(
        hass, port, endpoint, [zone(consumption="zonemeter")], reported=10.0
    )
    site = entry.runtime_data
    await wait_until(hass, lambda: site.load.zone_states[ZONE].budget[0] == pytest.approx(20.0))
    await asyncio.sleep(1.0)  # several polls and cycles: it stays so
    assert site.load.zone_states[ZONE].budget == pytest.approx((20.0, 20.0, 20.0))
    budget = site.load.last_budget
    assert budget is not None
    assert budget.other_load[METER] == pytest.approx((30.0, 30.0, 30.0))
    assert limit_on(a, 1) == 16.0
    # The commons step up by 10 A: the station is cut to what is left at once.
    endpoint.set_currents(56, 56, 56)
    await wait_until(hass, lambda: limit_on(a, 1) == 10.0)
    assert site.load.zone_states[ZONE].budget[0] == pytest.approx(10.0)
    await a_client.close()


async def test_a_nested_zone_under_a_consumption_meter_is_not_counted_twice(
    hass: HomeAssistant, port: int, endpoint: SimulatedMeter
) -> None:
    """A parent zone with a consumption meter, a zone nested in it with a station: the
    parent's meter already reads that station's draw. Counted again from the station's
    reading, the other load behind the supply would come out 16 A too low and the zone
    would get room the supply does not have.

    Supply 50 A reads 46 A: 30 A commons + 16 A the car draws, which the parent's meter
    reads and the station reports. Other load: 30 A, not 14 A.
    """
    zones = [
        zone("parent", consumption="zonemeter", max_current=32.0),
        zone(ZONE, dlm_meters=(), parent="parent", max_current=32.0),
    ]
    entry, a_client, _a = await _car_at_16(hass, port, endpoint, zones, reported=16.0)
    site = entry.runtime_data
    await wait_until(
        hass,
        lambda: (
            site.load.last_budget is not None
            and site.load.last_budget.other_load.get(METER, (0.0,))[0] > 20.0
        ),
        within=10,
    )
    await asyncio.sleep(1.0)  # several polls and cycles: it stays so
    budget = site.load.last_budget
    assert budget is not None
    assert budget.other_load[METER] == pytest.approx((30.0, 30.0, 30.0))
    await a_client.close()


async def test_reconfigured_meters_follow_the_new_bus_and_a_lost_meter_is_failsafe(
    hass: HomeAssistant,
    port: int,
    endpoint: SimulatedMeter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The hub reconfigured while it runs, only what changed restarted.

    The supply meter's gateway moves to another address: its poller and bus restart,
    and the zone's room follows what the meter at the new address reads. Pointed at a
    connection that no longer exists, the meter is not read: the installer is told and
    the zone goes to fail-safe (less current). Removed, the zone stays in fail-safe.
    """
    other = SimulatedMeter("sdm630", unit=1)
    other.set_currents(30, 30, 30)
    await other.start()
    subs = [
        connection(endpoint.port),
        meter(METER, unit=1, amperage=40.0),
        zone(),
        managed("CP-A"),
        *DEFAULT_BADGES,
    ]
    entry = hub(port, subs)
    await setup(hass, entry)
    site = entry.runtime_data
    a_client, a, _tx = await charging(entry, "CP-A")
    try:
        # 40 A supply, 20 A commons at the first gateway: 20 A of room, 16 A for CP-A.
        await wait_until(hass, lambda: limit_on(a, 1) == 16.0)
        assert site.load.zone_states[ZONE].budget[0] == pytest.approx(20.0)
        first_bus = site.load.buses[CONNECTION]
        # The gateway moves: the same meter now reads 30 A of commons, 10 A of room.
        bus = entry.subentries[CONNECTION]
        hass.config_entries.async_update_subentry(entry, bus, data={**bus.data, "port": other.port})
        await wait_until(hass, lambda: limit_on(a, 1) == 10.0, within=10)
        assert site.load.zone_states[ZONE].budget[0] == pytest.approx(10.0)
        assert site.load.buses[CONNECTION] is not first_bus
        assert site.load.zone_states[ZONE].failsafe is None

        # The meter pointed at a connection that does not exist: not read, fail-safe.
        supply = entry.subentries[METER]
        hass.config_entries.async_update_subentry(
            entry, supply, data={**supply.data, "connection": "conn_gone"}
        )
        await wait_until(
            hass,
            lambda: f"Meter {METER.capitalize()}: its Modbus connection is missing" in caplog.text,
        )
        assert METER not in site.load.pollers
        await wait_until(hass, lambda: site.load.zone_states[ZONE].failsafe is not None, within=10)
        await wait_until(hass, lambda: limit_on(a, 1) == 6.0)

        # Removed (the zone still lists it): the zone stays in fail-safe at 6 A.
        hass.config_entries.async_remove_subentry(entry, METER)
        await hass.async_block_till_done()
        assert METER not in site.load.meters
        await asyncio.sleep(1.5)
        assert site.load.zone_states[ZONE].failsafe is not None
        assert limit_on(a, 1) == 6.0
    finally:
        await a_client.close()
        await other.stop()


class Stall:
    """A station answering SetChargingProfile only after `seconds` while stalled.

    As a busy station does: it still applies the profile, but its answer comes after the
    hub stopped waiting. `sent`: the limit of every profile it was sent since.
    """

    def __init__(self, station: SimulatedStation, seconds: float) -> None:
        self.seconds = seconds
        self.stalled = False
        self.sent: list[float] = []
        self.profiles: list[tuple[int, float]] = []  # (profile id, limit)
        station.on_command = self._hook

    def _hook(self, action: str, payload: dict[str, Any]) -> Awaitable[None] | None:
        if action != "SetChargingProfile":
            return None
        profile = payload["cs_charging_profiles"]
        limit = float(profile["charging_schedule"]["charging_schedule_period"][0]["limit"])
        self.sent.append(limit)
        self.profiles.append((profile["charging_profile_id"], limit))
        return asyncio.sleep(self.seconds) if self.stalled else None


async def test_a_station_that_stops_answering_gets_its_limits_again(
    hass: HomeAssistant, port: int, endpoint: SimulatedMeter
) -> None:
    """A station answering SetChargingProfile too late: the hub retries (at a pace, not
    in a loop), and a rise it may have applied without telling is not left in force
    when the room shrinks again: the station ends at the limit the room allows.

    40 A supply, 30 A commons: 10 A for CP-A. The commons drop to 20 A: CP-A is to rise
    to 16 A, but its answers come late (the hub waits 0.3 s, it answers after 1 s, and
    applies the profile). The commons grow back to 30 A before it answers in time: it
    must hold 10 A again, not the 16 A it took silently.
    """
    subs = [
        connection(endpoint.port),
        meter(amperage=40.0),
        zone(),
        managed("CP-A"),
        *DEFAULT_BADGES,
    ]
    entry = hub(port, subs)
    endpoint.set_currents(30, 30, 30)
    await setup(hass, entry)
    site = entry.runtime_data
    a_client, a, _tx = await charging(entry, "CP-A")
    try:
        await wait_until(hass, lambda: limit_on(a, 1) == 10.0)
        runtime = site.station_by_id("CP-A")
        assert runtime is not None
        assert runtime.connection is not None
        runtime.connection._response_timeout = 0.3
        stall = Stall(a, 1.0)
        sent = stall.sent
        stall.stalled = True
        endpoint.set_currents(20, 20, 20)
        # It is asked for 16 A, does not answer in time, and is asked again.
        await wait_until(hass, lambda: sent.count(16.0) >= 2, within=10)
        # The hub does not hammer it: retries come after 1 s, 2 s, 5 s...
        await asyncio.sleep(3.0)
        assert len(sent) <= 5, sent
        # The room shrinks back: the rise is not wanted any more.
        endpoint.set_currents(30, 30, 30)
        await wait_until(hass, lambda: site.load.zone_states[ZONE].budget[0] == pytest.approx(10.0))
        stall.stalled = False
        # Whatever it applied silently, it ends at the 10 A the room allows.
        await wait_until(hass, lambda: limit_on(a, 1) == 10.0, within=15)
        await asyncio.sleep(2.0)
        assert limit_on(a, 1) == 10.0
    finally:
        await a_client.close()


async def test_an_offline_station_that_refused_its_limits_is_counted_at_its_maximum(
    hass: HomeAssistant, port: int, endpoint: SimulatedMeter
) -> None:
    """CP-R (20 A) shares a 32 A zone with CP-B and CP-C, then refuses every new limit
    and loses its connection in its session: it may draw its 20 A maximum, online as
    offline, so CP-C is left 12 A, not the 21 A that the limit CP-R last accepted would
    leave."""
    subs = [
        connection(endpoint.port),
        meter(amperage=100.0),
        zone(),
        managed("CP-R", max_current=20),
        managed("CP-B", max_current=32),
        managed("CP-C", max_current=32),
        *DEFAULT_BADGES,
    ]
    entry = hub(port, subs)
    await setup(hass, entry)
    site = entry.runtime_data
    runtime = site.station_by_id("CP-R")
    assert runtime is not None
    r_client, r, _tx = await charging(entry, "CP-R")
    b_client, b, b_tx = await charging(entry, "CP-B")
    c_client, c, _tx = await charging(entry, "CP-C")
    try:
        # Three sessions starting one after the other: each cut must be proven before
        # the room is shared again. These stations send no MeterValues: a station cut
        # while its first reading may still come holds its last limit until that
        # reading is overdue (2 sample intervals + 5 s) and a follow time (10 s) more,
        # about 35 s after the cut, then the room is shared.
        await wait_until(
            hass,
            lambda: all((limit_on(s, 1) or 0) > 10.0 for s in (r, b, c)),
            within=60,
        )
        held = limit_on(r, 1)
        assert held is not None
        assert held < 11.0
        # CP-R refuses every profile from now on; CP-B's car leaves.
        r.behaviour.reject_profiles = True
        await b.stop_transaction(b_tx, 2000)
        await b.status(1, "Available")
        await wait_until(hass, lambda: runtime.profile_error is not None, within=10)
        await wait_until(hass, lambda: limit_on(c, 1) == 12.0, within=10)
        assert limit_on(r, 1) == held  # what it still holds
        # Offline in its session: still counted at its maximum.
        await r_client.close()
        await wait_until(hass, lambda: not runtime.connected)
        await asyncio.sleep(2.0)  # many cycles with CP-R offline
        assert limit_on(c, 1) == 12.0
        assert runtime.allocation is not None
        assert runtime.allocation.reason == "offline"
        assert runtime.allocation.limit == 20.0
    finally:
        await r_client.close()
        await b_client.close()
        await c_client.close()


async def test_a_station_refusing_a_new_failsafe_keeps_limits_that_do_not_expire(
    hass: HomeAssistant, port: int, endpoint: SimulatedMeter
) -> None:
    """The live limit expires on the station, above the fail-safe profile. When the
    zone's fail-safe current changes and the station refuses the new fail-safe profile,
    nothing is under its live limit any more: the limit in force is sent again without
    an expiry, so it does not lapse to the station's own maximum."""
    subs = [connection(endpoint.port), meter(amperage=40.0), zone(), managed("CP-A")]
    entry = hub(port, [*subs, *DEFAULT_BADGES])
    endpoint.set_currents(30, 30, 30)
    await setup(hass, entry)
    a_client, a, _tx = await charging(entry, "CP-A")
    try:
        await wait_until(hass, lambda: limit_on(a, 1) == 10.0 and limit_on(a, 4) == 6.0)
        assert "valid_to" in a.state.profiles[1]  # it expires, over the fail-safe

        def refuse_failsafe(action: str, payload: dict[str, Any]) -> None:
            if action == "SetChargingProfile":
                profile_id = payload["cs_charging_profiles"]["charging_profile_id"]
                a.behaviour.reject_profiles = profile_id == 4

        a.on_command = refuse_failsafe
        area = entry.subentries[ZONE]
        hass.config_entries.async_update_subentry(
            entry, area, data={**area.data, "failsafe_current": 8.0}
        )
        runtime = entry.runtime_data.station_by_id("CP-A")
        assert runtime is not None
        # The station holds it without an expiry, and the hub knows (its answer came).
        await wait_until(
            hass,
            lambda: "valid_to" not in a.state.profiles[1] and runtime.live_valid_to is None,
        )
        assert limit_on(a, 1) == 10.0
        assert runtime.failsafe_limit is None
    finally:
        await a_client.close()


async def test_a_failing_cycle_sets_the_failsafe_once_and_leaves_other_stations(
    hass: HomeAssistant,
    port: int,
    endpoint: SimulatedMeter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """While the DLM cycle keeps failing (a defect, injected into the allocator: no real
    input is known to raise), the managed station is set to its fail-safe current once,
    not again every cycle; a station outside the zones keeps what it has; the error is
    logged once, not every cycle."""
    subs = [connection(endpoint.port), meter(amperage=100.0), zone(), managed("CP-A")]
    subs.append(station_subentry("CP-X"))
    entry = hub(port, [*subs, *DEFAULT_BADGES])
    await setup(hass, entry)
    a_client, a, _tx = await charging(entry, "CP-A")
    x_client, x, _tx = await charging(entry, "CP-X")
    try:
        await wait_until(hass, lambda: limit_on(a, 1) == 16.0 and limit_on(x, 1) == 16.0)
        seen = Stall(a, 0.0)  # never stalled: records what it is sent
        x_profiles = len([p for action, p in x.received if action == "SetChargingProfile"])

        def broken(*_args: Any, **_kwargs: Any) -> Any:
            raise RuntimeError("injected fault")

        from custom_components.charge_zones import loadmanager

        monkeypatch.setattr(loadmanager, "allocate", broken)
        site = entry.runtime_data
        await wait_until(hass, lambda: limit_on(a, 1) == 6.0)
        cycles = site.load.cycle_failures
        await wait_until(hass, lambda: site.load.cycle_failures >= cycles + 5)
        assert seen.sent == [6.0]
        assert limit_on(x, 1) == 16.0
        assert len([p for action, p in x.received if action == "SetChargingProfile"]) == x_profiles
        assert caplog.text.count("The DLM cycle failed") == 1
    finally:
        await a_client.close()
        await x_client.close()


async def test_limits_decided_while_a_slow_station_answers_go_out_after(
    hass: HomeAssistant, port: int, endpoint: SimulatedMeter
) -> None:
    """A station that takes half a second to answer each profile (in time): a cut or a
    fail-safe current decided while the previous one is on its way is sent right after
    it, so the station ends at the latest, not at the one that was in flight.

    The zone's own meter reads the 16 A the car draws (exact room): the commons grow
    from 20 A to 26 A (cut to 14 A), then to 30 A while that cut is on its way (10 A).
    """
    subs = [
        connection(endpoint.port),
        meter(METER, unit=1, amperage=40.0),
        meter("zonemeter", unit=2, amperage=32.0),
        zone(consumption="zonemeter"),
        managed("CP-A"),
    ]
    entry = hub(port, [*subs, *DEFAULT_BADGES])
    endpoint.set_currents(36, 36, 36)
    endpoint.units[2].set_currents(16, 16, 16)
    await setup(hass, entry)
    a_client, a, _tx = await charging(entry, "CP-A")
    try:
        await wait_until(hass, lambda: limit_on(a, 1) == 16.0 and limit_on(a, 4) == 6.0)
        slow = Stall(a, 0.5)
        slow.stalled = True
        # The commons grow: a cut to 14 A is on its way when they grow again (10 A).
        endpoint.set_currents(42, 42, 42)
        await wait_until(hass, lambda: (1, 14.0) in slow.profiles)
        endpoint.set_currents(46, 46, 46)
        await wait_until(hass, lambda: limit_on(a, 1) == 10.0)
        assert [limit for pid, limit in slow.profiles if pid == 1] == [14.0, 10.0]
        # The fail-safe current is changed twice while the first change is on its way.
        area = entry.subentries[ZONE]
        hass.config_entries.async_update_subentry(
            entry, area, data={**area.data, "failsafe_current": 7.0}
        )
        await wait_until(hass, lambda: (4, 7.0) in slow.profiles)
        area = entry.subentries[ZONE]
        hass.config_entries.async_update_subentry(
            entry, area, data={**area.data, "failsafe_current": 8.0}
        )
        await wait_until(hass, lambda: limit_on(a, 4) == 8.0)
        await asyncio.sleep(1.5)
        assert limit_on(a, 4) == 8.0
        assert [limit for pid, limit in slow.profiles if pid == 4] == [7.0, 8.0]
        assert limit_on(a, 1) == 10.0
    finally:
        await a_client.close()


async def test_a_two_connector_station_refusing_a_station_cap_is_asked_once(
    hass: HomeAssistant, port: int, endpoint: SimulatedMeter
) -> None:
    """A station with two connectors that refuses the station-wide cap: each connector
    still gets its own limit (their sum is the room), and the cap is not asked for
    again and again."""
    subs = [
        connection(endpoint.port),
        meter(amperage=40.0),
        zone(),
        managed("CP-DUO", connectors=2, max_current=16),
    ]
    entry = hub(port, [*subs, *DEFAULT_BADGES])
    await setup(hass, entry)
    client = StationClient(ws_url(entry), "CP-DUO")
    duo = await client.connect()
    caps: list[dict[str, Any]] = []

    def refuse_cap(action: str, payload: dict[str, Any]) -> None:
        if action == "SetChargingProfile":
            profile = payload["cs_charging_profiles"]
            refused = profile["charging_profile_purpose"] == "ChargePointMaxProfile"
            duo.behaviour.reject_profiles = refused
            if refused:
                caps.append(profile)

    duo.on_command = refuse_cap
    try:
        await duo.boot()
        for connector in (1, 2):
            await duo.status(connector, "Preparing")
            await duo.start_transaction(connector, "BADGE-ALICE", 0)
            await duo.status(connector, "Charging")
        # 40 A supply, 20 A commons: 10 A each, on its own connector.
        await wait_until(hass, lambda: limit_on(duo, 11) == 10.0 and limit_on(duo, 12) == 10.0)
        await asyncio.sleep(3.0)
        assert len(caps) == 1
        assert 2 not in duo.state.profiles  # no station-wide cap installed
        assert limit_on(duo, 11) == 10.0
        assert limit_on(duo, 12) == 10.0
    finally:
        await client.close()


async def test_a_cut_station_that_never_reports_does_not_hold_its_room_forever(
    hass: HomeAssistant, port: int, endpoint: SimulatedMeter
) -> None:
    """CP-A starts alone at 32 A and is cut to 16 A for CP-B before its first reading:
    until it shows it follows the cut, its 32 A stay taken and CP-B gets nothing. A
    station that never reports cannot show it: once its reading would be stale (two
    sample intervals and the slack, then the follow time), what it draws is the DLM
    meter's to see, like any reading that stops coming, and CP-B gets its share."""
    subs = [
        connection(endpoint.port),
        meter(amperage=100.0),
        zone(),
        managed("CP-A", max_current=32),
        managed("CP-B", max_current=32),
    ]
    entry = hub(port, [*subs, *DEFAULT_BADGES], meter_interval=2)
    await setup(hass, entry)
    a_client, a, _tx = await charging(entry, "CP-A")
    await wait_until(hass, lambda: limit_on(a, 1) == 32.0)
    b_client, b, _tx = await charging(entry, "CP-B")
    try:
        await wait_until(hass, lambda: limit_on(a, 1) == 16.0)
        await asyncio.sleep(3.0)
        assert (limit_on(b, 1) or 0.0) == 0.0  # not before CP-A's cut is proven
        await wait_until(hass, lambda: limit_on(b, 1) == 16.0, within=30)
        assert limit_on(a, 1) == 16.0
    finally:
        await a_client.close()
        await b_client.close()
