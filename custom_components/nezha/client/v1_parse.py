"""Reading what a v1/v2 dashboard (``nezhahq/nezha`` >= 1.0) sends: envelope, servers, services.

Quirks handled here:
* the envelope is ``{"success", "data", "error"}`` with ``omitempty``: errors have
  no ``success`` key and an empty list has no ``data`` key;
* handler errors are HTTP 200 with a *localised* message; only the literal
  prefixes ``ApiErrorUnauthorized``/``ApiErrorForbidden`` are stable;
* every numeric state key is omitted when zero;
* ``temperatures`` keep Go's PascalCase keys, ``gpu`` is a list;
* ``last_active`` is RFC 3339 and ``0001-01-01T00:00:00Z`` means "not connected";
* the WAF answers a banned IP with a 403 HTML page mentioning "nezha WAF".
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime
import json
from math import isfinite
import re
from typing import TYPE_CHECKING, Any

from .base import (
    check_server_error,
    is_real_ip_error,
    proxy_header_error,
    waf_blocked_error,
)
from .errors import (
    NezhaAuthError,
    NezhaNotFoundError,
    NezhaPatUnsupportedError,
    NezhaResponseError,
    NezhaScopeError,
)
from .fleet import Report, collect_fleet
from .models import Fleet, Host, Server, ServiceOverview, ServiceStatus, State
from .notes import PublicNote, parse_public_note
from .parse import FieldReader, finite_float, parse_temperatures, unix_millis
from .quota import parse_quotas

if TYPE_CHECKING:
    from .transport import RawResponse

# "ApiErrorForbidden: api token lacks scope nezha:inventory:read"; only the scope
# itself is looked for, in case the rest of the text ever gets translated.
_SCOPE = re.compile(r"\bnezha:[\w*]+(?::[\w*]+)*")
_DECIMAL = re.compile(r"[0-9]{1,20}")


def parse_time(value: Any) -> datetime | None:
    """Parse an RFC 3339 time; Go's zero time and anything unusable are None.

    The zero time is recognised before any conversion: turning year 1 into a
    zone with a negative offset would overflow. Go prints up to nine fractional
    digits; ``fromisoformat`` truncates them to microseconds.
    """
    if not isinstance(value, str) or value.startswith("0001-"):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 9999 with a negative offset
        return None


def check_envelope(raw: RawResponse) -> Any:
    """Validate a v1 answer and return its ``data`` (None when omitted).

    Raises the typed error for every failure mode of spec §B.8.
    """
    if raw.is_waf_block:
        raise waf_blocked_error(raw.path)
    check_server_error(raw)
    if not raw.is_json:
        raise NezhaResponseError(
            f"{raw.path}: expected JSON, got '{raw.content_type or 'no type'}' "
            f"(HTTP {raw.status})"
        )
    body = raw.json()
    if not isinstance(body, dict):
        raise NezhaResponseError(f"{raw.path}: JSON is not an object")
    error = body.get("error")
    if raw.status == 200 and error == "ApiErrorUnauthorized":
        # The bare JWT-middleware answer: the dashboard took the personal token for
        # a session token, i.e. it predates personal tokens (v2.1.0).
        raise NezhaPatUnsupportedError(
            f"{raw.path}: the dashboard does not accept personal API tokens"
        )
    if raw.status == 401 or (
        isinstance(error, str) and error.startswith("ApiErrorUnauthorized")
    ):
        raise NezhaAuthError(f"{raw.path}: the dashboard rejected the API token")
    if isinstance(error, str) and error.startswith("ApiErrorForbidden"):
        scope = _SCOPE.search(error)
        raise NezhaScopeError(
            f"{raw.path}: the API token is not allowed to read this",
            scope[0] if scope else None,
        )
    if raw.status == 404:
        raise NezhaNotFoundError(f"{raw.path}: not found on this dashboard")
    if error is not None:
        if is_real_ip_error(error):
            raise proxy_header_error(raw.path)
        raise NezhaResponseError(f"{raw.path}: the dashboard reported an error")
    if body.get("success") is not True:
        raise NezhaResponseError(f"{raw.path}: JSON is not a Nezha v1 answer")
    return body.get("data")


def _parse_host(reader: FieldReader) -> Host:
    return Host(
        platform=reader.text("platform"),
        platform_version=reader.text("platform_version"),
        cpu=reader.str_tuple("cpu"),
        mem_total=reader.uint("mem_total", missing_is_zero=True),
        disk_total=reader.uint("disk_total", missing_is_zero=True),
        swap_total=reader.uint("swap_total", missing_is_zero=True),
        arch=reader.text("arch"),
        virtualization=reader.text("virtualization"),
        boot_time=reader.unix_seconds("boot_time"),
        agent_version=reader.text("version"),
        gpu=reader.str_tuple("gpu"),
    )


def _parse_state(reader: FieldReader) -> State:
    # omitempty: an absent key is a zero, not an unknown.
    def uint(key: str) -> int | None:
        return reader.uint(key, missing_is_zero=True)

    def number(key: str) -> float | None:
        return reader.number(key, missing_is_zero=True)

    gpu_values = reader.raw_list("gpu")
    return State(
        cpu=number("cpu"),
        mem_used=uint("mem_used"),
        swap_used=uint("swap_used"),
        disk_used=uint("disk_used"),
        net_in_transfer=uint("net_in_transfer"),
        net_out_transfer=uint("net_out_transfer"),
        net_in_speed=uint("net_in_speed"),
        net_out_speed=uint("net_out_speed"),
        uptime=uint("uptime"),
        load_1=number("load_1"),
        load_5=number("load_5"),
        load_15=number("load_15"),
        tcp_conn_count=uint("tcp_conn_count"),
        udp_conn_count=uint("udp_conn_count"),
        process_count=uint("process_count"),
        temperatures=parse_temperatures(reader, "temperatures"),
        gpu=tuple(v for v in (finite_float(g) for g in gpu_values) if v is not None),
    )


def parse_server(
    record: Any, previous: Server | None = None
) -> tuple[Server | None, int | None, list[str]]:
    """Parse one server of ``/server`` or of a WebSocket frame.

    WebSocket frames carry no addresses and, for non-admins, a filtered host;
    ``previous`` supplies what the frame leaves out.
    """
    if not isinstance(record, dict):
        return None, None, ["record"]
    problems: list[str] = []
    top = FieldReader(record, "server", problems)
    server_id = top.uint("id")
    if server_id is None or server_id == 0:
        return None, None, problems or ["server.id"]
    host_data = top.obj("host")
    state_data = top.obj("state")
    geoip = top.obj("geoip")
    if host_data is None or state_data is None or geoip is None:
        return None, server_id, problems
    # ``{}`` is what a server that has not reported since the dashboard started
    # (or whose agent just restarted) shows: unknown, not a machine full of zeros.
    host = (
        _parse_host(FieldReader(host_data, "host", problems)) if host_data else Host()
    )
    state = (
        _parse_state(FieldReader(state_data, "state", problems))
        if state_data
        else State()
    )
    ip_data = FieldReader(geoip, "geoip", problems).obj("ip") or {}
    ips = FieldReader(ip_data, "geoip.ip", problems)
    ipv4, ipv6 = ips.text("ipv4_addr"), ips.text("ipv6_addr")
    if previous is not None:
        if not host_data:
            host = previous.host  # static facts outlive a dashboard restart
        elif "geoip" not in record:
            host = _unfiltered(host, previous.host)
        if "geoip" not in record:  # a stream record: it never carries addresses
            ipv4, ipv6 = previous.ipv4, previous.ipv6
    country = top.text("country_code") or FieldReader(geoip, "geoip", problems).text(
        "country_code"
    )
    if country and country != host.country_code:
        host = _with_country(host, country)
    note = _public_note(record, previous)
    server = Server(
        id=server_id,
        name=top.text("name"),
        tag=previous.tag if previous else "",
        last_active=parse_time(record.get("last_active")),
        ipv4=ipv4,
        ipv6=ipv6,
        valid_ip=ipv4 or ipv6,
        display_index=top.integer("display_index"),
        host=host,
        state=state,
        public_note=note,
    )
    return server, server_id, problems


def _public_note(record: dict[str, Any], previous: Server | None) -> PublicNote | None:
    """The note of a record; a stream frame sends it only in the first frame.

    ``/server`` omits an empty note, so there its absence means "no note"; a
    stream record (no ``geoip``) without one keeps the last known note.
    """
    if "public_note" in record:
        return parse_public_note(record["public_note"])
    if previous is not None and "geoip" not in record:
        return previous.public_note
    return None


def _with_country(host: Host, country: str) -> Host:
    return replace(host, country_code=country)


def _unfiltered(host: Host, previous: Host) -> Host:
    """Refill what ``Host.Filter()`` strips from stream frames for non-admins."""
    return replace(
        host,
        platform_version=host.platform_version or previous.platform_version,
        agent_version=host.agent_version or previous.agent_version,
    )


def parse_servers(
    records: Any,
    server_time: datetime,
    *,
    previous: dict[int, Server] | None = None,
    report: Report | None = None,
) -> Fleet:
    """Turn a list of v1 server objects into a Fleet."""
    if records is None:
        records = []
    if not isinstance(records, list):
        raise NezhaResponseError("servers: not a list")
    known = previous or {}

    def parse(record: Any) -> tuple[Server | None, int | None, list[str]]:
        hint = record.get("id") if isinstance(record, dict) else None
        return parse_server(record, known.get(hint) if isinstance(hint, int) else None)

    return collect_fleet(records, parse, server_time, report)


@dataclass(frozen=True, slots=True)
class StreamFrame:
    """One WebSocket frame, reconciled with the REST inventory."""

    fleet: Fleet
    unknown_ids: frozenset[int]
    """Servers in the frame that the inventory lacks (new, or not ours)."""
    missing_ids: frozenset[int]
    """Inventory servers absent from the frame (deleted, or hidden now)."""


def frame_records(text: str | bytes) -> tuple[Any, datetime]:
    """The server records of a ``/ws/server`` frame and the dashboard clock."""
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise NezhaResponseError("ws frame: not valid JSON") from err
    if not isinstance(frame, dict):
        raise NezhaResponseError("ws frame: not an object")
    records = frame.get("servers")
    if records is not None and not isinstance(records, list):
        raise NezhaResponseError("servers: not a list")
    return records or [], unix_millis(frame.get("now")) or datetime.now(UTC)


def parse_ws_frame(
    text: str | bytes, previous: dict[int, Server], report: Report | None = None
) -> Fleet:
    """Parse one ``/ws/server`` frame; ``now`` (ms) is the dashboard clock."""
    records, now = frame_records(text)
    return parse_servers(records, now, previous=previous, report=report)


def record_id(record: Any) -> int | None:
    """The id of a raw server record, read without parsing it."""
    sid = record.get("id") if isinstance(record, dict) else None
    return sid if type(sid) is int else None


def _today(values: list[Any]) -> Any:
    """The last of the 30 daily buckets (index 29, today), or None."""
    return values[-1] if values else None


_UINT64_MAX = 2**64 - 1


def _count(value: Any) -> int:
    """A check counter: a positive integer up to Go's uint64, else it counts as 0."""
    return value if type(value) is int and 0 < value <= _UINT64_MAX else 0


def parse_service(service_id: str, record: Any) -> ServiceStatus | None:
    """Parse one entry of ``/service``'s ``services`` map (None when unusable)."""
    if not _DECIMAL.fullmatch(service_id) or not isinstance(record, dict):
        return None
    reader = FieldReader(record, "service", [])
    today_up = _count(_today(reader.raw_list("up")))
    today_down = _count(_today(reader.raw_list("down")))
    current_up = _count(record.get("current_up"))
    current_down = _count(record.get("current_down"))
    total_today = today_up + today_down
    checks = current_up + current_down
    # The delay is averaged over today's successful checks; without one it is 0.
    delay = finite_float(_today(reader.raw_list("delay"))) if today_up else None
    availability_30d, delay_30d = _thirty_days(reader)
    return ServiceStatus(
        id=int(service_id),
        name=reader.text("service_name") or f"Service {service_id}",
        is_up=None if not checks else current_up >= current_down,
        availability_today=round(100 * today_up / total_today, 3)
        if total_today
        else None,
        delay_today=delay,
        availability_30d=availability_30d,
        delay_30d=delay_30d,
    )


def _thirty_days(reader: FieldReader) -> tuple[float | None, float | None]:
    """Availability and mean delay over the 30 daily buckets.

    Each day's delay is the mean over that day's successful checks, so the mean
    over 30 days weighs each day by them (the user frontend averages the 30
    numbers as they are, counting days without checks as 0 ms).
    """
    ups = [_count(value) for value in reader.raw_list("up")]
    downs = [_count(value) for value in reader.raw_list("down")]
    total = sum(ups) + sum(downs)
    availability = round(100 * sum(ups) / total, 3) if total else None
    weighted = 0.0
    weight = 0
    for delay, up in zip(
        (finite_float(d) for d in reader.raw_list("delay")), ups, strict=False
    ):
        if up and delay is not None and delay > 0:
            weighted += delay * up
            weight += up
    mean = weighted / weight if weight else None
    # Huge delays times huge counts overflow to infinity: no usable mean then.
    return availability, round(mean, 2) if mean is not None and isfinite(mean) else None


def parse_service_overview(data: Any) -> ServiceOverview:
    """Read the ``data`` of ``/service``: the service monitors and the traffic quotas."""
    if not isinstance(data, dict):
        return ServiceOverview(services=[], quotas={})
    services = data.get("services")
    parsed = (
        (parse_service(key, value) for key, value in services.items())
        if isinstance(services, dict)
        else ()
    )
    return ServiceOverview(
        services=sorted((s for s in parsed if s is not None), key=lambda s: s.id),
        quotas=parse_quotas(data.get("cycle_transfer_stats"), parse_time),
    )
