"""Parse time and peak memory of answers at the bounds of client/limits.py (``scripts/bench``)."""

# docs/performance.md describes the method: realistic answers from the simulator at
# the server limit, hostile ones filling the body caps with the cheapest records.

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
import functools
import gc
import itertools
import json
import time
import tracemalloc
from typing import Any

import aiohttp
import pytest

from custom_components.nezha.client import NezhaV0Client, NezhaV1Client
from custom_components.nezha.client.limits import (
    FLEET_BODY_BYTES,
    MAX_SERVERS,
    MONITOR_BODY_BYTES,
)
from custom_components.nezha.client.transport import RawResponse
from nezha_dev.simulator import NezhaSimulator
from tests.bench.conftest import print_table
from tests.helpers import PAT, TOKEN

RESULTS: list[str] = []  # the table's rows
pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


async def measure(name: str, body: bytes, read: Callable[[], Awaitable[Any]]) -> None:
    """Time ``read`` (best of three) and trace its peak memory."""
    timings = []
    for _ in range(3):
        gc.collect()
        started = time.perf_counter()
        result = await read()
        timings.append(time.perf_counter() - started)
        del result
    gc.collect()
    tracemalloc.start()
    result = await read()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if hasattr(result, "servers"):  # a Fleet: servers read, and the records left out
        count = f"{len(result.servers)} ({result.left_out} left out)"
    else:
        count = f"{len(result)} ({result[0].points} points)"
    RESULTS.append(
        f"{name} | {len(body) / 2**20:.1f} | {count} | {min(timings):.3f} "
        f"| {peak / 2**20:.0f}"
    )


async def simulator_body(generation: str, path: str) -> bytes:
    """A real answer of a simulated dashboard with MAX_SERVERS servers."""
    token = TOKEN if generation == "v0" else PAT
    header = token if generation == "v0" else f"Bearer {token}"
    async with (
        NezhaSimulator(generation=generation, servers=MAX_SERVERS, token=token) as sim,
        aiohttp.ClientSession() as session,
        session.get(sim.url + path, headers={"Authorization": header}) as resp,
    ):
        return await resp.read()


def filled(prefix: bytes, record: bytes, suffix: bytes, cap: int) -> bytes:
    """A body of records up to the cap (the largest one accepted); %d: a running number."""
    records: list[bytes] = []
    size = len(prefix) + len(suffix)
    for number in itertools.count(1):
        item = record.replace(b"%d", str(number).encode())
        if size + len(item) + 1 > cap:
            break
        records.append(item)
        size += len(item) + 1
    return prefix + b",".join(records) + suffix


async def test_limits(socket_enabled: None) -> None:
    """Realistic answers at the limits, and hostile ones at the body caps."""
    answer = {"body": b""}  # the row being measured

    async def get(path: str, **kwargs: Any) -> RawResponse:
        """Any request: the body of the row being measured."""
        now = datetime.now(UTC)
        return RawResponse(path, 200, "application/json", body=answer["body"], date=now)

    async with aiohttp.ClientSession() as session:
        v0 = NezhaV0Client(session, "http://dashboard.invalid", TOKEN)
        v1 = NezhaV1Client(session, "http://dashboard.invalid", PAT)
        v0._transport.get = v1._transport.get = get  # type: ignore[method-assign]
        v0_fleet, v1_fleet = v0.async_get_fleet, v1.async_get_fleet
        v0_pings = functools.partial(v0.async_get_ping_monitors, 1)

        real_v0 = await simulator_body("v0", "/api/v1/server/details")
        real_v1 = await simulator_body("v1", "/api/v1/server")
        v0_head, v0_tail = b'{"code":0,"message":"success","result":[', b"]}"
        v1_head, v1_tail = b'{"success":true,"data":[', b"]}"
        tiny_v0 = filled(v0_head, b'{"id":%d}', v0_tail, FLEET_BODY_BYTES)
        empty_v1 = filled(v1_head, b"{}", v1_tail, FLEET_BODY_BYTES)
        now = int(time.time() * 1000)
        points = (MONITOR_BODY_BYTES - 200) // 2 // 15
        monitor = {"monitor_id": 1, "monitor_name": "m", "created_at": [now] * points}
        monitor["avg_delay"] = [12.5] * points
        one_monitor = json.dumps(
            {"code": 0, "message": "success", "result": [monitor]}
        ).encode()[:MONITOR_BODY_BYTES]

        for name, body, read in (
            (f"v0 details, {MAX_SERVERS} simulated servers", real_v0, v0_fleet),
            (f"v1 /server, {MAX_SERVERS} simulated servers", real_v1, v1_fleet),
            ('v0 details at the cap, {"id":N} records', tiny_v0, v0_fleet),
            ("v1 /server at the cap, {} records", empty_v1, v1_fleet),
            ("ping history at the cap, one monitor", one_monitor, v0_pings),
        ):
            answer["body"] = body
            await measure(name, body, read)


def test_report() -> None:
    """Print the table (Markdown)."""
    print_table("answer | MiB | read | parse time s | peak memory MiB", RESULTS)
