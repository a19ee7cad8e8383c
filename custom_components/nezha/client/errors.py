"""One exception hierarchy for every Nezha API generation.

Messages never contain the token: they are built here from the URL path and the
kind of failure, never from request headers.
"""

import re

# Messages quote what the dashboard sent (content types, redirect targets, the
# HTTP stack's errors): shown escaped, so no line break or terminal escape in
# them can forge a log line, and capped.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]"
)
MAX_MESSAGE_LENGTH = 500


def _escape(match: re.Match[str]) -> str:
    return match.group(0).encode("unicode_escape").decode("ascii")


def printable(text: str) -> str:
    """Return ``text`` with control and bidi characters escaped, capped."""
    text = _UNSAFE.sub(_escape, text)
    if len(text) > MAX_MESSAGE_LENGTH:
        text = text[: MAX_MESSAGE_LENGTH - 1] + "…"
    return text


class NezhaError(Exception):
    """Base class of every error this client raises."""

    def __init__(self, message: str = "") -> None:
        """Keep the message in a form that is safe to log and to show."""
        super().__init__(printable(message))


class NezhaConnectionError(NezhaError):
    """The dashboard could not be reached (DNS, refused, reset, timeout)."""


class NezhaTimeoutError(NezhaConnectionError):
    """The dashboard did not answer within the request timeout."""


class NezhaTLSError(NezhaConnectionError):
    """The TLS handshake failed, usually because certificate verification failed."""


class NezhaAuthError(NezhaError):
    """The dashboard rejected the token."""


class NezhaTokenError(NezhaAuthError):
    """The token cannot be valid (empty, far too long, control characters).

    Found before anything is sent: no request, so no WAF strike either.
    """


class NezhaResponseError(NezhaError):
    """The answer is not what a Nezha dashboard sends (HTML page, bad JSON, wrong shape)."""


class NezhaTooLargeError(NezhaResponseError):
    """The answer is larger than any this endpoint sends (see ``limits``); not read."""

    def __init__(self, message: str, limit: int) -> None:
        """Keep the cap in bytes."""
        super().__init__(message)
        self.limit = limit


class NezhaRedirectError(NezhaResponseError):
    """The dashboard answered with a redirect; the client never follows one.

    Following it could send the token to another origin.
    """

    def __init__(self, message: str, location: str) -> None:
        """Keep the redirect target (without query) for the user-facing message."""
        super().__init__(message)
        self.location = location


class NezhaProxyHeaderError(NezhaResponseError):
    """A v1 dashboard wants its reverse proxy's real-IP header; the request had none.

    The dashboard's ``web_real_ip_header`` is set, so requests that bypass the
    proxy (or carry a header that is not an IP) are refused, every one of them.
    """


class NezhaUnsupportedError(NezhaResponseError):
    """The URL is a Nezha dashboard of a generation this client does not speak."""


class NezhaNotFoundError(NezhaError):
    """The dashboard does not know the requested server."""


class NezhaScopeError(NezhaAuthError):
    """A v1 personal token lacks a scope the integration needs."""

    def __init__(self, message: str, scope: str | None) -> None:
        """Keep the missing scope (e.g. ``nezha:inventory:read``) for the user."""
        super().__init__(message)
        self.scope = scope


class NezhaWafBlockedError(NezhaAuthError):
    """The v1 dashboard's WAF has banned this IP after failed authentications.

    Every further request extends nothing but also achieves nothing; an admin has
    to clear the ban (Settings → WAF) or the user must wait it out.
    """


class NezhaPatUnsupportedError(NezhaAuthError):
    """The v1 dashboard predates personal API tokens (v2.1.0) and refused ours."""


class NezhaRefusedError(NezhaResponseError):
    """The dashboard refused an action with its own (localised) reason.

    For example ``task id 9 does not exist`` or ``permission denied``.
    """

    def __init__(self, message: str, reason: str) -> None:
        """Keep the dashboard's reason for the user-facing message."""
        super().__init__(message)
        self.reason = reason
