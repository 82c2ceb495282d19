"""The sensors of an electrical zone: budget, allocation, headroom, sessions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    UnitOfElectricCurrent,
)
from homeassistant.helpers.typing import StateType

from ..entity import (
    LoadEntity,
    zone_device_info,
)
from ..loadmanager import ZoneState
from ..site import Site

# --- zones --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ZoneSensorDescription(SensorEntityDescription):
    """A zone sensor and how to read it."""

    value_fn: Callable[[ZoneState], StateType]
    needs_budget: bool = False  # unknown while the zone is in fail-safe


def _phase_value(attribute: str, index: int) -> Callable[[ZoneState], StateType]:
    def value(state: ZoneState) -> StateType:
        phases: tuple[float, float, float] = getattr(state, attribute)
        return round(phases[index], 1)

    return value


ZONE_SENSORS: tuple[ZoneSensorDescription, ...] = (
    *(
        ZoneSensorDescription(
            key=f"{kind}_l{index + 1}",
            translation_key=f"{kind}_l{index + 1}",
            device_class=SensorDeviceClass.CURRENT,
            native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
            state_class=SensorStateClass.MEASUREMENT,
            suggested_display_precision=1,
            value_fn=_phase_value(kind, index),
            needs_budget=kind == "budget",
        )
        for kind in ("budget", "allocated")
        for index in range(3)
    ),
    ZoneSensorDescription(
        key="headroom",
        translation_key="headroom",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda state: round(state.headroom, 1),
        needs_budget=True,
    ),
    ZoneSensorDescription(
        key="active_sessions",
        translation_key="active_sessions",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda state: state.active,
    ),
    ZoneSensorDescription(
        key="paused_sessions",
        translation_key="paused_sessions",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda state: state.paused,
    ),
)


class ZoneSensor(LoadEntity, SensorEntity):
    """A figure of one electrical zone."""

    entity_description: ZoneSensorDescription

    def __init__(self, site: Site, key: str, description: ZoneSensorDescription) -> None:
        """Bind to a zone."""
        super().__init__(site, key, description)
        self._attr_device_info = zone_device_info(site, site.load.zones[key])

    @property
    def _state(self) -> ZoneState | None:
        if self.key not in self.site.load.zones:
            return None
        return self.site.load.zone_states.get(self.key)

    @property
    def available(self) -> bool:
        """Known once the DLM service has computed the zone (the budget: not in fail-safe)."""
        state = self._state
        if state is None or self.site.load.last_cycle is None:
            return False
        return not (self.entity_description.needs_budget and state.failsafe is not None)

    @property
    def native_value(self) -> StateType:
        """The value."""
        state = self._state
        return None if state is None else self.entity_description.value_fn(state)

    def _snapshot(self) -> Any:
        return (self.available, self.native_value)
