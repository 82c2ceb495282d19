"""The sensors of a Modbus meter: currents, voltages, power, energy, reading health."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import time
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.helpers.typing import StateType

from ..entity import (
    LoadEntity,
    meter_device_info,
)
from ..meters import MeterPoller
from ..site import Site

# --- meters -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MeterSensorDescription(SensorEntityDescription):
    """A meter sensor and how to read it."""

    value_fn: Callable[[MeterPoller], StateType]
    needs_reading: bool = True


def _reading_phase(attribute: str, index: int) -> Callable[[MeterPoller], StateType]:
    def value(poller: MeterPoller) -> StateType:
        reading = poller.last_good
        if reading is None:
            return None
        item: float | None = getattr(reading, attribute)[index]
        return None if item is None else round(item, 3)

    return value


def _reading_total(attribute: str) -> Callable[[MeterPoller], StateType]:
    def value(poller: MeterPoller) -> StateType:
        reading = poller.last_good
        item: float | None = None if reading is None else getattr(reading, attribute)
        return None if item is None else round(item, 3)

    return value


def _age(poller: MeterPoller) -> StateType:
    reading = poller.last_good
    if reading is None:
        return None
    return round(reading.age(time.monotonic()), 1)


_PHASE_UNITS: dict[str, tuple[SensorDeviceClass, str, bool]] = {
    "current": (SensorDeviceClass.CURRENT, UnitOfElectricCurrent.AMPERE, True),
    "voltage": (SensorDeviceClass.VOLTAGE, UnitOfElectricPotential.VOLT, False),
    "power": (SensorDeviceClass.POWER, UnitOfPower.WATT, False),
}


METER_SENSORS: tuple[MeterSensorDescription, ...] = (
    *(
        MeterSensorDescription(
            key=f"meter_{kind}_l{index + 1}",
            translation_key=f"{kind}_l{index + 1}",
            device_class=_PHASE_UNITS[kind][0],
            native_unit_of_measurement=_PHASE_UNITS[kind][1],
            entity_registry_enabled_default=_PHASE_UNITS[kind][2],
            state_class=SensorStateClass.MEASUREMENT,
            suggested_display_precision=1,
            value_fn=_reading_phase(kind, index),
        )
        for kind in ("current", "voltage", "power")
        for index in range(3)
    ),
    MeterSensorDescription(
        key="meter_power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=_reading_total("power_total"),
    ),
    MeterSensorDescription(
        key="meter_import_energy",
        translation_key="import_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=_reading_total("import_wh"),
    ),
    MeterSensorDescription(
        key="meter_amperage",
        translation_key="amperage",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda poller: poller.amperage,
        needs_reading=False,
    ),
    MeterSensorDescription(
        key="meter_reading_age",
        translation_key="reading_age",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_age,
        needs_reading=False,
    ),
    MeterSensorDescription(
        key="meter_read_errors",
        translation_key="read_errors",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda poller: poller.failures,
        needs_reading=False,
    ),
)


class MeterSensor(LoadEntity, SensorEntity):
    """A value read from one Modbus meter."""

    entity_description: MeterSensorDescription

    def __init__(self, site: Site, key: str, description: MeterSensorDescription) -> None:
        """Bind to a meter."""
        super().__init__(site, key, description)
        self._attr_device_info = meter_device_info(site, site.load.meters[key])

    @property
    def _poller(self) -> MeterPoller | None:
        return self.site.load.pollers.get(self.key)

    @property
    def available(self) -> bool:
        """Values need a recent good reading; counters only a running poller."""
        poller = self._poller
        if poller is None:
            return False
        if not self.entity_description.needs_reading:
            return True
        return poller.last_good is not None and poller.consecutive_failures == 0

    @property
    def native_value(self) -> StateType:
        """The value."""
        poller = self._poller
        return None if poller is None else self.entity_description.value_fn(poller)

    def _snapshot(self) -> Any:
        return (self.available, self.native_value)
