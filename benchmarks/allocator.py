"""Allocator cost per cycle: 1,000 stations in 50 zones nested two deep.

Run: .venv/bin/python -m benchmarks.allocator
Target: <= 2 ms per cycle (every station of every zone recomputed).
"""

from __future__ import annotations

import random
import statistics
import time

from custom_components.charge_zones.dlm.allocate import Demand, Node, allocate, fixed_node

TARGET_MS = 2.0


def site(
    stations: int = 1000, groups: int = 10, zones_per_group: int = 5, seed: int = 1
) -> tuple[dict[str, Node], list[Demand]]:
    """A building: main supply, groups (e.g. garages), zones (breakers) in each."""
    rng = random.Random(seed)
    nodes: dict[str, Node] = {"main": fixed_node("main", 1200)}
    zones = []
    for g in range(groups):
        nodes[f"g{g}"] = Node(f"g{g}", (250.0, 250.0, 250.0), ("main",))
        for z in range(zones_per_group):
            key = f"z{g}-{z}"
            nodes[key] = Node(key, (63.0, 63.0, 63.0), (f"g{g}",))
            zones.append(key)
    demands = []
    for i in range(stations):
        single = rng.random() < 0.2
        car = rng.random() < 0.3
        demands.append(
            Demand(
                key=f"s{i}",
                node=zones[i % len(zones)],
                phases=(rng.randrange(3),) if single else (0, 1, 2),
                min_current=6.0,
                max_current=round(rng.uniform(8, 16), 1) if car else 16.0,
                car_limited=car,
                served=rng.uniform(0, 7200),
                running=rng.random() < 0.9,
            )
        )
    return nodes, demands


def main() -> None:
    nodes, demands = site()
    for _ in range(5):
        allocate(nodes, demands)
    samples = []
    for _ in range(50):
        start = time.perf_counter()
        allocate(nodes, demands)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(
        f"allocator, 1000 stations / 50 zones / 2 levels: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
        f"per cycle (target <= {TARGET_MS} ms)"
    )


if __name__ == "__main__":
    main()
