"""The v0 client's own behaviour; scenarios both generations share: test_generations."""

from datetime import UTC, datetime, timedelta
import time
from typing import Any

import aiohttp
from freezegun.api import FrozenDateTimeFactory
import pytest

from custom_components.nezha.client import (
    NezhaAuthError,
    NezhaConnectionError,
    NezhaError,
    NezhaResponseError,
    NezhaTimeoutError,
    NezhaUnsupportedError,
    NezhaV0Client,
    PingMonitor,
)
from nezha_dev.simulator import MISSING, Fault, NezhaSimulator, PingSeries
from nezha_dev.simulator.v1_render import sorted_ids
from tests.client.common import (
    CALLS,
    CLIENT_LOGGER,
    DETAILS,
    LIST,
    V1_BODIES,
    WRONG_TOKEN,
    expect,
    expected_server,
    serving,
    warnings_of,
)
from tests.conftest import TOKEN

pytestmark = pytest.mark.usefixtures("socket_enabled")

ENDPOINTS = ("list", "fleet", "monitors")
MONITOR = "/api/v1/monitor/1"


def v0_body(result: Any) -> dict[str, Any]:
    """A v0 success envelope around ``result``."""
    return {"code": 0, "message": "success", "result": result}


@pytest.mark.parametrize("endpoint", ENDPOINTS[:2])
@pytest.mark.parametrize(
    "token", [WRONG_TOKEN, "Bearer " + TOKEN, TOKEN.lower(), " " + TOKEN[1:]]
)
async def test_edge_c1_auth_failure_is_http_200_code_403(
    session: aiohttp.ClientSession, simulator: NezhaSimulator, endpoint: str, token: str
) -> None:
    client = NezhaV0Client(session, simulator.url, token)
    err = await expect(NezhaAuthError, CALLS[endpoint](client))
    assert "rejected the API token" in str(err)
    assert len(simulator.requests) == 1  # the answer was a 200, not a redirect


async def test_edge_c5_null_cpu_gpu_temperatures_and_the_gpu_figure(
    freezer: FrozenDateTimeFactory,
    simulator: NezhaSimulator,
    client: NezhaV0Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gpu_box = next(s.id for s in simulator.fleet.servers.values() if s.host.gpu)
    before = (await client.async_get_fleet()).servers[gpu_box]
    assert before.host.cpu and before.host.gpu and before.state.gpu
    assert before.state.temperatures
    for field in ("host.CPU", "host.GPU", "status.Temperatures"):
        simulator.set_malformed(gpu_box, field, None)

    server = (await client.async_get_fleet()).servers[gpu_box]
    assert (server.host.cpu, server.host.gpu, server.state.temperatures) == ((), (), ())
    assert server.state.gpu == ()  # no GPU listed, so its figure means nothing
    # Legitimate nulls: nothing else changed and nothing is logged.
    assert server.state.cpu == before.state.cpu
    assert server.host.mem_total == before.host.mem_total
    assert warnings_of(caplog, CLIENT_LOGGER) == []

    # A status GPU figure counts only when the host lists a GPU.
    plain = next(s.id for s in simulator.fleet.servers.values() if not s.host.gpu)
    simulator.set_malformed(plain, "status.GPU", 55.5)
    simulator.set_malformed(plain, "status.CPU", None)
    server = (await client.async_get_fleet()).servers[plain]
    assert server.state.gpu == ()
    assert server.state.cpu is None  # HostState.CPU is a float64: null is a problem
    simulator.set_malformed(plain, "host.GPU", ["Intel UHD 630"])
    server = (await client.async_get_fleet()).servers[plain]
    assert (server.host.gpu, server.state.gpu) == (("Intel UHD 630",), (55.5,))


@pytest.mark.parametrize("tag", ["Production", "Lab", "生产 环境&x=1"])
async def test_edge_c6_c8_tag_filter_is_sent_and_hides_display_index(
    simulator: NezhaSimulator, client: NezhaV0Client, tag: str
) -> None:
    # The v0 API has no services or quotas; asking costs nothing.
    overview = await client.async_get_service_overview()
    assert (overview.services, overview.quotas) == ([], {})
    assert simulator.requests == []
    simulator.add_server("tagged-extra", tag, display_index=7)
    servers = simulator.fleet.servers
    wanted = [sid for sid, s in servers.items() if s.tag == tag]
    full = await client.async_get_fleet()
    fleet = await client.async_get_fleet(tag=tag)
    summaries = await client.async_list_servers(tag=tag)
    assert {s.id for s in summaries} == set(wanted)
    assert all(s.tag == tag for s in summaries)
    # c6: display_index comes only without params; so the order falls back to the id.
    assert list(fleet.servers) == sorted(wanted)
    assert any(servers[sid].display_index for sid in wanted)
    for sid in wanted:
        assert full.servers[sid].display_index == servers[sid].display_index
        assert fleet.servers[sid].display_index == 0  # v0 leaves it unset
    # No tag (None or "") sends no query at all.
    await client.async_get_fleet(tag="")
    await client.async_list_servers(tag=None)
    assert [(r.path, r.query) for r in simulator.requests] == [
        *((DETAILS, {}), (DETAILS, {"tag": tag}), (LIST, {"tag": tag})),
        *((DETAILS, {}), (LIST, {})),
    ]


async def test_edge_c7_random_order_gives_stable_output(
    session: aiohttp.ClientSession, simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    raw_orders = set()
    for _ in range(6):
        async with session.get(
            simulator.url + DETAILS, headers={"Authorization": TOKEN}
        ) as resp:
            raw_orders.add(tuple(e["id"] for e in (await resp.json())["result"]))
    assert len(raw_orders) > 1  # the dashboard really answers in random order

    orders = {tuple((await client.async_get_fleet()).servers) for _ in range(6)}
    assert orders == {tuple(sorted_ids(simulator.fleet))}
    summaries = [await client.async_list_servers() for _ in range(3)]
    assert all({s.id for s in run} == set(simulator.fleet.servers) for run in summaries)


BASE_MS = 1733036400000  # a whole minute


def crafted_history(sim: NezhaSimulator) -> list[PingSeries]:
    """Ping rows with duplicate minutes, lost probes (0) and the 1000 ms cap."""
    monitors = sim.fleet.monitors

    def at(*minutes: int) -> list[int]:
        return [BASE_MS + 60_000 * m for m in minutes]

    return [  # deliberately not in monitor order: the client sorts
        PingSeries(monitors[5], at(0, 1, 1), [0.0, 0.0, 1000.0]),
        PingSeries(monitors[2], at(0, 1, 1, 2, 2), [38.2185, 1000.0, 0.0, 19.4592, 0]),
        PingSeries(monitors[3], at(0, 1), [5.5, 7.25]),
        # Arrays that disagree in length: extra stamps are ignored.
        PingSeries(monitors[4], at(0, 1, 2), [12.0]),
    ]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_edge_c11_html_page_is_response_error(
    session: aiohttp.ClientSession, simulator: NezhaSimulator, endpoint: str
) -> None:
    # A URL with an extra path hits gin's NoRoute: an HTML 404 page.
    client = NezhaV0Client(session, simulator.url + "/nezha", TOKEN)
    err = await expect(NezhaResponseError, CALLS[endpoint](client))
    assert "HTML" in str(err)
    assert simulator.requests[0].path.startswith("/nezha/api/v1/")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *((value, value) for value in (2**64 - 1, 2**63 + 1, 2**53 + 1)),
        *((value, None) for value in (2**64, 2**70, -(2**70))),
    ],
)
async def test_edge_c12_uint64_limits(
    simulator: NezhaSimulator, client: NezhaV0Client, raw: int, expected: int | None
) -> None:
    simulator.set_malformed(1, "status.NetOutTransfer", raw)
    simulator.set_malformed(1, "host.MemTotal", raw)
    server = (await client.async_get_fleet()).servers[1]
    assert server.state.net_out_transfer == server.host.mem_total == expected
    if expected is not None:
        # Each of these is odd, so a float round trip would have changed it.
        assert type(server.state.net_out_transfer) is int
        assert int(float(raw)) != raw


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        (None, NezhaUnsupportedError, "v1"),  # a v1 dashboard's answers
        *((body, NezhaResponseError, "") for body in ([1, 2], {"message": "success"})),
        *((body, NezhaResponseError, "") for body in ({"code": "0"}, {"code": True})),
        ({"code": 7}, NezhaResponseError, ""),
        *(
            (v0_body(result), NezhaResponseError, "'result' is not a list")
            for result in ({"id": 1}, "x", 5)
        ),
    ],
)
async def test_answers_that_are_not_the_v0_api(
    body: Any, error: type[NezhaError], words: str
) -> None:
    routes = (
        V1_BODIES if body is None else dict.fromkeys((LIST, DETAILS, MONITOR), body)
    )
    async with serving(routes, NezhaV0Client) as client:
        for endpoint in ENDPOINTS:
            err = await expect(error, CALLS[endpoint](client))
            assert words in str(err)


async def test_null_result_on_server_endpoints_is_empty() -> None:
    routes = {DETAILS: v0_body(None), LIST: v0_body(None)}
    async with serving(routes, NezhaV0Client) as c:
        fleet = await c.async_get_fleet()
        assert fleet.servers == {} and fleet.complete
        assert await c.async_list_servers() == []


FAULTS: dict[Fault, tuple[type[NezhaError], str]] = {
    Fault.EMPTY_200: (NezhaResponseError, "empty response"),
    Fault.TRUNCATED_JSON: (NezhaResponseError, "not valid JSON"),
    Fault.NOT_JSON: (NezhaResponseError, "not valid JSON"),
    Fault.HTML_200: (NezhaResponseError, "HTML page"),
    Fault.SERVER_500_EMPTY: (NezhaConnectionError, "HTTP 500"),
    Fault.HTML_502: (NezhaConnectionError, "HTTP 502"),  # a proxy's error page
    Fault.RESET: (NezhaConnectionError, "Error"),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("fault", FAULTS)
async def test_fault(
    simulator: NezhaSimulator, client: NezhaV0Client, endpoint: str, fault: Fault
) -> None:
    error, words = FAULTS[fault]
    simulator.inject_fault(fault, count=None)  # aiohttp retries a RESET once
    err = await expect(error, CALLS[endpoint](client))
    assert words in str(err)
    simulator.clear_faults()
    await CALLS[endpoint](client)  # the next request is fine again


async def test_fault_reset_once_slow_answers_and_the_timeout(
    session: aiohttp.ClientSession, simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    """aiohttp resends an idempotent GET once after a dropped connection."""
    simulator.inject_fault(Fault.RESET, count=1)
    assert len((await client.async_get_fleet()).servers) == 5
    assert [r.path for r in simulator.requests] == [DETAILS, DETAILS]
    # A slow answer within the timeout is fine; beyond it, a timeout error at once.
    for slow, limit in ((0.2, 5), (2, 0.5)):
        simulator.slow_seconds = slow
        simulator.inject_fault(Fault.SLOW)
        timed = NezhaV0Client(session, simulator.url, TOKEN, timeout=limit)
        started = time.monotonic()
        if slow < limit:
            assert len((await timed.async_get_fleet()).servers) == 5
            continue
        err = await expect(NezhaTimeoutError, timed.async_get_fleet())
        assert time.monotonic() - started < 1.5
        assert isinstance(err, NezhaConnectionError)
        assert "0.5 s" in str(err)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        *(("status", value) for value in ("oops", [1])),
        *(("host", value) for value in (5, "x")),
        *(("id", value) for value in ("abc", None, -1, 1.5, MISSING)),
    ],
)
@pytest.mark.usefixtures("freezer")
async def test_unreadable_record_is_left_out(
    simulator: NezhaSimulator,
    client: NezhaV0Client,
    caplog: pytest.LogCaptureFixture,
    field: str,
    value: object,
) -> None:
    """A bad host or status skips the record; without a usable id nothing is known."""
    simulator.set_malformed(2, field, value)
    fleet = await client.async_get_fleet()
    skipped = field != "id"
    assert fleet.skipped_ids == ({2} if skipped else frozenset())
    assert fleet.complete is skipped
    assert fleet.may_have(2)  # skipped is not deleted
    assert fleet.may_have(12345) is not skipped  # incomplete: nothing may be removed
    assert set(fleet.servers) == set(simulator.fleet.servers) - {2}
    for sid, server in fleet.servers.items():
        assert server == expected_server(simulator, sid)
    (logged,) = warnings_of(caplog, CLIENT_LOGGER)
    assert f"server.{field}" in logged
    # The list endpoint drops a record without id too.
    summaries = {s.id for s in await client.async_list_servers()}
    assert summaries == set(simulator.fleet.servers) - (set() if skipped else {2})


@pytest.mark.parametrize("junk", [5, "x", None, [1], True])
async def test_non_object_records_are_skipped(junk: Any) -> None:
    good = {"id": 9, "name": "ok", "tag": "", "last_active": 1733040000}
    good |= {"host": {"Platform": "debian"}, "status": {"CPU": 1.5}}
    body = v0_body([junk, good])
    record = {"monitor_id": 7, "monitor_name": "", "created_at": None, "avg_delay": 3}
    records = [junk, record, dict(record, monitor_name="dup"), {"monitor_id": "x"}]
    routes = {DETAILS: body, LIST: body, "/api/v1/monitor/4": v0_body(records)}
    async with serving(routes, NezhaV0Client) as client:
        fleet = await client.async_get_fleet()
        summaries = await client.async_list_servers()
        monitors = await client.async_get_ping_monitors(4)
    assert list(fleet.servers) == [9]
    assert fleet.servers[9].host.platform == "debian"
    assert fleet.servers[9].state.cpu == 1.5
    assert fleet.complete is False  # a record of unknown id may be any server
    assert [(s.id, s.name) for s in summaries] == [(9, "ok")]
    # Monitor records: junk and a bad id are skipped, a duplicate id keeps the first.
    assert monitors == [PingMonitor(7, 4, "Monitor 7", None, None, points=0, lost=0)]
    assert monitors[0].loss_percent is None


async def test_monitor_route_guests_and_points(
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    session: aiohttp.ClientSession,
    simulator: NezhaSimulator,
    client: NezhaV0Client,
) -> None:
    """Guests but not hidden servers (despite a bad token); crafted points (c10)."""
    guest = NezhaV0Client(session, simulator.url, WRONG_TOKEN)
    monitors = await guest.async_get_ping_monitors(1)
    assert [m.monitor_id for m in monitors] == [
        s.monitor.id for s in simulator.fleet.ping_history(1)
    ]
    hidden = next(s.id for s in simulator.fleet.servers.values() if s.hide_for_guest)
    err = await expect(NezhaAuthError, guest.async_get_ping_monitors(hidden))
    assert "HTTP 403" in str(err)
    assert await client.async_get_ping_monitors(hidden)  # the token may see it
    # Reachable through the int API: v0 answers HTTP 400 {"code":400}.
    err = await expect(NezhaResponseError, client.async_get_ping_monitors(-1))
    assert "code 400" in str(err)

    simulator.set_view_password(True)
    # A valid token skips the view password.
    assert await client.async_get_ping_monitors(1)
    # Without it the dashboard answers HTTP 200 {"code":403}. The client does not
    # treat that envelope as an auth failure on this route (auth_checked=False):
    # a bad token is caught by the server endpoints, which every poll calls first.
    refused = await expect(NezhaResponseError, guest.async_get_ping_monitors(1))
    assert "code 403" in str(refused)
    simulator.set_view_password(False)
    assert await guest.async_get_ping_monitors(1)
    # c10: points of crafted rows.
    sim = simulator
    monkeypatch.setattr(sim.fleet, "ping_history", lambda sid: crafted_history(sim))
    monitors = await client.async_get_ping_monitors(1)
    assert [m.monitor_id for m in monitors] == [2, 3, 4, 5]
    assert (monitors[0].name, monitors[0].server_id) == (sim.fleet.monitors[2].name, 1)
    at, minute = datetime.fromtimestamp(BASE_MS / 1000, UTC), timedelta(minutes=1)
    assert [(m.latest_at, m.latest_delay, m.points, m.lost) for m in monitors] == [
        (at + 2 * minute, None, 5, 2),  # duplicate minute, last point lost: unknown
        (at + minute, 7.25, 2, 0),  # plain: newest point wins, milliseconds as such
        (at, 12.0, 1, 0),  # extra stamps are ignored
        (at + minute, 1000.0, 3, 2),  # the 1000 ms cap is a value, zeros are losses
    ]
    assert [m.loss_percent for m in monitors] == [40.0, 0.0, 0.0, 66.67]
