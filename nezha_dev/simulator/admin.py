"""``/_sim/`` admin API to steer a running simulator (demo, manual testing).

Not part of any Nezha API: requests here are neither recorded nor faulted. JSON in,
JSON out; errors are ``{"error": "..."}`` with a 4xx status.
"""

from collections.abc import Awaitable, Callable
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .faults import Fault

if TYPE_CHECKING:
    from .core import NezhaSimulator


AdminHandler = Callable[[web.Request], Awaitable[web.Response]]


class AdminError(Exception):
    """A client error of the admin API, answered as ``{"error": ...}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        """Create the error with its HTTP status."""
        super().__init__(message)
        self.status = status


def admin_error(message: str, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status)


def guard(handler: AdminHandler) -> AdminHandler:
    """Turn :class:`AdminError` into a JSON answer.

    Raising aiohttp's HTTPNotFound instead would be turned into the dashboard's
    HTML 404 page by the gin fallback middleware.
    """

    async def guarded(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except AdminError as err:
            return admin_error(str(err), err.status)

    return guarded


async def admin_body(request: web.Request) -> dict[str, Any]:
    """The JSON object body; an empty body counts as ``{}``."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise AdminError("body is not JSON") from None
    if not isinstance(data, dict):
        raise AdminError("body must be a JSON object")
    return data


def _is(value: object, kind: type) -> bool:
    """JSON type check; ``true`` is no number."""
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def typed_options(
    body: dict[str, Any], kinds: dict[str, type | list[type]]
) -> dict[str, Any]:
    """The keys of ``kinds`` present in ``body``, type-checked (``[int]``: a list)."""
    options: dict[str, Any] = {}
    for key, kind in kinds.items():
        if key not in body:
            continue
        value = body[key]
        if isinstance(kind, list):
            if not isinstance(value, list) or not all(_is(v, kind[0]) for v in value):
                raise AdminError(f"{key} must be a list of {kind[0].__name__}")
        elif not _is(value, kind):
            raise AdminError(f"{key} must be a {kind.__name__}")
        options[key] = value
    return options


class AdminRoutes:
    """Handlers of the admin API."""

    def __init__(self, sim: NezhaSimulator) -> None:
        """Bind to a simulator."""
        self._sim = sim

    def register(self, app: web.Application) -> None:
        """Add the ``/_sim/`` routes."""
        for method, path, handler in (
            ("GET", "/_sim/state", self.state),
            ("POST", "/_sim/servers", self.add_server),
            ("DELETE", "/_sim/servers/{id}", self.remove_server),
            ("POST", "/_sim/servers/{id}/offline", self.offline),
            ("POST", "/_sim/servers/{id}/online", self.online),
            ("POST", "/_sim/servers/{id}/never_reported", self.never_reported),
            ("POST", "/_sim/token", self.token),
            ("POST", "/_sim/clock", self.clock),
            ("POST", "/_sim/fault", self.add_fault),
            ("DELETE", "/_sim/fault", self.clear_faults),
            ("POST", "/_sim/view_password", self.view_password),
        ):
            app.router.add_route(method, path, guard(handler))
        if self._sim.version is not None:
            from .admin_v1 import V1AdminRoutes  # local: admin_v1 imports this module

            V1AdminRoutes(self._sim).register(app)

    def _sid(self, request: web.Request) -> int:
        text = request.match_info["id"]
        if not text.isdecimal() or int(text) not in self._sim.fleet.servers:
            raise AdminError(f"no server {text}", 404)
        return int(text)

    async def state(self, request: web.Request) -> web.Response:
        """``GET /_sim/state``: everything a demo wants to show."""
        sim = self._sim
        fleet = sim.fleet
        servers = [
            {
                "id": sid,
                "name": s.name,
                "tag": s.tag,
                "online": s.online,
                "never_reported": s.never_reported,
                "hide_for_guest": s.hide_for_guest,
                "display_index": s.display_index,
                "last_active": fleet.last_active(sid),
                "monitors": list(s.monitor_ids),
            }
            for sid, s in fleet.servers.items()
        ]
        extra: dict[str, Any] = {}
        if sim.version is not None:
            from .admin_v1 import V1AdminRoutes  # local: admin_v1 imports this module

            extra["v1"] = V1AdminRoutes(sim).summary()
        return web.json_response(
            {
                **extra,
                "generation": sim.generation,
                "token": sim.token,
                "now": sim.now(),
                "clock_offset": sim.clock_offset,
                "view_password": sim.view_password,
                "seed": fleet.seed,
                "faults": [
                    {"kind": kind.value, "count": count, "path": path}
                    for kind, count, path in sim.faults
                ],
                "requests": len(sim.requests),
                "servers": servers,
            }
        )

    async def add_server(self, request: web.Request) -> web.Response:
        """``POST /_sim/servers`` ``{"name", "tag", ...}`` -> ``{"id"}``."""
        body = await admin_body(request)
        name = body.get("name")
        if not isinstance(name, str):
            return admin_error("name (string) is required", 400)
        options = typed_options(
            body,
            {
                "ip": str,
                "display_index": int,
                "hide_for_guest": bool,
                "online": bool,
                "never_reported": bool,
                "monitors": [int],
            },
        )
        sid = self._sim.add_server(name, str(body.get("tag", "")), **options)
        return web.json_response({"id": sid}, status=201)

    async def remove_server(self, request: web.Request) -> web.Response:
        """``DELETE /_sim/servers/{id}``."""
        self._sim.remove_server(self._sid(request))
        return web.json_response({"ok": True})

    async def offline(self, request: web.Request) -> web.Response:
        """``POST /_sim/servers/{id}/offline``: disconnect the agent."""
        self._sim.set_online(self._sid(request), False)
        return web.json_response({"ok": True})

    async def online(self, request: web.Request) -> web.Response:
        """``POST /_sim/servers/{id}/online``: reconnect the agent."""
        self._sim.set_online(self._sid(request), True)
        return web.json_response({"ok": True})

    async def never_reported(self, request: web.Request) -> web.Response:
        """``POST /_sim/servers/{id}/never_reported``: as after a dashboard restart."""
        self._sim.set_never_reported(self._sid(request))
        return web.json_response({"ok": True})

    async def token(self, request: web.Request) -> web.Response:
        """``POST /_sim/token`` ``{"token": "..."}`` or ``{"revoke": true}``."""
        body = await admin_body(request)
        if body.get("revoke") is True:
            self._sim.revoke_token()
        elif isinstance(body.get("token"), str) and body["token"]:
            try:
                self._sim.set_token(body["token"])
            except ValueError as err:  # v1: not an nzp_ token, or already in use
                return admin_error(str(err), 400)
        else:
            return admin_error('expected {"token": "..."} or {"revoke": true}', 400)
        return web.json_response({"token": self._sim.token})

    async def clock(self, request: web.Request) -> web.Response:
        """``POST /_sim/clock`` ``{"shift": seconds}`` (cumulative)."""
        body = await admin_body(request)
        shift = body.get("shift")
        if not isinstance(shift, (int, float)) or isinstance(shift, bool):
            return admin_error("shift (number of seconds) is required", 400)
        self._sim.shift_clock(float(shift))
        return web.json_response({"clock_offset": self._sim.clock_offset})

    async def add_fault(self, request: web.Request) -> web.Response:
        """``POST /_sim/fault`` ``{"kind": "html_502", "count": 1, "path": null}``."""
        body = await admin_body(request)
        try:
            kind = Fault(str(body.get("kind", "")).lower())
        except ValueError:
            kinds = ", ".join(f.value for f in Fault)
            return admin_error(f"kind must be one of: {kinds}", 400)
        count = body.get("count", 1)
        path = body.get("path")
        if count is not None and (not isinstance(count, int) or count < 1):
            return admin_error("count must be a positive integer or null", 400)
        if path is not None and not isinstance(path, str):
            return admin_error("path must be a string", 400)
        self._sim.inject_fault(kind, count=count, path=path)
        return web.json_response({"ok": True})

    async def clear_faults(self, request: web.Request) -> web.Response:
        """``DELETE /_sim/fault``."""
        self._sim.clear_faults()
        return web.json_response({"ok": True})

    async def view_password(self, request: web.Request) -> web.Response:
        """``POST /_sim/view_password`` ``{"enabled": true}``."""
        body = await admin_body(request)
        enabled = body.get("enabled")
        if not isinstance(enabled, bool):
            return admin_error("enabled (bool) is required", 400)
        self._sim.set_view_password(enabled)
        return web.json_response({"view_password": enabled})
