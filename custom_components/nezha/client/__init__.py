"""Async client for Nezha Monitoring dashboards.

Free of Home Assistant imports: it needs only an ``aiohttp.ClientSession``.
"""

from .errors import (
    NezhaAuthError,
    NezhaConnectionError,
    NezhaError,
    NezhaNotFoundError,
    NezhaRedirectError,
    NezhaResponseError,
    NezhaTimeoutError,
    NezhaTLSError,
    NezhaUnsupportedError,
)
from .models import (
    ApiGeneration,
    Fleet,
    Host,
    PingMonitor,
    Server,
    ServerSummary,
    State,
    Temperature,
)
from .v0 import NezhaV0Client

__all__ = [
    "ApiGeneration",
    "Fleet",
    "Host",
    "NezhaAuthError",
    "NezhaConnectionError",
    "NezhaError",
    "NezhaNotFoundError",
    "NezhaRedirectError",
    "NezhaResponseError",
    "NezhaTLSError",
    "NezhaTimeoutError",
    "NezhaUnsupportedError",
    "NezhaV0Client",
    "PingMonitor",
    "Server",
    "ServerSummary",
    "State",
    "Temperature",
]
