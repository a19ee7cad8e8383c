"""Reading what a v0 dashboard (``naiba/nezha`` up to v0-final) sends.

Quirks handled here (see the API notes in the README):
* an auth failure is HTTP 200 with ``{"code": 403}``;
* nested objects use Go's PascalCase keys and may be ``null``;
* ``last_active`` is ``-62135596800`` for "never reported"; such a server's
  host and status hold Go zero values, so they are returned as unknown.
"""

from typing import TYPE_CHECKING, Any

from .base import check_server_error, list_or_empty
from .errors import NezhaAuthError, NezhaResponseError, NezhaUnsupportedError
from .models import Host, Server, ServerSummary, State
from .parse import FieldReader, parse_temperatures

if TYPE_CHECKING:
    from .transport import RawResponse


def check_envelope(raw: RawResponse, *, auth_checked: bool) -> dict[str, Any]:
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


def result_list(body: dict[str, Any], path: str) -> list[Any]:
    """``result`` of a list answer: null when empty, an error when not a list."""
    return list_or_empty(body.get("result"), path, "result")


def parse_summaries(records: list[Any]) -> list[ServerSummary]:
    """Parse ``/server/list``: id, name and tag; records without an id are skipped."""
    summaries = []
    for record in records:
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


def parse_server(record: Any) -> tuple[Server | None, int | None, list[str]]:
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
