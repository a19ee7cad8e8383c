"""Opening the v1 server-state WebSocket: the handshake, its errors, no redirects."""

import asyncio
from typing import Any

import aiohttp

from .base import waf_blocked_error
from .errors import (
    NezhaAuthError,
    NezhaConnectionError,
    NezhaError,
    NezhaRedirectError,
    NezhaResponseError,
    NezhaTimeoutError,
    NezhaTLSError,
)
from .transport import redirect_target

WS_PATH = "/api/v1/ws/server"
# The dashboard never reads the stream, so it never answers a close frame.
CLOSE_TIMEOUT = 0.25


class _RedirectRefusedError(Exception):
    """Raised from the trace of a redirect, before aiohttp follows it."""

    def __init__(self, status: int, location: str) -> None:
        super().__init__(status)
        self.status = status
        self.location = location


async def _refuse_redirect(
    session: aiohttp.ClientSession,
    context: Any,
    params: aiohttp.TraceRequestRedirectParams,
) -> None:
    location = redirect_target(params.url, params.response.headers.get("Location", ""))
    params.response.close()
    raise _RedirectRefusedError(params.response.status, location)


def refuse_redirects() -> aiohttp.TraceConfig:
    """A trace that stops a session's redirects before they are followed.

    ``ws_connect`` has no ``allow_redirects``: it follows up to ten, so the stream
    would take another server's frames as the dashboard's. Give the session
    for the stream (``stream_session``) this trace; every redirect then fails
    with NezhaRedirectError, and the target never sees a request.
    """
    trace = aiohttp.TraceConfig()
    trace.on_request_redirect.append(_refuse_redirect)
    return trace


async def open_stream(
    session: aiohttp.ClientSession,
    base_url: str,
    headers: dict[str, str],
    handshake_timeout: float,
    max_frame_bytes: int,
) -> aiohttp.ClientWebSocketResponse:
    """Open the server-state WebSocket of the dashboard at ``base_url``.

    No Origin header (the dashboard's same-origin check would refuse a
    mismatch) and no client heartbeat (the dashboard never reads the socket).
    Handshake failures are mapped like REST errors.
    """
    url = base_url + WS_PATH
    try:
        async with asyncio.timeout(handshake_timeout):
            return await session.ws_connect(
                url,
                headers=headers,
                autoping=True,
                heartbeat=None,
                max_msg_size=max_frame_bytes,
                # close() may wait for a close frame, which never comes.
                timeout=aiohttp.ClientWSTimeout(
                    ws_receive=None, ws_close=CLOSE_TIMEOUT
                ),
            )
    except TimeoutError as err:
        raise NezhaTimeoutError(
            f"{WS_PATH}: no handshake within {handshake_timeout:g} s"
        ) from err
    except _RedirectRefusedError as err:
        raise NezhaRedirectError(
            f"{WS_PATH}: the dashboard redirects (HTTP {err.status}) to {err.location}",
            err.location,
        ) from None
    except aiohttp.ClientResponseError as err:
        status = err.status
        content_type = err.headers.get("Content-Type", "") if err.headers else ""
    except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError) as err:
        # The same error as REST, so the user reads the same advice.
        raise NezhaTLSError(
            f"{WS_PATH}: TLS handshake failed ({err.__class__.__name__})"
        ) from err
    except aiohttp.ClientError as err:
        raise NezhaConnectionError(f"{WS_PATH}: {err.__class__.__name__}") from err
    # Raised outside the handler on purpose: the repr of the aiohttp error shows
    # the request headers, the token among them, so it must not be the context.
    raise _handshake_error(status, is_html=content_type.startswith("text/html"))


def _handshake_error(status: int, *, is_html: bool) -> NezhaError:
    """Map the HTTP status of a refused WebSocket upgrade."""
    if status == 403 and is_html:
        # The WAF's block page; a missing scope is a JSON 403.
        return waf_blocked_error(WS_PATH)
    if status >= 500:
        return NezhaConnectionError(f"{WS_PATH}: the dashboard answered HTTP {status}")
    if status in (401, 403):
        # A rejected personal token, or a missing scope: do not try again
        # without the user (each refused token is a WAF strike).
        return NezhaAuthError(
            f"{WS_PATH}: the dashboard refused the stream (HTTP {status})"
        )
    if status == 200:
        # A JSON error before the upgrade that is not about our token: the WAF's
        # real-IP check, or JWT handling on a dashboard without personal tokens.
        # Neither costs a strike; the REST poll meanwhile names the cause.
        return NezhaResponseError(
            f"{WS_PATH}: the dashboard refused the stream (HTTP 200)"
        )
    return NezhaResponseError(f"{WS_PATH}: handshake failed (HTTP {status})")
