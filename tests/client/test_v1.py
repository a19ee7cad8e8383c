"""The v1 client's own behaviour; scenarios both generations share: test_generations."""

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
import json
import math
import re
from typing import Any
from unittest.mock import patch

import aiohttp
import pytest

from custom_components.nezha.client import (
    NezhaAuthError,
    NezhaConnectionError,
    NezhaError,
    NezhaNotFoundError,
    NezhaPatUnsupportedError,
    NezhaProxyHeaderError,
    NezhaResponseError,
    NezhaScopeError,
    NezhaTimeoutError,
    NezhaV1Client,
    NezhaWafBlockedError,
    ServerSummary,
    ServiceOverview,
    ServiceStatus,
    State,
    TransferQuota,
    looks_like_personal_token,
    parse_public_note,
)
from custom_components.nezha.client.quota import parse_quotas
from custom_components.nezha.client.transport import RawResponse
from custom_components.nezha.client.v1 import GROUPS_PATH, SERVERS_PATH, SERVICES_PATH
from custom_components.nezha.client.v1_parse import (
    StreamFrame,
    check_envelope,
    parse_server,
    parse_servers,
    parse_time,
    parse_ws_frame,
)
from custom_components.nezha.client.v1_ws import WS_PATH
from nezha_dev.simulator import MISSING, Fault, NezhaSimulator
from nezha_dev.simulator.encoding import go_time
from nezha_dev.simulator.services import (
    CYCLE_RULES,
    TIB,
    cycle_transfer_json,
    services_json,
)
from nezha_dev.simulator.tokens import (
    SCOPE_INVENTORY_READ,
    SCOPE_SERVER_READ,
    SCOPE_SERVICE_READ,
)
from nezha_dev.simulator.v1_render import Viewer, last_active_nanos, sorted_ids
from tests.client.common import (
    CALLS,
    as_utc,
    assert_secret_free,
    expect,
    expected_server,
    raw_response,
    serving,
    status_server,
    stream_frames,
    v1_sim,
)
from tests.helpers import PAT, paths, register_secret

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SHANGHAI = timezone(timedelta(hours=8))
AUGUST, SEPTEMBER = (datetime(2026, m, 1, tzinfo=SHANGHAI) for m in (8, 9))

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
def api(session: aiohttp.ClientSession, sim: NezhaSimulator) -> NezhaV1Client:
    """A client with the main PAT."""
    return NezhaV1Client(session, sim.url, PAT)


def new_token(sim: NezhaSimulator, **kwargs: Any) -> str:
    """Create a PAT on the simulator that the leak check knows about."""
    return register_secret(sim.add_token(**kwargs))


async def first_frame(api: NezhaV1Client, sim: NezhaSimulator) -> str:
    """The first frame of a new stream."""
    return (await stream_frames(api, sim))[0]


def thirty_days(service: dict[str, Any]) -> tuple[float | None, float | None]:
    """Availability and check-weighted mean delay over the 30 daily buckets."""
    up, down = sum(service["up"]), sum(service["down"])
    days = zip(service["delay"], service["up"], strict=True)
    pairs = [(d, u) for d, u in days if u and d > 0]
    weight = sum(u for _, u in pairs)
    return (
        round(100 * up / (up + down), 3) if up + down else None,
        round(sum(d * u for d, u in pairs) / weight, 2) if weight else None,
    )


def expected_services(sim: NezhaSimulator) -> list[ServiceStatus]:
    """Service summaries from the simulator's daily arrays (index 29 = today)."""
    result = []
    for key, service in services_json(sim.fleet, sim.now(), sim.v1.failing).items():
        up, down = service["up"][29], service["down"][29]
        current = (service["current_up"], service["current_down"])
        is_up = current[0] >= current[1] if sum(current) else None
        today = round(100 * up / (up + down), 3) if up + down else None
        delay = service["delay"][29] if up else None
        name = sim.fleet.monitors[int(key)].name
        result.append(
            ServiceStatus(int(key), name, is_up, today, delay, *thirty_days(service))
        )
    return sorted(result, key=lambda s: s.id)


def behind_proxy(sim: NezhaSimulator) -> None:
    """Put the dashboard behind a proxy that should send a real-IP header."""
    sim.real_ip_header = "CF-Connecting-IP"


async def test_groups_become_tags(sim: NezhaSimulator, api: NezhaV1Client) -> None:
    groups = await api.async_get_groups()
    tags = {s.tag for s in sim.fleet.servers.values() if s.tag}
    assert groups == {
        tag: frozenset(
            sid for sid, server in sim.fleet.servers.items() if server.tag == tag
        )
        for tag in tags
    }
    fleet = await api.async_get_fleet()
    assert api.inventory == fleet.servers  # kept for the stream's frames
    # The tag filter is applied locally.
    for tag in (*sorted(tags), "no-such-group"):
        sim.reset_requests()
        fleet = await api.async_get_fleet(tag)
        assert list(fleet.servers) == [
            sid for sid in sorted_ids(sim.fleet) if sim.fleet.servers[sid].tag == tag
        ]
        # Only the group is read (and kept); the dashboard never sees the filter.
        assert set(api.inventory) == set(fleet.servers)
        summaries = await api.async_list_servers(tag)
        assert summaries == [
            ServerSummary(id=s.id, name=s.name, tag=tag, groups=(tag,))
            for s in fleet.servers.values()
        ]
        assert {r.path for r in sim.requests} == {SERVERS_PATH, GROUPS_PATH}
        assert all(r.query == {} for r in sim.requests)
    assert len(await api.async_list_servers()) == len(sim.fleet.servers)
    sim.add_server_group("Empty")  # its "servers" is null
    assert (await api.async_get_groups())["Empty"] == frozenset()
    assert (await api.async_get_fleet("Empty")).servers == {}


@pytest.mark.parametrize("sim", [{"servers": 7}], indirect=True)
async def test_stream_frames_against_the_rest_inventory(
    sim: NezhaSimulator, api: NezhaV1Client
) -> None:
    """Frames report servers unknown to or missing from the REST inventory; notes."""
    # c10: no client heartbeat (no Origin: test_stream); before any REST all unknown.
    with patch.object(
        aiohttp.ClientSession,
        "ws_connect",
        autospec=True,
        side_effect=aiohttp.ClientSession.ws_connect,
    ) as spy:
        (text,) = await stream_frames(api, sim)
    assert spy.call_args.kwargs["heartbeat"] is None
    assert api.parse_frame(text).unknown_ids == set(sim.fleet.servers)
    (request,) = sim.requests
    assert (request.kind, request.path) == ("ws", WS_PATH)
    fleet = await api.async_get_fleet()
    notes = {sid: server.public_note for sid, server in fleet.servers.items()}
    for sid, server in sim.fleet.servers.items():
        assert notes[sid] == parse_public_note(server.public_note)
    assert {sid for sid, found in notes.items() if found} == {1, 2, 4, 6, 7}
    # c6: display_index is absent when 0, public_note is in the first frame only;
    # later frames keep the note.
    first, second = map(json.loads, await stream_frames(api, sim, 2))
    noted = {s["id"] for s in first["servers"] if "public_note" in s}
    assert noted and not any("public_note" in s for s in second["servers"])
    for raw in (first, second):
        for record in raw["servers"]:
            index = sim.fleet.servers[record["id"]].display_index
            assert ("display_index" in record) is (index != 0)
        frame = api.parse_frame(json.dumps(raw))
        assert {sid: s.display_index for sid, s in frame.fleet.servers.items()} == {
            sid: s.display_index for sid, s in sim.fleet.servers.items()
        }
        assert {sid: s.public_note for sid, s in frame.fleet.servers.items()} == notes
        assert list(frame.fleet.servers) == sorted_ids(sim.fleet)
        assert frame.unknown_ids == frame.missing_ids == frozenset()
    # A newer note in a first frame replaces the kept one.
    renewed = '{"billingDataMod":{"endDate":"2027-09-01T00:00:00+08:00"}}'
    sim.set_public_note(1, renewed)
    first, second = await stream_frames(api, sim, 2)
    assert api.parse_frame(first).fleet.servers[1].public_note == (
        parse_public_note(renewed)
    )
    kept = api.parse_frame(second).fleet.servers[1].public_note
    assert kept is not None and kept.billing is not None
    assert kept.billing.end == datetime(2027, 9, 1, tzinfo=SHANGHAI)
    assert api.inventory[1].public_note == kept
    # A note deleted on the dashboard is gone from /server at once.
    sim.set_public_note(1, "")
    assert (await api.async_get_fleet()).servers[1].public_note is None
    added = sim.add_server("late-box", "Lab")
    removed = next(iter(sim.fleet.servers))
    sim.remove_server(removed)

    frame = api.parse_frame(await first_frame(api, sim))
    assert frame.unknown_ids == {added}
    assert frame.missing_ids == {removed}
    assert set(frame.fleet.servers) == set(api.inventory) - {removed}

    # The next REST fetch learns about both changes.
    await api.async_get_fleet()
    frame = api.parse_frame(await first_frame(api, sim))
    assert frame.unknown_ids == frame.missing_ids == frozenset()
    assert frame.fleet.servers[added].tag == "Lab"
    # A frame without servers has no "servers" key at all (c7).
    for sid in list(sim.fleet.servers):
        sim.remove_server(sid)
    text = await first_frame(api, sim)
    assert "servers" not in json.loads(text)
    frame = api.parse_frame(text)
    assert frame.fleet.servers == {} and frame.fleet.complete
    assert frame.missing_ids == set(api.inventory)


def test_parse_frame_refills_what_the_member_filter_strips() -> None:
    """Members get ``Host.Filter()``-ed frames: no platform_version, no version."""
    box = {"id": 1, "name": "box"}
    host = {"platform": "debian", "platform_version": "12", "version": "1.14.1"}
    geoip = {"ip": {"ipv4_addr": "192.0.2.1"}, "country_code": "de"}
    full = box | {"geoip": geoip, "host": host, "state": {"cpu": 5}}
    inventory, _, _ = parse_server(full | {"last_active": "2026-01-01T08:00:00+08:00"})
    assert inventory is not None
    filtered = box | {"host": {"platform": "debian"}, "state": {"cpu": 7}}
    filtered |= {"country_code": "de", "last_active": "2026-01-01T08:00:02+08:00"}
    frame = json.dumps({"now": 1767225600000, "servers": [filtered]})
    fleet = parse_ws_frame(frame, {1: inventory})
    server = fleet.servers[1]
    assert server.host == inventory.host
    assert (server.ipv4, server.valid_ip) == ("192.0.2.1", "192.0.2.1")
    assert server.state.cpu == 7
    assert server.last_active == datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC)
    assert fleet.server_time == datetime(2026, 1, 1, tzinfo=UTC)


def test_parse_servers_edge_shapes() -> None:
    """Duplicates keep the first, unreadable records are skipped or incomplete."""
    reported: list[tuple[object, list[str]]] = []
    fleet = parse_servers(
        [
            {"id": 2, "name": "first", "host": {}, "state": {}, "geoip": {}},
            {"id": 2, "name": "duplicate", "host": {}, "state": {}, "geoip": {}},
            {"id": 3, "name": "bad host", "host": [], "state": {}},
            {"id": 0, "name": "zero id"},
            "not an object",
        ],
        NOW,
        report=reported.extend,  # once per answer, with every record's problems
    )
    assert {sid: s.name for sid, s in fleet.servers.items()} == {2: "first"}
    assert fleet.skipped_ids == {3}
    assert not fleet.complete
    assert reported == [(3, ["server.host"]), ("#3", ["server.id"]), ("#4", ["record"])]
    assert parse_servers(None, NOW).servers == {}
    with pytest.raises(NezhaResponseError, match="not a list"):
        parse_servers({"id": 1}, NOW)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        *((token, True) for token in (PAT, "nzp_" + "a" * 32)),
        *((token, False) for token in ("nzp_" + "a" * 31, "nzp_" + "a" * 33)),
        *((token, False) for token in (PAT + "\n", " " + PAT, "NZP_" + "a" * 32)),
        *((token, False) for token in ("nzp_" + "-" * 32, "a" * 32, "")),
    ],
)
def test_looks_like_personal_token(token: str, expected: bool) -> None:
    assert looks_like_personal_token(token) is expected


async def test_service_status_edge_values() -> None:
    """No check yet, no check today, a tie, ids that are not decimal, huge counts."""
    tie = {"current_up": 15, "current_down": 15}
    services = {
        "1": {"service_name": "never checked"},
        "2": tie | {"up": [0] * 30, "down": [0] * 29 + [3], "delay": [0] * 30},
        "3": {"current_up": -1, "current_down": True, "up": [True], "down": ["x"]},
        "x": {"service_name": "not an id"},
        "²": {"service_name": "a digit, but not a decimal one"},
        "9" * 30: {"service_name": "beyond uint64"},
        "4": "not an object",
        # Counts beyond Go's uint64 are no counts; a finite delay times a huge
        # count is infinite: no mean (both raised OverflowError before).
        "5": {"up": [0, 0, 10**300], "down": [0, 0, 1], "delay": [0, 0, 1.0]},
        "6": {"up": [2**64 - 1] * 2, "delay": [1e300, 1e300]},
    }
    body = {"success": True, "data": {"services": services}}
    async with serving({SERVICES_PATH: body}, NezhaV1Client) as client:
        result = await client.async_get_services()
    assert result == [
        ServiceStatus(1, "never checked", None, None, None),
        # Three checks in 30 days, all failed: 0 % over 30 days, no delay.
        ServiceStatus(2, "Service 2", True, 0.0, None, 0.0, None),
        ServiceStatus(3, "Service 3", None, None, None),
        ServiceStatus(5, "Service 5", None, 0.0, None, 0.0, None),
        ServiceStatus(6, "Service 6", None, 100.0, 1e300, 100.0, None),
    ]


def fault(kind: Fault, **client: Any) -> Callable[[NezhaSimulator], dict[str, Any]]:
    """Set-up injecting ``kind`` on the stream route; ``client``: client kwargs."""

    def setup(sim: NezhaSimulator) -> dict[str, Any]:
        sim.inject_fault(kind, path=WS_PATH)
        return client

    return setup


def scoped(sim: NezhaSimulator) -> dict[str, Any]:
    """Set-up: a PAT without the scope the stream needs."""
    return {"token": new_token(sim, scopes=(SCOPE_SERVICE_READ,))}


def moved(sim: NezhaSimulator) -> dict[str, Any]:
    """Set-up: a URL with an extra path."""
    return {"base_url": sim.url + "/nezha"}


def force_auth(sim: NezhaSimulator) -> None:
    """Set-up: v2.0.5 has no PATs, so ours goes to JWT handling, which refuses it."""
    sim.force_auth = True


# A personal token is refused with 401/403; a 200 JSON (JWT handling refuses with
# HTTP 200 instead of a 101, as does the WAF's real-IP check) is about something
# else, which the REST poll names.
HANDSHAKE = {  # case: (dashboard version, set-up, error, words, added WAF strikes)
    "revoked": (None, NezhaSimulator.revoke_token, NezhaAuthError, "HTTP 401", 1),
    "blocked": (None, NezhaSimulator.block_ip, NezhaWafBlockedError, "WAF", 0),
    "502": (None, fault(Fault.HTML_502), NezhaConnectionError, "HTTP 5", 0),
    "500": (None, fault(Fault.SERVER_500_EMPTY), NezhaConnectionError, "HTTP 5", 0),
    "slow": (None, fault(Fault.SLOW, timeout=0.2), NezhaTimeoutError, "0.2 s", 0),
    "scope": (None, scoped, NezhaAuthError, "", 0),
    "404": (None, moved, NezhaResponseError, "HTTP 404", 0),
    "jwt": ("2.0.5", force_auth, NezhaResponseError, "HTTP 200", 0),
    "real_ip": (None, behind_proxy, NezhaResponseError, "HTTP 200", 0),
}


@pytest.mark.parametrize("case", HANDSHAKE)
async def test_stream_handshake_errors(
    session: aiohttp.ClientSession, socket_enabled: None, case: str
) -> None:
    """A dashboard control, a fault, or a client of the stream route; WAF strikes."""
    version, setup, error, words, strikes = HANDSHAKE[case]
    async with v1_sim(version=version) as sim:
        args = {"base_url": sim.url, "token": PAT} | (setup(sim) or {})
        before = sim.waf_strikes()
        err = await expect(error, NezhaV1Client(session, **args).async_connect_stream())
        assert words in str(err)
        assert sim.waf_strikes() == before + strikes
        if isinstance(err, NezhaAuthError):
            # The aiohttp error's repr shows the request headers: not kept anywhere.
            assert err.__cause__ is None and err.__context__ is None


async def test_local_server_handshake_answers(session: aiohttp.ClientSession) -> None:
    """A 400 from something that does not speak WebSocket is a response error."""
    async with status_server(400) as (url, seen):
        client = NezhaV1Client(session, url, PAT)
        err = await expect(NezhaResponseError, client.async_connect_stream())
        assert "HTTP 400" in str(err)
    assert seen == [WS_PATH]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-08-17T12:00:01.234567891+08:00", (2026, 8, 17, 4, 0, 1, 234567)),
        ("2026-08-17T12:00:02.001+08:00", (2026, 8, 17, 4, 0, 2, 1000)),
        ("2026-08-17T04:00:02Z", (2026, 8, 17, 4, 0, 2)),
        ("0002-01-01T00:00:00+05:00", (1, 12, 31, 19, 0)),
        # Go's zero time in any offset (to UTC would be fine, but to -05:00 not).
        *(("0001-01-01T00:00:00" + zone, None) for zone in ("Z", "-05:00", "+08:00")),
        ("0001-01-01T00:00:00.000000001-12:00", None),
        *((value, None) for value in (None, "", 0, 1786939202, "yesterday")),
        *((v, None) for v in ("2026-08-17T12:00:00", "9999-12-31T23:59:59-05:00")),
    ],
)
def test_edge_v1_c4_parse_time(text: object, expected: tuple[int, ...] | None) -> None:
    """Nine fraction digits truncate to microseconds; unusable times are None."""
    assert parse_time(text) == (expected and datetime(*expected, tzinfo=UTC))


SCOPELESS = "ApiErrorForbidden: this endpoint is not accessible by api token"
INVALID = {"error": "ApiErrorUnauthorized: 令牌无效"}


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (raw_response(b"", 500), NezhaConnectionError),
        (raw_response(b"<html>", content_type="text/html"), NezhaResponseError),
        (raw_response(b"<h1>Forbidden</h1>", 403, "text/html"), NezhaResponseError),
        (raw_response([1, 2]), NezhaResponseError),
        (raw_response(b""), NezhaResponseError),
        (raw_response({"success": False}), NezhaResponseError),
        (raw_response({"data": []}), NezhaResponseError),
        (raw_response({"error": "404 Not Found"}, 404), NezhaNotFoundError),
        (raw_response({"error": "404 Not Found"}), NezhaResponseError),
        (raw_response({}, 401), NezhaAuthError),
        (raw_response(INVALID), NezhaAuthError),
        (raw_response({"error": SCOPELESS}, 403), NezhaScopeError),  # scope unnamed
    ],
)
def test_check_envelope_errors(raw: RawResponse, error: type[NezhaError]) -> None:
    with pytest.raises(NezhaError) as caught:
        check_envelope(raw)
    assert type(caught.value) is error
    assert caught.value.args[0].startswith(raw.path)
    assert getattr(caught.value, "scope", None) is None


def test_check_envelope_data() -> None:
    assert check_envelope(raw_response({"success": True})) is None
    assert check_envelope(raw_response({"success": True, "data": [1]})) == [1]


@pytest.mark.parametrize("sim", [{"servers": 0}], indirect=True)
async def test_edge_v1_c1_empty_lists_have_no_data_key(
    sim: NezhaSimulator, api: NezhaV1Client
) -> None:
    fleet = await api.async_get_fleet()
    assert fleet.servers == {} and fleet.complete
    assert await api.async_get_groups() == {}
    assert await api.async_list_servers() == []
    assert api.parse_frame(await first_frame(api, sim)).fleet.servers == {}


@pytest.mark.parametrize("sim", [{"frozen": True}], indirect=True)
async def test_edge_v1_c1_c4_c5_c11_values_and_the_frame(
    sim: NezhaSimulator, api: NezhaV1Client
) -> None:
    """Frames take IPs and groups from the REST inventory; odd values; agents gone."""
    known = (await api.async_get_fleet()).servers[4]
    frame = api.parse_frame(await first_frame(api, sim))
    assert isinstance(frame, StreamFrame)
    assert frame.fleet.servers == api.inventory
    assert frame.fleet.server_time == datetime.fromtimestamp(math.floor(sim.now()), UTC)
    assert any(s.ipv4 for s in frame.fleet.servers.values())
    # c1, c4, c5: omitted zeros are 0, Go zero times unknown, one figure per GPU.
    # test_generations compares omitted zeros as 0; it checks one GPU, temperatures.
    statuses = [sim.fleet.status(sid) for sid in sim.fleet.servers]
    assert any(s and s.swap_used == 0 for s in statuses)  # no swap
    assert any(s and s.load1 == 0 for s in statuses)  # Windows: no load
    # A completely idle machine: only the uptime is left in "state".
    idle = {"cpu": 0.0, "mem_used": 0, "disk_used": 0, "net_in_speed": 0}
    idle["process_count"] = 0
    for key in idle:
        sim.set_malformed(2, f"state.{key}", MISSING)
    sim.set_online(1, False)
    sim.set_malformed(2, "last_active", "0001-01-01T00:00:00-05:00")
    sim.set_malformed(3, "state.gpu", [12.5, 99])
    stamps = {sid: last_active_nanos(sim.fleet, sid, sim.now()) for sid in (3, 4, 5)}
    fleet = await api.async_get_fleet()
    assert fleet.servers[2].state == replace(expected_server(sim, 2).state, **idle)
    assert fleet.servers[3].state.gpu == (12.5, 99.0)
    assert fleet.servers[1].last_active is None
    assert fleet.servers[2].last_active is None
    # Nine fraction digits in +08:00: truncated to microseconds, converted to UTC.
    nine_digits = {
        sid: ns for sid, ns in stamps.items() if ns is not None and ns % 1000
    }
    assert nine_digits
    for sid, nanos in nine_digits.items():
        assert re.search(r"\.\d{9}\+08:00$", go_time(nanos))
        assert fleet.servers[sid].last_active == as_utc(nanos)
    # c11: a disconnected agent keeps its last state.
    sim.clear_malformed()
    sim.set_online(2, False)
    sim.set_never_reported(4)  # as after a restart of the dashboard
    fleet = await api.async_get_fleet()
    again = fleet.servers[4]
    assert again.host == known.host  # static facts are kept
    assert (again.state, again.last_active) == (State(), None)
    offline = fleet.servers[2]
    assert offline.last_active is None
    assert offline.state == expected_server(sim, 2).state != State()
    assert offline.host.platform


async def test_edge_v1_c14_token_refusals(
    sim: NezhaSimulator, api: NezhaV1Client, session: aiohttp.ClientSession
) -> None:
    """Proxy, WAF and token refusals: named, and only a dead token costs a strike."""
    header = sim.real_ip_header
    sim.real_ip_header = "CF-Connecting-IP"  # a proxy that should send it does not
    err = await expect(NezhaProxyHeaderError, api.async_get_fleet())
    assert "reverse proxy" in str(err)
    sim.real_ip_header = header
    sim.block_ip()
    strikes = sim.waf_strikes()
    for call in (
        api.async_get_fleet(),
        api.async_get_groups(),
        api.async_get_services(),
        api.async_get_ping_monitors(1),
    ):
        err = await expect(NezhaWafBlockedError, call)
        assert "WAF" in str(err)
    assert sim.waf_strikes() == strikes  # requests while blocked add none
    sim.clear_waf()
    assert len((await api.async_get_fleet()).servers) == len(sim.fleet.servers)
    for scopes, call, missing in [
        ((SCOPE_SERVICE_READ, SCOPE_SERVER_READ), "fleet", SCOPE_INVENTORY_READ),
        ((SCOPE_INVENTORY_READ,), "services", SCOPE_SERVICE_READ),
    ]:
        scoped = NezhaV1Client(session, sim.url, new_token(sim, scopes=scopes))
        assert (await expect(NezhaScopeError, CALLS[call](scoped))).scope == missing
    assert sim.waf_strikes() == 0
    expiring = NezhaV1Client(session, sim.url, new_token(sim, expires_in=60))
    assert len((await expiring.async_get_fleet()).servers) == len(sim.fleet.servers)
    sim.shift_clock(120)
    await expect(NezhaAuthError, expiring.async_get_services())
    assert sim.waf_strikes() == 1
    sim.clear_waf()  # one strike blocks the address
    await api.async_get_fleet()
    sim.revoke_token()
    sim.reset_requests()
    err = await expect(NezhaAuthError, api.async_get_fleet())
    assert "rejected the API token" in str(err)
    assert sim.waf_strikes() == 1
    assert paths(sim) == [SERVERS_PATH]
    await sim.stop()  # no dashboard at all; no error nor the client shows the token
    await expect(NezhaConnectionError, api.async_get_services())
    await expect(NezhaConnectionError, api.async_connect_stream())
    assert_secret_free(api)


@pytest.mark.parametrize(
    "sim", [{"version": "2.0.5"}, {"version": "1.14.14"}], indirect=True
)
async def test_edge_v1_c14_dashboard_without_pats(
    sim: NezhaSimulator, api: NezhaV1Client
) -> None:
    err = await expect(NezhaPatUnsupportedError, api.async_get_fleet())
    assert "personal API tokens" in str(err)
    assert sim.waf_strikes() == 0
    assert paths(sim) == [SERVERS_PATH]


async def test_error_and_odd_answers() -> None:
    """Answers a dashboard or its proxy gives instead of data; odd but readable ones."""
    # ``waf.RealIp`` refuses a missing header and one that is not an IP alike.
    for error in (
        "real ip header not found",
        'ParseAddr("10.0.0.x"): unable to parse IP',
        'ParseAddr("203.0.113.7:5678"): unexpected character (at ":5678")',
    ):
        async with serving({SERVERS_PATH: {"error": error}}, NezhaV1Client) as client:
            err = await expect(NezhaProxyHeaderError, client.async_list_servers())
        assert "reverse proxy" in str(err)
    not_a_list = {"success": True, "data": 5}
    routes = {
        GROUPS_PATH: not_a_list,
        "/api/v1/server/1/service": not_a_list,
        "/api/v1/server/7/service": {"error": "未找到服务器"},
        SERVICES_PATH: {"error": "数据库错误"},
        SERVERS_PATH: {"error": "ApiErrorForbidden: 令牌缺少范围 nezha:inventory:read"},
    }
    async with serving(routes, NezhaV1Client) as client:
        for call in (client.async_get_groups(), client.async_get_ping_monitors(1)):
            err = await expect(NezhaResponseError, call)
            assert "'data' is not a list" in str(err)
        await expect(NezhaResponseError, client.async_get_ping_monitors(7))
        await expect(NezhaResponseError, client.async_get_services())
        # c2: only the literal prefix counts; the localised rest is just passed on.
        err = await expect(NezhaScopeError, client.async_get_fleet())
        assert err.scope == SCOPE_INVENTORY_READ
    # Odd but readable lists.
    group_items: list[Any] = [
        "not an object",
        {"group": "no object", "servers": [1]},
        {"group": {"name": ""}, "servers": [1]},
        {"group": {"name": "Mixed"}, "servers": [1, True, "2", 3]},
        {"group": {"name": "Odd"}, "servers": {"1": 1}},
    ]
    monitor = {"monitor_id": 2, "created_at": [1786852800000], "avg_delay": [5.0]}
    readable = {
        GROUPS_PATH: {"success": True, "data": group_items},
        "/api/v1/server/1/service": {
            "success": True,
            "data": ["x", monitor, {**monitor, "avg_delay": [9.0]}, {"monitor_id": 1}],
        },
        SERVICES_PATH: {"success": True, "data": []},
    }
    async with serving(readable, NezhaV1Client) as client:
        assert await client.async_get_groups() == {"Mixed": frozenset({1, 3})}
        monitors = await client.async_get_ping_monitors(1)
        assert [(m.monitor_id, m.latest_delay) for m in monitors] == [
            (1, None),
            (2, 5.0),
        ]
        assert await client.async_get_services() == []
    for data in ({}, [1]):  # no services and no rules; a data that is not an object
        async with serving(
            {SERVICES_PATH: {"success": True, "data": data}}, NezhaV1Client
        ) as client:
            overview = await client.async_get_service_overview()
        assert overview == ServiceOverview(services=[], quotas={})


def test_quotas() -> None:
    """nezha-api.md's example (B.7); no maximum, nothing checked, bad ids and values."""
    transfer = {"1": 2**64 - 1, "2": -5, "3": 1.5, "4": True}
    transfer |= dict.fromkeys(["0", "x", "9" * 30], 7)
    stats: dict[str, Any] = {
        "4": {
            "name": "Monthly 1 TiB",
            "from": "2026-08-01T00:00:00+08:00",
            "to": "2026-09-01T00:00:00+08:00",
            "max": 1099511627776,
            "min": 0,
            "server_name": {"1": "hk-edge-01"},
            "transfer": {"1": 412316860416},
            "next_update": {"1": "2026-08-17T12:01:00.123+08:00"},
        },
        "2": {"name": "", "from": "0001-01-01T00:00:00Z", "to": None, "max": 0},
        # A maximum beyond uint64 is unusable, so no limit.
        "3": {"name": "big", "max": 2**64, "transfer": transfer},
        "x": {"name": "not an id"},
        "0": {"name": "id zero"},
        "5": "not an object",
        "6": {"name": "bad map", "transfer": [1, 2]},
    }
    assert parse_quotas(stats, parse_time) == {
        2: TransferQuota(2, "Rule 2", None, None, None, {}),
        3: TransferQuota(3, "big", None, None, None, {1: 2**64 - 1}),
        4: TransferQuota(4, "Monthly 1 TiB", AUGUST, SEPTEMBER, TIB, {1: 412316860416}),
        6: TransferQuota(6, "bad map", None, None, None, {}),
    }
    assert parse_quotas(None, parse_time) == parse_quotas([], parse_time) == {}


@pytest.mark.parametrize("sim", [{"frozen": True, "servers": 7}], indirect=True)
async def test_services_and_overview_match_the_simulator(
    sim: NezhaSimulator, api: NezhaV1Client
) -> None:
    """Services and rules as the simulator renders them (one rule covers nobody)."""
    services = await api.async_get_services()
    assert services == expected_services(sim)  # today is index 29 of 30 days
    raw = services_json(sim.fleet, sim.now(), sim.v1.failing)
    assert all(len(s["up"]) == len(s["down"]) == 30 for s in raw.values())
    # The map's keys are strings: ids and names come out as the monitors'.
    assert all(type(s.id) is int for s in services)
    assert {s.id: s.name for s in services} == {
        mid: m.name for mid, m in sim.fleet.monitors.items()
    }
    assert [s.id for s in services] == sorted(sim.fleet.monitors)
    assert all(s.is_up is not None for s in services)
    assert paths(sim) == [SERVICES_PATH]

    # A service going down flips is_up and lowers today's availability only.
    before = {s.id: s for s in await api.async_get_services()}
    assert before[1].is_up is True
    sim.set_service_down(1)
    after = {s.id: s for s in await api.async_get_services()}
    assert after[1].is_up is False
    assert after[1].availability_today is not None
    assert before[1].availability_today is not None
    assert after[1].availability_today < before[1].availability_today
    assert list(after.values()) == expected_services(sim)
    assert {sid: s for sid, s in after.items() if sid != 1} == {
        sid: s for sid, s in before.items() if sid != 1
    }
    # Cycle-transfer rules: two here, the third covers nobody.
    overview = await api.async_get_service_overview()
    raw = cycle_transfer_json(sim.fleet, Viewer(), sim.now())
    assert sorted(raw) == ["1", "2"]  # "Spare quota" covers no server: left out
    # Before v2.1 such a rule was listed, without its maps.
    old = cycle_transfer_json(
        sim.fleet, Viewer(), sim.now(), rules=CYCLE_RULES, filtered=False
    )
    assert set(old["3"]) == {"name", "from", "to", "max", "min"}
    spare = parse_quotas(old, parse_time)[3]
    assert spare.used == {} and spare.limit == 500 * 1024**3
    monthly, weekly = overview.quotas[1], overview.quotas[2]
    used = {int(k): v for k, v in raw["1"]["transfer"].items()}
    assert monthly == TransferQuota(1, "Monthly 1 TiB", AUGUST, SEPTEMBER, TIB, used)
    assert sorted(monthly.used) == [1, 2, 5, 6]  # the Production servers
    # 17 August 2026 is a Monday: the weekly cycle started this midnight.
    assert (weekly.cycle_start, weekly.cycle_end, weekly.limit) == (
        datetime(2026, 8, 17, tzinfo=SHANGHAI),
        datetime(2026, 8, 24, tzinfo=SHANGHAI),
        None,
    )
    assert sorted(weekly.used) == [2, 3, 7]  # the Lab servers and fra-db-02
    assert overview.services == await api.async_get_services()
    # Time moves the traffic used; a deleted rule disappears.
    before = (await api.async_get_service_overview()).quotas
    sim.shift_clock(3600)
    later = (await api.async_get_service_overview()).quotas
    assert all(later[1].used[sid] > used for sid, used in before[1].used.items())
    sim.v1.cycle_rules = [r for r in sim.v1.cycle_rules if r.id != 1]
    assert list((await api.async_get_service_overview()).quotas) == [2]


def test_public_note_control_needs_a_v1_dashboard() -> None:
    sim = NezhaSimulator(servers=1)
    with pytest.raises(RuntimeError):
        sim.set_public_note(1, "{}")
