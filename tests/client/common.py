"""Helpers shared by the client tests."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
import json
import logging
import ssl
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
import pytest

from custom_components.nezha.client import (
    Host,
    NezhaError,
    NezhaV0Client,
    NezhaV1Client,
    Server,
    State,
    Temperature,
    parse_public_note,
)
from custom_components.nezha.client.transport import RawResponse
from nezha_dev.simulator import NezhaSimulator
from nezha_dev.simulator.v0 import split_ip
from nezha_dev.simulator.v1_render import agent_version, last_active_nanos
from tests.conftest import SECRETS, register_secret
from tests.helpers import DETAILS, PAT, TOKEN

CLIENT_LOGGER = "custom_components.nezha.client.v0"
V1_LOGGER = "custom_components.nezha.client.v1"
LIST = "/api/v1/server/list"
FROZEN_AT = "2026-08-17T04:00:07.5+00:00"  # noon on the v1 dashboard's (+08:00) clock
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
JSON = "application/json"

WRONG_TOKEN = "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp"


register_secret(WRONG_TOKEN)


def assert_secret_free(*objects: object) -> None:
    """No token in the str/repr/args of the objects, nor in exception causes."""
    texts: list[str] = []
    for obj in objects:
        texts += [str(obj), repr(obj)]
        if isinstance(obj, BaseException):
            texts += [repr(arg) for arg in obj.args]
            cause = obj.__cause__ or obj.__context__
            while cause is not None:
                texts += [str(cause), repr(cause)]
                cause = cause.__cause__ or cause.__context__
    for secret in SECRETS:
        for text in texts:
            assert secret not in text


async def expect[E: NezhaError](exc_type: type[E], awaitable: Awaitable[Any]) -> E:
    """Await, assert the exact error type, and check it does not leak a token."""
    with pytest.raises(exc_type) as info:
        await awaitable
    assert type(info.value) is exc_type, f"{type(info.value).__name__} raised"
    assert_secret_free(info.value)
    return info.value


@contextlib.asynccontextmanager
async def serve(
    app: web.Application, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port (HTTPS with a context); yield its URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        port = runner.addresses[0][1]
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def status_server(
    status: int, location: str | None = None
) -> AsyncIterator[tuple[str, list[str]]]:
    """Every GET answered with ``status`` (and that Location); yields (URL, paths seen)."""
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path_qs)
        headers = {} if location is None else {"Location": location}
        return web.Response(status=status, headers=headers, text="moved")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    async with serve(app) as url:
        yield url, seen


def json_app(routes: dict[str, Any]) -> web.Application:
    """An app answering each path with a fixed JSON body (HTTP 200)."""

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(routes[request.path])

    app = web.Application()
    for path in routes:
        app.router.add_get(path, handler)
    return app


def raw_response(
    body: Any, status: int = 200, content_type: str = JSON, path: str = DETAILS
) -> RawResponse:
    """A canned answer dated 2026-01-01 UTC; ``body``: bytes as sent, else sent as JSON."""
    text = body if isinstance(body, bytes) else json.dumps(body).encode()
    date = datetime(2026, 1, 1, tzinfo=UTC)
    return RawResponse(path, status, content_type, text, date)


type Client = NezhaV0Client | NezhaV1Client


@contextlib.asynccontextmanager
async def serving[C: Client](routes: dict[str, Any], cls: type[C]) -> AsyncIterator[C]:
    """A client (``cls``) of a server answering each path with a fixed JSON body."""
    token = TOKEN if cls is NezhaV0Client else PAT
    async with serve(json_app(routes)) as url, aiohttp.ClientSession() as http:
        yield cls(http, url, token)


CALLS: dict[str, Callable[[Client], Awaitable[Any]]] = {
    "list": lambda c: c.async_list_servers(),
    "fleet": lambda c: c.async_get_fleet(),
    "monitors": lambda c: c.async_get_ping_monitors(1),
    "services": lambda c: c.async_get_service_overview(),
    "stream": lambda c: c.async_connect_stream(),  # type: ignore[union-attr]
}
"""Each request a client can make, by name (the stream is v1 only)."""

V1_BODIES: dict[str, Any] = {
    LIST: {"success": False, "error": "ApiErrorUnauthorized"},
    DETAILS: {"success": True, "data": []},
    "/api/v1/monitor/1": {"error": "record not found"},
}


def warnings_of(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    """Warnings ``logger`` wrote so far."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == logger and r.levelno == logging.WARNING
    ]


def v1_sim(**kwargs: Any) -> NezhaSimulator:
    """A v1 simulator (five servers of seed 1, the PAT); frames every 50 ms."""
    kwargs = {"servers": 5, "seed": 1, "token": PAT, **kwargs}
    sim = NezhaSimulator(generation="v1", **kwargs)
    sim.ws_interval = 0.05
    return sim


async def stream_frames(
    client: NezhaV1Client, sim: NezhaSimulator, count: int = 1
) -> list[str]:
    """The first ``count`` frames of a new stream (one is sent at once, even frozen)."""
    ws = await client.async_connect_stream()
    texts: list[str] = []
    try:
        async with asyncio.timeout(5):
            while len(texts) < count:
                message = await ws.receive()
                assert message.type is WSMsgType.TEXT
                texts.append(str(message.data))
    finally:
        await sim.drop_websockets()  # the dashboard never answers a close frame
        await ws.close()
    return texts


def as_utc(nanos: int | None) -> datetime | None:
    """Go time (ns) as the v1 client sees it: microseconds, truncated."""
    return None if nanos is None else EPOCH + timedelta(microseconds=nanos // 1000)


STATE_KEYS = (
    *("cpu", "mem_used", "swap_used", "disk_used", "uptime", "process_count"),
    *("net_in_transfer", "net_out_transfer", "net_in_speed", "net_out_speed"),
    *("tcp_conn_count", "udp_conn_count"),
)
HOST_KEYS = (
    *("platform", "platform_version", "mem_total", "disk_total", "swap_total"),
    *("arch", "virtualization", "country_code"),
)


def expected_server(sim: NezhaSimulator, sid: int) -> Server:
    """The server as the client of ``sim``'s generation must present it."""
    fleet = sim.fleet
    server, host = fleet.servers[sid], fleet.reported_host(sid)
    status = fleet.status(sid)
    v0 = sim.generation == "v0"
    if v0:
        seconds = fleet.last_report(sid)
        last_active = None if seconds is None else datetime.fromtimestamp(seconds, UTC)
    else:
        last_active = as_utc(last_active_nanos(fleet, sid, sim.now()))
    # v1 notes are parsed by the code under test; test_notes.py checks the parser.
    note = None if v0 else parse_public_note(server.public_note)
    base = Server(
        id=sid,
        name=server.name,
        tag=server.tag,
        last_active=last_active,
        display_index=server.display_index,
        public_note=note,
    )
    if host is None:
        return base
    ipv4, ipv6, valid_ip = split_ip(host.ip)
    state = State()
    if status is not None:
        state = State(
            **{key: getattr(status, key) for key in STATE_KEYS},
            load_1=status.load1,
            load_5=status.load5,
            load_15=status.load15,
            temperatures=tuple(
                Temperature(t.name, t.temperature) for t in status.temperatures or ()
            ),
            # A GPU figure means something only when the host lists a GPU.
            gpu=(status.gpu,) if host.gpu else (),
        )
    return replace(
        base,
        ipv4=ipv4,
        ipv6=ipv6,
        valid_ip=valid_ip if v0 else ipv4 or ipv6,
        host=Host(
            **{key: getattr(host, key) for key in HOST_KEYS},
            cpu=host.cpu or (),
            gpu=host.gpu or (),
            boot_time=datetime.fromtimestamp(host.boot_time, UTC),
            agent_version=host.version if v0 else agent_version(host.version),
        ),
        state=state,
    )
