"""The fail-safe notification blueprint: valid, and it notifies."""

from __future__ import annotations

from pathlib import Path
import shutil

import pytest

from homeassistant.components.blueprint import models, schemas
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict

BLUEPRINT = Path(__file__).parent.parent / "blueprints/automation/charge_zones/failsafe_notify.yaml"


def test_blueprint_is_valid() -> None:
    blueprint = models.Blueprint(load_yaml_dict(str(BLUEPRINT)), schema=schemas.BLUEPRINT_SCHEMA)
    assert blueprint.domain == "automation"
    assert set(blueprint.inputs) == {"zones", "notify_target", "notify_when_left"}


@pytest.mark.parametrize(
    ("zones", "zone", "state", "expected"),
    [
        ([], "Parking", "entered", "Charging zone Parking in 6 A fail-safe"),
        (["Parking"], "Parking", "left", "Charging zone Parking back to normal"),
        (["Garage"], "Parking", "entered", None),
    ],
)
async def test_blueprint_notifies(
    hass: HomeAssistant, zones: list[str], zone: str, state: str, expected: str | None
) -> None:
    target = Path(hass.config.path("blueprints/automation/charge_zones"))

    def install() -> None:
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(BLUEPRINT, target / BLUEPRINT.name)

    await hass.async_add_executor_job(install)
    calls: list[ServiceCall] = []

    async def record(call: ServiceCall) -> None:
        calls.append(call)

    hass.services.async_register("notify", "building_manager", record)
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": f"charge_zones/{BLUEPRINT.name}",
                    "input": {"zones": zones, "notify_target": "notify.building_manager"},
                }
            }
        },
    )
    hass.bus.async_fire(
        "charge_zones_failsafe",
        {
            "zone": zone,
            "meter": "Commons",
            "state": state,
            "age": 12.3,
            "failsafe_current": 6.0,
            "reason": "stale",
        },
    )
    await hass.async_block_till_done()
    if expected is None:
        assert not calls
        return
    assert len(calls) == 1
    assert calls[0].data["title"] == expected
    if state == "entered":
        assert (
            "DLM meters can't be read: \"Last Commons continuous reading"
            in calls[0].data["message"]
        )
        assert "12.3 seconds" in calls[0].data["message"]
