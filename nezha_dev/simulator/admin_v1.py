"""``/_sim/`` admin endpoints that only exist on a v1/v2 simulator (demo controls).

Like the rest of the admin API: JSON in, JSON out, never recorded, faulted or
blocked by the WAF.
"""

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .admin import AdminError, admin_body, admin_error, guard, typed_options

if TYPE_CHECKING:
    from .core import NezhaSimulator


def _number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise AdminError(f"{key} must be a number")
    return float(value)


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise AdminError(f"{key} (bool) is required")
    return value


class V1AdminRoutes:
    """Token, WAF, service and stream controls for demos."""

    def __init__(self, sim: NezhaSimulator) -> None:
        """Bind to a v1 simulator."""
        self._sim = sim

    def register(self, app: web.Application) -> None:
        """Add the v1 admin routes."""
        for method, path, handler in (
            ("POST", "/_sim/tokens", self.add_token),
            ("DELETE", "/_sim/tokens/{token}", self.revoke_token),
            ("DELETE", "/_sim/waf", self.clear_waf),
            ("POST", "/_sim/waf/block", self.block),
            ("POST", "/_sim/services/{id}/down", self.service_down),
            ("POST", "/_sim/ws", self.websockets),
            ("POST", "/_sim/force_auth", self.force_auth),
            ("POST", "/_sim/crons", self.add_cron),
        ):
            app.router.add_route(method, path, guard(handler))

    def summary(self) -> dict[str, Any]:
        """The v1 part of ``GET /_sim/state``."""
        sim = self._sim
        return {
            "version": sim.version,
            "force_auth": sim.force_auth,
            "waf_enabled": sim.waf_enabled,
            "waf": sim.v1.waf.table(),
            "tokens": [
                {
                    "token": t.token,
                    "scopes": list(t.scopes),
                    "expires_at": t.expires_at,
                    "server_ids": None
                    if t.server_ids is None
                    else sorted(t.server_ids),
                }
                for t in sim.v1.tokens
            ],
            "ws_connections": sim.ws_connections,
            "ws_interval": sim.ws_interval,
            "ws_paused": sim.v1.hub.paused,
            "crons": [task.json() for task in sim.v1.crons.tasks.values()],
            "cron_runs": sim.cron_runs,
            "services_down": sorted(
                mid for mid, w in sim.v1.failing.items() if w and w[-1][1] > sim.now()
            ),
        }

    async def add_token(self, request: web.Request) -> web.Response:
        """``POST /_sim/tokens`` ``{"scopes": [...], "expires_in", "server_ids"}``."""
        body = await admin_body(request)
        options: dict[str, Any] = {"expires_in": _number(body, "expires_in")}
        options.update(typed_options(body, {"scopes": [str], "server_ids": [int]}))
        try:
            token = self._sim.add_token(**options)
        except ValueError as err:
            return admin_error(str(err), 400)
        return web.json_response({"token": token}, status=201)

    async def revoke_token(self, request: web.Request) -> web.Response:
        """``DELETE /_sim/tokens/{token}``: also closes its streams."""
        token = request.match_info["token"]
        if self._sim.get_token(token) is None:
            return admin_error("no such token", 404)
        self._sim.revoke_token(token)
        return web.json_response({"ok": True})

    async def clear_waf(self, request: web.Request) -> web.Response:
        """``DELETE /_sim/waf`` (``?ip=`` for one address)."""
        self._sim.clear_waf(request.query.get("ip"))
        return web.json_response({"ok": True})

    async def block(self, request: web.Request) -> web.Response:
        """``POST /_sim/waf/block`` ``{"ip": "127.0.0.1"}``: manual block."""
        body = await admin_body(request)
        ip = body.get("ip", "127.0.0.1")
        if not isinstance(ip, str) or not ip:
            return admin_error("ip must be a string", 400)
        self._sim.block_ip(ip)
        return web.json_response({"ok": True})

    async def service_down(self, request: web.Request) -> web.Response:
        """``POST /_sim/services/{id}/down`` ``{"down": true}``."""
        body = await admin_body(request)
        text = request.match_info["id"]
        if not text.isdecimal():
            return admin_error(f"no service {text}", 404)
        try:
            self._sim.set_service_down(int(text), body.get("down", True) is not False)
        except KeyError:
            return admin_error(f"no service {text}", 404)
        return web.json_response({"ok": True})

    async def websockets(self, request: web.Request) -> web.Response:
        """``POST /_sim/ws`` ``{"paused": bool, "interval": s, "drop": true}``."""
        body = await admin_body(request)
        interval = _number(body, "interval")
        if interval is not None:
            if interval <= 0:
                return admin_error("interval must be positive", 400)
            self._sim.ws_interval = interval
        if "paused" in body:
            self._sim.pause_ws(_flag(body, "paused"))
        dropped = await self._sim.drop_websockets() if body.get("drop") is True else 0
        return web.json_response({"dropped": dropped, **self.summary()})

    async def force_auth(self, request: web.Request) -> web.Response:
        """``POST /_sim/force_auth`` ``{"enabled": true}``."""
        self._sim.force_auth = _flag(await admin_body(request), "enabled")
        return web.json_response({"force_auth": self._sim.force_auth})

    async def add_cron(self, request: web.Request) -> web.Response:
        """``POST /_sim/crons`` ``{"name", "task_type", "servers", "cover", ...}``."""
        body = await admin_body(request)
        name = body.get("name")
        if not isinstance(name, str) or not name:
            return admin_error("name (string) is required", 400)
        options = typed_options(
            body,
            {
                "task_type": int,
                "cover": int,
                "scheduler": str,
                "command": str,
                "servers": [int],
            },
        )
        try:
            cron_id = self._sim.add_cron(name, **options)
        except ValueError as err:
            return admin_error(str(err), 400)
        return web.json_response({"id": cron_id}, status=201)
