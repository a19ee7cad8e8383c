"""Tests of the v0 client against the simulated dashboard, over real HTTP.

Expected values are read from the simulator's own fleet state; the clock is frozen
(``freezer``) wherever a value depends on it, so the simulator computes the same
numbers for the answer and for the assertions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
import logging
import time
from typing import Any

import aiohttp
from freezegun.api import FrozenDateTimeFactory
import pytest

from custom_components.nezha.client import (
    Fleet,
    Host,
    NezhaAuthError,
    NezhaConnectionError,
    NezhaError,
    NezhaNotFoundError,
    NezhaRedirectError,
    NezhaResponseError,
    NezhaTimeoutError,
    NezhaTokenError,
    NezhaUnsupportedError,
    NezhaV0Client,
    PingMonitor,
    Server,
    State,
)
from custom_components.nezha.client.transport import Transport
from nezha_dev.simulator import MISSING, Fault, NezhaSimulator, PingSeries
from nezha_dev.simulator.catalog import MonitorKind
from nezha_dev.simulator.v0 import split_ip
from tests.client.common import (
    CLIENT_LOGGER,
    DETAILS,
    LIST,
    V1_BODIES,
    WRONG_TOKEN,
    assert_secret_free,
    expect,
    json_app,
    serve,
)
from tests.conftest import TOKEN, register_secret

pytestmark = pytest.mark.usefixtures("socket_enabled")

Call = Callable[[NezhaV0Client], Awaitable[Any]]
ENDPOINTS: dict[str, Call] = {
    "list": lambda c: c.async_list_servers(),
    "details": lambda c: c.async_get_fleet(),
    "monitor": lambda c: c.async_get_ping_monitors(1),
}
SERVER_ENDPOINTS = {k: ENDPOINTS[k] for k in ("list", "details")}


def expected_order(sim: NezhaSimulator, ids: list[int] | None = None) -> list[int]:
    """The v0 UI order: display_index descending, then id ascending."""
    servers = sim.fleet.servers
    chosen = list(servers) if ids is None else ids
    return sorted(chosen, key=lambda sid: (-servers[sid].display_index, sid))


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Warnings the client logged so far."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == CLIENT_LOGGER and r.levelno == logging.WARNING
    ]


def assert_matches_simulator(server: Server, sim: NezhaSimulator) -> None:
    """Every field of ``server`` equals what the simulator holds for it."""
    fleet = sim.fleet
    sim_server = fleet.servers[server.id]
    host = fleet.reported_host(server.id)
    status = fleet.status(server.id)
    assert host is not None and status is not None
    assert server.name == sim_server.name
    assert server.tag == sim_server.tag
    assert server.display_index == sim_server.display_index
    assert server.last_active == datetime.fromtimestamp(
        fleet.last_active(server.id), UTC
    )
    assert (server.ipv4, server.ipv6, server.valid_ip) == split_ip(host.ip)
    assert server.host == Host(
        platform=host.platform,
        platform_version=host.platform_version,
        cpu=host.cpu or (),
        mem_total=host.mem_total,
        disk_total=host.disk_total,
        swap_total=host.swap_total,
        arch=host.arch,
        virtualization=host.virtualization,
        boot_time=datetime.fromtimestamp(host.boot_time, UTC),
        country_code=host.country_code,
        agent_version=host.version,
        gpu=host.gpu or (),
    )
    state = server.state
    assert state.cpu == status.cpu
    assert state.mem_used == status.mem_used
    assert state.swap_used == status.swap_used
    assert state.disk_used == status.disk_used
    assert state.net_in_transfer == status.net_in_transfer
    assert state.net_out_transfer == status.net_out_transfer
    assert state.net_in_speed == status.net_in_speed
    assert state.net_out_speed == status.net_out_speed
    assert state.uptime == status.uptime
    assert (state.load_1, state.load_5, state.load_15) == (
        status.load1,
        status.load5,
        status.load15,
    )
    assert state.tcp_conn_count == status.tcp_conn_count
    assert state.udp_conn_count == status.udp_conn_count
    assert state.process_count == status.process_count
    assert [(t.name, t.celsius) for t in state.temperatures] == [
        (t.name, t.temperature) for t in status.temperatures or ()
    ]
    # v0's single GPU figure means something only when the host lists a GPU.
    assert state.gpu == ((status.gpu,) if host.gpu else ())


# -- happy path ----------------------------------------------------------------------


async def test_fleet_matches_simulator_state(
    freezer: FrozenDateTimeFactory,
    simulator: NezhaSimulator,
    client: NezhaV0Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fleet = await client.async_get_fleet()

    assert isinstance(fleet, Fleet)
    assert set(fleet.servers) == set(simulator.fleet.servers)
    assert fleet.complete is True
    assert fleet.skipped_ids == frozenset()
    assert fleet.server_time == datetime.fromtimestamp(int(simulator.now()), UTC)
    for server_id, server in fleet.servers.items():
        assert server.id == server_id
        assert_matches_simulator(server, simulator)
        assert server.last_active is not None
        assert server.last_active.utcoffset() == timedelta(0)
        assert server.seconds_since_report(fleet.server_time) in (0.0, 1.0)
    assert warnings_of(caplog) == []

    # The catalogue shapes the assertions above rely on are really present.
    servers = fleet.servers.values()
    assert any(not s.name.isascii() for s in servers)  # 东京-web-03
    assert any(s.host.gpu and s.state.gpu for s in servers)
    assert any(not s.host.gpu and not s.state.gpu for s in servers)
    assert any(s.state.temperatures for s in servers)
    assert any(s.ipv4 and s.ipv6 for s in servers)
    assert any(s.ipv6 and not s.ipv4 for s in servers)
    assert {s.tag for s in servers} >= {"Production", "Lab", ""}


async def test_fleet_is_sorted_by_display_index_then_id(
    simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    simulator.add_server("late-but-first", display_index=50)
    simulator.add_server("late-tie", display_index=10)  # ties with fra-db-02
    fleet = await client.async_get_fleet()
    assert list(fleet.servers) == expected_order(simulator)
    assert len({s.display_index for s in simulator.fleet.servers.values()}) > 2


async def test_list_servers_matches_simulator(
    simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    summaries = await client.async_list_servers()
    assert sorted((s.id, s.name, s.tag) for s in summaries) == sorted(
        (sid, s.name, s.tag) for sid, s in simulator.fleet.servers.items()
    )
    assert [r.path for r in simulator.requests] == [LIST]


async def test_ping_monitors_match_simulator_history(
    freezer: FrozenDateTimeFactory,
    simulator: NezhaSimulator,
    client: NezhaV0Client,
) -> None:
    with_history = 0
    for server_id in simulator.fleet.servers:
        monitors = await client.async_get_ping_monitors(server_id)
        history = simulator.fleet.ping_history(server_id)
        assert [m.monitor_id for m in monitors] == [s.monitor.id for s in history]
        for monitor, series in zip(monitors, history, strict=True):
            with_history += 1
            lost = sum(1 for delay in series.avg_delay if delay == 0)
            assert monitor == PingMonitor(
                monitor_id=series.monitor.id,
                server_id=server_id,
                name=series.monitor.name,
                latest_at=datetime.fromtimestamp(series.created_at[-1] / 1000, UTC),
                latest_delay=series.avg_delay[-1] or None,
                points=len(series.created_at),
                lost=lost,
                average_delay=round(
                    sum(series.avg_delay) / (len(series.avg_delay) - lost), 2
                ),
            )
            assert monitor.loss_percent == round(100 * lost / monitor.points, 2)
    assert with_history > 0
    # HTTP monitors never write per-server rows, so hk-edge-01's one never shows.
    configured = simulator.fleet.servers[1].monitor_ids
    assert MonitorKind.HTTP in {simulator.fleet.monitors[m].kind for m in configured}
    shown = {m.monitor_id for m in await client.async_get_ping_monitors(1)}
    assert shown == {
        m for m in configured if simulator.fleet.monitors[m].writes_server_history
    }


async def test_repr_and_base_url(
    session: aiohttp.ClientSession, simulator: NezhaSimulator
) -> None:
    client = NezhaV0Client(session, simulator.url + "/", TOKEN)
    assert client.base_url == simulator.url
    assert repr(client) == f"NezhaV0Client({simulator.url!r})"
    assert client.generation.value == "v0"
    assert_secret_free(client)


async def test_service_overview_is_empty_without_a_request(
    simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    """The v0 API has no services or quotas; asking costs nothing."""
    overview = await client.async_get_service_overview()
    assert overview.services == []
    assert overview.quotas == {}
    assert simulator.requests == []


# -- §C v0 edge cases ----------------------------------------------------------------


@pytest.mark.parametrize("endpoint", SERVER_ENDPOINTS)
@pytest.mark.parametrize(
    "token", [WRONG_TOKEN, "Bearer " + TOKEN, TOKEN.lower(), " " + TOKEN[1:]]
)
async def test_edge_c1_auth_failure_is_http_200_code_403(
    session: aiohttp.ClientSession,
    simulator: NezhaSimulator,
    endpoint: str,
    token: str,
) -> None:
    client = NezhaV0Client(session, simulator.url, token)
    err = await expect(NezhaAuthError, ENDPOINTS[endpoint](client))
    assert "rejected the API token" in str(err)
    assert len(simulator.requests) == 1  # the answer was a 200, not a redirect


@pytest.mark.parametrize("endpoint", SERVER_ENDPOINTS)
async def test_edge_c1_revoked_token_is_auth_error(
    simulator: NezhaSimulator, client: NezhaV0Client, endpoint: str
) -> None:
    await ENDPOINTS[endpoint](client)
    simulator.revoke_token()
    await expect(NezhaAuthError, ENDPOINTS[endpoint](client))


async def test_edge_c1_monitor_route_serves_guests_despite_a_bad_token(
    freezer: FrozenDateTimeFactory,
    session: aiohttp.ClientSession,
    simulator: NezhaSimulator,
) -> None:
    guest = NezhaV0Client(session, simulator.url, WRONG_TOKEN)
    monitors = await guest.async_get_ping_monitors(1)
    assert [m.monitor_id for m in monitors] == [
        s.monitor.id for s in simulator.fleet.ping_history(1)
    ]


async def test_edge_c1_unsendable_token_is_auth_error_without_request(
    session: aiohttp.ClientSession, simulator: NezhaSimulator
) -> None:
    pasted = register_secret(TOKEN + "\n")
    client = NezhaV0Client(session, simulator.url, pasted)
    for call in ENDPOINTS.values():
        await expect(NezhaTokenError, call(client))
    assert simulator.requests == []


async def test_edge_c2_raw_token_sent_without_bearer(
    simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    for call in ENDPOINTS.values():
        await call(client)
    assert [r.path for r in simulator.requests] == [LIST, DETAILS, "/api/v1/monitor/1"]
    for request in simulator.requests:
        assert request.headers["Authorization"] == TOKEN
        assert request.headers["Accept"] == "application/json"
        assert request.method == "GET"


async def test_edge_c3_never_reported_server_has_no_values(
    simulator: NezhaSimulator,
    client: NezhaV0Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.set_never_reported(4)
    fresh = simulator.add_server("just-added", "Lab", never_reported=True)
    fleet = await client.async_get_fleet()

    for server_id in (4, fresh):
        server = fleet.servers[server_id]
        assert server.last_active is None
        assert server.seconds_since_report(fleet.server_time) is None
        # Go zero values (0 %, 0 bytes) are not measurements: everything unknown.
        assert server.host == Host()
        assert server.state == State()
        assert server.name == simulator.fleet.servers[server_id].name
        assert (server.ipv4, server.ipv6, server.valid_ip) == ("", "", "")
    assert fleet.complete and not fleet.skipped_ids
    assert all(
        s.last_active for sid, s in fleet.servers.items() if sid not in (4, fresh)
    )
    assert warnings_of(caplog) == []
    assert {s.id for s in await client.async_list_servers()} >= {4, fresh}


async def test_edge_c3_reconnected_server_has_values_again(
    freezer: FrozenDateTimeFactory, simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    simulator.set_never_reported(2)
    assert (await client.async_get_fleet()).servers[2].state == State()
    simulator.set_online(2, True)
    assert_matches_simulator((await client.async_get_fleet()).servers[2], simulator)


async def test_edge_c4_monitor_result_null_is_empty_list(
    simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    nas = next(s.id for s in simulator.fleet.servers.values() if not s.monitor_ids)
    assert simulator.fleet.ping_history(nas) == []  # the simulator sends null
    assert await client.async_get_ping_monitors(nas) == []


async def test_edge_c4_dashboard_without_monitors(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    async with NezhaSimulator(servers=2, token=TOKEN, monitors=False) as sim:
        client = NezhaV0Client(session, sim.url, TOKEN)
        assert await client.async_get_ping_monitors(1) == []
        assert await client.async_get_ping_monitors(2) == []


async def test_edge_c5_null_cpu_gpu_and_temperatures(
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
    assert server.host.cpu == ()
    assert server.host.gpu == ()
    assert server.state.gpu == ()  # no GPU listed, so its figure means nothing
    assert server.state.temperatures == ()
    # Legitimate nulls: nothing else changed and nothing is logged.
    assert server.state.cpu == before.state.cpu
    assert server.host.mem_total == before.host.mem_total
    assert warnings_of(caplog) == []


async def test_edge_c5_status_gpu_only_counts_when_host_lists_a_gpu(
    freezer: FrozenDateTimeFactory, simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    plain = next(s.id for s in simulator.fleet.servers.values() if not s.host.gpu)
    simulator.set_malformed(plain, "status.GPU", 55.5)
    simulator.set_malformed(plain, "status.CPU", None)
    server = (await client.async_get_fleet()).servers[plain]
    assert server.state.gpu == ()
    assert server.state.cpu is None  # HostState.CPU is a float64: null is a problem
    simulator.set_malformed(plain, "host.GPU", ["Intel UHD 630"])
    server = (await client.async_get_fleet()).servers[plain]
    assert server.host.gpu == ("Intel UHD 630",)
    assert server.state.gpu == (55.5,)


async def test_edge_c6_display_index_only_without_params(
    simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    full = await client.async_get_fleet()
    tagged = await client.async_get_fleet(tag="Production")
    production = [
        s for s, v in simulator.fleet.servers.items() if v.tag == "Production"
    ]
    assert any(simulator.fleet.servers[s].display_index for s in production)
    for server_id in production:
        expected = simulator.fleet.servers[server_id].display_index
        assert full.servers[server_id].display_index == expected
        assert tagged.servers[server_id].display_index == 0  # v0 leaves it unset
    # With all indexes 0 the order falls back to the id.
    assert list(tagged.servers) == sorted(production)


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
    assert orders == {tuple(expected_order(simulator))}
    summaries = [await client.async_list_servers() for _ in range(3)]
    assert all({s.id for s in run} == set(simulator.fleet.servers) for run in summaries)


@pytest.mark.parametrize("tag", ["Production", "Lab", "生产 环境&x=1"])
async def test_edge_c8_tag_filter_is_sent(
    simulator: NezhaSimulator, client: NezhaV0Client, tag: str
) -> None:
    simulator.add_server("tagged-extra", tag)
    wanted = {sid for sid, s in simulator.fleet.servers.items() if s.tag == tag}
    fleet = await client.async_get_fleet(tag=tag)
    summaries = await client.async_list_servers(tag=tag)
    assert set(fleet.servers) == wanted
    assert {s.id for s in summaries} == wanted
    assert all(s.tag == tag for s in summaries)
    assert [(r.path, r.query) for r in simulator.requests] == [
        (DETAILS, {"tag": tag}),
        (LIST, {"tag": tag}),
    ]


async def test_edge_c8_no_tag_sends_no_query(
    simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    await client.async_get_fleet()
    await client.async_get_fleet(tag="")
    await client.async_list_servers(tag=None)
    assert [r.query for r in simulator.requests] == [{}, {}, {}]


@pytest.mark.parametrize(
    "ip", ["/2001:db8:3::4", "", "not-an-ip", "10.0.0.1/", "2001:db8::1", "1.2.3.4"]
)
async def test_edge_c9_empty_or_unvalidated_ip_fields(
    simulator: NezhaSimulator, client: NezhaV0Client, ip: str
) -> None:
    server_id = simulator.add_server("odd-ip", ip=ip)
    server = (await client.async_get_fleet()).servers[server_id]
    assert (server.ipv4, server.ipv6, server.valid_ip) == split_ip(ip)
    summary = next(s for s in await client.async_list_servers() if s.id == server_id)
    assert summary.name == "odd-ip"


BASE_MS = 1733036400000  # a whole minute


def crafted_history(sim: NezhaSimulator) -> list[PingSeries]:
    """Ping rows with duplicate minutes, lost probes (0) and the 1000 ms cap."""
    monitors = sim.fleet.monitors
    minute = 60_000
    return [
        # Deliberately not in monitor order: the client sorts.
        PingSeries(
            monitors[5],
            [BASE_MS, BASE_MS + minute, BASE_MS + minute],
            [0.0, 0.0, 1000.0],
        ),
        PingSeries(
            monitors[2],
            [BASE_MS, *[BASE_MS + minute] * 2, *[BASE_MS + 2 * minute] * 2],
            [38.2185, 1000.0, 0.0, 19.4592, 0.0],
        ),
        PingSeries(monitors[3], [BASE_MS, BASE_MS + minute], [5.5, 7.25]),
        # A series whose arrays disagree in length: extra stamps are ignored.
        PingSeries(
            monitors[4], [BASE_MS, BASE_MS + minute, BASE_MS + 2 * minute], [12.0]
        ),
    ]


async def test_edge_c10_monitor_points(
    monkeypatch: pytest.MonkeyPatch, simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    monkeypatch.setattr(
        simulator.fleet, "ping_history", lambda sid: crafted_history(simulator)
    )
    monitors = await client.async_get_ping_monitors(1)
    by_id = {m.monitor_id: m for m in monitors}
    assert [m.monitor_id for m in monitors] == [2, 3, 4, 5]
    at = datetime.fromtimestamp(BASE_MS / 1000, UTC)
    minute = timedelta(minutes=1)

    # Duplicate minute whose last point is lost: newest delay unknown, loss counted.
    assert by_id[2].latest_at == at + 2 * minute
    assert by_id[2].latest_delay is None
    assert (by_id[2].points, by_id[2].lost, by_id[2].loss_percent) == (5, 2, 40.0)
    assert by_id[2].name == simulator.fleet.monitors[2].name
    assert by_id[2].server_id == 1
    # The 1000 ms cap is kept as a value; earlier zeros are losses.
    assert by_id[5].latest_at == at + minute
    assert by_id[5].latest_delay == 1000.0
    assert (by_id[5].points, by_id[5].lost) == (3, 2)
    # Plain series: newest point wins, milliseconds read as such.
    assert (by_id[3].latest_at, by_id[3].latest_delay) == (at + minute, 7.25)
    assert (by_id[3].lost, by_id[3].loss_percent) == (0, 0.0)
    assert (by_id[4].points, by_id[4].latest_at, by_id[4].latest_delay) == (1, at, 12.0)


async def test_edge_c10_live_history_loss_and_cap(
    freezer: FrozenDateTimeFactory, simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    """Over the simulator's real 24 h history some points are lost (0)."""
    total_lost = 0
    for server_id in simulator.fleet.servers:
        for monitor in await client.async_get_ping_monitors(server_id):
            assert monitor.points >= 1440  # one point per minute for 24 h
            assert monitor.latest_delay is None or 0 < monitor.latest_delay <= 1000
            total_lost += monitor.lost
    expected = sum(
        delay == 0
        for sid in simulator.fleet.servers
        for series in simulator.fleet.ping_history(sid)
        for delay in series.avg_delay
    )
    assert total_lost == expected > 0


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_edge_c11_html_page_is_response_error(
    session: aiohttp.ClientSession, simulator: NezhaSimulator, endpoint: str
) -> None:
    # A URL with an extra path hits gin's NoRoute: an HTML 404 page.
    client = NezhaV0Client(session, simulator.url + "/nezha", TOKEN)
    err = await expect(NezhaResponseError, ENDPOINTS[endpoint](client))
    assert "HTML" in str(err)
    assert simulator.requests[0].path.startswith("/nezha/api/v1/")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_edge_c11_empty_500_is_connection_error(
    simulator: NezhaSimulator, client: NezhaV0Client, endpoint: str
) -> None:
    simulator.inject_fault(Fault.SERVER_500_EMPTY)
    err = await expect(NezhaConnectionError, ENDPOINTS[endpoint](client))
    assert "HTTP 500" in str(err)
    await ENDPOINTS[endpoint](client)  # the next request is fine again


async def test_edge_c12_counters_beyond_2_pow_53_are_exact(
    freezer: FrozenDateTimeFactory, simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    fleet = await client.async_get_fleet()
    statuses = {sid: simulator.fleet.status(sid) for sid in simulator.fleet.servers}
    big = {
        sid: status.net_in_transfer
        for sid, status in statuses.items()
        if status is not None and status.net_in_transfer > 2**53
    }
    assert big  # fra-db-02's counter is past 2^53
    for server_id, expected in big.items():
        value = fleet.servers[server_id].state.net_in_transfer
        assert type(value) is int
        assert value == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *((value, value) for value in (2**64 - 1, 2**63 + 1, 2**53 + 1)),
        *((value, None) for value in (2**64, 2**70, -(2**70))),
    ],
)
async def test_edge_c12_uint64_limits(
    simulator: NezhaSimulator,
    client: NezhaV0Client,
    raw: int,
    expected: int | None,
) -> None:
    simulator.set_malformed(1, "status.NetOutTransfer", raw)
    simulator.set_malformed(1, "host.MemTotal", raw)
    server = (await client.async_get_fleet()).servers[1]
    assert server.state.net_out_transfer == expected
    assert server.host.mem_total == expected
    if expected is not None:
        # Each of these is odd, so a float round trip would have changed it.
        assert type(server.state.net_out_transfer) is int
        assert int(float(raw)) != raw


# -- "Both" edge cases ---------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_both_proxy_html_502_is_connection_error(
    simulator: NezhaSimulator, client: NezhaV0Client, endpoint: str
) -> None:
    simulator.inject_fault(Fault.HTML_502)
    err = await expect(NezhaConnectionError, ENDPOINTS[endpoint](client))
    assert "HTTP 502" in str(err)


async def test_both_trailing_slash_301_is_redirect_error(
    session: aiohttp.ClientSession, simulator: NezhaSimulator
) -> None:
    transport = Transport(session, simulator.url)
    err = await expect(
        NezhaRedirectError,
        transport.get(
            LIST + "/", headers={"Authorization": TOKEN}, params={"tag": "x"}
        ),
    )
    assert err.location == simulator.url + LIST  # no query string
    assert "301" in str(err)
    assert len(simulator.requests) == 1  # never followed


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_both_v1_dashboard_is_unsupported(
    session: aiohttp.ClientSession, endpoint: str
) -> None:
    async with serve(json_app(V1_BODIES)) as url:
        client = NezhaV0Client(session, url, TOKEN)
        err = await expect(NezhaUnsupportedError, ENDPOINTS[endpoint](client))
    assert "v1" in str(err)


@pytest.mark.parametrize(
    "body",
    [[1, 2], {"message": "success"}, {"code": "0"}, {"code": True}, {"code": 7}],
)
async def test_json_without_the_v0_envelope_is_response_error(
    session: aiohttp.ClientSession, body: Any
) -> None:
    async with serve(json_app({DETAILS: body})) as url:
        client = NezhaV0Client(session, url, TOKEN)
        await expect(NezhaResponseError, client.async_get_fleet())


@pytest.mark.parametrize("result", [{"id": 1}, "x", 5])
async def test_result_that_is_not_a_list_is_response_error(
    session: aiohttp.ClientSession, result: Any
) -> None:
    body = {"code": 0, "message": "success", "result": result}
    async with serve(json_app({DETAILS: body, "/api/v1/monitor/1": body})) as url:
        client = NezhaV0Client(session, url, TOKEN)
        err = await expect(NezhaResponseError, client.async_get_fleet())
        assert "'result' is not a list" in str(err)
        await expect(NezhaResponseError, client.async_get_ping_monitors(1))


async def test_null_result_on_server_endpoints_is_empty(
    session: aiohttp.ClientSession,
) -> None:
    body = {"code": 0, "message": "success", "result": None}
    async with serve(json_app({DETAILS: body, LIST: body})) as url:
        client = NezhaV0Client(session, url, TOKEN)
        fleet = await client.async_get_fleet()
        assert fleet.servers == {} and fleet.complete
        assert await client.async_list_servers() == []


# -- injected faults -----------------------------------------------------------------


FAULTS: dict[Fault, tuple[type[NezhaError], str]] = {
    Fault.EMPTY_200: (NezhaResponseError, "empty response"),
    Fault.TRUNCATED_JSON: (NezhaResponseError, "not valid JSON"),
    Fault.NOT_JSON: (NezhaResponseError, "not valid JSON"),
    Fault.HTML_200: (NezhaResponseError, "HTML page"),
    Fault.SERVER_500_EMPTY: (NezhaConnectionError, "HTTP 500"),
    Fault.HTML_502: (NezhaConnectionError, "HTTP 502"),
    Fault.RESET: (NezhaConnectionError, "Error"),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("fault", FAULTS)
async def test_fault(
    simulator: NezhaSimulator, client: NezhaV0Client, endpoint: str, fault: Fault
) -> None:
    error, words = FAULTS[fault]
    simulator.inject_fault(fault, count=None)  # aiohttp retries a RESET once
    err = await expect(error, ENDPOINTS[endpoint](client))
    assert words in str(err)
    simulator.clear_faults()
    await ENDPOINTS[endpoint](client)


async def test_fault_single_reset_is_retried_by_aiohttp(
    simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    """aiohttp resends an idempotent GET once after a dropped connection."""
    simulator.inject_fault(Fault.RESET, count=1)
    assert len((await client.async_get_fleet()).servers) == 5
    assert [r.path for r in simulator.requests] == [DETAILS, DETAILS]


async def test_fault_slow_beyond_timeout_is_timeout_error(
    session: aiohttp.ClientSession, simulator: NezhaSimulator
) -> None:
    simulator.slow_seconds = 2
    client = NezhaV0Client(session, simulator.url, TOKEN, timeout=0.5)
    simulator.inject_fault(Fault.SLOW)
    started = time.monotonic()
    err = await expect(NezhaTimeoutError, client.async_get_fleet())
    assert time.monotonic() - started < 1.5
    assert isinstance(err, NezhaConnectionError)
    assert issubclass(NezhaTimeoutError, NezhaConnectionError)
    assert "0.5 s" in str(err)


async def test_fault_slow_within_timeout_succeeds(
    session: aiohttp.ClientSession, simulator: NezhaSimulator
) -> None:
    simulator.slow_seconds = 0.2
    client = NezhaV0Client(session, simulator.url, TOKEN, timeout=5)
    simulator.inject_fault(Fault.SLOW)
    assert len((await client.async_get_fleet()).servers) == 5


# -- malformed records ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "oops"), ("host", 5), ("status", [1]), ("host", "x")],
)
async def test_malformed_object_skips_the_record(
    freezer: FrozenDateTimeFactory,
    simulator: NezhaSimulator,
    client: NezhaV0Client,
    field: str,
    value: Any,
) -> None:
    simulator.set_malformed(3, field, value)
    fleet = await client.async_get_fleet()
    assert 3 not in fleet.servers
    assert fleet.skipped_ids == frozenset({3})
    assert fleet.complete is True
    assert fleet.may_have(3)  # skipped is not deleted
    assert not fleet.may_have(999)
    assert set(fleet.servers) == set(simulator.fleet.servers) - {3}
    for server in fleet.servers.values():
        assert_matches_simulator(server, simulator)


@pytest.mark.parametrize("value", ["abc", None, -1, 1.5, MISSING])
async def test_record_without_usable_id_makes_answer_incomplete(
    freezer: FrozenDateTimeFactory,
    simulator: NezhaSimulator,
    client: NezhaV0Client,
    caplog: pytest.LogCaptureFixture,
    value: object,
) -> None:
    simulator.set_malformed(2, "id", value)
    fleet = await client.async_get_fleet()
    assert 2 not in fleet.servers
    assert fleet.skipped_ids == frozenset()
    assert fleet.complete is False
    assert fleet.may_have(2) and fleet.may_have(12345)  # nothing may be removed
    assert set(fleet.servers) == set(simulator.fleet.servers) - {2}
    for server in fleet.servers.values():
        assert_matches_simulator(server, simulator)
    assert len(warnings_of(caplog)) == 1
    assert "server.id" in warnings_of(caplog)[0]
    # The list endpoint drops the same record.
    assert {s.id for s in await client.async_list_servers()} == set(
        simulator.fleet.servers
    ) - {2}


async def test_wrong_type_field_becomes_none_rest_intact(
    freezer: FrozenDateTimeFactory,
    simulator: NezhaSimulator,
    client: NezhaV0Client,
) -> None:
    simulator.set_malformed(2, "status.CPU", "high")
    simulator.set_malformed(2, "host.Arch", 64)
    simulator.set_malformed(2, "name", ["fra"])
    server = (await client.async_get_fleet()).servers[2]
    assert server.state.cpu is None
    assert server.host.arch == ""
    assert server.name == ""
    status = simulator.fleet.status(2)
    assert status is not None
    assert server.state.mem_used == status.mem_used
    assert server.state.net_in_transfer == status.net_in_transfer
    assert server.host.platform == simulator.fleet.servers[2].host.platform
    assert server.tag == simulator.fleet.servers[2].tag


async def test_temperature_entries_are_filtered(
    simulator: NezhaSimulator,
    client: NezhaV0Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.set_malformed(
        3,
        "status.Temperatures",
        [
            {"Name": "nvme_composite", "Temperature": 41.85},
            {"Name": "nvme_composite", "Temperature": 99},  # duplicate name: first wins
            {"Name": "", "Temperature": 30},
            {"Name": "acpitz", "Temperature": "hot"},
            {"Name": "k10temp", "Temperature": None},
            {"Temperature": 50},
            {"Name": 5, "Temperature": 50},
            7,
            {"Name": "coretemp_core_0", "Temperature": 54},
        ],
    )
    server = (await client.async_get_fleet()).servers[3]
    assert [(t.name, t.celsius) for t in server.state.temperatures] == [
        ("nvme_composite", 41.85),
        ("coretemp_core_0", 54.0),
    ]
    assert any("status.Temperatures" in m for m in warnings_of(caplog))


async def test_nan_from_an_agent_empties_the_whole_answer(
    simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    """Go cannot marshal NaN: gin then sends HTTP 200 with an empty body."""
    simulator.set_malformed(1, "status.CPU", float("nan"))
    err = await expect(NezhaResponseError, client.async_get_fleet())
    assert "empty response" in str(err)


@pytest.mark.parametrize("junk", [5, "x", None, [1], True])
async def test_non_object_records(session: aiohttp.ClientSession, junk: Any) -> None:
    good = {
        "id": 9,
        "name": "ok",
        "tag": "",
        "last_active": 1733040000,
        "host": {"Platform": "debian"},
        "status": {"CPU": 1.5},
    }
    body = {"code": 0, "message": "success", "result": [junk, good]}
    async with serve(json_app({DETAILS: body, LIST: body})) as url:
        client = NezhaV0Client(session, url, TOKEN)
        fleet = await client.async_get_fleet()
        summaries = await client.async_list_servers()
    assert list(fleet.servers) == [9]
    assert fleet.servers[9].host.platform == "debian"
    assert fleet.servers[9].state.cpu == 1.5
    assert fleet.complete is False  # a record of unknown id may be any server
    assert [(s.id, s.name) for s in summaries] == [(9, "ok")]


async def test_unexpected_values_are_logged_once(
    freezer: FrozenDateTimeFactory,
    simulator: NezhaSimulator,
    client: NezhaV0Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.set_malformed(2, "status.CPU", "high")
    simulator.set_malformed(3, "status", "oops")
    await client.async_get_fleet()
    await client.async_get_fleet()
    logged = warnings_of(caplog)
    assert len(logged) == 1  # one line per answer, naming every bad record
    assert "in 2 server record(s)" in logged[0]
    assert "server 2: status.CPU" in logged[0]
    assert "server 3: server.status" in logged[0]
    # A new problem on the same server is new information: logged again, once.
    simulator.set_malformed(2, "status.MemUsed", -5)
    await client.async_get_fleet()
    await client.async_get_fleet()
    assert len(warnings_of(caplog)) == 2
    assert "status.MemUsed" in warnings_of(caplog)[-1]
    assert "in 1 server record(s)" in warnings_of(caplog)[-1]


async def test_problem_log_is_per_client(
    session: aiohttp.ClientSession,
    simulator: NezhaSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.set_malformed(2, "status.CPU", "high")
    for _ in range(2):
        await NezhaV0Client(session, simulator.url, TOKEN).async_get_fleet()
    assert len(warnings_of(caplog)) == 2


# -- monitor endpoint status codes ---------------------------------------------------


async def test_monitor_unknown_server_is_not_found(
    simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    err = await expect(NezhaNotFoundError, client.async_get_ping_monitors(999))
    assert "/api/v1/monitor/999" in str(err)


async def test_monitor_negative_id_is_http_400_response_error(
    simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    # Reachable through the int API: v0 answers HTTP 400 {"code":400}.
    err = await expect(NezhaResponseError, client.async_get_ping_monitors(-1))
    assert "code 400" in str(err)


async def test_monitor_hidden_server_as_guest_is_auth_error(
    session: aiohttp.ClientSession, simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    hidden = next(s.id for s in simulator.fleet.servers.values() if s.hide_for_guest)
    guest = NezhaV0Client(session, simulator.url, WRONG_TOKEN)
    err = await expect(NezhaAuthError, guest.async_get_ping_monitors(hidden))
    assert "HTTP 403" in str(err)
    assert await client.async_get_ping_monitors(hidden)  # the token may see it


async def test_monitor_view_password(
    session: aiohttp.ClientSession, simulator: NezhaSimulator, client: NezhaV0Client
) -> None:
    simulator.set_view_password(True)
    # A valid token skips the view password.
    assert await client.async_get_ping_monitors(1)
    # Without it the dashboard answers HTTP 200 {"code":403}. The client does not
    # treat that envelope as an auth failure on this route (auth_checked=False):
    # a bad token is caught by the server endpoints, which every poll calls first.
    guest = NezhaV0Client(session, simulator.url, WRONG_TOKEN)
    err = await expect(NezhaResponseError, guest.async_get_ping_monitors(1))
    assert "code 403" in str(err)
    simulator.set_view_password(False)
    assert await guest.async_get_ping_monitors(1)


async def test_monitor_non_dict_records_and_duplicates(
    session: aiohttp.ClientSession,
) -> None:
    record = {"monitor_id": 7, "monitor_name": "", "created_at": None, "avg_delay": 3}
    body = {
        "code": 0,
        "message": "success",
        "result": [5, record, dict(record, monitor_name="dup"), {"monitor_id": "x"}],
    }
    async with serve(json_app({"/api/v1/monitor/4": body})) as url:
        monitors = await NezhaV0Client(session, url, TOKEN).async_get_ping_monitors(4)
    assert monitors == [
        PingMonitor(
            monitor_id=7,
            server_id=4,
            name="Monitor 7",
            latest_at=None,
            latest_delay=None,
            points=0,
            lost=0,
        )
    ]
    assert monitors[0].loss_percent is None
