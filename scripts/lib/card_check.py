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
import json
from pathlib import Path
import sys
import time
from typing import Any

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


def open_dashboard(page: Any, base: str, language: str, dark: bool, view: str = DASHBOARD) -> int:
    """Open a view in a language and theme; wait until the card shows, whole and steady.

    Returns how often the page was reloaded: on a fresh Home Assistant the frontend starts
    over once by itself shortly after the first load, and when the card's module comes
    later than two seconds after that, Home Assistant may leave its error card ("Custom
    element doesn't exist") in place of the card; a reload (as a person would) shows it.
    """
    page.evaluate(
        """([language, dark]) => {
            localStorage.setItem("selectedLanguage", JSON.stringify(language));
            localStorage.setItem(
                "selectedTheme", JSON.stringify({theme: "default", dark: dark}));
        }""",
        [language, dark],
    )
    page.goto(base + view, wait_until="domcontentloaded")
    word = WORDS[language]
    deadline = time.monotonic() + 120
    reloads = steady = 0
    while steady < 3:  # three looks 1.5 s apart, all good
        if time.monotonic() > deadline:
            raise RuntimeError(f"the card did not show at {view} ({language})")
        page.wait_for_timeout(1500)
        # Shown (it is hidden for two seconds while Home Assistant waits for the module).
        error = page.query_selector("hui-error-card")
        if error is not None and error.is_visible():
            if reloads == 3:
                raise RuntimeError(
                    f"Home Assistant shows an error card at {view}: {error.inner_text()!r}"
                )
            reloads += 1
            say(f"card: Home Assistant shows its error card ({error.inner_text()!r}); reloading")
            page.reload(wait_until="domcontentloaded")
            steady = 0
            continue
        good = (
            page.query_selector("#ha-launch-screen") is None
            and page.query_selector(f"{CARD} [data-station]") is not None
            and page.evaluate(SHOWS_WORD, [CARD, word])
        )
        steady = steady + 1 if good else 0
    return reloads


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
    from playwright.sync_api import Error as PlaywrightError, sync_playwright  # noqa: PLC0415

    from simulator.site import Scenario  # noqa: PLC0415

    scenario = Scenario.load(args.scenario)
    station_ids = sorted(s["id"] for s in scenario.stations)
    api = Api(args.url)
    api.login(args.username, args.password)
    (hubs,) = api.ws({"type": "charge_zones/hubs"})
    (overview,) = api.ws({"type": "charge_zones/overview", "entry_id": hubs[0]["entry_id"]})
    zone_names = [z["name"] for z in overview["zones"]]
    args.screenshots.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
            page = context.new_page()
            errors: list[str] = []
            page.on(
                "console",
                lambda m: (
                    errors.append(m.text)
                    if m.type == "error" and CARD in m.text and "doesn't exist" not in m.text
                    else None
                ),
            )
            page.on("pageerror", lambda e: errors.append(str(e)))
            log_in(page, args.url, args.username, args.password)
            reloads = open_dashboard(page, args.url, "en", False)
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
                reloads += open_dashboard(page, args.url, language, dark, view)
                page.screenshot(path=str(args.screenshots / name))
            say(f"card: screenshots in {args.screenshots}: {', '.join(s[0] for s in SHOTS)}")
            live(page, api, overview["zones"][0])
            if errors:
                raise RuntimeError(f"errors in the browser: {errors[:5]}")
        except PlaywrightError as err:
            page.screenshot(path=str(args.screenshots / "failure.png"), full_page=True)
            raise RuntimeError(f"browser: {err}".splitlines()[0]) from None
        finally:
            browser.close()
    say(
        f"card: OK in {time.monotonic() - started:.0f} s"
        + (f" ({reloads} reload(s) past Home Assistant's error card)" if reloads else "")
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, OSError, KeyError, TypeError, ValueError, json.JSONDecodeError) as err:
        say(f"card: FAILED: {err}")
        sys.exit(1)
