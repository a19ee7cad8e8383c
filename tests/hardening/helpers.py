"""Helpers of the hardening tests: a v0 dashboard with fixed answers."""

import asyncio
from collections.abc import AsyncIterator
import contextlib
import re
import time
from typing import Any

from aiohttp import web
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import DOMAIN
from tests.client.common import DETAILS, LIST, serve
from tests.helpers import ENTRY_ID, keys, v0_entry

MONITOR = "/api/v1/monitor/1"


def ok(result: Any) -> dict[str, Any]:
    """A v0 answer envelope."""
    return {"code": 0, "message": "success", "result": result}


def record(sid: int, **fields: Any) -> dict[str, Any]:
    """A minimal v0 details record of a server that reports now (``fields`` replace)."""
    now = int(time.time())
    found = {"id": sid, "name": f"srv-{sid}", "tag": "", "last_active": now}
    return found | {"host": {"Platform": "debian"}, "status": {"CPU": 1.5}} | fields


def monitors(count: int, points: int = 3) -> list[dict[str, Any]]:
    """``count`` ping monitors of server 1, ``points`` points each."""
    now = int(time.time() * 1000)
    return [
        {
            "monitor_id": mid,
            "monitor_name": f"mon-{mid}",
            "server_id": 1,
            "created_at": [now - 60_000 * (points - i) for i in range(points)],
            "avg_delay": [10.0 + i for i in range(points)],
        }
        for mid in range(1, count + 1)
    ]


@contextlib.asynccontextmanager
async def dashboard(
    details: list[dict[str, Any]] | bytes,
    monitor_result: list[dict[str, Any]],
    monitors_after: asyncio.Event | None = None,
) -> AsyncIterator[str]:
    """A v0 dashboard with fixed answers; pings wait for ``monitors_after``."""

    async def handler(request: web.Request) -> web.Response:
        if request.path == MONITOR and monitors_after is not None:
            await monitors_after.wait()
        if request.path in (DETAILS, LIST) and isinstance(details, bytes):
            return web.Response(body=details, content_type="application/json")
        if request.path in (DETAILS, LIST):
            return web.json_response(ok(details))
        return web.json_response(
            ok(monitor_result if request.path == MONITOR else None)
        )

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    async with serve(app) as url:
        yield url


async def setup(hass: HomeAssistant, url: str) -> MockConfigEntry:
    """Set up a v0 entry for ``url`` and let its first ping round finish."""
    entry = v0_entry(url, title="Bounds")
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


@contextlib.asynccontextmanager
async def loaded(
    hass: HomeAssistant, *args: Any, **kwargs: Any
) -> AsyncIterator[MockConfigEntry]:
    """An entry set up for a :func:`dashboard`; it must unload at the end if loaded."""
    async with dashboard(*args, **kwargs) as url:
        entry = await setup(hass, url)
        yield entry
        if entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)


def entity_keys(hass: HomeAssistant, pattern: str) -> set[str]:
    """Unique-id suffixes (after the entry id) that match ``pattern`` in full."""
    entry = hass.config_entries.async_get_known_entry(ENTRY_ID)
    return {key for key in keys(hass, entry) if re.fullmatch(pattern, key)}


def issue(hass: HomeAssistant, kind: str) -> ir.IssueEntry | None:
    """The entry's repair issue of this kind, if raised."""
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{kind}_{ENTRY_ID}")


def placeholders(hass: HomeAssistant, kind: str) -> dict[str, str]:
    """The placeholders of the entry's repair issue of this kind (it must be raised)."""
    found = issue(hass, kind)
    assert found is not None, kind
    return dict(found.translation_placeholders or {})
