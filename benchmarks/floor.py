"""The `ocpp` library's own floor: a bare OCPP 1.6J central system, nothing else.

What the per-message target of ``benchmarks.stations`` is measured against: the library's
``ChargePoint`` on a ``websockets`` server, answering BootNotification, StartTransaction,
MeterValues, StatusNotification and Heartbeat with constant answers, its schema checks
off (``skip_schema_validation``), no Home Assistant. Run in its own process (``python -m
benchmarks.floor --port P``); ``benchmarks.stations`` reads its CPU time from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import UTC, datetime
import itertools
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

_transactions = itertools.count(1)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class BareCentralSystem(ChargePoint):  # type: ignore[misc]
    """Constant answers, no schema check, nothing kept."""

    @on(Action.boot_notification, skip_schema_validation=True)  # type: ignore[untyped-decorator]
    async def boot_notification(self, **_: Any) -> Any:
        return call_result.BootNotification(
            current_time=_now(), interval=300, status=RegistrationStatus.accepted
        )

    @on(Action.heartbeat, skip_schema_validation=True)  # type: ignore[untyped-decorator]
    async def heartbeat(self, **_: Any) -> Any:
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification, skip_schema_validation=True)  # type: ignore[untyped-decorator]
    async def status_notification(self, **_: Any) -> Any:
        return call_result.StatusNotification()

    @on(Action.start_transaction, skip_schema_validation=True)  # type: ignore[untyped-decorator]
    async def start_transaction(self, **_: Any) -> Any:
        return call_result.StartTransaction(
            transaction_id=next(_transactions),
            id_tag_info={"status": AuthorizationStatus.accepted},
        )

    @on(Action.meter_values, skip_schema_validation=True)  # type: ignore[untyped-decorator]
    async def meter_values(self, **_: Any) -> Any:
        return call_result.MeterValues()


async def _serve_station(connection: ServerConnection) -> None:
    path = connection.request.path if connection.request is not None else "/"
    with contextlib.suppress(ConnectionClosed):
        await BareCentralSystem(path.strip("/"), connection).start()


async def main(port: int) -> None:
    async with serve(
        _serve_station,
        "127.0.0.1",
        port,
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
