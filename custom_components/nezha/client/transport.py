"""HTTP plumbing shared by the API generations: one GET, no redirects, typed errors."""

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import json
import re
from typing import Any

import aiohttp
from yarl import URL

from .errors import (
    NezhaConnectionError,
    NezhaRedirectError,
    NezhaResponseError,
    NezhaTimeoutError,
    NezhaTLSError,
    NezhaTooLargeError,
)
from .limits import SMALL_BODY_BYTES

DEFAULT_TIMEOUT = 10.0
# The cap of a request that names none; each endpoint has its own (limits.py).
MAX_BODY_BYTES = SMALL_BODY_BYTES
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Nezha's tokens have 32 (v0) or 36 (v1 personal tokens) characters.
MAX_TOKEN_LENGTH = 256
# Characters aiohttp refuses to put in a header (it raises ValueError).
_UNSENDABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def token_problem(token: str) -> str | None:
    """Why ``token`` must not be sent, or None when it may be.

    An empty token would go out as an empty header; a huge one is refused by
    the dashboard's HTTP server with an answer that reads like "not Nezha".
    """
    if not token.strip():
        return "the API token is empty"
    if len(token) > MAX_TOKEN_LENGTH:
        return (
            f"the API token is too long ({len(token)} characters; "
            f"at most {MAX_TOKEN_LENGTH})"
        )
    if _UNSENDABLE.search(token):
        # A pasted line break, most likely.
        return "the API token contains control characters"
    return None


@dataclass(frozen=True, slots=True)
class RawResponse:
    """A dashboard answer before any generation-specific interpretation."""

    path: str
    status: int
    content_type: str
    body: bytes
    date: datetime
    """The dashboard's clock (HTTP Date header), or ours when the header is unusable."""

    @property
    def is_json(self) -> bool:
        """Return True when the dashboard declared a JSON body."""
        return self.content_type == "application/json"

    @property
    def is_html(self) -> bool:
        """Return True for HTML pages (error pages, proxies, WAF block page)."""
        return self.content_type == "text/html"

    @property
    def is_waf_block(self) -> bool:
        """Return True for the v1 WAF's "you were blocked" page (HTTP 403, HTML)."""
        return self.status == 403 and self.is_html and self.text_contains("nezha WAF")

    def text_contains(self, needle: str) -> bool:
        """Search the body as text without failing on bad encodings."""
        return needle in self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """Parse the body, turning every parse failure into NezhaResponseError."""
        if not self.body.strip():
            raise NezhaResponseError(
                f"{self.path}: empty response (HTTP {self.status})"
            )
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError) as err:
            raise NezhaResponseError(
                f"{self.path}: response is not valid JSON (HTTP {self.status})"
            ) from err


def _server_date(header: str | None) -> datetime:
    if header:
        try:
            parsed = parsedate_to_datetime(header)
        except TypeError, ValueError, IndexError, OverflowError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
    return datetime.now(UTC)


class Transport:
    """Performs GET requests against one dashboard origin.

    Redirects are never followed: a redirect could carry the token to another host.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Bind to a session and a normalised base URL (no trailing slash)."""
        self._session = session
        self._base = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    @property
    def base_url(self) -> str:
        """Return the dashboard base URL."""
        return self._base

    async def get(
        self,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        method: str = "GET",
        max_bytes: int | None = None,
    ) -> RawResponse:
        """GET (or ``method``, without a body) ``path`` and read the whole answer.

        A body larger than ``max_bytes`` (default ``MAX_BODY_BYTES``) is refused
        with NezhaTooLargeError before it is all read.
        """
        limit = MAX_BODY_BYTES if max_bytes is None else max_bytes
        too_large = f"{path}: the answer is larger than {_size(limit)}"
        try:
            url = URL(self._base + path, encoded=False)
            if params:
                url = url.with_query(params)
            async with self._session.request(
                method,
                url,
                headers=headers,
                allow_redirects=False,
                timeout=self._timeout,
            ) as resp:
                if resp.status in _REDIRECTS:
                    target = redirect_target(url, resp.headers.get("Location", ""))
                    raise NezhaRedirectError(
                        f"{path}: the dashboard redirects (HTTP {resp.status}) to {target}",
                        target,
                    )
                if resp.content_length is not None and resp.content_length > limit:
                    raise NezhaTooLargeError(too_large, limit)
                # StreamReader.read(n) returns only what is buffered, so read
                # chunk by chunk until the end, enforcing the cap as data arrives
                # (the length header may be absent or describe compressed data).
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_any():
                    size += len(chunk)
                    if size > limit:
                        raise NezhaTooLargeError(too_large, limit)
                    chunks.append(chunk)
                return RawResponse(
                    path=path,
                    status=resp.status,
                    content_type=resp.content_type,
                    body=b"".join(chunks),
                    date=_server_date(resp.headers.get("Date")),
                )
        except TimeoutError as err:
            raise NezhaTimeoutError(
                f"{path}: no answer within {self._timeout.total:g} s"
            ) from err
        except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError) as err:
            raise NezhaTLSError(
                f"{path}: TLS handshake failed ({err.__class__.__name__})"
            ) from err
        except aiohttp.ClientError as err:
            raise NezhaConnectionError(
                f"{path}: {err.__class__.__name__}: {err}"
            ) from err
        except ValueError as err:
            # A base URL yarl cannot parse, or a header aiohttp refuses to send.
            # The message of the original error is not shown: it could quote a header.
            raise NezhaConnectionError(
                f"{path}: the request could not be built ({err.__class__.__name__})"
            ) from err


def _size(limit: int) -> str:
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit >= factor:
            return f"{limit / factor:g} {unit}"
    return f"{limit} bytes"


def redirect_target(url: URL, location: str) -> str:
    """Resolve a ``Location`` against the request URL.

    Credentials, query and fragment are dropped: the result is shown to the user.
    """
    try:
        target = url.join(URL(location))
        if target.scheme not in ("http", "https") or not target.host:
            # javascript:, data:, mailto: ... never a dashboard, and the rest may
            # be a script: name the scheme only.
            return f"{target.scheme}:…"
        return str(target.with_user(None).with_query(None).with_fragment(None))
    except ValueError:
        return location.split("?", 1)[0].split("#", 1)[0]
