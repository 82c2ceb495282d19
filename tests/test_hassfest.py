"""What hassfest (Home Assistant's integration validator) checks, run here.

hassfest itself is not shipped with Home Assistant's package; these tests hold the same rules
(script/hassfest/translations.py, manifest.py, services.py of home-assistant/core):

- translation files follow hassfest's schema: translation keys are lowercase
  ``[a-z0-9-_]+`` (no leading, trailing or doubled ``-``/``_``), selector options and
  entity states included; strings carry no HTML, URLs, surrounding spaces or quoted
  placeholders; a step's data_description names only its data fields;
- every language file has exactly the keys of en.json;
- every key the code uses exists (flows: by walking them, see flow_translations.py; entities:
  by setting up a site with every kind of device; exceptions, issues: from the code), and no
  key is unused;
- every action of services.yaml and every one of its fields is translated;
- manifest.json keys are sorted: domain, name, then alphabetically.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
import json
from pathlib import Path
import re
import string
from typing import Any

import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.charge_zones.const import DOMAIN
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, entity_registry as er
from simulator.station import StationClient

from .conftest import (
    DEFAULT_BADGES,
    STATION_ID,
    connection_subentry,
    meter_subentry,
    station_subentry,
    ws_url,
    zone_subentry,
)
from .flow_translations import FlowTranslationChecker, load_translations
from .helpers import state_of

INTEGRATION = Path(__file__).parents[1] / "custom_components" / DOMAIN
LANGUAGES = sorted(p.stem for p in (INTEGRATION / "translations").glob("*.json"))
EN = load_translations("en")

# --- hassfest's translation schema -----------------------------------------------------

KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")
URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5):\/\/|www\.)"
    r"[a-z0-9]+([\-\.]{1}[a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(\/.*)?)",
    re.IGNORECASE,
)


def translation_key(value: Any) -> str:
    """A translation key as hassfest accepts it."""
    if not isinstance(value, str) or KEY.match(value) is None:
        raise vol.Invalid(
            f"invalid translation key {value!r}: [a-z0-9-_]+, not starting or ending "
            "with - or _, no doubled - or _"
        )
    return value


def _text(placeholders: bool) -> Any:
    def validate(value: Any) -> str:
        text = cv.string_with_no_html(value)
        if re.search(r"'{\w+}'", text):
            raise vol.Invalid("placeholder inside single quotes")
        for _, field, _, _ in string.Formatter().parse(text):
            if field and (not placeholders or not field.isidentifier()):
                raise vol.Invalid(f"placeholder {{{field}}} not allowed here")
        if re.search(r"(.+\[%)|(%\].+)", text):
            raise vol.Invalid("combined translation")
        if text != text.strip():
            raise vol.Invalid("leading or trailing spaces")
        if URL.search(text):
            raise vol.Invalid("URL in a string (use a description placeholder)")
        return text

    return validate


TEXT = _text(placeholders=True)
STATE_TEXT = _text(placeholders=False)


def _keyed(value_schema: Any, key: Any = translation_key) -> Any:
    return cv.schema_with_slug_keys(value_schema, slug_validator=key)


def _data_descriptions_name_data(value: dict[str, Any]) -> dict[str, Any]:
    for step_id, step in value.get("step", {}).items():
        for field in step.get("data_description", {}):
            if field not in step.get("data", {}):
                raise vol.Invalid(f"step {step_id}: data_description {field} is not in data")
    return value


def _flow(subentry: bool = False) -> Any:
    schema: dict[Any, Any] = {
        vol.Optional("flow_title"): TEXT,
        vol.Required("step"): {
            str: {
                vol.Optional("title"): TEXT,
                vol.Optional("description"): TEXT,
                vol.Optional("data"): {str: TEXT},
                vol.Optional("data_description"): {str: TEXT},
                vol.Optional("menu_options"): {str: TEXT},
                vol.Optional("menu_option_descriptions"): {str: TEXT},
                vol.Optional("submit"): TEXT,
                vol.Optional("sections"): {str: dict},
            }
        },
        vol.Optional("error"): {str: TEXT},
        vol.Optional("abort"): {str: TEXT},
        vol.Optional("progress"): {str: TEXT},
        vol.Optional("create_entry"): {str: TEXT},
    }
    if subentry:
        schema[vol.Required("entry_type")] = TEXT
        schema[vol.Required("initiate_flow")] = {vol.Required("user"): TEXT, str: TEXT}
    else:
        schema[vol.Optional("initiate_flow")] = {vol.Required("user"): TEXT}
    return vol.All(vol.Schema(schema), _data_descriptions_name_data)


STATE_ATTRIBUTES = _keyed(
    {vol.Optional("name"): STATE_TEXT, vol.Optional("state"): _keyed(STATE_TEXT)}
)
FIELDS = _keyed(
    {vol.Required("name"): str, vol.Required("description"): TEXT, vol.Optional("example"): TEXT}
)
STRINGS_SCHEMA = vol.Schema(
    {
        vol.Optional("title"): TEXT,
        vol.Optional("config"): _flow(),
        vol.Optional("options"): _flow(),
        vol.Optional("config_subentries"): _keyed(_flow(subentry=True), vol.Any("_", cv.slug)),
        vol.Optional("selector"): _keyed(
            {
                vol.Optional("options"): _keyed(TEXT),
                vol.Optional("choices"): _keyed(TEXT),
                vol.Optional("unit_of_measurement"): _keyed(TEXT),
                vol.Optional("fields"): dict,
            },
            vol.Any("_", cv.slug),
        ),
        vol.Optional("issues"): {
            str: vol.All(
                cv.has_at_least_one_key("description", "fix_flow"),
                vol.Schema(
                    {
                        vol.Required("title"): TEXT,
                        vol.Exclusive("description", "fixable"): TEXT,
                        vol.Exclusive("fix_flow", "fixable"): _flow(),
                    }
                ),
            )
        },
        vol.Optional("entity"): _keyed(
            _keyed(
                {
                    vol.Optional("name"): TEXT,
                    vol.Optional("state"): _keyed(STATE_TEXT),
                    vol.Optional("state_attributes"): STATE_ATTRIBUTES,
                    vol.Optional("unit_of_measurement"): STATE_TEXT,
                }
            ),
            cv.slug,
        ),
        vol.Optional("device"): _keyed({vol.Optional("name"): TEXT}),
        vol.Optional("exceptions"): _keyed({vol.Optional("message"): TEXT}, cv.slug),
        vol.Optional("services"): _keyed(
            {
                vol.Required("name"): TEXT,
                vol.Required("description"): TEXT,
                vol.Optional("fields"): FIELDS,
                vol.Optional("sections"): _keyed(
                    {vol.Required("name"): str, vol.Optional("description"): TEXT}
                ),
            }
        ),
    }
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translation_file_passes_hassfest_schema(language: str) -> None:
    """hassfest validates each file with its strings schema; keys must be lowercase."""
    STRINGS_SCHEMA(load_translations(language))


def _paths(node: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    else:
        yield prefix


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_language_has_the_keys_of_en(language: str) -> None:
    """A translation has every key of en.json and no other."""
    ours = set(_paths(load_translations(language)))
    english = set(_paths(EN))
    assert sorted(".".join(p) for p in english - ours) == [], "missing"
    assert sorted(".".join(p) for p in ours - english) == [], "not in en.json"


def _texts(node: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _texts(value, (*prefix, key))
    elif isinstance(node, str):
        yield ".".join(prefix), node


# The formal address: "<imperative> Sie", or a capitalised Ihr-/Ihnen inside a sentence.
FORMAL = re.compile(
    r"\b[A-ZÄÖÜ][a-zäöüß]+en Sie\b|(?<![.:!?] )(?<!^)\b(Ihnen|Ihr(e|en|em|er|es)?)\b"
)


def test_german_says_du() -> None:
    """Home Assistant's German speaks to the user with "du", never "Sie"."""
    formal = [
        f"{key}: {text}" for key, text in _texts(load_translations("de")) if FORMAL.search(text)
    ]
    assert formal == []


def test_entity_states_are_not_home_assistant_states() -> None:
    """`unavailable` and `unknown` are Home Assistant's own states, not an entity's."""
    clashes = [
        f"entity.{platform}.{key}.state.{state}"
        for platform, entities in EN["entity"].items()
        for key, entity in entities.items()
        for state in entity.get("state", {})
        if state in ("unavailable", "unknown")
    ]
    assert clashes == []


def test_icons_name_translated_states() -> None:
    """icons.json gives icons to entities and states that exist."""
    icons = json.loads((INTEGRATION / "icons.json").read_text())
    for platform, entities in icons.get("entity", {}).items():
        for key, icon in entities.items():
            strings = EN["entity"].get(platform, {}).get(key)
            assert strings is not None, f"icons: entity.{platform}.{key}"
            states = set(strings.get("state", {}))
            if platform in ("switch", "binary_sensor"):
                states |= {"on", "off"}  # translated by Home Assistant itself
            extra = set(icon.get("state", {})) - states
            assert extra == set(), f"icons: entity.{platform}.{key}"
    assert set(icons.get("services", {})) == set(SERVICES)


# --- manifest and services -----------------------------------------------------------


def test_manifest_keys_sorted() -> None:
    """hassfest wants domain, name, then the other keys in alphabetical order."""
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


# Integrations hassfest lets any integration import without naming them as dependencies
# (besides the entity platforms): always set up, or importable without being set up.
ALWAYS_IMPORTABLE = {
    "alert", "automation", "conversation", "default_config", "device_automation", "frontend",
    "group", "homeassistant", "input_boolean", "input_button", "input_datetime",
    "input_number", "input_select", "input_text", "media_source", "onboarding",
    "panel_custom", "persistent_notification", "person", "script", "shopping_list", "sun",
    "system_health", "system_log", "timer", "webhook", "websocket_api", "zone",
}  # fmt: skip


def test_imported_integrations_are_dependencies() -> None:
    """hassfest: an imported integration is a platform, a dependency, or one this
    integration has a module for (diagnostics.py, repairs...)."""
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    allowed = (
        {str(platform) for platform in Platform}
        | ALWAYS_IMPORTABLE
        | set(manifest.get("dependencies", []))
        | set(manifest.get("after_dependencies", []))
        | {path.stem for path in INTEGRATION.glob("*.py")}
    )
    used: set[str] = set()
    for path in INTEGRATION.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("homeassistant.components."):
                    used.add(node.module.split(".")[2])
                elif node.module == "homeassistant.components":
                    used.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                used.update(
                    alias.name.split(".")[2]
                    for alias in node.names
                    if alias.name.startswith("homeassistant.components.")
                )
    assert sorted(used - allowed) == []


SERVICES = yaml.safe_load((INTEGRATION / "services.yaml").read_text())


def test_services_translated() -> None:
    """Every action and field of services.yaml has a name and description, and only those."""
    assert sorted(EN["services"]) == sorted(SERVICES)
    for service, spec in SERVICES.items():
        fields = set((spec or {}).get("fields") or {})
        assert set(EN["services"][service].get("fields", {})) == fields, service


def _service_selectors() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for spec in SERVICES.values():
        for field in ((spec or {}).get("fields") or {}).values():
            select = (field.get("selector") or {}).get("select") or {}
            if "translation_key" in select:
                found[select["translation_key"]] = [
                    option["value"] if isinstance(option, dict) else option
                    for option in select["options"]
                ]
    return found


def test_service_selectors_translated() -> None:
    """A select of services.yaml with a translation_key has its options translated."""
    for key, options in _service_selectors().items():
        for option in options:
            translation_key(option)
        assert sorted(set(options) - set(EN["selector"][key]["options"])) == [], key


# --- keys used by the code -----------------------------------------------------------


class _CodeReferences:
    """String literals and f-string patterns of the integration, and translation_key uses."""

    def __init__(self) -> None:
        self.literals: set[str] = set()
        self.patterns: set[str] = set()
        # category -> literal keys, patterns (entity categories are entity.<platform>)
        self.keys: dict[str, set[str]] = {}
        self.key_patterns: dict[str, set[str]] = {}
        self.constants = self._constants()
        for path in sorted(INTEGRATION.rglob("*.py")):
            self._scan(path)

    @staticmethod
    def _constants() -> dict[str, str]:
        constants: dict[str, str] = {}
        for path in INTEGRATION.rglob("*.py"):
            for node in ast.parse(path.read_text()).body:
                target = node.target if isinstance(node, ast.AnnAssign) else None
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target = node.targets[0]
                value = getattr(node, "value", None)
                if (
                    isinstance(target, ast.Name)
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                ):
                    constants[target.id] = value.value
        return constants

    @staticmethod
    def _pattern(node: ast.JoinedStr) -> str:
        return "".join(
            re.escape(str(part.value)) if isinstance(part, ast.Constant) else ".*"
            for part in node.values
        )

    def _add(self, category: str, value: ast.expr) -> None:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            self.keys.setdefault(category, set()).add(value.value)
        elif isinstance(value, ast.Name) and value.id in self.constants:
            self.keys.setdefault(category, set()).add(self.constants[value.id])
        elif isinstance(value, ast.JoinedStr):
            self.key_patterns.setdefault(category, set()).add(self._pattern(value))
        elif isinstance(value, ast.IfExp):
            self._add(category, value.body)
            self._add(category, value.orelse)

    def _scan(self, path: Path) -> None:
        # A platform's entities may live in a package of their own (sensors/ for sensor).
        platform = (
            path.parent.name[:-1]
            if path.parent.name.endswith("s")
            and (
                path.parent.parent == INTEGRATION
                and path.parent.name[:-1] in {str(p) for p in Platform}
            )
            else path.stem
        )
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                self.literals.add(node.value)
            elif isinstance(node, ast.JoinedStr):
                self.patterns.add(self._pattern(node))
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Attribute) and t.attr == "_attr_translation_key"
                for t in node.targets
            ):
                self._add(f"entity.{platform}", node.value)
            elif isinstance(node, ast.Call):
                self._scan_call(node, platform)

    def _scan_call(self, node: ast.Call, platform: str) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        kwargs = {kw.arg: kw.value for kw in node.keywords if kw.arg}
        if "select" in name.lower():
            if "translation_key" in kwargs:
                self._add("selector", kwargs["translation_key"])
            for arg in node.args[1:]:
                self._add("selector", arg)
        if "translation_key" not in kwargs:
            return
        key = kwargs["translation_key"]
        if name in ("async_create_issue", "create_issue"):
            self._add("issues", key)
        elif "translation_domain" in kwargs:
            self._add("exceptions", key)
        elif name.endswith("Description") or name == "replace":
            self._add(f"entity.{platform}", key)

    def used(self, key: str, category: str | None = None) -> bool:
        """Whether the code names a key (as a key of category, or anywhere at all)."""
        if category is not None:
            return key in self.keys.get(category, set()) or any(
                re.fullmatch(p, key) for p in self.key_patterns.get(category, set())
            )
        return key in self.literals or any(re.fullmatch(p, key) for p in self.patterns)


CODE = _CodeReferences()


@pytest.mark.parametrize("category", ["exceptions", "issues"])
def test_code_keys_exist(category: str) -> None:
    """Every exception and repair issue raised by the code has its strings."""
    assert CODE.keys.get(category), f"no {category} found in the code"
    missing = sorted(CODE.keys[category] - set(EN[category]))
    assert missing == []
    for pattern in CODE.key_patterns.get(category, set()):
        assert any(re.fullmatch(pattern, key) for key in EN[category]), pattern


def test_entity_keys_in_code_exist() -> None:
    """Every entity translation_key of a platform module has its strings."""
    for category, keys in CODE.keys.items():
        if category.startswith("entity."):
            platform = category.removeprefix("entity.")
            assert sorted(keys - set(EN["entity"].get(platform, {}))) == [], platform


def test_no_unused_keys() -> None:
    """Every key of en.json is used by the code (hassfest/Lokalise drop unused strings)."""
    unused: list[str] = []
    service_selectors = _service_selectors()
    for key, selector_strings in EN["selector"].items():
        if key not in service_selectors and not CODE.used(key, "selector"):
            unused.append(f"selector.{key}")
        unused.extend(
            f"selector.{key}.options.{option}"
            for option in selector_strings.get("options", {})
            if option not in service_selectors.get(key, ()) and not CODE.used(option)
        )
    for category in ("exceptions", "issues"):
        unused.extend(
            f"{category}.{key}"
            for key in EN[category]
            if not CODE.used(key, category) and not CODE.used(key)
        )
    for platform, entities in EN["entity"].items():
        unused.extend(
            f"entity.{platform}.{key}"
            for key in entities
            if not CODE.used(key, f"entity.{platform}")
        )
    flows: list[tuple[str, dict[str, Any]]] = [("config", EN["config"]), ("options", EN["options"])]
    flows += [(f"config_subentries.{k}", v) for k, v in EN["config_subentries"].items()]
    flows += [
        (f"issues.{k}.fix_flow", v["fix_flow"]) for k, v in EN["issues"].items() if "fix_flow" in v
    ]
    # Reasons Home Assistant's flow helpers abort with by themselves
    implicit = {"already_configured", "reconfigure_successful", "already_in_progress"}
    for where, flow in flows:
        for step_id, step in flow["step"].items():
            if not CODE.used(step_id) and not CODE.used(f"async_step_{step_id}"):
                unused.append(f"{where}.step.{step_id}")
            unused.extend(
                f"{where}.step.{step_id}.data.{field}"
                for field in step.get("data", {})
                if not CODE.used(field)
            )
        for kind in ("error", "abort"):
            unused.extend(
                f"{where}.{kind}.{key}"
                for key in flow.get(kind, {})
                if not CODE.used(key) and key not in implicit
            )
    assert unused == [], "\n".join(unused)


# --- keys used at run time -----------------------------------------------------------


async def test_hub_reconfigure_and_options_are_translated(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    flow_translations: FlowTranslationChecker,
) -> None:
    """The hub's reconfigure dialog ends on a translated message, not a raw key."""
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": loaded_entry.data["port"]}
    )
    assert result["reason"] == "reconfigure_successful"
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["step_id"] == "init"
    assert flow_translations.missing == []


@pytest.fixture
def subentries() -> list[dict[str, Any]]:
    """One of every kind: a two-connector station in a zone with a meter, and badges."""
    return [
        connection_subentry(),
        meter_subentry(),
        zone_subentry(dlm_meters=["meter_commons"]),
        station_subentry(connectors=2, zone="zone_car_park"),
        *DEFAULT_BADGES,
    ]


async def test_entities_translated(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """Every entity of a full site has a translated name, and its states and only those."""
    entries = er.async_entries_for_config_entry(er.async_get(hass), loaded_entry.entry_id)
    assert len(entries) > 50
    used: set[tuple[str, str]] = set()
    for entry in entries:
        assert entry.translation_key is not None, entry.entity_id
        platform = entry.domain
        used.add((platform, entry.translation_key))
        strings = EN["entity"].get(platform, {}).get(entry.translation_key)
        assert strings is not None, f"entity.{platform}.{entry.translation_key}"
        options = (entry.capabilities or {}).get("options")
        if options is not None:
            assert sorted(strings.get("state", {})) == sorted(options), entry.entity_id


async def test_connector_out_of_service_is_a_state_of_its_own(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A connector the station reports Unavailable shows "Out of service", not Home
    Assistant's `unavailable` (which would read as the sensor itself being down)."""
    async with StationClient(ws_url(loaded_entry), STATION_ID) as station:
        await station.status(1, "Unavailable")
        await station.status(2, "Available")
        await hass.async_block_till_done()
        sub = f"sub_{STATION_ID}"
        assert state_of(hass, "sensor", f"{sub}_connector_1_status") == "unavailable_connector"
        assert state_of(hass, "sensor", f"{sub}_connector_2_status") == "available"
    assert EN["entity"]["sensor"]["status_connector"]["state"]["unavailable_connector"] == (
        "Out of service"
    )


# --- quality scale -------------------------------------------------------------------

QUALITY_SCALE_RULES = {
    "bronze": (
        "action-setup appropriate-polling brands common-modules config-flow "
        "config-flow-test-coverage dependency-transparency docs-actions docs-conditions "
        "docs-high-level-description docs-installation-instructions "
        "docs-removal-instructions docs-triggers entity-event-setup entity-unique-id "
        "has-entity-name runtime-data test-before-configure test-before-setup "
        "unique-config-entry"
    ),
    "silver": (
        "action-exceptions config-entry-unloading docs-configuration-parameters "
        "docs-installation-parameters entity-unavailable integration-owner "
        "log-when-unavailable parallel-updates reauthentication-flow test-coverage"
    ),
    "gold": (
        "devices diagnostics discovery discovery-update-info docs-data-update docs-examples "
        "docs-known-limitations docs-supported-devices docs-supported-functions "
        "docs-troubleshooting docs-use-cases dynamic-devices entity-category "
        "entity-device-class entity-disabled-by-default entity-translations "
        "exception-translations icon-translations reconfiguration-flow repair-issues "
        "stale-devices"
    ),
    "platinum": "async-dependency inject-websession strict-typing",
}


def test_quality_scale_file_passes_hassfest_schema() -> None:
    """Every rule is graded: todo or done (a comment optional), exempt with a comment."""
    data = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())
    assert list(data) == ["rules"]
    rules = {name for names in QUALITY_SCALE_RULES.values() for name in names.split()}
    assert len(rules) == 54
    assert set(data["rules"]) == rules
    for name, value in data["rules"].items():
        if isinstance(value, str):
            assert value in ("todo", "done"), name
        else:
            assert set(value) == {"status", "comment"}, name
            assert value["status"] in ("todo", "done", "exempt"), name
            assert isinstance(value["comment"], str), name
            assert value["comment"].strip(), name
