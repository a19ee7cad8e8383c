"""Client for the v0 dashboard API (``naiba/nezha`` up to v0-final).

Quirks handled here (see the API notes in the README):
* the token is the raw ``Authorization`` value; ``Bearer`` is rejected;
* an auth failure is HTTP 200 with ``{"code": 403}``;
* nested objects use Go's PascalCase keys and may be ``null``;
* ``last_active`` is ``-62135596800`` for "never reported"; such a server's
  host and status hold Go zero values, so they are returned as unknown;
* ``/monitor/{id}`` answers ``"result": null`` when there is no history.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .errors import (
    NezhaAuthError,
    NezhaConnectionError,
    NezhaNotFoundError,
    NezhaResponseError,
    NezhaTokenError,
    NezhaUnsupportedError,
)
from .fleet import ProblemLog, collect_fleet
from .limits import (
    FLEET_BODY_BYTES,
    LIST_BODY_BYTES,
    MAX_POINTS_PER_MONITOR,
    MONITOR_BODY_BYTES,
)
from .models import (
    ApiGeneration,
    Fleet,
    Host,
    PingMonitor,
    Server,
    ServerSummary,
    State,
    Temperature,
)
from .parse import FieldReader, clean_text, finite_float, unix_millis
from .transport import DEFAULT_TIMEOUT, RawResponse, Transport, token_problem

if TYPE_CHECKING:
    import aiohttp

_LOGGER = logging.getLogger(__name__)

LIST_PATH = "/api/v1/server/list"
DETAILS_PATH = "/api/v1/server/details"
MONITOR_PATH = "/api/v1/monitor/{server_id}"


class NezhaV0Client:
    """Reads servers and ping history from a v0 dashboard."""

    generation = ApiGeneration.V0

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Create a client; ``base_url`` must already be normalised."""
        self._transport = Transport(session, base_url, timeout=timeout)
        self._headers = {"Authorization": token, "Accept": "application/json"}
        self._token_problem = token_problem(token)
        self._problems = ProblemLog(_LOGGER)

    @property
    def base_url(self) -> str:
        """Return the dashboard's normalised base URL."""
        return self._transport.base_url

    def __repr__(self) -> str:
        """Describe the client without the token."""
        return f"NezhaV0Client({self._transport.base_url!r})"

    async def async_list_servers(self, tag: str | None = None) -> list[ServerSummary]:
        """Return the light server list; the cheapest authenticated call."""
        params = {"tag": tag} if tag else None
        raw = await self._get(LIST_PATH, params, LIST_BODY_BYTES)
        result = _result_list(_envelope(raw, auth_checked=True), raw.path)
        summaries = []
        for record in result:
            if not isinstance(record, dict):
                continue
            reader = FieldReader(record, "server", [])
            server_id = reader.uint("id")
            if server_id is None:
                continue
            tag = reader.text("tag")
            summaries.append(
                ServerSummary(
                    id=server_id,
                    name=reader.text("name"),
                    tag=tag,
                    groups=(tag,) if tag else (),
                )
            )
        return summaries

    async def async_get_fleet(self, tag: str | None = None) -> Fleet:
        """Return every server with host facts and the latest state, in one request."""
        params = {"tag": tag} if tag else None
        raw = await self._get(DETAILS_PATH, params, FLEET_BODY_BYTES)
        result = _result_list(_envelope(raw, auth_checked=True), raw.path)
        return collect_fleet(result, _parse_server, raw.date, self._problems.report)

    async def async_get_ping_monitors(self, server_id: int) -> list[PingMonitor]:
        """Return the ICMP/TCP ping monitors of one server with their newest point."""
        path = MONITOR_PATH.format(server_id=server_id)
        raw = await self._get(path, None, MONITOR_BODY_BYTES)
        # Only the dashboard's own JSON answers mean "unknown" or "hidden server";
        # an HTML 404/403 comes from a wrong URL, a proxy or a WAF.
        if raw.is_json and raw.status == 404:
            raise NezhaNotFoundError(f"{raw.path}: unknown server")
        if raw.is_json and raw.status in (401, 403):
            raise NezhaAuthError(f"{raw.path}: access denied (HTTP {raw.status})")
        body = _envelope(raw, auth_checked=False)
        result = body.get("result")
        if result is None:
            return []
        if not isinstance(result, list):
            raise NezhaResponseError(f"{raw.path}: 'result' is not a list")
        monitors: dict[int, PingMonitor] = {}
        for record in result:
            monitor = parse_monitor(record, server_id)
            if monitor is not None:
                monitors.setdefault(monitor.monitor_id, monitor)
        return sorted(monitors.values(), key=lambda monitor: monitor.monitor_id)

    async def _get(
        self, path: str, params: dict[str, str] | None, max_bytes: int
    ) -> RawResponse:
        if self._token_problem:
            raise NezhaTokenError(f"{path}: {self._token_problem}")
        return await self._transport.get(
            path, headers=self._headers, params=params, max_bytes=max_bytes
        )


def _envelope(raw: RawResponse, *, auth_checked: bool) -> dict[str, Any]:
    """Validate the v0 envelope ``{"code", "message", "result"}``."""
    if raw.status >= 500:
        # gin's panic recovery, or a proxy whose upstream is down: transient.
        raise NezhaConnectionError(
            f"{raw.path}: the dashboard answered HTTP {raw.status}"
        )
    if not raw.is_json:
        kind = "an HTML page" if raw.is_html else f"'{raw.content_type or 'no type'}'"
        raise NezhaResponseError(
            f"{raw.path}: expected JSON, got {kind} (HTTP {raw.status}); "
            "is this the dashboard URL?"
        )
    body = raw.json()
    if not isinstance(body, dict):
        raise NezhaResponseError(f"{raw.path}: JSON is not an object")
    code = body.get("code")
    if isinstance(code, bool) or not isinstance(code, int):
        if "success" in body or "error" in body:
            raise NezhaUnsupportedError(
                f"{raw.path}: this is a newer (v1) Nezha dashboard, not a v0 one"
            )
        raise NezhaResponseError(f"{raw.path}: JSON without a numeric 'code'")
    if code == 403 and auth_checked:
        raise NezhaAuthError(f"{raw.path}: the dashboard rejected the API token")
    if code != 0:
        raise NezhaResponseError(f"{raw.path}: the dashboard answered code {code}")
    return body


def _result_list(body: dict[str, Any], path: str) -> list[Any]:
    result = body.get("result")
    if result is None:
        return []
    if not isinstance(result, list):
        raise NezhaResponseError(f"{path}: 'result' is not a list")
    return result


def _parse_server(record: Any) -> tuple[Server | None, int | None, list[str]]:
    """Parse one ``/server/details`` element.

    Returns the server (None when the record must be skipped), its id if known,
    and the names of fields with unexpected values.
    """
    if not isinstance(record, dict):
        return None, None, ["record"]
    problems: list[str] = []
    top = FieldReader(record, "server", problems)
    server_id = top.uint("id")
    if server_id is None:
        return None, None, problems or ["server.id"]
    host_data = top.obj("host")
    state_data = top.obj("status")
    if host_data is None or state_data is None:
        return None, server_id, problems
    raw_active = record.get("last_active")
    if type(raw_active) is int and raw_active <= 0:
        # Go's zero time: no report since the dashboard started, so host and
        # status hold Go zero values (0 %, 0 bytes), not measurements.
        host, state = Host(), State()
    else:
        host = _parse_host(FieldReader(host_data, "host", problems))
        state = _parse_state(
            FieldReader(state_data, "status", problems), has_gpu=bool(host.gpu)
        )
    server = Server(
        id=server_id,
        name=top.text("name"),
        tag=top.text("tag"),
        last_active=top.unix_seconds("last_active"),
        ipv4=top.text("ipv4"),
        ipv6=top.text("ipv6"),
        valid_ip=top.text("valid_ip"),
        display_index=top.integer("display_index"),
        host=host,
        state=state,
    )
    return server, server_id, problems


def _parse_host(reader: FieldReader) -> Host:
    return Host(
        platform=reader.text("Platform"),
        platform_version=reader.text("PlatformVersion"),
        cpu=reader.str_tuple("CPU"),
        mem_total=reader.uint("MemTotal"),
        disk_total=reader.uint("DiskTotal"),
        swap_total=reader.uint("SwapTotal"),
        arch=reader.text("Arch"),
        virtualization=reader.text("Virtualization"),
        boot_time=reader.unix_seconds("BootTime"),
        country_code=reader.text("CountryCode"),
        agent_version=reader.text("Version"),
        gpu=reader.str_tuple("GPU"),
    )


def _parse_state(reader: FieldReader, *, has_gpu: bool) -> State:
    gpu = reader.number("GPU")
    return State(
        cpu=reader.number("CPU"),
        mem_used=reader.uint("MemUsed"),
        swap_used=reader.uint("SwapUsed"),
        disk_used=reader.uint("DiskUsed"),
        net_in_transfer=reader.uint("NetInTransfer"),
        net_out_transfer=reader.uint("NetOutTransfer"),
        net_in_speed=reader.uint("NetInSpeed"),
        net_out_speed=reader.uint("NetOutSpeed"),
        uptime=reader.uint("Uptime"),
        load_1=reader.number("Load1"),
        load_5=reader.number("Load5"),
        load_15=reader.number("Load15"),
        tcp_conn_count=reader.uint("TcpConnCount"),
        udp_conn_count=reader.uint("UdpConnCount"),
        process_count=reader.uint("ProcessCount"),
        temperatures=parse_temperatures(reader, "Temperatures"),
        # v0 sends one GPU figure (0 when not reported); it means something only
        # when the host lists a GPU model.
        gpu=(gpu,) if has_gpu and gpu is not None else (),
    )


def parse_temperatures(reader: FieldReader, key: str) -> tuple[Temperature, ...]:
    """Read ``[{"Name", "Temperature"}]``; both generations use these keys."""
    raw = reader.obj_list(key)
    seen: dict[str, Temperature] = {}
    for item in raw:
        name = item.get("Name")
        celsius = finite_float(item.get("Temperature"))
        if isinstance(name, str):
            name = clean_text(name)
        if isinstance(name, str) and name and celsius is not None:
            seen.setdefault(name, Temperature(name=name, celsius=celsius))
    return tuple(seen.values())


def parse_monitor(record: Any, server_id: int) -> PingMonitor | None:
    """Parse a ping history entry; v1's ServiceInfos uses the same keys."""
    if not isinstance(record, dict):
        return None
    reader = FieldReader(record, "monitor", [])
    monitor_id = reader.uint("monitor_id")
    if monitor_id is None:
        return None
    stamps = record.get("created_at")
    delays = record.get("avg_delay")
    if not isinstance(stamps, list):
        stamps = []
    if not isinstance(delays, list):
        delays = []
    # Pairs go by position; only the newest points are read (a day is 1,440).
    count = min(len(stamps), len(delays))
    first = max(0, count - MAX_POINTS_PER_MONITOR)
    stamps, delays = stamps[first:count], delays[first:count]
    points = [
        (when, delay)
        for when, delay in zip(
            (unix_millis(s) for s in stamps),
            (finite_float(d) for d in delays),
            strict=False,
        )
        if when is not None and delay is not None
    ]
    latest_at = None
    latest_delay = None
    if points:
        # Arrays are chronological, but several points can share a minute; the
        # newest is the last of the latest timestamp.
        latest_at = max(when for when, _ in points)
        latest = [delay for when, delay in points if when == latest_at][-1]
        latest_delay = latest if latest > 0 else None
    return PingMonitor(
        monitor_id=monitor_id,
        server_id=server_id,
        name=reader.text("monitor_name") or f"Monitor {monitor_id}",
        latest_at=latest_at,
        latest_delay=latest_delay,
        points=len(points),
        lost=sum(1 for _, delay in points if delay <= 0),
        average_delay=_average([delay for _, delay in points if delay > 0]),
    )


def _average(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None
