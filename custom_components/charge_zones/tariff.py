"""The hub's tariff as Home Assistant knows it: a fixed price or a price entity."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant

from .billing import TARIFF_ENTITY, TARIFF_FIXED, TARIFF_NONE, Price, price_from_state
from .const import (
    CONF_CURRENCY,
    CONF_PRICE,
    CONF_PRICE_ENTITY,
    CONF_SOLAR_PRICE,
    CONF_SOLAR_PRICE_ENTITY,
    CONF_TARIFF,
)


class HubTariff:
    """The price per kWh in force now, from the hub's options (None: no tariff).

    ``solar``: the price of energy from the building's solar instead (a fixed price or an
    entity, beside the tariff; None: solar energy is billed at the tariff's price).
    """

    def __init__(
        self,
        hass: HomeAssistant,
        options: Callable[[], Mapping[str, Any]],
        *,
        solar: bool = False,
    ) -> None:
        """Read the options each time (they change without a reload)."""
        self._hass = hass
        self._get_options = options
        self._solar = solar
        self._last: tuple[str, Price] | None = None

    @property
    def _options(self) -> Mapping[str, Any]:
        return self._get_options()

    @property
    def kind(self) -> str:
        """none, fixed or entity."""
        options = self._options
        if self._solar:
            if str(options.get(CONF_TARIFF) or TARIFF_NONE) == TARIFF_NONE:
                return TARIFF_NONE  # no tariff, no solar price either
            if options.get(CONF_SOLAR_PRICE_ENTITY):
                return TARIFF_ENTITY
            return TARIFF_FIXED if options.get(CONF_SOLAR_PRICE) is not None else TARIFF_NONE
        return str(options.get(CONF_TARIFF) or TARIFF_NONE)

    @property
    def currency(self) -> str:
        """The currency option, else Home Assistant's."""
        return str(self._options.get(CONF_CURRENCY) or self._hass.config.currency)

    def __call__(self) -> Price | None:
        """The price now.

        A price entity that is briefly unavailable keeps its last price: energy drawn
        meanwhile is still charged, at the last price known.
        """
        kind = self.kind
        price_key, entity_key = (
            (CONF_SOLAR_PRICE, CONF_SOLAR_PRICE_ENTITY)
            if self._solar
            else (CONF_PRICE, CONF_PRICE_ENTITY)
        )
        if kind == TARIFF_FIXED:
            value = self._options.get(price_key)
            if isinstance(value, int | float):
                return Price(float(value), self.currency)
            return None
        if kind != TARIFF_ENTITY or not (entity_id := self._options.get(entity_key)):
            return None
        entity_id = str(entity_id)
        state = self._hass.states.get(entity_id)
        price = (
            None
            if state is None
            else price_from_state(
                state.state, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT), self.currency
            )
        )
        if price is not None:
            self._last = (entity_id, price)
            return price
        if self._last is not None and self._last[0] == entity_id:
            return self._last[1]
        return None
