"""Scenarios both clients share, run against a simulated v0 and v1 dashboard."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import math
from typing import Any

import aiohttp
from freezegun.api import FrozenDateTimeFactory
import pytest

from custom_components.nezha.client import (
    Host,
    NezhaAuthError,
    NezhaError,
    NezhaNotFoundError,
    NezhaResponseError,
    NezhaTokenError,
    NezhaV0Client,
    NezhaV1Client,
    PingMonitor,
    State,
)
from custom_components.nezha.client.v1 import GROUPS_PATH, SERVERS_PATH
from nezha_dev.simulator import NezhaSimulator
from nezha_dev.simulator.catalog import MonitorKind
from nezha_dev.simulator.v1_render import sorted_ids
from tests.client.common import (
    CALLS,
    CLIENT_LOGGER,
    DETAILS,
    FROZEN_AT,
    LIST,
    V1_LOGGER,
    Client,
    assert_secret_free,
    expect,
    expected_server,
    v1_sim,
    warnings_of,
)
from tests.helpers import PAT, TOKEN, register_secret

V1_REQUESTS = (
    *[(SERVERS_PATH, {}), (GROUPS_PATH, {})] * 2,
    ("/api/v1/server/1/service", {"period": "1d"}),
)
# What differs between the generations in the shared scenarios: field: (v0, v1).
SPEC_TABLE: dict[str, tuple[Any, Any]] = {
    "client": (NezhaV0Client, NezhaV1Client),
    "token": (TOKEN, PAT),
    "auth": (TOKEN, f"Bearer {PAT}"),  # the Authorization header the token is sent as
    "logger": (CLIENT_LOGGER, V1_LOGGER),
    "status": ("status", "state"),  # the record key of the live state
    "cpu": ("status.CPU", "state.cpu"),
    "mem": ("status.MemUsed", "state.mem_used"),
    "arch": ("host.Arch", "host.arch"),
    "temperatures": ("status.Temperatures", "state.temperatures"),
    "monitor_path": ("/api/v1/monitor/{}", "/api/v1/server/{}/service"),
    "monitor_query": ({}, {"period": "1d"}),
    "unknown_server": (  # monitors of id 999
        (NezhaNotFoundError, "/api/v1/monitor/999"),
        (NezhaResponseError, "reported an error"),
    ),
    "calls": (tuple(CALLS)[:3], tuple(CALLS)),  # every request the client can make
    # The requests of list, fleet and monitors.
    "requests": (((LIST, {}), (DETAILS, {}), ("/api/v1/monitor/1", {})), V1_REQUESTS),
}
ODD_IPS = ("/2001:db8:3::4", "", "not-an-ip", "10.0.0.1/", "2001:db8::1", "1.2.3.4")
"""c9: IP fields the dashboard does not validate; the client splits them as it can."""
TEMPERATURES: list[Any] = [
    {"Name": "nvme_composite", "Temperature": 41.85},
    {"Name": "nvme_composite", "Temperature": 99},  # duplicate name: first wins
    {"Name": "", "Temperature": 30},
    {"Name": "acpitz", "Temperature": "hot"},
    {"Name": "k10temp", "Temperature": None},
    {"Temperature": 50},
    {"Name": 5, "Temperature": 50},
    7,
    {"Name": "coretemp_core_0", "Temperature": 54},
]


@dataclass(frozen=True)
class Spec:
    """What differs between the generations in the shared scenarios (SPEC_TABLE)."""

    client: type[NezhaV0Client | NezhaV1Client]
    token: str
    auth: str
    logger: str
    status: str
    cpu: str
    mem: str
    arch: str
    temperatures: str
    monitor_path: str
    monitor_query: dict[str, str]
    unknown_server: tuple[type[NezhaError], str]
    calls: tuple[str, ...]
    requests: tuple[tuple[str, dict[str, str]], ...]


SPECS = {
    generation: Spec(**{field: pair[index] for field, pair in SPEC_TABLE.items()})
    for index, generation in enumerate(("v0", "v1"))
}


@dataclass(frozen=True)
class Dash:
    """A running simulated dashboard of one generation and a client of it."""

    spec: Spec
    sim: NezhaSimulator
    client: Client
    session: aiohttp.ClientSession

    def client_with(self, token: str) -> Client:
        """Another client of the same dashboard."""
        return self.spec.client(self.session, self.sim.url, token)


def start(generation: str, **kwargs: Any) -> NezhaSimulator:
    """The five-server fleet of seed 1 as a dashboard of ``generation``."""
    if generation == "v0":
        return NezhaSimulator(**{"servers": 5, "seed": 1, "token": TOKEN, **kwargs})
    return v1_sim(**kwargs)


@pytest.fixture(params=[(g, {}) for g in sorted(SPECS)], ids=sorted(SPECS))
async def dash(
    request: pytest.FixtureRequest,
    socket_enabled: None,
    freezer: FrozenDateTimeFactory,
    session: aiohttp.ClientSession,
) -> AsyncIterator[Dash]:
    """The five-server fleet of seed 1 as each generation's dashboard, frozen."""
    freezer.move_to(FROZEN_AT)
    generation, kwargs = request.param  # and the simulator's kwargs
    spec = SPECS[generation]
    async with start(generation, **kwargs) as sim:
        yield Dash(spec, sim, spec.client(session, sim.url, spec.token), session)


async def test_fleet_matches_simulator_state(
    dash: Dash, caplog: pytest.LogCaptureFixture
) -> None:
    """Servers as the simulator has them, in UI order; never-reported ones unknown."""
    sim = dash.sim
    sim.add_server("late-but-first", display_index=50)
    sim.add_server("late-tie", display_index=10)  # ties with fra-db-02
    for ip in ODD_IPS:
        sim.add_server("odd-ip", ip=ip)
    fleet = await dash.client.async_get_fleet()
    # The UI order: display_index descending, then id ascending.
    assert list(fleet.servers) == sorted_ids(sim.fleet)
    assert len({s.display_index for s in sim.fleet.servers.values()}) > 2
    for sid, server in fleet.servers.items():
        assert server == expected_server(sim, sid)
        assert server.last_active is not None
        assert server.last_active.utcoffset() == timedelta(0)
        age = server.seconds_since_report(fleet.server_time)
        if sim.generation == "v0":  # whole seconds; v1 keeps the fraction
            assert age in (0.0, 1.0)
    assert fleet.complete and fleet.skipped_ids == frozenset()
    assert fleet.server_time == datetime.fromtimestamp(math.floor(sim.now()), UTC)
    assert warnings_of(caplog, dash.spec.logger) == []
    assert (await dash.client.async_get_fleet()).servers == fleet.servers

    # The catalogue shapes the comparison relies on are really present.
    servers = fleet.servers.values()
    assert any(not s.name.isascii() for s in servers)  # 东京-web-03
    assert any(s.host.gpu and s.state.gpu for s in servers)
    assert any(not s.host.gpu and not s.state.gpu for s in servers)
    assert any(s.state.temperatures for s in servers)
    assert any(s.ipv4 and s.ipv6 for s in servers)
    assert any(s.ipv4 and not s.ipv6 for s in servers)
    assert any(s.ipv6 and not s.ipv4 for s in servers)
    assert {s.tag for s in servers} >= {"Production", "Lab", ""}
    assert all(s.host.agent_version for s in servers)
    # Counters past 2^53 stay exact ints (fra-db-02's is one).
    big = [s.state.net_in_transfer for s in servers if s.state.net_in_transfer]
    assert any(value > 2**53 for value in big)
    assert all(type(value) is int for value in big)

    # Never reported (as after a restart, or just added): every value unknown. A new
    # client: v1 would keep the static facts it saw (test_v1's c11).
    sim.set_never_reported(4)
    fresh = sim.add_server("just-added", "Lab", never_reported=True)
    client = dash.client_with(dash.spec.token)
    fleet = await client.async_get_fleet()
    for sid in (4, fresh):
        server = fleet.servers[sid]
        assert server == expected_server(sim, sid)
        assert server.seconds_since_report(fleet.server_time) is None
        # Go zero values (0 %, 0 bytes) are not measurements: everything unknown.
        assert (server.host, server.state, server.last_active) == (
            Host(),
            State(),
            None,
        )
        assert (server.ipv4, server.ipv6, server.valid_ip) == ("", "", "")
    assert fleet.complete and not fleet.skipped_ids
    assert all(
        s.last_active for sid, s in fleet.servers.items() if sid not in (4, fresh)
    )
    assert warnings_of(caplog, dash.spec.logger) == []
    assert {s.id: (s.name, s.tag) for s in await client.async_list_servers()} == {
        sid: (s.name, s.tag) for sid, s in sim.fleet.servers.items()
    }
    sim.set_online(4, True)
    assert (await client.async_get_fleet()).servers[4] == expected_server(sim, 4)


async def test_client_identity_requests_and_ping_monitors(dash: Dash) -> None:
    """An unsendable token makes no request, a good one is in each; ping monitors."""
    client = dash.spec.client(dash.session, dash.sim.url + "/", dash.spec.token)
    assert client.base_url == dash.sim.url
    assert repr(client) == f"{dash.spec.client.__name__}({dash.sim.url!r})"
    assert client.generation.value == dash.sim.generation
    assert getattr(client, "inventory", {}) == {}
    assert_secret_free(client)
    unsendable = dash.client_with(register_secret(dash.spec.token + "\n"))
    for name in dash.spec.calls:
        await expect(NezhaTokenError, CALLS[name](unsendable))
    assert dash.sim.requests == []
    for name in ("list", "fleet", "monitors"):
        await CALLS[name](dash.client)
    assert [(r.path, r.query) for r in dash.sim.requests] == list(dash.spec.requests)
    for request in dash.sim.requests:
        assert request.headers["Authorization"] == dash.spec.auth
        assert request.headers["Accept"] == "application/json"
        assert request.method == "GET"
    # Ping monitors match the simulator's history.
    sim, seen, lost = dash.sim, 0, 0
    for sid in sim.fleet.servers:
        sim.reset_requests()
        monitors = await dash.client.async_get_ping_monitors(sid)
        (request,) = sim.requests
        assert request.path == dash.spec.monitor_path.format(sid)
        assert request.query == dash.spec.monitor_query
        expected = []
        for series in sim.fleet.ping_history(sid):
            received = [delay for delay in series.avg_delay if delay > 0]
            expected.append(
                PingMonitor(
                    monitor_id=series.monitor.id,
                    server_id=sid,
                    name=series.monitor.name,
                    latest_at=datetime.fromtimestamp(series.created_at[-1] / 1000, UTC),
                    latest_delay=series.avg_delay[-1] or None,
                    points=len(series.created_at),
                    lost=len(series.avg_delay) - len(received),
                    average_delay=round(sum(received) / len(received), 2),
                )
            )
        assert monitors == expected
        for monitor in monitors:
            assert monitor.loss_percent == round(100 * monitor.lost / monitor.points, 2)
            assert monitor.points >= 1440  # one point per minute for 24 h
            assert monitor.latest_delay is None or 0 < monitor.latest_delay <= 1000
        seen += len(monitors)
        lost += sum(m.lost for m in monitors)
    assert seen > 0 and lost > 0  # the 24 h history has lost probes (0)
    # HTTP monitors never write per-server rows, so hk-edge-01's one never shows.
    configured = sim.fleet.servers[1].monitor_ids
    assert MonitorKind.HTTP in {sim.fleet.monitors[m].kind for m in configured}
    assert {m.monitor_id for m in await dash.client.async_get_ping_monitors(1)} == {
        m for m in configured if sim.fleet.monitors[m].writes_server_history
    }
    # A server without monitors: v0 sends null, v1 no data at all.
    nas = next(s.id for s in sim.fleet.servers.values() if not s.monitor_ids)
    assert sim.fleet.ping_history(nas) == []
    assert await dash.client.async_get_ping_monitors(nas) == []
    assert await dash.client.async_get_ping_monitors(sim.add_server("bare")) == []
    error, words = dash.spec.unknown_server
    err = await expect(error, dash.client.async_get_ping_monitors(999))
    assert words in str(err)
    # A revoked token is refused like a wrong one (test_v0's c1).
    dash.sim.revoke_token()
    err = await expect(NezhaAuthError, dash.client.async_list_servers())
    assert "rejected the API token" in str(err)


@pytest.mark.parametrize(
    "dash", [(g, {"monitors": False}) for g in SPECS], ids=list(SPECS), indirect=True
)
async def test_dashboard_without_monitors(dash: Dash) -> None:
    assert await dash.client.async_get_ping_monitors(1) == []
    assert await dash.client.async_get_ping_monitors(2) == []
    assert (await dash.client.async_get_service_overview()).services == []


async def test_unexpected_values_are_logged_once(
    dash: Dash, caplog: pytest.LogCaptureFixture
) -> None:
    sim, spec = dash.sim, dash.spec

    async def twice() -> list[str]:
        for _ in range(2):
            fleet = await dash.client.async_get_fleet()
        assert fleet.servers[2].state.cpu is None
        return warnings_of(caplog, spec.logger)

    sim.set_malformed(2, spec.cpu, "high")
    sim.set_malformed(3, spec.status, "oops")
    (logged,) = await twice()  # one line per answer, naming every bad record
    assert "in 2 server record(s)" in logged
    assert f"server 2: {spec.cpu}" in logged
    assert f"server 3: server.{spec.status}" in logged
    # A new problem on the same server is new information: logged again, once.
    sim.set_malformed(2, spec.mem, -5)
    _, logged = await twice()
    assert spec.mem in logged
    assert "in 1 server record(s)" in logged
    # The log is per client.
    await dash.client_with(dash.spec.token).async_get_fleet()
    assert len(warnings_of(caplog, spec.logger)) == 3
    # Unusable values become unknown, the rest of the record intact.
    for field, value in ((spec.cpu, "high"), (spec.arch, 64), ("name", ["fra"])):
        sim.set_malformed(4, field, value)
    sim.set_malformed(5, spec.temperatures, TEMPERATURES)
    fleet = await dash.client.async_get_fleet()
    server, expected = fleet.servers[4], expected_server(sim, 4)
    assert (server.state.cpu, server.host.arch, server.name) == (None, "", "")
    assert server.state.mem_used == expected.state.mem_used
    assert server.state.net_in_transfer == expected.state.net_in_transfer
    assert (server.host.platform, server.tag) == (expected.host.platform, expected.tag)
    assert [(t.name, t.celsius) for t in fleet.servers[5].state.temperatures] == [
        ("nvme_composite", 41.85),
        ("coretemp_core_0", 54.0),
    ]
    assert spec.temperatures in warnings_of(caplog, spec.logger)[-1]
    # Go cannot marshal NaN: gin then sends HTTP 200 with an empty body.
    sim.set_malformed(1, spec.cpu, float("nan"))
    err = await expect(NezhaResponseError, dash.client.async_get_fleet())
    assert "empty response" in str(err)
