"""A zone's reduced maximum: tariff windows and prices, from Home Assistant entities.

A zone may have a *reduced maximum current* that applies while an on/off entity (a
schedule helper, a binary sensor, an input boolean, a switch) is on, or while a price
entity (Nord Pool, Tibber, ENTSO-e, an input number...) is above a threshold. When
unsure, less: an entity that is missing, unavailable or not a number counts as reducing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import logging
import math
import time
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_OFF, STATE_ON, UnitOfPower
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_state_report_event,
)
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import PowerConverter

from .central.models import NOMINAL_VOLTAGE
from .const import (
    CONF_NAME,
    CONF_REDUCE_PRICE,
    CONF_REDUCE_PRICE_ABOVE,
    CONF_REDUCE_WHEN,
    CONF_REDUCED_CURRENT,
)
from .meters import MeterReading

_LOGGER = logging.getLogger(__package__)


@dataclass(frozen=True, slots=True)
class ZoneReduction:
    """When and to what a zone's maximum is reduced."""

    zone: str  # subentry id
    name: str
    current: float
    when: str | None = None  # reduced while this entity is on
    price: str | None = None  # reduced while this entity is above price_above
    price_above: float | None = None

    @property
    def entities(self) -> tuple[str, ...]:
        """The entities followed."""
        return tuple(e for e in (self.when, self.price) if e)


def zone_reduction(subentry: ConfigSubentry) -> ZoneReduction | None:
    """A zone subentry's reduced maximum, if it has one."""
    data = subentry.data
    current = data.get(CONF_REDUCED_CURRENT)
    if current is None or not (data.get(CONF_REDUCE_WHEN) or data.get(CONF_REDUCE_PRICE)):
        return None
    above = data.get(CONF_REDUCE_PRICE_ABOVE)
    return ZoneReduction(
        zone=subentry.subentry_id,
        name=data.get(CONF_NAME, subentry.title),
        current=float(current),
        when=data.get(CONF_REDUCE_WHEN) or None,
        price=data.get(CONF_REDUCE_PRICE) or None,
        price_above=None if above is None else float(above),
    )


def _switched_on(hass: HomeAssistant, entity_id: str) -> bool | None:
    """Whether an on/off entity is on (None: missing, unavailable, neither on nor off)."""
    state = hass.states.get(entity_id)
    if state is None or state.state not in (STATE_ON, STATE_OFF):
        return None
    return state.state == STATE_ON


def _price(hass: HomeAssistant, entity_id: str) -> float | None:
    """A price entity's value (None: missing, unavailable, not a number)."""
    state = hass.states.get(entity_id)
    try:
        return float(state.state) if state is not None else None
    except ValueError:
        return None


def reduced_because(hass: HomeAssistant, reduction: ZoneReduction) -> str | None:
    """Why the zone's maximum is reduced now (None: it is not).

    "window": its on/off entity is on; "price": the price is above the threshold;
    "unsure": an entity it follows is missing, unavailable or not a number.
    """
    if reduction.when:
        on = _switched_on(hass, reduction.when)
        if on is None:
            return "unsure"
        if on:
            return "window"
    if reduction.price:
        price = _price(hass, reduction.price)
        if price is None or reduction.price_above is None:
            return "unsure"
        if price > reduction.price_above:
            return "price"
    return None


class _Follower:
    """Re-evaluates on every state change of the entities it follows."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._unsubscribe: CALLBACK_TYPE | None = None

    def _follow(self, entities: list[str]) -> None:
        self.close()
        if entities:
            self._unsubscribe = async_track_state_change_event(
                self._hass, entities, self._on_change
            )
        self._update()

    def close(self) -> None:
        """Stop following."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    @callback
    def _on_change(self, _event: Event[EventStateChangedData]) -> None:
        self._update()

    def _update(self) -> None:
        raise NotImplementedError


class ZoneReductions(_Follower):
    """Follows the entities of every zone's reduced maximum, tells the load manager."""

    def __init__(self, hass: HomeAssistant, apply: Callable[[dict[str, float]], None]) -> None:
        """Nothing followed until `configure`."""
        super().__init__(hass)
        self._apply = apply
        self._reductions: list[ZoneReduction] = []
        self.reasons: dict[str, str] = {}  # zone -> why it is reduced now
        self._told: set[str] = set()

    def configure(self, reductions: list[ZoneReduction]) -> None:
        """Follow these (the zones' forms changed)."""
        self._reductions = reductions
        self._follow(sorted({e for r in reductions for e in r.entities}))

    def _update(self) -> None:
        reasons: dict[str, str] = {}
        currents: dict[str, float] = {}
        for reduction in self._reductions:
            why = reduced_because(self._hass, reduction)
            if why is None:
                continue
            reasons[reduction.zone] = why
            currents[reduction.zone] = reduction.current
            if why == "unsure" and reduction.zone not in self._told:
                self._told.add(reduction.zone)
                _LOGGER.warning(
                    "Zone %s: %s is missing, unavailable or not a number; its reduced "
                    "maximum (%.1f A) applies until it is readable",
                    reduction.name,
                    " or ".join(reduction.entities),
                    reduction.current,
                )
            elif why != "unsure":
                self._told.discard(reduction.zone)
        self.reasons = reasons
        self._apply(currents)


@dataclass(frozen=True, slots=True)
class ChargingWindowConfig:
    """When sessions in the Scheduled mode may charge (hub options)."""

    when: str | None = None  # while this entity is on
    price: str | None = None  # while this entity is below price_below
    price_below: float | None = None

    @property
    def entities(self) -> tuple[str, ...]:
        """The entities followed."""
        return tuple(e for e in (self.when, self.price) if e)


def window_state(hass: HomeAssistant, config: ChargingWindowConfig | None) -> str:
    """The Scheduled mode's window now.

    "window" or "price": open (its entity is on, the price is below the threshold);
    "closed"; "unsure": closed because an entity it follows is missing, unavailable or
    not a number (when unsure, less current); "none": no window configured (closed).
    """
    if config is None or not config.entities:
        return "none"
    unsure = False
    if config.when:
        on = _switched_on(hass, config.when)
        if on is None:
            unsure = True
        elif on:
            return "window"
    if config.price:
        price = _price(hass, config.price)
        if price is None or config.price_below is None:
            unsure = True
        elif price < config.price_below:
            return "price"
    return "unsure" if unsure else "closed"


class ChargingWindow(_Follower):
    """Follows the Scheduled mode's window, tells the load manager whether it is open."""

    def __init__(self, hass: HomeAssistant, apply: Callable[[bool], None]) -> None:
        """Closed until `configure`."""
        super().__init__(hass)
        self._apply = apply
        self._config: ChargingWindowConfig | None = None
        self.state = "none"

    def configure(self, config: ChargingWindowConfig | None) -> None:
        """Follow this window (the hub's options changed)."""
        self._config = config
        self._follow(list(config.entities) if config is not None else [])

    def _update(self) -> None:
        state = window_state(self._hass, self._config)
        if state == "unsure" and self.state != "unsure":
            _LOGGER.warning(
                "The Scheduled mode's window: %s is missing, unavailable or not a number; "
                "Scheduled sessions wait until it is readable",
                " or ".join(self._config.entities if self._config else ()),
            )
        self.state = state
        self._apply(state in ("window", "price"))


def power_watts(hass: HomeAssistant, entity_id: str) -> float | None:
    """A power sensor's value in W (None: missing, unavailable, not a power, not a number).

    The unit is converted (kW, MW...); a value without a power unit is not used.
    """
    state = hass.states.get(entity_id)
    if state is None:
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    if unit not in PowerConverter.VALID_UNITS or not math.isfinite(value):
        return None
    return PowerConverter.convert(value, unit, UnitOfPower.WATT)


def _reported(hass: HomeAssistant, entity_ids: list[str], now: float) -> float | None:
    """When the oldest of these sensors last reported, on the monotonic clock ``now``."""
    states = [hass.states.get(entity_id) for entity_id in entity_ids]
    if any(state is None for state in states):
        return None
    oldest = min(state.last_reported for state in states if state is not None)
    return now - max(0.0, (dt_util.utcnow() - oldest).total_seconds())


def grid_reading(
    hass: HomeAssistant, power: str, export: str | None, now: float
) -> MeterReading | None:
    """The grid connection from power sensors, as a meter reading.

    Taken when the older of the sensors last reported (``now``: the monotonic clock),
    so a value that was not reported again ages even when read again.

    ``power``: import positive, export negative (with ``export``, a second sensor of the
    export as a positive power, the net is power - export). None when a sensor is
    missing, unavailable or not a power. A total only: taken as spread evenly over the
    three phases (as a three-phase inverter feeds), currents at the nominal voltage.
    """
    net = power_watts(hass, power)
    if net is not None and export is not None:
        exported = power_watts(hass, export)
        net = None if exported is None else net - abs(exported)
    at = _reported(hass, [e for e in (power, export) if e], now)
    if net is None or at is None:
        return None
    third = net / 3.0
    amps = abs(third) / NOMINAL_VOLTAGE
    return MeterReading(
        at=at,
        wall=dt_util.utcnow(),
        current=(amps, amps, amps),
        voltage=(None, None, None),
        power=(third, third, third),
        power_total=net,
        import_wh=None,
        export_wh=None,
        frequency=None,
    )


class GridSensors:
    """Follows the grid connection's power sensors (hub options), tells the load manager.

    Every report counts (a sensor that reports the same value again is still fresh):
    state changes and state reports. The load manager takes a reading for
    GRID_SENSOR_MAX_AGE seconds; a sensor that is missing, unavailable or not a power
    gives no reading (no surplus, no solar share, the peak limit at its minimums).
    """

    def __init__(self, hass: HomeAssistant, apply: Callable[[MeterReading | None], None]) -> None:
        """Nothing followed until `configure`."""
        self._hass = hass
        self._apply = apply
        self._power: str | None = None
        self._export: str | None = None
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._told = False

    def configure(self, power: str | None, export: str | None) -> None:
        """Follow these sensors (the hub's options changed)."""
        self.close()
        self._power, self._export = power, export if power else None
        entities = [e for e in (self._power, self._export) if e]
        if entities:
            self._unsubscribe = [
                async_track_state_change_event(self._hass, entities, self._on_event),
                async_track_state_report_event(self._hass, entities, self._on_event),
            ]
        self._update()

    def close(self) -> None:
        """Stop following."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    @callback
    def _on_event(self, _event: Event[Any]) -> None:
        self._update()

    def _update(self) -> None:
        if self._power is None:
            self._apply(None)
            return
        reading = grid_reading(self._hass, self._power, self._export, time.monotonic())
        if reading is None and not self._told:
            self._told = True
            # Info: at start, the sensors' integration may not be loaded yet.
            _LOGGER.info(
                "The grid connection's power sensor %s is missing, unavailable or not a "
                "power: no solar surplus, no solar share, the peak limit at the sessions' "
                "minimums until it is readable",
                " or ".join(e for e in (self._power, self._export) if e),
            )
        elif reading is not None:
            self._told = False
        self._apply(reading)


class PvProduction(_Follower):
    """Follows the PV production sensor (hub options), tells the load manager its power.

    It splits charged energy into solar and grid (billing.solar_fraction); a sensor
    that is missing, unavailable or not a power counts as no production (grid), and so
    does one that has not reported for PV_SENSOR_MAX_AGE (the load manager checks, with
    the time of its last report: state changes and reports are followed).
    """

    def __init__(
        self, hass: HomeAssistant, apply: Callable[[float | None, float | None], None]
    ) -> None:
        """Nothing followed until `configure`."""
        super().__init__(hass)
        self._apply = apply
        self._entity: str | None = None
        self._told = False

    def configure(self, entity_id: str | None) -> None:
        """Follow this sensor (the hub's options changed)."""
        self._entity = entity_id
        self._told = False
        self._follow([entity_id] if entity_id else [])
        if entity_id:
            reports = async_track_state_report_event(self._hass, [entity_id], self._on_report)
            changes = self._unsubscribe

            def unsubscribe() -> None:
                reports()
                if changes is not None:
                    changes()

            self._unsubscribe = unsubscribe

    @callback
    def _on_report(self, _event: Event[Any]) -> None:
        self._update()

    def _update(self) -> None:
        if self._entity is None:
            self._apply(None, None)
            return
        watts = power_watts(self._hass, self._entity)
        if watts is None and not self._told:
            self._told = True
            _LOGGER.info(
                "The PV production sensor %s is missing, unavailable or not a power; "
                "charged energy counts as grid energy until it is readable, except while "
                "the building exports",
                self._entity,
            )
        elif watts is not None:
            self._told = False
        at = _reported(self._hass, [self._entity], time.monotonic())
        self._apply(watts, at)
