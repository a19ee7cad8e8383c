"""Serve a recording over real HTTP, so the integration's client reads it as it
would read the dashboard: same status codes, headers, bodies and stream frames.

Each token role gets a fixed example token (:func:`role_token`); a request is
answered with the exchange recorded for its path, query and role.
"""

import asyncio
from typing import Self

from aiohttp import web

from .recording import Exchange, Recording

V1_STREAM = "/api/v1/ws/server"


def role_token(role: str, generation: str) -> str:
    """The token that stands for ``role`` (v1: ``nzp_`` + 32 alphanumerics)."""
    body = "".join(c for c in f"replay{role}" if c.isalnum()).ljust(32, "0")[:32]
    return f"nzp_{body}" if generation == "v1" else body


class ReplayServer:
    """An aiohttp server that answers from one recording."""

    def __init__(self, recording: Recording, *, frame_gap: float = 0.05) -> None:
        """``frame_gap`` replaces the recorded gaps between frames (tests are fast)."""
        self.recording = recording
        self.frame_gap = frame_gap
        self.requests: list[tuple[str, str]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""
        prefix = "Bearer " if recording.generation == "v1" else ""
        self._roles = {
            f"{prefix}{role_token(role, recording.generation)}": role
            for role in recording.meta.get("roles", ["full"])
        }

    def role_of(self, request: web.Request) -> str:
        """The role whose token the request carries (``none`` without one)."""
        header = request.headers.get("Authorization")
        if header is None:
            return "none"
        return self._roles.get(header, "bogus")

    def find(self, path: str, query: dict[str, str], role: str) -> Exchange | None:
        """The exchange recorded for this request."""
        for exchange in self.recording.exchanges.values():
            if (exchange.path, exchange.query, exchange.auth) == (path, query, role):
                return exchange
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        role = self.role_of(request)
        self.requests.append((request.path_qs, role))
        if request.path == V1_STREAM:
            return await self._stream(request, role)
        exchange = self.find(request.path, dict(request.query), role)
        if exchange is None:
            return web.Response(status=599, text=f"not recorded: {request.path_qs}")
        headers = {k: v for k, v in exchange.headers.items() if k != "Content-Encoding"}
        return web.Response(
            status=exchange.status, body=exchange.body_bytes(), headers=headers
        )

    async def _stream(self, request: web.Request, role: str) -> web.StreamResponse:
        stream = next(
            (s for s in self.recording.streams.values() if s.auth == role), None
        )
        if stream is None or stream.status != 101:
            status = 599 if stream is None else stream.status
            return web.Response(status=status, text="stream refused")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        for frame in stream.frames:
            await ws.send_json(frame)
            await asyncio.sleep(self.frame_gap)
        await ws.close()
        return ws

    async def start(self) -> str:
        """Listen on a free loopback port; returns the base URL."""
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        """Start listening."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop listening."""
        await self.stop()
