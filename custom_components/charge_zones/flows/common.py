"""What the subentry forms share: number and select fields, subentry options, lookups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

import probatio as vol

from homeassistant.config_entries import (
    ConfigEntry,
)
from homeassistant.helpers import selector


class RangedNumber(selector.NumberSelector):
    """A number field whose allowed range the form checks itself, in the user's language.

    Home Assistant's number selector refuses a value out of its min/max with its own
    English words ("Value 0.0 is too small") before the form sees it: this one sends no
    min/max (neither the frontend nor the schema refuses anything) and keeps the range for
    range_errors, which the forms call first and which names the range in the error.
    """

    def __init__(
        self,
        minimum: float,
        maximum: float,
        step: float | Literal["any"] = 1,
        unit: str | None = None,
    ) -> None:
        """A box for numbers from minimum to maximum (in unit)."""
        config = selector.NumberSelectorConfig(step=step, mode=selector.NumberSelectorMode.BOX)
        if unit is not None:
            config["unit_of_measurement"] = unit
        super().__init__(config)
        self.minimum = minimum
        self.maximum = maximum
        self.unit = unit


def _number(
    minimum: float, maximum: float, step: float | Literal["any"] = 1, unit: str | None = None
) -> RangedNumber:
    return RangedNumber(minimum, maximum, step, unit)


def _ranged(validator: Any) -> RangedNumber | None:
    """The ranged number field a schema value is (alone or first in vol.All), if any."""
    if isinstance(validator, RangedNumber):
        return validator
    for inner in getattr(validator, "validators", ()):
        if isinstance(inner, RangedNumber):
            return inner
    return None


def range_errors(
    schema: vol.Schema, user_input: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """The first number entered out of its range, as a form error with the range.

    One field at a time: the form's placeholders (min, max, unit) are shared by its
    errors. Errors ``out_of_range`` (with a unit) and ``number_out_of_range`` (without).
    """
    for marker, validator in schema.schema.items():
        field = _ranged(validator)
        key = str(marker.schema if isinstance(marker, vol.Marker) else marker)
        if field is None or user_input.get(key) is None:
            continue
        value = float(user_input[key])
        if field.minimum <= value <= field.maximum:
            continue
        placeholders = {"min": _format(field.minimum), "max": _format(field.maximum)}
        if field.unit is None:
            return {key: "number_out_of_range"}, placeholders
        return {key: "out_of_range"}, placeholders | {"unit": field.unit}
    return {}, {}


def _format(value: float) -> str:
    return f"{value:g}"


# --- load management: shared helpers ------------------------------------------------------

#: Form-only field: save without testing the connection or reading the meter.
CONF_SKIP_TEST: Final = "skip_test"


def _subentry_options(
    entry: ConfigEntry, subentry_type: str, exclude: str | None = None
) -> list[selector.SelectOptionDict]:
    """Subentries of one type as select options (value: subentry id, label: title)."""
    options = [
        selector.SelectOptionDict(value=subentry.subentry_id, label=subentry.title)
        for subentry in entry.subentries.values()
        if subentry.subentry_type == subentry_type and subentry.subentry_id != exclude
    ]
    return sorted(options, key=lambda option: option["label"].casefold())


def _subentry_select(
    options: list[selector.SelectOptionDict], *, multiple: bool = False
) -> selector.SelectSelector:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=options, multiple=multiple, mode=selector.SelectSelectorMode.DROPDOWN
        )
    )


def _select(options: list[str], translation_key: str | None = None) -> selector.SelectSelector:
    config = selector.SelectSelectorConfig(
        options=options, mode=selector.SelectSelectorMode.DROPDOWN
    )
    if translation_key is not None:
        config["translation_key"] = translation_key
    return selector.SelectSelector(config)


def _is_subentry(entry: ConfigEntry, subentry_id: str, subentry_type: str) -> bool:
    """Whether the entry has a subentry of this type with this id."""
    subentry = entry.subentries.get(subentry_id)
    return subentry is not None and subentry.subentry_type == subentry_type


def _taken(entry: ConfigEntry, subentry_type: str, unique_id: str, editing: str | None) -> bool:
    """Whether another subentry of this type already has this unique id."""
    return any(
        subentry.subentry_type == subentry_type
        and subentry.subentry_id != editing
        and subentry.unique_id == unique_id
        for subentry in entry.subentries.values()
    )
