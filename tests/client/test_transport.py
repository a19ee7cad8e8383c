"""Tests of the HTTP transport: Date header, redirects, size cap, TLS, errors."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import re
from typing import Any

from aiohttp import ClientSession, TCPConnector, web
from freezegun.api import FrozenDateTimeFactory
import pytest

from custom_components.nezha.client import (
    NezhaAuthError,
    NezhaConnectionError,
    NezhaError,
    NezhaNotFoundError,
    NezhaRedirectError,
    NezhaResponseError,
    NezhaTimeoutError,
    NezhaTLSError,
    NezhaTokenError,
    NezhaUnsupportedError,
    NezhaV0Client,
    transport as transport_module,
    v0 as v0_module,
)
from custom_components.nezha.client.errors import NezhaTooLargeError
from custom_components.nezha.client.limits import FLEET_BODY_BYTES
from custom_components.nezha.client.transport import Transport
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.client.common import (
    CALLS,
    DETAILS,
    LIST,
    V1_BODIES,
    WRONG_TOKEN,
    assert_secret_free,
    expect,
    json_app,
    serve,
    status_server,
)
from tests.conftest import TOKEN
from tests.tls import tls_server

type Call = Callable[[NezhaV0Client], Awaitable[Any]]
pytestmark = pytest.mark.usefixtures("socket_enabled")

SERVER = {"id": 1, "name": "hk-edge-01", "tag": "Production", "last_active": 1733040000}
LIST_BODY = {"code": 0, "message": "success", "result": [SERVER]}
JSON_UTF8 = "application/json; charset=utf-8"


@contextlib.asynccontextmanager
async def answering(
    body: bytes, *, date: str | None = None, chunked: bool = False
) -> AsyncIterator[str]:
    """A server answering every GET with ``body`` in 1000-byte writes; that Date only."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": JSON_UTF8})
        if chunked:
            response.enable_chunked_encoding()
        else:
            response.content_length = len(body)
        await response.prepare(request)
        for start in range(0, len(body), 1000):
            await response.write(body[start : start + 1000])
        return response

    async def set_date(request: web.Request, response: web.StreamResponse) -> None:
        del response.headers["Date"]  # aiohttp's own, set before this hook
        if date is not None:
            response.headers["Date"] = date

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    app.on_response_prepare.append(set_date)
    async with serve(app) as url:
        yield url


async def test_server_time_follows_the_dashboard_clock(
    freezer: FrozenDateTimeFactory, session: ClientSession, simulator: NezhaSimulator
) -> None:
    """Exact server time from the Date header (charset stripped); ages count by it."""
    simulator.shift_clock(-3600)
    raw = await Transport(session, simulator.url).get(LIST)
    expected = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    assert (raw.date, raw.path, raw.status) == (expected, LIST, 200)
    assert (raw.content_type, raw.is_json) == ("application/json", True)
    fleet = await NezhaV0Client(session, simulator.url, TOKEN).async_get_fleet()
    assert fleet.server_time == expected
    assert fleet.server_time.utcoffset() == timedelta(0)
    # Online detection compares against the dashboard's clock, not ours.
    for server in fleet.servers.values():
        age = server.seconds_since_report(fleet.server_time)
        assert age is not None and 0 <= age <= 2


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        (None, None),  # no Date header at all: local time
        ("", None),
        ("garbage", None),
        ("Tue, 99 Foo 2024 99:99:99 GMT", None),
        ("Mon, 01 Jan 2024 00:00:00 -0000", None),  # parses, but without a time zone
        ("Mon, 01 Jan 99999 00:00:00 GMT", None),
        ("Mon, 01 Jan 2024 08:00:00 +0800", datetime(2024, 1, 1, tzinfo=UTC)),
    ],
)
async def test_date_header(
    freezer: FrozenDateTimeFactory,
    session: ClientSession,
    date: str | None,
    expected: datetime | None,
) -> None:
    """A usable Date header converted to UTC, else our own clock."""
    async with answering(b"{}", date=date) as url:
        raw = await Transport(session, url).get("/x")
    assert raw.date == (expected or datetime.now(UTC))
    assert raw.date.tzinfo is UTC


ELSEWHERE = "{target}" + LIST


@pytest.mark.parametrize(
    ("status", "location", "expected"),
    [
        # To another origin (the token would go along), whatever the status.
        *(
            (status, ELSEWHERE + "?token=stolen&x=1#frag", ELSEWHERE)
            for status in (301, 302, 303, 307, 308)
        ),
        (302, "/login?next=%2Fapi", "{url}/login"),
        (302, "other", "{url}/api/v1/server/other"),
        (302, None, "{url}" + DETAILS),  # no Location at all: the URL asked for
        (302, "//admin:s3cret@127.0.0.1:1/in?x=1", "http://127.0.0.1:1/in"),
        (301, "http://[bad/api?key=1#x", "http://[bad/api"),  # unparsable
        (301, "https://h:99999/p#f", "https://h:99999/p"),
    ],
)
async def test_redirects_are_never_followed(
    session: ClientSession, status: int, location: str | None, expected: str
) -> None:
    """Elsewhere, relative, missing, with credentials or unparsable: a redirect error."""
    async with NezhaSimulator(servers=2, token=TOKEN) as target:
        elsewhere = target.url
        where = location and location.format(target=elsewhere)
        async with status_server(status, where) as (url, seen):
            client = NezhaV0Client(session, url, TOKEN)
            err = await expect(NezhaRedirectError, client.async_get_fleet("Lab"))
        assert target.requests == []  # never asked, so never shown the token
    assert err.location == expected.format(url=url, target=elsewhere)
    assert seen == [f"{DETAILS}?tag=Lab"]
    assert isinstance(err, NezhaResponseError) and f"HTTP {status}" in str(err)
    assert "stolen" not in str(err) and "s3cret" not in str(err)


async def test_fleet_body_size(
    socket_enabled: None, monkeypatch: pytest.MonkeyPatch, session: ClientSession
) -> None:
    """Several hundred KB in many chunks are all read; over the cap, an error."""
    async with NezhaSimulator(servers=400, token=TOKEN) as sim:
        raw = await Transport(session, sim.url).get(
            DETAILS, headers={"Authorization": TOKEN}, max_bytes=FLEET_BODY_BYTES
        )
        assert len(raw.body) > 256 * 1024
        assert len(raw.json()["result"]) == 400
        client = NezhaV0Client(session, sim.url, TOKEN)
        fleet = await client.async_get_fleet()
        assert set(fleet.servers) == set(sim.fleet.servers)
        monkeypatch.setattr(v0_module, "FLEET_BODY_BYTES", 1024)
        err = await expect(NezhaTooLargeError, client.async_get_fleet())
    assert "larger than 1 KiB" in str(err)  # by Content-Length
    assert err.limit == 1024


@pytest.mark.parametrize("chunked", [False, True])
async def test_body_cap_boundary(
    monkeypatch: pytest.MonkeyPatch, session: ClientSession, chunked: bool
) -> None:
    body = json.dumps(LIST_BODY).encode() * 10  # 10 chunks of 1000 bytes or so
    async with answering(body, chunked=chunked) as url:
        transport = Transport(session, url)
        monkeypatch.setattr(transport_module, "MAX_BODY_BYTES", len(body))
        assert (await transport.get(LIST)).body == body
        monkeypatch.setattr(transport_module, "MAX_BODY_BYTES", len(body) - 1)
        err = await expect(NezhaTooLargeError, transport.get(LIST))
    assert "larger than" in str(err)


async def test_failures_against_the_simulator(
    session: ClientSession, simulator: NezhaSimulator
) -> None:
    """Unsendable header (nothing sent); trailing-slash redirect (not followed)."""
    transport = Transport(session, simulator.url)
    bad_header = transport.get(LIST, headers={"X-Test": "a\r\nb"})
    err = await expect(NezhaConnectionError, bad_header)
    assert "could not be built (ValueError)" in str(err)
    assert simulator.requests == []
    slash = transport.get(DETAILS + "/", params={"id": "1"})
    err = await expect(NezhaRedirectError, slash)
    assert err.location == simulator.url + DETAILS  # no query string
    assert "HTTP 301" in str(err)
    assert len(simulator.requests) == 1  # never followed


async def test_tls(session: ClientSession, tmp_path: Path) -> None:
    """Without verification a self-signed dashboard answers; with it, a TLS error."""
    async with (
        tls_server(tmp_path, json_app({LIST: LIST_BODY})) as (url, aborted),
        ClientSession(connector=TCPConnector(ssl=False)) as insecure,
    ):
        summaries = await NezhaV0Client(insecure, url, TOKEN).async_list_servers()
        assert [(s.id, s.name, s.tag) for s in summaries] == [
            (1, "hk-edge-01", "Production")
        ]
        assert not aborted.is_set()
        client = NezhaV0Client(session, url, TOKEN)
        err = await expect(NezhaTLSError, client.async_list_servers())
        await asyncio.wait_for(aborted.wait(), 5)  # the client hung up on it
    assert isinstance(err, NezhaConnectionError)
    assert "Certificate" in str(err)


async def test_no_error_or_repr_contains_the_token(
    session: ClientSession, simulator: NezhaSimulator
) -> None:
    """Produce every error type with token-bearing clients; none may show a token."""
    errors: list[NezhaError] = []
    clients: list[NezhaV0Client] = []
    sim = simulator.url

    async def collect(
        url: str = sim,
        token: str = TOKEN,
        call: Call = CALLS["fleet"],
        *,
        error: type[NezhaError] = NezhaError,
        words: str | None = None,
        **kwargs: Any,
    ) -> None:
        """A new client's call raises ``error`` (exactly, if given) saying ``words``."""
        clients.append(NezhaV0Client(session, url, token, **kwargs))
        with pytest.raises(error, match=words and re.escape(words)) as info:
            await call(clients[-1])
        assert error is NezhaError or type(info.value) is error
        errors.append(info.value)

    for token in (WRONG_TOKEN, "Bearer " + TOKEN, "", TOKEN + "\n"):
        await collect(token=token)
    hidden = next(s.id for s in simulator.fleet.servers.values() if s.hide_for_guest)
    await collect(token=WRONG_TOKEN, call=lambda c: c.async_get_ping_monitors(hidden))
    await collect(call=lambda c: c.async_get_ping_monitors(999))
    for fault in Fault:
        if fault is not Fault.SLOW:
            simulator.inject_fault(fault, count=None)
            await collect()
            simulator.clear_faults()
    simulator.slow_seconds = 2
    simulator.inject_fault(Fault.SLOW)
    await collect(timeout=0.3)
    await collect(sim + "/sub", call=CALLS["monitors"])
    for url, words in [
        ("http://127.0.0.1:1", "ClientConnectorError"),  # refused: no one on port 1
        ("http://[::1", "could not be built"),
        ("ftp://127.0.0.1", "NonHttpUrlClientError"),
    ]:
        await collect(url, error=NezhaConnectionError, words=words)
    await collect(sim.replace("http://", "https://"), error=NezhaTLSError)
    async with status_server(302, f"{sim}{LIST}?token={TOKEN}") as (url, _):
        await collect(url, call=CALLS["list"])
    async with serve(json_app(V1_BODIES)) as url:
        await collect(url, call=CALLS["list"])

    produced = {type(err) for err in errors}
    assert produced == {
        *(NezhaAuthError, NezhaTokenError, NezhaConnectionError, NezhaTimeoutError),
        *(NezhaTLSError, NezhaResponseError, NezhaRedirectError, NezhaNotFoundError),
        NezhaUnsupportedError,
    }
    assert issubclass(NezhaUnsupportedError, NezhaResponseError)
    assert_secret_free(*errors, *clients)
    for err in errors:
        assert TOKEN not in str(getattr(err, "location", ""))
