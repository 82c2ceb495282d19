"""Many stations on one site, through the real integration in a real Home Assistant.

N simulated stations (OCPP 1.6J over real websockets on 127.0.0.1), each booted with an
open session, send MeterValues with 8 sampled values (energy, power, current and voltage
per phase). The stations run in a separate process (this module with ``--worker``).

Each figure is measured twice, printed side by side, after the reference:

- *floor*: the same stations and load against the bare ``ocpp`` library (a central system
  answering with constants, schema checks off, no Home Assistant: ``benchmarks/floor.py``
  in its own process), the per-message target's reference (the issue measured 0.6 ms on
  its machine; here it depends on the machine and on the message rate).
- *outside*: what a user sees. A real Home Assistant process (``python -m
  homeassistant`` on a configuration directory holding a Charge Zones entry with N
  stations, see ``benchmarks/hass_process.py``), its CPU time read from
  /proc/<pid>/stat (every thread). A boot counts when the station has been booted *and*
  configured (its limit sent, or read back and found installed).
- *in-process*: Home Assistant's test harness (``async_test_home_assistant``) in this
  process, its CPU from getrusage (cProfile with ``--profile``).

Printed, not asserted:

0. Boot: N stations connect and boot (50 at a time) until every one is configured; HA
   CPU per boot; the commands each station received; warnings logged.

1. HA CPU per MeterValues message, RTT p50/p99 of a MeterValues call, HA resident memory,
   at one message per station every 10 s (and every 1 s for 100 stations).
2. Reconnect storm: every station drops and reconnects at once and boots again, keeping
   what it holds (configuration, local list, profiles): time until all are configured
   again, HA CPU per boot, the commands each received (nothing it already holds should be
   sent again), and warnings logged.
3. Adding the n-th station to a running site: from ``async_add_subentry`` until the new
   station has connected and booted; no other station may disconnect.

Run: .venv/bin/python -m benchmarks.stations [--stations 100 500] [--quick] [--profile]
     [--only floor|outside|inside] [--sensor-interval S]; the outside run needs an
     interpreter whose environment has Home Assistant's default integrations'
     requirements (``CZ_HASS_PYTHON``, see ``benchmarks/hass_process.py``). The hub runs
     with its default options (a sensor update interval of 30 s) unless
     ``--sensor-interval`` says otherwise (0: every reading written).
Targets: <= 0.6 ms HA CPU per MeterValues (100 stations / 1 s and 500 / 10 s); 500
stations / 10 s: <= 5 % of one core and RTT p99 <= 50 ms; 100 stations / 1 s: every
message served, RTT p99 <= 50 ms; boot and storm of 500: all configured in <= 10 s, <= 10
ms HA CPU per boot, no warning, nothing re-sent; adding a station: <= 0.5 s, flat in n.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import logging
import os
from pathlib import Path
import pstats
import random
import resource
import statistics
import sys
import tempfile
import time
from types import MappingProxyType
from typing import Any

from benchmarks.hass_process import badge_of, badge_subentry, settle

TARGET_CPU_MS = 0.6
TARGET_BOOT_CPU_MS = 10.0
TARGET_CORE_PCT = 5.0
TARGET_RTT_P99_MS = 50.0
TARGET_STORM_S = 10.0
TARGET_ADD_S = 0.5
CONNECT_CONCURRENCY = 50
# Before a window measured from outside (Home Assistant or the floor in their own
# process): seconds of silence left for the work a previous window left behind (its
# sensors' last writes at the end of a 30 s sensor update interval, the sessions' save),
# then seconds of silence measured (the process's idle CPU).
QUIET_S = 35.0
# The window of the per-message figure at one message per station every 10 s, measured
# from outside (see _outside).
OUTSIDE_WINDOW_S = 180.0
IDLE_WINDOW_S = 10.0


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(len(ordered) * q) - 1))]


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the station side (a separate process) -----------------------------------------


# The limit Home Assistant gives a station outside the zones: its maximum (32 A).
STATION_LIMIT = 32.0


def _holds_limit(state: Any) -> bool:
    """Whether a simulated station holds the limit Home Assistant gives it."""
    return any(
        p["charging_schedule"]["charging_schedule_period"][0]["limit"] == STATION_LIMIT
        for p in state.profiles.values()
    )


class _Fleet:
    """The simulated stations, driven by JSON commands on stdin.

    Each station keeps what it holds (configuration, local list, profiles) across its
    connections, as real hardware does: a reconnect storm is a network blip, not a
    factory reset.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.clients: dict[str, Any] = {}
        self.states: dict[str, Any] = {}
        self.transactions: dict[str, int] = {}
        self.energy: dict[str, int] = {}
        self.frames: dict[str, list[str]] = {}  # commands received on the last connection
        self.rng = random.Random(7)

    async def _up(self, station_id: str, session: bool, configured: bool = True) -> None:
        """Connect, boot, and wait until Home Assistant has configured the station
        (configured=False: a bare central system, which configures nothing)."""
        from simulator.station import SimState, StationBehaviour, StationClient  # noqa: PLC0415

        state = self.states.setdefault(station_id, SimState())
        # 100 badges per message, 1,000 in the list (as many stations have): a badge per
        # station, 501 in all, goes out in 6 messages at a first boot.
        behaviour = StationBehaviour(local_list_max_length=100, local_list_capacity=1000)
        client = StationClient(self.url, station_id, behaviour, state=state)
        station = await client.connect()
        # Real stations each have their own processor: the simulated ones, 500 in one
        # process here, do not check the commands they get against the schema (badge
        # lists of hundreds of entries), so that they are not what a boot waits for.
        for handlers in station.route_map.values():
            handlers["_skip_schema_validation"] = True
        self.clients[station_id] = client
        await station.boot()
        if configured:
            await self._configured(station)
        self.frames[station_id] = [action for action, _ in station.received]
        if session:
            result = await station.start_transaction(1, badge_of(station_id), 0)
            self.transactions[station_id] = result.transaction_id
            self.energy[station_id] = 0

    @staticmethod
    async def _configured(station: Any, within: float = 300.0) -> None:
        """Configured: the last command of the configuration after a boot has come (its
        limit sent, or read back and found installed)."""
        deadline = time.perf_counter() + within
        while True:
            action, _payload = await asyncio.wait_for(
                station.events.get(), max(0.001, deadline - time.perf_counter())
            )
            if action == "SetChargingProfile" or (
                action == "GetCompositeSchedule" and _holds_limit(station.state)
            ):
                return

    async def connect(
        self, ids: list[str], session: bool = True, configured: bool = True
    ) -> dict[str, Any]:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(station_id: str) -> None:
            async with gate:
                await self._up(station_id, session, configured)

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in ids))
        return {"seconds": time.perf_counter() - start, "frames": self._frame_counts(ids)}

    def _frame_counts(self, ids: list[str]) -> dict[str, float]:
        """Commands received per station on its last connection, by action (mean)."""
        counts: dict[str, int] = {}
        for station_id in ids:
            for action in self.frames.get(station_id, []):
                counts[action] = counts.get(action, 0) + 1
        return {action: count / max(1, len(ids)) for action, count in sorted(counts.items())}

    async def sessions(self) -> dict[str, Any]:
        """Start a session on every station."""

        async def one(station_id: str) -> None:
            station = self.clients[station_id].station
            result = await station.start_transaction(1, badge_of(station_id), 0)
            self.transactions[station_id] = result.transaction_id
            self.energy[station_id] = 0

        await asyncio.gather(*(one(i) for i in self.clients))
        return {}

    def _values(self, station_id: str) -> list[dict[str, Any]]:
        self.energy[station_id] += 61
        # As real stations measure: every reading differs a little from the last.
        noise = self.rng.uniform(-0.4, 0.4)
        currents = [round(31.6 + noise + self.rng.uniform(-0.1, 0.1), 2) for _ in range(3)]
        power = round(sum(currents) * 230.0)
        values: list[dict[str, Any]] = [
            {
                "value": str(self.energy[station_id]),
                "measurand": "Energy.Active.Import.Register",
                "unit": "Wh",
                "context": "Sample.Periodic",
            },
            {
                "value": str(power),
                "measurand": "Power.Active.Import",
                "unit": "W",
                "context": "Sample.Periodic",
            },
        ]
        values.extend(
            {
                "value": str(current),
                "measurand": "Current.Import",
                "phase": phase,
                "unit": "A",
                "context": "Sample.Periodic",
            }
            for phase, current in zip(("L1", "L2", "L3"), currents, strict=True)
        )
        values.extend(
            {
                "value": "230.0",
                "measurand": "Voltage",
                "phase": f"{phase}-N",
                "unit": "V",
                "context": "Sample.Periodic",
            }
            for phase in ("L1", "L2", "L3")
        )
        return values

    async def run(self, interval: float, duration: float) -> dict[str, Any]:
        rtts: list[float] = []
        errors = 0
        missed = 0
        rng = random.Random(11)
        start = time.perf_counter()

        async def station_loop(station_id: str, offset: float) -> None:
            nonlocal errors, missed
            station = self.clients[station_id].station
            due = start + offset
            while due < start + duration:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                sent = time.perf_counter()
                try:
                    await station.meter_values(
                        1, self._values(station_id), self.transactions[station_id]
                    )
                except Exception:  # noqa: BLE001 - counted, not raised
                    errors += 1
                else:
                    rtts.append((time.perf_counter() - sent) * 1000)
                due += interval
                if time.perf_counter() > due:  # could not keep the rate
                    missed += 1

        await asyncio.gather(*(station_loop(i, rng.random() * interval) for i in self.clients))
        return {
            "count": len(rtts),
            "errors": errors,
            "late": missed,
            "p50": _pct(rtts, 0.5),
            "p99": _pct(rtts, 0.99),
            "max": max(rtts, default=float("nan")),
            "seconds": time.perf_counter() - start,
        }

    async def drop(self) -> dict[str, Any]:
        await asyncio.gather(*(c.close() for c in self.clients.values()))
        return {"closed": len(self.clients)}

    async def reconnect(self) -> dict[str, Any]:
        ids = list(self.clients)
        self.clients.clear()
        start = time.perf_counter()
        # All at once, no gate: a storm (e.g. after a network outage).
        await asyncio.gather(*(self._up(i, session=False) for i in ids))
        return {"seconds": time.perf_counter() - start, "frames": self._frame_counts(ids)}

    async def close(self) -> dict[str, Any]:
        await asyncio.gather(*(c.close() for c in self.clients.values()))
        return {}


async def _worker(url: str) -> None:
    fleet = _Fleet(url)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        command = json.loads(line)
        op = command.pop("op")
        try:
            reply = await getattr(fleet, op)(**command)
        except Exception as err:  # noqa: BLE001 - reported to the HA side
            reply = {"error": repr(err)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        if op == "close":
            break


# --- the Home Assistant side ----------------------------------------------------------


class _Remote:
    """The station process, seen from the HA side."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def ask(self, op: str, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write((json.dumps({"op": op, **args}) + "\n").encode())
        await self.proc.stdin.drain()
        reply: dict[str, Any] = json.loads(await self.proc.stdout.readline())
        if "error" in reply:
            raise RuntimeError(f"station process, {op}: {reply['error']}")
        return reply


def _station_subentry(station_id: str) -> dict[str, Any]:
    return {
        "data": {
            "station_id": station_id,
            "model": "standard",
            "connectors": 1,
            "phases": "L1-L2-L3",
            "min_current": 6.0,
            "max_current": 32.0,
        },
        "subentry_id": f"st-{station_id}",
        "subentry_type": "station",
        "title": station_id,
        "unique_id": station_id,
    }


def _subentries(count: int) -> list[dict[str, Any]]:
    subs: list[dict[str, Any]] = [
        {
            "data": {"tag": "BENCH", "holder": "Bench", "status": "active"},
            "subentry_id": "badge",
            "subentry_type": "badge",
            "title": "Bench",
            "unique_id": "badge BENCH",
        }
    ]
    subs.extend(_station_subentry(f"BENCH-{i}") for i in range(count))
    subs.extend(badge_subentry(badge_of(f"BENCH-{i}")) for i in range(count))
    return subs


async def _wait(predicate: Any, within: float, step: float = 0.002) -> float:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > within:
            raise TimeoutError
        await asyncio.sleep(step)
    return time.perf_counter() - start


def _proc_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def _load(
    remote: _Remote,
    n: int,
    interval: float,
    duration: float,
    profile: bool,
    idle: float,
    cpu: Any = _cpu,
    rss: Any = _rss_mb,
    label: str = "in-process",
    threads: Any = None,
) -> None:
    """One window of MeterValues; `idle` is the in-process idle CPU (a process measured
    from outside has its own measured just before the window)."""
    profiler = cProfile.Profile() if profile and cpu is _cpu else None
    if label == "outside":
        await _between_statistics(QUIET_S + IDLE_WINDOW_S + duration)
    if cpu is not _cpu:
        # The process's CPU with every station connected and silent, just before the
        # window (pings, timers, the load-management cycle): what is not the messages'.
        await asyncio.sleep(QUIET_S)
        cpu0, wall0 = cpu(), time.perf_counter()
        await asyncio.sleep(IDLE_WINDOW_S)
        idle = (cpu() - cpu0) / (time.perf_counter() - wall0)
    threads0 = threads() if threads is not None else {}
    cpu0, wall0 = cpu(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    result = await remote.ask("run", interval=interval, duration=duration)
    if profiler is not None:
        profiler.disable()
    used, wall = cpu() - cpu0, time.perf_counter() - wall0
    threads1 = threads() if threads is not None else {}
    count = result["count"]
    expected = n * int(duration / interval)
    per_msg = used / count * 1000 if count else float("nan")
    net = (used - idle * wall) / count * 1000 if count else float("nan")
    core = used / wall * 100
    print(
        f"  [{label}] {n} stations every {interval:g} s, {wall:.0f} s window: "
        f"{count} MeterValues served (~{expected} due), {result['errors']} errors, "
        f"{result['late']} late"
    )
    who = "library" if label == "floor" else "HA"
    target = "the reference" if label == "floor" else f"target <= {TARGET_CPU_MS} ms"
    print(f"    {who + ' CPU per message':<20} {per_msg:7.3f} ms     ({target})")
    print(
        f"    ... net of idle      {net:7.3f} ms     (idle: {idle * 100:.2f} % of a core"
        + (f", the {IDLE_WINDOW_S:.0f} s before the window)" if cpu is not _cpu else ")")
    )
    print(
        f"    {who + ' CPU, one core':<20} {core:7.2f} %      "
        f"(target <= {TARGET_CORE_PCT} % at 500/10 s)"
    )
    print(
        f"    RTT p50 / p99 / max  {result['p50']:.1f} / {result['p99']:.1f} / "
        f"{result['max']:.1f} ms (target p99 <= {TARGET_RTT_P99_MS} ms)"
    )
    if threads1 and count:
        spent = {
            name: seconds - threads0.get(name, 0.0)
            for name, seconds in threads1.items()
            if seconds - threads0.get(name, 0.0) > 0
        }
        parts = ", ".join(
            f"{name} {seconds / count * 1000:.3f}"
            for name, seconds in sorted(spent.items(), key=lambda item: -item[1])[:5]
        )
        print(f"    ... by thread (ms per message): {parts}")
    print(f"    {who + ' RSS':<20} {rss():7.0f} MB")
    if profiler is not None:
        _print_profile(profiler)


async def _between_statistics(duration: float) -> None:
    """Start a window where it ends before the recorder's next statistics run.

    Every 5 minutes (on the clock) the recorder compiles statistics of every sensor with
    a state class: for 500 stations seconds of CPU, the same whatever the stations send
    (a cost per sensor, not per message). A window is started 20 s after such a run when
    it would otherwise include one.
    """
    slot = time.time() % 300.0
    if slot < 20.0 or slot + duration + 5.0 > 300.0:
        wait = (300.0 - slot) % 300.0 + 20.0
        print(f"    (waiting {wait:.0f} s: the window must not include a statistics run)")
        await asyncio.sleep(wait)


def _print_profile(profiler: cProfile.Profile) -> None:
    if dump := os.environ.get("CZ_PROFILE_DUMP"):  # for pstats, one file per window
        profiler.dump_stats(f"{dump}.{time.monotonic_ns()}")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(15)
    stats.sort_stats("cumulative").print_stats(
        r"charge_zones|ocpp/|jsonschema/validators|websockets/asyncio|homeassistant/core\.py",
        int(os.environ.get("CZ_PROFILE_LINES", "20")),
    )
    print("    cProfile of the HA event loop thread (tottime, then cumulative):")
    print("\n".join("      " + line for line in out.getvalue().splitlines() if line.strip()))


def _boot_lines(
    what: str, n: int, reply: dict[str, Any], used: float, idle: float, warnings: int | None
) -> None:
    seconds = reply["seconds"]
    per_boot = (used - idle * seconds) / n * 1000
    frames = ", ".join(f"{action} {count:g}" for action, count in reply["frames"].items())
    print(
        f"    {what} of {n}: all booted and configured in {seconds:.2f} s "
        f"(target <= {TARGET_STORM_S:g} s for 500)"
    )
    print(
        f"      HA CPU per boot {per_boot:6.2f} ms net of idle, {used / n * 1000:6.2f} ms "
        f"gross (target <= {TARGET_BOOT_CPU_MS:g} ms)"
    )
    print(f"      commands per station: {frames or 'none'}")
    if warnings is not None:
        print(f"      warnings logged by the integration: {warnings} (target 0)")


async def _storm(
    remote: _Remote, n: int, cpu: Any, idle: float, label: str, warnings: Any = None
) -> None:
    await remote.ask("drop")
    await asyncio.sleep(2.0)
    before = warnings() if warnings is not None else 0
    cpu0 = cpu()
    wall0 = time.perf_counter()
    reply = await remote.ask("reconnect")
    used = cpu() - cpu0
    print(f"  [{label}] reconnect storm (every station at once, each keeping what it holds)")
    _boot_lines(
        "storm", n, reply, used, idle, warnings() - before if warnings is not None else None
    )
    settled = await settle(cpu)
    total = cpu() - cpu0 - idle * (time.perf_counter() - wall0)
    print(
        f"      with the work left after it ({settled:.0f} s): {total / n * 1000:.2f} ms per boot"
    )


async def _additions(remote: _Remote, hass: Any, entry: Any, n: int, count: int) -> None:
    from homeassistant.config_entries import ConfigSubentry  # noqa: PLC0415

    site = entry.runtime_data
    await asyncio.sleep(2.0)
    times = []
    for k in range(count):
        before = {sid: s.connection for sid, s in site.stations.items() if s.connected}
        station_id = f"BENCH-ADD-{k}"
        spec = _station_subentry(station_id)
        subentry = ConfigSubentry(
            data=MappingProxyType(spec["data"]),
            subentry_type="station",
            title=station_id,
            unique_id=station_id,
        )
        start = time.perf_counter()
        hass.config_entries.async_add_subentry(entry, subentry)
        await _wait(lambda sid=subentry.subentry_id: sid in site.stations, 10, 0.0005)
        await remote.ask("connect", ids=[station_id], session=False)
        times.append(time.perf_counter() - start)
        dropped = sum(
            1
            for sid, conn in before.items()
            if sid not in site.stations or site.stations[sid].connection is not conn
        )
        print(
            f"    station #{n + k + 1}: {times[-1] * 1000:6.1f} ms from add_subentry to booted; "
            f"{dropped} others disconnected"
        )
        await hass.async_block_till_done()
        await asyncio.sleep(0.3)
    print(
        f"  adding a station: median {statistics.median(times) * 1000:.1f} ms, "
        f"max {max(times) * 1000:.1f} ms (target <= {TARGET_ADD_S * 1000:.0f} ms, flat in n)"
    )


class _WarningCount(logging.Handler):
    """Counts the integration's records at WARNING and above (in-process)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "charge_zones" in record.name:
            self.count += 1


async def _spawn(url: str) -> tuple[asyncio.subprocess.Process, _Remote]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.stations",
        "--worker",
        url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    return proc, _Remote(proc)


async def _end(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    await proc.wait()


def _options(sensor_interval: int | None) -> dict[str, Any]:
    """The hub's options: the product's defaults, or a given sensor update interval."""
    return {} if sensor_interval is None else {"sensor_update_interval": sensor_interval}


async def _site(n: int, quick: bool, profile: bool, sensor_interval: int | None = None) -> None:
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        MockConfigEntry,
        async_test_home_assistant,
    )

    from homeassistant import loader  # noqa: PLC0415
    from homeassistant.setup import async_setup_component  # noqa: PLC0415

    port = _free_port()
    url = f"ws://127.0.0.1:{port}"
    label = "in-process"
    print(f"--- {n} stations, {label} (Home Assistant's test harness in this process) ---")
    counter = _WarningCount()
    logging.getLogger().addHandler(counter)
    with tempfile.TemporaryDirectory() as config_dir:
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)
            # The integration needs http (its remote endpoint): on loopback, a free port.
            http = {"server_host": ["127.0.0.1"], "server_port": _free_port()}
            assert await async_setup_component(hass, "http", {"http": http})
            entry = MockConfigEntry(
                domain="charge_zones",
                data={"host": "127.0.0.1", "port": port},
                options=_options(sensor_interval),
                subentries_data=_subentries(n),
            )
            entry.add_to_hass(hass)
            rss0 = _rss_mb()
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            proc, remote = await _spawn(url)
            try:
                ids = [f"BENCH-{i}" for i in range(n)]
                cpu0, wall0 = _cpu(), time.perf_counter()
                await asyncio.sleep(2.0)
                idle = (_cpu() - cpu0) / (time.perf_counter() - wall0)
                before, cpu0 = counter.count, _cpu()
                profiler = cProfile.Profile() if profile else None
                if profiler is not None:
                    profiler.enable()
                up = await remote.ask("connect", ids=ids, session=False)
                if profiler is not None:
                    profiler.disable()
                used = _cpu() - cpu0
                print(f"  [{label}] first boot (50 stations at a time)")
                _boot_lines("boot", n, up, used, idle, counter.count - before)
                if profiler is not None:
                    _print_profile(profiler)
                await remote.ask("sessions")
                await hass.async_block_till_done()
                await asyncio.sleep(3.0 if quick else 5.0)
                print(f"  HA RSS {rss0:.0f} MB before setup, {_rss_mb():.0f} MB now")
                cpu0, wall0 = _cpu(), time.perf_counter()
                await asyncio.sleep(5.0)
                idle = (_cpu() - cpu0) / (time.perf_counter() - wall0)
                # Long enough for the sensor update interval's steady state (30 s by default).
                slow = 20.0 if quick else 60.0
                await _load(remote, n, 10.0, slow, profile, idle)
                if n <= 100:
                    await _load(remote, n, 1.0, 10.0 if quick else 20.0, profile, idle)
                await _storm(remote, n, _cpu, idle, label, lambda: counter.count)
                await hass.async_block_till_done()
                await _additions(remote, hass, entry, n, 3 if quick else 10)
                await remote.ask("close")
            finally:
                await _end(proc)
            assert await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            await hass.async_stop(force=True)
    logging.getLogger().removeHandler(counter)
    print(
        f"  HA max RSS over the run {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


async def _floor(n: int, quick: bool) -> None:
    """The same load against the bare `ocpp` library (benchmarks/floor.py), the target's
    reference: what answering MeterValues costs with no Home Assistant and no schema check."""
    from benchmarks.hass_process import cpu_seconds  # noqa: PLC0415

    port = _free_port()
    print(
        f"--- {n} stations, the ocpp library's floor (a bare central system, no schema check) ---"
    )
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.floor", "--port", str(port)
    )
    try:
        await _wait_port(port)

        def cpu() -> float:
            return cpu_seconds(server.pid)

        proc, remote = await _spawn(f"ws://127.0.0.1:{port}")
        try:
            await remote.ask("connect", ids=[f"BENCH-{i}" for i in range(n)], configured=False)
            await asyncio.sleep(2.0)
            cpu0, wall0 = cpu(), time.perf_counter()
            await asyncio.sleep(3.0)
            idle = (cpu() - cpu0) / (time.perf_counter() - wall0)
            label = "floor"
            await _load(
                remote,
                n,
                10.0,
                20.0 if quick else 60.0,
                False,
                idle,
                cpu,
                lambda: _proc_rss_mb(server.pid),
                label,
            )
            if n <= 100:
                await _load(
                    remote,
                    n,
                    1.0,
                    10.0 if quick else 60.0,
                    False,
                    idle,
                    cpu,
                    lambda: _proc_rss_mb(server.pid),
                    label,
                )
            await remote.ask("close")
        finally:
            await _end(proc)
    finally:
        server.terminate()
        await server.wait()


async def _wait_port(port: int, within: float = 30.0) -> None:
    deadline = time.perf_counter() + within
    while True:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.perf_counter() > deadline:
                raise
            await asyncio.sleep(0.1)
        else:
            writer.close()
            return


async def _outside(n: int, quick: bool, sensor_interval: int | None = None) -> None:
    """The same against a real Home Assistant process."""
    from benchmarks.hass_process import HassProcess, write_config  # noqa: PLC0415

    port = _free_port()
    url = f"ws://127.0.0.1:{port}"
    label = "outside"
    shown = "default" if sensor_interval is None else f"{sensor_interval} s"
    print(
        f"--- {n} stations, {label} (a real Home Assistant process; "
        f"sensor update interval {shown}) ---"
    )
    with tempfile.TemporaryDirectory(prefix="cz-stations-") as tmp:
        config_dir = Path(tmp)
        ids = [f"BENCH-{i}" for i in range(n)]
        write_config(config_dir, port, ids, options=_options(sensor_interval))
        hass = HassProcess(config_dir, port)
        started = await hass.start()
        print(f"  Home Assistant up (OCPP port open) in {started:.1f} s, pid {hass.pid}")

        def rss() -> float:
            return _proc_rss_mb(hass.pid)

        def warnings() -> int:
            return len(hass.warnings())

        proc, remote = await _spawn(url)
        try:
            # The rest of Home Assistant's start (a first start registers every
            # station's entities and the recorder catches up): a user's stations
            # boot into a settled Home Assistant.
            await asyncio.sleep(5.0)
            settled = await settle(hass.cpu, within=300.0)
            print(f"  Home Assistant settled {settled:.0f} s after its port opened")
            cpu0, wall0 = hass.cpu(), time.perf_counter()
            await asyncio.sleep(5.0)
            idle = (hass.cpu() - cpu0) / (time.perf_counter() - wall0)
            before, cpu0 = warnings(), hass.cpu()
            wall0 = time.perf_counter()
            up = await remote.ask("connect", ids=ids, session=False)
            used = hass.cpu() - cpu0
            print(f"  [{label}] first boot (50 stations at a time)")
            _boot_lines("boot", n, up, used, idle, warnings() - before)
            settled = await settle(hass.cpu)
            total = hass.cpu() - cpu0 - idle * (time.perf_counter() - wall0)
            print(
                f"      with the work left after it ({settled:.0f} s: device registry, "
                f"recorder, stores): {total / n * 1000:.2f} ms per boot"
            )
            await remote.ask("sessions")
            settled = await settle(hass.cpu)
            print(f"  HA RSS {rss():.0f} MB; busy {settled:.0f} s after the boots and sessions")
            cpu0, wall0 = hass.cpu(), time.perf_counter()
            await asyncio.sleep(5.0)
            idle = (hass.cpu() - cpu0) / (time.perf_counter() - wall0)
            # Long enough for the sensor update interval's steady state (30 s by default)
            # and, from outside, for Home Assistant's full garbage collections at their own
            # rate (at 500 stations about one every 2-3 minutes, 0.5-1.1 s of CPU each,
            # mostly the recorder's garbage): a 60 s window holds one or none, and its
            # figure swung by a third with that.
            slow = 20.0 if quick else OUTSIDE_WINDOW_S
            await _load(remote, n, 10.0, slow, False, idle, hass.cpu, rss, label, hass.threads)
            if n <= 100:
                await _load(
                    remote,
                    n,
                    1.0,
                    10.0 if quick else 60.0,
                    False,
                    idle,
                    hass.cpu,
                    rss,
                    label,
                    hass.threads,
                )
            await _storm(remote, n, hass.cpu, idle, label, warnings)
            await remote.ask("close")
        finally:
            await _end(proc)
            hass.stop()
        for line in hass.warnings()[:10]:
            print(f"    logged: {line[:200]}")


async def main(
    counts: list[int],
    quick: bool,
    profile: bool,
    only: str | None,
    sensor_interval: int | None = None,
) -> None:
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores)")
    for n in counts:
        if only in (None, "floor"):
            await _floor(n, quick)
        if only in (None, "outside"):
            await _outside(n, quick, sensor_interval)
        if only in (None, "inside"):
            await _site(n, quick, profile, sensor_interval)
    load = os.getloadavg()
    print(f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, nargs="+", default=None)
    parser.add_argument("--quick", action="store_true", help="50 stations, short windows")
    parser.add_argument("--profile", action="store_true", help="cProfile the load windows")
    parser.add_argument("--only", choices=["outside", "inside", "floor"], default=None)
    parser.add_argument(
        "--sensor-interval",
        type=int,
        default=None,
        help="the hub's sensor update interval (s; default: the product's default, 0: every reading)",
    )
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(_worker(args.worker))
    else:
        counts = args.stations or ([50] if args.quick else [100, 500])
        asyncio.run(main(counts, args.quick, args.profile, args.only, args.sensor_interval))
