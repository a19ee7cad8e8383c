"""The simulated Nezha dashboards (nezha_dev/simulator) of both API generations, over HTTP."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
import itertools
import json
import math
import os
from pathlib import Path
import re
import select
import subprocess
import sys
import time
from typing import Any
import urllib.request

import aiohttp
from aiohttp import ClientSession, ClientWebSocketResponse, WSMsgType
from freezegun.api import FrozenDateTimeFactory
from hypothesis import given, settings, strategies as st
import pytest

from nezha_dev.simulator import (
    BLOCK_ID_UNKNOWN_USER,
    MISSING,
    ZERO_TIME_UNIX,
    Fault,
    NezhaSimulator as Sim,
    generate_pat,
)
from nezha_dev.simulator.encoding import go_json, go_time
from nezha_dev.simulator.metrics import MAX_DELAY, PingProfile, ping_delay
from nezha_dev.simulator.services import local_midnight
from nezha_dev.simulator.v0 import MAX_UINT64, go_parse_uint, split_ip
from tests.helpers import until

V0_TOKEN = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
V1_TOKEN = "nzp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
OWN = "<the simulator's own token>"
AUTH_FAIL = '{"code":403,"message":"访问此接口需要认证"}'.encode()
JSON_CT = "application/json; charset=utf-8"
HTML_CT = "text/html; charset=utf-8"
ZERO = "0001-01-01T00:00:00Z"
SUCCESS = {"success": True}
UNAUTHORIZED = b'{"error":"ApiErrorUnauthorized"}'
NOT_FOUND = b'{"error":"404 Not Found"}'
BLOCKED = "you were blocked by nezha WAF"
LIST, DETAILS = "/api/v1/server/list", "/api/v1/server/details"
MONITOR, SETTING, CRON = "/api/v1/monitor", "/api/v1/setting", "/api/v1/cron"
SERVER, GROUPS, SERVICE = "/api/v1/server", "/api/v1/server-group", "/api/v1/service"
WS = "/api/v1/ws/server"
V1_ORDER = [2, 3, 5, 1, 4, 6, 7]  # /server: display_index desc, then id
REPO = Path(__file__).resolve().parents[1]
# Client close: the server never answers a close frame, so do not wait long.
WS_TIMEOUT = aiohttp.ClientWSTimeout(ws_receive=None, ws_close=0.2)

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Replace tests/conftest.py's: the simulator needs no Home Assistant."""


@dataclass
class Reply:
    """What a test needs from one HTTP exchange."""

    status: int
    headers: dict[str, str]
    body: bytes
    generation: str  # the envelope the dashboard must answer with

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def payload(self) -> Any:
        """A v0 answer's result (code 0 asserted) or a v1 one's data (success)."""
        body = self.json()
        if self.generation == "v0":
            assert body["code"] == 0, body
            return body["result"]
        assert body.get("success") is True, body
        return body.get("data")

    @property
    def blocked(self) -> bool:
        ctype = self.headers.get("Content-Type")
        return self.status == 403 and ctype == HTML_CT and BLOCKED in self.body.decode()


def make(generation: str = "v0", **kwargs: Any) -> Sim:
    """Seven servers of seed 7 unless told otherwise; v1 means v2.3.7."""
    token = V0_TOKEN if generation == "v0" else V1_TOKEN
    defaults = {"servers": 7, "seed": 7, "token": token}
    return Sim(generation=generation, **defaults | kwargs)


def dashboard(name: str, generation: str, frozen: bool = False) -> Any:
    """A fixture: a started ``make(generation)``, under freezegun if frozen."""

    @pytest.fixture(name=name)
    async def fixture(request: pytest.FixtureRequest) -> AsyncIterator[Sim]:
        if frozen:
            request.getfixturevalue("freezer")
        async with make(getattr(request, "param", generation)) as simulator:
            yield simulator

    return fixture


sim0, frozen0 = dashboard("sim0", "v0"), dashboard("frozen0", "v0", frozen=True)
sim1, frozen1 = dashboard("sim1", "v1"), dashboard("frozen1", "v1", frozen=True)
sim = dashboard("sim", "v0")  # the generation given by indirect parametrisation


async def fetch(sim: Sim, path: str, token: str | None = OWN, **kw: Any) -> Reply:
    """One request; the token goes raw to a v0 dashboard, as Bearer to a v1 one."""
    v0 = sim.generation == "v0"
    token = (V0_TOKEN if v0 else V1_TOKEN) if token == OWN else token
    headers = kw.pop("headers", {})
    if token is not None:
        headers = {"Authorization": token if v0 else f"Bearer {token}"} | headers
    method = kw.pop("method", "GET")
    kw.setdefault("allow_redirects", False)
    async with (
        ClientSession() as session,
        session.request(method, sim.url + path, headers=headers, **kw) as resp,
    ):
        return Reply(resp.status, dict(resp.headers), await resp.read(), sim.generation)


async def get(sim: Sim, path: str, token: str | None = OWN) -> Any:
    """The result (v0) or data (v1) of a successful GET."""
    reply = await fetch(sim, path, token)
    assert reply.status == 200, reply
    return reply.payload


async def answer(sim: Sim, path: str, token: str | None = OWN, **kw: Any) -> Any:
    """The status and the JSON answer of one request."""
    reply = await fetch(sim, path, token, **kw)
    return reply.status, reply.json()


async def raw(sim: Sim, path: str, token: str | None = OWN, **kw: Any) -> Any:
    """The status and the body of one request."""
    reply = await fetch(sim, path, token, **kw)
    return reply.status, reply.body


async def admin(sim: Sim, method: str, path: str, body: Any = None) -> Reply:
    return await fetch(sim, path, None, method=method, json=body)


def ids(elements: list[dict[str, Any]]) -> list[int]:
    return [e["id"] for e in elements]


def by_id(elements: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {e["id"]: e for e in elements}


async def connect(
    http: ClientSession, sim: Sim, token: str | None = V1_TOKEN, **kw: Any
) -> ClientWebSocketResponse:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    headers |= kw.pop("headers", {})
    return await http.ws_connect(
        sim.url + WS, headers=headers, timeout=WS_TIMEOUT, **kw
    )


async def receive(ws: ClientWebSocketResponse, limit: float = 5) -> aiohttp.WSMessage:
    async with asyncio.timeout(limit):
        return await ws.receive()


async def frames(ws: ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    while len(result) < count:
        msg = await receive(ws)
        if msg.type is WSMsgType.TEXT:
            result.append(json.loads(msg.data))
        else:
            assert msg.type in (WSMsgType.PING, WSMsgType.PONG), msg
    return result


async def until_closed(ws: ClientWebSocketResponse) -> None:
    while (msg := await receive(ws)).type is not WSMsgType.CLOSED:
        assert msg.type in (WSMsgType.TEXT, WSMsgType.PING)


async def handshake_status(sim: Sim, token: str | None = V1_TOKEN, **kw: Any) -> int:
    async with ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await connect(http, sim, token, **kw)
    return caught.value.status


async def hang_up(*sockets: ClientWebSocketResponse) -> None:
    """Close without waiting: ``close()`` never returns while frames keep coming."""
    for ws in sockets:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.3):
                await ws.close()


# ======================================================== the v0 API


async def test_list_shape_tags_ips_and_full_details(sim0: Sim) -> None:
    reply = await fetch(sim0, LIST)  # the raw token authenticates
    assert (reply.status, reply.headers["Content-Type"]) == (200, JSON_CT)
    assert sorted(ids(reply.payload)) == list(range(1, 8))
    servers = by_id(reply.payload)
    assert list(servers[1]) == [
        "id", "name", "tag", "last_active", "ipv4", "ipv6", "valid_ip",
        "display_index", "hide_for_guest"
    ]  # fmt: skip
    shown = {(s["display_index"], s["hide_for_guest"]) for s in reply.payload}
    assert shown == {(0, False)}
    ips = {sid: (s["ipv4"], s["ipv6"], s["valid_ip"]) for sid, s in servers.items()}
    assert ips[1] == ("203.0.113.10", "2001:db8::10", "203.0.113.10")  # dual stack
    assert ips[2] == ("198.51.100.22", "", "198.51.100.22")  # v4 only
    assert ips[3] == ("", "2001:db8:1::3", "2001:db8:1::3")  # v6 only
    assert ips[7] == ("", "2001:db8:3::4", "")  # "/v6": v4 part wins even if empty
    assert servers[5]["name"] == "东京-web-03"
    assert "东京".encode() in reply.body  # v0 success bodies: raw UTF-8 too
    assert ids(await get(sim0, f"{LIST}?tag=Lab")) == [3, 7]  # tag = creation order
    assert await get(sim0, f"{LIST}?tag=nope") == []
    results = [await get(sim0, DETAILS) for _ in range(8)]
    orders = {tuple(ids(result)) for result in results}
    assert len(orders) > 1
    assert all(sorted(order) == list(range(1, 8)) for order in orders)
    servers = by_id(results[-1])
    assert (servers[2]["display_index"], servers[3]["display_index"]) == (10, 5)
    assert servers[3]["hide_for_guest"] is True
    host, status = servers[3]["host"], servers[3]["status"]
    assert list(servers[3])[-2:] == ["host", "status"]
    assert list(host) == [
        "Platform", "PlatformVersion", "CPU", "MemTotal", "DiskTotal", "SwapTotal",
        "Arch", "Virtualization", "BootTime", "CountryCode", "Version", "GPU"
    ]  # fmt: skip
    assert list(status) == [
        "CPU", "MemUsed", "SwapUsed", "DiskUsed", "NetInTransfer", "NetOutTransfer",
        "NetInSpeed", "NetOutSpeed", "Uptime", "Load1", "Load5", "Load15",
        "TcpConnCount", "UdpConnCount", "ProcessCount", "Temperatures", "GPU"
    ]  # fmt: skip
    assert host["GPU"] == ["NVIDIA GeForce RTX 3060"]
    assert isinstance(status["GPU"], (int, float))
    assert len(status["Temperatures"]) >= 2
    assert set(status["Temperatures"][0]) == {"Name", "Temperature"}
    assert servers[1]["status"]["Temperatures"] is None


BAD_ID = '{"code":400,"message":"id参数错误"}'.encode()
NEEDS_AUTH = '{"code":403,"message":"需要认证"}'.encode()
RESTRICTED = {"code": 403, "message": "访问受限"}
BAD_TOKENS = [None, "", f"Bearer {V0_TOKEN}", V0_TOKEN.lower(), "nope"]


@pytest.mark.parametrize(("path", "token", "status", "body"), [
    # A bad token where one is needed: HTTP 200 with code 403.
    *[(p, t, 200, AUTH_FAIL) for p in (LIST, f"{DETAILS}?id=1") for t in BAD_TOKENS],
    *[(f"{MONITOR}/{i}", V0_TOKEN, 400, BAD_ID) for i in ("abc", "-1", 2**64)],
    (f"{MONITOR}/999", V0_TOKEN, 404, '{"code":404,"message":"id不存在"}'.encode()),
    # A hidden server.
    *[(f"{MONITOR}/3", t, 403, NEEDS_AUTH) for t in (None, f"Bearer {V0_TOKEN}")],
    (f"{MONITOR}/4", V0_TOKEN, 200, b'{"code":0,"message":"success","result":null}'),
])  # fmt: skip
async def test_v0_status_and_body(
    sim0: Sim, path: str, token: str | None, status: int, body: bytes
) -> None:
    reply = await fetch(sim0, path, token=token)
    assert (reply.status, reply.headers["Content-Type"]) == (status, JSON_CT)
    assert reply.body == body  # raw UTF-8, not \u-escaped


async def test_v0_monitors_then_never_reported_offline_and_back(
    frozen0: Sim, freezer: FrozenDateTimeFactory
) -> None:
    now = frozen0.now()
    history = await get(frozen0, f"{MONITOR}/1")
    assert [m["monitor_id"] for m in history] == [2, 5]  # HTTP monitor 1 never appears
    for series in history:
        assert series["server_id"] == 1 and series["server_name"] == "hk-edge-01"
        stamps, delays = series["created_at"], series["avg_delay"]
        assert len(stamps) == len(delays) == 1440
        assert stamps[-1] == math.floor(now / 60) * 60_000
        assert all(b - a == 60_000 for a, b in itertools.pairwise(stamps))
        assert all(0 <= d <= MAX_DELAY for d in delays)
        assert sum(20 <= d <= 400 for d in delays) > 1300  # mostly realistic values
    zeros = 0
    for sid in (1, 2, 3, 5, 6, 7):
        for series in await get(frozen0, f"{MONITOR}/{sid}"):
            zeros += series["avg_delay"].count(0)
    assert zeros > 0  # lost probes show up as 0
    # A bad token is no error here: the request just proceeds as a guest.
    assert await get(frozen0, f"{MONITOR}/1", token="bad")
    assert await get(frozen0, f"{MONITOR}/3")  # hidden, with token
    frozen0.set_view_password(True)
    for path in (f"{MONITOR}/1", f"{MONITOR}/abc", f"{MONITOR}/999"):
        assert await answer(frozen0, path, token=None) == (200, RESTRICTED)
    assert await get(frozen0, f"{MONITOR}/1")  # a valid token skips the view password
    frozen0.set_view_password(False)
    assert await get(frozen0, f"{MONITOR}/1", token=None)
    boundary = (math.floor(time.time() / 60) + 1) * 60
    freezer.move_to(datetime.fromtimestamp(boundary, tz=UTC))
    async with make(servers=1) as sim0:
        series = (await get(sim0, f"{MONITOR}/1"))[0]
    # created_at >= now - 24h is inclusive: both ends of the day are present.
    assert len(series["created_at"]) == 1441
    assert series["created_at"][0] == (boundary - 86_400) * 1000
    # Never reported, then online; offline freezes values, back online resumes.
    frozen0.set_never_reported(4)
    sid = frozen0.add_server("fresh", "Lab", never_reported=True)
    reply = await fetch(frozen0, f"{DETAILS}?id=4,{sid}")
    assert b'"last_active":-62135596800' in reply.body
    for element in reply.payload:
        assert element["last_active"] == ZERO_TIME_UNIX
        assert (element["ipv4"], element["ipv6"], element["valid_ip"]) == ("", "", "")
        assert element["host"] == {
            "Platform": "", "PlatformVersion": "", "CPU": None, "MemTotal": 0,
            "DiskTotal": 0, "SwapTotal": 0, "Arch": "", "Virtualization": "",
            "BootTime": 0, "CountryCode": "", "Version": "", "GPU": None
        }  # fmt: skip
        status = element["status"]
        assert status["Temperatures"] is None
        assert all(v == 0 for k, v in status.items() if k != "Temperatures")
    assert b'"status":{"CPU":0,"MemUsed":0' in reply.body  # Go prints 0, not 0.0
    frozen0.set_online(4, True)
    (element,) = await get(frozen0, f"{DETAILS}?id=4")
    assert element["last_active"] > 0 and element["host"]["Platform"] == "debian"
    before = by_id(await get(frozen0, f"{DETAILS}?id=1,2"))
    off_at = frozen0.now()
    frozen0.set_online(1, False)
    freezer.tick(600)
    after = by_id(await get(frozen0, f"{DETAILS}?id=1,2"))
    assert after[1] == before[1]  # last_active and status frozen (v0 never resets)
    assert after[2]["last_active"] >= before[2]["last_active"] + 599
    history = await get(frozen0, f"{MONITOR}/1")
    assert all(s["created_at"][-1] <= off_at * 1000 for s in history)
    frozen0.set_online(1, True)
    freezer.tick(120)
    (back,) = await get(frozen0, f"{DETAILS}?id=1")
    assert frozen0.now() - back["last_active"] < 2
    stamps = (await get(frozen0, f"{MONITOR}/1"))[0]["created_at"]
    assert stamps[-1] == math.floor(frozen0.now() / 60) * 60_000
    assert max(b - a for a, b in itertools.pairwise(stamps)) >= 600_000  # gap


def test_ping_delay_cap_and_go_json() -> None:
    spiky = PingProfile(base=400, jitter=5, loss=0, spike=1)
    assert {ping_delay(1, 1, 2, m, spiky) for m in range(50)} == {MAX_DELAY}
    lossy = PingProfile(base=40, jitter=5, loss=1, spike=0)
    assert {ping_delay(1, 1, 2, m, lossy) for m in range(50)} == {0.0}
    value = {"a": 54.0, "b": 1e-5, "c": "<&>\u2028", "d": -0.0, "e": 1e21, "f": 3.25}
    assert go_json({**value, "g": None}) == (
        b'{"a":54,"b":0.00001,"c":"\\u003c\\u0026\\u003e\\u2028","d":-0,'
        b'"e":1e+21,"f":3.25,"g":null}'
    )
    assert go_json([float("inf")]) is None


async def test_live_values_move(frozen0: Sim, freezer: FrozenDateTimeFactory) -> None:
    samples = []
    for _ in range(6):
        samples.append(by_id(await get(frozen0, f"{DETAILS}?id=1,2")))
        freezer.tick(30)
    for sid in (1, 2):
        states = [s[sid]["status"] for s in samples]
        for key in ("NetInTransfer", "NetOutTransfer", "Uptime"):
            assert all(a[key] < b[key] for a, b in itertools.pairwise(states))
        assert len({s["CPU"] for s in states}) > 3
        assert len({s["MemUsed"] for s in states}) > 1
        grown = states[1]["NetInTransfer"] - states[0]["NetInTransfer"]
        expected = 30 * states[0]["NetInSpeed"]  # speed x elapsed, speed varies a bit
        assert 0.3 * expected < grown < 3 * expected
    assert samples[0][2]["status"]["NetInTransfer"] > 2**53  # exact uint64 beyond float


async def test_clock_shift_and_frozen_values(frozen0: Sim) -> None:
    path = f"{DETAILS}?id=1,2,3,4,5,6,7"
    assert (await fetch(frozen0, path)).body == (await fetch(frozen0, path)).body
    unordered = [by_id(await get(frozen0, DETAILS)) for _ in range(2)]
    assert unordered[0] == unordered[1]
    twin = make()  # same seed, same clock
    assert twin.fleet.status(2) == frozen0.fleet.status(2)
    frozen0.set_seed(8)
    assert frozen0.fleet.status(2) != twin.fleet.status(2)
    real = time.time()
    frozen0.shift_clock(420)
    frozen0.shift_clock(-20)
    assert frozen0.clock_offset == 400
    reply = await fetch(frozen0, LIST)
    assert reply.headers["Date"] == formatdate(real + 400, usegmt=True)
    second = math.floor(real + 400)
    assert all(second - 1 <= e["last_active"] <= second for e in reply.payload)


@pytest.mark.parametrize(("fault", "status", "content_type", "body"), [
    (Fault.HTML_502, 502, "text/html", b"<h1>502 Bad Gateway</h1>"),  # in the page
    (Fault.EMPTY_200, 200, JSON_CT, b""),
    (Fault.TRUNCATED_JSON, 200, JSON_CT, None),  # a proper prefix of the answer
    (Fault.HTML_200, 200, "text/html", b"<form"),  # in the page
    (Fault.SERVER_500_EMPTY, 500, None, b""),
    (Fault.NOT_JSON, 200, JSON_CT, b"<html>"),
])  # fmt: skip
async def test_fault_responses(
    sim0: Sim, fault: Fault, status: int, content_type: str | None, body: bytes | None
) -> None:
    normal = (await fetch(sim0, f"{LIST}?tag=Lab")).body
    sim0.inject_fault(fault)
    reply = await fetch(sim0, f"{LIST}?tag=Lab")
    assert reply.status == status
    got = reply.headers.get("Content-Type")
    assert got is None if content_type is None else (got or "").startswith(content_type)
    if body is None:
        assert 0 < len(reply.body) < len(normal) and normal.startswith(reply.body)
        with pytest.raises(ValueError):
            reply.json()
    else:
        assert body in reply.body if content_type == "text/html" else reply.body == body
    assert await get(sim0, LIST)  # count=1 used up


async def test_v0_faults_malformed_requests_and_admin_api(sim0: Sim) -> None:
    sim0.inject_fault(Fault.RESET)
    # aiohttp silently retries an idempotent request once after a reset...
    assert await get(sim0, LIST)
    assert len(sim0.requests) == 2
    sim0.inject_fault(Fault.RESET, count=2)  # ...so it takes two to surface
    with pytest.raises(aiohttp.ClientError):
        await fetch(sim0, LIST)
    assert await get(sim0, LIST)
    sim0.slow_seconds = 0.3
    sim0.inject_fault(Fault.SLOW)
    started = time.monotonic()
    assert await get(sim0, LIST)
    assert time.monotonic() - started >= 0.3
    sim0.slow_seconds = 30  # a client timeout must not keep stop() waiting
    sim0.inject_fault(Fault.SLOW)
    with pytest.raises(TimeoutError):
        await fetch(sim0, LIST, timeout=aiohttp.ClientTimeout(total=0.2))
    sim0.inject_fault(Fault.HTML_502, count=None, path=MONITOR)
    sim0.inject_fault("not_json", count=2)
    assert (await fetch(sim0, f"{MONITOR}/1")).status == 502
    for _ in range(2):
        assert (await fetch(sim0, LIST)).body == b"<html>"
    assert await get(sim0, LIST)
    assert (await fetch(sim0, f"{MONITOR}/1")).status == 502
    sim0.clear_faults()
    assert (await fetch(sim0, f"{MONITOR}/1")).status == 200
    with pytest.raises(ValueError):
        sim0.inject_fault(Fault.SLOW, count=0)
    sim0.set_malformed(1, "status", "oops")
    sim0.set_malformed(1, "id", "abc")
    sim0.set_malformed(2, "host", None)
    sim0.set_malformed(3, "status.CPU", MISSING)
    sim0.set_malformed(3, "extra", [1])
    result = await get(sim0, f"{DETAILS}?id=1,2,3")
    assert (result[0]["id"], result[0]["status"]) == ("abc", "oops")
    assert result[1]["host"] is None
    assert "CPU" not in result[2]["status"] and result[2]["extra"] == [1]
    assert (await get(sim0, f"{LIST}?tag=Production"))[0]["id"] == "abc"
    sim0.set_malformed(2, "status.CPU", float("nan"))  # Go cannot marshal NaN
    r = await fetch(sim0, f"{DETAILS}?id=2")
    assert (r.status, r.body, r.headers["Content-Type"]) == (200, b"", JSON_CT)
    sim0.clear_malformed()
    assert (await get(sim0, f"{DETAILS}?id=1"))[0]["id"] == 1
    sim0.reset_requests()
    await fetch(sim0, f"{LIST}?tag=Lab&tag=x")
    await fetch(sim0, f"{MONITOR}/2", token=None)
    await fetch(sim0, "/nowhere")
    await fetch(sim0, "/_sim/state")  # admin traffic is not recorded
    assert [r.path for r in sim0.requests] == [LIST, f"{MONITOR}/2", "/nowhere"]
    assert {r.method for r in sim0.requests} == {"GET"}
    first = sim0.requests[0]
    assert first.query == {"tag": "Lab"} and first.headers["Authorization"] == V0_TOKEN
    assert "Authorization" not in sim0.requests[1].headers
    assert abs(first.time - sim0.now()) < 5
    sim0.reset_requests()
    assert sim0.requests == []
    # The admin API, token changes, and server ids never reused.
    sid = sim0.add_server(
        "nas-2", "Lab", ip="192.0.2.99", hide_for_guest=True, display_index=3
    )
    assert sid == 8
    sim0.remove_server(sid)
    assert sim0.add_server("nas-3") == 9  # ids are never reused
    assert (await fetch(sim0, f"{MONITOR}/8")).status == 404
    with pytest.raises(KeyError):
        sim0.remove_server(8)
    created = await admin(sim0, "POST", "/_sim/servers", {"name": "d", "tag": "Lab"})
    assert created.status == 201
    sid = created.json()["id"]
    assert sid in ids(await get(sim0, LIST))
    assert (await admin(sim0, "POST", f"/_sim/servers/{sid}/offline")).status == 200
    assert not sim0.fleet.servers[sid].online
    assert (await admin(sim0, "POST", f"/_sim/servers/{sid}/online")).status == 200
    assert sim0.fleet.servers[sid].online
    clock = {"clock_offset": 60}
    assert (await admin(sim0, "POST", "/_sim/clock", {"shift": 60})).json() == clock
    fault = await admin(sim0, "POST", "/_sim/fault", {"kind": "html_502", "count": 1})
    assert fault.status == 200
    state = (await admin(sim0, "GET", "/_sim/state")).json()
    assert state["faults"] == [{"kind": "html_502", "count": 1, "path": None}]
    assert state["clock_offset"] == 60 and sid in ids(state["servers"])
    assert (await admin(sim0, "DELETE", "/_sim/fault")).status == 200
    assert sim0.faults == []
    assert (await admin(sim0, "POST", "/_sim/fault", {"kind": "bogus"})).status == 400
    assert (await admin(sim0, "DELETE", f"/_sim/servers/{sid}")).status == 200
    assert sid not in sim0.fleet.servers
    missing = await admin(sim0, "DELETE", f"/_sim/servers/{sid}")
    assert (missing.status, missing.json()) == (404, {"error": f"no server {sid}"})
    sim0.set_token("new-token")
    assert (await fetch(sim0, LIST)).body == AUTH_FAIL
    assert await get(sim0, LIST, token="new-token")
    sim0.revoke_token()
    assert sim0.token is None
    assert (await fetch(sim0, LIST, token="new-token")).body == AUTH_FAIL
    token = await admin(sim0, "POST", "/_sim/token", {"token": "t2"})
    assert token.json() == {"token": "t2"} and sim0.token == "t2"
    await admin(sim0, "POST", "/_sim/token", {"revoke": True})
    assert not sim0.token_valid("t2")


@settings(database=None)  # keep the repo free of a .hypothesis directory
@given(st.text())
def test_go_parse_uint_matches_go(text: str) -> None:
    value, ok = go_parse_uint(text)
    valid = text != "" and all(c in "0123456789" for c in text)
    assert ok == (valid and int(text) <= MAX_UINT64)
    assert value == (int(text) if ok else (MAX_UINT64 if valid else 0))


@settings(database=None)
@given(st.text(alphabet="0123456789abcdef.:/"))
def test_split_ip_follows_go(ip: str) -> None:
    ipv4, ipv6, valid = split_ip(ip)
    parts = ip.split("/")
    if len(parts) > 1:
        assert (ipv4, ipv6, valid) == (parts[0], parts[1], parts[0])
    else:
        assert valid == ip and (ipv6 if ":" in ip else ipv4) == ip


async def test_admin_disabled_restart_and_prompt_stops() -> None:
    sim0 = make(servers=1, admin=False)
    with pytest.raises(RuntimeError):
        _ = sim0.url
    await sim0.start()
    try:
        assert (await fetch(sim0, "/_sim/state")).status == 404
        assert [r.path for r in sim0.requests] == ["/_sim/state"]
    finally:
        await sim0.stop()
    await sim0.stop()  # idempotent
    async with sim0:  # can be started again, like a restarted dashboard
        assert await get(sim0, LIST)
        sim0.reset_requests()
        sim0.inject_fault(Fault.SLOW)
        pending = asyncio.ensure_future(fetch(sim0, LIST))
        await until(lambda: bool(sim0.requests), "the slow request to arrive", 5)
        started = time.monotonic()
        await sim0.stop()
        assert time.monotonic() - started < 5
    assert (await pending).status == 200  # woken by stop(): answered normally
    async with make("v1") as sim1, ClientSession() as http:
        await frames(ws := await connect(http, sim1), 1)
        started = time.monotonic()
        await sim1.stop()
        assert time.monotonic() - started < 3
        await until_closed(ws)
        await hang_up(ws)


# ======================================================== both generations


V0_EMPTY, V1_EMPTY = b'{"code":0,"message":"success","result":[]}', b'{"success":true}'


@pytest.mark.parametrize(("generation", "empty", "solo"), [
    # v0: [] rather than null; a server without history: null.
    ("v0", {LIST: V0_EMPTY, DETAILS: V0_EMPTY},
     {f"{MONITOR}/1": b'{"code":0,"message":"success","result":null}'}),
    # v1: empty lists and no history omit data; /service data is a struct.
    ("v1", {SERVER: V1_EMPTY, GROUPS: V1_EMPTY, f"{SERVICE}/server": V1_EMPTY},
     {f"{SERVER}/1/service": V1_EMPTY, SERVICE: b'{"success":true,"data":{}}'}),
])  # fmt: skip
async def test_empty_dashboard(
    generation: str, empty: dict[str, bytes], solo: dict[str, bytes]
) -> None:
    async with make(generation, servers=0, monitors=False) as sim:
        for path, body in empty.items():
            assert await raw(sim, path) == (200, body), path
        sim.add_server("solo", monitors=[2])  # a monitor that does not exist
        for path, body in solo.items():
            assert await raw(sim, path) == (200, body), path


@pytest.mark.parametrize(("sim", "query", "expected"), [
    ("v0", "id=1&tag=Lab", [3, 7]),  # tag wins over id
    ("v0", "id=3,abc,1,3,999", [3, 1, 3]),  # order kept, dupes echoed, junk dropped
    # id=abc becomes [0]: matches nothing (not "all").
    *[("v0", q, [])
      for q in ("id=abc", "id=-1,+2, 3", f"id={'9' * 23}", "tag=nope&id=1")],
    ("v1", "id=1,3", [3, 1]),  # display_index != 0 first, then the others
    ("v1", "id=6,1,6", [6, 1, 6]),
    *[("v1", q, V1_ORDER) for q in ("id=999", "id=abc", "id=")],  # nothing matched: all
], indirect=["sim"])  # fmt: skip
async def test_server_selection(sim: Sim, query: str, expected: list[int]) -> None:
    """v0 /server/details (zeroed display fields) and v1 /server by ``?id=``."""
    v0 = sim.generation == "v0"
    result = await get(sim, f"{DETAILS if v0 else SERVER}?{query}")
    assert ids(result) == expected
    assert not v0 or all(
        (e["display_index"], e["hide_for_guest"]) == (0, False) for e in result
    )


@pytest.mark.parametrize(("sim", "method", "path"), [
    *[("v0", "GET", path) for path in ("/", SERVER, f"{MONITOR}/")],
    *[("v0", method, LIST) for method in ("POST", "HEAD")],
    ("v0", "POST", f"{LIST}/"),
    # v1: LIST is the v0 route, gone; /service/:id is v1.x only.
    *[("v1", "GET", path) for path in ("/api/v1/nope", LIST, f"{SERVICE}/1")],
    *[("v1", method, SERVER) for method in ("POST", "HEAD")],
], indirect=["sim"])  # fmt: skip
async def test_unknown_routes_are_404(sim: Sim, method: str, path: str) -> None:
    reply = await fetch(sim, path, method=method)
    v0 = sim.generation == "v0"
    content_type = HTML_CT if v0 else JSON_CT
    assert (reply.status, reply.headers["Content-Type"]) == (404, content_type)
    if method != "HEAD":  # v0: gin's HTML page; v1: a JSON error
        page = "该页面不存在" in reply.body.decode()
        assert page if v0 else reply.body == NOT_FOUND


@pytest.mark.parametrize(("sim", "path", "location"), [
    ("v0", f"{DETAILS}/?id=1", f"{DETAILS}?id=1"),
    ("v0", f"{MONITOR}/1/", f"{MONITOR}/1"),
    ("v0", f"{LIST}/", LIST),
    ("v1", f"{SERVER}/?id=1", f"{SERVER}?id=1"),
    ("v1", f"{SERVER}/2/service/", f"{SERVER}/2/service"),
], indirect=["sim"])  # fmt: skip
async def test_trailing_slash_redirects(sim: Sim, path: str, location: str) -> None:
    reply = await fetch(sim, path)
    assert (reply.status, reply.headers["Location"]) == (301, location)
    followed = await fetch(sim, path, allow_redirects=True)
    assert followed.payload


def _cli(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(  # noqa: S603 (fixed argv, our own interpreter)
        [sys.executable, "-m", "nezha_dev.simulator", *args],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )  # fmt: skip


@pytest.mark.parametrize(("args", "code", "needle"), [
    (("--help",), 0, b"--port"),
    (("--version", "2.0.5"), 2, b"error"),  # needs --api v1
    (("--api", "v1", "--token", "A" * 32), 2, b"error"),  # not a PAT
    (("--api", "v1", "--version", "0.20.5"), 2, b"error"),  # a v0 dashboard
])  # fmt: skip
def test_cli_help_and_bad_combinations(
    args: tuple[str, ...], code: int, needle: bytes
) -> None:
    proc = _cli(*args)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code and needle in (out if code == 0 else err)
    assert code or b"--token" in out


@pytest.mark.parametrize(("args", "token", "shown"), [
    ((), V0_TOKEN, "Nezha v0 simulator"),
    ((), None, "Nezha v0 simulator"),  # a generated token
    (("--api", "v1", "--version", "2.1.2"), None, "Nezha v1 (dashboard 2.1.2)"),
])  # fmt: skip
def test_cli_serves_until_terminated(
    args: tuple[str, ...], token: str | None, shown: str
) -> None:
    v0 = "--api" not in args
    proc = _cli(*args, "--port", "0", "--servers", "3",
                *(["--token", token] if token else []))  # fmt: skip
    assert proc.stdout is not None
    output = b""
    deadline = time.monotonic() + 60
    try:
        # Raw reads: a buffered readline() would hide lines from select().
        while b"\nToken:" not in output or not output.endswith(b"\n"):
            assert time.monotonic() < deadline and proc.poll() is None, output
            if select.select([proc.stdout], [], [], 1)[0]:
                output += os.read(proc.stdout.fileno(), 4096)
        text = output.decode()
        assert shown in text
        url = re.search(r"http://127\.0\.0\.1:\d+", text)
        printed = re.search(r"^Token: (\S+)$", text, re.MULTILINE)
        assert url is not None and printed is not None
        token = printed.group(1) if token is None else token
        assert printed.group(1) == token
        assert re.fullmatch("[0-9A-Za-z]{32}" if v0 else "nzp_[0-9A-Za-z]{32}", token)
        request = urllib.request.Request(  # noqa: S310 (http URL we just parsed)
            url.group() + (LIST if v0 else SERVER),
            headers={"Authorization": token if v0 else f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            body = json.loads(resp.read())
        assert len(body["result"]) == 3 if v0 else ids(body["data"]) == [2, 3, 1]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and b"stopped" in out


# ======================================================== the v1/v2 API


async def test_envelope_setting_pages_and_exact_bearer_pats(sim1: Sim) -> None:
    reply = await fetch(sim1, SETTING, token=None)
    assert (reply.status, reply.headers["Content-Type"]) == (200, JSON_CT)
    assert reply.body == (
        b'{"success":true,"data":{"config":{"language":"en-US","site_name":"Nezha",'
        b'"ip_change_notification_group_id":0,"cover":0},"tsdb_enabled":true}}'
    )
    # A bad PAT is not even parsed here: no 401, no strike.
    assert (await fetch(sim1, SETTING, token=generate_pat())).status == 200
    assert sim1.waf_strikes() == 0
    assert (await fetch(sim1, "/", token=None)).status == 200  # SPA index
    assert (await fetch(sim1, "/server/3", token=None)).status == 200
    page = await fetch(sim1, "/nowhere", token=None)
    assert (page.status, page.headers["Content-Type"]) == (404, HTML_CT)
    assert b'<div id="root">' in page.body
    # Anything but "Bearer nzp_…" goes to JWT handling: HTTP 200, no strike.
    headers = [f"{scheme}{V1_TOKEN}" for scheme in ("", "bearer ", "Token ")]
    for header in [*headers, "Bearer eyJ.x.y", ""]:
        reply = await fetch(sim1, SERVER, None, headers={"Authorization": header})
        assert (reply.status, reply.body) == (200, UNAUTHORIZED)
        assert reply.headers["WWW-Authenticate"] == "JWT realm=Nezha"
    assert (await fetch(sim1, SERVER, token=None)).status == 200
    assert sim1.waf_strikes() == 0
    # Optional routes fall back to the guest view for such headers.
    reply = await fetch(sim1, GROUPS, None, headers={"Authorization": V1_TOKEN})
    assert [g["group"]["name"] for g in reply.payload] == ["Production", "Lab"]
    sim1.v1.language, sim1.v1.site_name, sim1.v1.tsdb_enabled = "zh-CN", "哪吒", False
    config = await get(sim1, SETTING)
    assert config["config"]["site_name"] == "哪吒" and config["tsdb_enabled"] is False
    reply = await fetch(sim1, GROUPS, token=generate_pat())
    assert (reply.status, reply.headers["Content-Type"]) == (401, JSON_CT)
    assert reply.body == b'{"error":"ApiErrorUnauthorized: invalid api token"}'
    assert sim1.waf_strikes() == 1 and sim1.waf_blocked()
    async with make("v1", version="1.4.2") as old:  # HTTP 200 before v1.5.0
        assert await answer(old, "/api/v1/nope") == (200, {"error": "404 Not Found"})


@pytest.mark.parametrize(("version", "data"), [
    ("2.0.5", {"config": {}, "tsdb_enabled": True}),  # PATs came with 2.1
    ("1.14.14", {"config": {}}),
    ("1.0.3", {}),  # v1.0.x: the flat config object
])  # fmt: skip
async def test_pre_2_1_setting_no_pats(version: str, data: dict[str, Any]) -> None:
    """Before 2.1 a PAT is a bad JWT: HTTP 200, the guest view, no strike."""
    async with make("v1", version=version) as sim1:
        got = await get(sim1, SETTING, token=None)
        assert await raw(sim1, SERVER) == (200, UNAUTHORIZED)
        groups = await get(sim1, GROUPS)
        assert [g["servers"] for g in groups] == [[1, 2, 5, 6], [7]]  # guest
        assert sim1.waf_strikes() == 0
    config = {"language": "en-US", "site_name": "Nezha"}
    config |= {"ip_change_notification_group_id": 0, "cover": 0}
    assert got == ({**data, "config": config} if "config" in data else config)


async def test_constructor_validation() -> None:
    for kwargs, match in [
        ({"generation": "v3"}, "generation"),
        ({"generation": "v1", "version": "3.0.0"}, "version"),
        ({"version": "2.3.7"}, "only apply"),
        ({"generation": "v1", "token": "A" * 32}, "nzp_"),
    ]:
        with pytest.raises(ValueError, match=match):
            Sim(**kwargs)
    sim1 = Sim(generation="v2", version="v2.0.5")
    assert sim1.version == "2.0.5" and sim1.generation == "v2"
    assert re.fullmatch(r"nzp_[0-9A-Za-z]{32}", sim1.token or "")
    with pytest.raises(RuntimeError, match="v1"):
        Sim().add_token()
    async with Sim(servers=1, token="t" * 32) as sim0:  # v0 by default
        assert sim0.version is None and sim0.generation == "v0"
        assert (await fetch(sim0, LIST, token="t" * 32)).json()["code"] == 0
        assert (await fetch(sim0, SETTING, token=None)).status == 404


@pytest.mark.parametrize(("scopes", "request_line", "missing"), [
    (("nezha:service:read",), f"GET {SERVER}", "nezha:inventory:read"),
    (("nezha:service:read",), f"GET {GROUPS}", "nezha:inventory:read"),
    (("nezha:inventory:read",), f"GET {SERVICE}", "nezha:service:read"),
    (("nezha:server:*",), f"GET {SERVER}/1/service", "nezha:service:read"),
    ((), f"GET {SERVICE}/server", "nezha:service:read"),
    (("nezha:inventory:*",), f"GET {SERVER}", None),
    (("nezha:*",), f"GET {SERVICE}", None),
    (("nezha:service:read",), f"GET {SETTING}", None),  # PAT ignored
    (("nezha:cron:read",), f"POST {CRON}/1/manual", "nezha:cron:exec"),
    (("nezha:cron:exec",), f"GET {CRON}", "nezha:cron:read"),
    (("nezha:cron:read",), f"GET {CRON}", None),
    (("nezha:cron:*",), f"POST {CRON}/1/manual", None),
])  # fmt: skip
async def test_scopes(
    sim1: Sim, scopes: tuple[str, ...], request_line: str, missing: str | None
) -> None:
    task = sim1.add_cron("Backup")
    method, path = request_line.split()
    reply = await fetch(sim1, path, sim1.add_token(scopes=scopes), method=method)
    if missing is None:
        assert (reply.status, reply.json()["success"]) == (200, True)
    else:
        lacks = {"error": f"ApiErrorForbidden: api token lacks scope {missing}"}
        assert (reply.status, reply.json()) == (403, lacks)
    assert sim1.waf_strikes() == 0  # a scope failure is no strike
    ran = missing is None and method == "POST"
    assert sim1.cron_runs == ([task] if ran else [])


async def test_inventory_scope_split_in_2_1_2() -> None:
    async with make("v1", version="2.1.0", scopes=["nezha:inventory:read"]) as sim1:
        reply = await fetch(sim1, SERVER)
        assert reply.json()["error"].endswith("lacks scope nezha:server:read")
        other = sim1.add_token(scopes=["nezha:server:read"])
        assert (await fetch(sim1, SERVER, token=other)).status == 200


async def test_v1_server_list_controls_tokens_and_waf(
    frozen1: Sim, freezer: FrozenDateTimeFactory
) -> None:
    reply = await fetch(frozen1, SERVER)
    servers = by_id(reply.payload)
    assert list(servers) == V1_ORDER
    gpu = servers[3]
    assert list(gpu) == [
        "id", "created_at", "updated_at", "name", "uuid", "note", "public_note",
        "display_index", "hide_for_guest", "host", "state", "geoip", "last_active",
        "owner"
    ]  # fmt: skip
    assert gpu["note"] == "lab machine <GPU> & co"
    assert b"lab machine \\u003cGPU\\u003e \\u0026 co" in reply.body  # Go escapes
    assert "virtualization" not in gpu["host"]  # "" omitted
    assert gpu["host"]["gpu"] == ["NVIDIA GeForce RTX 3060"]
    assert gpu["host"]["version"] == "1.14.1" and gpu["host"]["platform_version"]
    assert isinstance(gpu["state"]["gpu"], list) and len(gpu["state"]["gpu"]) == 1
    temperatures = gpu["state"]["temperatures"]
    assert [set(t) for t in temperatures] == [{"Name", "Temperature"}] * 3
    assert gpu["geoip"] == {"ip": {"ipv6_addr": "2001:db8:1::3"}, "country_code": "de"}
    # A server registered with the global agent secret has no owner (real v2.3.7).
    assert gpu["owner"] == {"id": 0}
    hk = servers[1]
    assert hk["display_index"] == 0  # not omitempty in /server
    assert "hide_for_guest" not in hk and "note" not in hk
    assert json.loads(hk["public_note"])["billingDataMod"]["amount"] == "$5"
    dual = {"ipv4_addr": "203.0.113.10", "ipv6_addr": "2001:db8::10"}
    assert hk["geoip"]["ip"] == dual
    assert "temperatures" not in hk["state"] and "gpu" not in hk["state"]
    assert not {"load_1", "load_5", "load_15"} & set(servers[5]["state"])  # Windows
    assert servers[7]["geoip"]["ip"] == {"ipv6_addr": "2001:db8:3::4"}  # "/v6"
    for element in servers.values():
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?\+08:00", element["last_active"]
        )
        moment = datetime.fromisoformat(element["last_active"])
        assert 0 <= frozen1.now() - moment.timestamp() < 2
        assert all(value != 0 for value in element["state"].values())
    assert (await fetch(frozen1, SERVER)).body == reply.body
    # v1 resets last_active on disconnect but keeps the last state.
    frozen1.set_online(1, False)
    frozen1.set_never_reported(4)
    freezer.tick(600)
    after = by_id(await get(frozen1, SERVER))
    assert after[1]["last_active"] == ZERO
    assert after[1]["state"] == servers[1]["state"]
    assert after[1]["host"] == servers[1]["host"] and after[1]["geoip"]
    assert after[4]["host"] == {} and after[4]["state"] == {}
    assert after[4]["geoip"] == {"ip": {}} and after[4]["last_active"] == ZERO
    frozen1.set_online(1, True)
    (back,) = await get(frozen1, f"{SERVER}?id=1")
    assert back["last_active"] != ZERO and back["state"] != servers[1]["state"]
    sid = frozen1.add_server("new-box", "Edge", display_index=3, hide_for_guest=True)
    (element,) = await get(frozen1, f"{SERVER}?id={sid}")
    assert element["created_at"] == go_time(math.floor(frozen1.now() * 1e6) * 1000)
    assert element["hide_for_guest"] is True and element["display_index"] == 3
    groups = await get(frozen1, GROUPS)
    assert groups[-1]["group"]["name"] == "Edge" and groups[-1]["servers"] == [sid]
    frozen1.set_malformed(2, "state.cpu", "oops")
    frozen1.set_malformed(2, "host", MISSING)
    frozen1.set_malformed(2, "owner.username", None)
    (two,) = await get(frozen1, f"{SERVER}?id=2")
    assert two["state"]["cpu"] == "oops" and "host" not in two
    assert two["owner"] == {"id": 0, "username": None}
    assert (await get(frozen1, f"{SERVER}?id=3"))[0]["owner"] == {"id": 0}  # unshared
    # Expired, revoked and replaced tokens; the WAF blocks and forgives.
    short = frozen1.add_token(expires_in=60)
    assert (await fetch(frozen1, SERVER, token=short)).status == 200
    frozen1.shift_clock(60)  # still valid at the exact expiry instant
    assert (await fetch(frozen1, SERVER, token=short)).status == 200
    frozen1.shift_clock(1)
    expired = {"error": "ApiErrorUnauthorized: api token expired"}
    assert await answer(frozen1, SERVER, token=short) == (401, expired)
    assert frozen1.waf_strikes() == 1
    frozen1.clear_waf()
    frozen1.revoke_token()  # the main token
    assert frozen1.token is None and frozen1.get_token(V1_TOKEN) is None
    invalid = {"error": "ApiErrorUnauthorized: invalid api token"}
    assert await answer(frozen1, SERVER, token=V1_TOKEN) == (401, invalid)
    frozen1.clear_waf()
    frozen1.set_token("nzp_" + "Z" * 32)  # a new main token with the same scopes
    assert (await fetch(frozen1, SERVER, token=frozen1.token)).status == 200
    await fetch(frozen1, SERVER, token=generate_pat())
    blocked = await fetch(frozen1, SERVER, token=frozen1.token)  # even a valid token
    assert blocked.blocked
    assert blocked.body.decode().count("<h1>Blocked</h1>") == 1
    frozen1.shift_clock(3)
    assert (await fetch(frozen1, SERVER, token=frozen1.token)).status == 200
    assert frozen1.waf_strikes() == 0  # the valid PAT cleared the token strikes
    frozen1.add_waf_strike(identifier=BLOCK_ID_UNKNOWN_USER)  # a failed login
    frozen1.add_waf_strike()  # a bad token
    assert frozen1.waf_strikes() == 2
    frozen1.shift_clock(16)
    assert (await fetch(frozen1, SERVICE, token=frozen1.token)).status == 200
    assert frozen1.waf_strikes() == 1  # the login strike stays
    frozen1.shift_clock(3)
    await fetch(frozen1, SERVICE, token=None)  # a guest clears nothing
    assert frozen1.waf_strikes() == 1
    frozen1.clear_waf()
    for n, seconds in [(1, 3), (2, 16), (3, 81), (4, 256)]:
        assert (await fetch(frozen1, SERVICE, token=generate_pat())).status == 401
        assert frozen1.waf_strikes() == n
        frozen1.shift_clock(seconds - 1)
        assert (await fetch(frozen1, SETTING, token=None)).blocked, n
        assert frozen1.waf_strikes() == n  # requests while blocked add no strike
        frozen1.shift_clock(1)
        assert (await fetch(frozen1, SETTING, token=None)).status == 200


async def test_guest_view_groups_allow_list_and_blocks(sim1: Sim) -> None:
    groups = await get(sim1, GROUPS, token=None)
    assert [g["servers"] for g in groups] == [[1, 2, 5, 6], [7]]  # 3 is hidden
    unauthorized = {"error": "unauthorized"}
    assert (await fetch(sim1, f"{SERVER}/3/service", None)).json() == unauthorized
    week = await fetch(sim1, f"{SERVER}/1/service?period=7d", token=None)
    assert week.json() == {"error": "unauthorized: only 1d data available for guests"}
    assert await get(sim1, f"{SERVER}/1/service?period=7d")
    assert sorted(await get(sim1, f"{SERVICE}/server")) == [1, 2, 3, 5, 6, 7]  # not 4
    assert sorted(await get(sim1, f"{SERVICE}/server", None)) == [1, 2, 5, 6, 7]
    sim1.force_auth = True
    for path in (GROUPS, SERVICE, f"{SERVER}/1/service"):
        assert await raw(sim1, path, token=None) == (200, UNAUTHORIZED)
        assert (await fetch(sim1, path)).status == 200
    assert await get(sim1, SETTING, token=None)
    sim1.force_auth = False
    assert await get(sim1, SERVICE, token=None)
    token = sim1.add_token(server_ids=[1, 3])
    assert ids(await get(sim1, SERVER, token)) == [3, 1]
    groups = await get(sim1, GROUPS, token)
    pairs = [(g["group"]["name"], g["servers"]) for g in groups]
    # Lab's hidden server 3: the admin's token may see it.
    assert pairs == [("Production", [1]), ("Lab", [3])]
    assert (await fetch(sim1, f"{SERVER}/2/service", token)).json() == unauthorized
    groups = await get(sim1, GROUPS)
    rows = [(g["group"]["id"], g["group"]["name"], g["servers"]) for g in groups]
    assert rows == [(1, "Production", [1, 2, 5, 6]), (2, "Lab", [3, 7])]
    assert list(groups[0]["group"]) == ["id", "created_at", "updated_at", "name"]
    sim1.remove_server(7)
    sim1.remove_server(3)
    sim1.add_server_group("Retired")
    reply = await fetch(sim1, GROUPS)
    assert b'"name":"Lab"},"servers":null}' in reply.body
    assert [g["servers"] for g in reply.payload] == [[1, 2, 5, 6], None, None]
    guest = await get(sim1, GROUPS, token=None)
    assert [g["group"]["name"] for g in guest] == ["Production"]
    # A manual block: the page on every path; the WAF off; the real IP header.
    sim1.block_ip()  # manual block from the Online Users page (99999)
    assert sim1.waf_strikes() == 99999
    for path in (SETTING, SERVER, "/api/v1/nope", "/", "/assets/app.js", WS):
        assert (await fetch(sim1, path, token=None)).blocked, path
    # gin redirects a trailing slash in the router, before any middleware.
    assert (await fetch(sim1, f"{SERVER}/")).status == 301
    sim1.clear_waf()
    assert (await fetch(sim1, SETTING)).status == 200
    sim1.waf_enabled = False
    for _ in range(3):
        assert (await fetch(sim1, SERVER, token=generate_pat())).status == 401
    assert sim1.waf_strikes() == 0 and not sim1.waf_blocked()
    sim1.waf_enabled = True
    assert sim1.real_ip_header == "NZ::Use-Peer-IP"
    sim1.real_ip_header = "X-Real-IP"
    no_header = {"error": "real ip header not found"}
    assert await answer(sim1, SETTING, token=None) == (200, no_header)
    behind_proxy = {"X-Real-IP": "198.51.100.7, 203.0.113.9"}  # the last hop counts
    reply = await fetch(sim1, SERVER, token="nzp_bad", headers=behind_proxy)
    assert reply.status == 401
    assert sim1.waf_strikes("203.0.113.9") == 1 and sim1.waf_strikes() == 0
    bad_ip = {"error": 'ParseAddr("nope"): unable to parse IP'}
    assert (await fetch(sim1, SERVER, headers={"X-Real-IP": "nope"})).json() == bad_ip


async def test_services_daily_arrays(freezer: FrozenDateTimeFactory) -> None:
    # 00:10 dashboard time (16:10 UTC): today has only 10 minutes of results.
    freezer.move_to("2026-08-16T16:10:00+00:00")
    async with make("v1") as sim1:
        data = await get(sim1, SERVICE)
        again = (await fetch(sim1, SERVICE)).body
    services = data["services"]
    assert list(services) == ["1", "2", "3", "4", "5"]  # HTTP monitor 1 included
    blog = services["1"]
    assert list(blog) == [
        "service_name", "current_up", "current_down", "total_up", "total_down",
        "delay", "up", "down"
    ]  # fmt: skip
    assert blog["service_name"] == "Blog HTTPS"
    for item in services.values():
        assert len(item["delay"]) == len(item["up"]) == len(item["down"]) == 30
        assert item["total_up"] == sum(item["up"])
        assert item["total_down"] == sum(item["down"])
        assert 1 <= item["current_up"] + item["current_down"] <= 30
    # Only server 1 runs monitor 1: 2880 results a day, 21 so far today.
    assert blog["up"][28] + blog["down"][28] == 2880
    assert blog["up"][29] + blog["down"][29] == 21
    mean = sum(blog["delay"]) / 30
    assert mean > 20 and all(abs(d - mean) < 0.1 * mean for d in blog["delay"])
    midnight = datetime.fromisoformat("2026-08-17T00:00:00+08:00").timestamp()
    assert local_midnight(sim1.now()) == midnight
    cycle = data["cycle_transfer_stats"]["1"]
    span = ("2026-08-01T00:00:00+08:00", "2026-09-01T00:00:00+08:00")
    assert (cycle["name"], cycle["from"], cycle["to"]) == ("Monthly 1 TiB", *span)
    assert list(cycle["server_name"]) == ["1", "2", "5", "6"]
    assert all(value > 0 for value in cycle["transfer"].values())
    assert json.loads(again)["data"] == data  # deterministic while frozen


@pytest.mark.freeze_time("2026-08-17T04:00:00+00:00")  # noon, far from midnight
async def test_service_down(frozen1: Sim) -> None:
    async def ping() -> dict[str, Any]:  # servers 1, 5 and 6 run service 2
        service: dict[str, Any] = (await get(frozen1, SERVICE))["services"]["2"]
        return service

    before = await ping()
    frozen1.set_service_down(2)
    now = await ping()
    assert now["current_down"] > now["current_up"] == 0
    assert now["down"][29] > before["down"][29]
    frozen1.shift_clock(300)
    later = await ping()
    assert later["down"][29] >= now["down"][29] + 3 * 9  # 3 agents, 10 slots
    assert later["up"][29] == now["up"][29]
    frozen1.set_service_down(2, False)
    frozen1.shift_clock(60)
    assert (await ping())["up"][29] > later["up"][29]
    with pytest.raises(KeyError):
        frozen1.set_service_down(99)


@pytest.mark.parametrize("version", ["2.3.7", "1.14.14"])
async def test_server_monitors_per_version(
    freezer: FrozenDateTimeFactory, version: str
) -> None:
    v2 = version.startswith("2")
    new, old = f"{SERVER}/1/service", f"{SERVICE}/1"
    async with make("v1", version=version) as sim1:
        assert await raw(sim1, old if v2 else new) == (404, NOT_FOUND)
        history = await get(sim1, new if v2 else old)
        assert [m["monitor_id"] for m in history] == [2, 5]
        keys = ["monitor_id", "server_id", "monitor_name", "server_name"]
        keys += ["display_index"] if v2 else []
        assert list(history[0]) == [*keys, "created_at", "avg_delay"]
        expected = sim1.fleet.ping_history(1)[0]
        assert history[0]["created_at"] == expected.created_at
        assert history[0]["avg_delay"] == expected.avg_delay
        prefix = f"{SERVER}/{{}}/service" if v2 else f"{SERVICE}/{{}}"
        for sid, error in [
            ("999", "server not found"),
            ("abc", 'strconv.ParseUint: parsing "abc": invalid syntax'),
            ("99999999999999999999", ("strconv.ParseUint: parsing "
             '"99999999999999999999": value out of range'))
        ]:  # fmt: skip
            assert await answer(sim1, prefix.format(sid)) == (200, {"error": error})
        if v2:
            error = "invalid period: 2d, expected 1d, 7d, or 30d"
            assert (await fetch(sim1, f"{new}?period=2d")).json() == {"error": error}


Open = Callable[..., Awaitable[ClientWebSocketResponse]]


@pytest.fixture
async def stream(sim1: Sim) -> AsyncIterator[Open]:
    """Opens streams of sim1 (a frame every 0.05 s); all hung up at the end."""
    sim1.ws_interval = 0.05
    sockets: list[ClientWebSocketResponse] = []
    async with ClientSession() as http:

        async def open_stream(token: str | None = V1_TOKEN, **kw: Any) -> Any:
            sockets.append(await connect(http, sim1, token, **kw))
            return sockets[-1]

        yield open_stream
        await hang_up(*sockets)


async def test_ws_frames_origin_plain_get_and_revoked_token(
    sim1: Sim, stream: Open
) -> None:
    ws = await stream()
    started = time.monotonic()
    first, second, *rest = await frames(ws, 6)
    assert time.monotonic() - started < 3  # every 0.05 s, not every 2 s
    assert sim1.ws_connections == 1
    assert set(first) == {"now", "online", "servers"} and first["online"] == 1
    assert first["now"] % 1000 == 0 and abs(first["now"] / 1000 - sim1.now()) < 2
    assert ids(first["servers"]) == V1_ORDER  # admin PAT: hidden 3 included
    servers = by_id(first["servers"])
    assert list(servers[1]) == [
        "id", "name", "public_note", "host", "state", "country_code", "last_active"
    ]  # fmt: skip
    assert "display_index" not in servers[1]  # omitempty in the stream
    assert servers[2]["display_index"] == 10
    assert servers[1]["host"]["version"] == "1.14.1"  # the admin sees everything
    for frame in (second, *rest):
        assert all("public_note" not in s for s in frame["servers"])
    assert [r.kind for r in sim1.requests] == ["ws"]
    await stream(headers={"Origin": "HTTP://" + sim1.url[7:].upper()})  # same host
    reply = await fetch(sim1, WS)  # not an upgrade request
    assert (reply.status, reply.body) == (400, b"Bad Request\n")
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert [r.kind for r in sim1.requests] == ["ws", "ws", "http"]
    other = sim1.add_token(server_ids=[1])
    mine, main = await stream(token=other), await stream()
    (frame,) = await frames(mine, 1)
    assert ids(frame["servers"]) == [1]  # allow-list applies
    sim1.revoke_token(other)
    await until_closed(mine)
    assert len(await frames(main, 2)) == 2  # other streams go on
    assert sim1.ws_connections == 3  # the first two streams and main


async def test_ws_guest_view(sim1: Sim, stream: Open) -> None:
    sim1.set_never_reported(4)
    await stream()
    (frame,) = await frames(guest := await stream(token=None), 1)
    assert frame["online"] == 2
    servers = by_id(frame["servers"])
    assert list(servers) == [2, 5, 1, 4, 6, 7]  # hidden server 3 absent
    for server in servers.values():
        assert not {"platform_version", "version"} & set(server["host"])
        assert "geoip" not in server and "ip" not in json.dumps(server["host"])
    assert servers[1]["country_code"] == "hk"
    assert servers[4] == {"id": 4, "name": "nas", "host": {}, "state": {},
                          "public_note": sim1.fleet.servers[4].public_note,
                          "last_active": ZERO}  # fmt: skip
    for sid in set(sim1.fleet.servers) - {3}:
        sim1.remove_server(sid)
    while "servers" in (frame := (await frames(guest, 1))[0]):
        pass
    assert set(frame) == {"now", "online"}  # "servers" omitted when empty


@pytest.mark.parametrize(("setup", "token", "headers", "status"), [
    (None, "nzp_unknown", {}, 401),
    (lambda sim: sim.add_token(scopes=["nezha:service:read"]), "SCOPED", {}, 403),
    (lambda sim: setattr(sim, "force_auth", True), None, {}, 200),
    (lambda sim: sim.block_ip(), V1_TOKEN, {}, 403),
    (lambda sim: sim.inject_fault(Fault.HTML_502, path=WS), V1_TOKEN, {}, 502),
    (lambda sim: sim.inject_fault(Fault.TRUNCATED_JSON), V1_TOKEN, {}, 200),
    (None, V1_TOKEN, {"Origin": "http://evil.example"}, 403),
], ids=["unknown", "scope", "force", "block", "fault", "truncated",
        "origin"])  # fmt: skip
async def test_ws_handshake_failures_are_http(
    sim1: Sim, setup: Callable[[Sim], Any] | None, token: Any, headers: Any, status: int
) -> None:
    made = setup(sim1) if setup else None
    token = made if token == "SCOPED" else token
    assert await handshake_status(sim1, token, headers=headers) == status
    assert sim1.ws_connections == 0
    assert [r.kind for r in sim1.requests] == ["ws"]


async def test_ws_drop_pause_close_malformed_and_pings(sim1: Sim, stream: Open) -> None:
    await frames(ws := await stream(), 1)
    sim1.pause_ws(True)
    await asyncio.sleep(0.1)  # a frame may have been in flight
    with contextlib.suppress(TimeoutError):  # drain, then expect silence
        while True:
            await receive(ws, limit=0.4)
    assert not ws.closed and sim1.ws_connections == 1
    sim1.pause_ws(False)
    assert len(await frames(ws, 1)) == 1
    assert await sim1.drop_websockets() == 1
    await until_closed(ws)
    assert sim1.ws_connections == 0
    await frames(ws := await stream(), 1)
    await hang_up(ws)  # a client that goes away is noticed and forgotten
    await until(lambda: sim1.ws_connections == 0, "the hang-up to be noticed", 5)
    await frames(ws := await stream(), 1)
    closing = asyncio.ensure_future(ws.close())
    done, _ = await asyncio.wait({closing}, timeout=0.6)
    assert not done  # each frame read restarts aiohttp's ws_close timeout
    sim1.pause_ws(True)  # silence: now the client's 0.2 s close timeout can expire
    assert await asyncio.wait_for(closing, 3) is True
    assert ws.close_code == 1006  # abnormal closure: no close frame came back
    # A frame that cannot be marshalled is skipped; a ping every 4th frame, no pong.
    sim1.pause_ws(False)
    sim1.set_malformed(1, "state.cpu", float("nan"))  # Go cannot marshal NaN
    ws = await stream()
    with pytest.raises(TimeoutError):
        await receive(ws, limit=0.3)
    sim1.set_malformed(1, "state", MISSING)
    (frame,) = await frames(ws, 1)
    one = by_id(frame["servers"])[1]
    assert "state" not in one and "public_note" in one  # still the first frame
    ws = await stream(autoping=False)
    await ws.ping(b"hello")  # the server never reads, so never answers
    kinds = [(await receive(ws)).type for _ in range(10)]
    text, ping = WSMsgType.TEXT, WSMsgType.PING
    assert kinds == [text, text, text, text, ping, text, text, text, text, ping]


async def test_v1_admin_api(sim1: Sim) -> None:
    body = {"scopes": ["nezha:service:read"], "server_ids": [1]}
    created = await admin(sim1, "POST", "/_sim/tokens", body)
    assert created.status == 201
    token = created.json()["token"]
    assert sim1.get_token(token) is not None
    assert (await admin(sim1, "POST", "/_sim/tokens", {"scopes": "x"})).status == 400
    assert (await admin(sim1, "DELETE", f"/_sim/tokens/{token}")).status == 200
    assert sim1.get_token(token) is None
    assert (await admin(sim1, "DELETE", f"/_sim/tokens/{token}")).status == 404
    assert (await admin(sim1, "POST", "/_sim/waf/block", {})).status == 200
    assert sim1.waf_blocked()
    state = (await admin(sim1, "GET", "/_sim/state")).json()
    assert state["generation"] == "v1" and state["v1"]["version"] == "2.3.7"
    assert state["token"] == V1_TOKEN and state["v1"]["waf"][0]["count"] == 99999
    assert (await admin(sim1, "DELETE", "/_sim/waf")).status == 200
    assert not sim1.waf_blocked()
    down = await admin(sim1, "POST", "/_sim/services/2/down", {"down": True})
    assert down.status == 200
    state = (await admin(sim1, "GET", "/_sim/state")).json()
    assert state["v1"]["services_down"] == [2]
    assert (await admin(sim1, "POST", "/_sim/services/9/down", {})).status == 404
    ws = await admin(sim1, "POST", "/_sim/ws", {"interval": 0.5, "paused": True})
    assert ws.json()["ws_interval"] == 0.5 and ws.json()["ws_paused"] is True
    assert (await admin(sim1, "POST", "/_sim/ws", {"interval": 0})).status == 400
    dropped = await admin(sim1, "POST", "/_sim/ws", {"drop": True})
    assert dropped.json()["dropped"] == 0
    forced = await admin(sim1, "POST", "/_sim/force_auth", {"enabled": True})
    assert forced.json() == {"force_auth": True} and sim1.force_auth
    assert (await admin(sim1, "POST", "/_sim/token", {"token": "plain"})).status == 400
    rotated = await admin(sim1, "POST", "/_sim/token", {"token": "nzp_" + "R" * 32})
    assert rotated.json() == {"token": "nzp_" + "R" * 32}
    assert sim1.get_token(V1_TOKEN) is None
    assert sim1.requests == []  # admin traffic is never recorded


@pytest.fixture
async def crons() -> AsyncIterator[Sim]:
    """Three servers; the main token may list and run tasks."""
    scopes = ("nezha:inventory:read", "nezha:cron:read", "nezha:cron:exec")
    async with make("v1", servers=3, scopes=scopes) as simulator:
        yield simulator


async def run(sim: Sim, cron: int | str, token: str | None = OWN) -> tuple[int, Any]:
    """``POST /cron/:id/manual``: the status and the JSON answer."""
    return await answer(sim, f"{CRON}/{cron}/manual", token, method="POST")


async def test_cron_list_shape_order_and_manual_trigger(crons: Sim) -> None:
    """``model.Cron`` with omitempty; a manual run has no data; bad ids refused."""
    backup = crons.add_cron("Backup", servers=[1, 2], command="tar czf /b.tgz /srv")
    alert = crons.add_cron("Restart on alert", task_type=1, cover=2)
    first, second = await get(crons, CRON)
    assert (first["id"], second["id"]) == (backup, alert)
    assert (first["name"], first["scheduler"]) == ("Backup", "0 0 3 * * *")
    assert (first["command"], first["servers"]) == ("tar czf /b.tgz /srv", [1, 2])
    assert (first["cover"], first["cron_job_id"]) == (0, 1)
    assert first["last_executed_at"] == ZERO
    assert "last_result" not in first and "push_successful" not in first
    # A trigger task has no schedule or job id.
    assert (second["task_type"], second["cover"], second["scheduler"]) == (1, 2, "")
    assert "cron_job_id" not in second and "command" not in second
    assert await run(crons, backup) == (200, SUCCESS)
    assert crons.cron_runs == [backup]
    (task, _) = await get(crons, CRON)
    assert task["last_executed_at"] != ZERO and task["last_result"] is True
    # Cover 2 needs an alerting server: a manual trigger succeeds but runs nothing.
    assert await run(crons, alert) == (200, SUCCESS)
    for text, error in [
        ("0", "task id 0 does not exist"),
        ("x", 'strconv.ParseUint: parsing "x": invalid syntax'),
    ]:
        assert await run(crons, text) == (200, {"error": error})
    # POST only (the CSRF fix)
    assert await raw(crons, f"{CRON}/{backup}/manual") == (404, NOT_FOUND)
    assert crons.cron_runs == [backup]
    with pytest.raises(ValueError, match="scheduled task"):
        crons.add_cron("Nonsense", task_type=0, cover=2)


async def test_cron_admin_api_and_server_allow_list(crons: Sim) -> None:
    """``POST /_sim/crons`` creates tasks; bad bodies are refused; allow-lists."""
    demo = {"name": "Demo", "servers": [1]}
    created = await admin(crons, "POST", "/_sim/crons", demo)
    assert created.status == 201
    for bad in (
        {"servers": [1]},
        {"name": "x", "servers": "1"},
        {"name": "x", "cover": "1"},
        {"name": "x", "cover": 2},
    ):
        assert (await admin(crons, "POST", "/_sim/crons", bad)).status == 400, bad
    state = (await admin(crons, "GET", "/_sim/state")).json()
    assert ids(state["v1"]["crons"]) == [created.json()["id"]]
    crons.remove_cron(created.json()["id"])
    assert await answer(crons, CRON) == (200, SUCCESS)
    # A limited token sees and runs only tasks that stay within its servers.
    inside = crons.add_cron("Only 1", servers=[1])
    outside = crons.add_cron("Only 3", servers=[3])
    all_but_3 = crons.add_cron("All but 3", servers=[3], cover=1)
    everywhere = crons.add_cron("Everywhere", cover=1)
    scopes = ["nezha:cron:read", "nezha:cron:exec"]
    limited = crons.add_token(scopes=scopes, server_ids=[1, 2])
    assert ids(await get(crons, CRON, limited)) == [inside, all_but_3]
    for task in (outside, everywhere):
        assert await run(crons, task, limited) == (200, {"error": "permission denied"})
    assert await run(crons, inside, limited) == (200, SUCCESS)
    assert crons.cron_runs == [inside]
