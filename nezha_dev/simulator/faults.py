"""Failure modes of the dashboard or of what sits in front of it.

Each fault replaces (or delays, or truncates) the normal answer for the next
``count`` matching requests. They model a reverse proxy with a dead upstream, an
SSO portal, a gin panic, a half-written response and a dropped connection.
"""

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass
from enum import StrEnum
import socket
import struct

from aiohttp import web

from .encoding import JSON_CONTENT_TYPE, html_response
from .pages import LOGIN_PAGE, NGINX_502

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Fault(StrEnum):
    """Kinds of injected failure (values are the admin API names)."""

    HTML_502 = "html_502"  # nginx "502 Bad Gateway" page
    EMPTY_200 = "empty_200"  # 200 JSON content type, empty body
    TRUNCATED_JSON = "truncated_json"  # 200 JSON cut in the middle
    SLOW = "slow"  # answer normally after sim.slow_seconds
    RESET = "reset"  # TCP connection closed (RST) without a response
    HTML_200 = "html_200"  # 200 HTML login page of an SSO proxy
    SERVER_500_EMPTY = "server_500_empty"  # gin Recovery after a panic
    NOT_JSON = "not_json"  # 200 JSON content type, body "<html>"


@dataclass(slots=True)
class FaultRule:
    """A pending fault: applies to paths under ``path``; ``count`` None = forever."""

    kind: Fault
    count: int | None
    path: str | None = None

    def matches(self, path: str) -> bool:
        """Whether a request path is affected."""
        return self.path is None or path.startswith(self.path)


class FaultInjector:
    """Holds pending faults and applies the first matching one to a request."""

    def __init__(self, slow_seconds: Callable[[], float]) -> None:
        """Create an injector; ``slow_seconds`` is read when a SLOW fault fires."""
        self.rules: list[FaultRule] = []
        self._slow_seconds = slow_seconds
        self._wake = asyncio.Event()

    def add(self, kind: Fault, count: int | None, path: str | None) -> None:
        """Queue a fault for the next ``count`` matching requests."""
        if count is not None and count < 1:
            raise ValueError("count must be >= 1 or None")
        self.rules.append(FaultRule(Fault(kind), count, path))

    def clear(self) -> None:
        """Drop all pending faults."""
        self.rules.clear()

    def wake_sleepers(self) -> None:
        """End all SLOW sleeps now (called on stop so shutdown does not hang)."""
        self._wake.set()

    def reset_wake(self) -> None:
        """Re-arm after a restart."""
        self._wake = asyncio.Event()

    def take(self, path: str) -> Fault | None:
        """Consume one use of the first fault matching ``path``."""
        for rule in self.rules:
            if rule.matches(path):
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count == 0:
                        self.rules.remove(rule)
                return rule.kind
        return None

    async def apply(
        self, kind: Fault, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        """Produce the faulty answer for ``request``."""
        if kind is Fault.HTML_502:
            return html_response(NGINX_502, 502)
        if kind is Fault.HTML_200:
            return html_response(LOGIN_PAGE, 200)
        if kind is Fault.EMPTY_200:
            return web.Response(status=200, headers={"Content-Type": JSON_CONTENT_TYPE})
        if kind is Fault.NOT_JSON:
            return web.Response(
                status=200, body=b"<html>", headers={"Content-Type": JSON_CONTENT_TYPE}
            )
        if kind is Fault.SERVER_500_EMPTY:
            # gin's Recovery calls AbortWithStatus(500): no content type, no body.
            return web.Response(status=500)
        if kind is Fault.TRUNCATED_JSON:
            return await self._truncated(request, handler)
        if kind is Fault.SLOW:
            # Woken early by stop() so that shutting down never waits for it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._slow_seconds())
            return await handler(request)
        return _reset(request)

    @staticmethod
    async def _truncated(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            # Running a stream handler would upgrade the connection; a proxy that
            # cuts the handshake answer short never lets it get that far.
            return web.Response(
                status=200,
                body=b'{"error":"ApiErrorUnauth',
                headers={"Content-Type": JSON_CONTENT_TYPE},
            )
        response = await handler(request)
        body = response.body if isinstance(response, web.Response) else None
        if not isinstance(body, bytes) or len(body) < 2:
            body = b'{"code":0,"message":"success","result":[{"id":1,"na'
        # A proxy that gave up mid-stream: a consistent but incomplete document.
        return web.Response(
            status=response.status,
            body=body[: len(body) // 2],
            headers={
                "Content-Type": response.headers.get("Content-Type", JSON_CONTENT_TYPE)
            },
        )


def _reset(request: web.Request) -> web.StreamResponse:
    """Abort the connection with an RST so the client sees a reset, not a reply."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER with a zero timeout turns close() into an RST.
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        transport.abort()
    # Nothing can be sent any more; cancelling the handler makes aiohttp drop it
    # quietly instead of logging a failed write.
    raise asyncio.CancelledError
