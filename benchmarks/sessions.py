"""Start/Stop round trips with a long session history, and kill -9 cycles, measured outside.

A real Home Assistant process (``benchmarks.hass_process``) runs a hub whose session
history already holds ``--history`` closed sessions (100,000 by default, written into the
hub's SQLite history before it starts). Stations run in this process (``StationClient``,
OCPP 1.6J over real websockets).

1. Round trips: one station charges ``--transactions`` times (StartTransaction, one
   MeterValues, StopTransaction; a transaction every 0.3 s, under the hub's frame
   throttle of 20 frames a second per station); the time from sending Start (Stop) to its answer, p50 /
   p99 / max, and Home Assistant's CPU per transaction from /proc/<pid>/stat.
   Target: Start and Stop round trip <= 10 ms with 100,000 sessions in the history.
2. ``--kill-cycles K``: stations charge continuously while Home Assistant is killed with
   SIGKILL at random moments and started again, K times; a station resends what was not
   answered (the same StartTransaction / StopTransaction) after it reconnects, as real
   stations queue them. At the end, from the files on disk: every session a station saw
   started and stopped is in the history exactly once, with the energy the station
   counted, to the Wh. Target: 0 lost, 0 duplicated, 0 Wh off.

Run: .venv/bin/python -m benchmarks.sessions [--history 100000] [--transactions 200]
     [--kill-cycles 10] (Home Assistant needs its default integrations' requirements:
     ``CZ_HASS_PYTHON=/path/to/python`` names an interpreter that has them, see
     ``benchmarks/hass_process.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
import json
import os
from pathlib import Path
import random
import statistics
import sys
import tempfile
import time
from typing import Any

from benchmarks.hass_process import HassProcess, free_port, settle, write_config

TARGET_RTT_MS = 10.0
PACE = 0.3  # s per transaction (3 frames): 10 frames a second
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(len(ordered) * q) - 1))]


def _history_path(config_dir: Path, entry_id: str) -> Path:
    return config_dir / ".storage" / f"charge_zones.{entry_id}.history.db"


def fill_history(config_dir: Path, entry_id: str, count: int, holders: int = 300) -> float:
    """Write count closed sessions (a year of a building) into the hub's history."""
    from custom_components.charge_zones.history import SessionHistory  # noqa: PLC0415

    history = SessionHistory(_history_path(config_dir, entry_id))
    begin = time.perf_counter()
    start = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365) / max(count, 1)
    batch: list[dict[str, Any]] = []
    for n in range(count):
        started = start + step * n
        batch.append(
            {
                "transaction_id": n + 1,
                "station_id": f"OLD-{n % 500}",
                "connector_id": 1,
                "id_tag": f"TAG-{n % holders}",
                "holder": f"Resident {n % holders}",
                "auth_status": "Accepted",
                "started_at": started.isoformat(),
                "meter_start": n * 10,
                "stopped_at": (started + timedelta(hours=2)).isoformat(),
                "meter_stop": n * 10 + 7_000,
                "stop_reason": "Local",
                "last_meter": float(n * 10 + 7_000),
                "last_meter_at": (started + timedelta(hours=2)).isoformat(),
                "flags": [],
                "billed": True,
            }
        )
        if len(batch) == 5_000:
            history.append(batch)
            batch = []
    history.append(batch)
    history.close()
    os.sync()  # on disk, as a history built over a year would be
    return time.perf_counter() - begin


def _sampled(register: int) -> list[dict[str, Any]]:
    return [
        {"value": str(register), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "16", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
    ]


async def round_trips(hass: HassProcess, url: str, transactions: int) -> None:
    """One station charging again and again; Start/Stop round trips and HA CPU."""
    from simulator.station import StationClient  # noqa: PLC0415

    client = StationClient(url, "SESS-0")
    station = await client.connect()
    await station.boot()
    await settle(hass.cpu)  # its configuration after the boot
    starts: list[float] = []
    stops: list[float] = []
    register = 0
    cpu0, wall0 = hass.cpu(), time.perf_counter()
    for _ in range(transactions):
        # At a station's pace: the hub throttles a station sending more than 20 frames
        # a second (bursts of 100), and back-to-back transactions measured that wait.
        await asyncio.sleep(max(0.0, PACE - (time.perf_counter() - wall0) % PACE))
        sent = time.perf_counter()
        started = await station.start_transaction(1, "BENCH", register)
        starts.append((time.perf_counter() - sent) * 1000)
        register += 500
        await station.meter_values(1, _sampled(register), started.transaction_id)
        sent = time.perf_counter()
        await station.stop_transaction(started.transaction_id, register, id_tag="BENCH")
        stops.append((time.perf_counter() - sent) * 1000)
    cpu, wall = hass.cpu() - cpu0, time.perf_counter() - wall0
    await client.close()
    for name, rtts in (("StartTransaction", starts), ("StopTransaction", stops)):
        print(
            f"  {name:16} round trip p50 {statistics.median(rtts):6.2f} ms, "
            f"p99 {_pct(rtts, 0.99):6.2f} ms, max {max(rtts):6.2f} ms "
            f"(target <= {TARGET_RTT_MS:g} ms)"
        )
    print(
        f"  HA CPU per transaction (Start + MeterValues + Stop): "
        f"{cpu / transactions * 1000:.2f} ms over {wall:.1f} s"
    )


class _Charger:
    """A station charging again and again, resending what was not answered."""

    def __init__(self, url: str, station_id: str, rng: random.Random) -> None:
        self.url = url
        self.station_id = station_id
        self.rng = rng
        self.register = 0
        self.sessions: dict[int, int] = {}  # transaction id -> energy (Wh), stopped
        self.open: tuple[int, int] | None = None  # (transaction id, meter start)
        self.resent = 0
        self.client: Any = None

    async def _station(self) -> Any:
        from simulator.station import StationClient  # noqa: PLC0415

        while True:
            if self.client is not None and self.client.connection is not None:
                if self.client.connection.state.name == "OPEN":
                    return self.client.station
                await self.client.close()
            self.client = StationClient(self.url, self.station_id)
            try:
                await self.client.connect()
            except OSError:
                await asyncio.sleep(0.5)
                continue
            return self.client.station

    async def _send(self, what: str, **kwargs: Any) -> Any:
        """Send until answered (a station's queue)."""
        first = True
        while True:
            station = await self._station()
            try:
                return await asyncio.wait_for(getattr(station, what)(**kwargs), 5)
            except Exception:  # noqa: BLE001 - connection lost: resend after reconnect
                if first:
                    self.resent += 1
                    first = False
                with contextlib.suppress(Exception):
                    await self.client.close()
                self.client = None
                await asyncio.sleep(0.3)

    async def run(self, until: asyncio.Event) -> None:
        while not until.is_set():
            meter_start = self.register
            stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            started = await self._send(
                "start_transaction",
                connector_id=1,
                id_tag="BENCH",
                meter_start=meter_start,
                timestamp=stamp,
            )
            tid = int(started.transaction_id)
            self.open = (tid, meter_start)
            for _ in range(self.rng.randint(1, 3)):
                self.register += self.rng.randint(1, 900)
                await self._send(
                    "meter_values",
                    connector_id=1,
                    sampled_values=_sampled(self.register),
                    transaction_id=tid,
                )
                await asyncio.sleep(self.rng.random() * 0.2)
            self.register += self.rng.randint(0, 50)
            stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            await self._send(
                "stop_transaction",
                transaction_id=tid,
                meter_stop=self.register,
                id_tag="BENCH",
                timestamp=stamp,
            )
            self.sessions[tid] = self.register - meter_start
            self.open = None
            # Ids never repeat: a new start gets a new one.
            self.register += 1

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()


def _on_disk(config_dir: Path, entry_id: str) -> tuple[dict[tuple[str, int], dict[str, Any]], Any]:
    """The closed sessions on disk: in the history and waiting in the small store."""
    import sqlite3  # noqa: PLC0415

    # Keyed by station and transaction id as text (stored as text since ids became text;
    # as numbers by earlier versions).
    found: dict[tuple[str, str], dict[str, Any]] = {}
    db = sqlite3.connect(_history_path(config_dir, entry_id))
    for (data,) in db.execute("SELECT data FROM sessions WHERE station_id LIKE 'KILL-%'"):
        record = json.loads(data)
        found[(record["station_id"], str(record["transaction_id"]))] = record
    db.close()
    store = json.loads((config_dir / ".storage" / f"charge_zones.{entry_id}.sessions").read_text())[
        "data"
    ]
    for record in store.get("pending", []):
        found[(record["station_id"], str(record["transaction_id"]))] = record
    return found, store


async def kill_cycles(
    config_dir: Path, entry_id: str, port: int, cycles: int, stations: int, seed: int
) -> None:
    """Stations charge while Home Assistant is killed and restarted; then count on disk."""
    rng = random.Random(seed)
    url = f"ws://127.0.0.1:{port}"
    hass = HassProcess(config_dir, port)
    await hass.start()
    chargers = [_Charger(url, f"KILL-{i}", random.Random(seed + i)) for i in range(stations)]
    done = asyncio.Event()
    tasks = [asyncio.create_task(c.run(done)) for c in chargers]
    try:
        for cycle in range(cycles):
            await asyncio.sleep(1.0 + rng.random() * 4.0)
            hass.kill()
            print(f"    kill -9 #{cycle + 1}", flush=True)
            await asyncio.sleep(rng.random())
            await hass.start()
        await asyncio.sleep(3.0)
        done.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
    finally:
        for task in tasks:
            task.cancel()
        for charger in chargers:
            await charger.close()
        hass.stop()
    found, store = _on_disk(config_dir, entry_id)
    lost = duplicated = wrong_wh = 0
    truth = {(c.station_id, str(tid)): wh for c in chargers for tid, wh in c.sessions.items()}
    for key, energy in truth.items():
        record = found.get(key)
        if record is None:
            lost += 1
        elif record["meter_stop"] - record["meter_start"] != energy:
            wrong_wh += 1
    phantoms = [key for key in found if key not in truth]
    open_left = [s for s in store.get("open", []) if str(s["station_id"]).startswith("KILL-")]
    duplicated = len(phantoms) + len(open_left)
    resent = sum(c.resent for c in chargers)
    print(
        f"  {cycles} kill -9 cycles, {stations} stations: {len(truth)} sessions, "
        f"{resent} messages resent after a kill; lost {lost}, duplicated {duplicated}, "
        f"wrong energy {wrong_wh} (target 0 / 0 / 0)"
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="cz-sessions-") as tmp:
        config_dir = Path(tmp)
        port = free_port()
        ids = [f"SESS-{i}" for i in range(1)] + [f"KILL-{i}" for i in range(args.stations)]
        entry_id = write_config(config_dir, port, ids, recorder=not args.no_recorder)
        filled = fill_history(config_dir, entry_id, args.history, args.holders)
        print(f"history of {args.history} closed sessions written in {filled:.1f} s")
        load = os.getloadavg()
        print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores)")
        hass = HassProcess(config_dir, port)
        started = await hass.start()
        print(f"Home Assistant up (OCPP port open) in {started:.1f} s")
        # The rest of its start (a first start registers every holder's and station's
        # entities, the recorder catches up): a station charges in a settled one.
        quiet = await settle(hass.cpu, within=300.0)
        print(f"Home Assistant settled {quiet:.0f} s after its port opened")
        try:
            await round_trips(hass, f"ws://127.0.0.1:{port}", args.transactions)
        finally:
            hass.stop()
        if args.kill_cycles:
            await kill_cycles(
                config_dir, entry_id, port, args.kill_cycles, args.stations, args.seed
            )
        load = os.getloadavg()
        print(f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--transactions", type=int, default=200)
    parser.add_argument("--kill-cycles", type=int, default=0)
    parser.add_argument("--stations", type=int, default=5, help="stations in the kill cycles")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--holders", type=int, default=300, help="badge holders in the history")
    parser.add_argument("--no-recorder", action="store_true", help="without the recorder")
    asyncio.run(main(parser.parse_args()))
