"""Tests of the simulated v1/v2 Nezha dashboard (tests/simulator), over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from datetime import datetime
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

from aiohttp import (
    ClientSession,
    ClientWebSocketResponse,
    ClientWSTimeout,
    WSMessage,
    WSMsgType,
    WSServerHandshakeError,
)
from freezegun.api import FrozenDateTimeFactory
import pytest

from tests.simulator import (
    BLOCK_ID_UNKNOWN_USER,
    MISSING,
    Fault,
    NezhaSimulator,
    generate_pat,
)
from tests.simulator.encoding import go_time
from tests.simulator.services import local_midnight

TOKEN = "nzp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
JSON_CT = "application/json; charset=utf-8"
HTML_CT = "text/html; charset=utf-8"
ZERO = "0001-01-01T00:00:00Z"
SUCCESS_ONLY = b'{"success":true}'
BLOCKED = "you were blocked by nezha WAF"
REPO = Path(__file__).resolve().parents[1]
# Client close: the server never answers a close frame, so do not wait long.
WS_TIMEOUT = ClientWSTimeout(ws_receive=None, ws_close=0.2)

pytestmark = pytest.mark.usefixtures("socket_enabled")


class Reply:
    """What a test needs from one HTTP exchange."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def data(self) -> Any:
        body = self.json()
        assert body.get("success") is True, body
        return body.get("data")

    @property
    def blocked(self) -> bool:
        return (
            self.status == 403
            and self.headers.get("Content-Type") == HTML_CT
            and BLOCKED in self.body.decode()
        )


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


def v1_sim(**kwargs: Any) -> NezhaSimulator:
    kwargs.setdefault("servers", 7)
    kwargs.setdefault("seed", 7)
    kwargs.setdefault("token", TOKEN)
    return NezhaSimulator(generation="v1", **kwargs)


@pytest.fixture
async def sim() -> AsyncIterator[NezhaSimulator]:
    async with v1_sim() as simulator:
        yield simulator


@pytest.fixture
async def frozen(freezer: FrozenDateTimeFactory) -> AsyncIterator[NezhaSimulator]:
    async with v1_sim() as simulator:
        yield simulator


def bearer(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


async def fetch(
    http: ClientSession,
    sim: NezhaSimulator,
    path: str,
    token: str | None = TOKEN,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> Reply:
    kwargs.setdefault("allow_redirects", False)
    all_headers = {**bearer(token), **(headers or {})}
    async with http.request(
        method, sim.url + path, headers=all_headers, **kwargs
    ) as resp:
        return Reply(resp.status, dict(resp.headers), await resp.read())


async def connect(
    http: ClientSession,
    sim: NezhaSimulator,
    token: str | None = TOKEN,
    **kwargs: Any,
) -> ClientWebSocketResponse:
    headers = {**bearer(token), **kwargs.pop("headers", {})}
    ws: ClientWebSocketResponse = await http.ws_connect(
        sim.url + "/api/v1/ws/server", headers=headers, timeout=WS_TIMEOUT, **kwargs
    )
    return ws


async def receive(ws: ClientWebSocketResponse, limit: float = 5) -> WSMessage:
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


async def handshake_status(
    http: ClientSession, sim: NezhaSimulator, token: str | None = TOKEN, **kwargs: Any
) -> int:
    with pytest.raises(WSServerHandshakeError) as caught:
        await connect(http, sim, token, **kwargs)
    return caught.value.status


async def hang_up(ws: ClientWebSocketResponse) -> None:
    """Close from the client side without waiting for the server.

    The dashboard never reads, so it never answers the close frame; aiohttp's
    ``close()`` restarts its ``ws_close`` timeout on every frame it reads while
    waiting, so against a stream that keeps sending it would never return.
    Cancelling it makes aiohttp drop the connection instead.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(0.3):
            await ws.close()


# -- envelope, routing ------------------------------------------------------------------


async def test_envelope_and_setting(http: ClientSession, sim: NezhaSimulator) -> None:
    reply = await fetch(http, sim, "/api/v1/setting", token=None)
    assert (reply.status, reply.headers["Content-Type"]) == (200, JSON_CT)
    assert reply.body == (
        b'{"success":true,"data":{"config":{"language":"en-US","site_name":"Nezha",'
        b'"ip_change_notification_group_id":0,"cover":0},"tsdb_enabled":true}}'
    )
    sim.v1.language, sim.v1.site_name, sim.v1.tsdb_enabled = "zh-CN", "哪吒", False
    config = (await fetch(http, sim, "/api/v1/setting")).data
    assert config["config"]["site_name"] == "哪吒" and config["tsdb_enabled"] is False
    # A bad PAT is not even parsed here: no 401, no strike.
    reply = await fetch(http, sim, "/api/v1/setting", token=generate_pat())
    assert reply.status == 200 and sim.waf_strikes() == 0
    # Handler errors: HTTP 200, no "success" key at all.
    missing = await fetch(http, sim, "/api/v1/server/999/service")
    assert (missing.status, missing.body) == (200, b'{"error":"server not found"}')


@pytest.mark.parametrize(
    ("version", "data"),
    [
        ("2.3.7", {"config": {}, "tsdb_enabled": True}),
        ("2.0.5", {"config": {}, "tsdb_enabled": True}),
        ("1.14.14", {"config": {}}),
        ("1.0.3", {}),  # v1.0.x: the flat config object
    ],
)
async def test_setting_per_version(
    http: ClientSession, version: str, data: dict[str, Any]
) -> None:
    async with v1_sim(version=version) as sim:
        got = (await fetch(http, sim, "/api/v1/setting", token=None)).data
    config = {
        "language": "en-US",
        "site_name": "Nezha",
        "ip_change_notification_group_id": 0,
        "cover": 0,
    }
    assert got == ({**data, "config": config} if "config" in data else config)


async def test_empty_lists_have_no_data(http: ClientSession) -> None:
    async with v1_sim(servers=0, monitors=False) as sim:
        for path in (
            "/api/v1/server",
            "/api/v1/server-group",
            "/api/v1/service/server",
        ):
            reply = await fetch(http, sim, path)
            assert (reply.status, reply.body) == (200, SUCCESS_ONLY), path
        sid = sim.add_server("solo")
        reply = await fetch(http, sim, f"/api/v1/server/{sid}/service")
        assert reply.body == SUCCESS_ONLY  # no history
        # /service data is a struct: both maps omitted, "data":{} stays.
        reply = await fetch(http, sim, "/api/v1/service")
        assert reply.body == b'{"success":true,"data":{}}'


async def test_routing_quirks(http: ClientSession, sim: NezhaSimulator) -> None:
    for method, path in [
        ("GET", "/api/v1/nope"),
        ("GET", "/api/v1/server/list"),  # the v0 route is gone
        ("GET", "/api/v1/service/1"),  # v1.x only
        ("POST", "/api/v1/server"),
        ("HEAD", "/api/v1/server"),
    ]:
        reply = await fetch(http, sim, path, method=method)
        assert (reply.status, reply.headers["Content-Type"]) == (404, JSON_CT)
        assert method == "HEAD" or reply.body == b'{"error":"404 Not Found"}'
    reply = await fetch(http, sim, "/api/v1/server/?id=1")
    assert (reply.status, reply.headers["Location"]) == (301, "/api/v1/server?id=1")
    reply = await fetch(http, sim, "/api/v1/server/2/service/")
    assert (reply.status, reply.headers["Location"]) == (
        301,
        "/api/v1/server/2/service",
    )
    assert (await fetch(http, sim, "/", token=None)).status == 200  # SPA index
    assert (await fetch(http, sim, "/server/3", token=None)).status == 200
    page = await fetch(http, sim, "/nowhere", token=None)
    assert (page.status, page.headers["Content-Type"]) == (404, HTML_CT)
    assert b'<div id="root">' in page.body
    async with v1_sim(version="1.4.2") as old:  # HTTP 200 before v1.5.0
        reply = await fetch(http, old, "/api/v1/nope")
        assert (reply.status, reply.json()) == (200, {"error": "404 Not Found"})


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="generation"):
        NezhaSimulator(generation="v3")
    with pytest.raises(ValueError, match="version"):
        NezhaSimulator(generation="v1", version="3.0.0")
    with pytest.raises(ValueError, match="only apply"):
        NezhaSimulator(version="2.3.7")
    with pytest.raises(ValueError, match="nzp_"):
        NezhaSimulator(generation="v1", token="A" * 32)
    sim = NezhaSimulator(generation="v2", version="v2.0.5")
    assert sim.version == "2.0.5" and sim.generation == "v2"
    assert re.fullmatch(r"nzp_[0-9A-Za-z]{32}", sim.token or "")
    assert NezhaSimulator().version is None
    with pytest.raises(RuntimeError, match="v1"):
        NezhaSimulator().add_token()


# -- personal access tokens -------------------------------------------------------------


async def test_pat_requires_exact_bearer(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    reply = await fetch(http, sim, "/api/v1/server")
    assert reply.status == 200 and [s["id"] for s in reply.data][:2] == [2, 3]
    assert sim.token == TOKEN
    # Anything but "Bearer nzp_…" goes to JWT handling: HTTP 200, no strike.
    for header in (TOKEN, f"bearer {TOKEN}", f"Token {TOKEN}", "Bearer eyJ.x.y", ""):
        reply = await fetch(
            http, sim, "/api/v1/server", token=None, headers={"Authorization": header}
        )
        assert (reply.status, reply.body) == (200, b'{"error":"ApiErrorUnauthorized"}')
        assert reply.headers["WWW-Authenticate"] == "JWT realm=Nezha"
    assert (await fetch(http, sim, "/api/v1/server", token=None)).status == 200
    assert sim.waf_strikes() == 0
    # Optional routes fall back to the guest view for such headers.
    reply = await fetch(
        http, sim, "/api/v1/server-group", token=None, headers={"Authorization": TOKEN}
    )
    assert [g["group"]["name"] for g in reply.data] == ["Production", "Lab"]


async def test_invalid_pat_is_401_with_strike(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    reply = await fetch(http, sim, "/api/v1/server-group", token=generate_pat())
    assert (reply.status, reply.headers["Content-Type"]) == (401, JSON_CT)
    assert reply.body == b'{"error":"ApiErrorUnauthorized: invalid api token"}'
    assert sim.waf_strikes() == 1 and sim.waf_blocked()


async def test_expired_and_revoked_tokens(
    http: ClientSession, frozen: NezhaSimulator
) -> None:
    sim = frozen
    short = sim.add_token(expires_in=60)
    assert (await fetch(http, sim, "/api/v1/server", token=short)).status == 200
    sim.shift_clock(60)  # still valid at the exact expiry instant
    assert (await fetch(http, sim, "/api/v1/server", token=short)).status == 200
    sim.shift_clock(1)
    reply = await fetch(http, sim, "/api/v1/server", token=short)
    assert (reply.status, reply.json()) == (
        401,
        {"error": "ApiErrorUnauthorized: api token expired"},
    )
    assert sim.waf_strikes() == 1
    sim.clear_waf()
    sim.revoke_token()  # the main token
    assert sim.token is None and sim.get_token(TOKEN) is None
    reply = await fetch(http, sim, "/api/v1/server")
    assert (reply.status, reply.json()["error"]) == (
        401,
        "ApiErrorUnauthorized: invalid api token",
    )
    sim.clear_waf()
    sim.set_token("nzp_" + "Z" * 32)  # a new main token with the same scopes
    assert (await fetch(http, sim, "/api/v1/server", token=sim.token)).status == 200


@pytest.mark.parametrize(
    ("scopes", "path", "missing"),
    [
        (("nezha:service:read",), "/api/v1/server", "nezha:inventory:read"),
        (("nezha:service:read",), "/api/v1/server-group", "nezha:inventory:read"),
        (("nezha:inventory:read",), "/api/v1/service", "nezha:service:read"),
        (("nezha:server:*",), "/api/v1/server/1/service", "nezha:service:read"),
        ((), "/api/v1/service/server", "nezha:service:read"),
        (("nezha:inventory:*",), "/api/v1/server", None),
        (("nezha:*",), "/api/v1/service", None),
        (("nezha:service:read",), "/api/v1/setting", None),  # PAT ignored
    ],
)
async def test_scopes(
    http: ClientSession,
    sim: NezhaSimulator,
    scopes: tuple[str, ...],
    path: str,
    missing: str | None,
) -> None:
    token = sim.add_token(scopes=scopes)
    reply = await fetch(http, sim, path, token=token)
    if missing is None:
        assert reply.status == 200 and reply.json()["success"] is True
    else:
        assert (reply.status, reply.json()) == (
            403,
            {"error": f"ApiErrorForbidden: api token lacks scope {missing}"},
        )
    assert sim.waf_strikes() == 0  # a scope failure is no strike


@pytest.mark.parametrize("version", ["2.0.5", "1.14.14"])
async def test_no_pats_before_2_1(http: ClientSession, version: str) -> None:
    async with v1_sim(version=version) as sim:
        reply = await fetch(http, sim, "/api/v1/server")
        assert (reply.status, reply.body) == (200, b'{"error":"ApiErrorUnauthorized"}')
        groups = await fetch(http, sim, "/api/v1/server-group")
        assert [g["servers"] for g in groups.data] == [[1, 2, 5, 6], [7]]  # guest
        assert sim.waf_strikes() == 0


async def test_inventory_scope_split_in_2_1_2(http: ClientSession) -> None:
    async with v1_sim(version="2.1.0", scopes=["nezha:inventory:read"]) as sim:
        reply = await fetch(http, sim, "/api/v1/server")
        assert reply.json()["error"].endswith("lacks scope nezha:server:read")
        other = sim.add_token(scopes=["nezha:server:read"])
        assert (await fetch(http, sim, "/api/v1/server", token=other)).status == 200


# -- WAF ----------------------------------------------------------------------------------


async def test_strike_blocks_for_3_seconds(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    await fetch(http, sim, "/api/v1/server", token=generate_pat())
    blocked = await fetch(http, sim, "/api/v1/server")  # even a valid token
    assert blocked.blocked
    assert blocked.body.decode().count("<h1>Blocked</h1>") == 1
    sim.shift_clock(2)
    assert (await fetch(http, sim, "/api/v1/server")).blocked
    sim.shift_clock(1)
    assert (await fetch(http, sim, "/api/v1/server")).status == 200
    assert sim.waf_strikes() == 0  # the valid PAT cleared the token strikes


async def test_block_grows_with_n_to_the_4th(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    for n, seconds in [(1, 3), (2, 16), (3, 81), (4, 256)]:
        reply = await fetch(http, sim, "/api/v1/service", token=generate_pat())
        assert reply.status == 401
        assert sim.waf_strikes() == n
        sim.shift_clock(seconds - 1)
        assert (await fetch(http, sim, "/api/v1/setting", token=None)).blocked, n
        assert sim.waf_strikes() == n  # requests while blocked add no strike
        sim.shift_clock(1)
        assert (await fetch(http, sim, "/api/v1/setting", token=None)).status == 200


async def test_block_page_on_every_path(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    sim.block_ip()  # manual block from the Online Users page (99999)
    assert sim.waf_strikes() == 99999
    for path in (
        "/api/v1/setting",
        "/api/v1/server",
        "/api/v1/nope",
        "/",
        "/assets/app.js",
        "/api/v1/ws/server",
    ):
        assert (await fetch(http, sim, path, token=None)).blocked, path
    assert await handshake_status(http, sim) == 403
    # gin redirects a trailing slash in the router, before any middleware.
    assert (await fetch(http, sim, "/api/v1/server/")).status == 301
    admin = await fetch(http, sim, "/_sim/state", token=None)
    assert admin.status == 200 and admin.json()["v1"]["waf"][0]["count"] == 99999
    assert sim.waf_strikes() == 99999
    sim.clear_waf()
    assert (await fetch(http, sim, "/api/v1/setting")).status == 200


async def test_valid_pat_clears_only_token_strikes(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    sim.add_waf_strike(identifier=BLOCK_ID_UNKNOWN_USER)  # a failed login
    sim.add_waf_strike()  # a bad token
    assert sim.waf_strikes() == 2
    sim.shift_clock(16)
    assert (await fetch(http, sim, "/api/v1/service")).status == 200
    assert sim.waf_strikes() == 1  # the login strike stays
    sim.shift_clock(3)
    await fetch(http, sim, "/api/v1/service", token=None)  # a guest clears nothing
    assert sim.waf_strikes() == 1


async def test_waf_disabled_counts_nothing(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    sim.waf_enabled = False
    for _ in range(3):
        reply = await fetch(http, sim, "/api/v1/server", token=generate_pat())
        assert reply.status == 401
    assert sim.waf_strikes() == 0 and not sim.waf_blocked()
    sim.waf_enabled = True
    assert sim.real_ip_header == "NZ::Use-Peer-IP"


async def test_real_ip_header(http: ClientSession, sim: NezhaSimulator) -> None:
    sim.real_ip_header = "X-Real-IP"
    reply = await fetch(http, sim, "/api/v1/setting", token=None)
    assert (reply.status, reply.json()) == (200, {"error": "real ip header not found"})
    behind_proxy = {"X-Real-IP": "198.51.100.7, 203.0.113.9"}  # the last hop counts
    reply = await fetch(
        http, sim, "/api/v1/server", token="nzp_bad", headers=behind_proxy
    )
    assert reply.status == 401
    assert sim.waf_strikes("203.0.113.9") == 1 and sim.waf_strikes() == 0
    reply = await fetch(http, sim, "/api/v1/server", headers={"X-Real-IP": "nope"})
    assert reply.json() == {"error": 'ParseAddr("nope"): unable to parse IP'}


# -- /server, /server-group ---------------------------------------------------------------


async def test_server_list_order_and_omitempty(
    http: ClientSession, frozen: NezhaSimulator
) -> None:
    reply = await fetch(http, frozen, "/api/v1/server")
    servers = {s["id"]: s for s in reply.data}
    assert list(servers) == [2, 3, 5, 1, 4, 6, 7]  # display_index desc, id asc
    gpu = servers[3]
    assert list(gpu) == [
        "id", "created_at", "updated_at", "name", "uuid", "note", "public_note",
        "display_index", "hide_for_guest", "host", "state", "geoip", "last_active",
        "owner",
    ]  # fmt: skip
    assert gpu["note"] == "lab machine <GPU> & co"
    assert b"lab machine \\u003cGPU\\u003e \\u0026 co" in reply.body  # Go escapes
    assert "virtualization" not in gpu["host"]  # "" omitted
    assert gpu["host"]["gpu"] == ["NVIDIA GeForce RTX 3060"]
    assert gpu["host"]["version"] == "1.14.1" and gpu["host"]["platform_version"]
    assert isinstance(gpu["state"]["gpu"], list) and len(gpu["state"]["gpu"]) == 1
    assert [set(t) for t in gpu["state"]["temperatures"]] == [
        {"Name", "Temperature"}
    ] * 3
    assert gpu["geoip"] == {"ip": {"ipv6_addr": "2001:db8:1::3"}, "country_code": "de"}
    # A server registered with the global agent secret has no owner (real v2.3.7).
    assert gpu["owner"] == {"id": 0}
    hk = servers[1]
    assert hk["display_index"] == 0  # not omitempty in /server
    assert "hide_for_guest" not in hk and "note" not in hk
    assert json.loads(hk["public_note"])["billingDataMod"]["amount"] == "$5"
    assert hk["geoip"]["ip"] == {
        "ipv4_addr": "203.0.113.10",
        "ipv6_addr": "2001:db8::10",
    }
    assert "temperatures" not in hk["state"] and "gpu" not in hk["state"]
    windows = servers[5]["state"]
    assert not {"load_1", "load_5", "load_15"} & set(windows)  # Windows: no load
    assert servers[7]["geoip"]["ip"] == {"ipv6_addr": "2001:db8:3::4"}  # "/v6"
    for element in servers.values():
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?\+08:00", element["last_active"]
        )
        moment = datetime.fromisoformat(element["last_active"])
        assert 0 <= frozen.now() - moment.timestamp() < 2
        assert all(value != 0 for value in element["state"].values())
    assert (await fetch(http, frozen, "/api/v1/server")).body == reply.body


async def test_never_reported_and_disconnected(
    http: ClientSession, frozen: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    before = {s["id"]: s for s in (await fetch(http, frozen, "/api/v1/server")).data}
    frozen.set_online(1, False)
    frozen.set_never_reported(4)
    freezer.tick(600)
    after = {s["id"]: s for s in (await fetch(http, frozen, "/api/v1/server")).data}
    # v1 resets last_active on disconnect but keeps the last state.
    assert after[1]["last_active"] == ZERO
    assert after[1]["state"] == before[1]["state"]
    assert after[1]["host"] == before[1]["host"] and after[1]["geoip"]
    assert after[4]["host"] == {} and after[4]["state"] == {}
    assert after[4]["geoip"] == {"ip": {}} and after[4]["last_active"] == ZERO
    frozen.set_online(1, True)
    back = (await fetch(http, frozen, "/api/v1/server?id=1")).data[0]
    assert back["last_active"] != ZERO and back["state"] != before[1]["state"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("id=1,3", [3, 1]),  # display_index != 0 first, then the others
        ("id=6,1,6", [6, 1, 6]),
        ("id=999", [2, 3, 5, 1, 4, 6, 7]),  # nothing matched: everything
        ("id=abc", [2, 3, 5, 1, 4, 6, 7]),
        ("id=", [2, 3, 5, 1, 4, 6, 7]),
    ],
)
async def test_server_id_filter(
    http: ClientSession, sim: NezhaSimulator, query: str, expected: list[int]
) -> None:
    reply = await fetch(http, sim, f"/api/v1/server?{query}")
    assert [s["id"] for s in reply.data] == expected


async def test_pat_allow_list(http: ClientSession, sim: NezhaSimulator) -> None:
    token = sim.add_token(server_ids=[1, 3])
    reply = await fetch(http, sim, "/api/v1/server", token=token)
    assert [s["id"] for s in reply.data] == [3, 1]
    groups = (await fetch(http, sim, "/api/v1/server-group", token=token)).data
    assert [(g["group"]["name"], g["servers"]) for g in groups] == [
        ("Production", [1]),
        ("Lab", [3]),  # hidden, but the admin's token may see it
    ]
    assert (await fetch(http, sim, "/api/v1/server/2/service", token=token)).json() == {
        "error": "unauthorized"
    }


async def test_groups(http: ClientSession, sim: NezhaSimulator) -> None:
    groups = (await fetch(http, sim, "/api/v1/server-group")).data
    assert [(g["group"]["id"], g["group"]["name"], g["servers"]) for g in groups] == [
        (1, "Production", [1, 2, 5, 6]),
        (2, "Lab", [3, 7]),
    ]
    assert list(groups[0]["group"]) == ["id", "created_at", "updated_at", "name"]
    sim.remove_server(7)
    sim.remove_server(3)
    sim.add_server_group("Retired")
    reply = await fetch(http, sim, "/api/v1/server-group")
    assert b'"name":"Lab"},"servers":null}' in reply.body
    assert [g["servers"] for g in reply.data] == [[1, 2, 5, 6], None, None]
    guest = (await fetch(http, sim, "/api/v1/server-group", token=None)).data
    assert [g["group"]["name"] for g in guest] == ["Production"]


async def test_guest_view_and_force_auth(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    groups = (await fetch(http, sim, "/api/v1/server-group", token=None)).data
    assert [g["servers"] for g in groups] == [[1, 2, 5, 6], [7]]  # 3 is hidden
    hidden = await fetch(http, sim, "/api/v1/server/3/service", token=None)
    assert hidden.json() == {"error": "unauthorized"}
    week = await fetch(http, sim, "/api/v1/server/1/service?period=7d", token=None)
    assert week.json() == {"error": "unauthorized: only 1d data available for guests"}
    assert (await fetch(http, sim, "/api/v1/server/1/service?period=7d")).data
    sim.force_auth = True
    for path in ("/api/v1/server-group", "/api/v1/service", "/api/v1/server/1/service"):
        reply = await fetch(http, sim, path, token=None)
        assert (reply.status, reply.body) == (200, b'{"error":"ApiErrorUnauthorized"}')
        assert (await fetch(http, sim, path)).status == 200
    assert (await fetch(http, sim, "/api/v1/setting", token=None)).data
    assert await handshake_status(http, sim, token=None) == 200
    sim.force_auth = False
    assert (await fetch(http, sim, "/api/v1/service", token=None)).data


# -- services -----------------------------------------------------------------------------


async def test_services_daily_arrays(
    http: ClientSession, freezer: FrozenDateTimeFactory
) -> None:
    # 00:10 dashboard time (16:10 UTC): today has only 10 minutes of results.
    freezer.move_to("2026-08-16T16:10:00+00:00")
    async with v1_sim() as sim:
        data = (await fetch(http, sim, "/api/v1/service")).data
        again = (await fetch(http, sim, "/api/v1/service")).body
    services = data["services"]
    assert list(services) == ["1", "2", "3", "4", "5"]  # HTTP monitor 1 included
    blog = services["1"]
    assert list(blog) == [
        "service_name", "current_up", "current_down", "total_up", "total_down",
        "delay", "up", "down",
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
    assert (
        local_midnight(sim.now())
        == datetime.fromisoformat("2026-08-17T00:00:00+08:00").timestamp()
    )
    cycle = data["cycle_transfer_stats"]["1"]
    assert (cycle["name"], cycle["from"], cycle["to"]) == (
        "Monthly 1 TiB",
        "2026-08-01T00:00:00+08:00",
        "2026-09-01T00:00:00+08:00",
    )
    assert list(cycle["server_name"]) == ["1", "2", "5", "6"]
    assert all(value > 0 for value in cycle["transfer"].values())
    assert json.loads(again)["data"] == data  # deterministic while frozen


@pytest.mark.freeze_time("2026-08-17T04:00:00+00:00")  # noon, far from midnight
async def test_service_down(http: ClientSession, frozen: NezhaSimulator) -> None:
    def ping(data: dict[str, Any]) -> dict[str, Any]:
        service: dict[str, Any] = data["services"]["2"]  # servers 1, 5 and 6 run it
        return service

    before = ping((await fetch(http, frozen, "/api/v1/service")).data)
    frozen.set_service_down(2)
    now = ping((await fetch(http, frozen, "/api/v1/service")).data)
    assert now["current_down"] > now["current_up"] == 0
    assert now["down"][29] > before["down"][29]
    frozen.shift_clock(300)
    later = ping((await fetch(http, frozen, "/api/v1/service")).data)
    assert later["down"][29] >= now["down"][29] + 3 * 9  # 3 agents, 10 slots
    assert later["up"][29] == now["up"][29]
    frozen.set_service_down(2, False)
    frozen.shift_clock(60)
    healed = ping((await fetch(http, frozen, "/api/v1/service")).data)
    assert healed["up"][29] > later["up"][29]
    with pytest.raises(KeyError):
        frozen.set_service_down(99)


async def test_service_server_list(http: ClientSession, sim: NezhaSimulator) -> None:
    ids = (await fetch(http, sim, "/api/v1/service/server")).data
    assert sorted(ids) == [1, 2, 3, 5, 6, 7]  # 4 runs no monitor
    guest = (await fetch(http, sim, "/api/v1/service/server", token=None)).data
    assert sorted(guest) == [1, 2, 5, 6, 7]


@pytest.mark.parametrize("version", ["2.3.7", "1.14.14"])
async def test_server_monitors_per_version(
    http: ClientSession, freezer: FrozenDateTimeFactory, version: str
) -> None:
    v2 = version.startswith("2")
    new, old = "/api/v1/server/1/service", "/api/v1/service/1"
    async with v1_sim(version=version) as sim:
        gone = await fetch(http, sim, old if v2 else new)
        assert (gone.status, gone.body) == (404, b'{"error":"404 Not Found"}')
        reply = await fetch(http, sim, new if v2 else old)
        history = reply.data
        assert [m["monitor_id"] for m in history] == [2, 5]
        keys = ["monitor_id", "server_id", "monitor_name", "server_name"]
        keys += ["display_index"] if v2 else []
        assert list(history[0]) == [*keys, "created_at", "avg_delay"]
        expected = sim.fleet.ping_history(1)[0]
        assert history[0]["created_at"] == expected.created_at
        assert history[0]["avg_delay"] == expected.avg_delay
        prefix = "/api/v1/server/{}/service" if v2 else "/api/v1/service/{}"
        for sid, error in [
            ("999", "server not found"),
            ("abc", 'strconv.ParseUint: parsing "abc": invalid syntax'),
            ("99999999999999999999", ("strconv.ParseUint: parsing "
             '"99999999999999999999": value out of range')),
        ]:  # fmt: skip
            reply = await fetch(http, sim, prefix.format(sid))
            assert (reply.status, reply.json()) == (200, {"error": error})
        if v2:
            bad = await fetch(http, sim, f"{new}?period=2d")
            assert bad.json() == {
                "error": "invalid period: 2d, expected 1d, 7d, or 30d"
            }


# -- WebSocket stream ---------------------------------------------------------------------


async def test_ws_frames(http: ClientSession, sim: NezhaSimulator) -> None:
    sim.ws_interval = 0.1
    ws = await connect(http, sim)
    try:
        started = time.monotonic()
        first, second, *rest = await frames(ws, 6)
        assert time.monotonic() - started < 3  # every 0.1 s, not every 2 s
        assert sim.ws_connections == 1
        assert set(first) == {"now", "online", "servers"} and first["online"] == 1
        assert first["now"] % 1000 == 0 and abs(first["now"] / 1000 - sim.now()) < 2
        ids = [s["id"] for s in first["servers"]]
        assert ids == [2, 3, 5, 1, 4, 6, 7]  # admin PAT: hidden 3 included
        one = {s["id"]: s for s in first["servers"]}[1]
        assert list(one) == [
            "id", "name", "public_note", "host", "state", "country_code", "last_active",
        ]  # fmt: skip
        assert "display_index" not in one  # omitempty in the stream
        assert {s["id"]: s for s in first["servers"]}[2]["display_index"] == 10
        assert one["host"]["version"] == "1.14.1"  # the admin sees everything
        for frame in (second, *rest):
            assert all("public_note" not in s for s in frame["servers"])
        assert [r.kind for r in sim.requests] == ["ws"]
        assert sim.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    finally:
        await hang_up(ws)


async def test_ws_guest_view(http: ClientSession, sim: NezhaSimulator) -> None:
    sim.ws_interval = 0.1
    sim.set_never_reported(4)
    admin = await connect(http, sim)
    guest = await connect(http, sim, token=None)
    try:
        (frame,) = await frames(guest, 1)
        assert frame["online"] == 2
        servers = {s["id"]: s for s in frame["servers"]}
        assert list(servers) == [2, 5, 1, 4, 6, 7]  # hidden server 3 absent
        for server in servers.values():
            assert not {"platform_version", "version"} & set(server["host"])
            assert "geoip" not in server and "ip" not in json.dumps(server["host"])
        assert servers[1]["country_code"] == "hk"
        assert servers[4] == {"id": 4, "name": "nas", "host": {}, "state": {},
                              "public_note": sim.fleet.servers[4].public_note,
                              "last_active": ZERO}  # fmt: skip
        for sid in list(sim.fleet.servers):
            if sid != 3:
                sim.remove_server(sid)
        while "servers" in (frame := (await frames(guest, 1))[0]):
            pass
        assert set(frame) == {"now", "online"}  # "servers" omitted when empty
    finally:
        await hang_up(guest)
        await hang_up(admin)


async def test_ws_ping_every_4th_frame_and_no_pong(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    sim.ws_interval = 0.05
    ws = await connect(http, sim, autoping=False)
    try:
        await ws.ping(b"hello")  # the server never reads, so never answers
        kinds = [(await receive(ws)).type for _ in range(10)]
        text, ping = WSMsgType.TEXT, WSMsgType.PING
        assert kinds == [text, text, text, text, ping, text, text, text, text, ping]
    finally:
        await hang_up(ws)


@pytest.mark.parametrize(
    "case",
    [
        ("none", "nzp_unknown", {}, 401),
        ("scope", "SCOPED", {}, 403),
        ("force_auth", None, {}, 200),
        ("block", TOKEN, {}, 403),
        ("fault", TOKEN, {}, 502),
        ("truncated", TOKEN, {}, 200),
        ("none", TOKEN, {"Origin": "http://evil.example"}, 403),
    ],
)
async def test_ws_handshake_failures_are_http(
    http: ClientSession,
    sim: NezhaSimulator,
    case: tuple[str, str | None, dict[str, str], int],
) -> None:
    setup, token, headers, status = case
    if token == "SCOPED":
        token = sim.add_token(scopes=["nezha:service:read"])
    if setup == "force_auth":
        sim.force_auth = True
    elif setup == "block":
        sim.block_ip()
    elif setup == "fault":
        sim.inject_fault(Fault.HTML_502, path="/api/v1/ws/server")
    elif setup == "truncated":
        sim.inject_fault(Fault.TRUNCATED_JSON)
    assert await handshake_status(http, sim, token, headers=headers) == status
    assert sim.ws_connections == 0
    assert [r.kind for r in sim.requests] == ["ws"]


async def test_ws_origin_and_plain_get(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    host = sim.url.removeprefix("http://")
    ws = await connect(http, sim, headers={"Origin": f"HTTP://{host.upper()}"})
    await hang_up(ws)
    reply = await fetch(http, sim, "/api/v1/ws/server")  # not an upgrade request
    assert (reply.status, reply.body) == (400, b"Bad Request\n")
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert [r.kind for r in sim.requests] == ["ws", "http"]


async def test_ws_revoked_token_closes_its_streams(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    sim.ws_interval = 0.05
    other = sim.add_token(server_ids=[1])
    mine = await connect(http, sim, token=other)
    main = await connect(http, sim)
    try:
        (frame,) = await frames(mine, 1)
        assert [s["id"] for s in frame["servers"]] == [1]  # allow-list applies
        sim.revoke_token(other)
        while (msg := await receive(mine)).type is not WSMsgType.CLOSED:
            assert msg.type in (WSMsgType.TEXT, WSMsgType.PING)
        assert len(await frames(main, 2)) == 2  # other streams go on
        assert sim.ws_connections == 1
    finally:
        await hang_up(mine)
        await hang_up(main)


async def test_ws_drop_and_pause(http: ClientSession, sim: NezhaSimulator) -> None:
    sim.ws_interval = 0.05
    ws = await connect(http, sim)
    try:
        await frames(ws, 1)
        sim.pause_ws(True)
        await asyncio.sleep(0.1)  # a frame may have been in flight
        while True:  # drain, then expect silence on an open connection
            try:
                await receive(ws, limit=0.4)
            except TimeoutError:
                break
        assert not ws.closed and sim.ws_connections == 1
        sim.pause_ws(False)
        assert len(await frames(ws, 1)) == 1
        assert await sim.drop_websockets() == 1
        while (msg := await receive(ws)).type is not WSMsgType.CLOSED:
            assert msg.type in (WSMsgType.TEXT, WSMsgType.PING)
        assert sim.ws_connections == 0
    finally:
        await hang_up(ws)
    # A client that goes away is noticed and forgotten.
    ws = await connect(http, sim)
    await frames(ws, 1)
    await hang_up(ws)
    for _ in range(100):
        if sim.ws_connections == 0:
            break
        await asyncio.sleep(0.05)
    assert sim.ws_connections == 0


async def test_ws_malformed_frame_is_skipped(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    sim.ws_interval = 0.05
    sim.set_malformed(1, "state.cpu", float("nan"))  # Go cannot marshal NaN
    reply = await fetch(http, sim, "/api/v1/server")
    assert (reply.status, reply.body) == (200, b"")
    ws = await connect(http, sim)
    try:
        with pytest.raises(TimeoutError):
            await receive(ws, limit=0.3)
        sim.set_malformed(1, "state", MISSING)
        (frame,) = await frames(ws, 1)
        one = {s["id"]: s for s in frame["servers"]}[1]
        assert "state" not in one and "public_note" in one  # still the first frame
    finally:
        await hang_up(ws)


async def test_stop_ends_streams_promptly(http: ClientSession) -> None:
    sim = v1_sim()
    await sim.start()
    ws = await connect(http, sim)
    await frames(ws, 1)
    started = time.monotonic()
    await sim.stop()
    assert time.monotonic() - started < 3
    while (await receive(ws)).type is not WSMsgType.CLOSED:
        pass
    await hang_up(ws)


async def test_ws_close_frame_is_never_answered(
    http: ClientSession, sim: NezhaSimulator
) -> None:
    sim.ws_interval = 0.05
    ws = await connect(http, sim)
    await frames(ws, 1)
    closing = asyncio.ensure_future(ws.close())
    done, _ = await asyncio.wait({closing}, timeout=0.6)
    assert not done  # each frame read restarts aiohttp's ws_close timeout
    sim.pause_ws(True)  # silence: now the client's 0.2 s close timeout can expire
    assert await asyncio.wait_for(closing, 3) is True
    assert ws.close_code == 1006  # abnormal closure: no close frame came back


# -- shared controls, admin API, command line ---------------------------------------------


async def test_shared_controls(http: ClientSession, frozen: NezhaSimulator) -> None:
    sid = frozen.add_server("new-box", "Edge", display_index=3, hide_for_guest=True)
    element = (await fetch(http, frozen, f"/api/v1/server?id={sid}")).data[0]
    assert element["created_at"] == go_time(math.floor(frozen.now() * 1e6) * 1000)
    assert element["hide_for_guest"] is True and element["display_index"] == 3
    groups = (await fetch(http, frozen, "/api/v1/server-group")).data
    assert groups[-1]["group"]["name"] == "Edge" and groups[-1]["servers"] == [sid]
    frozen.set_malformed(2, "state.cpu", "oops")
    frozen.set_malformed(2, "host", MISSING)
    frozen.set_malformed(2, "owner.username", None)
    two = (await fetch(http, frozen, "/api/v1/server?id=2")).data[0]
    assert two["state"]["cpu"] == "oops" and "host" not in two
    assert two["owner"] == {"id": 0, "username": None}
    three = (await fetch(http, frozen, "/api/v1/server?id=3")).data[0]
    assert three["owner"] == {"id": 0}  # not shared
    frozen.inject_fault(Fault.TRUNCATED_JSON, path="/api/v1/service")
    reply = await fetch(http, frozen, "/api/v1/service")
    assert reply.body.startswith(b'{"success":true,"data":{"services"')
    with pytest.raises(ValueError):
        reply.json()
    frozen.remove_server(sid)
    assert (await fetch(http, frozen, f"/api/v1/server/{sid}/service")).json() == {
        "error": "server not found"
    }
    recorded = [(r.method, r.path, r.kind) for r in frozen.requests]
    assert recorded[0] == ("GET", "/api/v1/server", "http")
    assert frozen.requests[0].query == {"id": str(sid)}


async def test_admin_api(http: ClientSession, sim: NezhaSimulator) -> None:
    async def admin(method: str, path: str, body: Any = None) -> Reply:
        return await fetch(http, sim, path, token=None, method=method, json=body)

    created = await admin(
        "POST", "/_sim/tokens", {"scopes": ["nezha:service:read"], "server_ids": [1]}
    )
    assert created.status == 201
    token = created.json()["token"]
    assert sim.get_token(token) is not None
    assert (await admin("POST", "/_sim/tokens", {"scopes": "x"})).status == 400
    assert (await admin("DELETE", f"/_sim/tokens/{token}")).status == 200
    assert sim.get_token(token) is None
    assert (await admin("DELETE", f"/_sim/tokens/{token}")).status == 404
    assert (await admin("POST", "/_sim/waf/block", {})).status == 200
    assert sim.waf_blocked()
    state = (await admin("GET", "/_sim/state")).json()
    assert state["generation"] == "v1" and state["v1"]["version"] == "2.3.7"
    assert state["token"] == TOKEN and state["v1"]["waf"][0]["count"] == 99999
    assert (await admin("DELETE", "/_sim/waf")).status == 200
    assert not sim.waf_blocked()
    assert (await admin("POST", "/_sim/services/2/down", {"down": True})).status == 200
    assert (await admin("GET", "/_sim/state")).json()["v1"]["services_down"] == [2]
    assert (await admin("POST", "/_sim/services/9/down", {})).status == 404
    ws = await admin("POST", "/_sim/ws", {"interval": 0.5, "paused": True})
    assert ws.json()["ws_interval"] == 0.5 and ws.json()["ws_paused"] is True
    assert (await admin("POST", "/_sim/ws", {"interval": 0})).status == 400
    assert (await admin("POST", "/_sim/ws", {"drop": True})).json()["dropped"] == 0
    forced = await admin("POST", "/_sim/force_auth", {"enabled": True})
    assert forced.json() == {"force_auth": True} and sim.force_auth
    assert (await admin("POST", "/_sim/token", {"token": "plain"})).status == 400
    rotated = await admin("POST", "/_sim/token", {"token": "nzp_" + "R" * 32})
    assert rotated.json() == {"token": "nzp_" + "R" * 32}
    assert sim.get_token(TOKEN) is None
    assert sim.requests == []  # admin traffic is never recorded


def _cli(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(  # noqa: S603 (fixed argv, our own interpreter)
        [sys.executable, "-m", "tests.simulator", *args],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_cli_v1_serves_until_terminated() -> None:
    proc = _cli("--api", "v1", "--port", "0", "--servers", "3", "--version", "2.1.2")
    assert proc.stdout is not None
    output = b""
    deadline = time.monotonic() + 60
    try:
        while b"\nToken:" not in output or not output.endswith(b"\n"):
            assert time.monotonic() < deadline and proc.poll() is None, output
            if select.select([proc.stdout], [], [], 1)[0]:
                output += os.read(proc.stdout.fileno(), 4096)
        text = output.decode()
        assert "v1 (dashboard 2.1.2)" in text
        url = re.search(r"http://127\.0\.0\.1:\d+", text)
        token = re.search(r"^Token: (\S+)$", text, re.MULTILINE)
        assert url is not None and token is not None
        assert re.fullmatch(r"nzp_[0-9A-Za-z]{32}", token.group(1))
        request = urllib.request.Request(  # noqa: S310 (http URL we just parsed)
            url.group() + "/api/v1/server",
            headers={"Authorization": f"Bearer {token.group(1)}"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            assert [s["id"] for s in json.loads(resp.read())["data"]] == [2, 3, 1]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and b"stopped" in out


@pytest.mark.parametrize(
    "args",
    [
        ("--version", "2.0.5"),  # needs --api v1
        ("--api", "v1", "--token", "A" * 32),  # not a PAT
        ("--api", "v1", "--version", "0.20.5"),  # that is a v0 dashboard
    ],
)
def test_cli_rejects_bad_combinations(args: tuple[str, ...]) -> None:
    proc = _cli(*args)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and b"error" in err


async def test_v0_is_unchanged(http: ClientSession) -> None:
    async with NezhaSimulator(servers=1, token="t" * 32) as sim:
        assert sim.version is None and sim.generation == "v0"
        reply = await fetch(http, sim, "/api/v1/server/list", token=None,
                            headers={"Authorization": "t" * 32})  # fmt: skip
        assert reply.json()["code"] == 0
        assert sim.requests[0].kind == "http"
        assert (await fetch(http, sim, "/api/v1/setting", token=None)).status == 404
