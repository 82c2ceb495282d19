"""The walk of `scripts/ui-walk`: an installer adds a building in Home Assistant's real UI.

Run by scripts/ui-walk beside the Home Assistant it started on a fresh configuration
directory (no hub) and a simulated SDM630 on Modbus TCP. Onboards an owner over the REST
API (as the onboarding pages do, in the walk's language, which becomes Home Assistant's
language too), then drives Debian's Chromium (headless, Playwright; never
`playwright install`) as a person would, in that language:

1. Settings > Devices & services > Add integration > search "Charge Zones": the hub's
   form, submitted first with port 0 (refused: out of range), then with TLS from
   certificate files: their second step, with files that are not there (refused,
   naming the file; cancelled); the form again, without TLS, on a free port;
2. on the integration's page, the hub's *Add* buttons, in their order: a Modbus TCP
   connection to the simulated meter, a meter (first at an address where no meter
   answers: refused, then at the meter's), a zone (first with a fail-safe current of
   5 A: refused), a station in that zone, a badge;
3. a Modbus RTU (serial) connection: a timeout out of range (refused, the range written
   with the language's decimal mark: 0,1 in French), then a serial port that is not
   there (refused in words, naming it); cancelled;
4. the hub's options (its gear: a raise hold out of range, then saved) and its
   reconfiguration (its menu: a port out of range, then saved as it was);
5. each subentry's edit form (its gear): connection, meter (0,2 s in French), zone and
   station with a value out of range (refused, naming the range), then saved; the
   badge saved as it is.

At every step it reads the dialog's visible text (through the shadow roots, only what is
rendered), saves a screenshot (DIR/NN-step.png) and fails on: raw translation keys
(`component.charge_zones…`, `[%key:…]`, `config.step.…`, a snake_case key, a
`{placeholder}` left in a text), Home Assistant's raw English range and validation errors
("Value 0 is too small", "expected int", …), code-speak (errno, 0x…, Traceback, Modbus
function codes, exception names) and, in a language other than English, an English label
or text of the integration (from translations/en.json, where the language's own text
differs) left in the page. Finally the integration's page (its entries, devices and
subentries) is read the same way.

Exit status 0 (all clean) or 1, with every problem and the step it was seen at.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
import contextlib
import importlib.util
import json
from pathlib import Path
import re
import sys
import time
from typing import Any
import unicodedata

sys.path.insert(0, str(Path(__file__).resolve().parent))
from card_check import CHROMIUM, log_in
from smoke import Api, wait

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "custom_components/charge_zones/translations"
USERNAME = "walk"
PASSWORD = "walk-charge-zones"

# The visible text under an element, through shadow roots, in document order: text nodes
# that are rendered (a slot's fallback included, a hidden element's or unassigned light
# child's not), one per line.
VISIBLE_TEXT = """(root) => {
  const parts = [];
  function walk(node) {
    if (node.nodeType === 3) {
      const text = node.textContent.trim();
      if (!text || !node.parentElement) return;
      const range = document.createRange();
      range.selectNodeContents(node);
      const shown = [...range.getClientRects()].some(r => r.width > 0 && r.height > 0);
      if (shown && getComputedStyle(node.parentElement).visibility !== "hidden") parts.push(text);
      return;
    }
    if (node.nodeType !== 1 && node.nodeType !== 11) return;
    if (node.localName === "style" || node.localName === "script") return;
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) walk(child);
  }
  walk(root);
  return parts.join("\\n");
}"""
# Marks each field of the dialog's form with data-walk-field="<its key>" (ha-form renders
# one element per schema entry, which carries that entry as `schema`), so that the walk
# fills fields by key, whatever the language; returns the keys.
MARK_FIELDS = """(dialog) => {
  const keys = [];
  function walk(root) {
    for (const n of root.querySelectorAll("*")) {
      if (n.localName !== "ha-form" && n.schema && n.schema.name
          && !n.hasAttribute("data-walk-field")) {
        n.setAttribute("data-walk-field", n.schema.name);
        keys.push(n.schema.name);
      }
      if (n.shadowRoot) walk(n.shadowRoot);
    }
  }
  walk(dialog.shadowRoot || dialog);
  return keys;
}"""
# The dialog's visible panel (for a screenshot of the dialog alone).
PANEL_BOX = """(dialog) => {
  let best = null;
  function walk(root) {
    for (const n of root.querySelectorAll("*")) {
      const r = n.getBoundingClientRect();
      const style = getComputedStyle(n);
      if (r.width > 200 && r.height > 100 && r.width < innerWidth - 10
          && style.backgroundColor !== "rgba(0, 0, 0, 0)" && (!best || r.width * r.height > best.area))
        best = {x: r.x, y: r.y, width: r.width, height: r.height, area: r.width * r.height};
      if (n.shadowRoot) walk(n.shadowRoot);
    }
  }
  walk(dialog.shadowRoot || dialog);
  return best;
}"""

# What must never show. Raw keys: Home Assistant shows a key when its translation is
# missing (an error as `meter_silent`, a label as `max_current`), a reference left
# unresolved as `[%key:…]` or `component.charge_zones.…`.
RAW_KEY = [
    (
        re.compile(r"component\.charge_zones|\[%key:|config(_subentries)?\.(step|error|abort)\."),
        "a raw translation key",
    ),
    (re.compile(r"(?<![\w/.:-])[a-z]+(?:_[a-z0-9]+)+(?![\w/.(-])"), "a raw key (snake_case)"),
    (re.compile(r"\{[A-Za-z_]+\}"), "a {placeholder} left in a text"),
    (re.compile(r"(?<![\w.])(data|data_description|error|abort|step)\.[a-z_]+"), "a raw key"),
]
# snake_case words that are not keys: a configuration key the text names on purpose.
NOT_KEYS = {"ssl_certificate", "ssl_key"}
RAW_ENGLISH = [
    re.compile(p)
    for p in (
        r"too small",
        r"too large",
        r"\bValue \S+ is",
        r"\bexpected (int|float|str|a|an)\b",
        r"required key not provided",
        r"not a valid value",
        r"extra keys not allowed",
        r"Unknown error",
    )
]
CODE_SPEAK = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"errno",
        r"\b0x[0-9a-f]",
        r"Traceback",
        r"\bfunction \d",
        r"pymodbus",
        r"\bunit=",
        r"NoneType",
        r"\bexception (code )?\d",
    )
] + [re.compile(r"[A-Za-z]*Exception\b")]  # a class name, not the word "exception"


def strings(tree: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every (key path, text) of a translation file."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from strings(value, (*path, key))
    elif isinstance(tree, str):
        yield path, tree


def english_leftovers(language: str) -> list[str]:
    """The integration's English texts (labels, titles, errors, option and device names of
    what the walk sees) that the language says otherwise."""
    if language == "en":
        return []
    en = dict(strings(json.loads((TRANSLATIONS / "en.json").read_text())))
    own = dict(strings(json.loads((TRANSLATIONS / f"{language}.json").read_text())))
    shown_parts = {"config", "config_subentries", "options", "selector", "entity", "device"}
    words = set()
    for path, text in en.items():
        if path[0] not in shown_parts or "{" in text or own.get(path) == text:
            continue
        # Labels, titles, names and option texts (whole), errors (their first clause).
        if path[-1] == "description" or path[-2:-1] == ("data_description",):
            continue
        if "error" in path:
            words.add(text.split(":")[0].split(".")[0])
        elif len(text) >= 4 and text not in own.values():
            words.add(text)
    return sorted(words, key=len, reverse=True)


def home_assistant_english(language: str) -> list[str]:
    """Home Assistant's own English flow texts (an abort's "Reconfiguration was
    successful", …) that it has no translation of in the language: shown when a flow
    leaves a text to Home Assistant (a default abort reason) instead of saying its own."""
    if language == "en":
        return []
    spec = importlib.util.find_spec("homeassistant")
    if spec is None or spec.origin is None:
        return []
    folder = Path(spec.origin).parent / "components/homeassistant/translations"
    en = dict(strings(json.loads((folder / "en.json").read_text())))
    own_file = folder / f"{language}.json"
    own = dict(strings(json.loads(own_file.read_text()))) if own_file.exists() else {}
    return sorted(
        {
            text
            for path, text in en.items()
            if path[0] == "config" and "{" not in text and own.get(path, text) == text
        },
        key=len,
        reverse=True,
    )


class Walk:
    """The browser, the steps seen, and the problems found."""

    def __init__(self, page: Any, language: str, shots: Path) -> None:
        self.page = page
        self.language = language
        self.shots = shots
        self.step = 0
        self.problems: list[str] = []
        self.seen: list[str] = []
        self.english = [
            (word, re.compile(rf"(?<!\w){re.escape(word)}(?!\w)"))
            for word in english_leftovers(language) + home_assistant_english(language)
        ]
        self.text = dict(strings(json.loads((TRANSLATIONS / f"{language}.json").read_text())))
        self.dialog = page.locator("dialog-data-entry-flow")
        # The decimal mark the language writes (the range errors' 0,2 or 0.2).
        self.mark = "," if language in ("fr", "de", "it") else "."

    def tr(self, *path: str) -> str:
        return self.text[path]

    def check(self, name: str, text: str) -> None:
        found = []
        for line in text.splitlines():
            for pattern, what in RAW_KEY:
                found += [
                    f"{what}: {match.group(0)!r} in {line!r}"
                    for match in pattern.finditer(line)
                    if match.group(0) not in NOT_KEYS
                ]
            found += [
                f"Home Assistant's raw English: {line!r}" for p in RAW_ENGLISH if p.search(line)
            ]
            found += [f"code-speak: {line!r}" for p in CODE_SPEAK if p.search(line)]
            found += [
                f"English: {word!r} in {line!r}" for word, p in self.english if p.search(line)
            ]
        self.problems += [f"{name}: {problem}" for problem in dict.fromkeys(found)]

    def look(self, name: str, *, page: str = "") -> str:
        """Read, check and photograph the dialog (or the whole page)."""
        self.step += 1
        name = f"{self.step:02d}-{name}"
        self.page.wait_for_timeout(300)  # let the dialog settle (its animations)
        if page:
            text = self.page.locator(page).evaluate(VISIBLE_TEXT)
            self.page.screenshot(path=str(self.shots / f"{name}.png"))
        else:
            text = self.dialog.evaluate(VISIBLE_TEXT)
            box = self.dialog.evaluate(PANEL_BOX)
            clip = None
            if box:
                clip = {k: box[k] for k in ("x", "y", "width", "height")}
            self.page.screenshot(path=str(self.shots / f"{name}.png"), clip=clip)
        self.seen.append(f"--- {name}\n{text}")
        self.check(name, text)
        return text

    # --- the dialog

    def form(self) -> list[str]:
        self.dialog.locator("step-flow-form").wait_for(timeout=30_000)
        self.page.wait_for_timeout(500)
        return list(self.dialog.evaluate(MARK_FIELDS))

    def field(self, key: str) -> Any:
        self.dialog.evaluate(MARK_FIELDS)  # a re-rendered form has new elements
        return self.dialog.locator(f"[data-walk-field='{key}']")

    def fill(self, key: str, value: str) -> None:
        self.field(key).locator("input").first.fill(value)

    def choose(self, key: str, option: str) -> None:
        """Pick an option of a dropdown (single or multiple) by its visible text."""
        field = self.field(key)
        if field.locator("ha-generic-picker").count():  # multiple: a button, a list
            field.locator("ha-generic-picker ha-button").first.click()
            field.locator("ha-picker-combo-box").get_by_text(option, exact=True).first.click()
        else:  # single: a field, a menu
            field.locator("ha-picker-field").first.click()
            field.locator("ha-dropdown-item").filter(has_text=option).first.click()
        self.page.wait_for_timeout(300)

    def submit(self, expect: str = "any") -> str:
        """Submit the form; wait for the next step, a success or the form's error."""
        before = self.dialog.evaluate(VISIBLE_TEXT)
        self.dialog.locator("ha-dialog-footer ha-button").last.click()
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(300)
            if self.dialog.locator("step-flow-create-entry").count():
                outcome = "created"
            elif self.dialog.locator("step-flow-abort").count():
                outcome = "aborted"
            elif self.dialog.locator("step-flow-form ha-alert").count() and (
                self.dialog.evaluate(VISIBLE_TEXT) != before
            ):
                outcome = "error"
            elif self.dialog.locator("step-flow-form, step-flow-menu").count() and (
                self.dialog.evaluate(VISIBLE_TEXT) != before
                and not self.dialog.locator("step-flow-loading").count()
            ):
                outcome = "next"
            else:
                continue
            if expect not in ("any", outcome):
                raise RuntimeError(
                    f"expected {expect}, got {outcome}: {self.dialog.evaluate(VISIBLE_TEXT)!r}"
                )
            self.page.wait_for_timeout(300)
            return outcome
        raise RuntimeError(f"the form did not answer: {self.dialog.evaluate(VISIBLE_TEXT)!r}")

    def finish(self) -> None:
        """Close a success step (its last button: Finish, or Skip and finish)."""
        self.dialog.locator("ha-dialog-footer ha-button").last.click()
        self.dialog.locator("step-flow-create-entry").wait_for(state="detached", timeout=30_000)

    def close(self) -> None:
        """Close an abort step (a reconfiguration's "updated"): its Close button."""
        self.dialog.locator("ha-dialog-footer ha-button").last.click()
        self.dialog.locator("step-flow-abort").wait_for(state="detached", timeout=30_000)

    def cancel(self) -> None:
        """Leave a form without submitting it: the dialog's close button (its X)."""
        self.dialog.locator("ha-icon-button[data-dialog='close']").first.click()
        self.dialog.locator("step-flow-form").wait_for(state="detached", timeout=30_000)
        self.page.wait_for_timeout(500)

    def pick(self, key: str, option: str) -> None:
        """Pick an option of a list (radio buttons) by its visible text."""
        self.field(key).get_by_text(option, exact=True).first.click()
        self.page.wait_for_timeout(300)

    def expect(self, name: str, text: str, *parts: str) -> None:
        """The step's text must say each part (a range's numbers, a path)."""
        missing = [part for part in parts if part not in text]
        if missing:
            self.problems.append(f"{name}: {missing} not in {text!r}")

    def options(self) -> None:
        """The hub's options: its gear on the integration's page."""
        row = self.page.locator("ha-config-integration-page ha-config-entry-row").first
        row.locator("ha-icon-button[slot='end']").first.click()

    def reconfigure(self) -> None:
        """The hub's reconfiguration: its menu (the three dots), Reconfigure."""
        row = self.page.locator("ha-config-integration-page ha-config-entry-row").first
        row.locator("ha-dropdown ha-icon-button[slot='trigger']").first.click()
        self.page.wait_for_timeout(300)
        row.locator("ha-dropdown-item[value='reconfigure']").first.click()

    def edit(self, title: str) -> None:
        """A subentry's edit form: the gear of its row (found by its title)."""
        row = (
            self.page.locator("ha-config-sub-entry-row")
            .filter(
                has=self.page.locator(
                    "span[slot='headline']", has_text=re.compile(rf"^\s*{re.escape(title)}\s*$")
                )
            )
            .first
        )
        row.locator("ha-icon-button[slot='end']").first.click()

    def add(self, subentry_type: str) -> None:
        """Press the hub's Add button of a subentry type (its text in the language)."""
        label = self.tr("config_subentries", subentry_type, "initiate_flow", "user")
        self.page.locator("ha-config-integration-page ha-button").filter(
            has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")
        ).first.click()


def onboard(api: Api, language: str) -> None:
    """The owner, as the onboarding pages make it, in the walk's language."""
    client_id = f"{api.base}/"
    status, body = api.call(
        "/api/onboarding/users",
        {
            "name": "Walk",
            "username": USERNAME,
            "password": PASSWORD,
            "client_id": client_id,
            "language": language,
        },
    )
    if status != 200:
        raise RuntimeError(f"/api/onboarding/users answered {status}: {body}")
    api.login(USERNAME, PASSWORD)
    for step, data in (
        ("core_config", {}),
        ("analytics", {}),
        ("integration", {"client_id": client_id, "redirect_uri": f"{api.base}/?auth_callback=1"}),
    ):
        status, body = api.call(f"/api/onboarding/{step}", data)
        if status != 200:
            raise RuntimeError(f"onboarding {step} answered {status}: {body}")
    # Onboarding in a language sets Home Assistant's language (the entity and device
    # names the integration gives are in it); the configuration's `http:` block is
    # confirmed as the owner would (else Home Assistant reverts it after 5 minutes).
    api.ws({"type": "config/core/update", "language": language})
    with contextlib.suppress(RuntimeError):
        api.ws({"type": "http/config/promote"})


def walk(w: Walk, api: Api, base: str, meter_port: int, ocpp_port: int) -> None:
    page = w.page
    tr = w.tr

    def add_hub() -> None:
        """Settings > Devices & services > Add integration > Charge Zones."""
        page.goto(base + "/config", wait_until="domcontentloaded")
        page.locator("a[href='/config/integrations']").first.click(timeout=60_000)
        page.locator("ha-config-integrations-dashboard ha-button[slot='fab']").click(timeout=60_000)
        page.locator("dialog-add-integration").wait_for(state="attached", timeout=30_000)
        page.wait_for_timeout(1000)
        page.keyboard.type("Charge Zones")
        page.locator("dialog-add-integration ha-integration-list-item").filter(
            has_text="Charge Zones"
        ).first.click()
        w.form()

    # 1. The hub; first with port 0, then TLS with certificate files (their second step,
    # with files that are not there: cancelled), then again without TLS.
    add_hub()
    w.look("hub")
    w.fill("host", "127.0.0.1")
    w.fill("port", "0")
    w.submit("error")
    text = w.look("hub-port-0")
    w.expect("hub-port-0", text, "65535")
    w.fill("port", str(ocpp_port))
    w.pick("tls", tr("selector", "tls", "options", "files"))
    w.look("hub-tls-files")
    w.submit("next")
    w.form()
    w.look("hub-certificates")
    w.fill("certfile", "/ssl/walk-no-such-fullchain.pem")
    w.fill("keyfile", "/ssl/walk-no-such-privkey.pem")
    w.submit("error")
    text = w.look("hub-certificates-not-found")
    w.expect("hub-certificates-not-found", text, "/ssl/walk-no-such-fullchain.pem")
    w.cancel()
    add_hub()
    w.fill("host", "127.0.0.1")
    w.fill("port", str(ocpp_port))
    w.submit("created")
    w.look("hub-created")
    w.finish()
    page.goto(base + "/config/integrations/integration/charge_zones", wait_until="domcontentloaded")
    page.locator("ha-config-integration-page ha-config-entry-row").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    w.look("hub-page", page="ha-config-integration-page")

    # 2. A Modbus TCP connection to the simulated meter.
    w.add("connection")
    w.dialog.locator("step-flow-menu").wait_for(timeout=30_000)
    w.look("connection-menu")
    tcp = tr("config_subentries", "connection", "step", "user", "menu_options", "tcp")
    w.dialog.get_by_text(tcp, exact=True).click()
    w.form()
    w.look("connection-tcp")
    name_bus = {"fr": "Bus du parking", "de": "Bus der Tiefgarage", "it": "Bus del garage"}.get(
        w.language, "Parking bus"
    )
    w.fill("name", name_bus)
    w.fill("host", "127.0.0.1")
    w.fill("port", str(meter_port))
    w.submit("created")
    w.look("connection-created")
    w.finish()

    # 3. The meter: first where no meter answers (the simulator serves unit 1 only).
    w.add("meter")
    w.form()
    w.look("meter")
    meter_name = {"fr": "Communs", "de": "Allgemeinstrom", "it": "Parti comuni"}.get(
        w.language, "Commons"
    )
    w.fill("name", meter_name)
    w.fill("unit", "7")
    w.fill("amperage", "40")
    w.submit("error")
    text = w.look("meter-no-answer")
    if "7" not in text:
        w.problems.append(f"meter-no-answer: the error does not name the address: {text!r}")
    w.fill("unit", "1")
    w.submit("created")
    w.look("meter-created")
    w.finish()

    # 4. The zone: first a fail-safe current below 6 A.
    w.add("zone")
    w.form()
    w.look("zone")
    zone_name = {"fr": "Parking", "de": "Tiefgarage", "it": "Garage"}.get(w.language, "Parking")
    w.fill("name", zone_name)
    w.fill("max_current", "32")
    w.choose("dlm_meters", meter_name)
    w.fill("failsafe_current", "5")
    w.submit("error")
    text = w.look("zone-failsafe-5")
    if "6" not in text:
        w.problems.append(f"zone-failsafe-5: no range in the error: {text!r}")
    w.fill("failsafe_current", "6")
    w.submit("created")
    w.look("zone-created")
    w.finish()

    # 5. A station in the zone.
    w.add("station")
    w.form()
    w.look("station")
    w.fill("station_id", "TACW1142021G1XYZ")
    w.choose("zone", zone_name)
    w.submit("created")
    w.look("station-created")
    w.finish()

    # 6. A badge.
    w.add("badge")
    w.form()
    w.look("badge")
    w.fill("tag", "04A1B2C3D4")
    holder = {"fr": "Appartement 12", "de": "Wohnung 12", "it": "Appartamento 12"}.get(
        w.language, "Flat 12"
    )
    w.fill("holder", holder)
    w.submit("created")
    w.look("badge-created")
    w.finish()

    # 7. A Modbus RTU connection (serial): a timeout out of range, then a serial port that
    # is not there; cancelled.
    w.add("connection")
    w.dialog.locator("step-flow-menu").wait_for(timeout=30_000)
    rtu = tr("config_subentries", "connection", "step", "user", "menu_options", "rtu")
    w.dialog.get_by_text(rtu, exact=True).click()
    w.form()
    w.look("connection-rtu")
    w.fill("name", "RS485")
    w.fill("serial_port", "/dev/ttyUSB-walk-not-there")
    w.fill("timeout", "20")
    w.submit("error")
    text = w.look("connection-rtu-timeout-20")
    w.expect("connection-rtu-timeout-20", text, f"0{w.mark}1", "10")
    w.fill("timeout", "1")
    w.submit("error")
    text = w.look("connection-rtu-no-port")
    w.expect("connection-rtu-no-port", text, "/dev/ttyUSB-walk-not-there")
    w.cancel()

    # 8. The hub's options (its gear): a raise hold out of range, then saved.
    w.options()
    w.form()
    w.look("hub-options")
    w.fill("raise_hold", "0.5")
    w.submit("error")
    text = w.look("hub-options-raise-hold")
    w.expect("hub-options-raise-hold", text, "600")
    w.fill("raise_hold", "30")
    w.submit("created")
    w.look("hub-options-saved")
    w.finish()

    # 9. The hub's reconfiguration (its menu): a port out of range, then saved as it was.
    w.reconfigure()
    w.form()
    w.look("hub-reconfigure")
    w.fill("port", "70000")
    w.submit("error")
    text = w.look("hub-reconfigure-port")
    w.expect("hub-reconfigure-port", text, "65535")
    w.fill("port", str(ocpp_port))
    w.submit("aborted")
    text = w.look("hub-reconfigured")
    w.expect("hub-reconfigured", text, tr("config", "abort", "reconfigure_successful"))
    w.close()

    # 10. Each subentry's edit form (its gear): a value out of range, then saved.
    edits: list[tuple[str, str, str | None, str, str, tuple[str, ...]]] = [
        ("connection", name_bus, "timeout", "11", "1", (f"0{w.mark}1", "10")),
        ("meter", meter_name, "poll_interval", "0.1", "1", (f"0{w.mark}2", "60")),
        ("zone", zone_name, "failsafe_current", "40", "6", ("6", "32")),
        ("station", "TACW1142021G1XYZ", "max_current", "81", "32", ("6", "80")),
        ("badge", f"{holder} (04A1B2C3D4)", None, "", "", ()),  # no number: saved as it is
    ]
    for kind, title, key, bad, good, said in edits:
        page.wait_for_timeout(1500)  # the page after the entry's reload
        w.edit(title)
        w.form()
        w.look(f"{kind}-edit")
        if key is not None:
            w.fill(key, bad)
            w.submit("error")
            text = w.look(f"{kind}-edit-{key}")
            w.expect(f"{kind}-edit-{key}", text, *said)
            w.fill(key, good)
        w.submit("aborted")
        text = w.look(f"{kind}-edited")
        updated = tr("config_subentries", kind, "abort", "reconfigure_successful")
        w.expect(f"{kind}-edited", text, updated)
        w.close()

    # 11. The integration's page: the hub, its devices and subentries.
    page.wait_for_timeout(2000)
    w.look("hub-page-all", page="ha-config-integration-page")

    # 12. Each device's page: its model and its entities' names, in the language.
    # (The API's websocket runs its own event loop: not in Playwright's thread.)
    with ThreadPoolExecutor(1) as pool:
        (devices,) = pool.submit(api.ws, {"type": "config/device_registry/list"}).result()
    entry_id = api.call("/api/config/config_entries/entry?domain=charge_zones")[1][0]["entry_id"]
    for device in devices:
        if entry_id not in device["config_entries"]:
            continue
        page.goto(f"{base}/config/devices/device/{device['id']}", wait_until="domcontentloaded")
        page.locator("ha-config-device-page").wait_for(state="attached", timeout=30_000)
        page.wait_for_timeout(2500)
        ascii_name = unicodedata.normalize("NFKD", device.get("name") or "").encode(
            "ascii", "ignore"
        )
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.decode().lower()).strip("-")
        w.look(f"device-{slug}", page="ha-config-device-page")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--hass-pid", required=True, type=int)
    parser.add_argument("--lang", default="fr")
    parser.add_argument("--meter-port", required=True, type=int)
    parser.add_argument("--ocpp-port", required=True, type=int)
    parser.add_argument("--screenshots", required=True, type=Path)
    parser.add_argument("--start-timeout", type=float, default=300)
    args = parser.parse_args()
    from playwright.sync_api import Error as PlaywrightError, sync_playwright  # noqa: PLC0415

    started = time.monotonic()
    api = Api(args.url)
    wait(
        "Home Assistant to answer on " + args.url,
        args.start_timeout,
        args.hass_pid,
        lambda: api.call("/api/onboarding")[0] == 200,
        args.config / "home-assistant.log",
    )
    onboard(api, args.lang)
    args.screenshots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        # Tall enough for the longest form to show whole.
        context = browser.new_context(viewport={"width": 1280, "height": 1700}, locale=args.lang)
        page = context.new_page()
        w = Walk(page, args.lang, args.screenshots)
        errors: list[str] = []
        # Not Home Assistant's rejections of its websocket calls when a page is left
        # ("disconnected", or its error object: "Object"): only real errors.
        page.on(
            "pageerror",
            lambda e: str(e) not in ("disconnected", "Object") and errors.append(str(e)),
        )
        try:
            log_in(page, args.url, USERNAME, PASSWORD)
            page.evaluate(
                "(l) => localStorage.setItem('selectedLanguage', JSON.stringify(l))", args.lang
            )
            walk(w, api, args.url, args.meter_port, args.ocpp_port)
        except (PlaywrightError, RuntimeError) as err:
            page.screenshot(path=str(args.screenshots / "failure.png"))
            w.problems.append(f"the walk stopped: {str(err).splitlines()[0]}")
        finally:
            (args.screenshots / "texts.txt").write_text("\n".join(w.seen) + "\n")
            browser.close()
    say = lambda m: print(f"scripts/ui-walk ({args.lang}): {m}", file=sys.stderr, flush=True)  # noqa: E731
    if errors:
        w.problems.append(f"errors in the browser: {errors[:5]}")
    if w.problems:
        say(f"FAILED after {w.step} steps ({time.monotonic() - started:.0f} s):")
        for problem in w.problems:
            print(f"  {problem}", file=sys.stderr)
        say(f"texts seen: {args.screenshots / 'texts.txt'}")
        return 1
    say(
        f"OK: {w.step} steps clean in {time.monotonic() - started:.0f} s; "
        f"screenshots and texts in {args.screenshots}"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, OSError, KeyError, ValueError) as err:
        print(f"scripts/ui-walk: FAILED: {err}", file=sys.stderr)
        sys.exit(1)
