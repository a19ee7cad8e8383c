"""Client for the v1/v2 dashboard API (``nezhahq/nezha`` ≥ 1.0).

Quirks handled here:
* personal API tokens ``nzp_…`` go in ``Authorization: Bearer``;
* the envelope is ``{"success", "data", "error"}`` with ``omitempty``: errors have
  no ``success`` key and an empty list has no ``data`` key;
* handler errors are HTTP 200 with a *localised* message; only the literal
  prefixes ``ApiErrorUnauthorized``/``ApiErrorForbidden`` are stable;
* every numeric state key is omitted when zero;
* ``temperatures`` keep Go's PascalCase keys, ``gpu`` is a list;
* ``last_active`` is RFC 3339 and ``0001-01-01T00:00:00Z`` means "not connected";
* the WAF answers a banned IP with a 403 HTML page mentioning "nezha WAF".

Every authentication failure costs the user's IP a WAF strike, so callers must
never retry one on their own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime
import json
import logging
import re
from typing import Any

import aiohttp

from .cron import CRON_PATH, CRON_TRIGGER_PATH, PROBE_CRON_ID, CronTask, parse_cron
from .errors import (
    NezhaAuthError,
    NezhaConnectionError,
    NezhaError,
    NezhaNotFoundError,
    NezhaPatUnsupportedError,
    NezhaProxyHeaderError,
    NezhaRedirectError,
    NezhaRefusedError,
    NezhaResponseError,
    NezhaScopeError,
    NezhaTimeoutError,
    NezhaTLSError,
    NezhaTokenError,
    NezhaWafBlockedError,
)
from .fleet import ProblemLog, Report, collect_fleet
from .limits import (
    FLEET_BODY_BYTES,
    MAX_RECORDS,
    MONITOR_BODY_BYTES,
    SERVICES_BODY_BYTES,
    SMALL_BODY_BYTES,
)
from .models import (
    ApiGeneration,
    Fleet,
    Host,
    PingMonitor,
    Server,
    ServerSummary,
    ServiceOverview,
    ServiceStatus,
    State,
)
from .notes import PublicNote, parse_public_note
from .parse import FieldReader, clean_text, finite_float, unix_millis
from .quota import parse_quotas
from .transport import (
    DEFAULT_TIMEOUT,
    RawResponse,
    Transport,
    redirect_target,
    token_problem,
)
from .v0 import parse_monitor, parse_temperatures

_LOGGER = logging.getLogger(__name__)

SERVERS_PATH = "/api/v1/server"
GROUPS_PATH = "/api/v1/server-group"
SERVICES_PATH = "/api/v1/service"
WS_PATH = "/api/v1/ws/server"
# Per-server monitor history (v2.0+; personal tokens need v2.1+ anyway).
SERVER_SERVICE_PATH = "/api/v1/server/{server_id}/service"

TOKEN_PATTERN = re.compile(r"nzp_[0-9A-Za-z]{32}")
# "ApiErrorForbidden: api token lacks scope nezha:inventory:read"; only the scope
# itself is looked for, in case the rest of the text ever gets translated.
_SCOPE = re.compile(r"\bnezha:[\w*]+(?::[\w*]+)*")
_DECIMAL = re.compile(r"[0-9]{1,20}")
# The dashboard never reads the stream, so it never answers a close frame.
CLOSE_TIMEOUT = 0.25
REQUIRED_SCOPES = ("nezha:inventory:read", "nezha:service:read", "nezha:server:read")


class _RedirectRefusedError(Exception):
    """Raised from the trace of a redirect, before aiohttp follows it."""

    def __init__(self, status: int, location: str) -> None:
        super().__init__(status)
        self.status = status
        self.location = location


async def _refuse_redirect(
    session: aiohttp.ClientSession,
    context: Any,
    params: aiohttp.TraceRequestRedirectParams,
) -> None:
    location = redirect_target(params.url, params.response.headers.get("Location", ""))
    params.response.close()
    raise _RedirectRefusedError(params.response.status, location)


def refuse_redirects() -> aiohttp.TraceConfig:
    """A trace that stops a session's redirects before they are followed.

    ``ws_connect`` has no ``allow_redirects``: it follows up to ten, so the stream
    would take another server's frames as the dashboard's. Give the session
    for the stream (``stream_session``) this trace; every redirect then fails
    with NezhaRedirectError, and the target never sees a request.
    """
    trace = aiohttp.TraceConfig()
    trace.on_request_redirect.append(_refuse_redirect)
    return trace


def looks_like_personal_token(token: str) -> bool:
    """Return True for the ``nzp_`` + 32 alphanumerics format of v2.1+ tokens."""
    return TOKEN_PATTERN.fullmatch(token) is not None


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


def is_real_ip_error(error: object) -> bool:
    """Whether ``error`` is the WAF's refusal of a request without a real-IP header.

    ``waf.RealIp`` refuses a missing header, and with Go's ``netip.ParseAddr`` error
    one that is not a bare IP address (``ip:port``, a host name, ...).
    """
    return isinstance(error, str) and (
        error == "real ip header not found" or error.startswith("ParseAddr(")
    )


def check_envelope(raw: RawResponse) -> Any:
    """Validate a v1 answer and return its ``data`` (None when omitted).

    Raises the typed error for every failure mode of spec §B.8.
    """
    if raw.is_waf_block:
        raise NezhaWafBlockedError(
            f"{raw.path}: the dashboard's WAF has blocked this IP address"
        )
    if raw.status >= 500:
        raise NezhaConnectionError(
            f"{raw.path}: the dashboard answered HTTP {raw.status}"
        )
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
            raise NezhaProxyHeaderError(
                f"{raw.path}: the dashboard expects a real-IP header from a reverse "
                "proxy; connect through that proxy"
            )
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


def _frame_records(text: str | bytes) -> tuple[Any, datetime]:
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
    records, now = _frame_records(text)
    return parse_servers(records, now, previous=previous, report=report)


def _record_id(record: Any) -> int | None:
    """The id of a raw server record, read without parsing it."""
    sid = record.get("id") if isinstance(record, dict) else None
    return sid if type(sid) is int else None


def _today(values: list[Any]) -> Any:
    """The last of the 30 daily buckets (index 29, today), or None."""
    return values[-1] if values else None


def _count(value: Any) -> int:
    """A check counter: a non-negative integer, anything else counts as 0."""
    return value if type(value) is int and value > 0 else 0


def _parse_service(service_id: str, record: Any) -> ServiceStatus | None:
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
    return availability, round(weighted / weight, 2) if weight else None


class NezhaV1Client:
    """Reads a v1/v2 dashboard with a personal API token."""

    generation = ApiGeneration.V1

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        stream_session: aiohttp.ClientSession | None = None,
    ) -> None:
        """Create a client; ``base_url`` must already be normalised.

        ``stream_session`` opens the WebSocket; it should carry
        :func:`refuse_redirects` (REST requests never follow a redirect anyway).
        """
        self._session = session
        self._stream_session = stream_session or session
        self._transport = Transport(session, base_url, timeout=timeout)
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
        }
        self._timeout = timeout
        self._token_problem = token_problem(token)
        self._problems = ProblemLog(_LOGGER)
        self.inventory: dict[int, Server] = {}
        """The servers of the last REST answer (of the group asked for), tagged
        with their first group."""
        self.groups: dict[str, frozenset[int]] = {}
        """Group name → member ids, as of the last inventory."""
        self._listed: frozenset[int] | None = None
        self._left_out = 0

    @property
    def base_url(self) -> str:
        """Return the dashboard's normalised base URL."""
        return self._transport.base_url

    def __repr__(self) -> str:
        """Describe the client without the token."""
        return f"NezhaV1Client({self._transport.base_url!r})"

    async def _get(
        self,
        path: str,
        params: dict[str, str] | None = None,
        max_bytes: int = SMALL_BODY_BYTES,
    ) -> tuple[Any, datetime]:
        self._check_token(path)
        raw = await self._transport.get(
            path, headers=self._headers, params=params, max_bytes=max_bytes
        )
        return check_envelope(raw), raw.date

    def _check_token(self, path: str) -> None:
        if self._token_problem:
            # No request, so no WAF strike either.
            raise NezhaTokenError(f"{path}: {self._token_problem}")

    async def async_get_groups(self) -> dict[str, frozenset[int]]:
        """Return group name → member server ids.

        Groups are many-to-many and their names need not be unique (both seen on
        a real v2.3.7): groups of the same name are one group here, as the
        group option selects by name.
        """
        data, _ = await self._get(GROUPS_PATH)
        groups: dict[str, frozenset[int]] = {}
        for item in _data_list(GROUPS_PATH, data):
            if not isinstance(item, dict):
                continue
            group = item.get("group")
            name = group.get("name") if isinstance(group, dict) else None
            members = item.get("servers") or []  # null for a group without servers
            if isinstance(name, str) and name and isinstance(members, list):
                ids = frozenset(m for m in members if type(m) is int)
                name = clean_text(name)
                groups[name] = groups.get(name, frozenset()) | ids
        return groups

    async def async_list_servers(self, tag: str | None = None) -> list[ServerSummary]:
        """Return id, name and group of every server the token may see."""
        fleet = await self.async_get_fleet(tag)
        return [
            ServerSummary(
                id=server.id,
                name=server.name,
                tag=server.tag,
                groups=tuple(
                    name
                    for name, ids in sorted(self.groups.items())
                    if server.id in ids
                ),
            )
            for server in fleet.servers.values()
        ]

    async def async_get_fleet(self, tag: str | None = None) -> Fleet:
        """Return the inventory with the latest state (two requests).

        Servers have no tag in v1; the first of a server's groups from
        ``/server-group`` stands in for it. The group filter keeps every member
        of the chosen group, whatever other groups they are in, and is applied
        before the records are read: only the group counts against
        ``MAX_SERVERS`` and costs parsing.
        """
        data, date = await self._get(SERVERS_PATH, max_bytes=FLEET_BODY_BYTES)
        groups = await self.async_get_groups()
        if data is not None and not isinstance(data, list):
            raise NezhaResponseError("servers: not a list")
        records = data or []
        unread = max(0, len(records) - MAX_RECORDS)
        records = records[:MAX_RECORDS]
        ids = [_record_id(record) for record in records]
        self._listed = frozenset(sid for sid in ids if sid is not None)
        membership: dict[int, str] = {}
        for name, members in sorted(groups.items()):
            for sid in members:
                membership.setdefault(sid, name)
        self.groups = groups
        if tag is not None:
            # A record without a readable id stays: it makes the answer incomplete.
            members = groups.get(tag, frozenset())
            records = [
                r
                for r, sid in zip(records, ids, strict=True)
                if sid is None or sid in members
            ]
        fleet = parse_servers(
            records, date, previous=self.inventory, report=self._problems.report
        )
        if unread:
            fleet = replace(fleet, left_out=fleet.left_out + unread, complete=False)
        self.inventory = {
            sid: _with_tag(server, membership.get(sid, ""))
            for sid, server in fleet.servers.items()
        }
        self._left_out = fleet.left_out
        return _only_group(replace(fleet, servers=self.inventory), self.groups, tag)

    async def async_get_ping_monitors(self, server_id: int) -> list[PingMonitor]:
        """Return the latency monitors run by one server."""
        path = SERVER_SERVICE_PATH.format(server_id=server_id)
        data, _ = await self._get(path, {"period": "1d"}, MONITOR_BODY_BYTES)
        monitors: dict[int, PingMonitor] = {}
        for record in _data_list(path, data):
            monitor = parse_monitor(record, server_id)
            if monitor is not None:
                monitors.setdefault(monitor.monitor_id, monitor)
        return sorted(monitors.values(), key=lambda m: m.monitor_id)

    async def async_get_services(self) -> list[ServiceStatus]:
        """Return each service's current status and today's availability."""
        return (await self.async_get_service_overview()).services

    async def async_get_service_overview(self) -> ServiceOverview:
        """Return the service monitors and the traffic quotas (one request)."""
        data, _ = await self._get(SERVICES_PATH, max_bytes=SERVICES_BODY_BYTES)
        if not isinstance(data, dict):
            return ServiceOverview(services=[], quotas={})
        services = data.get("services")
        parsed = (
            (_parse_service(key, value) for key, value in services.items())
            if isinstance(services, dict)
            else ()
        )
        return ServiceOverview(
            services=sorted((s for s in parsed if s is not None), key=lambda s: s.id),
            quotas=parse_quotas(data.get("cycle_transfer_stats"), parse_time),
        )

    async def async_connect_stream(self) -> aiohttp.ClientWebSocketResponse:
        """Open the server-state WebSocket.

        No Origin header (the dashboard's same-origin check would refuse a
        mismatch) and no client heartbeat (the dashboard never reads the socket).
        Handshake failures are mapped like REST errors.
        """
        self._check_token(WS_PATH)
        url = self.base_url + WS_PATH
        try:
            async with asyncio.timeout(self._timeout):
                return await self._stream_session.ws_connect(
                    url,
                    headers=self._headers,
                    autoping=True,
                    heartbeat=None,
                    max_msg_size=FLEET_BODY_BYTES,
                    # close() may wait for a close frame, which never comes.
                    timeout=aiohttp.ClientWSTimeout(
                        ws_receive=None, ws_close=CLOSE_TIMEOUT
                    ),
                )
        except TimeoutError as err:
            raise NezhaTimeoutError(
                f"{WS_PATH}: no handshake within {self._timeout:g} s"
            ) from err
        except _RedirectRefusedError as err:
            raise NezhaRedirectError(
                f"{WS_PATH}: the dashboard redirects (HTTP {err.status}) to "
                f"{err.location}",
                err.location,
            ) from None
        except aiohttp.ClientResponseError as err:
            status = err.status
            content_type = err.headers.get("Content-Type", "") if err.headers else ""
        except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError) as err:
            # The same error as REST, so the user reads the same advice.
            raise NezhaTLSError(
                f"{WS_PATH}: TLS handshake failed ({err.__class__.__name__})"
            ) from err
        except aiohttp.ClientError as err:
            raise NezhaConnectionError(f"{WS_PATH}: {err.__class__.__name__}") from err
        # Raised outside the handler on purpose: the repr of the aiohttp error shows
        # the request headers, the token among them, so it must not be the context.
        raise _handshake_error(status, is_html=content_type.startswith("text/html"))

    def parse_frame(self, text: str | bytes, tag: str | None = None) -> StreamFrame:
        """Parse a stream frame against the inventory of the last REST answer.

        Frames carry no addresses and may show servers the inventory does not
        (a member's token streams every visible server but lists only its own);
        those are reported as ``unknown_ids`` and left out. Only the records of
        inventory servers are read (those of the group, when one is chosen);
        the others are told apart by their ids alone.
        """
        records, now = _frame_records(text)
        unread = len(records) > MAX_RECORDS
        records = records[:MAX_RECORDS]
        ids = [_record_id(record) for record in records]
        wanted = [
            record
            for record, sid in zip(records, ids, strict=True)
            if sid is None or sid in self.inventory
        ]
        fleet = parse_servers(
            wanted, now, previous=self.inventory, report=self._problems.report
        )
        for sid, server in fleet.servers.items():
            # A first frame may bring a note newer than the inventory's; later
            # frames carry none and would fall back to the older one.
            known = self.inventory.get(sid)
            if known is not None and server.public_note is not known.public_note:
                self.inventory[sid] = replace(known, public_note=server.public_note)
        present = frozenset(sid for sid in ids if sid is not None)
        listed = frozenset(self.inventory) if self._listed is None else self._listed
        return StreamFrame(
            fleet=_only_group(
                replace(fleet, left_out=self._left_out), self.groups, tag
            ),
            unknown_ids=present - listed,
            # Of a frame not read to its end nothing can be called missing.
            missing_ids=frozenset() if unread else frozenset(self.inventory) - present,
        )

    async def async_get_crons(self) -> list[CronTask]:
        """Return the scheduled and trigger tasks (scope ``nezha:cron:read``)."""
        data, _ = await self._get(CRON_PATH)
        parsed = (parse_cron(record) for record in _data_list(CRON_PATH, data))
        tasks = {task.id: task for task in parsed if task is not None}
        return sorted(tasks.values(), key=lambda task: task.id)

    async def async_trigger_cron(self, cron_id: int) -> None:
        """Run a task once now (scope ``nezha:cron:exec``); never retried.

        A refusal with the dashboard's reason raises :class:`NezhaRefusedError`.
        """
        path = CRON_TRIGGER_PATH.format(cron_id=cron_id)
        self._check_token(path)
        raw = await self._transport.get(path, headers=self._headers, method="POST")
        try:
            check_envelope(raw)
        except NezhaProxyHeaderError:
            raise
        except NezhaResponseError as err:
            reason = _error_text(raw)
            if reason is None:
                raise
            raise NezhaRefusedError(
                f"{path}: the dashboard refused to run the task", reason
            ) from err

    async def async_can_trigger_crons(self) -> bool:
        """Whether the token has ``nezha:cron:exec``, without running anything.

        Task 0 never exists: with the scope the dashboard answers "task id 0 does
        not exist", without it HTTP 403 (no WAF strike either way).
        """
        try:
            await self.async_trigger_cron(PROBE_CRON_ID)
        except NezhaScopeError:
            return False
        except NezhaRefusedError:
            return True
        return True


def _handshake_error(status: int, *, is_html: bool) -> NezhaError:
    """Map the HTTP status of a refused WebSocket upgrade."""
    if status == 403 and is_html:
        # The WAF's block page; a missing scope is a JSON 403.
        return NezhaWafBlockedError(
            f"{WS_PATH}: the dashboard's WAF has blocked this IP address"
        )
    if status >= 500:
        return NezhaConnectionError(f"{WS_PATH}: the dashboard answered HTTP {status}")
    if status in (401, 403):
        # A rejected personal token, or a missing scope: do not try again
        # without the user (each refused token is a WAF strike).
        return NezhaAuthError(
            f"{WS_PATH}: the dashboard refused the stream (HTTP {status})"
        )
    if status == 200:
        # A JSON error before the upgrade that is not about our token: the WAF's
        # real-IP check, or JWT handling on a dashboard without personal tokens.
        # Neither costs a strike; the REST poll meanwhile names the cause.
        return NezhaResponseError(
            f"{WS_PATH}: the dashboard refused the stream (HTTP 200)"
        )
    return NezhaResponseError(f"{WS_PATH}: handshake failed (HTTP {status})")


def _data_list(path: str, data: Any) -> list[Any]:
    """``data`` of a list answer: omitted when empty, an error when not a list."""
    if data is None:
        return []
    if not isinstance(data, list):
        raise NezhaResponseError(f"{path}: 'data' is not a list")
    return data


def _only_group(
    fleet: Fleet, groups: dict[str, frozenset[int]], tag: str | None
) -> Fleet:
    if tag is None:
        return fleet
    members = groups.get(tag, frozenset())
    return replace(
        fleet, servers={sid: s for sid, s in fleet.servers.items() if sid in members}
    )


def _with_tag(server: Server, tag: str) -> Server:
    return replace(server, tag=tag)


def _error_text(raw: RawResponse) -> str | None:
    """The ``error`` text of a JSON answer (HTTP 200), shortened; None otherwise."""
    if raw.status != 200 or not raw.is_json:
        return None
    try:
        body = raw.json()
    except NezhaResponseError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, str) or not error.strip():
        return None
    return error.strip()[:200]
