"""The smoke check of `scripts/develop --check` (and `scripts/check-ha`).

Run by scripts/develop beside the Home Assistant it started on a fresh configuration
directory, with the demo building's simulator. Waits until Home Assistant answers, the
demo owner is onboarded and the demo building is set up (the markers scripts/develop's
helper writes), then checks over the REST and websocket API, with the demo owner's
token, until everything below holds at once (or the time is up):

- the recorder and history are set up;
- the Charge Zones hub's config entry is loaded;
- the hub's DLM service indicator (binary sensor) is on;
- every station the scenario sends a car with a valid badge shows its connector
  `charging`, and each of them in a zone has an allocated current > 0 A;
- the station whose car presents the blocked badge is not charging;
- solar charging (the scenario's roof PV and grid meter, its stations' `charging_mode`):
  the grid meter (*Grid connection*) reads export, the hub's Solar surplus sensor is
  above 0 W, the solar-only station charges at its minimum (6 A) or more with its Load
  management sensor at `solar` (the surplus limits it) or `fair_share` (the zone gives it
  less than the surplus would: the fast cars leave the demo's zone no room beyond it), and
  the solar + minimum one at its minimum or more.

Exit status 0 (all held) or 1, with a message saying what was seen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
import sys
import time
from typing import Any
import urllib.error
import urllib.parse
import urllib.request

import aiohttp


def say(message: str) -> None:
    print(f"scripts/develop --check: {message}", file=sys.stderr, flush=True)


class Api:
    """Home Assistant's REST and websocket API, as the demo owner."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.token = ""

    def call(
        self, path: str, data: dict[str, Any] | None = None, form: bool = False
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = None
        if data is not None:
            if form:
                body = urllib.parse.urlencode(data).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                body = json.dumps(data).encode()
                headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, body, headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, None

    def login(self, username: str, password: str) -> None:
        client_id = f"{self.base}/"
        _, flow = self.call(
            "/auth/login_flow",
            {
                "client_id": client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.base}/?auth_callback=1",
            },
        )
        _, result = self.call(
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": client_id, "username": username, "password": password},
        )
        if result.get("type") != "create_entry":
            raise RuntimeError(f"the demo owner cannot log in: {result}")
        status, body = self.call(
            "/auth/token",
            {"grant_type": "authorization_code", "code": result["result"], "client_id": client_id},
            form=True,
        )
        if status != 200:
            raise RuntimeError(f"/auth/token answered {status}: {body}")
        self.token = body["access_token"]

    def ws(self, *messages: dict[str, Any]) -> list[Any]:
        async def run() -> list[Any]:
            results = []
            url = self.base.replace("http", "ws", 1) + "/api/websocket"
            async with aiohttp.ClientSession() as session, session.ws_connect(url) as sock:
                await sock.receive_json()
                await sock.send_json({"type": "auth", "access_token": self.token})
                if (reply := await sock.receive_json())["type"] != "auth_ok":
                    raise RuntimeError(f"websocket auth failed: {reply}")
                for number, message in enumerate(messages, 1):
                    await sock.send_json({"id": number, **message})
                    while (reply := await sock.receive_json()).get("id") != number:
                        pass
                    if not reply.get("success"):
                        raise RuntimeError(f"{message['type']} failed: {reply.get('error')}")
                    results.append(reply.get("result"))
            return results

        return asyncio.run(run())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# Home Assistant can stay up after these (it then never answers).
FATAL = ("Home Assistant core failed to initialize", "Further initialization aborted")


def wait(what: str, seconds: float, pid: int, probe: Any, log: Path | None = None) -> Any:
    """Call probe() every 2 s until it returns something true; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        if not alive(pid):
            raise RuntimeError(f"Home Assistant exited while waiting for {what}")
        if log is not None and log.is_file():
            text = log.read_text(errors="replace")
            if fatal := [line for line in FATAL if line in text]:
                raise RuntimeError(f"Home Assistant says: {fatal[0]}")
        try:
            if result := probe():
                return result
        except (OSError, ValueError) as err:
            last = err
        else:
            last = None
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"gave up after {seconds:.0f} s waiting for {what}"
                + (f" (last error: {last})" if last else "")
            )
        time.sleep(2)


def number(state: str) -> float:
    """A state as a number (NaN when it is none: every comparison is then false)."""
    try:
        return float(state)
    except ValueError:
        return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--hass-pid", required=True, type=int)
    parser.add_argument("--scenario", required=True, type=Path)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--start-timeout", type=float, default=300)
    parser.add_argument("--site-timeout", type=float, default=300)
    parser.add_argument("--charge-timeout", type=float, default=300)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from simulator.site import Scenario  # noqa: PLC0415

    scenario = Scenario.load(args.scenario)
    remote = {s["id"] for s in scenario.stations if s.get("remote")}
    # The demo's one blocked badge is named so (scripts/develop's BADGES).
    charging = sorted({c["station"] for c in scenario.cars if "BLOCKED" not in c["badge"]})
    refused = sorted(
        {c["station"] for c in scenario.cars if "BLOCKED" in c["badge"]} - set(charging)
    )
    # Stations in a solar mode (scripts/develop configures them so), with a car.
    solar = {
        s["id"]: s["charging_mode"]
        for s in scenario.stations
        if s.get("charging_mode") in ("solar", "solar_min") and s["id"] in charging
    }
    min_current = 6.0  # scripts/develop's stations
    api = Api(args.url)
    started = time.monotonic()

    def answers() -> bool:
        return api.call("/api/onboarding")[0] in (200, 404)

    def site_done() -> bool:
        marker = args.config / ".demo-site"
        return marker.is_file() and marker.read_text().strip() == "done"

    wait(
        "Home Assistant to answer on " + args.url,
        args.start_timeout,
        args.hass_pid,
        answers,
        args.config / "home-assistant.log",
    )
    say(f"Home Assistant answers ({time.monotonic() - started:.0f} s)")
    wait(
        "the demo owner to be onboarded",
        args.site_timeout,
        args.hass_pid,
        (args.config / ".demo-owner").is_file,
    )
    api.login(args.username, args.password)
    # The configuration's `http:` block (loopback only) is migrated into Home Assistant's
    # storage as a "pending" HTTP configuration, which it reverts (and restarts) unless
    # confirmed within 5 minutes: confirm it, as the owner would in the UI.
    try:
        api.ws({"type": "http/config/promote"})
    except RuntimeError as err:
        say(f"(no pending HTTP configuration to confirm: {err})")
    wait("the demo building to be set up", args.site_timeout, args.hass_pid, site_done)
    say(f"the demo building is set up ({time.monotonic() - started:.0f} s)")

    # The configuration's recorder and history (the dashboard's history graph).
    _, core = api.call("/api/config")
    if off := [c for c in ("recorder", "history") if c not in core.get("components", [])]:
        raise RuntimeError(f"not set up: {', '.join(off)} (see home-assistant.log)")

    _, entries = api.call("/api/config/config_entries/entry?domain=charge_zones")
    if not entries:
        raise RuntimeError("no Charge Zones config entry")
    entry_id = entries[0]["entry_id"]
    (subentries,) = api.ws({"type": "config_entries/subentries/list", "entry_id": entry_id})
    station_sub = {
        s["title"]: s["subentry_id"] for s in subentries if s["subentry_type"] == "station"
    }
    # scripts/develop's name for the grid meter's subentry.
    grid_sub = next(
        (
            s["subentry_id"]
            for s in subentries
            if s["subentry_type"] == "meter" and s["title"] == "Grid connection"
        ),
        None,
    )
    if scenario.grid_meter is not None and grid_sub is None:
        raise RuntimeError("the grid meter (Grid connection) is not configured")
    missing = [s for s in (*charging, *refused) if s not in station_sub]
    if missing:
        raise RuntimeError(f"stations not configured: {missing}")

    def entity_ids() -> dict[str, str]:
        (registry,) = api.ws({"type": "config/entity_registry/list"})
        return {
            item["unique_id"]: item["entity_id"]
            for item in registry
            if item.get("config_entry_id") == entry_id and item.get("unique_id")
        }

    seen: list[str] = []

    def all_good() -> bool:
        ids = entity_ids()
        _, states_list = api.call("/api/states")
        states = {s["entity_id"]: s["state"] for s in states_list}

        def state(unique_id: str) -> str:
            entity_id = ids.get(unique_id)
            return states.get(entity_id, "missing") if entity_id else "no entity"

        _, hubs = api.call("/api/config/config_entries/entry?domain=charge_zones")
        hub_state = next((e["state"] for e in hubs if e["entry_id"] == entry_id), "gone")
        problems = []
        report = [f"hub entry {hub_state}"]
        if hub_state != "loaded":
            problems.append(f"hub entry is {hub_state}")
        dlm = state(f"{entry_id}_dlm_service")
        report.append(f"DLM service {dlm}")
        if dlm != "on":
            problems.append(f"DLM service indicator is {dlm}")
        for station in charging:
            sub = station_sub[station]
            status = state(f"{sub}_connector_1_status")
            line = f"{station} {status}"
            if status != "charging":
                problems.append(f"{station} is {status}")
            if station not in remote:
                allocated = state(f"{sub}_allocated_current")
                line += f" {allocated} A"
                try:
                    positive = float(allocated) > 0
                except ValueError:
                    positive = False
                if not positive:
                    problems.append(f"{station} is allocated {allocated} A")
            else:
                line += " (remote)"
            report.append(line)
        for station in refused:
            status = state(f"{station_sub[station]}_connector_1_status")
            report.append(f"{station} {status} (blocked badge)")
            if status == "charging":
                problems.append(f"{station} charges with a blocked badge")
        if grid_sub is not None:
            power = state(f"{grid_sub}_meter_power")
            report.append(f"grid {power} W")
            if not number(power) < 0:
                problems.append(f"the grid meter reads {power} W, not export")
        if solar:
            surplus = state(f"{entry_id}_solar_surplus")
            report.append(f"solar surplus {surplus} W")
            if not number(surplus) > 0:
                problems.append(f"Solar surplus is {surplus}")
        for station, mode in sorted(solar.items()):
            sub = station_sub[station]
            reason = state(f"{sub}_load_management")
            allocated = state(f"{sub}_allocated_current")
            report.append(f"{station} ({mode}) {reason} {allocated} A")
            if not number(allocated) >= min_current:
                problems.append(f"{station} ({mode}) is allocated {allocated} A ({reason})")
            elif mode == "solar" and reason not in ("solar", "fair_share"):
                problems.append(f"{station} (solar only) charges for {reason}")
        seen[:] = [", ".join(report), "; ".join(problems)]
        return not problems

    try:
        wait("the stations to charge", args.charge_timeout, args.hass_pid, all_good)
    except RuntimeError as err:
        raise RuntimeError(
            f"{err}\n  seen: {seen[0] if seen else '-'}\n  not yet: {seen[1] if seen else '-'}"
        ) from None
    say(f"OK after {time.monotonic() - started:.0f} s: {seen[0]}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, OSError, KeyError, TypeError, aiohttp.ClientError) as err:
        say(f"FAILED: {err}")
        sys.exit(1)
