"""DLM reaction time through the real integration in a real Home Assistant.

100 simulated stations (OCPP over websockets) in 5 zones, each zone behind its own
SDM630 DLM meter served by pymodbus on 127.0.0.1 and polled every second. A step in the
commons load of every meter at once; measured: from the step to the last affected
station holding its new (lower) limit. Printed, not asserted.

The stations send no MeterValues (their cars draw nothing): once their first readings are
overdue (two sample intervals + 5 s after the session starts) what the meter shows is
other load, and a step must cut them. Within that window a meter rise up to the new
sessions' limits is taken as their cars starting (README, "How the current is shared"), so
the steps are measured after it, from the steady state of a building.

Run: .venv/bin/python -m benchmarks.dlm_reaction [--steps 20]
Target: p99 <= 1.5 s (physical floor: one poll + one Modbus read + one OCPP round trip).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from typing import Any

from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from homeassistant import loader
from homeassistant.setup import async_setup_component
from simulator.meter import SimulatedMeter
from simulator.station import SimulatedStation, StationClient

ZONES = 5
PER_ZONE = 20
TARGET_P99 = 1.5
SAMPLE_INTERVAL = 2  # s: the first-reading window is 2 x 2 + 5 s


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _subentries(meter_port: int) -> list[dict[str, Any]]:
    subs: list[dict[str, Any]] = [
        {
            "data": {"name": "Bus", "kind": "tcp", "host": "127.0.0.1", "port": meter_port},
            "subentry_id": "bus",
            "subentry_type": "connection",
            "title": "Bus",
            "unique_id": "connection bus",
        },
    ]
    # A badge per station: one badge charging in two places is refused (ConcurrentTx).
    subs += [
        {
            "data": {"tag": f"BENCH-{z}-{s}", "holder": "Bench", "status": "active"},
            "subentry_id": f"badge-{z}-{s}",
            "subentry_type": "badge",
            "title": f"Bench {z}-{s}",
            "unique_id": f"badge BENCH-{z}-{s}",
        }
        for z in range(ZONES)
        for s in range(PER_ZONE)
    ]
    for z in range(ZONES):
        subs.append(
            {
                "data": {
                    "name": f"Meter {z}",
                    "connection": "bus",
                    "unit": z + 1,
                    "meter_model": "sdm630",
                    "amperage": 400.0,
                    "poll_interval": 1.0,
                },
                "subentry_id": f"meter{z}",
                "subentry_type": "meter",
                "title": f"Meter {z}",
                "unique_id": f"meter bus {z + 1}",
            }
        )
        subs.append(
            {
                "data": {
                    "name": f"Zone {z}",
                    "max_current": 400.0,
                    "zone_phases": "L1-L2-L3",
                    "dlm_meters": [f"meter{z}"],
                    "failsafe_current": 6.0,
                    "stale_after": 10.0,
                },
                "subentry_id": f"zone{z}",
                "subentry_type": "zone",
                "title": f"Zone {z}",
                "unique_id": f"zone zone {z}",
            }
        )
        for s in range(PER_ZONE):
            station_id = f"BENCH-{z}-{s}"
            subs.append(
                {
                    "data": {
                        "station_id": station_id,
                        "model": "standard",
                        "connectors": 1,
                        "phases": "L1-L2-L3",
                        "min_current": 6.0,
                        "max_current": 32.0,
                        "zone": f"zone{z}",
                    },
                    "subentry_id": f"st-{station_id}",
                    "subentry_type": "station",
                    "title": station_id,
                    "unique_id": station_id,
                }
            )
    return subs


def _limit(station: SimulatedStation) -> float | None:
    profile = station.state.profiles.get(1)
    if profile is None:
        return None
    return float(profile["charging_schedule"]["charging_schedule_period"][0]["limit"])


async def _wait(predicate: Any, within: float) -> float:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > within:
            raise TimeoutError
        await asyncio.sleep(0.005)
    return time.perf_counter()


async def main(steps: int) -> None:
    meter = SimulatedMeter("sdm630", unit=1)
    for z in range(1, ZONES):
        meter.add_unit("sdm630", z + 1)
    for unit in meter.units.values():
        unit.set_currents(40, 40, 40)  # 360 A of room per zone: 18 A each
    await meter.start()
    port = _free_port()
    with tempfile.TemporaryDirectory() as config_dir:
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)
            # The integration needs http (its remote endpoint): on loopback, a free port.
            http = {"server_host": ["127.0.0.1"], "server_port": _free_port()}
            assert await async_setup_component(hass, "http", {"http": http})
            entry = MockConfigEntry(
                domain="charge_zones",
                data={"host": "127.0.0.1", "port": port},
                options={"raise_hold": 1.0, "meter_value_sample_interval": SAMPLE_INTERVAL},
                subentries_data=_subentries(meter.port),
            )
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            clients = []
            stations = []
            for z in range(ZONES):
                for s in range(PER_ZONE):
                    client = StationClient(f"ws://127.0.0.1:{port}", f"BENCH-{z}-{s}")
                    station = await client.connect()
                    await station.boot()
                    await station.start_transaction(1, f"BENCH-{z}-{s}", 0)
                    clients.append(client)
                    stations.append(station)
            await _wait(lambda: all(_limit(s) == 18.0 for s in stations), 60)
            # Past every session's first-reading window (see above).
            await asyncio.sleep(2 * SAMPLE_INTERVAL + 5 + 2.0)
            reactions = []
            rng = random.Random(7)
            for _ in range(steps):
                for unit in meter.units.values():
                    unit.set_currents(100, 100, 100)  # 300 A of room: 15 A each
                start = time.perf_counter()
                end = await _wait(lambda: all(_limit(s) == 15.0 for s in stations), 10)
                reactions.append(end - start)
                for unit in meter.units.values():
                    unit.set_currents(40, 40, 40)
                await _wait(lambda: all(_limit(s) == 18.0 for s in stations), 30)
                # Let the readings settle after our own change (settle time = hold = 1 s):
                # the step is measured from a steady state, as in a building.
                # A random phase against the meters' poll grid, as a real step has.
                await asyncio.sleep(2.0 + rng.random())
            for client in clients:
                await client.close()
            assert await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            await hass.async_stop(force=True)
    await meter.stop()
    reactions.sort()
    p50 = statistics.median(reactions)
    p99 = reactions[max(0, int(len(reactions) * 0.99) - 1)]
    print(
        f"DLM reaction, {ZONES * PER_ZONE} stations / {ZONES} zones / 1 s poll, {steps} steps: "
        f"p50 {p50:.2f} s, p99 {p99:.2f} s, max {reactions[-1]:.2f} s "
        f"(target p99 <= {TARGET_P99} s)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    asyncio.run(main(parser.parse_args().steps))
