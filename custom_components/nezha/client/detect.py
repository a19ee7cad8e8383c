"""Tell a v0 dashboard from a v1/v2 one with one anonymous, harmless request."""

from dataclasses import dataclass

import aiohttp

from .base import is_real_ip_error, json_object, proxy_header_error, waf_blocked_error
from .models import ApiGeneration
from .transport import DEFAULT_TIMEOUT, Transport

SETTING_PATH = "/api/v1/setting"


@dataclass(frozen=True, slots=True)
class Detection:
    """What the probe learnt about the dashboard."""

    generation: ApiGeneration
    tsdb: bool = False
    """v2.0+ (the ``tsdb_enabled`` key exists); personal tokens need v2.1+."""


async def async_detect_generation(
    session: aiohttp.ClientSession,
    base_url: str,
    *,
    request_timeout: float = DEFAULT_TIMEOUT,
) -> Detection:
    """Probe ``GET /api/v1/setting`` without credentials.

    It never costs a WAF strike: no token is sent. v1 answers JSON with
    ``success``; v0 has no such route and answers its HTML 404 page.
    """
    raw = await Transport(session, base_url, timeout=request_timeout).get(SETTING_PATH)
    if raw.is_waf_block:
        raise waf_blocked_error(SETTING_PATH)
    body = json_object(raw)
    if body.get("success") is True:
        data = body.get("data")
        tsdb = isinstance(data, dict) and "tsdb_enabled" in data
        return Detection(ApiGeneration.V1, tsdb=tsdb)
    if is_real_ip_error(body.get("error")):
        raise proxy_header_error(SETTING_PATH)
    # Anything else (v0's HTML 404, a proxy's page, broken JSON) is settled by the
    # v0 request that follows, which knows how to tell "not Nezha" apart.
    return Detection(ApiGeneration.V0)
