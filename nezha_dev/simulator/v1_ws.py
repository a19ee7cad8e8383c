"""``GET /api/v1/ws/server``: the v1 live stream (gorilla/websocket on the server).

Spec: ``nezha-api.md`` B.6 (source ``cmd/dashboard/controller/ws.go``). The loop
writes a text frame, after every 4th frame a ping, then sleeps 2 s. It **never
reads** from the socket, so client pings and close frames are never answered. An
aiohttp client's ``close()`` then waits for a close frame that never comes, and
because every stream frame it reads restarts its ``ws_close`` timeout, it does not
return while frames keep coming: clients must cancel it or drop the connection.
(The dashboard notices a vanished client only when a write fails; here aiohttp's
handler cancellation notices it at once, which only makes ``online`` drop sooner.)
Handshake failures are plain HTTP answers, never a 101: auth errors are the JSON
of the REST API, and gorilla writes ``http.Error`` text for protocol errors.
"""

import asyncio
from collections.abc import Callable, Coroutine
import contextlib
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import web

from .tokens import ApiToken

# Callback building one frame: (first frame?, viewers online) -> JSON, or None
# when Go's marshal fails (NaN), in which case the frame is skipped.
FrameBuilder = Callable[[bool, int], bytes | None]
PING_EVERY: Final = 4
CLOSE_WAIT: Final = 5.0  # seconds a drop/stop waits for the handlers to end


@dataclass(eq=False, slots=True)
class WsSession:
    """One open stream."""

    ws: web.WebSocketResponse
    transport: asyncio.BaseTransport | None
    token: ApiToken | None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def kill(self, *, abort: bool) -> None:
        """Close the TCP connection without a WebSocket close frame.

        ``abort`` drops it at once (a crash / network cut); otherwise the socket
        is closed like gorilla's ``conn.Close()`` on PAT revocation.
        """
        if self.transport is not None and not self.transport.is_closing():
            if abort and isinstance(self.transport, asyncio.WriteTransport):
                self.transport.abort()
            else:
                self.transport.close()
        self.closed.set()


def _tokens(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",")}


def _http_error(status: int, reason: str) -> web.Response:
    """gorilla ``returnError``: ``http.Error`` with the bare status text."""
    return web.Response(
        status=status,
        text=reason + "\n",
        content_type="text/plain",
        charset="utf-8",
        headers={"Sec-Websocket-Version": "13", "X-Content-Type-Options": "nosniff"},
    )


def same_origin(request: web.Request) -> bool:
    """gorilla's default ``checkSameOrigin``: no Origin, or its host == Host."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:
        return False
    host = netloc.rpartition("@")[2]  # Go's URL.Host excludes user info
    return host.lower() == request.headers.get("Host", "").lower()


def handshake_error(request: web.Request) -> web.Response | None:
    """The checks of ``Upgrader.Upgrade`` in gorilla's order, or ``None`` if OK."""
    headers = request.headers
    if "upgrade" not in _tokens(headers.get("Connection", "")):
        return _http_error(400, "Bad Request")
    if "websocket" not in _tokens(headers.get("Upgrade", "")):
        return _http_error(400, "Bad Request")
    if headers.get("Sec-WebSocket-Version") != "13":
        return _http_error(400, "Bad Request")
    if not same_origin(request):
        return _http_error(403, "Forbidden")
    if not headers.get("Sec-WebSocket-Key"):
        return _http_error(400, "Bad Request")
    return None


class WsHub:
    """All open streams plus the test controls (interval, pause, drop)."""

    def __init__(self, interval: float = 2.0) -> None:
        """Create an empty hub; ``interval`` is the pause between frames (s)."""
        self.interval = interval
        self.sessions: set[WsSession] = set()
        self.paused = False
        self._resumed = asyncio.Event()
        self._resumed.set()

    def pause(self, paused: bool) -> None:
        """Stop (or resume) sending frames without closing: a silent dead stream."""
        self.paused = paused
        if paused:
            self._resumed.clear()
        else:
            self._resumed.set()

    def kill_all(self) -> list[WsSession]:
        """Drop every stream; returns them so a caller can wait for the handlers."""
        victims = list(self.sessions)
        for session in victims:
            session.kill(abort=True)
        return victims

    def close_token(self, token: str) -> None:
        """A deleted PAT closes its live connections (``revokeToken`` fan-out)."""
        for session in list(self.sessions):
            if session.token is not None and session.token.token == token:
                session.kill(abort=False)

    async def wait_closed(self, sessions: list[WsSession]) -> None:
        """Wait (at most a few seconds) until the handlers of ``sessions`` ended."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT):
                for session in sessions:
                    await session.done.wait()

    async def serve(
        self, request: web.Request, token: ApiToken | None, frame: FrameBuilder
    ) -> web.StreamResponse:
        """Upgrade and run the send loop until the connection dies."""
        error = handshake_error(request)
        ws: web.WebSocketResponse = web.WebSocketResponse(
            autoping=False, autoclose=False
        )
        if error is not None or not ws.can_prepare(request).ok:
            return error or _http_error(400, "Bad Request")
        await ws.prepare(request)
        session = WsSession(ws, request.transport, token)
        self.sessions.add(session)
        try:
            await self._loop(session, frame)
        except ConnectionError:
            pass  # gorilla: a failed write ends the loop
        finally:
            self.sessions.discard(session)
            session.kill(abort=False)
            session.done.set()
        return ws

    async def _loop(self, session: WsSession, frame: FrameBuilder) -> None:
        sent = 0
        while not session.closed.is_set():
            if self.paused:
                await self._sleep(session, self._resumed.wait())
                continue
            body = frame(sent == 0, len(self.sessions))
            if body is not None:
                await session.ws.send_str(body.decode())
                sent += 1
                if sent % PING_EVERY == 0:
                    await session.ws.ping(b"")
            await self._sleep(session, asyncio.sleep(self.interval))

    @staticmethod
    async def _sleep(session: WsSession, waiting: Coroutine[Any, Any, Any]) -> None:
        """Wait for ``waiting`` or for the session to be killed, what comes first."""
        sleeper = asyncio.ensure_future(waiting)
        killed = asyncio.ensure_future(session.closed.wait())
        try:
            await asyncio.wait({sleeper, killed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, killed):
                if not task.done():
                    task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(sleeper, killed, return_exceptions=True)
