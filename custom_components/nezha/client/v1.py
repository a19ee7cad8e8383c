"""Client for the v1/v2 dashboard API (``nezhahq/nezha`` >= 1.0).

Personal API tokens ``nzp_…`` go in ``Authorization: Bearer``. What the answers
look like is read in ``v1_parse``; the WebSocket handshake is in ``v1_ws``.

Every authentication failure costs the user's IP a WAF strike, so callers must
never retry one on their own.
"""

from dataclasses import replace
import logging
import re
from typing import TYPE_CHECKING, Any

from .base import BaseClient, json_object, list_or_empty
from .cron import CRON_PATH, CRON_TRIGGER_PATH, PROBE_CRON_ID, CronTask, parse_cron
from .errors import (
    NezhaProxyHeaderError,
    NezhaRefusedError,
    NezhaResponseError,
    NezhaScopeError,
)
from .limits import (
    FLEET_BODY_BYTES,
    MAX_RECORDS,
    MONITOR_BODY_BYTES,
    SERVICES_BODY_BYTES,
    SMALL_BODY_BYTES,
)
from .models import (
    ApiGeneration,
    Fleet,
    PingMonitor,
    Server,
    ServerSummary,
    ServiceOverview,
    ServiceStatus,
)
from .parse import clean_text, parse_monitors
from .transport import DEFAULT_TIMEOUT
from .v1_parse import (
    StreamFrame,
    check_envelope,
    frame_records,
    parse_servers,
    parse_service_overview,
    record_id,
)
from .v1_ws import WS_PATH, open_stream, refuse_redirects

if TYPE_CHECKING:
    from datetime import datetime

    import aiohttp

    from .transport import RawResponse

# StreamFrame, check_envelope and refuse_redirects live in v1_parse and v1_ws;
# they stay importable from here, where the integration and tests look for them.
__all__ = [
    "GROUPS_PATH",
    "REQUIRED_SCOPES",
    "SERVERS_PATH",
    "SERVER_SERVICE_PATH",
    "SERVICES_PATH",
    "WS_PATH",
    "NezhaV1Client",
    "StreamFrame",
    "check_envelope",
    "looks_like_personal_token",
    "refuse_redirects",
]

_LOGGER = logging.getLogger(__name__)

SERVERS_PATH = "/api/v1/server"
GROUPS_PATH = "/api/v1/server-group"
SERVICES_PATH = "/api/v1/service"
# Per-server monitor history (v2.0+; personal tokens need v2.1+ anyway).
SERVER_SERVICE_PATH = "/api/v1/server/{server_id}/service"

TOKEN_PATTERN = re.compile(r"nzp_[0-9A-Za-z]{32}")
REQUIRED_SCOPES = ("nezha:inventory:read", "nezha:service:read", "nezha:server:read")


def looks_like_personal_token(token: str) -> bool:
    """Return True for the ``nzp_`` + 32 alphanumerics format of v2.1+ tokens."""
    return TOKEN_PATTERN.fullmatch(token) is not None


class NezhaV1Client(BaseClient):
    """Reads a v1/v2 dashboard with a personal API token."""

    generation = ApiGeneration.V1
    auth_scheme = "Bearer "
    logger = _LOGGER

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        stream_session: aiohttp.ClientSession | None = None,
    ) -> None:
        """Create a client; ``base_url`` must already be normalised.

        ``stream_session`` opens the WebSocket; it should carry
        :func:`refuse_redirects` (REST requests never follow a redirect anyway).
        """
        super().__init__(session, base_url, token, timeout=timeout)
        self._stream_session = stream_session or session
        self.inventory: dict[int, Server] = {}
        """The servers of the last REST answer (of the group asked for), tagged
        with their first group."""
        self.groups: dict[str, frozenset[int]] = {}
        """Group name → member ids, as of the last inventory."""
        self._listed: frozenset[int] | None = None
        self._left_out = 0

    async def _get(
        self,
        path: str,
        params: dict[str, str] | None = None,
        max_bytes: int = SMALL_BODY_BYTES,
    ) -> tuple[Any, datetime]:
        raw = await self._request(path, params, max_bytes)
        return check_envelope(raw), raw.date

    async def async_get_groups(self) -> dict[str, frozenset[int]]:
        """Return group name → member server ids.

        Groups are many-to-many and their names need not be unique (both seen on
        a real v2.3.7): groups of the same name are one group here, as the
        group option selects by name.
        """
        data, _ = await self._get(GROUPS_PATH)
        groups: dict[str, frozenset[int]] = {}
        for item in list_or_empty(data, GROUPS_PATH, "data"):
            if not isinstance(item, dict):
                continue
            group = item.get("group")
            name = group.get("name") if isinstance(group, dict) else None
            members = item.get("servers") or []  # null for a group without servers
            if isinstance(name, str) and name and isinstance(members, list):
                ids = frozenset(m for m in members if type(m) is int)
                name = clean_text(name)
                groups[name] = groups.get(name, frozenset()) | ids
        return groups

    async def async_list_servers(self, tag: str | None = None) -> list[ServerSummary]:
        """Return id, name and group of every server the token may see."""
        fleet = await self.async_get_fleet(tag)
        return [
            ServerSummary(
                id=server.id,
                name=server.name,
                tag=server.tag,
                groups=tuple(
                    name
                    for name, ids in sorted(self.groups.items())
                    if server.id in ids
                ),
            )
            for server in fleet.servers.values()
        ]

    async def async_get_fleet(self, tag: str | None = None) -> Fleet:
        """Return the inventory with the latest state (two requests).

        Servers have no tag in v1; the first of a server's groups from
        ``/server-group`` stands in for it. The group filter keeps every member
        of the chosen group, whatever other groups they are in, and is applied
        before the records are read: only the group counts against
        ``MAX_SERVERS`` and costs parsing.
        """
        data, date = await self._get(SERVERS_PATH, max_bytes=FLEET_BODY_BYTES)
        groups = await self.async_get_groups()
        if data is not None and not isinstance(data, list):
            raise NezhaResponseError("servers: not a list")
        records = data or []
        unread = max(0, len(records) - MAX_RECORDS)
        records = records[:MAX_RECORDS]
        ids = [record_id(record) for record in records]
        self._listed = frozenset(sid for sid in ids if sid is not None)
        membership: dict[int, str] = {}
        for name, members in sorted(groups.items()):
            for sid in members:
                membership.setdefault(sid, name)
        self.groups = groups
        if tag is not None:
            # A record without a readable id stays: it makes the answer incomplete.
            members = groups.get(tag, frozenset())
            records = [
                r
                for r, sid in zip(records, ids, strict=True)
                if sid is None or sid in members
            ]
        fleet = parse_servers(
            records, date, previous=self.inventory, report=self._problems.report
        )
        if unread:
            fleet = replace(fleet, left_out=fleet.left_out + unread, complete=False)
        self.inventory = {
            sid: _with_tag(server, membership.get(sid, ""))
            for sid, server in fleet.servers.items()
        }
        self._left_out = fleet.left_out
        return _only_group(replace(fleet, servers=self.inventory), self.groups, tag)

    async def async_get_ping_monitors(self, server_id: int) -> list[PingMonitor]:
        """Return the latency monitors run by one server."""
        path = SERVER_SERVICE_PATH.format(server_id=server_id)
        data, _ = await self._get(path, {"period": "1d"}, MONITOR_BODY_BYTES)
        return parse_monitors(list_or_empty(data, path, "data"), server_id)

    async def async_get_services(self) -> list[ServiceStatus]:
        """Return each service's current status and today's availability."""
        return (await self.async_get_service_overview()).services

    async def async_get_service_overview(self) -> ServiceOverview:
        """Return the service monitors and the traffic quotas (one request)."""
        data, _ = await self._get(SERVICES_PATH, max_bytes=SERVICES_BODY_BYTES)
        return parse_service_overview(data)

    async def async_connect_stream(self) -> aiohttp.ClientWebSocketResponse:
        """Open the server-state WebSocket (see :func:`v1_ws.open_stream`)."""
        self._check_token(WS_PATH)
        return await open_stream(
            self._stream_session,
            self.base_url,
            self._headers,
            self._timeout,
            FLEET_BODY_BYTES,
        )

    def parse_frame(self, text: str | bytes, tag: str | None = None) -> StreamFrame:
        """Parse a stream frame against the inventory of the last REST answer.

        Frames carry no addresses and may show servers the inventory does not
        (a member's token streams every visible server but lists only its own);
        those are reported as ``unknown_ids`` and left out. Only the records of
        inventory servers are read (those of the group, when one is chosen);
        the others are told apart by their ids alone.
        """
        records, now = frame_records(text)
        unread = len(records) > MAX_RECORDS
        records = records[:MAX_RECORDS]
        ids = [record_id(record) for record in records]
        wanted = [
            record
            for record, sid in zip(records, ids, strict=True)
            if sid is None or sid in self.inventory
        ]
        fleet = parse_servers(
            wanted, now, previous=self.inventory, report=self._problems.report
        )
        for sid, server in fleet.servers.items():
            # A first frame may bring a note newer than the inventory's; later
            # frames carry none and would fall back to the older one.
            known = self.inventory.get(sid)
            if known is not None and server.public_note is not known.public_note:
                self.inventory[sid] = replace(known, public_note=server.public_note)
        present = frozenset(sid for sid in ids if sid is not None)
        listed = frozenset(self.inventory) if self._listed is None else self._listed
        return StreamFrame(
            fleet=_only_group(
                replace(fleet, left_out=self._left_out), self.groups, tag
            ),
            unknown_ids=present - listed,
            # Of a frame not read to its end nothing can be called missing.
            missing_ids=frozenset() if unread else frozenset(self.inventory) - present,
        )

    async def async_get_crons(self) -> list[CronTask]:
        """Return the scheduled and trigger tasks (scope ``nezha:cron:read``)."""
        data, _ = await self._get(CRON_PATH)
        records = list_or_empty(data, CRON_PATH, "data")
        parsed = (parse_cron(record) for record in records)
        tasks = {task.id: task for task in parsed if task is not None}
        return sorted(tasks.values(), key=lambda task: task.id)

    async def async_trigger_cron(self, cron_id: int) -> None:
        """Run a task once now (scope ``nezha:cron:exec``); never retried.

        A refusal with the dashboard's reason raises :class:`NezhaRefusedError`.
        """
        path = CRON_TRIGGER_PATH.format(cron_id=cron_id)
        raw = await self._request(path, method="POST")
        try:
            check_envelope(raw)
        except NezhaProxyHeaderError:
            raise
        except NezhaResponseError as err:
            reason = _error_text(raw)
            if reason is None:
                raise
            raise NezhaRefusedError(
                f"{path}: the dashboard refused to run the task", reason
            ) from err

    async def async_can_trigger_crons(self) -> bool:
        """Whether the token has ``nezha:cron:exec``, without running anything.

        Task 0 never exists: with the scope the dashboard answers "task id 0 does
        not exist", without it HTTP 403 (no WAF strike either way).
        """
        try:
            await self.async_trigger_cron(PROBE_CRON_ID)
        except NezhaScopeError:
            return False
        except NezhaRefusedError:
            return True
        return True


def _only_group(
    fleet: Fleet, groups: dict[str, frozenset[int]], tag: str | None
) -> Fleet:
    if tag is None:
        return fleet
    members = groups.get(tag, frozenset())
    return replace(
        fleet, servers={sid: s for sid, s in fleet.servers.items() if sid in members}
    )


def _with_tag(server: Server, tag: str) -> Server:
    return replace(server, tag=tag)


def _error_text(raw: RawResponse) -> str | None:
    """The ``error`` text of a JSON answer (HTTP 200), shortened; None otherwise."""
    if raw.status != 200:
        return None
    error = json_object(raw).get("error")
    if not isinstance(error, str) or not error.strip():
        return None
    return error.strip()[:200]
