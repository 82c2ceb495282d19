"""The allocator: examples and properties (hypothesis)."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.charge_zones.dlm.allocate import (
    Allocation,
    Demand,
    Node,
    Reason,
    Settings,
    allocate,
    ancestors,
    fixed_node,
)

THREE = (0, 1, 2)


def demand(key: str, node: str = "zone", phases: tuple[int, ...] = THREE, **kw: object) -> Demand:
    base: dict[str, object] = {"min_current": 6.0, "max_current": 16.0, "running": True}
    base.update(kw)
    return Demand(key=key, node=node, phases=phases, **base)  # type: ignore[arg-type]


def test_equal_shares_under_a_full_zone() -> None:
    nodes = {"zone": fixed_node("zone", 32)}
    result = allocate(nodes, [demand("a"), demand("b"), demand("c")])
    assert {k: v.limit for k, v in result.items()} == {"a": 10.6, "b": 10.6, "c": 10.6}
    assert all(v.reason is Reason.FAIR_SHARE and v.node == "zone" for v in result.values())


def test_room_for_everyone_gives_station_max() -> None:
    nodes = {"zone": fixed_node("zone", 63)}
    result = allocate(nodes, [demand("a"), demand("b", max_current=11.0, car_limited=True)])
    assert result["a"] == Allocation(16.0, Reason.STATION_MAX)
    assert result["b"] == Allocation(11.0, Reason.CAPPED_BY_CAR)


def test_car_taking_less_leaves_room_to_others() -> None:
    nodes = {"zone": fixed_node("zone", 32)}
    result = allocate(
        nodes, [demand("a", max_current=32), demand("b", max_current=12, car_limited=True)]
    )
    assert result["b"].limit == 12
    assert result["a"].limit == 20


def test_single_phase_on_l2_unaffected_by_full_l1() -> None:
    """A station on L2 keeps charging when L1 is full."""
    nodes = {"zone": Node("zone", (12.0, 32.0, 32.0))}
    result = allocate(
        nodes,
        [
            demand("three"),
            demand("mono_l1", phases=(0,)),
            demand("mono_l2", phases=(1,), max_current=32),
        ],
    )
    assert result["three"].limit == 6.0
    assert result["mono_l1"].limit == 6.0
    # L2 carries the three-phase station's 6 A; the rest is for the L2 station.
    assert result["mono_l2"].limit == 26.0


def test_pause_and_rotation() -> None:
    """Short of minimums, the least served pause last; running sessions get a bonus."""
    nodes = {"zone": fixed_node("zone", 16)}
    sessions = [
        demand("long", served=3000.0),
        demand("short", served=100.0),
        demand("waiting", served=0.0, running=False),
    ]
    result = allocate(nodes, sessions, Settings(running_bonus=900))
    # "waiting" (0 s) goes before "long" (3000 - 900 s) but after "short" (100 - 900 s).
    assert result["short"].limit >= 6
    assert result["waiting"].limit >= 6
    # Paused, and by which node (shown to the user as why).
    assert result["long"] == Allocation(0.0, Reason.PAUSED, "zone")


def test_paused_session_needs_restart_margin() -> None:
    nodes = {"zone": fixed_node("zone", 18.5)}
    waiting = demand("waiting", running=False)
    result = allocate(nodes, [demand("a"), demand("b"), waiting], Settings(restart_margin=1.0))
    assert result["waiting"].reason is Reason.PAUSED  # 6.5 free < 6 + 1
    result = allocate(nodes, [demand("a"), demand("b"), demand("c")])
    assert all(a.limit >= 6 for a in result.values())


def test_nested_zones_and_shared_supply() -> None:
    """Two parkings behind one building supply: the supply's room is shared, not doubled."""
    nodes = {
        "building": fixed_node("building", 40),
        "north": Node("north", (32.0,) * 3, ("building",)),
        "south": Node("south", (32.0,) * 3, ("building",)),
    }
    sessions = [demand(f"n{i}", node="north") for i in range(3)] + [
        demand(f"s{i}", node="south") for i in range(2)
    ]
    result = allocate(nodes, sessions)
    assert sum(a.limit for a in result.values()) <= 40
    assert {a.limit for a in result.values()} == {8.0}
    assert all(a.node == "building" for a in result.values())


def test_zone_without_room_pauses_everyone() -> None:
    nodes = {"zone": fixed_node("zone", 0)}
    result = allocate(nodes, [demand("a")])
    assert result["a"].reason is Reason.PAUSED


def test_cycles_and_unknown_nodes_rejected() -> None:
    nodes = {"a": Node("a", (1.0,) * 3, ("b",)), "b": Node("b", (1.0,) * 3, ("a",))}
    with pytest.raises(ValueError, match="cycle"):
        ancestors(nodes, "a")
    with pytest.raises(ValueError, match="unknown"):
        allocate({}, [demand("x", node="nowhere")])


def test_large_site_is_consistent() -> None:
    """1,000 stations in 50 zones nested two deep: nothing over any capacity."""
    nodes: dict[str, Node] = {"main": fixed_node("main", 800)}
    for group in range(10):
        nodes[f"g{group}"] = Node(f"g{group}", (250.0,) * 3, ("main",))
        for zone in range(5):
            key = f"z{group}-{zone}"
            nodes[key] = Node(key, (63.0,) * 3, (f"g{group}",))
    sessions = [
        demand(
            f"s{i}", node=f"z{(i // 20) % 10}-{i % 5}", phases=((i % 3,) if i % 4 == 0 else THREE)
        )
        for i in range(1000)
    ]
    result = allocate(nodes, sessions)
    _check_invariants(nodes, sessions, result, Settings())


# --- properties -------------------------------------------------------------------


def _check_invariants(
    nodes: dict[str, Node], demands: list[Demand], result: dict[str, Allocation], cfg: Settings
) -> None:
    assert set(result) == {d.key for d in demands}
    load: dict[tuple[str, int], float] = defaultdict(float)
    users: dict[tuple[str, int], list[Demand]] = defaultdict(list)
    for d in demands:
        got = result[d.key]
        assert got.limit == 0 or got.limit >= d.min_current - 1e-9, (d, got)
        assert got.limit <= max(d.max_current, d.min_current) + 1e-9, (d, got)
        assert (got.limit == 0) == (got.reason is Reason.PAUSED)
        for n in ancestors(nodes, d.node):
            for p in d.phases:
                load[(n, p)] += got.limit
                if got.limit > 0:
                    users[(n, p)].append(d)
    for (n, p), amps in load.items():
        assert amps <= nodes[n].capacity[p] + 1e-6, (n, p, amps)
    # Budget used up to rounding where someone is held back by a node.
    for d in demands:
        got = result[d.key]
        if got.reason is not Reason.FAIR_SHARE:
            continue
        assert got.node is not None
        full = [
            p
            for p in d.phases
            if nodes[got.node].capacity[p] - load[(got.node, p)]
            <= cfg.step * len(users[(got.node, p)]) + 1e-6
        ]
        assert full, (d, got)
        # Max-min fairness: on one of those full phases nobody gets more than a step
        # above it, unless held at their own minimum.
        assert any(
            all(
                result[other.key].limit <= max(got.limit + cfg.step, other.min_current) + 1e-6
                for other in users[(got.node, p)]
            )
            for p in full
        ), (d, got)


@st.composite
def sites(draw: st.DrawFn) -> tuple[dict[str, Node], list[Demand]]:
    nodes: dict[str, Node] = {}
    count = draw(st.integers(1, 6))
    for i in range(count):
        parents = (
            tuple(
                sorted(
                    set(draw(st.lists(st.sampled_from([f"n{j}" for j in range(i)]), max_size=2)))
                )
            )
            if i
            else ()
        )
        caps = tuple(draw(st.floats(0, 120, allow_nan=False)) for _ in range(3))
        nodes[f"n{i}"] = Node(f"n{i}", (caps[0], caps[1], caps[2]), parents)
    demands = []
    for k in range(draw(st.integers(0, 25))):
        lo = draw(st.sampled_from([6.0, 6.0, 8.0, 10.0]))
        hi = draw(st.floats(lo, 40, allow_nan=False))
        phases = draw(st.sampled_from([(0,), (1,), (2,), (0, 1, 2), (1, 2, 0)]))
        demands.append(
            Demand(
                key=f"d{k}",
                node=f"n{draw(st.integers(0, count - 1))}",
                phases=tuple(sorted(phases)),
                min_current=lo,
                max_current=hi,
                car_limited=draw(st.booleans()),
                priority=draw(st.integers(0, 2)),
                served=draw(st.floats(0, 10_000, allow_nan=False)),
                running=draw(st.booleans()),
            )
        )
    return nodes, demands


@settings(max_examples=300, deadline=None)
@given(sites())
def test_properties(site: tuple[dict[str, Node], list[Demand]]) -> None:
    """No node phase over capacity; 0 or >= min; <= max; budget used up when short."""
    nodes, demands = site
    cfg = Settings()
    _check_invariants(nodes, demands, allocate(nodes, demands, cfg), cfg)
