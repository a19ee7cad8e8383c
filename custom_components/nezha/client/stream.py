"""Keeps the v1 server-state WebSocket open: reconnects with backoff, never on auth.

HA-free: the caller passes callbacks. The dashboard pushes a frame every 2 s and
never reads the socket (so it cannot answer pings); silence longer than
``silence_timeout`` therefore means the connection is dead.

Each frame holds every server, and parsing one of 1,000 servers costs tens of
milliseconds, so frames are parsed at most once per ``parse_interval`` (the
dashboard's frame interval): a frame that comes sooner is kept, raw, replacing
any kept before it, and parsed when the interval is up. At the dashboard's pace
every frame is parsed as it comes; a flood of frames costs their reading only.
"""

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import logging
import math
import random
from typing import TYPE_CHECKING

import aiohttp

from .errors import NezhaAuthError, NezhaError, NezhaResponseError, NezhaTooLargeError
from .limits import FLEET_BODY_BYTES
from .v1_parse import StreamFrame
from .v1_ws import CLOSE_TIMEOUT, WS_PATH

if TYPE_CHECKING:
    from .v1 import NezhaV1Client

_LOGGER = logging.getLogger(__name__)

# The dashboard sends a frame every 2 s.
FRAME_INTERVAL = 2.0


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter, capped at ``cap`` seconds.

    Attempt ``n`` waits between half and all of ``min(cap, base * 2**n)``.
    """

    base: float = 1.0
    cap: float = 300.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Return the wait before reconnect attempt ``attempt`` (1-based)."""
        ceiling = min(self.cap, self.base * 2 ** min(attempt, 30))
        return rng.uniform(ceiling / 2, ceiling)


class StreamRunner:
    """Runs until cancelled or until the dashboard refuses the token."""

    def __init__(
        self,
        client: NezhaV1Client,
        *,
        on_frame: Callable[[StreamFrame], None],
        on_down: Callable[[NezhaError], None],
        on_auth_failure: Callable[[NezhaAuthError], None],
        tag: str | None = None,
        silence_timeout: float = 10.0,
        parse_interval: float = FRAME_INTERVAL,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """Bind callbacks; nothing runs until :meth:`run` is awaited."""
        self._client = client
        self._on_frame = on_frame
        self._on_down = on_down
        self._on_auth_failure = on_auth_failure
        self._tag = tag
        self._silence = silence_timeout
        self._parse_interval = parse_interval
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.connected = False
        self.attempts = 0
        self._wake = asyncio.Event()

    def reconnect_now(self) -> None:
        """Cut short the wait before the next reconnect (the dashboard is back).

        Asked during a connection attempt, it cuts the wait after that attempt if
        it fails; asked while connected, it is ignored. The backoff itself keeps
        growing, so a stream that keeps failing still slows down.
        """
        if not self.connected:
            self._wake.set()

    async def run(self) -> None:
        """Connect, read frames, reconnect after failures; return on auth failure."""
        while True:
            refused: NezhaAuthError | None = None
            self._wake.clear()
            try:
                await self._session()
            except NezhaAuthError as err:
                refused = err
            except NezhaError as err:
                self.connected = False
                self.attempts += 1
                self._on_down(err)
            if refused is not None:
                # Called outside the except block so that whatever the callback
                # raises is not chained to this error.
                self.connected = False
                self._on_auth_failure(refused)
                return
            delay = self._backoff.delay(max(self.attempts, 1), self._rng)
            _LOGGER.debug("Stream reconnect in %.1f s", delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _session(self) -> None:
        ws = await self._client.async_connect_stream()
        loop = asyncio.get_running_loop()
        kept: str | bytes | None = None  # the newest frame not parsed yet
        parsed_at = -math.inf
        heard_at = loop.time()
        try:
            while True:
                now = loop.time()
                if kept is not None and now - parsed_at >= self._parse_interval:
                    parsed_at = now
                    frame, kept = kept, None
                    self._deliver(frame)
                wait = self._silence - (now - heard_at)
                if kept is not None:
                    wait = min(wait, parsed_at + self._parse_interval - now)
                try:
                    # receive(timeout=0) would mean "no timeout".
                    message = await ws.receive(timeout=max(wait, 0.001))
                except TimeoutError as err:
                    if loop.time() - heard_at < self._silence:
                        continue  # the kept frame is due
                    raise _StreamDownError(
                        f"no frame for {self._silence:g} s; reconnecting"
                    ) from err
                heard_at = loop.time()
                if message.type is aiohttp.WSMsgType.TEXT:
                    kept = message.data
                elif (
                    message.type is aiohttp.WSMsgType.ERROR
                    and isinstance(message.data, aiohttp.WebSocketError)
                    and message.data.code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
                ):
                    raise NezhaTooLargeError(
                        f"{WS_PATH}: a frame is larger than "
                        f"{FLEET_BODY_BYTES // (1024 * 1024)} MiB",
                        FLEET_BODY_BYTES,
                    )
                elif message.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.CLOSING,
                    aiohttp.WSMsgType.ERROR,
                ):
                    raise _StreamDownError(f"stream closed ({message.type.name})")
        finally:
            await _hang_up(ws)

    def _deliver(self, text: str | bytes) -> None:
        try:
            frame = self._client.parse_frame(text, self._tag)
        except NezhaResponseError as err:
            # One unreadable frame is no reason to drop the stream.
            _LOGGER.debug("Skipping a stream frame: %s", err)
            return
        if not self.connected:
            self.connected = True
            self.attempts = 0
            self._wake.clear()  # asked before this worked: stale now
        self._on_frame(frame)


async def _hang_up(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Close without waiting for the close frame the dashboard never sends.

    After a timed-out or cancelled receive aiohttp closes at once; otherwise (a
    callback raised) it waits for the peer's close frame and restarts that wait
    with every frame still arriving, so the wait is bounded here.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await ws.close()


class _StreamDownError(NezhaError):
    """The stream ended or went silent."""
