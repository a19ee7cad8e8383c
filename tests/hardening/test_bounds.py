"""Bounds on what a dashboard may send: refused or cut, and always said so.

Body caps per endpoint, servers per answer, monitors per server, points per
monitor, temperature sensors per server (with the removal of sensors that are
gone). What a broken or hostile dashboard sends beyond them never crashes the
integration and is never dropped without a translated error or a repair issue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from datetime import timedelta
import re
import time
from typing import Any

import aiohttp
from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.nezha import (
    coordinator as coordinator_module,
    sensor as sensor_module,
)
from custom_components.nezha.client import (
    NezhaTooLargeError,
    NezhaV0Client,
    NezhaV1Client,
    fleet as fleet_module,
    stream as stream_module,
    v1 as v1_module,
)
from custom_components.nezha.client.stream import Backoff, StreamRunner
from custom_components.nezha.const import DOMAIN
from nezha_dev.simulator import NezhaSimulator
from tests.client.common import DETAILS, LIST, serve
from tests.config_flow.helpers import start_user_flow, submit, user_input
from tests.helpers import (
    ENTRY_ID,
    PAT,
    TOKEN,
    WS,
    server_ids_with_devices,
    until,
    v0_entry,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

MONITOR = "/api/v1/monitor/1"


def record(sid: int, **extra: Any) -> dict[str, Any]:
    """A minimal v0 details record of a server that reports now."""
    return {
        "id": sid,
        "name": f"srv-{sid}",
        "tag": "",
        "last_active": int(time.time()),
        "host": {"Platform": "debian"},
        "status": {"CPU": 1.5, **extra},
    }


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
    """A v0 dashboard with fixed answers (a body may be given as raw bytes).

    With ``monitors_after``, the ping history is answered once that event is set.
    """

    async def handler(request: web.Request) -> web.Response:
        if request.path == MONITOR and monitors_after is not None:
            await monitors_after.wait()
        if request.path in (DETAILS, LIST):
            if isinstance(details, bytes):
                return web.Response(body=details, content_type="application/json")
            body: Any = {"code": 0, "message": "success", "result": details}
        elif request.path == MONITOR:
            body = {"code": 0, "message": "success", "result": monitor_result}
        else:
            body = {"code": 0, "message": "success", "result": None}
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    async with serve(app) as url:
        yield url


def issue(hass: HomeAssistant, kind: str) -> ir.IssueEntry | None:
    """The entry's repair issue of this kind, if raised."""
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{kind}_{ENTRY_ID}")


async def setup(hass: HomeAssistant, url: str) -> MockConfigEntry:
    """Set up a v0 entry for ``url`` and let its first ping round finish."""
    entry = v0_entry(url, title="Bounds")
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


# -- body size ------------------------------------------------------------------------


async def test_oversized_answer_is_refused_with_a_message(hass: HomeAssistant) -> None:
    """7 MiB of details (a dashboard sends ~0.8 KiB per server): not read."""
    padding = b" " * (7 * 1024 * 1024)
    body = b'{"code":0,"message":"success","result":[]}' + padding
    async with dashboard(body, []) as url:
        entry = await setup(hass, url)
        assert entry.state is ConfigEntryState.SETUP_RETRY
        assert entry.reason is not None
        assert "larger than any a Nezha dashboard sends" in entry.reason
        assert "6 MiB" in entry.reason
        found = issue(hass, "response_too_large")
        assert found is not None
        assert "6 MiB" in (found.translation_placeholders or {})["error"]
        await hass.config_entries.async_remove(entry.entry_id)
        assert issue(hass, "response_too_large") is None


async def test_oversized_answer_in_the_form(hass: HomeAssistant) -> None:
    """The form names the cause instead of "not a Nezha dashboard"."""
    body = b'{"code":0,"message":"success","result":[' + b"{}," * 1_000_000 + b"{}]"
    async with dashboard(body, []) as url:
        result = await start_user_flow(hass)
        result = await submit(hass, result, user_input(url))
    assert result.get("errors") == {"base": "too_large"}, result


# -- servers per answer -----------------------------------------------------------------


async def test_servers_beyond_the_limit_are_left_out_and_said(
    hass: HomeAssistant, v0_sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the limit at 3, five servers: three devices, none removed, an issue."""
    monkeypatch.setattr(fleet_module, "MAX_SERVERS", 3, raising=False)
    monkeypatch.setattr(coordinator_module, "MAX_SERVERS", 3, raising=False)
    entry = await setup(hass, v0_sim.url)
    assert entry.state is ConfigEntryState.LOADED
    assert len(server_ids_with_devices(hass, entry)) == 3
    found = issue(hass, "too_many_servers")
    assert found is not None
    assert found.translation_placeholders == {
        "title": "Bounds",
        "count": "5",
        "limit": "3",
    }
    fleet = entry.runtime_data.client
    assert fleet is not None
    monkeypatch.setattr(fleet_module, "MAX_SERVERS", 5)
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    assert len(server_ids_with_devices(hass, entry)) == 5
    assert issue(hass, "too_many_servers") is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_client_reads_at_most_max_servers() -> None:
    """3,500 records: the first 3,000 are read; the answer is incomplete."""
    records = [record(sid) for sid in range(1, 3501)]
    async with dashboard(records, []) as url, aiohttp.ClientSession() as session:
        fleet = await NezhaV0Client(session, url, TOKEN).async_get_fleet()
    assert len(fleet.servers) == 3000
    assert fleet.left_out == 500
    assert not fleet.complete and fleet.may_have(3400)


# -- monitors and points ----------------------------------------------------------------


async def test_monitors_beyond_the_limit_get_no_sensor(hass: HomeAssistant) -> None:
    """60 monitors on one server: 50 ping sensors (lowest ids) and an issue."""
    async with dashboard([record(1)], monitors(60)) as url:
        entry = await setup(hass, url)
        pings = [
            e.unique_id
            for e in er.async_entries_for_config_entry(er.async_get(hass), ENTRY_ID)
            if re.fullmatch(rf"{ENTRY_ID}_1_ping_\d+", e.unique_id)
        ]
        assert len(pings) == 50  # the latency sensors (each has 24 h siblings too)
        assert f"{ENTRY_ID}_1_ping_50" in pings
        assert f"{ENTRY_ID}_1_ping_51" not in pings
        found = issue(hass, "too_many_monitors")
        assert found is not None
        assert found.translation_placeholders == {
            "title": "Bounds",
            "count": "1",
            "servers": "srv-1",
            "limit": "50",
        }
        assert await hass.config_entries.async_unload(entry.entry_id)
    assert issue(hass, "too_many_monitors") is None  # gone with the entry


async def test_ping_sensors_of_a_round_that_ends_between_platform_setups(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first ping round ends after the server was admitted with its entities
    of every platform, but before the sensor platform is set up: its listener
    missed that round, yet the ping sensors are there at once, not a poll later.
    """
    answered = asyncio.Event()
    real_setup = sensor_module.async_setup_entry

    async def sensor_setup_after_the_round(
        hass: HomeAssistant, entry: Any, add: Any
    ) -> None:
        coordinator = entry.runtime_data
        await until(lambda: bool(coordinator.entity_budget.admitted), "admission")
        answered.set()
        await until(lambda: coordinator.side.first_round_done, "the ping round")
        await real_setup(hass, entry, add)

    monkeypatch.setattr(
        sensor_module, "async_setup_entry", sensor_setup_after_the_round
    )
    async with dashboard([record(1)], monitors(3), monitors_after=answered) as url:
        entry = await setup(hass, url)
        pings = {
            e.unique_id
            for e in er.async_entries_for_config_entry(er.async_get(hass), ENTRY_ID)
            if re.fullmatch(rf"{ENTRY_ID}_1_ping_\d+", e.unique_id)
        }
        assert pings == {f"{ENTRY_ID}_1_ping_{mid}" for mid in (1, 2, 3)}
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_oversized_ping_history_raises_the_issue(hass: HomeAssistant) -> None:
    """A ping answer over its cap: the metrics carry on, the issue names it."""
    async with dashboard([record(1)], monitors(1, points=150_000)) as url:
        entry = await setup(hass, url)
        assert entry.state is ConfigEntryState.LOADED
        found = issue(hass, "response_too_large")
        assert found is not None
        assert MONITOR in (found.translation_placeholders or {})["error"]
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_only_the_newest_points_are_read() -> None:
    """A monitor with 10,000 points: the newest 2,880 are read."""
    async with (
        dashboard([record(1)], monitors(1, points=10_000)) as url,
        aiohttp.ClientSession() as session,
    ):
        (monitor,) = await NezhaV0Client(session, url, TOKEN).async_get_ping_monitors(1)
    assert monitor.points == 2880
    assert monitor.latest_delay == 10.0 + 9_999


# -- temperature sensors ----------------------------------------------------------------


def temperature_ids(hass: HomeAssistant, sid: int) -> set[str]:
    """Unique-id suffixes (names) of a server's temperature entities."""
    prefix = f"{ENTRY_ID}_{sid}_temperature_"
    return {
        e.unique_id.removeprefix(prefix)
        for e in er.async_entries_for_config_entry(er.async_get(hass), ENTRY_ID)
        if e.unique_id.startswith(prefix)
    }


async def poll(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 31
) -> None:
    """Let one scheduled poll happen."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def sensors(names: list[str]) -> list[dict[str, Any]]:
    """A v0 ``Temperatures`` list."""
    return [{"Name": name, "Temperature": 40.0} for name in names]


async def test_new_sensor_names_every_poll_stay_bounded(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory
) -> None:
    """An agent inventing 300 names per poll: at most 64 entities, and an issue."""
    async with NezhaSimulator(servers=2, token=TOKEN, seed=1) as sim:
        entry = await setup(hass, sim.url)
        for round_ in range(5):
            names = [f"r{round_}_s{i}" for i in range(300)]
            sim.set_malformed(1, "status.Temperatures", sensors(names))
            await poll(hass, frozen)
        assert len(temperature_ids(hass, 1)) == 64
        found = issue(hass, "too_many_temperatures")
        assert found is not None
        assert (found.translation_placeholders or {})["count"] == "1"
        assert (found.translation_placeholders or {})["limit"] == "64"
        # The other server's own sensors are untouched.
        assert temperature_ids(hass, 2) == {
            t.name for t in sim.fleet.status(2).temperatures or ()
        }
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_sensor_gone_for_a_day_is_removed_and_comes_back(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory
) -> None:
    """Gone 24 h while the server reports others: removed; back: created again."""
    async with NezhaSimulator(servers=1, token=TOKEN, seed=1) as sim:
        sim.set_malformed(1, "status.Temperatures", sensors(["cpu", "nvme"]))
        entry = await setup(hass, sim.url)
        assert temperature_ids(hass, 1) == {"cpu", "nvme"}

        sim.set_malformed(1, "status.Temperatures", sensors(["cpu"]))
        await poll(hass, frozen)
        await poll(hass, frozen, 23 * 3600)
        assert temperature_ids(hass, 1) == {"cpu", "nvme"}  # within the grace
        await poll(hass, frozen, 3600)
        assert temperature_ids(hass, 1) == {"cpu"}

        sim.set_malformed(1, "status.Temperatures", sensors(["cpu", "nvme"]))
        await poll(hass, frozen)
        assert temperature_ids(hass, 1) == {"cpu", "nvme"}
        assert await hass.config_entries.async_unload(entry.entry_id)


# -- v1: the group is chosen before the limit; frames over the cap ----------------------


async def test_v1_group_counts_against_the_limit_not_the_dashboard(
    v1_sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five servers, limit 3: all of them cut to 3, the group of 3 read whole."""
    monkeypatch.setattr(fleet_module, "MAX_SERVERS", 3)
    async with aiohttp.ClientSession() as session:
        client = NezhaV1Client(session, v1_sim.url, PAT)
        everything = await client.async_get_fleet()
        assert (len(everything.servers), everything.left_out) == (3, 2)
        group = await client.async_get_fleet("Production")
        assert (set(group.servers), group.left_out) == ({1, 2, 5}, 0)
        assert group.complete
        ws = await client.async_connect_stream()
        try:
            frame = client.parse_frame((await ws.receive()).data, "Production")
        finally:
            # The dashboard never answers a close frame, and frames keep coming.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    await ws.close()
    assert set(frame.fleet.servers) == {1, 2, 5}
    assert frame.unknown_ids == frame.missing_ids == frozenset()


async def test_v1_records_beyond_the_scan_limit_are_left_out(
    v1_sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only so many records are even looked at; the rest count as left out."""
    monkeypatch.setattr(v1_module, "MAX_RECORDS", 4)
    async with aiohttp.ClientSession() as session:
        client = NezhaV1Client(session, v1_sim.url, PAT)
        fleet = await client.async_get_fleet()
        assert (len(fleet.servers), fleet.left_out, fleet.complete) == (4, 1, False)
        ws = await client.async_connect_stream()
        try:
            frame = client.parse_frame((await ws.receive()).data)
        finally:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    await ws.close()
    assert frame.fleet.left_out == 1
    assert frame.missing_ids == frozenset()  # a frame not read to its end


async def test_v1_frame_over_the_cap_is_a_too_large_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stream reports an oversized frame as such (the coordinator raises an issue)."""
    monkeypatch.setattr(v1_module, "FLEET_BODY_BYTES", 1024)
    monkeypatch.setattr(stream_module, "FLEET_BODY_BYTES", 1024)

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str('{"now":1,"servers":[' + " " * 4096 + "]}")
        await asyncio.sleep(5)
        return ws

    app = web.Application()
    app.router.add_get(WS, handler)
    downs: list[Exception] = []
    async with serve(app) as url, aiohttp.ClientSession() as session:
        runner = StreamRunner(
            NezhaV1Client(session, url, PAT),
            on_frame=lambda frame: None,
            on_down=downs.append,
            on_auth_failure=lambda err: None,
            backoff=Backoff(base=10, cap=10),
        )
        task = asyncio.create_task(runner.run())
        await until(lambda: bool(downs), "the frame refused")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert isinstance(downs[0], NezhaTooLargeError)
    assert "larger than" in str(downs[0])
