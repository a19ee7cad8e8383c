"""Client for the v0 dashboard API (``naiba/nezha`` up to v0-final).

Quirks handled here (see the API notes in the README):
* the token is the raw ``Authorization`` value; ``Bearer`` is rejected;
* an auth failure is HTTP 200 with ``{"code": 403}``;
* nested objects use Go's PascalCase keys and may be ``null``;
* ``last_active`` is ``-62135596800`` for "never reported"; such a server's
  host and status hold Go zero values, so they are returned as unknown;
* ``/monitor/{id}`` answers ``"result": null`` when there is no history.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .base import BaseClient, check_server_error, list_or_empty
from .errors import (
    NezhaAuthError,
    NezhaNotFoundError,
    NezhaResponseError,
    NezhaUnsupportedError,
)
from .fleet import collect_fleet
from .limits import FLEET_BODY_BYTES, LIST_BODY_BYTES, MONITOR_BODY_BYTES
from .models import (
    ApiGeneration,
    Fleet,
    Host,
    PingMonitor,
    Server,
    ServerSummary,
    ServiceOverview,
    State,
)
from .parse import FieldReader, parse_monitors, parse_temperatures

if TYPE_CHECKING:
    from .transport import RawResponse

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
        result = _result_list(_envelope(raw, auth_checked=True), raw.path)
        summaries = []
        for record in result:
            if not isinstance(record, dict):
                continue
            reader = FieldReader(record, "server", [])
            server_id = reader.uint("id")
            if server_id is None:
                continue
            tag = reader.text("tag")
            summaries.append(
                ServerSummary(
                    id=server_id,
                    name=reader.text("name"),
                    tag=tag,
                    groups=(tag,) if tag else (),
                )
            )
        return summaries

    async def async_get_fleet(self, tag: str | None = None) -> Fleet:
        """Return every server with host facts and the latest state, in one request."""
        params = {"tag": tag} if tag else None
        raw = await self._request(DETAILS_PATH, params, FLEET_BODY_BYTES)
        result = _result_list(_envelope(raw, auth_checked=True), raw.path)
        return collect_fleet(result, _parse_server, raw.date, self._problems.report)

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
        body = _envelope(raw, auth_checked=False)
        return parse_monitors(_result_list(body, raw.path), server_id)

    async def async_get_service_overview(self) -> ServiceOverview:
        """Return no services and no quotas: the v0 API has neither (no request)."""
        return ServiceOverview(services=[], quotas={})


def _envelope(raw: RawResponse, *, auth_checked: bool) -> dict[str, Any]:
    """Validate the v0 envelope ``{"code", "message", "result"}``."""
    check_server_error(raw)
    if not raw.is_json:
        kind = "an HTML page" if raw.is_html else f"'{raw.content_type or 'no type'}'"
        raise NezhaResponseError(
            f"{raw.path}: expected JSON, got {kind} (HTTP {raw.status}); "
            "is this the dashboard URL?"
        )
    body = raw.json()
    if not isinstance(body, dict):
        raise NezhaResponseError(f"{raw.path}: JSON is not an object")
    code = body.get("code")
    if isinstance(code, bool) or not isinstance(code, int):
        if "success" in body or "error" in body:
            raise NezhaUnsupportedError(
                f"{raw.path}: this is a newer (v1) Nezha dashboard, not a v0 one"
            )
        raise NezhaResponseError(f"{raw.path}: JSON without a numeric 'code'")
    if code == 403 and auth_checked:
        raise NezhaAuthError(f"{raw.path}: the dashboard rejected the API token")
    if code != 0:
        raise NezhaResponseError(f"{raw.path}: the dashboard answered code {code}")
    return body


def _result_list(body: dict[str, Any], path: str) -> list[Any]:
    return list_or_empty(body.get("result"), path, "result")


def _parse_server(record: Any) -> tuple[Server | None, int | None, list[str]]:
    """Parse one ``/server/details`` element.

    Returns the server (None when the record must be skipped), its id if known,
    and the names of fields with unexpected values.
    """
    if not isinstance(record, dict):
        return None, None, ["record"]
    problems: list[str] = []
    top = FieldReader(record, "server", problems)
    server_id = top.uint("id")
    if server_id is None:
        return None, None, problems or ["server.id"]
    host_data = top.obj("host")
    state_data = top.obj("status")
    if host_data is None or state_data is None:
        return None, server_id, problems
    raw_active = record.get("last_active")
    if type(raw_active) is int and raw_active <= 0:
        # Go's zero time: no report since the dashboard started, so host and
        # status hold Go zero values (0 %, 0 bytes), not measurements.
        host, state = Host(), State()
    else:
        host = _parse_host(FieldReader(host_data, "host", problems))
        state = _parse_state(
            FieldReader(state_data, "status", problems), has_gpu=bool(host.gpu)
        )
    server = Server(
        id=server_id,
        name=top.text("name"),
        tag=top.text("tag"),
        last_active=top.unix_seconds("last_active"),
        ipv4=top.text("ipv4"),
        ipv6=top.text("ipv6"),
        valid_ip=top.text("valid_ip"),
        display_index=top.integer("display_index"),
        host=host,
        state=state,
    )
    return server, server_id, problems


def _parse_host(reader: FieldReader) -> Host:
    return Host(
        platform=reader.text("Platform"),
        platform_version=reader.text("PlatformVersion"),
        cpu=reader.str_tuple("CPU"),
        mem_total=reader.uint("MemTotal"),
        disk_total=reader.uint("DiskTotal"),
        swap_total=reader.uint("SwapTotal"),
        arch=reader.text("Arch"),
        virtualization=reader.text("Virtualization"),
        boot_time=reader.unix_seconds("BootTime"),
        country_code=reader.text("CountryCode"),
        agent_version=reader.text("Version"),
        gpu=reader.str_tuple("GPU"),
    )


def _parse_state(reader: FieldReader, *, has_gpu: bool) -> State:
    gpu = reader.number("GPU")
    return State(
        cpu=reader.number("CPU"),
        mem_used=reader.uint("MemUsed"),
        swap_used=reader.uint("SwapUsed"),
        disk_used=reader.uint("DiskUsed"),
        net_in_transfer=reader.uint("NetInTransfer"),
        net_out_transfer=reader.uint("NetOutTransfer"),
        net_in_speed=reader.uint("NetInSpeed"),
        net_out_speed=reader.uint("NetOutSpeed"),
        uptime=reader.uint("Uptime"),
        load_1=reader.number("Load1"),
        load_5=reader.number("Load5"),
        load_15=reader.number("Load15"),
        tcp_conn_count=reader.uint("TcpConnCount"),
        udp_conn_count=reader.uint("UdpConnCount"),
        process_count=reader.uint("ProcessCount"),
        temperatures=parse_temperatures(reader, "Temperatures"),
        # v0 sends one GPU figure (0 when not reported); it means something only
        # when the host lists a GPU model.
        gpu=(gpu,) if has_gpu and gpu is not None else (),
    )
