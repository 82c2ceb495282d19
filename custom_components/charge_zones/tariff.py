"""The hub's tariff as Home Assistant knows it: a fixed price or a price entity."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant

from .billing import TARIFF_ENTITY, TARIFF_FIXED, TARIFF_NONE, Price, price_from_state
from .const import CONF_CURRENCY, CONF_PRICE, CONF_PRICE_ENTITY, CONF_TARIFF


class HubTariff:
    """The price per kWh in force now, from the hub's options (None: no tariff)."""

    def __init__(self, hass: HomeAssistant, options: Callable[[], Mapping[str, Any]]) -> None:
        """Read the options each time (they change without a reload)."""
        self._hass = hass
        self._get_options = options
        self._last: tuple[str, Price] | None = None

    @property
    def _options(self) -> Mapping[str, Any]:
        return self._get_options()

    @property
    def kind(self) -> str:
        """none, fixed or entity."""
        return str(self._options.get(CONF_TARIFF) or TARIFF_NONE)

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
        if kind == TARIFF_FIXED:
            value = self._options.get(CONF_PRICE)
            if isinstance(value, int | float):
                return Price(float(value), self.currency)
            return None
        if kind != TARIFF_ENTITY or not (entity_id := self._options.get(CONF_PRICE_ENTITY)):
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
