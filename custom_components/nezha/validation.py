"""Checking a dashboard before an entry stores it: its URL, its generation, the token."""

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from yarl import URL

from .client import (
    ApiGeneration,
    NezhaAuthError,
    NezhaConnectionError,
    NezhaPatUnsupportedError,
    NezhaProxyHeaderError,
    NezhaRedirectError,
    NezhaResponseError,
    NezhaScopeError,
    NezhaTimeoutError,
    NezhaTLSError,
    NezhaTokenError,
    NezhaTooLargeError,
    NezhaUnsupportedError,
    NezhaV0Client,
    NezhaV1Client,
    NezhaWafBlockedError,
    async_detect_generation,
    looks_like_personal_token,
)
from .client.transport import token_problem
from .const import LOGGER


class InvalidUrlError(ValueError):
    """The text is not an http(s) URL of a dashboard."""


def normalize_url(raw: str) -> str:
    """Return the canonical form of a dashboard URL.

    Scheme and host are required; the host is lower-cased, a default port, a
    trailing slash, query and fragment are dropped, a sub-path is kept. Surrounding
    whitespace is ignored; whitespace inside the address is a typo, not a URL.
    """
    text = raw.strip()
    if not text or any(char.isspace() for char in text):
        raise InvalidUrlError
    try:
        url = URL(text)
        port = url.port
    except (ValueError, TypeError) as err:
        raise InvalidUrlError from err
    if (
        url.scheme not in ("http", "https")
        or not url.host
        or url.user is not None
        or url.password is not None
        or port == 0
    ):
        raise InvalidUrlError
    try:
        # yarl checks the host's characters only when building ("exa<mple").
        normalized = URL.build(
            scheme=url.scheme,
            host=url.host.lower(),
            port=None if url.is_default_port() else port,
            path=url.path.rstrip("/"),
        )
    except ValueError as err:
        raise InvalidUrlError from err
    return str(normalized)


def title_for(url: str) -> str:
    """Name the entry after the dashboard's host (and port, when not the default)."""
    parsed = URL(url)
    host = parsed.host or url
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return host if parsed.is_default_port() else f"{host}:{parsed.port}"


class TokenMismatchError(Exception):
    """The token cannot work with this dashboard; found without sending it."""

    def __init__(self, reason: str) -> None:
        """Keep the form error key."""
        super().__init__(reason)
        self.reason = reason


async def validate(
    hass: HomeAssistant, url: str, token: str, verify_ssl: bool
) -> ApiGeneration:
    """Detect the API generation, then make the cheapest authenticated requests.

    The probe is anonymous. The token is only sent once it fits the generation, so
    a v0 token never costs a v1 dashboard's WAF strike.
    """
    if problem := token_problem(token):
        raise NezhaTokenError(problem)  # before any request, even the anonymous one
    session = async_get_clientsession(hass, verify_ssl=verify_ssl)
    detection = await async_detect_generation(session, url)
    personal = looks_like_personal_token(token)
    if detection.generation is ApiGeneration.V0:
        if personal:
            raise TokenMismatchError("personal_token_on_v0")
        await NezhaV0Client(session, url, token).async_list_servers()
        return ApiGeneration.V0
    if not detection.tsdb:
        raise TokenMismatchError("dashboard_too_old")
    if not personal:
        raise TokenMismatchError("token_not_personal")
    client = NezhaV1Client(session, url, token)
    await client.async_list_servers()  # nezha:inventory:read
    await client.async_get_services()  # nezha:service:read
    return ApiGeneration.V1


def normalized_or_raw(raw: str) -> str:
    """The normalised URL, or the text as typed when it is none (to compare entries)."""
    try:
        return normalize_url(raw)
    except InvalidUrlError:
        return raw


# Failures that an update and the form name alike; a subclass before its base.
CONNECTION_FAILURES: dict[type[Exception], str] = {
    NezhaTimeoutError: "timeout",
    NezhaTLSError: "tls_failed",
    NezhaConnectionError: "cannot_connect",
    NezhaProxyHeaderError: "real_ip_header",
    NezhaTooLargeError: "too_large",
}


def connection_failure(err: Exception) -> str | None:
    """The key of a failure in CONNECTION_FAILURES, or None."""
    return next(
        (key for kind, key in CONNECTION_FAILURES.items() if isinstance(err, kind)),
        None,
    )


def error_key(err: Exception) -> str:
    """Map a validation failure to a translated form error."""
    match err:
        case InvalidUrlError():
            return "invalid_url"
        case TokenMismatchError(reason=reason):
            return reason
        case NezhaWafBlockedError():
            return "waf_blocked"
        case NezhaScopeError():
            return "missing_scope"
        case NezhaPatUnsupportedError():
            return "dashboard_too_old"
        case NezhaTokenError():
            return "invalid_token"
        case NezhaAuthError():
            return "invalid_auth"
        case NezhaRedirectError():
            return "redirected"
        case NezhaUnsupportedError():
            return "unsupported_version"
    if (key := connection_failure(err)) is not None:
        return key
    if isinstance(err, NezhaResponseError):
        return "not_nezha"
    LOGGER.exception("Unexpected error while validating the dashboard")
    return "unknown"
