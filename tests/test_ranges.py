"""Numbers out of range are refused in the user's language, naming the range (issue 12, "Forms").

Home Assistant's number selector would refuse them first, in its own English ("Value 0.0 is
too small"), so no form field carries a min/max for the frontend or the schema: each form
checks its numbers itself and answers ``out_of_range`` (placeholders min, max, unit) or
``number_out_of_range`` (min, max). Every numeric field of every form is submitted out of
range through Home Assistant's flow managers.
"""

from __future__ import annotations

from typing import Any

import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.charge_zones.flows.common import RangedNumber
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import config_validation as cv, selector

from .conftest import connection_subentry, free_port, zone_subentry
from .flow_translations import load_translations
from .test_forms import hub, initial_form_data, start, submit

#: form -> field -> (a value below or above the range, min, max, unit)
RANGES: dict[str, dict[str, tuple[float, str, str, str | None]]] = {
    "hub": {
        "port": (0, "1", "65535", None),
        "heartbeat_interval": (5, "10", "86400", "s"),
        "meter_value_sample_interval": (3601, "1", "3600", "s"),
    },
    "hub_reconfigure": {"port": (65536, "1", "65535", None)},
    "options": {
        "heartbeat_interval": (86401, "10", "86400", "s"),
        "meter_value_sample_interval": (0, "1", "3600", "s"),
        "raise_hold": (0.5, "1", "600", "s"),
        "profile_validity": (1, "2", "120", "min"),
        "sensor_update_interval": (-1, "0", "3600", "s"),
        "price": (-0.1, "0", "1000", None),
    },
    "zone": {
        "max_current": (-1, "0", "1000", "A"),
        "failsafe_current": (5, "6", "32", "A"),
        "stale_after": (601, "2", "600", "s"),
    },
    "station": {
        "connectors": (0, "1", "10", None),
        "min_current": (5.5, "6", "80", "A"),
        "max_current": (81, "6", "80", "A"),
        "priority": (10, "0", "9", None),
    },
    "meter": {
        "unit": (248, "1", "247", None),
        "amperage": (0, "1", "4000", "A"),
        "poll_interval": (0.1, "0.2", "60", "s"),
    },
    "connection": {
        "port": (0, "1", "65535", None),
        "timeout": (11, "0.1", "10", "s"),
    },
}

#: What a valid submission of each form adds to its defaults.
VALID: dict[str, dict[str, Any]] = {
    "hub": {"host": "127.0.0.1"},
    "hub_reconfigure": {"host": "127.0.0.1"},
    "options": {"tariff": "fixed", "price": 0.25},
    "zone": {"name": "Garage", "max_current": 63},
    "station": {"station_id": "CP-RANGE", "zone": "zone_car_park"},
    "meter": {"name": "Main meter", "amperage": 63, "meter_model": "sdm630"},
    "connection": {"name": "Gateway 2", "host": "127.0.0.1", "port": 1502},
}

CASES = [(form, field) for form, fields in RANGES.items() for field in fields]


async def _open(hass: HomeAssistant, form: str) -> tuple[dict[str, Any], MockConfigEntry]:
    """The form, opened as the installer would."""
    entry = hub(hass, connection_subentry(), zone_subentry())
    if form == "hub":
        result = await hass.config_entries.flow.async_init(
            "charge_zones", context={"source": SOURCE_USER}
        )
    elif form == "hub_reconfigure":
        result = await entry.start_reconfigure_flow(hass)
    elif form == "options":
        result = await hass.config_entries.options.async_init(entry.entry_id)
    elif form == "connection":
        result = await start(hass, entry, "connection")
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"next_step_id": "tcp"}
        )
    else:
        result = await start(hass, entry, form)
    assert result["type"] is FlowResultType.FORM
    return dict(result), entry


async def _submit(
    hass: HomeAssistant, form: str, result: dict[str, Any], user_input: dict[str, Any]
) -> dict[str, Any]:
    if form in ("hub", "hub_reconfigure"):
        return dict(await hass.config_entries.flow.async_configure(result["flow_id"], user_input))
    if form == "options":
        return dict(
            await hass.config_entries.options.async_configure(result["flow_id"], user_input)
        )
    return dict(await submit(hass, result, user_input))


def _numbers(result: dict[str, Any]) -> dict[str, Any]:
    """The form's number fields, by name."""
    return {
        str(marker.schema): validator
        for marker, validator in result["data_schema"].schema.items()
        if isinstance(validator, selector.NumberSelector)
        or any(isinstance(v, selector.NumberSelector) for v in getattr(validator, "validators", ()))
    }


@pytest.mark.parametrize("form", list(RANGES))
async def test_every_number_field_is_checked_by_the_form(hass: HomeAssistant, form: str) -> None:
    """Every number field of every form is a ranged one (tested below), and none sends
    the frontend a min/max (it would refuse or clamp on its own)."""
    result, _entry = await _open(hass, form)
    numbers = _numbers(result)
    assert sorted(numbers) == sorted(RANGES[form])
    for validator in numbers.values():
        inner = [validator, *getattr(validator, "validators", ())]
        assert any(isinstance(v, RangedNumber) for v in inner)
    for field in probatio.to_field_list(
        result["data_schema"], custom_serializer=cv.custom_serializer
    ):
        number = field.get("selector", {}).get("number")
        if number is not None:
            assert "min" not in number, field["name"]
            assert "max" not in number, field["name"]


@pytest.mark.parametrize(("form", "field"), CASES)
async def test_number_out_of_range_refused_in_words(
    hass: HomeAssistant, form: str, field: str
) -> None:
    """Out of range: the form comes back with the translated error naming the range;
    within it, the same form goes through."""
    value, minimum, maximum, unit = RANGES[form][field]
    result, _entry = await _open(hass, form)
    user_input = initial_form_data(result) | VALID[form]
    if form == "hub":
        user_input["port"] = free_port()
    user_input[field] = value

    refused = await _submit(hass, form, result, user_input)

    assert refused["type"] is FlowResultType.FORM
    expected = "number_out_of_range" if unit is None else "out_of_range"
    assert refused["errors"] == {field: expected}
    placeholders = refused["description_placeholders"]
    assert (placeholders["min"], placeholders["max"]) == (minimum, maximum)
    assert placeholders.get("unit") == unit
    for language in ("en", "fr", "de", "it"):
        strings = load_translations(language)
        section = (
            strings["config_subentries"][form]
            if form
            in (
                "zone",
                "station",
                "meter",
                "connection",
            )
            else strings["options" if form == "options" else "config"]
        )
        text = section["error"][expected].format(**placeholders)
        assert minimum in text
        assert maximum in text
        assert unit is None or unit in text

    # Corrected, the same form goes on (no probe: skip the tests that read or connect).
    user_input[field] = float(minimum)
    if form == "connection":
        user_input["skip_test"] = True
    if form == "meter":
        user_input["skip_test"] = True
    if form == "hub":
        user_input["port"] = free_port()
    if form == "hub_reconfigure":
        user_input["port"] = free_port()
    if form == "station" and field == "max_current":
        user_input["min_current"] = float(minimum)
    if form == "zone" and field == "max_current":
        user_input["failsafe_current"] = 6  # the minimum, 0 A, is a pause: no fail-safe check
        user_input[field] = 63
    accepted = await _submit(hass, form, result, user_input)
    assert accepted["type"] in (FlowResultType.CREATE_ENTRY, FlowResultType.ABORT), accepted.get(
        "errors"
    )
    if accepted["type"] is FlowResultType.ABORT:
        assert accepted["reason"] == "reconfigure_successful"
