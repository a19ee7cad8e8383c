"""Property tests: any answer gives a model, None (skipped record) or a NezhaError."""

from collections.abc import Callable, Coroutine
from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
import json
import math
import re
from typing import Any

from hypothesis import HealthCheck, example, given, settings, strategies as st
import pytest

from custom_components.nezha.client import (
    Fleet,
    Host,
    NezhaError,
    NezhaResponseError,
    NezhaV0Client,
    NezhaV1Client,
    PingMonitor,
    Server,
    ServerSummary,
    ServiceStatus,
    State,
    Temperature,
    looks_like_personal_token,
)
from custom_components.nezha.client.parse import (
    UINT64_MAX,
    FieldReader,
    finite_float,
    parse_monitor,
    unix_millis,
)
from custom_components.nezha.client.transport import RawResponse
from custom_components.nezha.client.v0_parse import parse_server as parse_v0_server
from custom_components.nezha.client.v1_parse import (
    StreamFrame,
    parse_server as parse_v1_server,
    parse_service,
    parse_time,
    parse_ws_frame,
)
from tests.client.common import CALLS, JSON, assert_secret_free, raw_response
from tests.conftest import TOKEN, register_secret

FUZZ = settings(
    max_examples=300,
    deadline=None,
    # The autouse fixtures (hass, caplog) are set up once per test function, not per
    # example; no example depends on their state.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
V1_FUZZ = settings(FUZZ, max_examples=150)
V1_PAT = register_secret("nzp_" + TOKEN)


def words(text: str) -> tuple[str, ...]:
    """The space-separated words of ``text``."""
    return tuple(text.split())


def snake(key: str) -> str:
    """A v0 key as v1 spells it: MemTotal -> mem_total, Load1 -> load_1."""
    return re.sub(r"(?<=[a-z])(?=[A-Z0-9])", "_", key).lower()


TOP_KEYS = words(
    "id name tag last_active ipv4 ipv6 valid_ip display_index hide_for_guest host status"
)
HOST_KEYS = words(
    "Platform PlatformVersion CPU MemTotal DiskTotal SwapTotal Arch Virtualization"
    " BootTime CountryCode Version GPU"
)
STATUS_KEYS = words(
    "CPU MemUsed SwapUsed DiskUsed NetInTransfer NetOutTransfer NetInSpeed NetOutSpeed"
    " Uptime Load1 Load5 Load15 TcpConnCount UdpConnCount ProcessCount Temperatures GPU"
)
MONITOR_KEYS = words(
    "monitor_id server_id monitor_name server_name created_at avg_delay"
)
ENVELOPE_KEYS = words("code message result success error data")
V1_TOP_KEYS = words(
    "id name display_index public_note hide_for_guest host state geoip country_code"
    " last_active created_at owner"
)
V1_HOST_KEYS = tuple(snake(key) for key in HOST_KEYS if key != "CountryCode")
V1_STATE_KEYS = tuple(map(snake, STATUS_KEYS))
SERVICE_KEYS = words(
    "service_name current_up current_down total_up total_down delay up down"
)
V1_ERRORS = (
    *("ApiErrorUnauthorized", "ApiErrorUnauthorized: invalid api token"),
    "ApiErrorForbidden: api token lacks scope nezha:inventory:read",
    *("ApiErrorForbidden", "real ip header not found", "404 Not Found", "未找到服务器"),
)

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
keys = st.sampled_from(
    TOP_KEYS + HOST_KEYS + STATUS_KEYS + MONITOR_KEYS + ENVELOPE_KEYS
) | st.text(max_size=8)
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
    """Objects with known keys (``required`` always present, the rest sometimes)."""

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
ids = st.integers(min_value=0, max_value=6) | uints
small_index = st.integers(min_value=-3, max_value=3)


type Spelling = Callable[[str], str]


def host_objects(key_set: tuple[str, ...], case: Spelling) -> st.SearchStrategy[Any]:
    """Host objects (v0 keys spelt by ``case``): sizes are uints, CPU and GPU names."""
    sizes = map(case, words("MemTotal DiskTotal SwapTotal BootTime"))
    names = dict.fromkeys(map(case, ("CPU", "GPU")), string_lists)
    return shaped(key_set, **dict.fromkeys(sizes, uints), **names)


def state_objects(
    key_set: tuple[str, ...], case: Spelling, gpu: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """State objects (v0 keys spelt by ``case``): uints but for loads, CPU and more."""
    plausible = dict.fromkeys(key_set, uints)
    plausible |= dict.fromkeys(map(case, words("CPU Load1 Load5 Load15")), numbers)
    plausible |= {case("Temperatures"): temperatures, case("GPU"): gpu}
    return shaped(key_set, **plausible)


server_records = shaped(
    TOP_KEYS,
    id=ids,
    last_active=st.integers(min_value=1, max_value=2**40) | special_ints,
    display_index=small_index,
    host=host_objects(HOST_KEYS, str),
    status=state_objects(STATUS_KEYS, str, gpu=numbers),
)
millis = st.integers(min_value=1_700_000_000_000, max_value=1_700_000_600_000)
monitor_records = shaped(
    MONITOR_KEYS,
    monitor_id=ids,
    created_at=st.lists(usually(millis), max_size=6),
    avg_delay=st.lists(st.sampled_from([0.0, 1000.0]) | numbers, max_size=6),
)
v0_results = st.lists(server_records | monitor_records, max_size=4)
envelopes = loose(
    ENVELOPE_KEYS,
    {
        "code": st.sampled_from([0, 0, 0, 403, 404, 500, "0", True, None]),
        "result": v0_results,
    },
)
# Mostly well-formed v0 envelopes, so that the record parsers behind them run too.
v0_envelopes = st.fixed_dictionaries(
    {"code": st.just(0), "result": v0_results | json_values},
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
content_types = st.just(JSON) | st.sampled_from(
    ["text/html", "text/plain", "", "application/octet-stream"]
)
statuses = st.just(200) | st.sampled_from([204, 400, 401, 403, 404, 418, 500, 502])

offsets = st.timedeltas(
    min_value=-timedelta(hours=23, minutes=59),
    max_value=timedelta(hours=23, minutes=59),
).map(lambda delta: timezone(timedelta(minutes=delta // timedelta(minutes=1))))


def go_rfc3339(moment: datetime, nanos: int) -> str:
    """A time as Go's RFC3339Nano prints it (years 1-9999, any fixed offset)."""
    text = moment.replace(tzinfo=None, microsecond=0).isoformat()
    fraction = f".{nanos:09d}".rstrip("0") if nanos else ""
    zone = moment.strftime("%:z")
    return text + fraction + ("Z" if zone == "+00:00" else zone)


rfc3339 = st.builds(
    go_rfc3339,
    st.datetimes(timezones=offsets),
    st.integers(min_value=0, max_value=999_999_999),
)
times = (
    rfc3339
    | st.sampled_from(
        [
            *("0001-01-01T00:00:00Z", "0001-01-01T00:00:00-05:00"),
            *("9999-12-31T23:59:59-05:00", "0001-01-01T04:00:00+05:00"),
            *("2026-08-17T12:00:01.234567891+08:00", "2026-08-17T12:00:01"),
            *("2026-13-01T00:00:00Z", "", "0001-", "now"),
        ]
    )
    | json_values
)
v1_records = shaped(
    V1_TOP_KEYS,
    id=ids,
    display_index=small_index,
    host=st.just({}) | host_objects(V1_HOST_KEYS, snake),
    state=st.just({})
    | state_objects(V1_STATE_KEYS, snake, st.lists(numbers, max_size=3)),
    geoip=shaped(
        ("ip", "country_code"),
        ip=shaped(("ipv4_addr", "ipv6_addr"), ipv4_addr=st.text(max_size=8)),
        country_code=st.sampled_from(["de", "hk", ""]),
    ),
    last_active=times,
)
PREVIOUS = Server(
    id=1,
    name="known",
    tag="Lab",
    ipv4="192.0.2.1",
    valid_ip="192.0.2.1",
    host=Host(platform="debian", platform_version="12", agent_version="1.14.1"),
)
frames = loose(
    ("now", "online", "servers"),
    {
        "now": st.integers(min_value=0, max_value=2**50) | special_ints,
        "servers": st.lists(v1_records, max_size=4),
    },
)
frame_texts = (
    frames.map(dumps)
    | frames.map(lambda f: dumps(f).decode())
    | json_values.map(dumps)
    | st.binary(max_size=30)
    | st.text(max_size=30)
    | st.sampled_from([b"", "[" * 3000, "{", b"\xff"])
)
counters = st.integers(min_value=-2, max_value=3000) | special_ints | json_values
day_lists = st.lists(usually(st.integers(min_value=0, max_value=3000)), max_size=31)
services = shaped(
    SERVICE_KEYS,
    service_name=st.text(max_size=8),
    current_up=counters,
    current_down=counters,
    delay=st.lists(numbers, max_size=31),
    up=day_lists,
    down=day_lists,
)
service_keys = (
    st.integers(min_value=0, max_value=2**64).map(str)
    | st.sampled_from(["", "x", "0", "007", "\u00b2", "\u0661", "9" * 5000, "-1"])
    | st.text(max_size=4)
)
group_items = shaped(
    ("group", "servers"),
    group=shaped(("id", "name"), name=st.text(max_size=6)),
    servers=st.lists(usually(st.integers(min_value=0, max_value=6)), max_size=4),
)
v1_data = (
    st.lists(v1_records, max_size=4)
    | st.lists(group_items, max_size=3)
    | st.lists(monitor_records, max_size=3)
    | st.fixed_dictionaries(
        {"services": st.dictionaries(service_keys, services, max_size=4)}
    )
    | json_values
)
# Mostly well-formed answers (so the parsers behind the envelope run), some not.
v1_envelopes = st.fixed_dictionaries(
    {"success": st.just(True)}, optional={"data": v1_data}
)
v1_bodies = st.one_of(
    v1_envelopes.map(dumps),
    v1_envelopes.map(dumps),
    st.fixed_dictionaries({"success": st.just(True), "data": scalars}).map(dumps),
    st.fixed_dictionaries(
        {"error": st.sampled_from(V1_ERRORS) | st.text(max_size=10)}
    ).map(dumps),
    bodies,
    st.just(b"<h1>Blocked</h1><p>you were blocked by nezha WAF</p>"),
)
v1_statuses = st.sampled_from([200] * 6 + [401, 403, 404, 500, 502])
v1_content_types = st.sampled_from([JSON] * 4 + ["text/html", ""])


def answered(body: bytes) -> example:
    """An explicit example: ``body`` as a JSON answer (HTTP 200), asked about server 1."""
    return example(status=200, content_type=JSON, body=body, server_id=1)


def run_sync[T](coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never really suspends (the fake transport answers)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("the client awaited something besides the fake transport")


def answer[T](coro: Coroutine[Any, Any, T]) -> T | None:
    """The call's result, or None when it raised a NezhaError (that shows no token)."""
    try:
        return run_sync(coro)
    except NezhaError as err:
        assert_secret_free(err)
        return None


def fake[C: (NezhaV0Client, NezhaV1Client)](
    cls: type[C], body: bytes = b"", status: int = 200, content_type: str = JSON
) -> C:
    """A client whose transport returns one canned answer for every path."""
    token = V1_PAT if cls is NezhaV1Client else TOKEN
    client = cls(None, "http://dashboard.invalid", token)  # type: ignore[arg-type]

    async def get(path: str, **_: Any) -> RawResponse:
        return raw_response(body, status, content_type, path)

    client._transport.get = get  # type: ignore[method-assign]
    return client


def assert_valid_number(value: object, *, integral: bool) -> None:
    """None, or a finite float, or an int (never a bool) within uint64."""
    if integral:
        assert value is None or (type(value) is int and 0 <= value <= UINT64_MAX)
    else:
        assert value is None or (type(value) is float and math.isfinite(value))


def assert_valid_server(server: Server, *, gpu_list: bool = False) -> None:
    """Every field has the promised type; v0 has one GPU figure (with a model), v1 a list."""
    assert type(server.id) is int and 0 <= server.id <= UINT64_MAX
    assert type(server.display_index) is int
    for text in (server.name, server.tag, server.ipv4, server.ipv6, server.valid_ip):
        assert type(text) is str
    for moment in (server.last_active, server.host.boot_time):
        assert moment is None or moment.utcoffset() is not None
    assert isinstance(server.host, Host) and isinstance(server.state, State)
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
            assert gpu_list or (len(value) <= 1 and (not value or server.host.gpu))
            for figure in value:
                assert_valid_number(figure, integral=False)
        else:
            integral = item.name not in ("cpu", "load_1", "load_5", "load_15")
            assert_valid_number(value, integral=integral)


def assert_valid_parse(
    parsed: tuple[Server | None, int | None, list[str]], *, gpu_list: bool = False
) -> None:
    """A parsed record is a valid server, or skipped by id, or has problems."""
    server, server_id, problems = parsed
    assert all(type(problem) is str for problem in problems)
    if server is None:
        # Skipped: either the id is known (a skipped id) or it is not (incomplete).
        assert server_id is None or type(server_id) is int
        assert problems or server_id is not None
    else:
        assert server.id == server_id
        assert_valid_server(server, gpu_list=gpu_list)


def assert_valid_monitors(monitors: list[PingMonitor], server_id: int) -> None:
    """Monitor summaries: one per id, by id, each internally consistent."""
    ids = [m.monitor_id for m in monitors]
    assert ids == sorted(set(ids))
    for monitor in monitors:
        assert isinstance(monitor, PingMonitor) and monitor.server_id == server_id
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


def assert_valid_service(service: ServiceStatus) -> None:
    """A service summary is internally consistent."""
    assert isinstance(service, ServiceStatus)
    assert type(service.id) is int and service.id >= 0
    assert type(service.name) is str and service.name
    assert service.is_up is None or type(service.is_up) is bool
    if service.availability_today is not None:
        assert 0 <= service.availability_today <= 100
    if service.delay_today is not None:
        assert math.isfinite(service.delay_today)


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
@given(result=st.lists(server_records, max_size=6))
def test_fleet_from_any_records(result: list[Any]) -> None:
    """Each record parses to a model or None; around them, always a Fleet."""
    parsed = [parse_v0_server(record) for record in result]
    for one in parsed:
        assert_valid_parse(one)
    body = dumps({"code": 0, "message": "success", "result": result})
    fleet = run_sync(fake(NezhaV0Client, body).async_get_fleet())
    for server in fleet.servers.values():
        assert_valid_server(server)
    # A record is either kept, skipped by id, or makes the answer incomplete.
    assert set(fleet.servers) == {s.id for s, _, _ in parsed if s is not None}
    assert fleet.skipped_ids == {i for s, i, _ in parsed if s is None and i is not None}
    assert fleet.complete == all(s is not None or i is not None for s, i, _ in parsed)


@FUZZ
@given(record=monitor_records, server_id=uints)
def test_parse_monitor_returns_model_or_none(record: Any, server_id: int) -> None:
    if (monitor := parse_monitor(record, server_id)) is not None:
        assert_valid_monitors([monitor], server_id)


SERVICE = {"service_name": "web", "up": [1], "down": [0], "delay": [5.0]}
GROUPS = [5, {}, {"group": {"name": "g"}, "servers": [1]}]  # not one, no group, one


# A repeated problem (logged once) and a skipped id, so that they never depend on luck.
REPEATS = [{"id": 1, "name": 5}, {"id": 1, "name": 5}, {"id": 3, "status": 5}]


@FUZZ
@given(status=statuses, content_type=content_types, body=bodies, server_id=uints)
@answered(dumps({"code": 0, "result": REPEATS}))
@example(  # an id beyond float range: the error message is capped
    status=200, content_type="application/octet-stream", body=b"", server_id=-(10**400)
)
def test_any_answer_gives_models_or_a_nezha_error(
    status: int, content_type: str, body: bytes, server_id: int
) -> None:
    client = fake(NezhaV0Client, body, status, content_type)
    if (fleet := answer(client.async_get_fleet())) is not None:
        assert isinstance(fleet, Fleet)
        for server in fleet.servers.values():
            assert_valid_server(server)
        order = [(-s.display_index, s.id) for s in fleet.servers.values()]
        assert order == sorted(order)
        assert all(type(sid) is int for sid in fleet.skipped_ids)
        assert all(map(fleet.may_have, [*fleet.servers, *fleet.skipped_ids]))
    if (summaries := answer(client.async_list_servers())) is not None:
        assert all(isinstance(s, ServerSummary) for s in summaries)
        assert all(type(s.name) is str and type(s.tag) is str for s in summaries)
    if (monitors := answer(client.async_get_ping_monitors(server_id))) is not None:
        assert_valid_monitors(monitors, server_id)


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("body", "words"),
    [
        *((body, "empty response") for body in (b"", b" \r\n\t ")),
        *((body, "not valid JSON") for body in (b"{", b"\xff\xfe{}", DEEP)),
        (b"1" * 5000, "not valid JSON"),  # beyond int's max string digits
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "not valid JSON"),
        (b'{"code":0,"result":' + DEEP + b"}", "not valid JSON"),
    ],
)
def test_unreadable_body_is_response_error(body: bytes, words: str) -> None:
    """Empty, broken or too deeply nested: a response error naming the status."""
    with pytest.raises(NezhaResponseError, match=f"{words} \\(HTTP 418\\)"):
        raw_response(body, status=418).json()
    client = fake(NezhaV0Client, body)
    for call in ("fleet", "list", "monitors"):
        with pytest.raises(NezhaResponseError):
            run_sync(CALLS[call](client))  # type: ignore[arg-type]


def test_raw_response_reading() -> None:
    """Content types; text search despite bad encoding; big ints and Unicode."""
    types = (JSON, "text/html", "text/plain", "application/octet-stream")
    answers = [raw_response(b"", 200, t) for t in types]
    flags = [(r.is_json, r.is_html) for r in answers]
    assert flags == [(True, False), (False, True), (False, False), (False, False)]
    page = b"\xff\xfe<title>Blocked \xe8\xa2\xab</title>"
    blocked = raw_response(page, 200, "text/html")
    assert blocked.text_contains("<title>Blocked")
    assert not blocked.text_contains("ApiErrorUnauthorized")
    body = '{"n": 18446744073709551615, "name": "东京"}'.encode()
    assert raw_response(body).json() == {"n": 2**64 - 1, "name": "东京"}


def test_moderately_nested_values_are_just_wrong_types() -> None:
    """Nesting the parser can read is not an error: the field is merely unusable."""
    deep = json.loads("[" * 500 + "]" * 500)
    record = {"id": 1, "name": deep, "host": {"CPU": deep}, "status": {"CPU": deep}}
    server, server_id, problems = parse_v0_server(record)
    assert server is not None and server_id == 1
    assert (server.name, server.host.cpu, server.state.cpu) == ("", (), None)
    assert sorted(problems) == ["host.CPU", "server.name", "status.CPU"]


@FUZZ
@given(value=times)
def test_parse_time_gives_utc_or_none(value: Any) -> None:
    moment = parse_time(value)
    assert moment is None or moment.tzinfo is UTC
    if isinstance(value, str) and value.startswith("0001-"):
        assert moment is None


@FUZZ
@given(token=st.text(max_size=40) | st.just(V1_PAT))
def test_looks_like_personal_token_never_raises(token: str) -> None:
    if looks_like_personal_token(token):
        assert len(token) == 36 and token.startswith("nzp_")
        assert token[4:].isascii() and token[4:].isalnum()


@V1_FUZZ
@given(record=v1_records, previous=st.none() | st.just(PREVIOUS))
@example(  # a REST record refreshing a known server
    record={"id": 1, "host": {"platform": "debian"}, "geoip": {"ip": {}}},
    previous=PREVIOUS,
)
def test_v1_parse_server_returns_model_or_none(
    record: Any, previous: Server | None
) -> None:
    parsed = parse_v1_server(record, previous)
    assert_valid_parse(parsed, gpu_list=True)
    if (server := parsed[0]) is not None:
        assert server.tag == (previous.tag if previous else "")
        assert server.valid_ip == (server.ipv4 or server.ipv6)
        if previous is not None and "geoip" not in record:
            assert (server.ipv4, server.ipv6) == (previous.ipv4, previous.ipv6)


@V1_FUZZ
@given(text=frame_texts, with_inventory=st.booleans())
def test_v1_frames_give_a_fleet_or_a_response_error(
    text: str | bytes, with_inventory: bool
) -> None:
    inventory = {PREVIOUS.id: PREVIOUS} if with_inventory else {}
    try:
        fleet = parse_ws_frame(text, inventory)
    except NezhaResponseError:
        pass
    else:
        assert isinstance(fleet, Fleet) and fleet.server_time.tzinfo is not None
        for server in fleet.servers.values():
            assert_valid_server(server, gpu_list=True)
    client = fake(NezhaV1Client)
    client.inventory = dict(inventory)
    try:
        frame = client.parse_frame(text)
    except NezhaResponseError:
        return
    assert isinstance(frame, StreamFrame)
    assert set(frame.fleet.servers) <= set(inventory)
    assert not frame.unknown_ids & set(inventory)
    assert frame.missing_ids <= set(inventory)


@V1_FUZZ
@given(key=service_keys, record=services)
def test_v1_parse_service_returns_model_or_none(key: str, record: Any) -> None:
    if (service := parse_service(key, record)) is not None:
        assert str(service.id) == key.lstrip("0") or service.id == 0
        assert_valid_service(service)


@V1_FUZZ
@given(
    status=v1_statuses,
    content_type=v1_content_types,
    body=v1_bodies,
    server_id=st.integers(min_value=1, max_value=6),
)
@answered(b'{"error": "ApiErrorUnauthorized"}')  # a dashboard before personal tokens
@answered(dumps({"success": True, "data": GROUPS}))
@answered(dumps({"success": True, "data": {"services": {"1": SERVICE}}}))
def test_v1_any_answer_gives_models_or_a_nezha_error(
    status: int, content_type: str, body: bytes, server_id: int
) -> None:
    client = fake(NezhaV1Client, body, status, content_type)
    if (fleet := answer(client.async_get_fleet("Lab"))) is not None:
        assert all(s.tag == "Lab" for s in fleet.servers.values())
        for server in client.inventory.values():
            assert_valid_server(server, gpu_list=True)
    if (groups := answer(client.async_get_groups())) is not None:
        assert all(type(name) is str and name for name in groups)
        assert all(type(m) is int for ids in groups.values() for m in ids)
    if (found := answer(client.async_get_services())) is not None:
        assert [s.id for s in found] == sorted({s.id for s in found})
        for service in found:
            assert_valid_service(service)
    if (monitors := answer(client.async_get_ping_monitors(server_id))) is not None:
        assert_valid_monitors(monitors, server_id)
