"""The integration's client reads every recorded answer of the real dashboards.

The recordings are served over real HTTP (:mod:`.replay`), so the whole client
runs: headers, envelopes, parsers. Expected values are read from the recorded
JSON here, independently of the client's parsers, and compared field by field.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import json
from typing import Any

import aiohttp
import pytest

from custom_components.nezha.client import (
    ApiGeneration,
    NezhaAuthError,
    NezhaNotFoundError,
    NezhaPatUnsupportedError,
    NezhaScopeError,
    NezhaV0Client,
    NezhaV1Client,
    NezhaWafBlockedError,
    async_detect_generation,
)
from custom_components.nezha.client.transport import RawResponse
from custom_components.nezha.client.v1 import check_envelope

from .recording import Exchange, Recording, all_recordings
from .replay import ReplayServer, role_token

RECORDINGS = all_recordings()
V0 = [r for r in RECORDINGS if r.generation == "v0"]
V1 = [r for r in RECORDINGS if r.generation == "v1"]
GO_ZERO_UNIX = -62135596800


def _ids(recordings: list[Recording]) -> list[str]:
    return [r.directory.name for r in recordings]


@pytest.fixture
async def served(
    request: pytest.FixtureRequest, socket_enabled: None
) -> AsyncIterator[tuple[Recording, ReplayServer, aiohttp.ClientSession]]:
    """The parametrised recording, served on loopback, and a session."""
    recording: Recording = request.param
    server = ReplayServer(recording)
    await server.start()
    async with aiohttp.ClientSession() as session:
        yield recording, server, session
    await server.stop()


def _raw(exchange: Exchange) -> RawResponse:
    return RawResponse(
        path=exchange.path,
        status=exchange.status,
        content_type=exchange.content_type,
        body=exchange.body_bytes(),
        date=parsedate_to_datetime(exchange.headers["Date"]),
    )


def _time(text: str) -> datetime | None:
    return None if text.startswith("0001-") else datetime.fromisoformat(text)


def _same_number(parsed: float | None, recorded: Any) -> None:
    """A recorded number (omitted = 0 on v1) read exactly."""
    assert parsed == pytest.approx(recorded if recorded is not None else 0)


# -- v1/v2 -----------------------------------------------------------------------------


@pytest.mark.parametrize("served", V1, ids=_ids(V1), indirect=True)
async def test_v1_inventory_values(served: Any) -> None:
    """Every server of ``/server`` with its values, time zone and groups."""
    recording, server, session = served
    detection = await async_detect_generation(session, server.url)
    assert detection.generation is ApiGeneration.V1
    assert detection.tsdb is True  # the key exists from v2.0 on, on or off
    client = NezhaV1Client(session, server.url, role_token("full", "v1"))
    fleet = await client.async_get_fleet()
    exchange = recording.exchange("server.full")
    records = {r["id"]: r for r in exchange.body["data"]}
    assert set(fleet.servers) == set(records)
    assert fleet.server_time == parsedate_to_datetime(exchange.headers["Date"])
    for sid, record in records.items():
        parsed = fleet.servers[sid]
        assert parsed.name == record["name"]
        assert parsed.last_active == _time(record["last_active"])
        if parsed.last_active is not None:
            assert parsed.last_active.tzinfo is UTC
        state, host = record["state"], record["host"]
        for key in ("cpu", "mem_used", "disk_used", "uptime", "net_in_transfer"):
            _same_number(getattr(parsed.state, key), state.get(key))
        assert parsed.host.mem_total == host.get("mem_total", 0)
        assert parsed.host.platform == host.get("platform", "")
        assert parsed.host.agent_version == host.get("version", "")
        assert parsed.host.arch == host.get("arch", "")
        assert parsed.ipv4 == record["geoip"].get("ip", {}).get("ipv4_addr", "")
    # Groups: many-to-many, names not unique; same-named groups are one.
    expected: dict[str, set[int]] = {}
    for item in recording.exchange("server-group.full").body.get("data") or []:
        expected.setdefault(item["group"]["name"], set()).update(item["servers"] or [])
    assert {k: set(v) for k, v in client.groups.items()} == expected
    for name, members in expected.items():
        assert set((await client.async_get_fleet(name)).servers) == members
        for summary in await client.async_list_servers():
            assert (summary.id in members) == (name in summary.groups)


async def test_duplicate_and_shared_groups_on_a_real_dashboard(
    socket_enabled: None,
) -> None:
    """The recorded D1: web = {1, 2} and {3} (same name), db = {2, 3}."""
    recording = next(r for r in V1 if r.directory.name == "v2-2.3.7-tsdb-off")
    server = ReplayServer(recording)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            client = NezhaV1Client(session, server.url, role_token("full", "v1"))
            assert set((await client.async_get_fleet("web")).servers) == {1, 2, 3}
            assert set((await client.async_get_fleet("db")).servers) == {2, 3}
            groups = {s.id: s.groups for s in await client.async_list_servers()}
    finally:
        await server.stop()
    assert groups == {1: ("web",), 2: ("db", "web"), 3: ("db", "web"), 4: ()}


@pytest.mark.parametrize("served", V1, ids=_ids(V1), indirect=True)
async def test_v1_services_and_pings(served: Any) -> None:
    """Service summaries and each server's ping history."""
    recording, server, session = served
    client = NezhaV1Client(session, server.url, role_token("full", "v1"))
    services = await client.async_get_services()
    data = recording.exchange("service.full").body["data"]
    recorded = data.get("services") or {}
    assert [s.id for s in services] == sorted(int(k) for k in recorded)
    for service in services:
        record = recorded[str(service.id)]
        assert service.name == record["service_name"]
        up, down = record["up"][-1], record["down"][-1]
        assert service.availability_today == pytest.approx(
            100 * up / (up + down) if up + down else None, abs=1e-3
        )
    fleet = await client.async_get_fleet()
    for sid in fleet.servers:
        monitors = await client.async_get_ping_monitors(sid)
        records = recording.exchange(f"server-{sid}-service.full").body.get("data")
        assert [m.monitor_id for m in monitors] == sorted(
            r["monitor_id"] for r in records or []
        )
        for monitor in monitors:
            record = next(r for r in records if r["monitor_id"] == monitor.monitor_id)
            assert monitor.name == record["monitor_name"]
            assert monitor.points == len(record["created_at"])
            newest = max(record["created_at"])
            assert monitor.latest_at == datetime.fromtimestamp(newest / 1000, UTC)
            last = [
                d
                for t, d in zip(record["created_at"], record["avg_delay"], strict=True)
                if t == newest
            ][-1]
            assert monitor.latest_delay == (last if last > 0 else None)


@pytest.mark.parametrize("served", V1, ids=_ids(V1), indirect=True)
async def test_v1_stream_frames(served: Any) -> None:
    """Frames of the admin's stream agree with the recorded values."""
    recording, server, session = served
    client = NezhaV1Client(session, server.url, role_token("full", "v1"))
    await client.async_get_fleet()
    stream = recording.streams["ws.full"]
    assert stream.gaps
    assert all(1.5 <= gap <= 2.5 for gap in stream.gaps), stream.gaps  # every 2 s
    for raw in stream.frames:
        frame = client.parse_frame(json.dumps(raw))
        assert frame.unknown_ids == frozenset()
        assert frame.missing_ids == frozenset()
        assert frame.fleet.server_time == datetime.fromtimestamp(raw["now"] / 1000, UTC)
        for record in raw["servers"]:
            parsed = frame.fleet.servers[record["id"]]
            assert parsed.last_active == _time(record["last_active"])
            _same_number(parsed.state.cpu, record["state"].get("cpu"))
            # Frames carry no addresses: they come from the inventory.
            assert parsed.ipv4 == client.inventory[record["id"]].ipv4


@pytest.mark.parametrize(
    "served",
    [r for r in V1 if "member" in r.meta["roles"]],
    ids=_ids([r for r in V1 if "member" in r.meta["roles"]]),
    indirect=True,
)
async def test_v1_member_and_limited_tokens(served: Any) -> None:
    """A member lists only its server but streams all; an allow-list narrows all."""
    _recording, server, session = served
    member = NezhaV1Client(session, server.url, role_token("member", "v1"))
    own = await member.async_get_fleet()
    assert list(own.servers) == [4]
    assert await member.async_get_groups() == {}
    frames = _recording.streams["ws.member"].frames
    frame = member.parse_frame(json.dumps(frames[0]))
    assert frame.unknown_ids == {1, 2, 3}  # streamed, not listed: left out
    assert set(frame.fleet.servers) == {4}
    # The member's own server streams its full host.
    assert frame.fleet.servers[4].host.agent_version == "2.3.3"

    limited = NezhaV1Client(session, server.url, role_token("limited", "v1"))
    assert list((await limited.async_get_fleet()).servers) == [1]
    assert {k: set(v) for k, v in limited.groups.items()} == {"web": {1}}


@pytest.mark.parametrize(
    "served",
    [r for r in V1 if "expired" in r.meta["roles"]],
    ids=_ids([r for r in V1 if "expired" in r.meta["roles"]]),
    indirect=True,
)
async def test_v1_refusals(served: Any) -> None:
    """A missing scope names it; expired and unknown tokens are auth failures."""
    recording, server, session = served
    missing = NezhaV1Client(session, server.url, role_token("missing-scope", "v1"))
    await missing.async_get_fleet()  # inventory and server scopes are there
    with pytest.raises(NezhaScopeError) as err:
        await missing.async_get_services()
    assert err.value.scope == "nezha:service:read"
    for role in ("expired", "bogus"):
        client = NezhaV1Client(session, server.url, role_token(role, "v1"))
        with pytest.raises(NezhaAuthError) as refused:
            await client.async_get_fleet()
        assert not isinstance(refused.value, NezhaScopeError)
    assert server.requests[-1] == ("/api/v1/server", "bogus")
    with pytest.raises(NezhaAuthError):
        await NezhaV1Client(
            session, server.url, role_token("bogus", "v1")
        ).async_connect_stream()
    # Without a personal token the JWT middleware answers a bare "unauthorized"
    # with HTTP 200 (no strike): what a dashboard without personal tokens says
    # to one, hence the client's reading.
    with pytest.raises(NezhaPatUnsupportedError):
        check_envelope(_raw(recording.exchange("server.none")))


def test_v1_waf_block_page() -> None:
    """After a refused token the live WAF answers everything with its page."""
    recording = next(r for r in V1 if r.meta["waf"])
    with pytest.raises(NezhaAuthError):
        check_envelope(_raw(recording.exchange("server.bogus")))
    with pytest.raises(NezhaWafBlockedError):
        check_envelope(_raw(recording.exchange("server.none")))
    assert recording.streams["ws.bogus"].status == 403


# -- v0 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("served", V0, ids=_ids(V0), indirect=True)
async def test_v0_fleet_values(served: Any) -> None:
    """Every server of ``/server/details`` with its values and tags."""
    recording, server, session = served
    detection = await async_detect_generation(session, server.url)
    assert detection.generation is ApiGeneration.V0
    client = NezhaV0Client(session, server.url, role_token("full", "v0"))
    fleet = await client.async_get_fleet()
    records = {
        r["id"]: r for r in recording.exchange("server-details.full").body["result"]
    }
    assert set(fleet.servers) == set(records)
    for sid, record in records.items():
        parsed = fleet.servers[sid]
        assert parsed.name == record["name"]
        assert parsed.tag == record["tag"]
        if record["last_active"] == GO_ZERO_UNIX:
            # Never reported since the dashboard started: unknown, not zeros.
            assert parsed.last_active is None
            assert parsed.state.cpu is None
            continue
        assert parsed.last_active == datetime.fromtimestamp(record["last_active"], UTC)
        status, host = record["status"], record["host"]
        for key, go in (("cpu", "CPU"), ("mem_used", "MemUsed"), ("uptime", "Uptime")):
            _same_number(getattr(parsed.state, key), status[go])
        assert parsed.host.mem_total == host["MemTotal"]
        assert parsed.host.agent_version == host["Version"]
    tagged = recording.exchange("server-details-tag.full")
    fleet = await client.async_get_fleet(tagged.query["tag"])
    assert set(fleet.servers) == {r["id"] for r in tagged.body["result"]}
    summaries = await client.async_list_servers()
    assert {s.id: s.groups for s in summaries} == {
        sid: (r["tag"],) if r["tag"] else () for sid, r in records.items()
    }


@pytest.mark.parametrize("served", V0, ids=_ids(V0), indirect=True)
async def test_v0_ping_history(served: Any) -> None:
    """Several probes share a minute; the newest is the last of that minute."""
    recording, server, session = served
    client = NezhaV0Client(session, server.url, role_token("full", "v0"))
    for sid in recording.meta["server_ids"]:
        monitors = await client.async_get_ping_monitors(sid)
        records = recording.exchange(f"monitor-{sid}.full").body["result"] or []
        assert [m.monitor_id for m in monitors] == sorted(
            {r["monitor_id"] for r in records}
        )
        for monitor in monitors:
            record = next(r for r in records if r["monitor_id"] == monitor.monitor_id)
            stamps = record["created_at"]
            assert monitor.points == len(stamps)
            assert monitor.latest_at == datetime.fromtimestamp(max(stamps) / 1000, UTC)
    with pytest.raises(NezhaNotFoundError):
        await client.async_get_ping_monitors(999999)


@pytest.mark.parametrize("served", V0, ids=_ids(V0), indirect=True)
async def test_v0_refusals(served: Any) -> None:
    """A wrong token, a ``Bearer`` prefix: HTTP 200 with code 403, an auth error."""
    _recording, server, session = served
    for role in ("bogus",):
        client = NezhaV0Client(session, server.url, role_token(role, "v0"))
        with pytest.raises(NezhaAuthError):
            await client.async_get_fleet()
    bearer = _recording.exchange("server-details.bearer")
    assert (bearer.status, bearer.body["code"]) == (200, 403)


async def test_v1_quotas_and_notes_on_a_real_dashboard(socket_enabled: None) -> None:
    """Traffic rules and the admin frontend's notes, as the real D1 sent them."""
    recording = next(r for r in V1 if r.directory.name == "v2-2.3.7-tsdb-off")
    server = ReplayServer(recording)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            client = NezhaV1Client(session, server.url, role_token("full", "v1"))
            overview = await client.async_get_service_overview()
            fleet = await client.async_get_fleet()
            limited = NezhaV1Client(session, server.url, role_token("limited", "v1"))
            limited_quotas = (await limited.async_get_service_overview()).quotas
    finally:
        await server.stop()
    stats = recording.exchange("service.full").body["data"]["cycle_transfer_stats"]
    assert set(overview.quotas) == {1, 2}
    for rule_id, quota in overview.quotas.items():
        record = stats[str(rule_id)]
        assert quota.name == record["name"]
        assert quota.limit == record["max"] == 10 * 1024**3
        assert quota.cycle_start == datetime.fromisoformat(record["from"])
        assert quota.cycle_end == datetime.fromisoformat(record["to"])
        assert quota.used == {int(k): v for k, v in record["transfer"].items()}
    # Server 2 is under both rules; the limited token sees only rule 1.
    assert 2 in overview.quotas[1].used
    assert list(overview.quotas[2].used) == [2]
    assert set(limited_quotas) == {1}
    # Notes: billing + plan (auto-renewal, monthly), never expires, free text, none.
    one = fleet.servers[1].public_note
    assert one is not None
    assert one.billing is not None
    assert one.plan is not None
    assert one.billing.auto_renewal
    assert one.billing.cycle == "Month"
    assert one.billing.end == datetime(2026, 12, 23, 9, 18, 38, tzinfo=UTC)
    assert one.plan.network_routes == ("CN2 GIA",)
    two = fleet.servers[2].public_note
    assert two is not None
    assert two.billing is not None
    assert two.billing.never_expires
    assert fleet.servers[3].public_note is None  # free text: ignored quietly
    assert fleet.servers[4].public_note is None
