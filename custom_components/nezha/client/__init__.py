"""Async client for Nezha Monitoring dashboards.

Free of Home Assistant imports: it needs only an ``aiohttp.ClientSession``.
"""

from .api import NezhaClient
from .detect import Detection, async_detect_generation
from .errors import (
    NezhaAuthError,
    NezhaConnectionError,
    NezhaError,
    NezhaNotFoundError,
    NezhaPatUnsupportedError,
    NezhaProxyHeaderError,
    NezhaRedirectError,
    NezhaRefusedError,
    NezhaResponseError,
    NezhaScopeError,
    NezhaTimeoutError,
    NezhaTLSError,
    NezhaTokenError,
    NezhaTooLargeError,
    NezhaUnsupportedError,
    NezhaWafBlockedError,
)
from .models import (
    ApiGeneration,
    Fleet,
    Host,
    PingMonitor,
    Server,
    ServerSummary,
    ServiceOverview,
    ServiceStatus,
    State,
    Temperature,
    TransferQuota,
)
from .notes import Billing, Plan, PublicNote, next_expiry, parse_public_note
from .v0 import NezhaV0Client
from .v1 import NezhaV1Client, looks_like_personal_token

__all__ = [
    "ApiGeneration",
    "Billing",
    "Detection",
    "Fleet",
    "Host",
    "NezhaAuthError",
    "NezhaClient",
    "NezhaConnectionError",
    "NezhaError",
    "NezhaNotFoundError",
    "NezhaPatUnsupportedError",
    "NezhaProxyHeaderError",
    "NezhaRedirectError",
    "NezhaRefusedError",
    "NezhaResponseError",
    "NezhaScopeError",
    "NezhaTLSError",
    "NezhaTimeoutError",
    "NezhaTokenError",
    "NezhaTooLargeError",
    "NezhaUnsupportedError",
    "NezhaV0Client",
    "NezhaV1Client",
    "NezhaWafBlockedError",
    "PingMonitor",
    "Plan",
    "PublicNote",
    "Server",
    "ServerSummary",
    "ServiceOverview",
    "ServiceStatus",
    "State",
    "Temperature",
    "TransferQuota",
    "async_detect_generation",
    "looks_like_personal_token",
    "next_expiry",
    "parse_public_note",
]
