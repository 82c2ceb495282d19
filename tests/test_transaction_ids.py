"""Transaction ids are text, whoever makes them; the hub's own numbers stay numbers."""

from __future__ import annotations

import pytest

from custom_components.charge_zones.transaction_ids import (
    as_number,
    order_key,
    public_id,
    transaction_key,
)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("42", 42),
        ("-1", -1),  # a station's own numbering, seen in a StopTransaction
        ("007", "007"),  # not how a number is written: kept as the station wrote it
        ("+5", "+5"),
        ("٣", "٣"),  # a decimal digit, but not ASCII
        ("7f3c9a52-1d2e-4c1b-9a34-0e6b1c2d3e4f", "7f3c9a52-1d2e-4c1b-9a34-0e6b1c2d3e4f"),
    ],
)
def test_public_id_shows_the_hubs_numbers_as_numbers(text: str, shown: int | str) -> None:
    assert public_id(text) == shown
    assert (as_number(text) is None) == isinstance(shown, str)


@pytest.mark.parametrize(
    ("given", "key"),
    [(12, "12"), (12.0, "12"), (" 12 ", "12"), ("abc-1", "abc-1"), ("x" * 36, "x" * 36)],
)
def test_transaction_key_takes_numbers_and_text(given: object, key: str) -> None:
    assert transaction_key(given) == key


@pytest.mark.parametrize("given", ["", "   ", "x" * 37, True, None, 1.5])
def test_transaction_key_refuses_what_is_no_id(given: object) -> None:
    with pytest.raises(ValueError, match="not a transaction id"):
        transaction_key(given)


def test_numbers_sort_as_numbers_before_other_ids() -> None:
    ids = ["10", "9", "b-2", "a-1", "-1", "100"]
    assert sorted(ids, key=order_key) == ["-1", "9", "10", "100", "a-1", "b-2"]
