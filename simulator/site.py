"""A simulated building from a scenario file: Modbus meters with loads, stations with cars.

Scenario (YAML)::

    ocpp_url: ws://127.0.0.1:9000
    remote_url: ws://127.0.0.1:8123/api/charge_zones/ocpp   # Home Assistant's remote endpoint
    modbus: {host: 127.0.0.1, port: 5020}
    tick: 1.0                      # seconds per simulation step
    meters:
      - unit: 1
        model: sdm630
        load: [8, 6, 5]            # commons load per phase (A)
        daily_amplitude: 4         # optional: +/- A over a day, peak at daily_peak_hour
        daily_peak_hour: 19
        steps:                     # optional: extra load from `at` for `duration` s
          - {at: 120, add: [15, 15, 15], duration: 60}
        stations: all              # whose draw this meter also sees ("all" or a list)
    stations:
      - id: DEMO-CP-1
        wiring: l1-l2-l3           # l1, l2, l3 or a rotation (either case), as stored by the hub
        max_current: 16
        quirks: {reject_stack_level_at_max: true}   # StationBehaviour fields
        connectors: 2              # optional: one car per connector (car's `connector`)
        idle_meter_values: false   # optional: no MeterValues outside a transaction
        measurands: power          # optional: Power.Active.Import only, no Current.Import
        ignore_limits: true        # optional: lets the car draw what it wants
        password: a-secret-of-16-chars   # optional: HTTP Basic (security profile 1)
        remote: false              # true: connects to remote_url instead of ocpp_url
        charging_mode: solar       # optional: fast, solar_min, solar or off, for
                                   #   scripts/develop's station (the simulator ignores it)
        phase_switching: true      # optional: follows numberPhases (scripts/develop
                                   #   ticks Phase switching for it)
    cars:
      - {station: DEMO-CP-1, at: 5, badge: DEMO-BADGE-1, battery_kwh: 60, soc: 0.3,
         max_current: 16, phases: 3, leave: 3600, connector: 1}
    events:
      - {at: 300, meter: 1, silent: 30}        # the meter stops answering for 30 s
    pv:                            # optional: a roof PV (simulator/solar.py)
      kwp: 30
      phases: l1-l2-l3             # a three-phase inverter (thirds); l1, l2 or l3: single-phase
      day: cloudy                  # clear | cloudy
      seed: 7                      # the clouds of a cloudy day
      day_minutes: 60              # optional: a simulated day lasts 60 real minutes
      start_hour: 10               # the simulated hour at t = 0 (default 12)
      # also: sunrise 6, sunset 20, exponent 1.3, performance 0.85, cloud_scale 1
    grid_meter:                    # optional: the building's connection point
      model: sdm630
      unit: 10
      connection: {host: 127.0.0.1, port: 5021}   # optional: its own endpoint (framer: rtu
                                   #   for RTU over TCP); default: the meters' endpoint
      load: [4, 3, 3]              # optional: loads only the grid meter sees (A per phase)
      meters: all                  # whose commons load it sees ("all" or a list of units)
      stations: all                # whose draw it sees ("all" or a list)
      signed_currents: true        # optional: override the model's current sign
      import_wh: 0                 # optional: the counters' start values
      export_wh: 0

The grid meter shows, per phase, commons + cars + its own load - PV (A at 230 V): power
signed (import > 0, export < 0), currents signed or magnitudes as the model's real meter
reports them (simulator/meter.py, SIGNED_CURRENTS), import and export counters apart,
counting the net total power over the scenario clock.

Run: python -m simulator.site scenario.yaml
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass, field, fields
import logging
import math
from pathlib import Path
import signal
import time
from typing import Any

import yaml

from simulator.charger import VOLTAGE, Car, SimulatedCharger
from simulator.meter import SimulatedMeter, SimulatedUnit
from simulator.solar import SolarPlant
from simulator.station import StationBehaviour

_LOGGER = logging.getLogger(__name__)

DEFAULT_REMOTE_URL = "ws://127.0.0.1:8123/api/charge_zones/ocpp"
STATION_KEYS = frozenset(
    {
        "id",
        "wiring",
        "max_current",
        "quirks",
        "meter_interval",
        "energy_wh",
        "password",
        "remote",
        "connectors",
        "idle_meter_values",
        "measurands",
        "ignore_limits",
        "charging_mode",
        "phase_switching",
    }
)
CHARGING_MODES = ("fast", "solar_min", "solar", "scheduled", "off")


@dataclass
class MeterSpec:
    """A meter of the scenario."""

    unit: int
    model: str = "sdm630"
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    daily_amplitude: float = 0.0
    daily_peak_hour: float = 19.0
    steps: list[dict[str, Any]] = field(default_factory=list)
    stations: str | list[str] = "all"

    def commons(self, t: float, hour: float) -> tuple[float, float, float]:
        """Commons load per phase at scenario time t (s) and wall-clock hour."""
        wave = self.daily_amplitude * math.cos((hour - self.daily_peak_hour) / 24 * 2 * math.pi)
        values = [max(0.0, base + wave) for base in self.load]
        for step in self.steps:
            start = float(step.get("at", 0))
            if start <= t < start + float(step.get("duration", math.inf)):
                for p, extra in enumerate(step.get("add", (0, 0, 0))):
                    values[p] += float(extra)
        return (values[0], values[1], values[2])


GRID_METER_KEYS = frozenset(
    {
        "model",
        "unit",
        "connection",
        "load",
        "meters",
        "stations",
        "signed_currents",
        "import_wh",
        "export_wh",
    }
)


@dataclass
class GridMeterSpec:
    """The building's meter at its grid connection point (import and export)."""

    unit: int = 1
    model: str = "sdm630"
    host: str | None = None  # None: served on the scenario's Modbus endpoint
    port: int | None = None
    framer: str = "socket"
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    meters: str | list[int] = "all"
    stations: str | list[str] = "all"
    signed_currents: bool | None = None
    import_wh: float = 0.0
    export_wh: float = 0.0

    @property
    def own_endpoint(self) -> bool:
        """Whether it is served on an endpoint of its own."""
        return self.port is not None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> GridMeterSpec:
        """From a scenario's ``grid_meter:`` section (raises ValueError on a bad one)."""
        if unknown := set(raw) - GRID_METER_KEYS:
            raise ValueError(f"grid_meter: unknown keys {sorted(unknown)}")
        connection = raw.get("connection") or {}
        if unknown := set(connection) - {"host", "port", "framer"}:
            raise ValueError(f"grid_meter connection: unknown keys {sorted(unknown)}")
        if connection and "port" not in connection:
            raise ValueError("grid_meter connection: a port is needed")
        signed = raw.get("signed_currents")
        if signed is not None and not isinstance(signed, bool):
            raise ValueError("grid_meter: signed_currents is true or false")
        padded = [*(raw.get("load") or ()), 0.0, 0.0, 0.0]
        return cls(
            unit=int(raw.get("unit", 1)),
            model=str(raw.get("model", "sdm630")),
            host=str(connection.get("host", "127.0.0.1")) if connection else None,
            port=int(connection["port"]) if connection else None,
            framer=str(connection.get("framer", "socket")),
            load=(float(padded[0]), float(padded[1]), float(padded[2])),
            meters=raw.get("meters", "all"),
            stations=raw.get("stations", "all"),
            signed_currents=signed,
            import_wh=float(raw.get("import_wh", 0.0)),
            export_wh=float(raw.get("export_wh", 0.0)),
        )


@dataclass
class Scenario:
    """A building to simulate."""

    ocpp_url: str = "ws://127.0.0.1:9000"
    remote_url: str = DEFAULT_REMOTE_URL
    modbus_host: str = "127.0.0.1"
    modbus_port: int = 5020
    tick: float = 1.0
    meters: list[MeterSpec] = field(default_factory=list)
    stations: list[dict[str, Any]] = field(default_factory=list)
    cars: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    pv: dict[str, Any] | None = None
    grid_meter: GridMeterSpec | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        """Build from parsed YAML (raises ValueError on a bad file)."""
        modbus = data.get("modbus") or {}
        meters = []
        for raw in data.get("meters") or []:
            unknown = set(raw) - {f.name for f in fields(MeterSpec)}
            if unknown:
                raise ValueError(f"meter: unknown keys {sorted(unknown)}")
            spec = MeterSpec(**raw)
            padded = [*spec.load, 0.0, 0.0, 0.0]
            spec.load = (float(padded[0]), float(padded[1]), float(padded[2]))
            meters.append(spec)
        for station in data.get("stations") or []:
            if "id" not in station:
                raise ValueError("every station needs an id")
            if unknown := set(station) - STATION_KEYS:
                raise ValueError(f"station {station['id']}: unknown keys {sorted(unknown)}")
            if not isinstance(station.get("password", ""), str):
                raise ValueError(f"station {station['id']}: the password must be a string")
            if not isinstance(station.get("remote", False), bool):
                raise ValueError(f"station {station['id']}: remote is true or false")
            if station.get("charging_mode", "fast") not in CHARGING_MODES:
                raise ValueError(
                    f"station {station['id']}: charging_mode is one of {', '.join(CHARGING_MODES)}"
                )
        pv = data.get("pv")
        if pv is not None:
            SolarPlant.from_dict(pv)  # checks the section
        grid = data.get("grid_meter")
        grid_meter = None if grid is None else GridMeterSpec.from_dict(grid)
        if (
            grid_meter is not None
            and not grid_meter.own_endpoint
            and any(m.unit == grid_meter.unit for m in meters)
        ):
            raise ValueError(f"grid_meter: unit {grid_meter.unit} is already a meter's")
        return cls(
            ocpp_url=str(data.get("ocpp_url", cls.ocpp_url)),
            remote_url=str(data.get("remote_url", cls.remote_url)),
            modbus_host=str(modbus.get("host", "127.0.0.1")),
            modbus_port=int(modbus.get("port", 5020)),
            tick=float(data.get("tick", 1.0)),
            meters=meters,
            stations=list(data.get("stations") or []),
            cars=list(data.get("cars") or []),
            events=list(data.get("events") or []),
            pv=None if pv is None else dict(pv),
            grid_meter=grid_meter,
        )

    def station_url(self, station: dict[str, Any]) -> str:
        """The central system's URL for a station: the remote endpoint or the OCPP server."""
        return self.remote_url if station.get("remote") else self.ocpp_url

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """Read a scenario file."""
        return cls.from_dict(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})


class SimulatedSite:
    """Runs a scenario: meter server, stations, cars and events."""

    def __init__(self, scenario: Scenario, *, with_meters: bool = True) -> None:
        self.scenario = scenario
        self.with_meters = with_meters and bool(scenario.meters or scenario.grid_meter)
        self.server: SimulatedMeter | None = None
        # the roof PV and the grid meter (its own endpoint, if it has one)
        self.pv = None if scenario.pv is None else SolarPlant.from_dict(scenario.pv)
        self.grid_server: SimulatedMeter | None = None
        self.grid_unit: SimulatedUnit | None = None
        #: what the grid meter shows now: signed phase currents (A), PV per phase (W)
        self.grid_currents: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.pv_watts: tuple[float, float, float] = (0.0, 0.0, 0.0)
        grid = scenario.grid_meter
        self.import_wh = 0.0 if grid is None else grid.import_wh
        self.export_wh = 0.0 if grid is None else grid.export_wh
        self._grid_power = 0.0
        self._grid_t = 0.0
        self.chargers: dict[str, SimulatedCharger] = {}
        self.t = 0.0
        self._task: asyncio.Task[None] | None = None
        self._pending: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        """Serve the meters, connect the stations, start the clock."""
        s = self.scenario
        if self.with_meters:
            grid = s.grid_meter
            units = [(spec.model, spec.unit) for spec in s.meters]
            if grid is not None and not grid.own_endpoint:
                units.append((grid.model, grid.unit))
            if units:
                (model, unit), *rest = units
                self.server = SimulatedMeter(model, unit=unit)
                for model, unit in rest:
                    self.server.add_unit(model, unit)
            if grid is not None:
                if grid.own_endpoint:
                    self.grid_server = SimulatedMeter(grid.model, grid.unit, framer=grid.framer)
                served = self.grid_server or self.server
                assert served is not None
                self.grid_unit = served.units[grid.unit]
            self._update_meters()
            if self.server is not None:
                await self.server.start(s.modbus_host, s.modbus_port)
            if self.grid_server is not None and grid is not None and grid.port is not None:
                await self.grid_server.start(grid.host or "127.0.0.1", grid.port)
        for raw in s.stations:
            quirks = raw.get("quirks") or {}
            charger = SimulatedCharger(
                s.station_url(raw),
                raw["id"],
                wiring=raw.get("wiring", "l1-l2-l3"),
                max_current=float(raw.get("max_current", 32)),
                behaviour=StationBehaviour(**quirks),
                tick=s.tick,
                meter_interval=raw.get("meter_interval"),
                energy_wh=float(raw.get("energy_wh", 0)),
                password=raw.get("password"),
                connectors=int(raw.get("connectors", 1)),
                idle_meter_values=bool(raw.get("idle_meter_values", True)),
                measurands=str(raw.get("measurands", "current")),
                ignore_limits=bool(raw.get("ignore_limits", False)),
                phase_switching=bool(raw.get("phase_switching", False)),
            )
            self.chargers[raw["id"]] = charger
        # Stations keep trying to connect: the central system may start after them.
        await asyncio.gather(*(c.start(wait=False) for c in self.chargers.values()))
        self._task = asyncio.create_task(self._clock(), name="simulated site")

    async def stop(self) -> None:
        """Stop everything."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in self._pending:
            task.cancel()
        await asyncio.gather(*(c.stop() for c in self.chargers.values()))
        if self.server is not None:
            await self.server.stop()
        if self.grid_server is not None:
            await self.grid_server.stop()

    def _behind(self, stations: str | list[str]) -> list[SimulatedCharger]:
        if stations == "all":
            return list(self.chargers.values())
        return [self.chargers[i] for i in stations if i in self.chargers]

    def _update_meters(self) -> None:
        hour = time.localtime().tm_hour + time.localtime().tm_min / 60
        self._update_grid(hour)
        if self.server is None:
            return
        for spec in self.scenario.meters:
            if self.server.units[spec.unit] is self.grid_unit:
                continue
            values = list(spec.commons(self.t, hour))
            for charger in self._behind(spec.stations):
                for p, amps in enumerate(charger.grid_currents()):
                    values[p] += amps
            unit = self.server.units[spec.unit]
            if unit.model.phases == 1:
                unit.set_currents(values[0])
            else:
                unit.set_currents(values[0], values[1], values[2])

    def _update_grid(self, hour: float) -> None:
        """PV, and the grid meter: commons + cars + its own load - PV, energy counted."""
        self.pv_watts = (0.0, 0.0, 0.0) if self.pv is None else self.pv.phase_powers(self.t)
        grid = self.scenario.grid_meter
        if grid is None:
            return
        # the counters integrate the power shown since the last update
        elapsed = max(0.0, self.t - self._grid_t)
        self._grid_t = self.t
        if self._grid_power > 0:
            self.import_wh += self._grid_power * elapsed / 3600
        else:
            self.export_wh -= self._grid_power * elapsed / 3600
        values = list(grid.load)
        for spec in self.scenario.meters:
            if grid.meters == "all" or spec.unit in grid.meters:
                for p, amps in enumerate(spec.commons(self.t, hour)):
                    values[p] += amps
        for charger in self._behind(grid.stations):
            for p, amps in enumerate(charger.grid_currents()):
                values[p] += amps
        for p, watts in enumerate(self.pv_watts):
            values[p] -= watts / VOLTAGE
        self.grid_currents = (values[0], values[1], values[2])
        self._grid_power = sum(values) * VOLTAGE
        unit = self.grid_unit
        if unit is None:
            return
        if unit.model.phases == 1:
            self._grid_power = values[0] * VOLTAGE
            unit.set_flows(values[0], signed=grid.signed_currents)
        else:
            unit.set_flows(values[0], values[1], values[2], signed=grid.signed_currents)
        unit.set_energy(self.import_wh, self.export_wh)

    async def _clock(self) -> None:
        cars = sorted(self.scenario.cars, key=lambda c: float(c.get("at", 0)))
        events = sorted(self.scenario.events, key=lambda e: float(e.get("at", 0)))
        while True:
            for car in [c for c in cars if float(c.get("at", 0)) <= self.t]:
                cars.remove(car)
                self._pending.append(asyncio.create_task(self._arrive(car)))
            for event in [e for e in events if float(e.get("at", 0)) <= self.t]:
                events.remove(event)
                self._apply(event)
            self._update_meters()
            await asyncio.sleep(self.scenario.tick)
            self.t += self.scenario.tick

    async def _arrive(self, spec: dict[str, Any]) -> None:
        charger = self.chargers.get(spec["station"])
        if charger is None:
            _LOGGER.warning("car for unknown station %s", spec["station"])
            return
        car = Car(
            battery_kwh=float(spec.get("battery_kwh", 60)),
            soc=float(spec.get("soc", 0.3)),
            max_current=float(spec.get("max_current", 16)),
            phases=int(spec.get("phases", len(charger.grid))),
        )
        await charger.connected.wait()
        connector = int(spec.get("connector", 1))
        await charger.plug(car, spec.get("badge"), connector)
        if (leave := spec.get("leave")) is not None:
            await asyncio.sleep(float(leave))
            await charger.unplug(connector)

    def _unit(self, number: int) -> SimulatedUnit | None:
        """A served meter by unit id: the meters' endpoint first, then the grid meter's."""
        for server in (self.server, self.grid_server):
            if server is not None and number in server.units:
                return server.units[number]
        return None

    def _apply(self, event: dict[str, Any]) -> None:
        if "meter" in event and (unit := self._unit(int(event["meter"]))) is not None:
            unit.silent = True
            loop = asyncio.get_running_loop()
            loop.call_later(float(event.get("silent", 30)), setattr, unit, "silent", False)
        if event.get("drop") and (charger := self.chargers.get(event["drop"])) is not None:
            charger.drop()


async def _main(path: str, with_meters: bool) -> None:
    site = SimulatedSite(Scenario.load(path), with_meters=with_meters)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await site.start()
    print(
        f"simulated site: {len(site.chargers)} stations, {len(site.scenario.meters)} meters "
        f"(Modbus {'on ' + site.scenario.modbus_host + ':' + str(site.scenario.modbus_port) if site.server else 'off'})",
        flush=True,
    )
    await stop.wait()
    await site.stop()


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description="Run a simulated building.")
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--no-meters", action="store_true", help="stations only")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    asyncio.run(_main(args.scenario, not args.no_meters))


if __name__ == "__main__":
    main()
