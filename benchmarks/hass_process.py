"""A real Home Assistant in its own process, with a Charge Zones hub configured.

What a user runs: ``python -m homeassistant --config DIR``, the integration loaded from
this checkout (``DIR/custom_components/charge_zones`` links to it), the hub and its
stations written as a config entry with subentries in ``DIR/.storage``, as Home Assistant
itself stores them. Its CPU time is read from ``/proc/<pid>/stat`` (every thread: the
event loop, the executor, the recorder if any).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
import contextlib
import json
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def station_subentry(station_id: str) -> dict[str, Any]:
    """A station outside the zones (its maximum sent as a fixed limit)."""
    return {
        "data": {
            "station_id": station_id,
            "model": "standard",
            "connectors": 1,
            "phases": "L1-L2-L3",
            "min_current": 6.0,
            "max_current": 32.0,
        },
        "subentry_id": f"st{station_id.replace('-', '').lower()}",
        "subentry_type": "station",
        "title": station_id,
        "unique_id": station_id,
    }


def badge_subentry(tag: str = "BENCH") -> dict[str, Any]:
    """One badge (in the local list pushed to every station)."""
    return {
        "data": {"tag": tag, "holder": "Bench", "status": "active"},
        "subentry_id": f"badge-{tag}".lower(),
        "subentry_type": "badge",
        "title": f"Bench {tag}",
        "unique_id": f"badge {tag}",
    }


def badge_of(station_id: str) -> str:
    """The badge a station's car charges with (one badge in two places is ConcurrentTx)."""
    return f"BADGE-{station_id}"


def write_config(
    config_dir: Path,
    port: int,
    station_ids: Iterable[str],
    *,
    recorder: bool = True,
    options: dict[str, Any] | None = None,
) -> str:
    """A configuration directory holding a hub with these stations; returns its entry id."""
    from pytest_homeassistant_custom_component.common import MockConfigEntry  # noqa: PLC0415

    from homeassistant.config_entries import (  # noqa: PLC0415
        STORAGE_VERSION,
        STORAGE_VERSION_MINOR,
    )

    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "configuration.yaml").write_text(
        "homeassistant:\n  name: Bench\n  time_zone: UTC\n  country: CH\n"
        "  unit_system: metric\n  currency: CHF\n"
        "logger:\n  default: warning\n" + ("recorder:\nhistory:\n" if recorder else "")
        # As a user's: states are recorded (the recorder's SQLite in the directory).
    )
    components = config_dir / "custom_components"
    components.mkdir(exist_ok=True)
    link = components / "charge_zones"
    if not link.exists():
        # $CZ_COMPONENT: another checkout's integration (e.g. to compare with main).
        source = os.environ.get("CZ_COMPONENT") or str(ROOT / "custom_components" / "charge_zones")
        link.symlink_to(source)
    entry = MockConfigEntry(
        domain="charge_zones",
        title=f"Charge Zones (port {port})",
        data={"host": "127.0.0.1", "port": port},
        options=options or {},
        subentries_data=[
            badge_subentry(),
            *(badge_subentry(badge_of(i)) for i in station_ids),
            *(station_subentry(i) for i in station_ids),
        ],
    )
    storage = config_dir / ".storage"
    storage.mkdir(exist_ok=True)
    (storage / "core.config_entries").write_text(
        json.dumps(
            {
                "version": STORAGE_VERSION,
                "minor_version": STORAGE_VERSION_MINOR,
                "key": "core.config_entries",
                "data": {"entries": [entry.as_dict()]},
            },
            default=str,
        )
    )
    # Its web server on loopback only, on a free port: stored as a confirmed (stable)
    # config, as the YAML `http:` block would become a trial reverted after 5 minutes.
    from homeassistant.components.http import (  # noqa: PLC0415
        config as http_config,
    )

    http = http_config.HTTP_STORAGE_SCHEMA(
        {"server_port": free_port(), "server_host": ["127.0.0.1"]}
    )
    (storage / "http").write_text(
        json.dumps(
            {
                "version": http_config.STORAGE_VERSION,
                "minor_version": http_config.STORAGE_MINOR_VERSION,
                "key": http_config.STORAGE_KEY,
                "data": {
                    http_config.KEY_STABLE: {
                        **http,
                        "created_at": "2026-01-01T00:00:00+00:00",
                        "error": None,
                        "error_message": None,
                    },
                    http_config.KEY_PENDING: None,
                    http_config.KEY_YAML_MIGRATION_DONE: True,
                },
            }
        )
    )
    # No onboarding screens, no analytics.
    (storage / "onboarding").write_text(
        json.dumps(
            {
                "version": 4,
                "minor_version": 1,
                "key": "onboarding",
                "data": {"done": ["user", "core_config", "analytics", "integration"]},
            }
        )
    )
    return str(entry.entry_id)


async def settle(cpu: Any, within: float = 120.0) -> float:
    """Wait until Home Assistant is quiet (under 10 % of a core for 3 s); returns the
    seconds it took (the work a burst left behind: registries, recorder, stores)."""
    begin = time.perf_counter()
    while time.perf_counter() - begin < within:
        cpu0 = cpu()
        await asyncio.sleep(3.0)
        if (cpu() - cpu0) / 3.0 < 0.10:
            break
    return time.perf_counter() - begin


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process so far, from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # After the name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU time (user + system) so far per thread name (Python names its threads for the
    OS since 3.14: ``MainThread`` is the event loop, ``Recorder`` the recorder...)."""
    by_name: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            name = (task / "comm").read_text(encoding="utf-8").strip()
            fields = (task / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
            # Executor threads are numbered: one line for them all.
            name = name.rstrip("_0123456789") or name
            seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            by_name[name] = by_name.get(name, 0.0) + seconds
    return by_name


class HassProcess:
    """``python -m homeassistant`` on a configuration directory."""

    def __init__(self, config_dir: Path, port: int, python: str | None = None) -> None:
        """Name what to run (start with start()).

        python: the interpreter to run Home Assistant with (default: this one, or
        ``$CZ_HASS_PYTHON``); its environment needs Home Assistant's default
        integrations' requirements (the frontend's at least), as ``scripts/develop``
        installs them, or Home Assistant starts in recovery mode without the hub.
        """
        self.python = python or os.environ.get("CZ_HASS_PYTHON") or sys.executable
        self.config_dir = config_dir
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = config_dir / "hass.out"

    @property
    def pid(self) -> int:
        """The process id."""
        assert self.proc is not None
        return self.proc.pid

    async def start(self, within: float = 120.0) -> float:
        """Start it; returns the seconds until its OCPP server accepts connections."""
        begin = time.perf_counter()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once
                [
                    self.python,
                    "-m",
                    "homeassistant",
                    "--config",
                    str(self.config_dir),
                    "--skip-pip",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.config_dir,
            )
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hass exited with {self.proc.returncode}, see {self.log}")
            with contextlib.suppress(OSError):
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                return time.perf_counter() - begin
            if "Activating recovery mode" in self.log.read_text(errors="replace"):
                self.kill()
                raise RuntimeError(f"hass started in recovery mode, see {self.log}")
            if time.perf_counter() - begin > within:
                raise TimeoutError(f"hass did not open port {self.port}, see {self.log}")
            await asyncio.sleep(0.1)

    def cpu(self) -> float:
        """Its CPU time so far (s)."""
        return cpu_seconds(self.pid)

    def threads(self) -> dict[str, float]:
        """Its CPU time so far per thread name (s)."""
        return thread_cpu_seconds(self.pid)

    def kill(self) -> None:
        """kill -9: no unload, no final write."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, within: float = 60.0) -> None:
        """Stop it as a user would (SIGTERM), killing it if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(within)
        except subprocess.TimeoutExpired:
            self.kill()

    def warnings(self) -> list[str]:
        """Lines logged at WARNING or above that name the integration."""
        lines = self.log.read_text(errors="replace").splitlines()
        return [
            line
            for line in lines
            if (" WARNING " in line or " ERROR " in line) and "charge_zones" in line
        ]
