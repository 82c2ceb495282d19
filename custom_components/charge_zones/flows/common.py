"""What the subentry forms share: number and select fields, subentry options, lookups."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final, Literal

import probatio as vol

from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.config_entries import (
    ConfigEntry,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
from homeassistant.helpers.http import current_request


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
    schema: vol.Schema, user_input: Mapping[str, Any], mark: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The first number entered out of its range, as a form error with the range.

    One field at a time: the form's placeholders (min, max, unit) are shared by its
    errors. Errors ``out_of_range`` (with a unit) and ``number_out_of_range`` (without).
    The numbers are written with the decimal mark of the user's language (see
    decimal_mark): "0,2" in French, "0.2" in English, "6" for a whole number.
    """
    for marker, validator in schema.schema.items():
        field = _ranged(validator)
        key = str(marker.schema if isinstance(marker, vol.Marker) else marker)
        if field is None or user_input.get(key) is None:
            continue
        value = float(user_input[key])
        if field.minimum <= value <= field.maximum:
            continue
        placeholders = {
            "min": format_number(field.minimum, mark),
            "max": format_number(field.maximum, mark),
        }
        if field.unit is None:
            return {key: "number_out_of_range"}, placeholders
        return {key: "out_of_range"}, placeholders | {"unit": field.unit}
    return {}, {}


def format_number(value: float, mark: str = ".") -> str:
    """A number as a person writes it, with this decimal mark.

    No ".0" on a whole number, no exponent and no grouping (a port is 65535, not 65,535).
    """
    if value == int(value):
        return str(int(value))
    return format(Decimal(repr(float(value))), "f").replace(".", mark)


# Languages (and regions) whose decimal mark is a comma (Unicode CLDR); others: a point.
# fmt: off
_COMMA_LANGUAGES: Final = frozenset({
    "af", "az", "be", "bg", "bs", "ca", "cs", "da", "de", "el", "es", "et", "eu", "fi",
    "fo", "fr", "gl", "hr", "hu", "hy", "id", "is", "it", "ka", "kk", "ky", "lt", "lv",
    "mk", "mn", "nb", "nl", "nn", "no", "pl", "pt", "ro", "ru", "sk", "sl", "sq", "sr",
    "sv", "tr", "uk", "uz", "vi",
})
# fmt: on
_POINT_REGIONS: Final = frozenset({"ch", "li", "mx"})  # de-CH, it-CH, es-MX: a point
# The frontend's number formats (a user's profile): the decimal mark of each.
_NUMBER_FORMAT_MARK: Final = {
    "comma_decimal": ".",
    "decimal_comma": ",",
    "space_comma": ",",
    "quote_decimal": ".",
    "none": ".",
}


def _language_mark(language: str) -> str | None:
    """The decimal mark of a language tag (fr, de-CH, pt_BR), None if it is empty."""
    parts = language.strip().replace("_", "-").lower().split("-")
    if not parts[0] or parts[0] == "*":
        return None
    if len(parts) > 1 and parts[0] in ("de", "it", "es") and parts[1] in _POINT_REGIONS:
        return "."
    return "," if parts[0] in _COMMA_LANGUAGES else "."


def _accept_language(header: str) -> str:
    """The browser's preferred language (its Accept-Language header), or ""."""
    best, best_q = "", 0.0
    for item in header.split(","):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > best_q:
            best, best_q = tag, quality
    return best


async def decimal_mark(hass: HomeAssistant) -> str:
    """The decimal mark of the language the form is shown in: "," or ".".

    Home Assistant fills a form's error placeholders here, the frontend puts them in the
    text of the user's language. The frontend chooses that language as this does: the
    user's profile (language and number format, which the frontend keeps in the user's
    data "language"), else the browser's language (sent as Accept-Language with the
    form's request); without a request (a flow started by Home Assistant itself), Home
    Assistant's own language.
    """
    request = current_request.get()
    if request is not None:
        user = request.get(KEY_HASS_USER)
        if user is not None:
            from homeassistant.components.frontend.storage import (  # noqa: PLC0415
                async_user_store,
            )

            profile = (await async_user_store(hass, user.id)).data.get("language")
            if isinstance(profile, dict):
                mark = _NUMBER_FORMAT_MARK.get(str(profile.get("number_format")))
                if mark is None and profile.get("number_format") != "system":
                    mark = _language_mark(str(profile.get("language") or ""))
                if mark is not None:
                    return mark
        if mark := _language_mark(_accept_language(request.headers.get("Accept-Language", ""))):
            return mark
    return _language_mark(hass.config.language) or "."


# --- load management: shared helpers ------------------------------------------------------

#: The abort reason of a saved edit, given explicitly: Home Assistant's default (the same
#: key, translated by Home Assistant itself) is English in some languages ("Reconfiguration
#: was successful" in French); the integration's own says what was updated in each.
RECONFIGURED: Final = "reconfigure_successful"

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
