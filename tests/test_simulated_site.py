"""The simulators themselves, and a small scenario through Home Assistant end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.charge_zones.const import DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from simulator.charger import Car, SimulatedCharger, profile_limit
from simulator.site import MeterSpec, Scenario, SimulatedSite

from .conftest import DEFAULT_BADGES, badge_subentry, free_port, station_subentry
from .helpers import enable_by_user, state_of, wait_until


def test_car_tapers_and_fills() -> None:
    car = Car(battery_kwh=10, soc=0.5, max_current=16, phases=3)
    assert car.wants() == 16
    taken = car.charge(16, 3600)
    assert taken == pytest.approx(16 * 230 * 3)
    assert car.soc == 1.0
    assert car.wants() == 0
    car.soc = 0.9
    assert car.wants() == pytest.approx(8)


def test_scenario_file_and_loads(tmp_path: Any) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "ocpp_url: ws://127.0.0.1:1\nmodbus: {port: 1502}\ntick: 0.5\n"
        "meters:\n  - {unit: 1, load: [8, 6], steps: [{at: 10, add: [5, 5, 5], duration: 5}]}\n"
        "stations:\n  - {id: A}\n  - {id: B, password: b-password-of-16}\n"
        "  - {id: C, remote: true, password: c-password-of-16}\n"
        "cars:\n  - {station: A, at: 1, badge: X}\n"
    )
    scenario = Scenario.load(path)
    assert scenario.modbus_port == 1502
    # Stations use the OCPP server unless remote (Home Assistant's endpoint, default port).
    a, b, c = scenario.stations
    assert [scenario.station_url(x) for x in (a, b, c)] == [
        "ws://127.0.0.1:1",
        "ws://127.0.0.1:1",
        "ws://127.0.0.1:8123/api/charge_zones/ocpp",
    ]
    assert (b["password"], c["password"]) == ("b-password-of-16", "c-password-of-16")
    other = Scenario.from_dict(
        {"remote_url": "ws://h:1/r", "stations": [{"id": "R", "remote": True}]}
    )
    assert other.station_url(other.stations[0]) == "ws://h:1/r"
    assert scenario.tick == 0.5
    meter = scenario.meters[0]
    assert meter.load == (8.0, 6.0, 0.0)
    assert meter.commons(0, 19) == (8.0, 6.0, 0.0)
    assert meter.commons(12, 19) == (13.0, 11.0, 5.0)
    assert meter.commons(15, 19) == (8.0, 6.0, 0.0)
    with pytest.raises(ValueError, match="unknown keys"):
        Scenario.from_dict({"meters": [{"unit": 1, "wrong": 1}]})
    with pytest.raises(ValueError, match="id"):
        Scenario.from_dict({"stations": [{"wiring": "L1"}]})
    with pytest.raises(ValueError, match=r"station A: unknown keys \['pasword'\]"):
        Scenario.from_dict({"stations": [{"id": "A", "pasword": "x"}]})
    with pytest.raises(ValueError, match="password must be a string"):
        Scenario.from_dict({"stations": [{"id": "A", "password": 1234567890123456}]})
    with pytest.raises(ValueError, match="remote is true or false"):
        Scenario.from_dict({"stations": [{"id": "A", "remote": "yes"}]})
    # The station's charging mode is scripts/develop's (the simulator ignores it).
    solar = Scenario.from_dict({"stations": [{"id": "A", "charging_mode": "solar_min"}]})
    assert solar.stations[0]["charging_mode"] == "solar_min"
    with pytest.raises(ValueError, match="station A: charging_mode is one of fast, solar_min"):
        Scenario.from_dict({"stations": [{"id": "A", "charging_mode": "eco"}]})
    assert MeterSpec(unit=1, daily_amplitude=2, daily_peak_hour=19).commons(0, 19)[0] == 2.0


@pytest.fixture
def subentries() -> list[dict[str, Any]]:
    return [station_subentry("SIM-1", max_current=16), *DEFAULT_BADGES]


@pytest.mark.enabled_by_user("current_l1", "current_l2", "current_l3")
async def test_simulated_car_follows_the_profile(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The car draws min(what it wants, the profile's limit); MeterValues show it."""
    port = loaded_entry.data["port"]
    charger = SimulatedCharger(f"ws://127.0.0.1:{port}", "SIM-1", tick=0.05, meter_interval=0.1)
    await charger.start()
    try:
        assert await charger.plug(Car(max_current=32, soc=0.2), "BADGE-ALICE")
        # The hub sent the station's maximum (16 A) as a TxDefaultProfile at boot.
        await wait_until(hass, lambda: charger.state.current == 16.0)
        await wait_until(hass, lambda: state_of(hass, "sensor", "sub_SIM-1_current_l1") == "16.0")
        await hass.services.async_call(
            DOMAIN,
            "set_charging_profile",
            {"device_id": _device(hass, loaded_entry), "limit": 10},
            blocking=True,
        )
        await wait_until(hass, lambda: charger.state.current == 10.0)
        await wait_until(hass, lambda: state_of(hass, "sensor", "sub_SIM-1_current_l1") == "10.0")
        # Below 6 A a station must pause the car.
        await hass.services.async_call(
            DOMAIN,
            "set_charging_profile",
            {"device_id": _device(hass, loaded_entry), "limit": 4},
            blocking=True,
        )
        await wait_until(hass, lambda: charger.state.current == 0.0)
        assert charger.state.energy_wh > 0
        # A dropped connection comes back by itself.
        charger.drop()
        await wait_until(hass, lambda: not charger.connected.is_set(), within=2)
        await wait_until(hass, charger.connected.is_set, within=5)
        await charger.unplug()
        sessions = loaded_entry.runtime_data.sessions
        await wait_until(hass, lambda: not sessions.open)
        assert sessions.closed[-1].energy_wh == pytest.approx(charger.state.energy_wh, abs=1)
    finally:
        await charger.stop()


def _device(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    from homeassistant.helpers import device_registry as dr

    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "sub_SIM-1"), entry.entry_id
    )
    assert device is not None
    return device.id


def test_profile_limit_rules() -> None:
    class Holder:
        class state:
            profiles: dict[int, Any] = {}
            profile_connector: dict[int, int] = {}

    def profile(
        pid: int, purpose: str, level: int, limit: float, unit: str = "A"
    ) -> dict[str, Any]:
        return {
            "charging_profile_id": pid,
            "charging_profile_purpose": purpose,
            "stack_level": level,
            "charging_schedule": {
                "charging_rate_unit": unit,
                "charging_schedule_period": [{"start_period": 0, "limit": limit}],
            },
        }

    holder: Any = Holder()
    assert profile_limit(holder, 1, 3) is None
    holder.state.profiles = {
        1: profile(1, "TxDefaultProfile", 2, 16),
        2: profile(2, "TxDefaultProfile", 1, 8),
        3: profile(3, "ChargePointMaxProfile", 0, 20),
    }
    holder.state.profile_connector = {1: 0, 2: 1, 3: 0}
    # The connector-specific default beats connector 0's, whatever its stack level.
    assert profile_limit(holder, 1, 3) == 8
    assert profile_limit(holder, 2, 3) == 16
    # A ChargePointMaxProfile in W caps the whole station: 6900 W on 3 phases is 10 A.
    holder.state.profiles[3] = profile(3, "ChargePointMaxProfile", 0, 6900, "W")
    assert profile_limit(holder, 2, 3) == pytest.approx(10)


async def test_scenario_through_home_assistant(hass: HomeAssistant, port: int) -> None:
    """A commons step makes the stations' drawn current (their MeterValues) drop below
    the zone's budget within a few cycles."""
    meter_port = free_port()
    scenario = Scenario.from_dict(
        {
            "ocpp_url": f"ws://127.0.0.1:{port}",
            "modbus": {"host": "127.0.0.1", "port": meter_port},
            "tick": 0.1,
            "meters": [
                {"unit": 1, "load": [10, 10, 10], "steps": [{"at": 4, "add": [14, 14, 14]}]}
            ],
            "stations": [
                {"id": "S-1", "meter_interval": 0.3},
                {"id": "S-2", "meter_interval": 0.3},
            ],
            "cars": [
                {"station": "S-1", "at": 0, "badge": "BADGE-ALICE", "max_current": 32},
                {"station": "S-2", "at": 0, "badge": "BADGE-DAVE", "max_current": 32},
            ],
        }
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={"host": "127.0.0.1", "port": port},
        # Every reading shown at once: the test watches the stations' current sensors.
        options={"raise_hold": 0.5, "sensor_update_interval": 0},
        subentries_data=[
            {
                "data": {
                    "name": "Bus",
                    "kind": "tcp",
                    "host": "127.0.0.1",
                    "port": meter_port,
                    "timeout": 0.3,
                },
                "subentry_id": "bus",
                "subentry_type": "connection",
                "title": "Bus",
                "unique_id": "connection bus",
            },
            {
                "data": {
                    "name": "Commons",
                    "connection": "bus",
                    "unit": 1,
                    "meter_model": "sdm630",
                    "amperage": 40.0,
                    "poll_interval": 0.2,
                },
                "subentry_id": "commons",
                "subentry_type": "meter",
                "title": "Commons",
                "unique_id": "meter bus 1",
            },
            {
                "data": {
                    "name": "Parking",
                    "max_current": 32.0,
                    "zone_phases": "l1-l2-l3",
                    "dlm_meters": ["commons"],
                    "failsafe_current": 6.0,
                    "stale_after": 5.0,
                },
                "subentry_id": "parking",
                "subentry_type": "zone",
                "title": "Parking",
                "unique_id": "zone parking",
            },
            *[
                {
                    **station_subentry(sid, max_current=16),
                    "data": {**station_subentry(sid, max_current=16)["data"], "zone": "parking"},
                }
                for sid in ("S-1", "S-2")
            ],
            *DEFAULT_BADGES,
            badge_subentry("BADGE-DAVE", "Dave"),
        ],
    )
    site = SimulatedSite(scenario)
    entry.add_to_hass(hass)
    enable_by_user(hass, entry, "current_l1")  # the cars' draw, read below
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await site.start()
    try:

        def drawn() -> float:
            return sum(
                float(state_of(hass, "sensor", f"sub_{sid}_current_l1") or 0)
                if state_of(hass, "sensor", f"sub_{sid}_current_l1")
                not in ("unknown", "unavailable")
                else 0.0
                for sid in ("S-1", "S-2")
            )

        # 40 A supply, 10 A commons: 30 A for the cars (15 A each, below their 16 A).
        await wait_until(hass, lambda: drawn() == pytest.approx(30, abs=0.5), within=8)
        # Commons +14 A at t = 4 s: 16 A left; the meter values follow within a few cycles.
        await wait_until(hass, lambda: site.t >= 4, within=8)
        await wait_until(hass, lambda: drawn() <= 16.0 + 0.01, within=4)
        budget = float(state_of(hass, "sensor", "parking_budget_l1"))
        assert budget == pytest.approx(16.0, abs=0.5)
        assert drawn() <= budget + 0.01
    finally:
        await site.stop()
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


def test_demo_scenario_has_a_cloud_station_and_a_password() -> None:
    """The demo building (scripts/develop creates its stations from this file) has a remote
    station with a car in the first minute, kept off the commons meter, and a local
    station with a password; both passwords fit the station form's rule."""
    from custom_components.charge_zones.flows.station import PASSWORD_RE

    scenario = Scenario.load(Path(__file__).parents[1] / "simulator/scenarios/demo.yaml")
    stations = {s["id"]: s for s in scenario.stations}
    cloud, cp4 = stations["DEMO-CLOUD-1"], stations["DEMO-CP-4"]
    assert cloud["remote"] is True
    assert scenario.station_url(cloud) == "ws://127.0.0.1:8123/api/charge_zones/ocpp"
    assert scenario.station_url(cp4) == "ws://127.0.0.1:9000"
    assert PASSWORD_RE.match(cloud["password"])
    assert PASSWORD_RE.match(cp4["password"])
    assert [s for s in stations.values() if s.get("password")] == [cp4, cloud]
    assert any(
        c["station"] == "DEMO-CLOUD-1" and c["at"] < 60 and c.get("badge") for c in scenario.cars
    )
    (meter,) = scenario.meters
    assert "DEMO-CLOUD-1" not in meter.stations
    assert set(meter.stations) == set(stations) - {"DEMO-CLOUD-1"}


def test_demo_scenario_pv_covers_the_solar_stations() -> None:
    """The demo building's roof PV and grid meter: one station on solar only, one on solar +
    minimum, both with a car; a grid meter that signs its currents as a bidirectional meter
    does, on the commons meter's endpoint, seeing the commons and the building's stations.
    Over the first 40 minutes the PV gives, on every phase, more than the most the commons
    and the zone *Parking* can draw together (the fast cars take all the zone has: 32 A per
    phase, and commons + stations at most the commons meter's 40 A, scripts/develop; the
    commons' daily wave at its peak, the laundry step too), plus the solar-only station's
    6 A: otherwise the solar stations never get a surplus in the demo."""
    from simulator.charger import VOLTAGE
    from simulator.meter import signed_currents

    scenario = Scenario.load(Path(__file__).parents[1] / "simulator/scenarios/demo.yaml")
    stations = {s["id"]: s for s in scenario.stations}
    modes = {i: s.get("charging_mode", "fast") for i, s in stations.items()}
    assert sorted(m for m in modes.values() if m != "fast") == ["solar", "solar_min"]
    with_cars = {c["station"] for c in scenario.cars if "BLOCKED" not in c["badge"]}
    assert {i for i, m in modes.items() if m != "fast"} <= with_cars
    assert not any(stations[i].get("remote") for i, m in modes.items() if m != "fast")
    grid = scenario.grid_meter
    assert grid is not None
    assert not grid.own_endpoint
    assert signed_currents(grid.model)
    (meter,) = scenario.meters
    assert grid.meters == "all"
    assert set(grid.stations) == set(meter.stations)
    site = SimulatedSite(scenario)
    assert site.pv is not None
    assert site.pv.day == "clear"
    zone_max, meter_amperage = 32.0, 40.0
    laundry = max(max(step["add"]) for step in meter.steps)
    commons = max(meter.load) + meter.daily_amplitude + laundry
    feeder = max(commons, min(commons + zone_max, meter_amperage))
    for t in range(0, 2401, 60):
        for watts in site.pv.phase_powers(t):
            assert watts / VOLTAGE > feeder + 6, f"t={t}: {watts / VOLTAGE:.1f} A"
    # The surplus moves within minutes, yet slowly (about 1 % a minute near noon).
    first, later = site.pv.power(0), site.pv.power(300)
    assert 0 < abs(later - first) / first < 0.1


async def test_scenario_remote_and_password_stations(
    hass: HomeAssistant, port: int, aiohttp_client: ClientSessionGenerator
) -> None:
    """Scenario stations with a password connect with it, a remote one through Home
    Assistant's web server (charging, never sent a profile), and one with a wrong
    password is refused until its repair shows."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={"host": "127.0.0.1", "port": port},
        subentries_data=[
            station_subentry("LOCKED-1", password="the-right-password-1"),
            station_subentry("WRONG-1", password="the-right-password-2"),
            station_subentry("CLOUD-1", remote=True, password="the-cloud-password-1"),
            *DEFAULT_BADGES,
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    client = await aiohttp_client(hass.http.app)
    scenario = Scenario.from_dict(
        {
            "ocpp_url": f"ws://127.0.0.1:{port}",
            "remote_url": f"ws://127.0.0.1:{client.server.port}/api/charge_zones/ocpp",
            "tick": 0.1,
            "stations": [
                {"id": "LOCKED-1", "password": "the-right-password-1"},
                {"id": "WRONG-1", "password": "not-the-password-2"},
                {
                    "id": "CLOUD-1",
                    "remote": True,
                    "password": "the-cloud-password-1",
                    "meter_interval": 0.2,
                },
            ],
            "cars": [{"station": "CLOUD-1", "at": 0, "badge": "BADGE-ALICE"}],
        }
    )
    site = SimulatedSite(scenario, with_meters=False)
    hub = entry.runtime_data
    await site.start()
    try:
        await wait_until(hass, lambda: hub.station_by_id("LOCKED-1").ready)
        await wait_until(hass, lambda: hub.station_by_id("CLOUD-1").ready)
        sessions = hub.sessions

        def cloud_energy() -> float:
            return max(
                (s.energy_wh or 0.0 for s in sessions.open.values() if s.station_id == "CLOUD-1"),
                default=0.0,
            )

        await wait_until(hass, lambda: cloud_energy() > 0, within=5)
        first = cloud_energy()
        await wait_until(hass, lambda: cloud_energy() > first, within=5)
        cloud = site.chargers["CLOUD-1"]
        assert cloud.state.current == 16.0  # its own maximum: nobody limits it
        assert cloud.station is not None
        assert "SetChargingProfile" not in {action for action, _ in cloud.station.received}
        # The wrong password never gets in; after 3 refusals in a row, a repair.
        issue_id = f"credentials_rejected_{entry.entry_id}_sub_WRONG-1"
        await wait_until(
            hass, lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
        )
        assert not site.chargers["WRONG-1"].connected.is_set()
        assert not hub.station_by_id("WRONG-1").ready
    finally:
        await site.stop()
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
