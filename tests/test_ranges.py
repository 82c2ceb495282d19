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
from homeassistant.auth.models import User
from homeassistant.components.frontend.storage import async_user_store
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import config_validation as cv, selector
from homeassistant.setup import async_setup_component

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
        "rotation_period": (241, "1", "240", "min"),
        "solar_start_delay": (3601, "0", "3600", "s"),
        "solar_stop_delay": (-5, "0", "3600", "s"),
        "solar_min_on_time": (7201, "0", "7200", "s"),
        "solar_smoothing": (601, "0", "600", "s"),
        "solar_start_margin": (32.5, "0", "32", "A"),
        "peak_limit": (10000.5, "0", "10000", "kW"),
        "schedule_price_below": (1000.5, "-1000", "1000", None),
        "price": (-0.1, "0", "1000", None),
        "solar_price": (1000.01, "0", "1000", None),
    },
    "zone": {
        "max_current": (-1, "0", "1000", "A"),
        "failsafe_current": (5, "6", "32", "A"),
        "stale_after": (601, "2", "600", "s"),
        "reduced_current": (1001, "0", "1000", "A"),
        "reduce_price_above": (-1000.5, "-1000", "1000", None),
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

#: What a field needs beside it for the form to go through once it is in range.
COMPANIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("zone", "reduced_current"): {"reduce_when": "input_boolean.peak_hours"},
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
    user_input = initial_form_data(result) | VALID[form] | COMPANIONS.get((form, field), {})
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


#: The range errors' numbers as each language writes them: form -> field -> (a value out of
#: range, the minimum, the maximum) by language (a decimal comma in fr, de and it; a whole
#: number without ".0" everywhere).
WRITTEN: dict[str, dict[str, tuple[float, dict[str, tuple[str, str]]]]] = {
    "meter": {
        "poll_interval": (
            0.1,
            {"en": ("0.2", "60"), "fr": ("0,2", "60"), "de": ("0,2", "60"), "it": ("0,2", "60")},
        )
    },
    "connection": {
        "timeout": (
            11,
            {"en": ("0.1", "10"), "fr": ("0,1", "10"), "de": ("0,1", "10"), "it": ("0,1", "10")},
        )
    },
    "zone": {"failsafe_current": (5, dict.fromkeys(("en", "fr", "de", "it"), ("6", "32")))},
}
#: The meter's polling interval refused, as the installer reads it.
POLL_MESSAGES = {
    "en": "Enter a value from 0.2 to 60 s.",
    "fr": "Saisissez une valeur de 0,2 à 60 s.",
    "de": "Gib einen Wert von 0,2 bis 60 s ein.",
    "it": "Inserisci un valore da 0,2 a 60 s.",
}


def _message(language: str, form: str, error: str, placeholders: dict[str, str]) -> str:
    """The error's text in a language, as the frontend fills it."""
    strings = load_translations(language)
    section = strings["config_subentries"][form]
    return str(section["error"][error]).format(**placeholders)


@pytest.mark.parametrize("language", ["en", "fr", "de", "it"])
@pytest.mark.parametrize(
    ("form", "field"), [(form, field) for form, fields in WRITTEN.items() for field in fields]
)
async def test_range_numbers_written_as_the_language_writes_them(
    hass: HomeAssistant, language: str, form: str, field: str
) -> None:
    """A range error's numbers follow the language Home Assistant is in (a form opened
    without a user's request): "0,2" in French, German and Italian, "0.2" in English,
    and a whole number as "6", not "6.0" or "6,0"."""
    await hass.config.async_update(language=language)
    value, written = WRITTEN[form][field]
    minimum, maximum = written[language]
    result, _entry = await _open(hass, form)
    user_input = initial_form_data(result) | VALID[form] | {field: value}

    refused = await _submit(hass, form, result, user_input)

    assert refused["errors"] == {field: "out_of_range"}
    placeholders = refused["description_placeholders"]
    assert (placeholders["min"], placeholders["max"]) == (minimum, maximum)
    text = _message(language, form, "out_of_range", placeholders)
    assert f" {minimum} " in text, text
    assert f" {maximum} " in text, text
    other = "." if language != "en" else ","
    assert other not in minimum + maximum
    assert ".0" not in text
    assert ",0 " not in text
    if field == "poll_interval":
        assert text == POLL_MESSAGES[language]


@pytest.mark.parametrize(
    ("home_assistant", "profile", "accept_language", "written"),
    [
        # The user's profile: its language, whatever Home Assistant's and the browser's.
        ("en", {"language": "de", "number_format": "language"}, "en-US", "0,2"),
        ("fr", {"language": "en"}, "fr-FR", "0.2"),
        # The profile's own number format.
        ("en", {"language": "de", "number_format": "comma_decimal"}, "", "0.2"),
        ("en", {"language": "en", "number_format": "decimal_comma"}, "", "0,2"),
        # The browser's language (as the frontend without a profile): the best one.
        ("en", None, "it-IT,it;q=0.9,en;q=0.8", "0,2"),
        ("fr", None, "fr;q=0.5, en-GB", "0.2"),
        ("fr", {"language": "fr", "number_format": "system"}, "en-US", "0.2"),
        ("de", None, "de-CH", "0.2"),
        # Neither: Home Assistant's language.
        ("it", None, "", "0,2"),
        ("en", None, "", "0.2"),
    ],
)
async def test_range_numbers_in_the_language_of_the_users_request(
    hass: HomeAssistant,
    hass_client: Any,
    hass_admin_user: User,
    home_assistant: str,
    profile: dict[str, str] | None,
    accept_language: str,
    written: str,
) -> None:
    """The form in the browser, through Home Assistant's REST API as the frontend uses it:
    the numbers follow the language the user sees the form in (the profile's language
    and number format, else the browser's), not only Home Assistant's."""
    await hass.config.async_update(language=home_assistant)
    assert await async_setup_component(hass, "config", {})
    if profile is not None:
        await (await async_user_store(hass, hass_admin_user.id)).async_set_item("language", profile)
    result, entry = await _open(hass, "meter")
    user_input = initial_form_data(result) | VALID["meter"] | {"poll_interval": 0.1}
    client = await hass_client()
    headers = {"Accept-Language": accept_language} if accept_language else {}

    response = await client.post(
        "/api/config/config_entries/subentries/flow",
        json={"handler": [entry.entry_id, "meter"]},
        headers=headers,
    )
    assert response.status == 200
    flow = await response.json()
    response = await client.post(
        f"/api/config/config_entries/subentries/flow/{flow['flow_id']}",
        json=user_input,
        headers=headers,
    )
    assert response.status == 200
    refused = await response.json()

    assert refused["errors"] == {"poll_interval": "out_of_range"}
    assert refused["description_placeholders"] == {"min": written, "max": "60", "unit": "s"}
