"""The :class:`NezhaSimulator`: an aiohttp app serving a simulated dashboard."""

from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate
import random
import time
from types import TracebackType
from typing import Any, Final, Self, Unpack

from aiohttp import web

from .admin import AdminRoutes
from .faults import Fault, FaultInjector, Handler
from .fleet import Fleet, ServerOptions
from .malform import MISSING, apply_overrides
from .tokens import DEFAULT_SCOPES, generate_pat, generate_token
from .v0 import V0Routes, gin_fallback
from .v1 import V1Routes
from .v1_controls import LATEST_VERSION, V1Controls, V1State

__all__ = ["MISSING", "NezhaSimulator", "RecordedRequest", "generate_token"]

ADMIN_PREFIX: Final = "/_sim/"
GENERATIONS: Final = ("v0", "v1", "v2")  # "v1" = the current v2.x line too


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the simulator received it (first value wins per key)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    time: float  # simulator clock
    kind: str = "http"  # "ws" for a WebSocket handshake


def _is_upgrade(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def _first_values(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Collapse a multidict like Go's ``Get``: the first value of a key wins."""
    result: dict[str, str] = {}
    for key, value in items:
        result.setdefault(key, value)
    return result


class NezhaSimulator(V1Controls):
    """A simulated Nezha dashboard speaking the v0 or the v1 API over real HTTP.

    Example:
        ```python
        sim = NezhaSimulator(servers=5, token="t" * 32, seed=1)
        url = await sim.start()
        ...
        await sim.stop()
        ```

    ``generation="v1"`` (alias ``"v2"``) serves the v1/v2 REST API and stream of
    dashboard ``version`` (default 2.3.7); the v1-only controls come from
    :class:`~nezha_dev.simulator.v1_controls.V1Controls`.
    """

    def __init__(
        self,
        servers: int = 5,
        token: str | None = None,
        seed: int = 1,
        monitors: bool = True,
        *,
        generation: str = "v0",
        admin: bool = True,
        view_password: bool = False,
        slow_seconds: float = 30.0,
        version: str | None = None,
        scopes: Iterable[str] | None = None,
    ) -> None:
        """Create the simulator (not listening yet, see :meth:`start`).

        Args:
            servers: Number of servers in the initial fleet.
            token: The valid API token; a random 32-char one when omitted. In v1
                mode the main PAT (``nzp_`` + 32 chars, random when omitted).
            seed: Seed for the fleet's numbers and the random response order.
            monitors: Whether any service monitors (ping history) exist.
            generation: ``"v0"``, or ``"v1"``/``"v2"`` (same thing: the v1 API).
            admin: Serve the ``/_sim/`` admin API (not recorded, never faulted).
            view_password: Start with a view password configured (v0 only).
            slow_seconds: Delay of the :attr:`Fault.SLOW` fault.
            version: v1 dashboard version: ``"2.3.7"`` (default), ``"2.0.5"``,
                ``"1.14.14"``, ... (features follow the spec's B.0 table).
            scopes: Scopes of the main PAT (v1; default inventory/service/server
                read).
        """
        if generation not in GENERATIONS:
            raise ValueError(f"unsupported generation {generation!r} (v0, v1, v2)")
        if generation == "v0" and (version is not None or scopes is not None):
            raise ValueError("version and scopes only apply to generation 'v1'")
        self.generation = generation
        self.slow_seconds = slow_seconds
        self.requests: list[RecordedRequest] = []
        self._offset = 0.0
        self._v1_state: V1State | None = None
        if generation == "v0":
            self._token: str | None = generate_token() if token is None else token
        else:
            self._v1_state = V1State(self.now, version or LATEST_VERSION)
            self._token = self._v1_state.tokens.add(
                scopes=DEFAULT_SCOPES if scopes is None else scopes,
                expires_at=None,
                server_ids=None,
                token=generate_pat() if token is None else token,
            ).token
        self._rng = random.Random(seed)
        self._view_password = view_password
        self._malformed: dict[int, dict[str, object]] = {}
        self._admin = admin
        self._faults = FaultInjector(lambda: self.slow_seconds)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self.fleet = Fleet(
            seed=seed, clock=self.now, servers=servers, monitors=monitors
        )
        self.app = self._build_app()

    # -- clock, auth and helpers used by the route modules ------------------------

    def now(self) -> float:
        """Dashboard clock: ``time.time()`` (so freezegun applies) plus offset."""
        return time.time() + self._offset

    @property
    def clock_offset(self) -> float:
        """Total shift of the dashboard clock against real time, in seconds."""
        return self._offset

    def shift_clock(self, seconds: float) -> None:
        """Move the dashboard clock (cumulative; +420 = 7 minutes ahead)."""
        self._offset += seconds

    @property
    def token(self) -> str | None:
        """The main API token / PAT (``None`` after :meth:`revoke_token`)."""
        return self._token

    def set_token(self, token: str) -> None:
        """Replace the main token (old one stops working; v1: same scopes)."""
        if not token:
            raise ValueError("token must not be empty")
        if self._v1_state is not None:
            tokens = self._v1_state.tokens
            old = tokens.get(self._token) if self._token else None
            tokens.add(
                scopes=DEFAULT_SCOPES if old is None else old.scopes,
                expires_at=None if old is None else old.expires_at,
                server_ids=None if old is None else old.server_ids,
                token=token,
            )
            if old is not None:
                self.revoke_token(old.token)
        self._token = token

    def revoke_token(self, token: str | None = None) -> None:
        """Delete a token (default: the main one); v1 also closes its streams."""
        token = self._token if token is None else token
        if token == self._token:
            self._token = None
        if self._v1_state is not None and token is not None:
            self._v1_state.tokens.revoke(token)
            self._v1_state.hub.close_token(token)

    def token_valid(self, header: str | None) -> bool:
        """Verbatim comparison, like v0's ``ApiTokenList[header]`` map lookup."""
        return self._token is not None and header == self._token

    @property
    def view_password(self) -> bool:
        """Whether a view password is configured (guards ``/monitor`` for guests)."""
        return self._view_password

    def set_view_password(self, enabled: bool) -> None:
        """Configure or remove the view password."""
        self._view_password = enabled

    def set_seed(self, seed: int) -> None:
        """Reseed the response-order generator and the fleet's live noise.

        The fleet's structure (servers, hosts, workload profiles) is kept.
        """
        self._rng = random.Random(seed)
        self.fleet.seed = seed

    def shuffle(self, items: list[Any]) -> None:
        """Shuffle like Go map iteration, reproducibly from the seed."""
        self._rng.shuffle(items)

    # -- fleet shortcuts -------------------------------------------------------------

    def add_server(
        self, name: str, tag: str = "", **options: Unpack[ServerOptions]
    ) -> int:
        """Add a server and return its new id (see :meth:`Fleet.add_server`)."""
        return self.fleet.add_server(name, tag, **options)

    def remove_server(self, sid: int) -> None:
        """Delete a server."""
        self.fleet.remove_server(sid)
        self._malformed.pop(sid, None)

    def set_online(self, sid: int, online: bool) -> None:
        """Connect or disconnect a server's agent."""
        self.fleet.set_online(sid, online)

    def set_never_reported(self, sid: int) -> None:
        """Make a server look like right after a dashboard restart."""
        self.fleet.set_never_reported(sid)

    # -- faults and malformed output -------------------------------------------------

    def inject_fault(
        self, kind: Fault | str, count: int | None = 1, path: str | None = None
    ) -> None:
        """Make the next ``count`` requests (``None``: all until cleared) fail.

        ``path`` restricts the fault to request paths starting with it.
        """
        self._faults.add(Fault(kind), count, path)

    def clear_faults(self) -> None:
        """Remove all pending faults."""
        self._faults.clear()

    @property
    def faults(self) -> list[tuple[Fault, int | None, str | None]]:
        """Pending faults as (kind, remaining count, path prefix)."""
        return [(r.kind, r.count, r.path) for r in self._faults.rules]

    def set_malformed(self, sid: int, field: str, value: object) -> None:
        """Override one raw JSON field of a server in list/details output.

        ``field`` may be dotted (``"status.CPU"``) to reach into ``host``/``status``;
        pass :data:`MISSING` as ``value`` to delete the key instead.
        """
        self._malformed.setdefault(sid, {})[field] = value

    def clear_malformed(self, sid: int | None = None) -> None:
        """Remove overrides of one server, or of all servers."""
        if sid is None:
            self._malformed.clear()
        else:
            self._malformed.pop(sid, None)

    def malform(self, sid: int, element: dict[str, Any]) -> dict[str, Any]:
        """Apply :meth:`set_malformed` overrides to a rendered element.

        v1: applies to ``/server`` elements and to the servers of stream frames.
        """
        return apply_overrides(self._malformed.get(sid, {}), element)

    def reset_requests(self) -> None:
        """Forget the recorded requests."""
        self.requests.clear()

    # -- HTTP server -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8008`` (only while started)."""
        if self._url is None:
            raise RuntimeError("simulator is not started")
        return self._url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0 = free port) and return the base URL."""
        if self._runner is not None:
            raise RuntimeError("simulator is already started")
        self._faults.reset_wake()
        # handler_cancellation: a client that gives up on a SLOW answer ends it.
        runner = web.AppRunner(
            self.app, access_log=None, handler_cancellation=True, shutdown_timeout=5
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        self._url = f"http://{shown}:{bound_port}"
        return self._url

    async def stop(self) -> None:
        """Stop listening and finish in-flight requests (idempotent)."""
        if self._runner is None:
            return
        self._faults.wake_sleepers()
        if self._v1_state is not None:  # streams never end on their own
            hub = self._v1_state.hub
            await hub.wait_closed(hub.kill_all())
        runner, self._runner, self._url = self._runner, None, None
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        """Start on a free loopback port."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        await self.stop()

    def _build_app(self) -> web.Application:
        if self._v1_state is None:
            app = web.Application(middlewares=[self._record_and_fault, gin_fallback])
            V0Routes(self).register(app)
        else:
            routes = V1Routes(self, self._is_admin)
            app = web.Application(
                middlewares=[
                    self._record_and_fault,
                    routes.waf_middleware,
                    routes.no_route,
                ]
            )
            routes.register(app)
        app.on_response_prepare.append(self._set_date)
        if self._admin:
            AdminRoutes(self).register(app)
        return app

    def _is_admin(self, request: web.Request) -> bool:
        return self._admin and request.path.startswith(ADMIN_PREFIX)

    @web.middleware
    async def _record_and_fault(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        if self._is_admin(request):
            return await handler(request)
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=_first_values(request.query.items()),
                headers=_first_values(request.headers.items()),
                time=self.now(),
                kind="ws" if _is_upgrade(request) else "http",
            )
        )
        fault = self._faults.take(request.path)
        if fault is None:
            return await handler(request)
        return await self._faults.apply(fault, request, handler)

    async def _set_date(
        self, request: web.Request, response: web.StreamResponse
    ) -> None:
        # aiohttp would stamp real time; the dashboard's (offset) clock must show.
        response.headers["Date"] = formatdate(self.now(), usegmt=True)
