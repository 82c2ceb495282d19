"""Transaction ids, whoever makes them.

A session's transaction id is text: this hub hands out numbers to OCPP 1.6 stations
(its counter), OCPP 2.0.1 stations make their own (often UUIDs). Unique within a station.
"""

from __future__ import annotations

# OCPP 2.0.1's transactionId is at most 36 characters (identifierString).
MAX_LENGTH = 36


def public_id(transaction_id: str) -> int | str:
    """A transaction id as actions, events, attributes and exports show it.

    The ids this hub hands out to OCPP 1.6 stations are numbers, and were shown as
    numbers before ids became text: they still are, so automations that compare them
    keep working. Any other id is shown as it is.
    """
    number = as_number(transaction_id)
    return transaction_id if number is None else number


def transaction_key(value: object) -> str:
    """A transaction id given by a user or stored by an earlier version, as text.

    Raises ValueError for what cannot be one (empty, too long, a boolean).
    """
    if value is None or isinstance(value, bool):
        raise ValueError(f"not a transaction id: {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"not a transaction id: {value!r}")
        value = int(value)
    text = str(value).strip()
    if not text or len(text) > MAX_LENGTH:
        raise ValueError(f"not a transaction id: {value!r}")
    return text


def order_key(transaction_id: str) -> tuple[int, int, str]:
    """Sort key: numbers (OCPP 1.6 ids) in their order, then the others."""
    number = as_number(transaction_id)
    return (1, 0, transaction_id) if number is None else (0, number, "")


def as_number(transaction_id: str) -> int | None:
    """The id as a number, when it is one written plainly (an OCPP 1.6 id)."""
    digits = transaction_id.removeprefix("-")
    if not (digits.isascii() and digits.isdecimal()) or str(int(transaction_id)) != transaction_id:
        return None
    return int(transaction_id)
