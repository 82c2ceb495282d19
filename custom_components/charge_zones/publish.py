"""How often a station's readings reach Home Assistant's state machine.

A station sends MeterValues every few seconds (10 s by default, 1 s on some sites); the
load manager uses every one of them. What Home Assistant shows and records (power,
currents, energy, session energy) is written at most once per *sensor update interval*
(a hub option, as Home Assistant's DSMR integration does for its meters): the first
reading after a quiet interval at once, the later ones as their newest value at the end of
the interval. A state change of the station (a status, a session starting or ending, a
limit) is written at once with the newest readings. Each state written is a row the
recorder keeps: a 1 s interval on 100 stations is 17 million rows a day. The hub's
energy-charged sensors, which move with every station's readings, follow the same interval.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from homeassistant.core import HomeAssistant, callback

from .stations import Station


class Publisher:
    """Tells its listeners of changes at most once per interval (the newest at its end)."""

    def __init__(self, hass: HomeAssistant, interval: float) -> None:
        """Publish on `notify` (close() stops)."""
        self._loop = hass.loop
        self._interval = interval
        self._listeners: list[Callable[[], None]] = []
        self._published = -float("inf")
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    @property
    def interval(self) -> float:
        """Seconds between two publications (0: every change)."""
        return self._interval

    @interval.setter
    def interval(self, value: float) -> None:
        """A new interval; a publication waiting for the old one's end follows the new."""
        self._interval = value
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self.notify()

    def add(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call listener with the changes (at most once per interval)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def notify(self) -> None:
        """Something changed: tell the listeners now, or at the end of the interval."""
        if self._closed:
            return
        if self._timer is not None:
            return  # published at the end of the interval, with the newest value
        due = self._published + self.interval
        if due <= self._loop.time():
            self._publish()
        else:
            self._timer = self._loop.call_at(due, self._publish)

    @callback
    def _publish(self) -> None:
        self._timer = None
        self._published = self._loop.time()
        for listener in list(self._listeners):
            listener()

    def close(self) -> None:
        """Stop; a pending publication is dropped, later changes are not published."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class ReadingPublisher(Publisher):
    """Tells a station's reading listeners of its MeterValues at most once per interval."""

    def __init__(self, hass: HomeAssistant, station: Station, interval: float) -> None:
        """Listen to a station's readings (close() stops)."""
        super().__init__(hass, interval)
        self._remove = station.add_reading_listener(self.notify)

    def close(self) -> None:
        """Stop listening; a pending publication is dropped."""
        super().close()
        self._remove()
