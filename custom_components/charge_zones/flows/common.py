"""What the subentry forms share: number and select fields, subentry options, lookups."""

from __future__ import annotations

from typing import Final

from homeassistant.config_entries import (
    ConfigEntry,
)
from homeassistant.helpers import selector


def _number(
    minimum: float, maximum: float, step: float = 1, unit: str | None = None
) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(
        min=minimum, max=maximum, step=step, mode=selector.NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)


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
