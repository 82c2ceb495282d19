"""Solar charging, measured from the world's side: a clear day and a cloudy day (issue #13).

What a user runs: Home Assistant in its own process (``python -m homeassistant`` on a fresh
configuration directory, ``hass_process.py``) holding a Charge Zones hub with the building
below; the building in another process (this module with ``--worker``): the roof PV
(``simulator.solar.SolarPlant``), the loads, a Modbus TCP gateway serving the car park's
DLM meter and the meter at the building's grid connection (SDM630s, pymodbus), and the
stations (``SimulatedCharger``, OCPP 1.6J over real websockets) with their cars. That
process is the physics: every 0.1 s it sets the meters' registers from the true currents
and records, at the same rate, the truth this report is computed from (PV production per
phase, the building's other load, each car's real draw; the grid meter is their sum).
Nothing the integration says is used for a figure.

The building (the same for every seed):

- a roof PV of 50 kWp, three-phase (42.5 kW at solar noon on a clear day, sun 6:00-20:00);
- the house: 8 A on each phase, a heat pump (+3 A on each phase) cycling,
  single-phase appliances (+3 to +6 A for 30 s to 5 min), and the car park's lighting
  (1 A a phase), all switching on the real clock as the seed decides;
- the grid connection: an SDM630 at unit 2 of the gateway, ticked *Building's grid
  connection* (its currents are magnitudes, the direction is in its signed powers);
- zone *Car park*, 63 A three-phase, its DLM meter an SDM630 at unit 1 (80 A supply);
- seven stations of 6-16 A: SUN-1..4 *Solar only* (three-phase, equal: their cars arrive
  together, the fairness cohort), MIN-1 and MIN-2 *Solar + minimum*, FAST-1 *Fast*, all
  three-phase (a single-phase car's minimum would make its phase the tight one for every
  three-phase car: surplus no controller could use, which is not what this measures);
  cars of 60 kWh at 20 % (they never fill: enough demand to absorb any surplus) arrive
  between 7:00 and 8:15 and stay;
- hub options as a user leaves them (solar start delay 60 s, stop delay 300 s, minimum
  on-time 600 s, smoothing 30 s, MeterValues every 10 s, meters polled every 1 s) and the
  peak limit (``--peak-kw``, 15 kW by default; 0: none).

The day, 7:00 to 19:00, is compressed (``--day-minutes``: a whole simulated day lasts
that many real minutes; 40 by default, so the 12 hours run in 20 real minutes); the
clouds, the loads and everything the integration does (its delays, its smoothing, the
peak limit's quarter hours) live on the real clock, as ``simulator/solar.py`` does it.
So the sun rises and sets 36 times faster than in reality: harder for the controller,
not easier (a 5-minute stop delay lasts 3 simulated hours of a setting sun); and a cloudy
day holds the clouds of its real minutes only (a few in 20 minutes, the seed decides which:
they are printed, with those shorter than the stop delay counted).

``--time-lapse`` runs the whole day at the sun's pace instead: the clouds and the loads
as fast as the sun, the integration's solar delays set to the hub's defaults divided by
the compression (whole seconds, at least 1: start 2 s, stop 8 s, minimum on-time 17 s,
smoothing 1 s at 36x), the raise hold likewise (1 s for 15 s), the rotation period too
(whole minutes, at least 1: 1 minute for 15) and the stations' MeterValues every second. What stays on the real
clock is what cannot be sped up: the meters' 1 s poll, the load-management cycle, a
station's reaction and the peak limit's quarter hours. So a time-lapse shows the day a
user lives, seen with the integration's reactions 36 times slower than they are (harder,
not easier, on every figure but the peak's).

``--window FROM TO SETTLE`` runs only hours FROM-TO of the day (the cars that arrive
before FROM are there from the start), the figures counted after SETTLE minutes (the cars
have started as the rules let them). With ``--day-minutes 1440`` that is a slice of a real
day at its own pace (everything on the real clock, MeterValues every 10 s): what the
integration's reaction really costs, which a time-lapse multiplies by its compression.

Definitions (V = 230 V; per building phase p, at every sample; dt between samples):

- surplus(p) = max(0, PV(p) - other load(p) - Fast cars(p)): what the building would
  export if no car in a solar mode charged, phase by phase as the integration counts it
  (a three-phase car cannot use one phase's surplus without the others).
- solar draw(p) = what the cars in a solar mode (Solar only, Solar + minimum) draw on p;
  absorbed(p) = min(surplus(p), solar draw(p)).
- (1) share of the surplus into solar-mode cars = integral of absorbed / integral of
  surplus, over the day (t >= 0). Target >= 95 % on the clear day. Beside it, the same
  with the three phases netted (as a billing meter counts), for information, and the
  share of the surplus three-phase cars can use at all (three times the lowest phase's:
  a single-phase load leaves surplus on the other two phases that a three-phase car
  cannot take without drawing the grid on the loaded one; every car here is
  three-phase). Beside it, the share missed in the 5 s after a load switched off (the
  integration still reacting: a meter poll, a cycle, a station's reaction) and in the
  rest of the day.
- (2) the sun in a solar car's draw: the surplus goes first to the Solar + minimum cars'
  minimums (the integration counts those as the building's load), the rest is shared in
  proportion to what the Solar only cars and the Solar + minimum cars above their
  minimum draw; the part of a draw the sun does not cover comes from the grid. Figure: the
  grid energy of the Solar only sessions / their energy. Target <= 1 %, judged as the
  building's grid meter counts: phase by phase, or, with a hub told its meter nets the
  phases (``--option grid_nets_phases=1``), on power (one phase's sun covering a draw on
  another, as that meter bills it; every Solar only car's draw in proportion); both are
  printed. Split by whether
  the car drew its minimum (within 0.5 A: held at its minimum while the surplus is short,
  the stop delay) or more (a share above the sun: smoothing, reading age, the sun moving).
- (3) a start: a car's draw rises from 0 to above 0.5 A; a stop: the reverse (while
  plugged in). A stop of a Solar only car is put down to its cause: started again
  within the start delay -> *other* (the solar rules would have waited the start delay:
  the peak limit, the zone, rotation); else by looking at the last stop delay +
  smoothing + 15 s (MeterValues age, a poll, a cycle) before it: a cloud at least as
  long as the stop delay in it -> *long cloud*; else, if another Solar only car started
  within the reaction (a poll, a cycle, a station: 15 s, 6 s in a time-lapse) before or
  after the stop and as many Solar only cars drew a reaction after the stop as a
  reaction before it -> *turn* (the rotation handing the sun over, one car for another:
  a stop for lack of sun leaves fewer cars drawing); else, if the clear-sky
  surplus (the same day without clouds: PV - other load - Fast cars - the Solar +
  minimum cars' minimums) was short of the minimums of the Solar only cars drawing just
  before the stop for at least half of the stop delay -> *no sun* (the sun too low, the
  loads, rotation); else, if a cloud (shorter than the stop delay) was in it -> *short
  cloud*: target 0; else *other* (the peak limit, a load step, rotation). A stop of a
  Solar + minimum car is *other* (its mode keeps its minimum whatever the sun). Beside
  each, what the integration's *Load management* sensor showed (from the recorder).
- (4) fairness: the sun energy of each of the four equal Solar only sessions: min / max,
  spread (max - min) / mean and coefficient of variation. No numeric target.
- (5) the building's import: max(0, sum over phases of (other load + cars - PV)) x V,
  as the grid meter and the integration count it (export counts 0). Per quarter hour of
  the wall clock (:00, :15, :30, :45, as meters bill it, and as the integration follows
  it): the import energy the log holds / the part of the quarter hour the log covers (a
  whole one: 900 s; the first and last of a run are partial: the average so far, which
  the integration keeps under the target too, counting the part before its start at the
  target). Quarter hours covered less than 5 minutes are shown, not judged. Target: never
  above the peak limit, except in a quarter hour where the floor (the building's own
  import plus every Fast and Solar + minimum car plugged in at its minimum: the sessions'
  minimums alone) is above it.

The benchmark checks itself: it exits 2, printing no figure, if the integration never
set up (stations not connected, meters never read) or no car ever charged; 1 if a
target was missed; 0 otherwise.

Run: .venv/bin/python -m benchmarks.solar [--seeds 1 2] [--day-minutes 40]
[--day clear|cloudy|both] [--peak-kw 15] [--time-lapse] [--option KEY=VALUE ...]
[--window FROM TO SETTLE]
[--log DIR] [-v]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
from dataclasses import dataclass
import json
import math
from pathlib import Path
import random
import shutil
import statistics
import sys
import tempfile
import time
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VOLTAGE = 230.0
SAMPLE = 0.1  # s between truth samples (and meter register updates)
STATION_TICK = 1.0  # s, a station's physics step
POLL = 1.0  # s, the meters' poll interval
WARMUP = 10.0  # s after every station connected and both meters were read
CONNECT_WITHIN = 300.0  # s for Home Assistant to start and every station to connect
START_HOUR, END_HOUR = 7.0, 19.0  # the simulated day the run covers
WHOLE_DAY = (START_HOUR, END_HOUR, 0.0)  # a window: first hour, last hour, settling minutes
DEFAULT_DAY_MINUTES = 40.0  # a whole day in 40 real minutes: 7:00-19:00 in 20
KWP = 50.0
HOUSE = (8.0, 8.0, 8.0)  # A per phase, the house at rest
PARK_LIGHTS = (1.0, 1.0, 1.0)  # A per phase, the car park's own load (its DLM meter sees it)
HEAT_PUMP = 3.0  # A on each phase while it runs
ZONE_MAX = 63.0
PARK_SUPPLY = 80.0
GRID_SUPPLY = 100.0
PEAK_KW = 15.0
PARK_UNIT, GRID_UNIT = 1, 2
AT_MIN = 0.5  # A: a draw within this of its minimum is "at its minimum"
DRAWING = 0.5  # A: above this a car draws
TARGET_SHARE = 95.0  # % of the surplus into solar-mode cars (clear day)
TARGET_GRID = 1.0  # % of the Solar only sessions' energy from the grid
REACTION_WINDOW = 5.0  # s after a load switched off: the integration still reacting
JUDGED_COVER = 300.0  # s: shorter parts of a quarter hour are shown, not judged
PHASES = ("L1", "L2", "L3")
WIRINGS = {"L1-L2-L3": (0, 1, 2), "L1": (0,), "L2": (1,), "L3": (2,)}
MODE_NAMES = {"solar": "Solar only", "solar_min": "Solar + minimum", "fast": "Fast"}


def _delays(scale: float = 1.0) -> dict[str, float]:
    """The hub's default solar delays (s), as a user leaves them, divided by ``scale``
    (a time-lapse: whole seconds, as the options take them; at least 1 s)."""
    from custom_components.charge_zones.const import (  # noqa: PLC0415
        DEFAULT_SOLAR_MIN_ON,
        DEFAULT_SOLAR_SMOOTHING,
        DEFAULT_SOLAR_START_DELAY,
        DEFAULT_SOLAR_STOP_DELAY,
    )

    defaults = {
        "start": DEFAULT_SOLAR_START_DELAY,
        "stop": DEFAULT_SOLAR_STOP_DELAY,
        "min_on": DEFAULT_SOLAR_MIN_ON,
        "smoothing": DEFAULT_SOLAR_SMOOTHING,
    }
    if scale == 1.0:
        return {key: float(value) for key, value in defaults.items()}
    return {key: float(max(1, round(value / scale))) for key, value in defaults.items()}


# The options a time-lapse sets (hub option keys), from its scaled delays.
OPTION_KEYS = {
    "start": "solar_start_delay",
    "stop": "solar_stop_delay",
    "min_on": "solar_min_on_time",
    "smoothing": "solar_smoothing",
}
TIME_LAPSE_SAMPLE = 1  # s: a station's MeterValues interval in a time-lapse


@dataclass(frozen=True)
class Station:
    """A station of the car park: its mode, wiring and currents."""

    id: str
    mode: str  # fast | solar_min | solar
    wiring: str
    max_current: float = 16.0
    min_current: float = 6.0
    cohort: bool = False  # one of the equal Solar only stations


STATIONS = (
    Station("SUN-1", "solar", "L1-L2-L3", cohort=True),
    Station("SUN-2", "solar", "L1-L2-L3", cohort=True),
    Station("SUN-3", "solar", "L1-L2-L3", cohort=True),
    Station("SUN-4", "solar", "L1-L2-L3", cohort=True),
    Station("MIN-1", "solar_min", "L1-L2-L3"),
    Station("MIN-2", "solar_min", "L1-L2-L3"),
    Station("FAST-1", "fast", "L1-L2-L3"),
)


def badge_of(station_id: str) -> str:
    """The badge of the car at a station."""
    return f"SUN-BADGE-{station_id}"


# --- the scenario (pure: the same from a seed in both processes) ------------------------


def compression(day_minutes: float) -> float:
    """Simulated seconds per real second."""
    return 1440.0 / day_minutes


def real_seconds(hour: float, day_minutes: float, start_hour: float = START_HOUR) -> float:
    """Real seconds from the run's start (start_hour) to a simulated hour."""
    return (hour - start_hour) * 3600.0 / compression(day_minutes)


def plant(spec: dict[str, Any]) -> Any:
    """The roof PV of a scenario (simulator.solar.SolarPlant)."""
    from simulator.solar import SolarPlant  # noqa: PLC0415

    return SolarPlant(
        KWP,
        phases="l1-l2-l3",
        day=spec["day"],
        seed=spec["seed"],
        day_minutes=spec["day_minutes"],
        start_hour=spec["hours"][0],
        cloud_scale=spec.get("cloud_scale", 1.0),
    )


def scenario(
    seed: int,
    day: str,
    day_minutes: float,
    peak_kw: float,
    time_lapse: bool = False,
    window: tuple[float, float, float] | None = None,
) -> dict[str, Any]:
    """Everything that happens in one run, from a seed (JSON-able). The same seed gives
    the same cars and loads on both days; the clouds are the cloudy day's (seeded too).

    A time-lapse runs the loads, the clouds and the integration's solar delays as fast as
    the sun (the stations' MeterValues every second); otherwise they keep the real clock.
    window: (first hour, last hour, settling minutes): only that part of the day (the
    cars that arrive before it are there from its start), the figures from the end of the
    settling minutes (the cars have started as the rules let them).
    """
    from custom_components.charge_zones.const import (  # noqa: PLC0415
        DEFAULT_RAISE_HOLD,
        DEFAULT_ROTATION_PERIOD,
    )

    rng = random.Random(seed)
    # real seconds per scenario second for what is not the sun
    scale = 1.0 / compression(day_minutes) if time_lapse else 1.0
    first, last, settle = window or WHOLE_DAY
    duration = real_seconds(last, day_minutes, first)
    cohort_at = max(0.0, real_seconds(rng.uniform(7.5, 8.0), day_minutes, first))
    arrivals = {
        "MIN-1": rng.uniform(7.0, 7.25),
        "MIN-2": rng.uniform(7.25, 7.75),
        "FAST-1": rng.uniform(7.0, 8.25),
    }
    cars = []
    for station in STATIONS:
        at = (
            cohort_at
            if station.cohort
            else max(0.0, real_seconds(arrivals[station.id], day_minutes, first))
        )
        cars.append(
            {
                "station": station.id,
                "at": round(at, 1),
                "battery_kwh": 60.0,
                "soc": 0.2,
                "max_current": station.max_current,
                "phases": len(WIRINGS[station.wiring]),
            }
        )
    # The loads nobody controls, on the real clock: (start, end, A per phase).
    loads: list[tuple[float, float, list[float]]] = []
    t = rng.uniform(0.0, 200.0) * scale
    while t < duration:
        on = rng.uniform(180.0, 480.0) * scale
        loads.append((round(t, 1), round(t + on, 1), [HEAT_PUMP] * 3))
        t += on + rng.uniform(240.0, 720.0) * scale
    t = rng.uniform(30.0, 180.0) * scale
    while t < duration:
        phase = rng.randrange(3)
        amps = [0.0, 0.0, 0.0]
        amps[phase] = round(rng.uniform(3.0, 6.0), 1)
        loads.append((round(t, 1), round(t + rng.uniform(30.0, 300.0) * scale, 1), amps))
        t += rng.uniform(90.0, 300.0) * scale
    return {
        "time_lapse": time_lapse,
        "cloud_scale": scale,
        "delays": _delays(1.0 / scale),
        # MeterValues interval (s), and what reaches the integration within it: a
        # meter poll and a cycle
        "sample_interval": TIME_LAPSE_SAMPLE if time_lapse else 10,
        # the hub's rotation period (min): 15, or as fast as the sun (at least 1)
        "rotation_minutes": (
            max(1, round(DEFAULT_ROTATION_PERIOD * scale))
            if time_lapse
            else DEFAULT_ROTATION_PERIOD
        ),
        # the hub's raise hold (s), or as fast as the sun (at least 1)
        "raise_hold": (
            max(1.0, float(round(DEFAULT_RAISE_HOLD * scale))) if time_lapse else DEFAULT_RAISE_HOLD
        ),
        "reaction": (TIME_LAPSE_SAMPLE if time_lapse else 10) + 5.0,
        "seed": seed,
        "day": day,
        "day_minutes": day_minutes,
        "duration": duration,
        "hours": (first, last),
        # real s from the run's start: the figures count from here
        "measure_from": settle * 60.0,
        "peak_kw": peak_kw,
        "cars": cars,
        "loads": loads,
        "stations": [vars(s) for s in STATIONS],
    }


def other_load(spec: dict[str, Any], t: float | None) -> list[float]:
    """The building's other load per phase (A) at day time t (None: before the day)."""
    values = [HOUSE[p] + PARK_LIGHTS[p] for p in range(3)]
    if t is None:
        return values
    for start, end, amps in spec["loads"]:
        if start <= t < end:
            for p in range(3):
                values[p] += amps[p]
    return values


def clouds(spec: dict[str, Any]) -> list[dict[str, float]]:
    """The clouds of the run (real seconds from the day's start)."""
    pv = plant(spec)
    if pv.clouds is None:
        return []
    return [
        {"start": c.start, "end": c.end, "duration": c.duration, "depth": c.depth}
        for c in pv.clouds.clouds(spec["duration"])
        if c.start < spec["duration"]
    ]


# --- the building (the worker process) --------------------------------------------------


class _Building:
    """The physics: PV, loads, meters, stations, cars, and the truth log."""

    def __init__(self, spec: dict[str, Any], ocpp_port: int, modbus_port: int) -> None:
        self.spec = spec
        self.url = f"ws://127.0.0.1:{ocpp_port}"
        self.modbus_port = modbus_port
        self.plant = plant(spec)
        self.meter: Any = None
        self.chargers: dict[str, Any] = {}
        self.t0: float | None = None
        self.t0_epoch: float | None = None
        self.rows: list[list[float]] = []
        self.sessions: list[dict[str, Any]] = []
        self.error: str | None = None
        self.import_wh = 0.0
        self.export_wh = 0.0
        self._net_w = 0.0
        self._last: float | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        from simulator.charger import SimulatedCharger  # noqa: PLC0415
        from simulator.meter import SimulatedMeter  # noqa: PLC0415

        self.meter = SimulatedMeter("sdm630", unit=PARK_UNIT)
        self.meter.add_unit("sdm630", GRID_UNIT)
        self._sample(asyncio.get_running_loop().time())
        await self.meter.start("127.0.0.1", self.modbus_port)
        for station in STATIONS:
            self.chargers[station.id] = SimulatedCharger(
                self.url,
                station.id,
                wiring=station.wiring,
                max_current=station.max_current,
                tick=STATION_TICK,
            )
        await asyncio.gather(*(c.start(wait=False) for c in self.chargers.values()))
        self._tasks.append(asyncio.create_task(self._physics()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(c.stop() for c in self.chargers.values()))
        if self.meter is not None:
            await self.meter.stop()

    async def _physics(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += SAMPLE
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            self._sample(loop.time())

    def _sample(self, now: float) -> None:
        """Set the meters from the truth now, and log it."""
        t = None if self.t0 is None else now - self.t0
        day_t = 0.0 if t is None else max(0.0, t)
        pv = self.plant.phase_powers(day_t)
        clear = self.plant.clear_power(self.plant.hour(day_t))
        base = other_load(self.spec, t)
        draws = []
        cars = [0.0, 0.0, 0.0]
        for station in STATIONS:
            charger = self.chargers.get(station.id)
            draws.append(0.0 if charger is None else float(charger.points[1].current))
            if charger is not None:
                for p, amps in enumerate(charger.grid_currents()):
                    cars[p] += amps
        park = [PARK_LIGHTS[p] + cars[p] for p in range(3)]
        net = [base[p] + cars[p] - pv[p] / VOLTAGE for p in range(3)]
        # the grid meter's counters: the net power since the last sample
        if self._last is not None:
            energy = self._net_w * (now - self._last) / 3600.0
            if energy > 0:
                self.import_wh += energy
            else:
                self.export_wh -= energy
        self._last, self._net_w = now, sum(net) * VOLTAGE
        units = self.meter.units
        units[PARK_UNIT].set_currents(*park)
        units[GRID_UNIT].set_flows(*net)
        units[GRID_UNIT].set_energy(self.import_wh, self.export_wh)
        self.rows.append([now, time.time(), *pv, *base, clear, *draws])

    def _reads(self) -> dict[str, int]:
        units = self.meter.units
        return {"park": len(units[PARK_UNIT].requests), "grid": len(units[GRID_UNIT].requests)}

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONNECT_WITHIN
        while not all(c.connected.is_set() for c in self.chargers.values()):
            if loop.time() > deadline:
                missing = [i for i, c in self.chargers.items() if not c.connected.is_set()]
                self.error = f"stations never connected: {', '.join(missing)}"
                return
            await asyncio.sleep(0.2)
        deadline = loop.time() + 60.0
        while not all(self._reads().values()):
            if loop.time() > deadline:
                self.error = f"the integration did not read both meters: {self._reads()} reads"
                return
            await asyncio.sleep(0.2)
        await asyncio.sleep(WARMUP)
        self.t0, self.t0_epoch = loop.time(), time.time()
        print(f"t0 {self.t0}", flush=True)
        for car in self.spec["cars"]:
            self._tasks.append(asyncio.create_task(self._car(car)))
        await asyncio.sleep(self.spec["duration"])

    async def _car(self, spec: dict[str, Any]) -> None:
        from simulator.charger import Car  # noqa: PLC0415

        loop = asyncio.get_running_loop()
        assert self.t0 is not None
        await asyncio.sleep(max(0.0, self.t0 + spec["at"] - loop.time()))
        charger = self.chargers[spec["station"]]
        car = Car(
            battery_kwh=spec["battery_kwh"],
            soc=spec["soc"],
            max_current=spec["max_current"],
            phases=spec["phases"],
        )
        plugged = loop.time() - self.t0
        session = {"station": spec["station"], "plugged": plugged, "accepted": False}
        self.sessions.append(session)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(charger.connected.wait(), 30)
        session["accepted"] = bool(await charger.plug(car, badge_of(spec["station"])))
        session["started"] = loop.time() - self.t0

    def truth(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "t0": self.t0,
            "t0_epoch": self.t0_epoch,
            "rows": self.rows,
            "sessions": self.sessions,
            "boots": {i: c.boots for i, c in self.chargers.items()},
            "reads": self._reads() if self.meter is not None else {},
            "import_wh": self.import_wh,
            "export_wh": self.export_wh,
        }


async def _worker(ocpp_port: int, modbus_port: int) -> dict[str, Any]:
    spec = json.loads(sys.stdin.readline())
    building = _Building(spec, ocpp_port, modbus_port)
    await building.start()
    print("ready", flush=True)
    try:
        await building.run()
    finally:
        await building.stop()
    return building.truth()


# --- the Home Assistant side --------------------------------------------------------------


def subentries(spec: dict[str, Any], modbus_port: int) -> list[dict[str, Any]]:
    """The hub's subentries for the building, as an installer would configure it."""
    subs: list[dict[str, Any]] = [
        {
            "data": {"tag": badge_of(s["id"]), "holder": s["id"].title(), "status": "active"},
            "subentry_id": f"badge_{s['id'].lower()}",
            "subentry_type": "badge",
            "title": badge_of(s["id"]),
            "unique_id": f"badge {badge_of(s['id'])}",
        }
        for s in spec["stations"]
    ]
    subs.append(
        {
            "data": {
                "name": "Gateway",
                "kind": "tcp",
                "host": "127.0.0.1",
                "port": modbus_port,
                "timeout": 1.0,
            },
            "subentry_id": "conn_gw",
            "subentry_type": "connection",
            "title": "Gateway",
            "unique_id": f"connection tcp 127.0.0.1:{modbus_port}",
        }
    )
    for key, name, unit, amperage, grid in (
        ("meter_park", "Car park supply", PARK_UNIT, PARK_SUPPLY, False),
        ("meter_grid", "Grid connection", GRID_UNIT, GRID_SUPPLY, True),
    ):
        data: dict[str, Any] = {
            "name": name,
            "connection": "conn_gw",
            "unit": unit,
            "meter_model": "sdm630",
            "amperage": amperage,
            "poll_interval": POLL,
        }
        if grid:
            data["grid_connection"] = True
        subs.append(
            {
                "data": data,
                "subentry_id": key,
                "subentry_type": "meter",
                "title": name,
                "unique_id": f"meter conn_gw {unit}",
            }
        )
    subs.append(
        {
            "data": {
                "name": "Car park",
                "max_current": ZONE_MAX,
                "zone_phases": "l1-l2-l3",
                "dlm_meters": ["meter_park"],
                "failsafe_current": 6.0,
                "stale_after": 10.0,
            },
            "subentry_id": "zone_park",
            "subentry_type": "zone",
            "title": "Car park",
            "unique_id": "zone car park",
        }
    )
    subs.extend(
        {
            "data": {
                "station_id": s["id"],
                "model": "standard",
                "connectors": 1,
                "phases": s["wiring"].lower(),
                "min_current": s["min_current"],
                "max_current": s["max_current"],
                "zone": "zone_park",
                "charging_mode": s["mode"],
            },
            "subentry_id": f"st_{s['id'].lower()}",
            "subentry_type": "station",
            "title": s["id"],
            "unique_id": s["id"],
        }
        for s in spec["stations"]
    )
    return subs


def write_hub(
    config_dir: Path, ocpp_port: int, modbus_port: int, spec: dict[str, Any], verbose: bool
) -> None:
    """A configuration directory (hass_process.write_config) holding this building's hub."""
    from pytest_homeassistant_custom_component.common import MockConfigEntry  # noqa: PLC0415

    from benchmarks.hass_process import write_config  # noqa: PLC0415

    options: dict[str, Any] = {"peak_limit": spec["peak_kw"]} if spec["peak_kw"] > 0 else {}
    if spec["time_lapse"]:
        options |= {OPTION_KEYS[key]: int(value) for key, value in spec["delays"].items()}
        options["meter_value_sample_interval"] = spec["sample_interval"]
        options["rotation_period"] = spec["rotation_minutes"]
        options["raise_hold"] = spec["raise_hold"]
    options |= spec.get("options", {})
    write_config(config_dir, ocpp_port, [], options=options)
    entry = MockConfigEntry(
        domain="charge_zones",
        title=f"Charge Zones (port {ocpp_port})",
        data={"host": "127.0.0.1", "port": ocpp_port},
        options=options,
        subentries_data=subentries(spec, modbus_port),
    )
    stored = config_dir / ".storage" / "core.config_entries"
    content = json.loads(stored.read_text(encoding="utf-8"))
    content["data"]["entries"] = [entry.as_dict()]
    stored.write_text(json.dumps(content, default=str), encoding="utf-8")
    if verbose:
        yaml = config_dir / "configuration.yaml"
        yaml.write_text(
            yaml.read_text(encoding="utf-8").replace(
                "logger:\n  default: warning\n",
                "logger:\n  default: warning\n  logs:\n    custom_components.charge_zones: info\n",
            ),
            encoding="utf-8",
        )


async def run_day(spec: dict[str, Any], verbose: bool, log: Path | None) -> dict[str, Any]:
    """One day: Home Assistant and the building in their processes; the analysis."""
    from benchmarks.hass_process import HassProcess, free_port  # noqa: PLC0415

    tmp = Path(tempfile.mkdtemp(prefix=f"cz-solar-{spec['day']}-{spec['seed']}-"))
    config_dir = tmp / "config"
    ocpp_port, modbus_port = free_port(), free_port()
    write_hub(config_dir, ocpp_port, modbus_port, spec, verbose)
    truth_path = tmp / "truth.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.solar",
        "--worker",
        json.dumps({"ocpp": ocpp_port, "modbus": modbus_port, "truth": str(truth_path)}),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    hass = HassProcess(config_dir, ocpp_port)
    failure: str | None = None
    warnings: list[str] = []
    try:
        proc.stdin.write((json.dumps(spec) + "\n").encode())
        await proc.stdin.drain()
        if (await proc.stdout.readline()).strip() != b"ready":
            raise RuntimeError("the building process did not start")
        try:
            started = await hass.start(within=CONNECT_WITHIN)
            print(f"  Home Assistant's OCPP server up after {started:.1f} s", flush=True)
        except (RuntimeError, TimeoutError) as err:
            failure = f"Home Assistant did not set the hub up: {err}"
        if failure is None:
            out = await asyncio.wait_for(
                proc.stdout.read(), timeout=spec["duration"] + CONNECT_WITHIN + 300.0
            )
            if "done" not in out.decode().split():
                failure = "the building process failed (see its error above)"
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await proc.wait()
        hass.stop()
        if hass.log.exists():
            # the integration's own lines (not the loader's notice of a custom integration)
            warnings = [w for w in hass.warnings() if "homeassistant.loader" not in w]
    truth, said = _collect(spec, tmp, hass.log, log, verbose)
    if truth is not None and failure is None and truth["error"]:
        failure = f"the integration never set up: {truth['error']}"
    if failure is not None or truth is None:
        return {"spec": spec, "failure": failure or "no truth log", "warnings": warnings}
    result = analyse(spec, truth)
    result["warnings"] = warnings
    for stop in result["stops"]:
        stop["said"] = _said_at(said.get(stop["station"], []), truth["t0_epoch"] + stop["at"])
    return result


def _collect(
    spec: dict[str, Any], tmp: Path, hass_log: Path, log: Path | None, verbose: bool
) -> tuple[dict[str, Any] | None, dict[str, list[tuple[float, str]]]]:
    """The truth log of a run and what the integration said (the recorder's history of
    each station's *Load management* sensor: only to explain a stop, never a figure);
    kept with Home Assistant's log in ``log`` if asked."""
    truth_path = tmp / "truth.json"
    truth = json.loads(truth_path.read_text(encoding="utf-8")) if truth_path.exists() else None
    said = _recorded_reasons(tmp / "config" / "home-assistant_v2.db")
    if log is not None:
        log.mkdir(parents=True, exist_ok=True)
        stem = f"solar-{spec['day']}-seed{spec['seed']}"
        if truth is not None:
            (log / f"{stem}.json").write_text(
                json.dumps({"spec": spec, "truth": truth}), encoding="utf-8"
            )
        if hass_log.exists():
            shutil.copy(hass_log, log / f"{stem}-hass.log")
    if verbose:
        print(f"  (configuration and Home Assistant's log kept in {tmp / 'config'})")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return truth, said


def _recorded_reasons(database: Path) -> dict[str, list[tuple[float, str]]]:
    """Per station: (epoch, its *Load management* state [limited by]) as recorded."""
    import sqlite3  # noqa: PLC0415

    if not database.exists():
        return {}
    slugs = {s.id.lower().replace("-", "_"): s.id for s in STATIONS}
    result: dict[str, list[tuple[float, str]]] = {}
    with contextlib.closing(sqlite3.connect(database)) as db:
        try:
            rows = db.execute(
                "SELECT m.entity_id, s.state, s.last_updated_ts, a.shared_attrs FROM states s "
                "JOIN states_meta m ON s.metadata_id = m.metadata_id "
                "LEFT JOIN state_attributes a ON s.attributes_id = a.attributes_id "
                "WHERE m.entity_id LIKE 'sensor.%_load_management' ORDER BY s.last_updated_ts"
            ).fetchall()
        except sqlite3.Error:
            return {}
    for entity_id, state, at, attrs in rows:
        station = slugs.get(entity_id.removeprefix("sensor.").removesuffix("_load_management"))
        if station is None or at is None:
            continue
        limited = (json.loads(attrs) if attrs else {}).get("limited_by")
        result.setdefault(station, []).append(
            (float(at), f"{state} [{limited}]" if limited else str(state))
        )
    return result


def _said_at(history: list[tuple[float, str]], epoch: float) -> str | None:
    """What the integration showed for a station at a moment (its latest state then)."""
    said = None
    for at, state in history:
        if at > epoch + 0.2:
            break
        said = state
    return said


# --- the analysis ---------------------------------------------------------------------


def _stations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [s | {"phases": WIRINGS[s["wiring"]]} for s in spec["stations"]]


def analyse(spec: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
    """The five figures from the truth log."""
    stations = _stations(spec)
    n = len(stations)
    t0 = truth["t0"]
    rows = truth["rows"]
    accepted = {
        s["station"]: s.get("started", s["plugged"]) for s in truth["sessions"] if s["accepted"]
    }
    delays = spec["delays"]
    reaction = spec["reaction"]
    measure_from = spec.get("measure_from", 0.0)
    cloud_list = clouds(spec)
    result: dict[str, Any] = {"spec": spec, "failure": None, "clouds": cloud_list}
    result["boots"] = truth["boots"]
    result["reads"] = truth["reads"]
    result["accepted"] = sorted(accepted)
    # per station: energy, sun, grid at / above its minimum (Wh), starts, stops
    per: dict[str, dict[str, Any]] = {
        s["id"]: {
            "energy": 0.0,
            "sun": 0.0,
            "grid_at_min": 0.0,
            "grid_above": 0.0,
            "grid_beyond": 0.0,
            "grid_net": 0.0,
            "starts": [],
            "stops": [],
        }
        for s in stations
    }
    surplus_wh = absorbed_wh = net_surplus_wh = net_absorbed_wh = 0.0
    usable_wh = 0.0  # three times the lowest phase's surplus: what three-phase cars can use
    # Missed surplus within REACTION_WINDOW after a load switched off (the reaction to it:
    # a poll, a cycle, a station) and at other times.
    offs = sorted(end for _start, end, _amps in spec["loads"])
    missed_after_off = missed_other = surplus_after_off = 0.0
    drawing = [False] * n
    short_since: list[float | None] = [None] * n
    allowed = delays["stop"] + delays["smoothing"] + reaction
    largest_gap = 0.0
    quarters: dict[int, dict[str, float]] = {}
    day_rows: list[tuple[float, list[float], list[float], float]] = []
    for i, row in enumerate(rows):
        t = row[0] - t0
        dt = rows[i + 1][0] - row[0] if i + 1 < len(rows) else 0.0
        largest_gap = max(largest_gap, dt)
        epoch = row[1]
        pv = [w / VOLTAGE for w in row[2:5]]
        base = row[5:8]
        clear = row[8] / VOLTAGE / 3
        draws = row[9 : 9 + n]
        on_phase = [[0.0] * 3 for _ in range(n)]
        cars = [0.0, 0.0, 0.0]
        for k, s in enumerate(stations):
            for p in s["phases"]:
                on_phase[k][p] = draws[k]
                cars[p] += draws[k]
        # (5) the import, per wall-clock quarter hour, and its floor
        floor_mins = [0.0, 0.0, 0.0]
        for s in stations:
            if s["mode"] != "solar" and s["id"] in accepted and t >= accepted[s["id"]]:
                for p in s["phases"]:
                    floor_mins[p] += s["min_current"]
        quarter = quarters.setdefault(
            math.floor(epoch / 900.0), {"energy": 0.0, "covered": 0.0, "floor": 0.0, "alone": 0.0}
        )
        imported = max(0.0, sum(base[p] + cars[p] - pv[p] for p in range(3))) * VOLTAGE
        alone = max(0.0, sum(base[p] - pv[p] for p in range(3))) * VOLTAGE
        floor = max(0.0, sum(base[p] + floor_mins[p] - pv[p] for p in range(3))) * VOLTAGE
        quarter["energy"] += imported * dt
        quarter["alone"] += alone * dt
        quarter["floor"] += floor * dt
        quarter["covered"] += dt
        if t < 0:
            continue
        if t < measure_from:  # settling: where each car stands, nothing counted
            drawing = [draws[k] > DRAWING for k in range(n)]
            continue
        # (3) starts and stops
        for k, s in enumerate(stations):
            now_drawing = draws[k] > DRAWING
            if now_drawing != drawing[k]:
                per[s["id"]]["starts" if now_drawing else "stops"].append(t)
                drawing[k] = now_drawing
        # (1), (2): the surplus and where it went
        net_avail = 0.0
        net_solar = 0.0
        from_grid = [0.0] * n  # Wh each car drew from the grid in this sample
        fast_phase = [0.0, 0.0, 0.0]
        mins_phase = [0.0, 0.0, 0.0]
        for p in range(3):
            fast = sum(on_phase[k][p] for k, s in enumerate(stations) if s["mode"] == "fast")
            fast_phase[p] = fast
            avail = max(0.0, pv[p] - base[p] - fast)
            net_avail += pv[p] - base[p] - fast
            mins = sum(
                min(on_phase[k][p], s["min_current"])
                for k, s in enumerate(stations)
                if s["mode"] == "solar_min"
            )
            mins_phase[p] = mins
            solar = sum(on_phase[k][p] for k, s in enumerate(stations) if s["mode"] != "fast")
            net_solar += solar
            surplus_wh += avail * VOLTAGE * dt / 3600.0
            absorbed_wh += min(avail, solar) * VOLTAGE * dt / 3600.0
            missed = max(0.0, avail - solar) * VOLTAGE * dt / 3600.0
            last_off = bisect.bisect_right(offs, t)
            if last_off and t - offs[last_off - 1] < REACTION_WINDOW:
                missed_after_off += missed
                surplus_after_off += avail * VOLTAGE * dt / 3600.0
            else:
                missed_other += missed
            sun_mins = min(mins, avail)
            extra = solar - mins
            sun_extra = min(extra, avail - sun_mins)
            for k, s in enumerate(stations):
                draw = on_phase[k][p]
                if draw <= 0 or s["mode"] == "fast":
                    if draw > 0:
                        per[s["id"]]["energy"] += draw * VOLTAGE * dt / 3600.0
                    continue
                base_part = min(draw, s["min_current"]) if s["mode"] == "solar_min" else 0.0
                sun = 0.0
                if base_part > 0 and mins > 0:
                    sun += sun_mins * base_part / mins
                if draw - base_part > 0 and extra > 0:
                    sun += sun_extra * (draw - base_part) / extra
                figures = per[s["id"]]
                figures["energy"] += draw * VOLTAGE * dt / 3600.0
                figures["sun"] += sun * VOLTAGE * dt / 3600.0
                grid = (draw - sun) * VOLTAGE * dt / 3600.0
                if draw - sun > 0.1:
                    from_grid[k] += grid
                if draw <= s["min_current"] + AT_MIN:
                    figures["grid_at_min"] += grid
                else:
                    figures["grid_above"] += grid
        # Grid energy the rules do not allow a Solar only car: beyond the stop delay (with
        # smoothing and reaction) of a shortage, and past its minimum on-time.
        for k, s in enumerate(stations):
            if s["mode"] != "solar" or from_grid[k] <= 0:
                short_since[k] = None
                continue
            if short_since[k] is None:
                short_since[k] = t
            starts = per[s["id"]]["starts"]
            on_since = starts[-1] if starts else t
            if t - short_since[k] > allowed and t - on_since > delays["min_on"] + reaction:
                per[s["id"]]["grid_beyond"] += from_grid[k]
        usable_wh += (
            3
            * min(max(0.0, pv[p] - base[p] - fast_phase[p]) for p in range(3))
            * VOLTAGE
            * dt
            / 3600.0
        )
        net_avail = max(0.0, net_avail)
        # (2) netted: the same share on power, the three phases counted together (as a
        # netting meter bills it): the Solar + minimum cars' minimums first, then the
        # rest in proportion to the draws above them.
        net_mins = sum(mins_phase)
        net_extra = net_solar - net_mins
        net_sun_extra = min(net_extra, net_avail - min(net_mins, net_avail))
        for k, s in enumerate(stations):
            if s["mode"] != "solar" or (draw_all := sum(on_phase[k])) <= 0:
                continue
            sun_all = net_sun_extra * draw_all / net_extra if net_extra > 0 else 0.0
            per[s["id"]]["grid_net"] += max(0.0, draw_all - sun_all) * VOLTAGE * dt / 3600.0
        net_surplus_wh += net_avail * VOLTAGE * dt / 3600.0
        net_absorbed_wh += min(net_avail, net_solar) * VOLTAGE * dt / 3600.0
        clear_room = [clear - base[p] - fast_phase[p] - mins_phase[p] for p in range(3)]
        day_rows.append((t, list(draws), clear_room, dt))
    result["largest_gap"] = largest_gap
    result["surplus_kwh"] = surplus_wh / 1000.0
    result["share"] = 100.0 * absorbed_wh / surplus_wh if surplus_wh > 0 else math.nan
    # the share of the surplus missed in each, and the share of the surplus each holds
    result["missed_after_off"] = (
        100.0 * missed_after_off / surplus_after_off if surplus_after_off > 0 else math.nan
    )
    other_wh = surplus_wh - surplus_after_off
    result["missed_other"] = 100.0 * missed_other / other_wh if other_wh > 0 else math.nan
    result["after_off_share"] = (
        100.0 * surplus_after_off / surplus_wh if surplus_wh > 0 else math.nan
    )
    result["net_share"] = (
        100.0 * net_absorbed_wh / net_surplus_wh if net_surplus_wh > 0 else math.nan
    )
    result["usable_share"] = 100.0 * usable_wh / surplus_wh if surplus_wh > 0 else math.nan
    result["per"] = per
    result["charged"] = any(figures["energy"] > 0 for figures in per.values())
    solar_only = [s for s in stations if s["mode"] == "solar"]
    energy = sum(per[s["id"]]["energy"] for s in solar_only)
    at_min = sum(per[s["id"]]["grid_at_min"] for s in solar_only)
    above = sum(per[s["id"]]["grid_above"] for s in solar_only)
    result["solar_only"] = {
        "energy_kwh": energy / 1000.0,
        "grid_kwh": (at_min + above) / 1000.0,
        "at_min_kwh": at_min / 1000.0,
        "above_kwh": above / 1000.0,
        "beyond_kwh": sum(per[s["id"]]["grid_beyond"] for s in solar_only) / 1000.0,
        "grid_pct": 100.0 * (at_min + above) / energy if energy > 0 else math.nan,
        "grid_net_pct": (
            100.0 * sum(per[s["id"]]["grid_net"] for s in solar_only) / energy
            if energy > 0
            else math.nan
        ),
    }
    result["stops"] = _stop_causes(stations, per, day_rows, cloud_list, delays, reaction)
    cohort = [per[s["id"]]["sun"] / 1000.0 for s in stations if s["cohort"]]
    mean = statistics.fmean(cohort) if cohort else math.nan
    result["fairness"] = {
        "sun_kwh": cohort,
        "spread": (max(cohort) - min(cohort)) / mean if cohort and mean > 0 else math.nan,
        "cv": statistics.pstdev(cohort) / mean if cohort and mean > 0 else math.nan,
    }
    result["quarters"] = [
        {
            "start": key * 900.0,
            "covered": q["covered"],
            "average_kw": q["energy"] / q["covered"] / 1000.0,
            "floor_kw": q["floor"] / q["covered"] / 1000.0,
            "alone_kw": q["alone"] / q["covered"] / 1000.0,
        }
        for key, q in sorted(quarters.items())
        if q["covered"] > 0
    ]
    result["delays"] = delays
    return result


def _stop_causes(
    stations: list[dict[str, Any]],
    per: dict[str, dict[str, Any]],
    day_rows: list[tuple[float, list[float], list[float], float]],
    cloud_list: list[dict[str, float]],
    delays: dict[str, float],
    reaction: float,
) -> list[dict[str, Any]]:
    """Every stop of a solar-mode car, with its cause (see the module's docstring)."""
    stop_delay = delays["stop"]
    lookback = stop_delay + delays["smoothing"] + reaction
    times = [row[0] for row in day_rows]
    causes = []
    for s in stations:
        if s["mode"] == "fast":
            continue
        for ts in per[s["id"]]["stops"]:
            seen = [c for c in cloud_list if c["end"] > ts - lookback and c["start"] < ts]
            index = max(0, _index(times, ts) - 1)
            before = day_rows[index][1]
            need = [0.0, 0.0, 0.0]
            for j, other in enumerate(stations):
                if other["mode"] == "solar" and before[j] > DRAWING:
                    for p in other["phases"]:
                        need[p] += other["min_current"]
            short = total = 0.0
            for t, _draws, clear_room, dt in day_rows[_index(times, ts - stop_delay) :]:
                if t >= ts:
                    break
                total += dt
                if any(clear_room[p] < need[p] for p in range(3)):
                    short += dt
            restart = next((t for t in per[s["id"]]["starts"] if t > ts), None)
            if s["mode"] != "solar":
                cause = "other"  # a minimum always: not the sun's doing (the peak limit)
            elif restart is not None and restart - ts < delays["start"]:
                # back before a start delay could have passed: not stopped by the solar
                # rules (the peak limit, the zone, rotation)
                cause = "other"
            elif any(c["duration"] >= stop_delay for c in seen):
                cause = "long cloud"
            elif _drawing(stations, day_rows, times, ts + reaction) >= _drawing(
                stations, day_rows, times, ts - reaction
            ) and any(
                abs(start - ts) <= reaction
                for other in stations
                if other["mode"] == "solar" and other["id"] != s["id"]
                for start in per[other["id"]]["starts"]
            ):
                cause = "turn"
            elif total > 0 and short >= total / 2:
                cause = "no sun"
            elif seen:
                cause = "short cloud"
            else:
                cause = "other"
            causes.append(
                {
                    "station": s["id"],
                    "mode": s["mode"],
                    "at": ts,
                    "cause": cause,
                    "clouds": seen,
                    "clear_short_s": short,
                    "restart": restart,
                }
            )
    return causes


def _drawing(
    stations: list[dict[str, Any]],
    day_rows: list[tuple[float, list[float], list[float], float]],
    times: list[float],
    t: float,
) -> int:
    """How many Solar only cars drew at time t."""
    draws = day_rows[min(_index(times, t), len(day_rows) - 1)][1]
    return sum(1 for k, s in enumerate(stations) if s["mode"] == "solar" and draws[k] > DRAWING)


def _index(times: list[float], t: float) -> int:
    """The first index whose time is >= t."""
    from bisect import bisect_left  # noqa: PLC0415

    return bisect_left(times, t)


# --- the report -------------------------------------------------------------------------


def _clock(epoch: float) -> str:
    return time.strftime("%H:%M", time.localtime(epoch))


def _hour(spec: dict[str, Any], t: float) -> str:
    minutes = round(plant(spec).hour(t) * 60)
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def _hhmm(hour: float) -> str:
    minutes = round(hour * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def describe(spec: dict[str, Any]) -> list[str]:
    """The run: its day, the compression, cars, loads and clouds."""
    c = compression(spec["day_minutes"])
    delays = spec["delays"]
    if spec["time_lapse"]:
        clock = (
            f"a time-lapse: the sun, clouds, loads and the integration's solar delays "
            f"{c:.0f}x faster than in reality, the stations' MeterValues every "
            f"{spec['sample_interval']:g} s, the raise hold {spec['raise_hold']:g} s, the "
            f"rotation period {spec['rotation_minutes']} min, the meters polled every {POLL:g} s, the peak limit's quarter hours on the "
            "real clock"
        )
        origin = f"the hub's defaults / {c:.0f}"
    elif c == 1:
        clock = "at the pace of a real day: the sun, clouds, loads and the integration on the real clock"
        origin = "hub defaults"
    else:
        clock = (
            f"the sun moves {c:.0f}x faster than in reality; clouds, loads and the "
            f"integration's delays on the real clock: stop delay {delays['stop']:g} s = "
            f"{delays['stop'] * c / 3600:.1f} simulated hours of sun"
        )
        origin = "hub defaults"
    first, last = spec["hours"]
    lines = [
        f"{spec['day']} day {_hhmm(first)}-{_hhmm(last)} in "
        f"{spec['duration'] / 60:.1f} real minutes (a day in {spec['day_minutes']:g} real "
        f"minutes: {clock})"
        + (
            f"; the figures from {spec['measure_from'] / 60:g} real minutes in (the cars settled)"
            if spec.get("measure_from")
            else ""
        ),
        f"PV {KWP:g} kWp three-phase; peak limit "
        + (f"{spec['peak_kw']:g} kW" if spec["peak_kw"] > 0 else "none")
        + f"; solar delays start {delays['start']:g} s, stop {delays['stop']:g} s, "
        f"minimum on-time {delays['min_on']:g} s, smoothing {delays['smoothing']:g} s "
        f"({origin})",
        "cars (real s from the day's start, simulated time): "
        + ", ".join(
            f"{car['station']} {car['at']:.0f} s ({_hour(spec, car['at'])})" for car in spec["cars"]
        ),
        f"loads nobody controls: {len(spec['loads'])} switchings (heat pump +{HEAT_PUMP:g} A "
        "a phase, single-phase appliances +3..6 A)",
    ]
    if spec.get("options"):
        lines.append(
            "hub options set (--option): "
            + ", ".join(f"{key} {value:g}" for key, value in spec["options"].items())
        )
    cloud_list = clouds(spec)
    if spec["day"] == "cloudy":
        short = sum(1 for cl in cloud_list if cl["duration"] < delays["stop"])
        lines.append(
            f"clouds: {len(cloud_list)} ({short} shorter than the stop delay), real s from "
            "the day's start: "
            + ", ".join(
                f"{cl['start']:.0f}-{cl['end']:.0f} ({cl['duration']:.0f} s, "
                f"{cl['depth'] * 100:.0f} %)"
                for cl in cloud_list
            )
        )
    return lines


def _ok(good: bool) -> str:
    return "OK" if good else "MISSED"


def report(result: dict[str, Any], verbose: bool) -> tuple[list[str], bool]:
    """The lines printed for one run, and whether every target was met."""
    spec = result["spec"]
    lines: list[str] = []
    met = True
    boots = result["boots"]
    lines.append(
        f"integration: {sum(1 for b in boots.values() if b)}/{len(boots)} stations booted, "
        f"{len(result['accepted'])}/{len(boots)} sessions accepted, meters read "
        f"{result['reads'].get('park', 0)} / {result['reads'].get('grid', 0)} times "
        f"(car park / grid); {len(result['warnings'])} warnings or errors in its log; "
        f"largest gap between truth samples {result['largest_gap']:.2f} s"
    )
    distinct = list(dict.fromkeys(w.split(" ", 3)[-1] for w in result["warnings"]))
    lines.extend(f"    {line[:300]}" for line in distinct[: None if verbose else 5])
    clear_day = spec["day"] == "clear"
    share = result["share"]
    if clear_day:
        good = share >= TARGET_SHARE
        met &= good
        target = f"target >= {TARGET_SHARE:g} % on a clear day) {_ok(good)}"
    else:
        target = "no target on a cloudy day)"
    lines.append(
        f"(1) surplus into solar-mode cars: {share:.1f} % of {result['surplus_kwh']:.2f} kWh "
        f"available, phase by phase ({target}; phases netted: {result['net_share']:.1f} %"
    )
    lines.append(
        f"    of which three-phase cars can take without drawing the grid on any phase "
        f"(3 x the lowest phase's): {result['usable_share']:.1f} %"
    )
    lines.append(
        f"    missed: {result['missed_after_off']:.1f} % of the surplus of the "
        f"{REACTION_WINDOW:g} s after a load switched off (the reaction: a meter poll, a "
        f"cycle, a station; {len(spec['loads'])} loads switched off, those seconds hold "
        f"{result['after_off_share']:.0f} % of the day's surplus), "
        f"{result['missed_other']:.1f} % of the rest"
    )
    so = result["solar_only"]
    # Judged as the building's grid meter counts: with a meter that nets the phases (the
    # hub told so), one phase's sun covers a draw on another.
    netting = bool(spec.get("options", {}).get("grid_nets_phases"))
    judged = so["grid_net_pct"] if netting else so["grid_pct"]
    good = judged <= TARGET_GRID
    met &= good
    lines.append(
        f"(2) grid energy of the Solar only sessions: {so['grid_pct']:.2f} % of their "
        f"{so['energy_kwh']:.2f} kWh phase by phase"
        + (f", {so['grid_net_pct']:.2f} % netted as the grid meter counts" if netting else "")
        + f" (target <= {TARGET_GRID:g} %) {_ok(good)}; "
        f"{so['at_min_kwh']:.3f} kWh while at their minimum (held through a shortage), "
        f"{so['above_kwh']:.3f} kWh above it; {so['beyond_kwh']:.3f} kWh beyond what the "
        f"rules allow (after {result['delays']['stop'] + result['delays']['smoothing'] + result['spec']['reaction']:g} s "
        "of shortage and past the minimum on-time)"
        + ("" if netting else f"; the phases netted, for information: {so['grid_net_pct']:.2f} %")
    )
    per = result["per"]
    by_mode: dict[str, list[tuple[int, int]]] = {}
    for s in _stations(spec):
        figures = per[s["id"]]
        by_mode.setdefault(s["mode"], []).append((len(figures["starts"]), len(figures["stops"])))
    parts = []
    for mode, counts in by_mode.items():
        starts = [c[0] for c in counts]
        stops = [c[1] for c in counts]
        parts.append(
            f"{MODE_NAMES[mode]} {statistics.fmean(starts):.1f} / {statistics.fmean(stops):.1f}"
            f" (max {max(starts)} / {max(stops)})"
        )
    stops = result["stops"]
    count = dict.fromkeys(("short cloud", "long cloud", "turn", "no sun", "other"), 0)
    for stop in stops:
        count[stop["cause"]] += 1
    good = count["short cloud"] == 0
    met &= good
    lines.append(
        "(3) starts / stops per session: " + "; ".join(parts) + ". Stops of solar-mode cars "
        f"caused by a cloud shorter than the stop delay: {count['short cloud']} (target 0) "
        f"{_ok(good)}; others: {count['long cloud']} long cloud, {count['turn']} turn, "
        f"{count['no sun']} no sun "
        f"(too low, loads, rotation), {count['other']} other"
    )
    others = [stop for stop in stops if stop["cause"] == "other"]
    if others:
        quick = sum(
            1
            for stop in others
            if stop["restart"] is not None and stop["restart"] - stop["at"] < 30.0
        )
        said: dict[str, int] = {}
        for stop in others:
            said[stop.get("said") or "nothing recorded"] = (
                said.get(stop.get("said") or "nothing recorded", 0) + 1
            )
        lines.append(
            f"    the {len(others)} other stops of solar-mode cars: {quick} started again within "
            "30 s; the integration showed: "
            + ", ".join(f"{state} x{count}" for state, count in sorted(said.items()))
        )
    for stop in stops:
        if verbose or stop["cause"] == "short cloud":
            seen = ", ".join(
                f"{cl['start']:.0f}-{cl['end']:.0f} ({cl['duration']:.0f} s)"
                for cl in stop["clouds"]
            )
            lines.append(
                f"    {stop['station']} stopped at {stop['at']:.0f} s "
                f"({_hour(spec, stop['at'])}): {stop['cause']}; clouds in the last "
                f"{result['delays']['stop'] + result['delays']['smoothing'] + result['spec']['reaction']:g} s: "
                f"{seen or 'none'}"
                + (
                    f"; clear sky short for {stop['clear_short_s']:.0f} s of the last stop delay"
                    if stop["mode"] == "solar"
                    else ""
                )
                + f"; the integration showed: {stop.get('said') or 'nothing recorded'}"
                + (
                    f"; started again at {stop['restart']:.0f} s"
                    if stop["restart"] is not None
                    else ""
                )
            )
    fair = result["fairness"]
    if fair["sun_kwh"]:
        lines.append(
            f"(4) fairness, sun energy of the {len(fair['sun_kwh'])} equal Solar only "
            f"sessions: min {min(fair['sun_kwh']):.3f} / max {max(fair['sun_kwh']):.3f} kWh, "
            f"spread {fair['spread'] * 100:.1f} %, CV {fair['cv'] * 100:.1f} % "
            "(no numeric target; lower is fairer)"
        )
    peak = spec["peak_kw"]
    judged = [q for q in result["quarters"] if q["covered"] >= JUDGED_COVER]
    over = [q for q in judged if peak > 0 and q["average_kw"] > peak and q["floor_kw"] <= peak]
    highest = max(judged, key=lambda q: q["average_kw"], default=None)
    if highest is not None:
        excused = peak > 0 and highest["average_kw"] > peak and highest["floor_kw"] > peak
        good = not over
        if peak > 0:
            met &= good
        verdict = (
            f"(target <= {peak:g} kW) {_ok(good)}"
            + (" (its floor is above the limit)" if excused else "")
            if peak > 0
            else "(no peak limit)"
        )
        lines.append(
            f"(5) highest 15-minute average import: {highest['average_kw']:.2f} kW "
            f"({_clock(highest['start'])}, floor {highest['floor_kw']:.2f} kW) {verdict}"
        )
    else:
        lines.append(
            f"(5) highest 15-minute average import: none judged (no quarter hour covered "
            f"{JUDGED_COVER:g} s or more)"
        )
    lines.append(
        "    per quarter hour (wall clock): "
        + "; ".join(
            f"{_clock(q['start'])} {q['average_kw']:.2f} kW"
            + (f" over {q['covered']:.0f} s" if q["covered"] < 890.0 else "")
            + f" [floor {q['floor_kw']:.2f}, building alone {q['alone_kw']:.2f}]"
            + ("" if q["covered"] >= JUDGED_COVER else " (not judged)")
            for q in result["quarters"]
        )
    )
    if verbose:
        for s in _stations(spec):
            figures = per[s["id"]]
            lines.append(
                f"    {s['id']} ({MODE_NAMES[s['mode']]}): {figures['energy'] / 1000:.3f} kWh, "
                f"sun {figures['sun'] / 1000:.3f}; starts at (s) "
                + (", ".join(f"{t:.0f}" for t in figures["starts"]) or "none")
                + "; stops at (s) "
                + (", ".join(f"{t:.0f}" for t in figures["stops"]) or "none")
            )
    return lines, met


def _options(pairs: list[str]) -> dict[str, float]:
    """Hub options from KEY=VALUE pairs (numbers)."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--option {pair!r}: KEY=VALUE expected")
        options[key.strip()] = float(value)
    return options


async def main(
    seeds: list[int],
    days: list[str],
    day_minutes: float,
    peak_kw: float,
    log: Path | None,
    verbose: bool,
    time_lapse: bool = False,
    options: dict[str, float] | None = None,
    window: tuple[float, float, float] | None = None,
) -> int:
    first, last, _settle = window or WHOLE_DAY
    duration = real_seconds(last, day_minutes, first)
    print(
        f"Solar: seeds {' '.join(map(str, seeds))}; {' and '.join(days)} day; "
        f"{_hhmm(first)}-{_hhmm(last)} in {duration / 60:.1f} real minutes "
        f"(a day in {day_minutes:g}"
        + ("; a time-lapse" if time_lapse else "")
        + "); peak limit "
        + (f"{peak_kw:g} kW" if peak_kw > 0 else "none"),
        flush=True,
    )
    results = []
    measured = True
    met = True
    for day in days:
        for seed in seeds:
            spec = scenario(seed, day, day_minutes, peak_kw, time_lapse, window)
            if options:
                spec["options"] = dict(options)
                for key, option in OPTION_KEYS.items():  # the delays the figures judge by
                    if option in options:
                        spec["delays"][key] = float(options[option])
            print(f"--- {day} day, seed {seed} ---")
            print("\n".join(f"  {line}" for line in describe(spec)), flush=True)
            result = await run_day(spec, verbose, log)
            if result["failure"] is None and not result["charged"]:
                result["failure"] = "no car ever charged"
            if result["failure"] is not None:
                measured = False
                print(f"  NOTHING MEASURED: {result['failure']}")
                for line in result["warnings"][:10]:
                    print(f"    {line[:300]}")
                continue
            lines, good = report(result, verbose)
            met &= good
            results.append(result)
            print("\n".join(f"  {line}" for line in lines), flush=True)
    if results:
        print("--- summary ---")
        for result in results:
            spec = result["spec"]
            judged = [q for q in result["quarters"] if q["covered"] >= JUDGED_COVER]
            highest = max((q["average_kw"] for q in judged), default=math.nan)
            stops = sum(1 for s in result["stops"] if s["cause"] == "short cloud")
            print(
                f"{spec['day']:>6} seed {spec['seed']}: surplus into solar cars "
                f"{result['share']:.1f} %, Solar only from the grid "
                f"{result['solar_only']['grid_pct']:.2f} % phase by phase, "
                f"{result['solar_only']['grid_net_pct']:.2f} % netted, stops by short "
                f"clouds {stops}, "
                f"fairness spread {result['fairness']['spread'] * 100:.1f} %, highest "
                f"15-min import {highest:.2f} kW"
            )
    if not measured:
        return 2
    return 0 if met else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--day-minutes", type=float, default=DEFAULT_DAY_MINUTES)
    parser.add_argument("--day", choices=("clear", "cloudy", "both"), default="both")
    parser.add_argument("--peak-kw", type=float, default=PEAK_KW, help="0: no peak limit")
    parser.add_argument("--log", type=Path, help="keep each run's truth log and HA log here")
    parser.add_argument(
        "--time-lapse",
        action="store_true",
        help="clouds, loads and the solar delays as fast as the sun (MeterValues every 1 s)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="per-session detail, the integration's log"
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a hub option set beside the defaults (e.g. solar_start_margin=6); repeatable",
    )
    parser.add_argument(
        "--window",
        type=float,
        nargs=3,
        metavar=("FROM", "TO", "SETTLE"),
        help="only hours FROM-TO of the day (e.g. 12 12.75 15 with --day-minutes 1440: "
        "45 real minutes at the sun's pace), figures after SETTLE minutes",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        ports = json.loads(args.worker)
        truth = asyncio.run(_worker(ports["ocpp"], ports["modbus"]))
        Path(ports["truth"]).write_text(json.dumps(truth), encoding="utf-8")
        print("done", flush=True)
    else:
        chosen = ["clear", "cloudy"] if args.day == "both" else [args.day]
        sys.exit(
            asyncio.run(
                main(
                    args.seeds,
                    chosen,
                    args.day_minutes,
                    args.peak_kw,
                    args.log,
                    args.verbose,
                    args.time_lapse,
                    _options(args.option),
                    tuple(args.window) if args.window else None,
                )
            )
        )
