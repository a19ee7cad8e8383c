"""Tests of the simulated Nezha v0 dashboard (tests/simulator), over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
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

from aiohttp import ClientError, ClientSession, ClientTimeout
from freezegun.api import FrozenDateTimeFactory
from hypothesis import given, settings, strategies as st
import pytest

from tests.simulator import MISSING, ZERO_TIME_UNIX, Fault, NezhaSimulator
from tests.simulator.encoding import go_json
from tests.simulator.metrics import MAX_DELAY, PingProfile, ping_delay
from tests.simulator.v0 import MAX_UINT64, go_parse_uint, split_ip

TOKEN = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
AUTH_FAIL = '{"code":403,"message":"访问此接口需要认证"}'.encode()
JSON_CT = "application/json; charset=utf-8"
REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("socket_enabled")


class Reply:
    """What a test needs from one HTTP exchange."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def result(self) -> Any:
        data = self.json()
        assert data["code"] == 0, data
        return data["result"]


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


@pytest.fixture
async def sim() -> AsyncIterator[NezhaSimulator]:
    async with NezhaSimulator(servers=7, token=TOKEN, seed=7) as simulator:
        yield simulator


@pytest.fixture
async def frozen(freezer: FrozenDateTimeFactory) -> AsyncIterator[NezhaSimulator]:
    """A simulator created while time is frozen."""
    async with NezhaSimulator(servers=7, token=TOKEN, seed=7) as simulator:
        yield simulator


async def fetch(
    http: ClientSession,
    sim: NezhaSimulator,
    path: str,
    token: str | None = TOKEN,
    method: str = "GET",
    **kwargs: Any,
) -> Reply:
    headers = {} if token is None else {"Authorization": token}
    kwargs.setdefault("allow_redirects", False)
    async with http.request(method, sim.url + path, headers=headers, **kwargs) as resp:
        return Reply(resp.status, dict(resp.headers), await resp.read())


def by_id(elements: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {e["id"]: e for e in elements}


# -- auth ----------------------------------------------------------------------------


async def test_raw_token_authenticates(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    reply = await fetch(http, sim, "/api/v1/server/list")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == JSON_CT
    assert sorted(e["id"] for e in reply.result) == list(range(1, 8))


@pytest.mark.parametrize("path", ["/api/v1/server/list", "/api/v1/server/details?id=1"])
@pytest.mark.parametrize("token", [None, "", f"Bearer {TOKEN}", TOKEN.lower(), "nope"])
async def test_bad_token_is_http_200_code_403(
    http: ClientSession, sim: NezhaSimulator, path: str, token: str | None
) -> None:
    reply = await fetch(http, sim, path, token=token)
    assert (reply.status, reply.headers["Content-Type"]) == (200, JSON_CT)
    assert reply.body == AUTH_FAIL  # raw UTF-8, not \u-escaped


async def test_set_and_revoke_token(http: ClientSession, sim: NezhaSimulator) -> None:
    sim.set_token("new-token")
    assert (await fetch(http, sim, "/api/v1/server/list")).body == AUTH_FAIL
    assert (await fetch(http, sim, "/api/v1/server/list", token="new-token")).result
    sim.revoke_token()
    assert sim.token is None
    assert (
        await fetch(http, sim, "/api/v1/server/list", token="new-token")
    ).body == AUTH_FAIL


# -- /server/list and /server/details -------------------------------------------------


async def test_list_shape_tags_and_ips(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    servers = by_id((await fetch(http, sim, "/api/v1/server/list")).result)
    assert list(servers[1]) == [
        "id", "name", "tag", "last_active", "ipv4", "ipv6", "valid_ip",
        "display_index", "hide_for_guest",
    ]  # fmt: skip
    assert {(s["display_index"], s["hide_for_guest"]) for s in servers.values()} == {
        (0, False)
    }
    ips = {sid: (s["ipv4"], s["ipv6"], s["valid_ip"]) for sid, s in servers.items()}
    assert ips[1] == ("203.0.113.10", "2001:db8::10", "203.0.113.10")  # dual stack
    assert ips[2] == ("198.51.100.22", "", "198.51.100.22")  # v4 only
    assert ips[3] == ("", "2001:db8:1::3", "2001:db8:1::3")  # v6 only
    assert ips[7] == ("", "2001:db8:3::4", "")  # "/v6": v4 part wins even if empty
    assert servers[5]["name"] == "东京-web-03"
    assert "东京".encode() in (await fetch(http, sim, "/api/v1/server/list")).body
    lab = (await fetch(http, sim, "/api/v1/server/list?tag=Lab")).result
    assert [s["id"] for s in lab] == [3, 7]  # tag order = creation order
    assert (await fetch(http, sim, "/api/v1/server/list?tag=nope")).result == []


async def test_details_without_params_random_order_and_filled(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    orders = set()
    for _ in range(8):
        result = (await fetch(http, sim, "/api/v1/server/details")).result
        orders.add(tuple(e["id"] for e in result))
    assert len(orders) > 1
    assert all(sorted(order) == list(range(1, 8)) for order in orders)
    servers = by_id(result)
    assert (servers[2]["display_index"], servers[3]["display_index"]) == (10, 5)
    assert servers[3]["hide_for_guest"] is True
    element = servers[3]
    assert list(element)[-2:] == ["host", "status"]
    assert list(element["host"]) == [
        "Platform", "PlatformVersion", "CPU", "MemTotal", "DiskTotal", "SwapTotal",
        "Arch", "Virtualization", "BootTime", "CountryCode", "Version", "GPU",
    ]  # fmt: skip
    assert list(element["status"]) == [
        "CPU", "MemUsed", "SwapUsed", "DiskUsed", "NetInTransfer", "NetOutTransfer",
        "NetInSpeed", "NetOutSpeed", "Uptime", "Load1", "Load5", "Load15",
        "TcpConnCount", "UdpConnCount", "ProcessCount", "Temperatures", "GPU",
    ]  # fmt: skip
    assert element["host"]["GPU"] == ["NVIDIA GeForce RTX 3060"]
    assert isinstance(element["status"]["GPU"], (int, float))
    assert len(element["status"]["Temperatures"]) >= 2
    assert set(element["status"]["Temperatures"][0]) == {"Name", "Temperature"}
    assert servers[1]["status"]["Temperatures"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("id=1&tag=Lab", [3, 7]),  # tag wins over id
        ("id=3,abc,1,3,999", [3, 1, 3]),  # order kept, dupes echoed, junk dropped
        ("id=abc", []),  # becomes [0]: matches nothing (not "all")
        ("id=-1,+2, 3", []),
        ("id=99999999999999999999999", []),
        ("tag=nope&id=1", []),
    ],
)
async def test_details_selection(
    http: ClientSession, sim: NezhaSimulator, query: str, expected: list[int]
) -> None:
    result = (await fetch(http, sim, f"/api/v1/server/details?{query}")).result
    assert [e["id"] for e in result] == expected
    assert all((e["display_index"], e["hide_for_guest"]) == (0, False) for e in result)


async def test_never_reported_server(http: ClientSession, sim: NezhaSimulator) -> None:
    sim.set_never_reported(4)
    sid = sim.add_server("fresh", "Lab", never_reported=True)
    reply = await fetch(http, sim, f"/api/v1/server/details?id=4,{sid}")
    assert b'"last_active":-62135596800' in reply.body
    for element in reply.result:
        assert element["last_active"] == ZERO_TIME_UNIX
        assert (element["ipv4"], element["ipv6"], element["valid_ip"]) == ("", "", "")
        assert element["host"] == {
            "Platform": "", "PlatformVersion": "", "CPU": None, "MemTotal": 0,
            "DiskTotal": 0, "SwapTotal": 0, "Arch": "", "Virtualization": "",
            "BootTime": 0, "CountryCode": "", "Version": "", "GPU": None,
        }  # fmt: skip
        status = element["status"]
        assert status["Temperatures"] is None
        assert all(v == 0 for k, v in status.items() if k != "Temperatures")
    assert b'"status":{"CPU":0,"MemUsed":0' in reply.body  # Go prints 0, not 0.0
    sim.set_online(4, True)
    element = (await fetch(http, sim, "/api/v1/server/details?id=4")).result[0]
    assert element["last_active"] > 0 and element["host"]["Platform"] == "debian"


# -- /monitor/:id ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sid", "token", "expected"),
    [
        ("abc", TOKEN, (400, '{"code":400,"message":"id参数错误"}')),
        ("-1", TOKEN, (400, '{"code":400,"message":"id参数错误"}')),
        ("18446744073709551616", TOKEN, (400, '{"code":400,"message":"id参数错误"}')),
        ("999", TOKEN, (404, '{"code":404,"message":"id不存在"}')),
        ("3", None, (403, '{"code":403,"message":"需要认证"}')),  # hidden server
        ("3", f"Bearer {TOKEN}", (403, '{"code":403,"message":"需要认证"}')),
        ("4", TOKEN, (200, '{"code":0,"message":"success","result":null}')),
    ],
)
async def test_monitor_status_codes(
    http: ClientSession,
    sim: NezhaSimulator,
    sid: str,
    token: str | None,
    expected: tuple[int, str],
) -> None:
    reply = await fetch(http, sim, f"/api/v1/monitor/{sid}", token=token)
    assert (reply.status, reply.body.decode()) == expected
    assert reply.headers["Content-Type"] == JSON_CT


async def test_monitor_guest_and_view_password(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    # A bad token is no error here: the request just proceeds as a guest.
    assert (await fetch(http, sim, "/api/v1/monitor/1", token="bad")).result
    assert (await fetch(http, sim, "/api/v1/monitor/3")).result  # hidden, with token
    sim.set_view_password(True)
    restricted = {"code": 403, "message": "访问受限"}
    for path in ("/api/v1/monitor/1", "/api/v1/monitor/abc", "/api/v1/monitor/999"):
        reply = await fetch(http, sim, path, token=None)
        assert (reply.status, reply.json()) == (200, restricted)
    # A valid token skips the view password check.
    assert (await fetch(http, sim, "/api/v1/monitor/1")).result
    sim.set_view_password(False)
    assert (await fetch(http, sim, "/api/v1/monitor/1", token=None)).result


async def test_monitor_points(http: ClientSession, frozen: NezhaSimulator) -> None:
    now = frozen.now()
    history = (await fetch(http, frozen, "/api/v1/monitor/1")).result
    assert [m["monitor_id"] for m in history] == [2, 5]  # HTTP monitor 1 never appears
    for series in history:
        assert series["server_id"] == 1 and series["server_name"] == "hk-edge-01"
        stamps, delays = series["created_at"], series["avg_delay"]
        assert len(stamps) == len(delays) == 1440
        assert stamps[-1] == math.floor(now / 60) * 60_000
        assert all(b - a == 60_000 for a, b in itertools.pairwise(stamps))
        assert stamps[0] >= (now - 86_400) * 1000
        assert all(stamp % 60_000 == 0 for stamp in stamps)  # minute-truncated ms
        assert all(0 <= d <= MAX_DELAY for d in delays)
        assert sum(20 <= d <= 400 for d in delays) > 1300  # mostly realistic values
    zeros = 0
    for sid in (1, 2, 3, 5, 6, 7):
        for series in (await fetch(http, frozen, f"/api/v1/monitor/{sid}")).result:
            zeros += series["avg_delay"].count(0)
    assert zeros > 0  # lost probes show up as 0


async def test_monitor_window_on_minute_boundary(
    http: ClientSession, freezer: FrozenDateTimeFactory
) -> None:
    boundary = (math.floor(time.time() / 60) + 1) * 60
    freezer.move_to(datetime.fromtimestamp(boundary, tz=UTC))
    async with NezhaSimulator(servers=1, token=TOKEN) as sim:
        series = (await fetch(http, sim, "/api/v1/monitor/1")).result[0]
    # created_at >= now - 24h is inclusive: both ends of the day are present.
    assert len(series["created_at"]) == 1441
    assert series["created_at"][0] == (boundary - 86_400) * 1000


def test_ping_delay_cap_and_loss() -> None:
    spiky = PingProfile(base=400, jitter=5, loss=0, spike=1)
    assert {ping_delay(1, 1, 2, m, spiky) for m in range(50)} == {MAX_DELAY}
    lossy = PingProfile(base=40, jitter=5, loss=1, spike=0)
    assert {ping_delay(1, 1, 2, m, lossy) for m in range(50)} == {0.0}


async def test_no_monitors_and_no_servers(http: ClientSession) -> None:
    async with NezhaSimulator(servers=0, token=TOKEN, monitors=False) as sim:
        listed = await fetch(http, sim, "/api/v1/server/list")
        assert listed.body.endswith(b'"result":[]}')  # [] rather than null
        assert (await fetch(http, sim, "/api/v1/server/details")).result == []
        sid = sim.add_server("solo", monitors=[2])
        history = await fetch(http, sim, f"/api/v1/monitor/{sid}")
        assert history.json()["result"] is None


# -- time -------------------------------------------------------------------------------


async def test_offline_freezes_then_resumes(
    http: ClientSession, frozen: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    before = by_id((await fetch(http, frozen, "/api/v1/server/details?id=1,2")).result)
    off_at = frozen.now()
    frozen.set_online(1, False)
    freezer.tick(600)
    after = by_id((await fetch(http, frozen, "/api/v1/server/details?id=1,2")).result)
    assert after[1] == before[1]  # last_active and status frozen (v0 never resets)
    assert after[2]["last_active"] >= before[2]["last_active"] + 599
    history = (await fetch(http, frozen, "/api/v1/monitor/1")).result
    assert all(s["created_at"][-1] <= off_at * 1000 for s in history)
    frozen.set_online(1, True)
    freezer.tick(120)
    back = by_id((await fetch(http, frozen, "/api/v1/server/details?id=1")).result)[1]
    assert frozen.now() - back["last_active"] < 2
    stamps = (await fetch(http, frozen, "/api/v1/monitor/1")).result[0]["created_at"]
    assert stamps[-1] == math.floor(frozen.now() / 60) * 60_000
    assert max(b - a for a, b in itertools.pairwise(stamps)) >= 600_000  # gap


async def test_clock_shift(http: ClientSession, frozen: NezhaSimulator) -> None:
    real = time.time()
    frozen.shift_clock(420)
    frozen.shift_clock(-20)
    assert frozen.clock_offset == 400
    reply = await fetch(http, frozen, "/api/v1/server/list")
    assert reply.headers["Date"] == formatdate(real + 400, usegmt=True)
    second = math.floor(real + 400)
    for element in reply.result:
        assert second - 1 <= element["last_active"] <= second


async def test_values_identical_while_frozen(
    http: ClientSession, frozen: NezhaSimulator
) -> None:
    first = await fetch(http, frozen, "/api/v1/server/details?id=1,2,3,4,5,6,7")
    second = await fetch(http, frozen, "/api/v1/server/details?id=1,2,3,4,5,6,7")
    assert first.body == second.body
    unordered = [by_id((await fetch(http, frozen, "/api/v1/server/details")).result)]
    unordered.append(
        by_id((await fetch(http, frozen, "/api/v1/server/details")).result)
    )
    assert unordered[0] == unordered[1]
    twin = NezhaSimulator(servers=7, token=TOKEN, seed=7)  # same seed, same clock
    assert twin.fleet.status(2) == frozen.fleet.status(2)
    frozen.set_seed(8)
    assert frozen.fleet.status(2) != twin.fleet.status(2)


async def test_live_values_move(
    http: ClientSession, frozen: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    samples = []
    for _ in range(6):
        samples.append(
            by_id((await fetch(http, frozen, "/api/v1/server/details?id=1,2")).result)
        )
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


# -- faults ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "content_type"),
    [
        (Fault.HTML_502, 502, "text/html"),
        (Fault.EMPTY_200, 200, JSON_CT),
        (Fault.TRUNCATED_JSON, 200, JSON_CT),
        (Fault.HTML_200, 200, "text/html"),
        (Fault.SERVER_500_EMPTY, 500, None),
        (Fault.NOT_JSON, 200, JSON_CT),
    ],
)
async def test_fault_responses(
    http: ClientSession,
    sim: NezhaSimulator,
    fault: Fault,
    status: int,
    content_type: str | None,
) -> None:
    normal = (await fetch(http, sim, "/api/v1/server/list?tag=Lab")).body
    sim.inject_fault(fault)
    reply = await fetch(http, sim, "/api/v1/server/list?tag=Lab")
    assert reply.status == status
    got = reply.headers.get("Content-Type")
    assert got is None if content_type is None else (got or "").startswith(content_type)
    assert {
        Fault.HTML_502: b"<h1>502 Bad Gateway</h1>" in reply.body,
        Fault.EMPTY_200: reply.body == b"",
        Fault.TRUNCATED_JSON: 0 < len(reply.body) < len(normal)
        and normal.startswith(reply.body),
        Fault.HTML_200: b"<form" in reply.body,
        Fault.SERVER_500_EMPTY: reply.body == b"",
        Fault.NOT_JSON: reply.body == b"<html>",
    }[fault]
    if fault is Fault.TRUNCATED_JSON:
        with pytest.raises(ValueError):
            reply.json()
    assert (await fetch(http, sim, "/api/v1/server/list")).result  # count=1 used up


async def test_fault_reset(http: ClientSession, sim: NezhaSimulator) -> None:
    sim.inject_fault(Fault.RESET)
    # aiohttp silently retries an idempotent request once after a reset...
    assert (await fetch(http, sim, "/api/v1/server/list")).result
    assert len(sim.requests) == 2
    sim.inject_fault(Fault.RESET, count=2)  # ...so it takes two to surface
    with pytest.raises(ClientError):
        await fetch(http, sim, "/api/v1/server/list")
    assert (await fetch(http, sim, "/api/v1/server/list")).result


async def test_fault_slow(http: ClientSession, sim: NezhaSimulator) -> None:
    sim.slow_seconds = 0.3
    sim.inject_fault(Fault.SLOW)
    started = time.monotonic()
    assert (await fetch(http, sim, "/api/v1/server/list")).result
    assert time.monotonic() - started >= 0.3
    sim.slow_seconds = 30  # a client timeout must not keep stop() waiting
    sim.inject_fault(Fault.SLOW)
    with pytest.raises(TimeoutError):
        await fetch(http, sim, "/api/v1/server/list", timeout=ClientTimeout(total=0.2))


async def test_fault_count_path_and_clear(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    sim.inject_fault(Fault.HTML_502, count=None, path="/api/v1/monitor")
    sim.inject_fault("not_json", count=2)
    assert (await fetch(http, sim, "/api/v1/monitor/1")).status == 502
    for _ in range(2):
        assert (await fetch(http, sim, "/api/v1/server/list")).body == b"<html>"
    assert (await fetch(http, sim, "/api/v1/server/list")).result
    assert (await fetch(http, sim, "/api/v1/monitor/1")).status == 502
    sim.clear_faults()
    assert (await fetch(http, sim, "/api/v1/monitor/1")).status == 200
    with pytest.raises(ValueError):
        sim.inject_fault(Fault.SLOW, count=0)


# -- routing, recording, malformed output ---------------------------------------------


async def test_routing_quirks(http: ClientSession, sim: NezhaSimulator) -> None:
    reply = await fetch(http, sim, "/api/v1/server/details/?id=1")
    assert reply.status == 301
    assert reply.headers["Location"] == "/api/v1/server/details?id=1"
    reply = await fetch(http, sim, "/api/v1/monitor/1/")
    assert (reply.status, reply.headers["Location"]) == (301, "/api/v1/monitor/1")
    followed = await fetch(http, sim, "/api/v1/server/list/", allow_redirects=True)
    assert followed.result
    for method, path in [
        ("GET", "/"),
        ("GET", "/api/v1/server"),
        ("GET", "/api/v1/monitor/"),
        ("POST", "/api/v1/server/list"),
        ("HEAD", "/api/v1/server/list"),
        ("POST", "/api/v1/server/list/"),
    ]:
        reply = await fetch(http, sim, path, method=method)
        assert reply.status == 404, (method, path)
        assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
        assert method == "HEAD" or "该页面不存在" in reply.body.decode()


async def test_requests_are_recorded(http: ClientSession, sim: NezhaSimulator) -> None:
    sim.reset_requests()
    await fetch(http, sim, "/api/v1/server/list?tag=Lab&tag=x")
    await fetch(http, sim, "/api/v1/monitor/2", token=None)
    await fetch(http, sim, "/nowhere")
    await fetch(http, sim, "/_sim/state")  # admin traffic is not recorded
    assert [(r.method, r.path) for r in sim.requests] == [
        ("GET", "/api/v1/server/list"),
        ("GET", "/api/v1/monitor/2"),
        ("GET", "/nowhere"),
    ]
    first = sim.requests[0]
    assert first.query == {"tag": "Lab"} and first.headers["Authorization"] == TOKEN
    assert "Authorization" not in sim.requests[1].headers
    assert abs(first.time - sim.now()) < 5
    sim.reset_requests()
    assert sim.requests == []


async def test_malformed_fields(http: ClientSession, sim: NezhaSimulator) -> None:
    sim.set_malformed(1, "status", "oops")
    sim.set_malformed(1, "id", "abc")
    sim.set_malformed(2, "host", None)
    sim.set_malformed(3, "status.CPU", MISSING)
    sim.set_malformed(3, "extra", [1])
    result = (await fetch(http, sim, "/api/v1/server/details?id=1,2,3")).result
    assert (result[0]["id"], result[0]["status"]) == ("abc", "oops")
    assert result[1]["host"] is None
    assert "CPU" not in result[2]["status"] and result[2]["extra"] == [1]
    listed = (await fetch(http, sim, "/api/v1/server/list?tag=Production")).result
    assert listed[0]["id"] == "abc"
    sim.set_malformed(2, "status.CPU", float("nan"))  # Go cannot marshal NaN
    reply = await fetch(http, sim, "/api/v1/server/details?id=2")
    assert (reply.status, reply.body) == (200, b"")
    assert reply.headers["Content-Type"] == JSON_CT
    sim.clear_malformed()
    assert (await fetch(http, sim, "/api/v1/server/details?id=1")).result[0]["id"] == 1


def test_go_json_encoding() -> None:
    value = {
        "a": 54.0,
        "b": 1e-5,
        "c": "<&>\u2028",
        "d": -0.0,
        "e": 1e21,
        "f": 3.25,
        "g": None,
    }
    assert go_json(value) == (
        b'{"a":54,"b":0.00001,"c":"\\u003c\\u0026\\u003e\\u2028","d":-0,'
        b'"e":1e+21,"f":3.25,"g":null}'
    )
    assert go_json([float("inf")]) is None


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


# -- servers, admin API, lifecycle -------------------------------------------------------


async def test_add_remove_servers(http: ClientSession, sim: NezhaSimulator) -> None:
    sid = sim.add_server(
        "nas-2", "Lab", ip="192.0.2.99", hide_for_guest=True, display_index=3
    )
    assert sid == 8
    sim.remove_server(sid)
    assert sim.add_server("nas-3") == 9  # ids are never reused
    assert (await fetch(http, sim, "/api/v1/monitor/8")).status == 404
    with pytest.raises(KeyError):
        sim.remove_server(8)


async def test_admin_api(http: ClientSession, sim: NezhaSimulator) -> None:
    async def admin(method: str, path: str, body: Any = None) -> Reply:
        return await fetch(http, sim, path, token=None, method=method, json=body)

    created = await admin("POST", "/_sim/servers", {"name": "demo-01", "tag": "Lab"})
    assert created.status == 201
    sid = created.json()["id"]
    assert sid in by_id((await fetch(http, sim, "/api/v1/server/list")).result)

    def online() -> bool:
        return sim.fleet.servers[sid].online

    assert (await admin("POST", f"/_sim/servers/{sid}/offline")).status == 200
    assert not online()
    assert (await admin("POST", f"/_sim/servers/{sid}/online")).status == 200
    assert online()
    token = await admin("POST", "/_sim/token", {"token": "t2"})
    assert token.json() == {"token": "t2"} and sim.token == "t2"
    await admin("POST", "/_sim/token", {"revoke": True})
    assert not sim.token_valid("t2")
    clock = await admin("POST", "/_sim/clock", {"shift": 60})
    assert clock.json() == {"clock_offset": 60}
    fault = await admin("POST", "/_sim/fault", {"kind": "html_502", "count": 1})
    assert fault.status == 200
    state = (await admin("GET", "/_sim/state")).json()
    assert state["faults"] == [{"kind": "html_502", "count": 1, "path": None}]
    assert state["clock_offset"] == 60 and sid in [s["id"] for s in state["servers"]]
    assert (await admin("DELETE", "/_sim/fault")).status == 200
    assert sim.faults == []
    assert (await admin("POST", "/_sim/fault", {"kind": "bogus"})).status == 400
    assert (await admin("DELETE", f"/_sim/servers/{sid}")).status == 200
    assert sid not in sim.fleet.servers
    missing = await admin("DELETE", f"/_sim/servers/{sid}")
    assert (missing.status, missing.json()) == (404, {"error": f"no server {sid}"})
    assert not [r for r in sim.requests if r.path.startswith("/_sim")]


async def test_admin_disabled_and_restart(http: ClientSession) -> None:
    sim = NezhaSimulator(servers=1, token=TOKEN, admin=False)
    with pytest.raises(RuntimeError):
        _ = sim.url
    await sim.start()
    try:
        assert (await fetch(http, sim, "/_sim/state")).status == 404
        assert [r.path for r in sim.requests] == ["/_sim/state"]
    finally:
        await sim.stop()
    await sim.stop()  # idempotent
    async with sim:  # can be started again, like a restarted dashboard
        assert (await fetch(http, sim, "/api/v1/server/list")).result


# -- command line ---------------------------------------------------------------------


def _cli(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(  # noqa: S603 (fixed argv, our own interpreter)
        [sys.executable, "-m", "tests.simulator", *args],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_cli_help() -> None:
    proc = _cli("--help")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and b"--port" in out and b"--token" in out


@pytest.mark.parametrize("token", [TOKEN, None])
def test_cli_serves_until_terminated(token: str | None) -> None:
    proc = _cli("--port", "0", "--servers", "3", *(["--token", token] if token else []))
    assert proc.stdout is not None
    output = b""
    deadline = time.monotonic() + 60
    try:
        # Raw reads: a buffered readline() would hide lines from select().
        while b"\nToken:" not in output or not output.endswith(b"\n"):
            assert time.monotonic() < deadline and proc.poll() is None, output
            if select.select([proc.stdout], [], [], 1)[0]:
                output += os.read(proc.stdout.fileno(), 4096)
        lines = output.decode().splitlines()
        url = re.search(r"http://127\.0\.0\.1:\d+", "\n".join(lines))
        printed = next(line for line in lines if line.startswith("Token:")).split()[1]
        assert url is not None and re.fullmatch("[0-9A-Za-z]{32}", printed)
        assert token is None or printed == token
        request = urllib.request.Request(  # noqa: S310 (http URL we just parsed)
            url.group() + "/api/v1/server/list", headers={"Authorization": printed}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            assert len(json.loads(resp.read())["result"]) == 3
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and b"stopped" in out


async def test_stop_is_prompt_with_sleeping_request(http: ClientSession) -> None:
    sim = NezhaSimulator(servers=1, token=TOKEN)
    await sim.start()
    sim.inject_fault(Fault.SLOW)
    pending = asyncio.ensure_future(fetch(http, sim, "/api/v1/server/list"))
    for _ in range(500):  # until the request is sleeping inside the simulator
        if sim.requests:
            break
        await asyncio.sleep(0.01)
    started = time.monotonic()
    await sim.stop()
    assert time.monotonic() - started < 5
    reply = await pending  # woken by stop(): answered normally
    assert reply.status == 200
