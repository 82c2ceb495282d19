"""Every flow result a test sees must be translated in en.json (what Home Assistant shows).

Config, options, subentry and repair flows of this integration: a form's step, its fields,
its errors and its select options; a menu's options; an abort's reason (in the
integration's own translations, not left to Home Assistant's). Installed by an
autouse fixture in conftest, so every flow test checks the keys of what it walks through.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

import probatio as vol

from custom_components.charge_zones.const import DOMAIN
from homeassistant import config_entries, data_entry_flow
from homeassistant.components.repairs import RepairsFlowManager
from homeassistant.helpers import issue_registry as ir, selector

TRANSLATIONS = Path(__file__).parents[1] / "custom_components" / DOMAIN / "translations"


def load_translations(language: str) -> dict[str, Any]:
    """One language file."""
    data: dict[str, Any] = json.loads((TRANSLATIONS / f"{language}.json").read_text())
    return data


def _section(
    manager: data_entry_flow.FlowManager[Any, Any, Any],
    flow: data_entry_flow.FlowHandler[Any, Any, Any],
) -> tuple[str, ...] | None:
    """Where a flow's strings live in en.json (None: not one of ours)."""
    if isinstance(manager, config_entries.ConfigEntriesFlowManager):
        return ("config",) if flow.handler == DOMAIN else None
    if isinstance(manager, config_entries.OptionsFlowManager):
        entry = manager.hass.config_entries.async_get_entry(flow.handler)
        return ("options",) if entry is not None and entry.domain == DOMAIN else None
    if isinstance(manager, config_entries.ConfigSubentryFlowManager):
        entry_id, subentry_type = flow.handler
        entry = manager.hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            return None
        return ("config_subentries", subentry_type)
    if isinstance(manager, RepairsFlowManager):
        if flow.handler != DOMAIN:
            return None
        # The issue's key, remembered on the flow: the issue may be gone by its last step.
        key = getattr(flow, "_issue_translation_key", None)
        if key is None:
            issue = ir.async_get(manager.hass).async_get_issue(DOMAIN, flow.context["issue_id"])
            key = issue.translation_key if issue is not None else None
            key = key or flow.context["issue_id"]
            flow._issue_translation_key = key
        return ("issues", key, "fix_flow")
    return None


def _lookup(strings: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = strings
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def missing_keys(
    strings: Mapping[str, Any], section: tuple[str, ...], result: Mapping[str, Any]
) -> list[str]:
    """The en.json keys a flow result needs and does not find."""
    base = ".".join(section)
    missing: list[str] = []

    def need(*path: str) -> None:
        if _lookup(strings, (*section, *path)) is None:
            missing.append(".".join((base, *path)))

    kind = result["type"]
    if kind is data_entry_flow.FlowResultType.FORM:
        step = result["step_id"]
        need("step", step)
        schema = result.get("data_schema")
        for field, validator in schema.schema.items() if schema is not None else ():
            name = str(field.schema if isinstance(field, vol.Marker) else field)
            need("step", step, "data", name)
            if isinstance(validator, selector.SelectSelector):
                key = validator.config.get("translation_key")
                if key is not None:
                    for option in validator.config["options"]:
                        value = option["value"] if isinstance(option, Mapping) else option
                        if _lookup(strings, ("selector", key, "options", value)) is None:
                            missing.append(f"selector.{key}.options.{value}")
        for error in (result.get("errors") or {}).values():
            need("error", error)
    elif kind is data_entry_flow.FlowResultType.MENU:
        step = result["step_id"]
        options = result["menu_options"]
        for option in options if isinstance(options, list) else list(options):
            need("step", step, "menu_options", option)
    elif kind is data_entry_flow.FlowResultType.ABORT:
        need("abort", result["reason"])
        # Said in the integration's words, not left to Home Assistant's (its default
        # "reconfigure_successful" is English in French: "Reconfiguration was successful").
        if result.get("translation_domain") not in (None, DOMAIN):
            missing.append(
                f"{base}.abort.{result['reason']} (left to {result['translation_domain']})"
            )
    return missing


class FlowTranslationChecker:
    """Collects the missing keys of every flow result of this integration."""

    def __init__(self) -> None:
        self.strings = load_translations("en")
        self.missing: list[str] = []

    def wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        checker = self

        async def _async_handle_step(
            manager: data_entry_flow.FlowManager[Any, Any, Any],
            flow: data_entry_flow.FlowHandler[Any, Any, Any],
            step_id: str,
            user_input: Any,
        ) -> Any:
            result = await original(manager, flow, step_id, user_input)
            section = _section(manager, flow)
            if section is not None:
                checker.missing.extend(missing_keys(checker.strings, section, result))
            return result

        return _async_handle_step

    def assert_complete(self) -> None:
        missing = sorted(set(self.missing))
        assert not missing, f"flow strings missing from en.json: {missing}"


def check_flow_translations() -> Generator[FlowTranslationChecker]:
    """Patch the flow managers for one test, then assert nothing was missing."""
    checker = FlowTranslationChecker()
    original = data_entry_flow.FlowManager._async_handle_step
    with patch.object(data_entry_flow.FlowManager, "_async_handle_step", checker.wrap(original)):
        yield checker
    checker.assert_complete()
