"""Pure parts: readings, wiring, quirks, badges."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from custom_components.charge_zones.badges import Badge, BadgeBook, expiry_timestamp
from custom_components.charge_zones.central.models import Phase, Wiring, profile_stack_level
from custom_components.charge_zones.central.readings import (
    Measurements,
    MeterValueError,
    parse_meter_values,
    parse_timestamp,
)
from custom_components.charge_zones.central.server import station_id_from_path


def _mv(*values: dict[str, str], ts: str = "2026-11-24T10:00:00Z") -> list[dict[str, object]]:
    return [{"timestamp": ts, "sampled_value": list(values)}]


def test_units_are_normalised() -> None:
    samples = parse_meter_values(
        _mv(
            {"value": "12.5", "unit": "kWh"},
            {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
            {"value": "300", "measurand": "Energy.Reactive.Import.Register"},
            {"value": "55", "measurand": "SoC"},
            {"value": "abc", "format": "SignedData"},
        )
    )
    by = {s.measurand: s for s in samples}
    assert by["Energy.Active.Import.Register"].value == 12_500
    assert by["Energy.Active.Import.Register"].unit == "Wh"
    assert by["Power.Active.Import"].value == 7_200
    assert by["Power.Active.Import"].unit == "W"
    assert by["Energy.Reactive.Import.Register"].unit == "varh"
    assert by["SoC"].unit == "Percent"
    assert len(samples) == 4  # signed data is kept out


@pytest.mark.parametrize("bad", ["", "NaN", "inf", "1e400", "twelve"])
def test_non_numeric_values_rejected(bad: str) -> None:
    with pytest.raises(MeterValueError):
        parse_meter_values(_mv({"value": bad}))


def test_timestamps() -> None:
    assert parse_timestamp("2026-11-24T10:00:00Z") == datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert parse_timestamp("2026-11-24T10:00:00").tzinfo is UTC
    default = datetime(2020, 1, 1, tzinfo=UTC)
    assert parse_timestamp(None, default) is default
    with pytest.raises(MeterValueError):
        parse_timestamp("yesterday")


def test_per_phase_values_kept_and_totals() -> None:
    m = Measurements()
    m.update(
        parse_meter_values(
            _mv(
                {"value": "10", "measurand": "Current.Import", "phase": "L1"},
                {"value": "11", "measurand": "Current.Import", "phase": "L2"},
                {"value": "12", "measurand": "Current.Import", "phase": "L3"},
                {"value": "99", "measurand": "Current.Import", "phase": "L1", "location": "Inlet"},
                {"value": "231", "measurand": "Voltage", "phase": "L1-N"},
                {"value": "2000", "measurand": "Power.Active.Import", "phase": "L1"},
                {"value": "2100", "measurand": "Power.Active.Import", "phase": "L2"},
            )
        )
    )
    assert m.per_phase("Current.Import") == {Phase.L1: 10, Phase.L2: 11, Phase.L3: 12}
    assert m.per_phase("Voltage") == {Phase.L1: 231}
    assert m.total("Power.Active.Import") == 4100
    assert m.energy_wh is None
    assert m.current_offered is None
    # An older sample never overwrites a newer one.
    m.update(
        parse_meter_values(
            _mv(
                {"value": "1", "measurand": "Current.Import", "phase": "L1"},
                ts="2026-11-24T09:00:00Z",
            )
        )
    )
    assert m.per_phase("Current.Import")[Phase.L1] == 10


def test_outlet_preferred_over_inlet() -> None:
    m = Measurements()
    m.update(
        parse_meter_values(
            _mv(
                {"value": "5000", "location": "Inlet"},
                {"value": "4000", "location": "Outlet"},
            )
        )
    )
    assert m.energy_wh == 4000


@pytest.mark.parametrize(
    ("wiring", "station_phase", "grid"),
    [
        (Wiring.L1_L2_L3, Phase.L1, Phase.L1),
        (Wiring.L2_L3_L1, Phase.L1, Phase.L2),
        (Wiring.L2_L3_L1, Phase.L3, Phase.L1),
        (Wiring.L3_L1_L2, Phase.L2, Phase.L1),
        (Wiring.L2, Phase.L1, Phase.L2),
        (Wiring.L2, Phase.L2, None),
    ],
)
def test_wiring(wiring: Wiring, station_phase: Phase, grid: Phase | None) -> None:
    assert wiring.to_grid(station_phase) == grid


def test_stack_levels_per_model() -> None:
    assert profile_stack_level("abb_terra", 3) == 0
    assert profile_stack_level("standard", 3) == 2
    assert profile_stack_level("standard", None) == 0
    assert profile_stack_level("unknown-model", 8) == 7


def test_badges() -> None:
    book = BadgeBook(
        [
            Badge("AA11", "Alice"),
            Badge("BB22", "Bob", status="blocked"),
            Badge("CC33", "Carol", expiry=date(2026, 1, 31)),
        ]
    )
    today = date(2026, 1, 31)
    assert book.check("aa11", today).status == "Accepted"
    assert book.check("aa11", today).holder == "Alice"
    assert book.check("BB22", today).status == "Blocked"
    assert book.check("CC33", today).status == "Accepted"
    assert book.check("CC33", date(2026, 2, 1)).status == "Expired"
    assert book.check("ZZ", today).status == "Invalid"
    assert BadgeBook().check("AA11", today).status == "Invalid"  # no badge: nobody
    tz = ZoneInfo("Europe/Zurich")
    entries = book.local_list(tz)
    assert [e["id_tag"] for e in entries] == ["AA11", "BB22", "CC33"]
    assert entries[1]["id_tag_info"] == {"status": "Blocked"}
    assert entries[2]["id_tag_info"]["expiry_date"] == "2026-01-31T22:59:59Z"
    assert expiry_timestamp(date(2026, 7, 1), tz) == "2026-07-01T21:59:59Z"
    before = book.digest(tz)
    book.replace([Badge("AA11", "Alice")])
    assert book.digest(tz) != before
    assert len(book) == 1


@pytest.mark.parametrize(
    ("path", "station_id"),
    [
        ("/TACW1142021G1XYZ", "TACW1142021G1XYZ"),
        ("/ocpp/CP-1/", "CP-1"),
        ("/ocpp/CP%201?x=1", "CP 1"),
        ("/", ""),
    ],
)
def test_station_id_from_path(path: str, station_id: str) -> None:
    assert station_id_from_path(path) == station_id
