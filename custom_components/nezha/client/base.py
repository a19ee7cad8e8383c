"""What every generation's client shares: the token, the headers, reporting, errors.

The generation modules (``v0``, ``v1``) build on this and on ``transport``,
``parse`` and ``fleet``; they never import each other.
"""

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import (
    NezhaConnectionError,
    NezhaProxyHeaderError,
    NezhaResponseError,
    NezhaTokenError,
    NezhaWafBlockedError,
)
from .fleet import ProblemLog
from .limits import SMALL_BODY_BYTES
from .transport import DEFAULT_TIMEOUT, RawResponse, Transport, token_problem

if TYPE_CHECKING:
    import aiohttp

    from .models import ApiGeneration


class BaseClient:
    """Token handling, headers and problem reporting for one dashboard."""

    generation: ClassVar[ApiGeneration]
    auth_scheme: ClassVar[str]
    """What precedes the token in ``Authorization`` (v1: ``"Bearer "``)."""
    logger: ClassVar[logging.Logger]
    """The generation module's logger: log settings keep naming it."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Create a client; ``base_url`` must already be normalised."""
        self._transport = Transport(session, base_url, timeout=timeout)
        self._timeout = timeout
        self._headers = {
            "Authorization": f"{self.auth_scheme}{token}",
            "Accept": "application/json",
        }
        self._token_problem = token_problem(token)
        self._problems = ProblemLog(self.logger)

    @property
    def base_url(self) -> str:
        """Return the dashboard's normalised base URL."""
        return self._transport.base_url

    def __repr__(self) -> str:
        """Describe the client without the token."""
        return f"{type(self).__name__}({self.base_url!r})"

    def _check_token(self, path: str) -> None:
        if self._token_problem:
            # No request, so no WAF strike either.
            raise NezhaTokenError(f"{path}: {self._token_problem}")

    async def _request(
        self,
        path: str,
        params: dict[str, str] | None = None,
        max_bytes: int = SMALL_BODY_BYTES,
        *,
        method: str = "GET",
    ) -> RawResponse:
        """Send the token to ``path``, unless it cannot be valid."""
        self._check_token(path)
        return await self._transport.get(
            path,
            headers=self._headers,
            params=params,
            method=method,
            max_bytes=max_bytes,
        )


def check_server_error(raw: RawResponse) -> None:
    """Raise for HTTP 5xx: gin's panic recovery, or a proxy whose upstream is down."""
    if raw.status >= 500:
        raise NezhaConnectionError(
            f"{raw.path}: the dashboard answered HTTP {raw.status}"
        )


def list_or_empty(value: Any, path: str, key: str) -> list[Any]:
    """A list field of an answer: omitted or null when empty, an error when not a list."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise NezhaResponseError(f"{path}: '{key}' is not a list")
    return value


def json_object(raw: RawResponse) -> dict[str, Any]:
    """The body as a JSON object, or an empty one for anything else."""
    if not raw.is_json:
        return {}
    try:
        body = raw.json()
    except NezhaResponseError:
        return {}
    return body if isinstance(body, dict) else {}


def is_real_ip_error(error: object) -> bool:
    """Whether ``error`` is the WAF's refusal of a request without a real-IP header.

    ``waf.RealIp`` refuses a missing header, and with Go's ``netip.ParseAddr`` error
    one that is not a bare IP address (``ip:port``, a host name, ...).
    """
    return isinstance(error, str) and (
        error == "real ip header not found" or error.startswith("ParseAddr(")
    )


def proxy_header_error(path: str) -> NezhaProxyHeaderError:
    """The error for a dashboard that wants its reverse proxy's real-IP header."""
    return NezhaProxyHeaderError(
        f"{path}: the dashboard expects a real-IP header from a reverse proxy; "
        "connect through that proxy"
    )


def waf_blocked_error(path: str) -> NezhaWafBlockedError:
    """The error for the v1 WAF's block page."""
    return NezhaWafBlockedError(
        f"{path}: the dashboard's WAF has blocked this IP address"
    )
