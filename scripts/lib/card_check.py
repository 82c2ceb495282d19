"""The browser check of `scripts/develop --check`: the Charge Zones card, for real.

Run by scripts/develop after the smoke check passed, while Home Assistant and the demo
building still run. Drives Debian's Chromium (`/usr/bin/chromium`, headless) with
Playwright (never `playwright install`): logs in as the demo owner through Home
Assistant's login page, opens the demo dashboard, and checks that the card
(`custom:charge-zones-card`) renders the zone and every station, the DLM service's green
dot, and, for every figure drawn from an entity (the zone's budget and allocated current
per phase, each station's allocated current, currents per phase and badge holder), the
number of that entity's state read over the REST API at the same moment (the demo moves:
a mismatch is tried again for a while). Then saves screenshots of the card: light and dark,
desktop and phone width, in English, French and German.

Exit status 0 (all held) or 1, with what was seen.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
import json
from pathlib import Path
import sys
import time
from typing import Any
import urllib.request

from playwright.sync_api import Error as PlaywrightError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from smoke import Api, say

CHROMIUM = "/usr/bin/chromium"
DASHBOARD = "/charge-zones/building"
CARD = "charge-zones-card"
ZONES_VIEW = "/charge-zones/zones"  # the card alone, the whole width (a panel view)
# (file name, view, language, dark, viewport width, height): the README shows these; the
# viewport is as tall as the card, so that the page shows it whole.
SHOTS = [
    ("card-light-en.png", ZONES_VIEW, "en", False, 1280, 860),
    ("card-dark-en.png", ZONES_VIEW, "en", True, 1280, 860),
    ("card-phone-light-fr.png", DASHBOARD, "fr", False, 390, 1120),
    ("card-phone-dark-de.png", DASHBOARD, "de", True, 390, 1120),
]
# A word of the card's own in each language (frontend/src/i18n.ts: "Allocated").
WORDS = {"en": "Allocated", "fr": "Attribué", "de": "Zugeteilt"}
NUMERIC = ("allocated", "budget", "current")
# Whether the page shows the card with a word of its language (through the shadow roots).
SHOWS_WORD = """([card, word]) => {
    function* walk(root) {
        for (const n of root.querySelectorAll("*")) {
            if (n.localName === card) yield n;
            if (n.shadowRoot) yield* walk(n.shadowRoot);
        }
    }
    return [...walk(document)].some(
        c => c.shadowRoot?.textContent.includes(word) && c.getBoundingClientRect().height > 0);
}"""


# The visible error cards of Home Assistant (through the shadow roots), with their text.
ERROR_CARDS = """() => {
    function* walk(root) {
        for (const n of root.querySelectorAll("*")) {
            yield n;
            if (n.shadowRoot) yield* walk(n.shadowRoot);
        }
    }
    return [...walk(document)]
        .filter(n => n.localName === "hui-error-card" && n.getBoundingClientRect().height > 0)
        .map(n => (n.shadowRoot || n).textContent.replace(/\\s+/g, " ").trim())
        .join(" | ");
}"""
# All the text an element shows, its shadow roots included.
DEEP_TEXT = """el => {
    const out = [];
    const walk = n => {
        for (const c of n.childNodes) {
            if (c.nodeType === 3) out.push(c.textContent);
            else if (c.nodeType === 1 && c.localName !== "style") {
                if (c.shadowRoot) walk(c.shadowRoot);
                walk(c);
            }
        }
    };
    if (el.shadowRoot) walk(el.shadowRoot);
    walk(el);
    return out.join(" ").replace(/\\s+/g, " ");
}"""
# Home Assistant's own words in the UI language (the walk finds its buttons by them).
LOCALIZE = "keys => keys.map(k => document.querySelector('home-assistant').hass.localize(k))"
# Per card on the page: the zones and the stations it shows.
CARDS_SHOWN = """els => els.map(e => [
    [...e.shadowRoot.querySelectorAll("[data-zone]")].map(z => z.dataset.zone),
    [...e.shadowRoot.querySelectorAll("[data-station]")].map(s => s.dataset.station)])"""
# The card editor's words (frontend/src/i18n.ts) in the language of the walk.
EDITOR_WORDS = {
    "de": {"hub": "Hub", "zone": "Zone", "all_zones": "Alle Zonen", "title": "Titel (optional)"}
}
DASHBOARD_PATH = DASHBOARD.split("/")[1]


def shown(text: str) -> float | None:
    """The number a figure shows ("16.0", "16,0", "-" for none)."""
    cleaned = text.strip().split(" ")[-1].replace(",", ".").replace("\u2212", "-")
    try:
        return float(cleaned)
    except ValueError:
        return None


def expected(state: dict[str, Any] | None) -> float | None:
    if state is None or state["state"] in ("unknown", "unavailable"):
        return None
    return round(float(state["state"]), 1)


def log_in(page: Any, base: str, username: str, password: str) -> None:
    """Home Assistant's own login page, as a person uses it."""
    page.goto(base + "/", wait_until="domcontentloaded")
    page.wait_for_selector("input[name='username']", timeout=60_000)
    page.fill("input[name='username']", username)
    page.fill("input[name='password']", password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/auth/authorize" not in url, timeout=60_000)
    page.wait_for_selector("home-assistant", timeout=60_000)


def open_dashboard(
    page: Any, base: str, language: str, dark: bool, view: str = DASHBOARD, go: bool = True
) -> None:
    """Open a view in a language and theme (go=False: the page is already loading, in the
    language and theme set before); wait until the card shows, whole and steady, on this
    very page: no reload. Home Assistant hides its error card ("Custom element doesn't
    exist") for two seconds while it waits for the card's module, and replaces it by the
    card as soon as the module defines it; an error card still there at the end is a card
    that would not come without a reload."""
    if go:
        set_look(page, language, dark)
        page.goto(base + view, wait_until="domcontentloaded")
    word = WORDS[language]
    deadline = time.monotonic() + 90
    steady = 0
    while steady < 3:  # three looks 1.5 s apart, all good
        if time.monotonic() > deadline:
            error = page.evaluate(ERROR_CARDS)
            raise RuntimeError(
                f"the card did not show at {view} ({language}) without a reload"
                + (f"; Home Assistant shows its error card: {error!r}" if error else "")
            )
        page.wait_for_timeout(1500)
        good = (
            page.query_selector("#ha-launch-screen") is None
            and page.query_selector(f"{CARD} [data-station]") is not None
            and page.evaluate(SHOWS_WORD, [CARD, word])
        )
        steady = steady + 1 if good else 0


def set_look(page: Any, language: str, dark: bool) -> None:
    """The UI language and theme of the next page loads (as the profile page sets them)."""
    page.evaluate(
        """([language, dark]) => {
            localStorage.setItem("selectedLanguage", JSON.stringify(language));
            localStorage.setItem(
                "selectedTheme", JSON.stringify({theme: "default", dark: dark}));
        }""",
        [language, dark],
    )


def walk_editor(
    page: Any,
    api: Api,
    base: str,
    hub: dict[str, Any],
    zone: dict[str, Any],
    remote: str,
    shots: Path,
) -> None:
    """What an installer does to add the card without YAML, in German: the dashboard in
    edit mode, *Add card*, *By card*, "Charge Zones" in the picker's search, the card
    editor (the hub and the zones by their names, the editor's words in German, the
    preview), one zone picked, saved; the dashboard then shows a second card with only
    that zone (and not the station outside it). The dashboard is put back after."""
    started = time.monotonic()
    words = EDITOR_WORDS["de"]
    (before,) = ws(api, {"type": "lovelace/config", "url_path": DASHBOARD_PATH})
    seen = "nothing yet"

    def step(what: str, action: Any, timeout: float = 15_000) -> Any:
        try:
            return action(timeout)
        except PlaywrightError as err:
            page.screenshot(path=str(shots / "editor-failure.png"))
            raise RuntimeError(
                f"card editor walk: {what} failed ({str(err).splitlines()[0]}); seen: {seen}"
            ) from None

    open_dashboard(page, base, "de", False, DASHBOARD + "?edit=1")
    add, by_card, search, save, done = page.evaluate(
        LOCALIZE,
        [
            "ui.panel.lovelace.editor.edit_card.add",
            "ui.panel.lovelace.editor.cardpicker.by_card",
            "ui.panel.lovelace.editor.edit_card.search_cards",
            "ui.common.save",
            "ui.panel.lovelace.menu.exit_edit_mode",
        ],
    )
    step(
        f"the button {add!r}",
        lambda t: page.get_by_role("button", name=add, exact=True).first.click(timeout=t),
    )
    step(f"the tab {by_card!r}", lambda t: page.get_by_role("tab", name=by_card).click(timeout=t))
    step(
        f"the search field {search!r}",
        lambda t: page.locator("hui-card-picker").get_by_placeholder(search).click(timeout=t),
    )
    page.keyboard.type("Charge Zones")
    offered = page.locator("hui-card-picker .card").filter(has_text="Charge Zones")
    seen = "the picker offers " + repr(page.locator("hui-card-picker .card").all_inner_texts()[:6])
    step("finding Charge Zones in the card picker", lambda t: offered.first.click(timeout=t))
    editor = page.locator("hui-dialog-edit-card charge-zones-card-editor")
    step("the card editor", lambda t: editor.wait_for(timeout=t))
    deadline = time.monotonic() + 15
    while True:
        text = editor.evaluate(DEEP_TEXT)
        seen = f"the editor shows {text.strip()!r}"
        missing = [
            w for w in (words["hub"], words["zone"], words["title"], hub["title"]) if w not in text
        ]
        raw = [k for k in ("editor_", "entry_id", "undefined") if k in text]
        if not missing and not raw:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"card editor: {seen}; missing {missing}" + (f", raw keys {raw}" if raw else "")
            )
        page.wait_for_timeout(300)
    step(
        f"opening the zone choice ({words['zone']!r})",
        lambda t: editor.get_by_label(words["zone"], exact=True).click(timeout=t),
    )
    choices = [c.strip() for c in page.get_by_role("menuitem").all_inner_texts()]
    seen = f"the zone choice offers {choices}"
    if choices != [words["all_zones"], zone["name"]]:
        raise RuntimeError(f"card editor: {seen}, not {[words['all_zones'], zone['name']]}")
    step(
        f"picking the zone {zone['name']!r}",
        lambda t: page.get_by_role("menuitem", name=zone["name"], exact=True).click(timeout=t),
    )
    preview = page.locator(f"hui-dialog-edit-card {CARD}")
    deadline = time.monotonic() + 15
    while True:
        shown_cards = preview.evaluate_all(CARDS_SHOWN)
        seen = f"the preview shows (zones, stations) {shown_cards}"
        if shown_cards and shown_cards[0][0] == [zone["key"]] and remote not in shown_cards[0][1]:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"card editor: {seen}, not the zone {zone['key']} alone")
        page.wait_for_timeout(300)
    step(
        f"the button {save!r}",
        lambda t: (
            page.locator("hui-dialog-edit-card")
            .get_by_role("button", name=save, exact=True)
            .click(timeout=t)
        ),
    )
    step("closing the editor", lambda t: editor.wait_for(state="detached", timeout=t))
    step(
        f"the button {done!r}",
        lambda t: page.get_by_role("button", name=done, exact=True).click(timeout=t),
    )

    (after,) = ws(api, {"type": "lovelace/config", "url_path": DASHBOARD_PATH})
    added = [c for c in after["views"][0]["cards"] if c not in before["views"][0]["cards"]]
    want = {"type": f"custom:{CARD}", "entry_id": hub["entry_id"], "zone": zone["key"]}
    try:
        if added != [want]:
            raise RuntimeError(f"card editor: the dashboard got the cards {added}, not {[want]}")
        deadline = time.monotonic() + 20
        while True:
            shown_cards = page.locator(CARD).evaluate_all(CARDS_SHOWN)
            if len(shown_cards) == 2 and any(
                z == [zone["key"]] and stations and remote not in stations
                for z, stations in shown_cards
            ):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"card editor: after saving, the dashboard shows (zones, stations) {shown_cards}"
                )
            page.wait_for_timeout(500)
    finally:
        ws(api, {"type": "lovelace/config/save", "url_path": DASHBOARD_PATH, "config": before})
    say(
        f"card: added with the card editor (German, zone {zone['name']!r}), shown with that zone"
        f" only ({time.monotonic() - started:.1f} s)"
    )


def ws(api: Api, *messages: dict[str, Any]) -> list[Any]:
    """Api.ws from a thread of its own (Playwright's event loop runs in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(api.ws, *messages).result()


def first_load_after_restart(
    browser: Any, page: Any, api: Api, base: str, errors: list[str]
) -> None:
    """Home Assistant restarted (as its Restart button does; scripts/develop starts it
    again), the dashboard opened the moment it answers, before anything else visited it:
    the card shows on that very page, without a reload. (In a browser logged in as before,
    on a page nothing else loaded before.)"""
    started = time.monotonic()
    set_look(page, "en", False)
    fresh = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="en-US",
        service_workers="block",
        storage_state=page.context.storage_state(),
    )
    try:
        early = fresh.new_page()
        watch_errors(early, errors)
        status, body = api.call("/api/services/homeassistant/restart", {})
        if status != 200:
            raise RuntimeError(f"homeassistant.restart answered {status}: {body}")
        deadline = time.monotonic() + 120
        while answers(base):  # the old one stopping
            if time.monotonic() > deadline:
                raise RuntimeError("Home Assistant did not stop to restart")
            time.sleep(0.2)
        stopped = time.monotonic()
        while True:
            if time.monotonic() > deadline + 120:
                raise RuntimeError("Home Assistant did not answer again after its restart")
            try:
                response = early.goto(base + DASHBOARD, wait_until="commit", timeout=5_000)
                if response is not None and response.ok:
                    break
            except PlaywrightError:
                pass
            time.sleep(0.1)
        served = time.monotonic()
        open_dashboard(early, base, "en", False, go=False)
    finally:
        fresh.close()
    say(
        f"card: the first page after a restart (served {served - stopped:.1f} s after the stop)"
        f" shows the card without a reload ({time.monotonic() - served:.1f} s later;"
        f" {time.monotonic() - started:.0f} s in all)"
    )


def watch_errors(page: Any, errors: list[str]) -> None:
    """Collect the card's errors in the browser: console errors naming it, and uncaught
    errors thrown from its code (Home Assistant's own, e.g. previews in the card picker
    that cannot reach the internet here, are not the card's)."""
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and CARD in m.text and "doesn't exist" not in m.text
            else None
        ),
    )
    page.on(
        "pageerror",
        lambda e: (
            errors.append(f"{e.name}: {e.message} {e.stack}")
            if any(mark in f"{e.message} {e.stack}" for mark in ("charge_zones", CARD, "data:"))
            else None
        ),
    )


def answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/manifest.json", timeout=2):
            return True
    except OSError:  # urllib.error.URLError is one
        return False


def compare(page: Any, api: Api) -> tuple[list[str], int]:
    """Figures of the card that differ from their entity's state; how many were compared."""
    figures = page.eval_on_selector_all(
        f"{CARD} [data-entity]",
        "els => els.map(e => [e.dataset.entity, e.dataset.kind, e.textContent])",
    )
    _, states_list = api.call("/api/states")
    states = {s["entity_id"]: s for s in states_list}
    problems = []
    count = 0
    for entity_id, kind, text in figures:
        if not entity_id:
            continue
        state = states.get(entity_id)
        if kind in NUMERIC:
            count += 1
            want, got = expected(state), shown(text)
            if want != got:
                problems.append(f"{entity_id} shows {text.strip()!r}, its state is {want}")
        elif kind == "badge" and state is not None and state["state"] not in ("unknown",):
            count += 1
            if state["state"] not in text:
                problems.append(
                    f"{entity_id} shows {text.strip()!r}, its state is {state['state']}"
                )
    return problems, count


def budgets(page: Any, zone: str) -> tuple[list[float | None], str]:
    """The budgets per phase and the rating a zone's part of the card shows."""
    shown_budgets = page.eval_on_selector_all(
        f"{CARD} [data-zone='{zone}'] [data-kind='budget']", "els => els.map(e => e.textContent)"
    )
    rating = page.locator(f"{CARD} [data-zone='{zone}'] [data-kind='rating']").first.inner_text()
    return [shown(text) for text in shown_budgets], rating.strip()


def live(page: Any, api: Api, zone: dict[str, Any]) -> None:
    """The card follows a change at once: the zone's *Maximum current* set lower (as an
    automation would) shows as its rating and budgets, then set back."""
    number = zone["entities"]["max_current"]
    before = zone["rating"]
    lower = 20.0

    def set_max(value: float) -> None:
        status, body = api.call(
            "/api/services/number/set_value", {"entity_id": number, "value": value}
        )
        if status != 200:
            raise RuntimeError(f"number.set_value answered {status}: {body}")

    def wait_for(what: str, check: Any) -> None:
        deadline = time.monotonic() + 20
        while not check(*budgets(page, zone["key"])):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the card did not follow: {what}: {budgets(page, zone['key'])}")
            time.sleep(0.5)

    started = time.monotonic()
    set_max(lower)
    try:
        wait_for(
            f"{zone['name']} at {lower:.0f} A",
            lambda values, rating: (
                rating.startswith("20") and all(v is not None and v <= lower for v in values)
            ),
        )
    finally:
        set_max(before)
    wait_for(
        f"{zone['name']} back at {before:.0f} A",
        lambda values, rating: (
            rating.startswith(f"{before:.0f}") and any(v is not None and v > lower for v in values)
        ),
    )
    say(f"card: follows the zone's maximum down and back live ({time.monotonic() - started:.1f} s)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--scenario", required=True, type=Path)
    parser.add_argument("--screenshots", required=True, type=Path)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    from simulator.site import Scenario  # noqa: PLC0415

    scenario = Scenario.load(args.scenario)
    station_ids = sorted(s["id"] for s in scenario.stations)
    (remote,) = (s["id"] for s in scenario.stations if s.get("remote"))
    api = Api(args.url)
    api.login(args.username, args.password)
    (hubs,) = ws(api, {"type": "charge_zones/hubs"})
    (overview,) = ws(api, {"type": "charge_zones/overview", "entry_id": hubs[0]["entry_id"]})
    zone_names = [z["name"] for z in overview["zones"]]
    args.screenshots.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            # Without the frontend's service worker: on a browser's first visit it takes over
            # some 20 s after the login, and the frontend reloads the page then (a person's
            # browser did that long ago; it would cut a walk short). The frontend throws
            # when it cannot register it: Home Assistant's error, not the card's (ignored).
            context = browser.new_context(
                viewport={"width": 1280, "height": 900},
                locale="en-US",
                service_workers="block",
            )
            page = context.new_page()
            errors: list[str] = []
            watch_errors(page, errors)
            log_in(page, args.url, args.username, args.password)
            open_dashboard(page, args.url, "en", False)
            say(f"card: the dashboard shows the card ({time.monotonic() - started:.0f} s)")

            text = page.locator(CARD).first.evaluate("card => card.shadowRoot.textContent")
            missing = [name for name in (*zone_names, *station_ids) if name not in text]
            if missing:
                raise RuntimeError(f"the card does not show {missing}")
            if page.query_selector(f"{CARD} [data-dlm='on'] .dot.on") is None:
                raise RuntimeError("the card does not show the DLM service's green dot")
            zones_shown = page.eval_on_selector_all(
                f"{CARD} [data-zone]", "els => els.map(e => e.dataset.zone)"
            )
            if zones_shown != [z["key"] for z in overview["zones"]]:
                raise RuntimeError(f"the card shows zones {zones_shown}")
            reasons = page.eval_on_selector_all(
                f"{CARD} [data-reason]", "els => els.map(e => e.textContent.trim())"
            )
            if not any(
                r in ("Fair share", "Station maximum", "Limited by the car") for r in reasons
            ):
                raise RuntimeError(f"no station shows why it gets its current: {reasons}")

            deadline = time.monotonic() + args.timeout
            while True:
                problems, count = compare(page, api)
                if not problems and count:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        "the card's figures differ from the entities' states: "
                        + "; ".join(problems[:8])
                    )
                time.sleep(1)
            say(
                f"card: {count} figures equal their entities' states; reasons: {sorted(set(reasons))}"
            )

            for name, view, language, dark, width, height in SHOTS:
                page.set_viewport_size({"width": width, "height": height})
                open_dashboard(page, args.url, language, dark, view)
                page.screenshot(path=str(args.screenshots / name))
            say(f"card: screenshots in {args.screenshots}: {', '.join(s[0] for s in SHOTS)}")
            live(page, api, overview["zones"][0])
            page.set_viewport_size({"width": 1280, "height": 900})
            walk_editor(
                page, api, args.url, hubs[0], overview["zones"][0], remote, args.screenshots
            )
            first_load_after_restart(browser, page, api, args.url, errors)
            if errors:
                raise RuntimeError(f"errors in the browser: {errors[:5]}")
        except PlaywrightError as err:
            page.screenshot(path=str(args.screenshots / "failure.png"), full_page=True)
            raise RuntimeError(f"browser: {err}".splitlines()[0]) from None
        finally:
            browser.close()
    say(f"card: OK in {time.monotonic() - started:.0f} s, no page reloaded")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, OSError, KeyError, TypeError, ValueError, json.JSONDecodeError) as err:
        say(f"card: FAILED: {err}")
        sys.exit(1)
