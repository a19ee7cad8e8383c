"""The v0 dashboard API (``naiba/nezha`` v0-final) rendered from the fleet.

Spec: ``nezha-api.md`` section A. Quirks reproduced on purpose: auth failures are
HTTP 200 with ``code:403``; the token is the raw ``Authorization`` value; ``tag``
beats ``id``; bad id pieces become 0; calls without parameters come back in random
(Go map) order; ``display_index``/``hide_for_guest`` are only filled without
parameters; ``/monitor/:id`` uses real HTTP codes and ``result:null`` when empty.
"""

import html
import re
from typing import TYPE_CHECKING, Any, Final, Protocol

from aiohttp import web

from .encoding import HTML_CONTENT_TYPE, html_response, json_response
from .faults import Handler
from .pages import NOT_FOUND_PAGE

if TYPE_CHECKING:
    from .fleet import Fleet, HostInfo, PingSeries
    from .metrics import LiveStatus

MAX_UINT64: Final = 2**64 - 1
AUTH_REQUIRED: Final = {"code": 403, "message": "访问此接口需要认证"}
VIEW_PASSWORD_REQUIRED: Final = {"code": 403, "message": "访问受限"}
# gin.H bodies: encoding/json sorts map keys, hence "code" before "message".
BAD_ID: Final = {"code": 400, "message": "id参数错误"}
UNKNOWN_ID: Final = {"code": 404, "message": "id不存在"}
HIDDEN: Final = {"code": 403, "message": "需要认证"}

# GET routes; the trailing-slash redirect needs to know them.
_ROUTES_RE: Final = re.compile(
    r"/api/v1/server/list|/api/v1/server/details|/api/v1/monitor/[^/]+"
)


class V0Backend(Protocol):
    """What the v0 routes need from the simulator."""

    @property
    def fleet(self) -> Fleet:
        """The simulated fleet."""

    @property
    def view_password(self) -> bool:
        """Whether a view password is configured."""

    def token_valid(self, header: str | None) -> bool:
        """Whether a raw ``Authorization`` value is a valid API token."""

    def shuffle(self, items: list[Any]) -> None:
        """Shuffle in place with the simulator's seeded generator."""

    def malform(self, sid: int, element: dict[str, Any]) -> dict[str, Any]:
        """Apply the test's raw-field overrides for server ``sid``."""


def go_parse_uint(text: str) -> tuple[int, bool]:
    """``strconv.ParseUint(text, 10, 64)``: returns (value, ok).

    Go returns 0 on a syntax error and the max value on overflow. Unlike
    :func:`int`, signs, spaces, underscores and non-ASCII digits are errors.
    """
    if not text or not all("0" <= ch <= "9" for ch in text):
        return 0, False
    digits = text.lstrip("0") or "0"
    # The length check first: int() refuses very long digit strings in Python.
    if len(digits) > 20 or int(digits) > MAX_UINT64:
        return MAX_UINT64, False
    return int(digits), True


def split_ip(ip: str) -> tuple[str, str, str]:
    """``utils.SplitIPAddr``: (ipv4, ipv6, valid_ip), no validation at all."""
    parts = ip.split("/")
    if len(parts) > 1:
        # Dual stack: the v4 part wins as valid_ip even when it is empty.
        return parts[0], parts[1], parts[0]
    if ":" in ip:
        return "", ip, ip
    return ip, "", ip


def host_json(host: HostInfo | None) -> dict[str, Any]:
    """``model.Host`` (PascalCase, no json tags; ``IP`` is ``json:"-"``)."""
    if host is None:
        host_values: tuple[Any, ...] = ("", "", None, 0, 0, 0, "", "", 0, "", "", None)
    else:
        host_values = (
            host.platform,
            host.platform_version,
            None if host.cpu is None else list(host.cpu),
            host.mem_total,
            host.disk_total,
            host.swap_total,
            host.arch,
            host.virtualization,
            host.boot_time,
            host.country_code,
            host.version,
            None if host.gpu is None else list(host.gpu),
        )
    keys = (
        "Platform",
        "PlatformVersion",
        "CPU",
        "MemTotal",
        "DiskTotal",
        "SwapTotal",
        "Arch",
        "Virtualization",
        "BootTime",
        "CountryCode",
        "Version",
        "GPU",
    )
    return dict(zip(keys, host_values, strict=True))


def status_json(state: LiveStatus | None) -> dict[str, Any]:
    """``model.HostState``; a never-reported server has all zero values."""
    if state is None:
        values: tuple[Any, ...] = (0.0, *(0,) * 8, 0.0, 0.0, 0.0, 0, 0, 0, None, 0.0)
    else:
        temps = state.temperatures
        values = (
            state.cpu,
            state.mem_used,
            state.swap_used,
            state.disk_used,
            state.net_in_transfer,
            state.net_out_transfer,
            state.net_in_speed,
            state.net_out_speed,
            state.uptime,
            state.load1,
            state.load5,
            state.load15,
            state.tcp_conn_count,
            state.udp_conn_count,
            state.process_count,
            None
            if temps is None
            else [{"Name": t.name, "Temperature": t.temperature} for t in temps],
            state.gpu,
        )
    keys = (
        "CPU",
        "MemUsed",
        "SwapUsed",
        "DiskUsed",
        "NetInTransfer",
        "NetOutTransfer",
        "NetInSpeed",
        "NetOutSpeed",
        "Uptime",
        "Load1",
        "Load5",
        "Load15",
        "TcpConnCount",
        "UdpConnCount",
        "ProcessCount",
        "Temperatures",
        "GPU",
    )
    return dict(zip(keys, values, strict=True))


def _common(backend: V0Backend, sid: int, *, filled: bool) -> dict[str, Any]:
    """``CommonServerInfo``; display_index/hide_for_guest only when ``filled``."""
    fleet = backend.fleet
    server = fleet.servers[sid]
    host = fleet.reported_host(sid)
    ipv4, ipv6, valid_ip = split_ip("" if host is None else host.ip)
    return {
        "id": sid,
        "name": server.name,
        "tag": server.tag,
        "last_active": fleet.last_active(sid),
        "ipv4": ipv4,
        "ipv6": ipv6,
        "valid_ip": valid_ip,
        "display_index": server.display_index if filled else 0,
        "hide_for_guest": server.hide_for_guest if filled else False,
    }


def _details(backend: V0Backend, sid: int, *, filled: bool) -> dict[str, Any]:
    element = _common(backend, sid, filled=filled)
    element["host"] = host_json(backend.fleet.reported_host(sid))
    element["status"] = status_json(backend.fleet.status(sid))
    return backend.malform(sid, element)


def _success(result: object) -> web.Response:
    return json_response({"code": 0, "message": "success", "result": result})


def _tag_ids(fleet: Fleet, tag: str) -> list[int]:
    """``ServerTagToIDList[tag]``: servers of a tag in creation order."""
    return [sid for sid, server in fleet.servers.items() if server.tag == tag]


def _series_json(series: PingSeries, sid: int, server_name: str) -> dict[str, Any]:
    return {
        "monitor_id": series.monitor.id,
        "server_id": sid,
        "monitor_name": series.monitor.name,
        "server_name": server_name,
        "created_at": series.created_at,
        "avg_delay": series.avg_delay,
    }


class V0Routes:
    """aiohttp handlers for the v0 read-only API."""

    def __init__(self, backend: V0Backend) -> None:
        """Bind the handlers to a simulator."""
        self._backend = backend

    def register(self, app: web.Application) -> None:
        """Add the routes (GET only: gin does not answer HEAD for GET routes)."""
        app.router.add_get("/api/v1/server/list", self.server_list, allow_head=False)
        app.router.add_get(
            "/api/v1/server/details", self.server_details, allow_head=False
        )
        app.router.add_get("/api/v1/monitor/{id}", self.monitor, allow_head=False)

    def _authorized(self, request: web.Request) -> bool:
        return self._backend.token_valid(request.headers.get("Authorization"))

    async def server_list(self, request: web.Request) -> web.Response:
        """``GET /api/v1/server/list?tag=``."""
        if not self._authorized(request):
            return json_response(AUTH_REQUIRED)
        fleet = self._backend.fleet
        tag = request.query.get("tag", "")
        if tag:
            ids = _tag_ids(fleet, tag)
        else:
            ids = list(fleet.servers)
            self._backend.shuffle(ids)  # GetAllList ranges over a Go map
        return _success(
            [
                self._backend.malform(sid, _common(self._backend, sid, filled=False))
                for sid in ids
            ]
        )

    async def server_details(self, request: web.Request) -> web.Response:
        """``GET /api/v1/server/details?id=&tag=``."""
        if not self._authorized(request):
            return json_response(AUTH_REQUIRED)
        fleet = self._backend.fleet
        raw_ids = request.query.get("id", "")
        ids = (
            [go_parse_uint(piece)[0] for piece in raw_ids.split(",")] if raw_ids else []
        )
        tag = request.query.get("tag", "")
        if tag:
            wanted = _tag_ids(fleet, tag)
        elif ids:
            wanted = ids  # request order, duplicates kept, unknown skipped below
        else:
            everything = list(fleet.servers)
            self._backend.shuffle(everything)
            return _success([self._details_of(sid, filled=True) for sid in everything])
        return _success(
            [
                self._details_of(sid, filled=False)
                for sid in wanted
                if sid in fleet.servers
            ]
        )

    def _details_of(self, sid: int, *, filled: bool) -> dict[str, Any]:
        return _details(self._backend, sid, filled=filled)

    async def monitor(self, request: web.Request) -> web.Response:
        """``GET /api/v1/monitor/:id`` (``id`` is a server id)."""
        authorized = self._authorized(request)
        # ValidateViewPassword middleware runs before the handler, so even for bad ids.
        if self._backend.view_password and not authorized:
            return json_response(VIEW_PASSWORD_REQUIRED)
        sid, ok = go_parse_uint(request.match_info["id"])
        if not ok:
            return json_response(BAD_ID, status=400)
        server = self._backend.fleet.servers.get(sid)
        if server is None:
            return json_response(UNKNOWN_ID, status=404)
        if server.hide_for_guest and not authorized:
            return json_response(HIDDEN, status=403)
        history = self._backend.fleet.ping_history(sid)
        # Result is a nil slice when no rows matched, which Go renders as null.
        result = [_series_json(s, sid, server.name) for s in history] or None
        return _success(result)


@web.middleware
async def gin_fallback(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Emulate gin's NoRoute/NoMethod handling plus ``RedirectTrailingSlash``."""
    try:
        return await handler(request)
    except web.HTTPNotFound, web.HTTPMethodNotAllowed:
        pass
    path = request.path
    if (
        request.method == "GET"
        and len(path) > 1
        and path.endswith("/")
        and _ROUTES_RE.fullmatch(path[:-1])
    ):
        # gin redirects to req.URL.String(): the query string survives.
        location = request.rel_url.raw_path[:-1]
        if request.rel_url.raw_query_string:
            location += "?" + request.rel_url.raw_query_string
        body = f'<a href="{html.escape(location)}">Moved Permanently</a>.\n\n'
        return web.Response(
            status=301,
            body=body.encode(),
            headers={"Location": location, "Content-Type": HTML_CONTENT_TYPE},
        )
    return html_response(NOT_FOUND_PAGE, 404)
