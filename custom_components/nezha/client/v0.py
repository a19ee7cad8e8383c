"""Client for the v0 dashboard API (``naiba/nezha`` up to v0-final).

The token is the raw ``Authorization`` value (``Bearer`` is rejected). What
the answers look like is read in ``v0_parse``; ``/monitor/{id}`` answers
``"result": null`` when there is no history.
"""

import logging

from .base import BaseClient
from .errors import NezhaAuthError, NezhaNotFoundError
from .fleet import collect_fleet
from .limits import FLEET_BODY_BYTES, LIST_BODY_BYTES, MONITOR_BODY_BYTES
from .models import ApiGeneration, Fleet, PingMonitor, ServerSummary, ServiceOverview
from .parse import parse_monitors
from .v0_parse import check_envelope, parse_server, parse_summaries, result_list

_LOGGER = logging.getLogger(__name__)

LIST_PATH = "/api/v1/server/list"
DETAILS_PATH = "/api/v1/server/details"
MONITOR_PATH = "/api/v1/monitor/{server_id}"


class NezhaV0Client(BaseClient):
    """Reads servers and ping history from a v0 dashboard."""

    generation = ApiGeneration.V0
    auth_scheme = ""  # the raw token; "Bearer" is rejected
    logger = _LOGGER

    async def async_list_servers(self, tag: str | None = None) -> list[ServerSummary]:
        """Return the light server list; the cheapest authenticated call."""
        params = {"tag": tag} if tag else None
        raw = await self._request(LIST_PATH, params, LIST_BODY_BYTES)
        result = result_list(check_envelope(raw, auth_checked=True), raw.path)
        return parse_summaries(result)

    async def async_get_fleet(self, tag: str | None = None) -> Fleet:
        """Return every server with host facts and the latest state, in one request."""
        params = {"tag": tag} if tag else None
        raw = await self._request(DETAILS_PATH, params, FLEET_BODY_BYTES)
        result = result_list(check_envelope(raw, auth_checked=True), raw.path)
        return collect_fleet(result, parse_server, raw.date, self._problems.report)

    async def async_get_ping_monitors(self, server_id: int) -> list[PingMonitor]:
        """Return the ICMP/TCP ping monitors of one server with their newest point."""
        path = MONITOR_PATH.format(server_id=server_id)
        raw = await self._request(path, None, MONITOR_BODY_BYTES)
        # Only the dashboard's own JSON answers mean "unknown" or "hidden server";
        # an HTML 404/403 comes from a wrong URL, a proxy or a WAF.
        if raw.is_json and raw.status == 404:
            raise NezhaNotFoundError(f"{raw.path}: unknown server")
        if raw.is_json and raw.status in (401, 403):
            raise NezhaAuthError(f"{raw.path}: access denied (HTTP {raw.status})")
        body = check_envelope(raw, auth_checked=False)
        return parse_monitors(result_list(body, raw.path), server_id)

    async def async_get_service_overview(self) -> ServiceOverview:
        """Return no services and no quotas: the v0 API has neither (no request)."""
        return ServiceOverview(services=[], quotas={})
