"""Helpers of the e2e tests: polling, the simulator's APIs, Home Assistant's registries."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass
import time
from typing import Any

import aiohttp
import pytest

from nezha_dev.hass.stack import Phases
from nezha_dev.provision_demo import HomeAssistantClient
from tests.e2e.conftest import E2EState


async def wait_until[T](
    what: str,
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    within: float,
    phases: Phases | None = None,
    *,
    interval: float = 0.5,
) -> tuple[T, float]:
    """Poll ``fetch`` until ``done``; return the last value and the seconds taken."""
    started = time.monotonic()
    while True:
        value = await fetch()
        elapsed = time.monotonic() - started
        if done(value):
            if phases is not None:
                phases.detail(what, elapsed)
            return value, elapsed
        if elapsed > within:
            pytest.fail(f"timed out after {within} s waiting for {what}; last: {value}")
        await asyncio.sleep(interval)


@dataclass
class Simulator:
    """The simulator's own API (with the token) and its ``/_sim/`` admin API."""

    session: aiohttp.ClientSession
    url: str
    token: str

    async def admin(self, method: str, path: str, payload: Any = None) -> Any:
        """Call ``/_sim/...``; raises on an error status."""
        async with self.session.request(
            method, f"{self.url}/_sim/{path}", json=payload
        ) as response:
            response.raise_for_status()
            return await response.json()

    async def api(self, path: str) -> Any:
        """GET a v0 API path with the token; return ``result``."""
        async with self.session.get(
            f"{self.url}/api/v1/{path}", headers={"Authorization": self.token}
        ) as response:
            response.raise_for_status()
            body = await response.json()
        assert body["code"] == 0, body
        return body["result"]

    @contextlib.asynccontextmanager
    async def frozen_clock(self) -> AsyncIterator[None]:
        """Stop the dashboard clock for the body (nezha_dev/hass/simserver.py)."""
        await self.admin("POST", "e2e/clock", {"frozen": True})
        try:
            yield
        finally:
            await self.admin("POST", "e2e/clock", {"frozen": False})


@contextlib.asynccontextmanager
async def simulator(e2e: E2EState) -> AsyncIterator[Simulator]:
    """A :class:`Simulator` client for the running stack."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:
        yield Simulator(s, e2e.stack.sim.url, e2e.stack.token)


async def entry_state(ha: HomeAssistantClient, entry_id: str) -> str:
    """The state of a config entry (``loaded``, ``setup_error``, ...)."""
    entries = await ha.request("GET", "/api/config/config_entries/entry?domain=nezha")
    return next(str(e["state"]) for e in entries if e["entry_id"] == entry_id)


async def registry(ha: HomeAssistantClient, kind: str) -> list[dict[str, Any]]:
    """``config/{kind}_registry/list`` over the WebSocket API."""
    async with ha.websocket() as ws:
        items: list[dict[str, Any]] = await ws.call(f"config/{kind}_registry/list")
    return items


async def nezha_entities(ha: HomeAssistantClient, entry_id: str) -> dict[str, str]:
    """Unique id -> entity id of the entry's entities."""
    return {
        e["unique_id"]: e["entity_id"]
        for e in await registry(ha, "entity")
        if e["config_entry_id"] == entry_id
    }


async def nezha_devices(ha: HomeAssistantClient, entry_id: str) -> list[dict[str, Any]]:
    """The entry's devices."""
    return [d for d in await registry(ha, "device") if entry_id in d["config_entries"]]


async def entry_loaded(
    ha: HomeAssistantClient,
    entry_id: str,
    within: float = 30,
    phases: Phases | None = None,
) -> None:
    """Wait until the entry is loaded (again)."""
    await wait_until(
        "the entry to be loaded",
        lambda: entry_state(ha, entry_id),
        lambda state: state == "loaded",
        within,
        phases=phases,
    )
