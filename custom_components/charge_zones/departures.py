"""Departure plans: Scheduled sessions in the cheapest hours before a departure.

A badge holder's Scheduled sessions charge in the cheapest hours of the price forecast
before their departure time (dlm/cheapest.py).

The forecast is read from the attributes of the hub's Scheduled price entity (option
*Scheduled: charge while the price of …*): Nord Pool's raw_today/raw_tomorrow, ENTSO-e's
prices, EPEX Spot's data, Octopus Energy's rates… Re-evaluated every minute, when the
forecast changes, when a plan changes and when a session starts. A session whose
holder has no plan, or whose forecast does not reach the departure, follows the hub's
charging window (and the log says so once).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
import logging

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, State, callback
from homeassistant.helpers.event import async_track_state_change_event, async_track_time_change
from homeassistant.util import dt as dt_util

from .badges import holder_key
from .dlm.cheapest import Slot, charging_now, parse_forecast
from .sessions import SessionKey, SessionStore

_LOGGER = logging.getLogger(__package__)


class DeparturePlanner:
    """Tells the load manager which planned Scheduled sessions may charge now."""

    def __init__(
        self,
        hass: HomeAssistant,
        sessions: SessionStore,
        apply: Callable[[dict[SessionKey, bool]], None],
    ) -> None:
        """Nothing planned until `configure`."""
        self._hass = hass
        self._sessions = sessions
        self._apply = apply
        self._entity: str | None = None
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._minute: CALLBACK_TYPE | None = None
        self._forecast: tuple[State | None, list[Slot]] = (None, [])
        self._told: set[SessionKey] = set()

    def configure(self, price_entity: str | None) -> None:
        """Follow this price entity's forecast (the hub's options changed)."""
        self.close()
        self._entity = price_entity
        self._forecast = (None, [])
        if price_entity:
            self._unsubscribe.append(
                async_track_state_change_event(self._hass, [price_entity], self._on_event)
            )
        listeners = self._sessions.plan_listeners
        listeners.append(self.update)
        self._unsubscribe.append(lambda: listeners.remove(self.update))
        self.update()

    def close(self) -> None:
        """Stop following."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self._minutes(False)

    def _minutes(self, wanted: bool) -> None:
        """Re-evaluate every minute, while some holder has a plan."""
        if wanted and self._minute is None:
            self._minute = async_track_time_change(self._hass, self._on_event, second=0)
        elif not wanted and self._minute is not None:
            self._minute()
            self._minute = None

    @callback
    def _on_event(self, _event: object) -> None:
        self.update()

    def _slots(self) -> list[Slot]:
        """The forecast, with the slots seen before that it no longer lists.

        Integrations drop yesterday's prices at midnight; a session that started in the
        evening still plans over them (prices once published do not change). Slots that
        ended more than two days ago are forgotten.
        """
        state = self._hass.states.get(self._entity) if self._entity else None
        if state is not self._forecast[0]:
            seen = {slot.start: slot for slot in self._forecast[1]}
            if state is not None:
                seen |= {slot.start: slot for slot in parse_forecast(state.attributes)}
            horizon = dt_util.utcnow() - timedelta(days=2)
            kept = sorted((s for s in seen.values() if s.end > horizon), key=lambda s: s.start)
            # Overlaps (a forecast re-cut in other slots) keep the newest slots.
            slots: list[Slot] = []
            for slot in kept:
                if slots and slot.start < slots[-1].end:
                    slots[-1] = Slot(slots[-1].start, slot.start, slots[-1].price)
                    if slots[-1].end <= slots[-1].start:
                        slots.pop()
                slots.append(slot)
            self._forecast = (state, slots)
        return self._forecast[1]

    @callback
    def update(self) -> None:
        """Decide every planned session now, tell the load manager."""
        now = dt_util.now()
        plans = self._sessions.holder_plans
        self._minutes(bool(plans))
        windows: dict[SessionKey, bool] = {}
        slots: list[Slot] | None = None
        for session in self._sessions.open.values():
            plan = plans.get(holder_key(session.holder)) if session.holder else None
            if not plan or not plan.get("departure") or not plan.get("hours"):
                continue
            if slots is None:
                slots = self._slots()
            try:
                started = datetime.fromisoformat(session.started_at)
                departure = time.fromisoformat(str(plan["departure"]))
            except ValueError:
                continue
            decided = charging_now(slots, started, departure, float(plan["hours"]), now)
            if decided is None:
                if session.key not in self._told:
                    self._told.add(session.key)
                    _LOGGER.info(
                        "Session %s of %s: no price forecast up to the departure at %s "
                        "(in the attributes of %s); it follows the hub's charging window",
                        session.transaction_id,
                        session.station_id,
                        plan["departure"],
                        self._entity or "no price entity",
                    )
                continue
            windows[session.key] = decided
        self._told.intersection_update(self._sessions.open)
        self._apply(windows)
