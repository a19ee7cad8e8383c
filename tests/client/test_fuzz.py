"""Property tests: arbitrary JSON never makes the v0 client raise a foreign error.

Whatever a dashboard (or whatever sits at its URL) answers, the client returns a
model, None (skipped record) or raises its own ``NezhaError`` subclass; never a
``KeyError``, ``TypeError``, ``OverflowError``, ``RecursionError`` and so on.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import fields
from datetime import UTC, datetime
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.nezha.client import (
    Fleet,
    Host,
    NezhaError,
    NezhaResponseError,
    NezhaV0Client,
    PingMonitor,
    Server,
    ServerSummary,
    State,
    Temperature,
)
from custom_components.nezha.client.parse import (
    UINT64_MAX,
    FieldReader,
    finite_float,
    unix_millis,
)
from custom_components.nezha.client.transport import RawResponse
from custom_components.nezha.client.v0 import _parse_monitor, _parse_server
from tests.conftest import TOKEN

FUZZ = settings(
    max_examples=300,
    deadline=None,
    # The autouse fixtures (hass, caplog) are set up once per test function, not per
    # example; no example depends on their state.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TOP_KEYS = (
    "id",
    "name",
    "tag",
    "last_active",
    "ipv4",
    "ipv6",
    "valid_ip",
    "display_index",
    "hide_for_guest",
    "host",
    "status",
)
HOST_KEYS = (
    *("Platform", "PlatformVersion", "CPU", "MemTotal", "DiskTotal", "SwapTotal"),
    *("Arch", "Virtualization", "BootTime", "CountryCode", "Version", "GPU"),
)
STATUS_KEYS = (
    *("CPU", "MemUsed", "SwapUsed", "DiskUsed", "NetInTransfer", "NetOutTransfer"),
    *("NetInSpeed", "NetOutSpeed", "Uptime", "Load1", "Load5", "Load15"),
    *("TcpConnCount", "UdpConnCount", "ProcessCount", "Temperatures", "GPU"),
)
MONITOR_KEYS = (
    "monitor_id",
    "server_id",
    "monitor_name",
    "server_name",
    "created_at",
    "avg_delay",
)
ENVELOPE_KEYS = ("code", "message", "result", "success", "error", "data")
ALL_KEYS = TOP_KEYS + HOST_KEYS + STATUS_KEYS + MONITOR_KEYS + ENVELOPE_KEYS

special_ints = st.sampled_from(
    [
        *(0, 1, -1, 2**31, 2**53 + 1, 2**63, UINT64_MAX, UINT64_MAX + 1),
        *(2**70, -(2**70), -62135596800, 10**20, 1733040000, 1733036400000),
        *(10**400, -(10**400)),  # beyond float range
    ]
)
special_strings = st.sampled_from(
    [
        *("", "NaN", "nan", "Infinity", "-Infinity", "1e309", "-0", "0", "null"),
        *("true", "东京-web-03", "\x00", "\ud800", "<html>", "2024-12-01T00:00:00Z"),
    ]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | special_ints
    | st.floats()  # includes nan, inf and -inf
    | st.text(max_size=12)
    | special_strings
)
keys = st.sampled_from(ALL_KEYS) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=20,
)


def usually(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly ``plausible`` values, sometimes any JSON value at all."""
    return st.one_of(plausible, plausible, plausible, json_values)


def loose(
    key_set: tuple[str, ...],
    plausible: dict[str, st.SearchStrategy[Any]],
    required: tuple[str, ...] = (),
) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with known keys; values usually plausible, sometimes random JSON.

    Keys in ``required`` are always present, the others only sometimes.
    """

    def value(key: str) -> st.SearchStrategy[Any]:
        return usually(plausible[key]) if key in plausible else json_values

    return st.fixed_dictionaries(
        {key: value(key) for key in required},
        optional={key: value(key) for key in key_set if key not in required},
    )


def shaped(
    key_set: tuple[str, ...], **plausible: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """Usually a complete object, sometimes a partial one, rarely not an object."""
    full = loose(key_set, plausible, required=key_set)
    return st.one_of(full, full, loose(key_set, plausible), json_values)


beyond_float = st.sampled_from([10**400, -(10**400), math.nan, math.inf, -math.inf])
uints = st.integers(min_value=0, max_value=UINT64_MAX) | special_ints
numbers = (
    st.floats()
    | st.integers(min_value=-5, max_value=10**6)
    | special_ints
    | beyond_float
)
temperatures = st.lists(
    shaped(("Name", "Temperature"), Name=st.text(max_size=6), Temperature=numbers),
    max_size=4,
)
string_lists = st.lists(usually(st.text(max_size=6)), max_size=3)
host_objects = shaped(
    HOST_KEYS,
    **dict.fromkeys(("MemTotal", "DiskTotal", "SwapTotal", "BootTime"), uints),
    CPU=string_lists,
    GPU=string_lists,
)
status_objects = shaped(
    STATUS_KEYS,
    **{
        **dict.fromkeys(STATUS_KEYS, uints),
        **dict.fromkeys(("CPU", "Load1", "Load5", "Load15", "GPU"), numbers),
        "Temperatures": temperatures,
    },
)
server_records = shaped(
    TOP_KEYS,
    id=st.integers(min_value=0, max_value=6) | uints,
    last_active=st.integers(min_value=1, max_value=2**40) | special_ints,
    display_index=st.integers(min_value=-3, max_value=3),
    host=host_objects,
    status=status_objects,
)
millis = st.integers(min_value=1_700_000_000_000, max_value=1_700_000_600_000)
monitor_records = shaped(
    MONITOR_KEYS,
    monitor_id=st.integers(min_value=0, max_value=6) | uints,
    created_at=st.lists(usually(millis), max_size=6),
    avg_delay=st.lists(st.sampled_from([0.0, 1000.0]) | numbers, max_size=6),
)
envelopes = loose(
    ENVELOPE_KEYS,
    {
        "code": st.sampled_from([0, 0, 0, 403, 404, 500, "0", True, None]),
        "result": st.lists(server_records | monitor_records, max_size=4),
    },
)
# Mostly well-formed v0 envelopes, so that the record parsers behind them run too.
v0_envelopes = st.fixed_dictionaries(
    {
        "code": st.just(0),
        "result": st.lists(server_records | monitor_records, max_size=4) | json_values,
    },
    optional={"message": json_values},
)


def dumps(value: Any) -> bytes:
    """JSON as Python writes it, NaN/Infinity included (json.loads reads them)."""
    return json.dumps(value, allow_nan=True).encode()


bodies = (
    v0_envelopes.map(dumps)
    | envelopes.map(dumps)
    | json_values.map(dumps)
    | st.binary(max_size=40)
    | st.sampled_from(
        [b"", b"  \n", b"<html>", b'{"code":0,', b"[" * 3000, b"NaN", b"\xff\xfe"]
    )
)
content_types = st.just("application/json") | st.sampled_from(
    ["text/html", "text/plain", "", "application/octet-stream"]
)
statuses = st.just(200) | st.sampled_from([204, 400, 401, 403, 404, 418, 500, 502])


def run_sync[T](coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never really suspends (the fake transport answers)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("the client awaited something besides the fake transport")


def fake_client(status: int, content_type: str, body: bytes) -> NezhaV0Client:
    """A client whose transport returns one canned answer for every path."""
    client = NezhaV0Client(None, "http://dashboard.invalid", TOKEN)  # type: ignore[arg-type]

    async def get(
        path: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> RawResponse:
        return RawResponse(
            path=path,
            status=status,
            content_type=content_type,
            body=body,
            date=datetime(2026, 1, 1, tzinfo=UTC),
        )

    client._transport.get = get  # type: ignore[method-assign]
    return client


def assert_valid_number(value: object, *, integral: bool) -> None:
    """None, or a finite float, or an int (never a bool) within uint64."""
    if value is None:
        return
    if integral:
        assert type(value) is int
        assert 0 <= value <= UINT64_MAX
    else:
        assert type(value) is float
        assert math.isfinite(value)


def assert_valid_server(server: Server) -> None:
    """Every field of a parsed server has the type the model promises."""
    assert type(server.id) is int and 0 <= server.id <= UINT64_MAX
    assert type(server.display_index) is int
    for text in (server.name, server.tag, server.ipv4, server.ipv6, server.valid_ip):
        assert type(text) is str
    for moment in (server.last_active, server.host.boot_time):
        assert moment is None or moment.utcoffset() is not None
    assert isinstance(server.host, Host)
    assert isinstance(server.state, State)
    for name in ("mem_total", "disk_total", "swap_total"):
        assert_valid_number(getattr(server.host, name), integral=True)
    assert all(type(item) is str for item in server.host.cpu + server.host.gpu)
    for item in fields(State):
        value = getattr(server.state, item.name)
        if item.name == "temperatures":
            assert all(
                isinstance(t, Temperature) and t.name and math.isfinite(t.celsius)
                for t in value
            )
            assert len({t.name for t in value}) == len(value)
        elif item.name == "gpu":
            assert len(value) <= 1 and (not value or server.host.gpu)
            for figure in value:
                assert_valid_number(figure, integral=False)
        else:
            integral = item.name not in ("cpu", "load_1", "load_5", "load_15")
            assert_valid_number(value, integral=integral)


def assert_valid_monitor(monitor: PingMonitor) -> None:
    """A monitor summary is internally consistent."""
    assert type(monitor.monitor_id) is int and 0 <= monitor.monitor_id <= UINT64_MAX
    assert type(monitor.name) is str and monitor.name
    assert 0 <= monitor.lost <= monitor.points
    if monitor.points:
        assert monitor.latest_at is not None
        assert monitor.loss_percent is not None and 0 <= monitor.loss_percent <= 100
    else:
        assert monitor.latest_at is None and monitor.loss_percent is None
    if monitor.latest_delay is not None:
        assert math.isfinite(monitor.latest_delay) and monitor.latest_delay > 0


@FUZZ
@given(value=numbers | json_values, present=st.booleans())
def test_field_readers_never_raise(value: Any, present: bool) -> None:
    problems: list[str] = []
    reader = FieldReader({"k": value} if present else {}, "obj", problems)
    assert_valid_number(reader.uint("k"), integral=True)
    assert reader.uint("k", missing_is_zero=True) is not None or present
    assert type(reader.integer("k", 7)) is int
    assert_valid_number(reader.number("k"), integral=False)
    assert type(reader.text("k")) is str
    assert type(reader.flag("k")) is bool
    assert all(type(item) is str for item in reader.str_tuple("k"))
    assert reader.obj("k") is None or type(reader.obj("k")) is dict
    assert all(type(item) is dict for item in reader.obj_list("k"))
    moment = reader.unix_seconds("k")
    assert moment is None or moment.utcoffset() is not None
    assert all(problem == "obj.k" for problem in problems)
    assert present or not problems
    when = unix_millis(value)
    assert when is None or when.tzinfo is UTC
    assert_valid_number(finite_float(value), integral=False)


@FUZZ
@given(record=server_records)
def test_parse_server_returns_model_or_none(record: Any) -> None:
    server, server_id, problems = _parse_server(record)
    assert all(type(problem) is str for problem in problems)
    if server is None:
        # Skipped: either the id is known (a skipped id) or it is not (incomplete).
        assert server_id is None or type(server_id) is int
        assert problems or server_id is not None
        return
    assert server.id == server_id
    assert_valid_server(server)


@FUZZ
@given(record=monitor_records, server_id=uints)
def test_parse_monitor_returns_model_or_none(record: Any, server_id: int) -> None:
    monitor = _parse_monitor(record, server_id)
    if monitor is not None:
        assert isinstance(monitor, PingMonitor)
        assert monitor.server_id == server_id
        assert_valid_monitor(monitor)


@FUZZ
@given(status=statuses, content_type=content_types, body=bodies, server_id=uints)
def test_any_answer_gives_models_or_a_nezha_error(
    status: int, content_type: str, body: bytes, server_id: int
) -> None:
    client = fake_client(status, content_type, body)
    try:
        fleet = run_sync(client.async_get_fleet())
    except NezhaError:
        pass
    else:
        assert isinstance(fleet, Fleet)
        for server in fleet.servers.values():
            assert_valid_server(server)
        order = [(-s.display_index, s.id) for s in fleet.servers.values()]
        assert order == sorted(order)
        assert all(type(sid) is int for sid in fleet.skipped_ids)
        for server_id_seen in list(fleet.servers) + list(fleet.skipped_ids):
            assert fleet.may_have(server_id_seen)
    try:
        summaries = run_sync(client.async_list_servers())
    except NezhaError:
        pass
    else:
        assert all(isinstance(s, ServerSummary) for s in summaries)
        assert all(type(s.name) is str and type(s.tag) is str for s in summaries)
    try:
        monitors = run_sync(client.async_get_ping_monitors(server_id))
    except NezhaError:
        pass
    else:
        ids = [m.monitor_id for m in monitors]
        assert ids == sorted(set(ids))
        for monitor in monitors:
            assert monitor.server_id == server_id
            assert_valid_monitor(monitor)


@FUZZ
@given(result=st.lists(server_records, max_size=6))
def test_fleet_from_any_records(result: list[Any]) -> None:
    """A valid envelope around random records: always a Fleet, never an error."""
    body = dumps({"code": 0, "message": "success", "result": result})
    fleet = run_sync(fake_client(200, "application/json", body).async_get_fleet())
    for server in fleet.servers.values():
        assert_valid_server(server)
    # A record is either kept, skipped by id, or makes the answer incomplete.
    parsed = [_parse_server(record) for record in result]
    assert set(fleet.servers) == {s.id for s, _, _ in parsed if s is not None}
    assert fleet.skipped_ids == {i for s, i, _ in parsed if s is None and i is not None}
    assert fleet.complete == all(s is not None or i is not None for s, i, _ in parsed)


DEEP_BODIES = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    b'{"code":0,"result":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
]


@pytest.mark.parametrize("body", DEEP_BODIES)
def test_deeply_nested_json_is_response_error(body: bytes) -> None:
    raw = RawResponse(
        path="/api/v1/server/details",
        status=200,
        content_type="application/json",
        body=body,
        date=datetime(2026, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(NezhaResponseError, match="not valid JSON"):
        raw.json()
    client = fake_client(200, "application/json", body)
    for call in (
        client.async_get_fleet(),
        client.async_list_servers(),
        client.async_get_ping_monitors(1),
    ):
        with pytest.raises(NezhaResponseError):
            run_sync(call)


def test_moderately_nested_values_are_just_wrong_types() -> None:
    """Nesting the parser can read is not an error: the field is merely unusable."""
    deep = json.loads("[" * 500 + "]" * 500)
    record = {"id": 1, "name": deep, "host": {"CPU": deep}, "status": {"CPU": deep}}
    server, server_id, problems = _parse_server(record)
    assert server is not None and server_id == 1
    assert (server.name, server.host.cpu, server.state.cpu) == ("", (), None)
    assert sorted(problems) == ["host.CPU", "server.name", "status.CPU"]
