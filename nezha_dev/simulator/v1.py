"""The v1/v2 dashboard REST API (``nezhahq/nezha`` v1.x … v2.3.7) over the fleet.

Spec: ``nezha-api.md`` section B. Quirks reproduced on purpose: the omitempty
envelope (``{"success":true}`` without ``data`` for an empty list, errors without
``success``); handler errors are HTTP 200; PAT failures are 401/403 while JWT-style
failures are HTTP 200; the global WAF blocks an IP on every path with an HTML page;
unknown ``/api`` paths are 404 JSON (HTTP 200 before v1.5); ``?id=`` returns the
whole list when nothing matches; features appear by version (B.0).
"""

from bisect import bisect_left
import html
import re
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from .cron import routes as cron_routes
from .encoding import HTML_CONTENT_TYPE, go_json, html_response, json_response
from .faults import Handler
from .pages import V1_INDEX_PAGE
from .services import cycle_transfer_json, servers_with_services, services_json
from .tokens import PAT_PREFIX, SCOPE_SERVICE_READ
from .v0 import MAX_UINT64, go_parse_uint
from .v1_render import MEMBER_ID, Viewer, server_json, sorted_ids, stream_frame
from .waf import BLOCK_ID_TOKEN, block_page

if TYPE_CHECKING:
    from collections.abc import Callable

    from .core import NezhaSimulator
    from .fleet import PingSeries

NOT_FOUND: Final = "404 Not Found"
UNAUTHORIZED: Final = "ApiErrorUnauthorized"
PERIODS: Final = ("1d", "7d", "30d", "")  # "" means the default, 1d
# Paths of the user frontend that get index.html with 200 (others: 404 + index).
_FRONTEND_PAGES: Final = re.compile(r"/|/server/\d*|/dashboard/.*")


def ok(data: object) -> web.Response:
    """``CommonResponse{Success: true, Data: data}``: empty lists/maps vanish."""
    if isinstance(data, (list, dict)) and not data:
        return json_response({"success": True})
    return json_response({"success": True, "data": data})


def fail(message: str, status: int = 200) -> web.Response:
    """An error envelope: ``success:false`` is omitted, only ``error`` is left."""
    return json_response({"error": message}, status=status)


def parse_uint_error(text: str) -> str | None:
    """The ``strconv.ParseUint`` error text for ``text``, ``None`` if valid."""
    value, valid = go_parse_uint(text)
    if valid:
        return None
    why = "value out of range" if value == MAX_UINT64 else "invalid syntax"
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'strconv.ParseUint: parsing "{quoted}": {why}'


def search_by_id(raw: str, ids: list[int], display: dict[int, int]) -> list[int]:
    """``searchByIDPri`` over the sorted list: the ``?id=1,2`` filter of ``/server``.

    Servers with a display_index before the first 0 are searched linearly, the rest
    by a binary search over ids that assumes id order (which negative indexes
    break). No match at all returns the whole list.
    """
    split = next((i for i, sid in enumerate(ids) if display[sid] == 0), None)
    first, rest = (ids[:split], ids[split:]) if split is not None else ([], ids)
    found_first: list[int] = []
    found_rest: list[int] = []
    for piece in raw.split(","):
        wanted, valid = go_parse_uint(piece)
        if not valid:
            continue
        if wanted in first:
            found_first.append(wanted)
        index = bisect_left(rest, wanted)
        if index < len(rest) and rest[index] == wanted:
            found_rest.append(wanted)
    return (found_first + found_rest) or ids


def _series(series: PingSeries, sid: int, name: str, *, v2: bool) -> dict[str, Any]:
    element: dict[str, Any] = {
        "monitor_id": series.monitor.id,
        "server_id": sid,
        "monitor_name": series.monitor.name,
        "server_name": name,
    }
    if v2:
        element["display_index"] = 0  # service display_index, added in v2.0
    element["created_at"] = series.created_at
    element["avg_delay"] = series.avg_delay
    return element


class V1Routes:
    """aiohttp handlers and middlewares for the v1 read-only API."""

    def __init__(self, sim: NezhaSimulator, is_admin: Callable[[web.Request], bool]):
        """Bind to a simulator; ``is_admin`` spots ``/_sim/`` requests (no WAF)."""
        self._sim = sim
        self._is_admin = is_admin
        self._state = sim.v1

    # -- app wiring ---------------------------------------------------------------------

    def register(self, app: web.Application) -> None:
        """Add the routes of the simulated version (GET only, like gin)."""
        routes: list[tuple[str, Handler]] = [
            ("/api/v1/setting", self.setting),
            ("/api/v1/server", self.server_list),
            ("/api/v1/server-group", self.server_group),
            ("/api/v1/service", self.service),
            ("/api/v1/service/server", self.service_server),  # before /service/{id}
            ("/api/v1/ws/server", self.ws_server),
        ]
        if self._state.has_tsdb:
            routes.append(("/api/v1/server/{id}/service", self.server_service))
        else:  # v1.x: per-server monitor history under /service/:server_id
            routes.append(("/api/v1/service/{id}", self.server_service))
        for path, handler in routes:
            app.router.add_get(path, handler, allow_head=False)
        for method, path, handler in cron_routes(
            auth=self._auth,
            table=self._state.crons,
            fleet=lambda: self._sim.fleet,
            parse_uint_error=parse_uint_error,
            ok=ok,
            fail=fail,
        ):
            app.router.add_route(method, path, handler)

    def _route_pattern(self) -> re.Pattern[str]:
        extra = r"server/[^/]+/service" if self._state.has_tsdb else r"service/[^/]+"
        return re.compile(
            rf"/api/v1/(setting|server|server-group|service|ws/server|cron|{extra})"
        )

    def _redirect(self, request: web.Request) -> web.Response | None:
        """gin ``RedirectTrailingSlash`` (decided by the router, before any WAF)."""
        path = request.path
        if not (
            request.method == "GET"
            and len(path) > 1
            and path.endswith("/")
            and self._route_pattern().fullmatch(path[:-1])
        ):
            return None
        location = request.rel_url.raw_path[:-1]
        if request.rel_url.raw_query_string:
            location += "?" + request.rel_url.raw_query_string
        return web.Response(
            status=301,
            body=f'<a href="{html.escape(location)}">Moved Permanently</a>.\n\n'.encode(),
            headers={"Location": location, "Content-Type": HTML_CONTENT_TYPE},
        )

    @web.middleware
    async def waf_middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        """Global ``waf.RealIp`` + ``waf.Waf``: every path, NoRoute included."""
        if self._is_admin(request):
            return await handler(request)
        redirect = self._redirect(request)
        if redirect is not None:
            return redirect
        waf = self._state.waf
        ip, error = waf.real_ip(request)
        if error is not None:
            return fail(error)
        if waf.is_blocked(ip):
            return block_page()  # no strike: auth never runs while blocked
        request["nezha_ip"] = ip
        return await handler(request)

    @web.middleware
    async def no_route(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        """``fallbackToFrontend``: JSON 404 under /api, the SPA page elsewhere."""
        try:
            return await handler(request)
        except web.HTTPNotFound, web.HTTPMethodNotAllowed:
            pass
        path = request.path
        if path.startswith("/api"):
            return fail(NOT_FOUND, self._state.not_found_status)
        if self._is_admin(request):
            raise web.HTTPNotFound
        if path == "/dashboard":
            raise web.HTTPMovedPermanently("/dashboard/")
        status = 200 if _FRONTEND_PAGES.fullmatch(path) else 404
        return html_response(V1_INDEX_PAGE, status)

    # -- authentication -----------------------------------------------------------------

    def _auth(
        self, request: web.Request, *, strict: bool, scope: str
    ) -> Viewer | web.Response:
        """PAT first, then (JWT or guest); a response means the request is refused."""
        state = self._state
        header = request.headers.get("Authorization", "").strip()
        if state.has_pats and header.startswith("Bearer "):
            plaintext = header.removeprefix("Bearer ").strip()
            if plaintext.startswith(PAT_PREFIX):
                return self._pat(request, plaintext, scope)
        # What is left goes to JWT handling. The simulator issues no JWTs, so any
        # other credential counts as none: strict routes refuse it (no strike),
        # optional routes serve the guest view unless force_auth is on.
        if strict or state.force_auth:
            response = fail(UNAUTHORIZED)
            response.headers["WWW-Authenticate"] = f"JWT realm={state.site_name}"
            return response
        return Viewer()

    def _pat(
        self, request: web.Request, plaintext: str, scope: str
    ) -> Viewer | web.Response:
        state = self._state
        ip: str = request.get("nezha_ip", "")
        token = state.tokens.get(plaintext)
        if token is None or token.expired(self._sim.now()):
            state.waf.strike(ip, BLOCK_ID_TOKEN)
            reason = "invalid api token" if token is None else "api token expired"
            return fail(f"{UNAUTHORIZED}: {reason}", 401)
        state.waf.unblock(ip, BLOCK_ID_TOKEN)
        if not token.has_scope(scope):
            return fail(f"ApiErrorForbidden: api token lacks scope {scope}", 403)
        return Viewer(token)

    # -- handlers -------------------------------------------------------------------------

    async def setting(self, request: web.Request) -> web.Response:
        """``GET /api/v1/setting``: public, JWT-only (a PAT is not even parsed)."""
        state = self._state
        config = {
            "language": state.language,
            "site_name": state.site_name,
            "ip_change_notification_group_id": 0,
            "cover": 0,
        }
        if state.version < (1, 1, 0):
            return ok(config)  # v1.0.x returned the flat config
        data: dict[str, Any] = {"config": config}
        if state.has_tsdb:
            data["tsdb_enabled"] = state.tsdb_enabled
        return ok(data)

    async def server_list(self, request: web.Request) -> web.Response:
        """``GET /api/v1/server``: auth required, the admin's full view."""
        viewer = self._auth(request, strict=True, scope=self._state.inventory_scope)
        if isinstance(viewer, web.Response):
            return viewer
        fleet = self._sim.fleet
        ids = [sid for sid in sorted_ids(fleet) if viewer.sees(fleet.servers[sid])]
        if viewer.member_user:  # a member lists only its own servers
            ids = [sid for sid in ids if fleet.servers[sid].owner_id == MEMBER_ID]
        display = {sid: fleet.servers[sid].display_index for sid in ids}
        ids = search_by_id(request.query.get("id", ""), ids, display)
        now = self._sim.now()
        return ok([self._sim.malform(sid, server_json(fleet, sid, now)) for sid in ids])

    async def server_group(self, request: web.Request) -> web.Response:
        """``GET /api/v1/server-group``."""
        viewer = self._auth(request, strict=False, scope=self._state.inventory_scope)
        if isinstance(viewer, web.Response):
            return viewer
        return ok(self._state.groups.json(self._sim.fleet, viewer))

    async def service(self, request: web.Request) -> web.Response:
        """``GET /api/v1/service``: daily stats plus cycle-transfer stats."""
        viewer = self._auth(request, strict=False, scope=SCOPE_SERVICE_READ)
        if isinstance(viewer, web.Response):
            return viewer
        fleet, now = self._sim.fleet, self._sim.now()
        data: dict[str, Any] = {}
        services = services_json(fleet, now, self._state.failing)
        if services:
            data["services"] = services
        # A member's token gets the guest's view here (seen on a real v2.3.7).
        cycle = cycle_transfer_json(
            fleet,
            Viewer() if viewer.member_user else viewer,
            now,
            rules=self._state.cycle_rules,
            filtered=self._state.version >= (2, 1, 0),
        )
        if cycle:
            data["cycle_transfer_stats"] = cycle
        # A struct, not a list: "data":{} stays even when both maps are empty.
        return json_response({"success": True, "data": data})

    async def service_server(self, request: web.Request) -> web.Response:
        """``GET /api/v1/service/server``: ids in Go map (random) order."""
        viewer = self._auth(request, strict=False, scope=SCOPE_SERVICE_READ)
        if isinstance(viewer, web.Response):
            return viewer
        ids = servers_with_services(self._sim.fleet, viewer)
        self._sim.shuffle(ids)
        return ok(ids)

    async def server_service(self, request: web.Request) -> web.Response:
        """v2 ``/server/:id/service?period=``; v1.x ``/service/:id`` (server id)."""
        viewer = self._auth(request, strict=False, scope=SCOPE_SERVICE_READ)
        if isinstance(viewer, web.Response):
            return viewer
        text = request.match_info["id"]
        error = parse_uint_error(text)
        if error is not None:
            return fail(error)
        server = self._sim.fleet.servers.get(int(text))
        if server is None:
            return fail("server not found")
        if not viewer.sees(server):
            return fail("unauthorized")
        v2 = self._state.has_tsdb
        if v2:
            period = request.query.get("period", "1d")
            if period not in PERIODS:
                return fail(f"invalid period: {period}, expected 1d, 7d, or 30d")
            if not viewer.member and period not in ("1d", ""):
                return fail("unauthorized: only 1d data available for guests")
        # Longer periods are answered from the same 24 h of history.
        history = self._sim.fleet.ping_history(server.id)
        return ok([_series(s, server.id, server.name, v2=v2) for s in history])

    async def ws_server(self, request: web.Request) -> web.StreamResponse:
        """``GET /api/v1/ws/server``: auth and scope are checked before upgrading."""
        viewer = self._auth(request, strict=False, scope=self._state.inventory_scope)
        if isinstance(viewer, web.Response):
            return viewer
        sim = self._sim

        def frame(first: bool, online: int) -> bytes | None:
            return go_json(
                stream_frame(
                    sim.fleet,
                    viewer,
                    sim.now(),
                    first=first,
                    online=online,
                    malform=sim.malform,
                )
            )

        return await self._state.hub.serve(request, viewer.token, frame)
