"""Compare the simulator with a recording: same status, content type, error, shape.

:func:`compare` sets the simulator up like the recorded dashboard (:mod:`.mirror`),
replays every recorded request in the recorded order (the WAF counts) and lists
every difference; ``tests/conformance/test_shape.py`` requires none.
"""

from collections import defaultdict
from dataclasses import dataclass, field
import re

import aiohttp

from .mirror import Mirror, mirror
from .recording import Exchange, Recording, StreamRecording
from .shape import Shape, differences, merge, shape

# Keys Go leaves out when the value is zero or empty (``omitempty``): whether
# they appear depends on the recorded machine and fleet (no GPU, no swap, no
# IPv6, no GeoIP database, idle network), not on the dashboard's code.
OMITTED_OK = frozenset(
    f"{root}.{key}"
    for root in ("$.data[]", "$[].servers[]")
    for key in (
        "hide_for_guest",
        "note",
        "host.virtualization",
        "host.gpu",
        "host.swap_total",
        "state.gpu",
        "state.temperatures",
        "state.swap_used",
        "state.net_in_speed",
        "state.net_out_speed",
        "state.udp_conn_count",
        "state.load_1",
        "state.load_5",
        "state.load_15",
        "geoip.country_code",
        "geoip.ip.ipv4_addr",
        "geoip.ip.ipv6_addr",
        "country_code",
        "display_index",
        "public_note",
        "owner.username",
    )
) | {
    # Lists and maps the recorded dashboard had none of (no groups, no monitors,
    # no traffic rules): v1 leaves an empty ``data`` list out, and these maps.
    "$.data",
    "$.data.services",
    "$.data.cycle_transfer_stats",
}


def _endpoint(path: str, role: str) -> str:
    """The endpoint and role an answer belongs to (server ids folded)."""
    return re.sub(r"/[0-9]+(?=/|$)", "/{id}", path) + " as " + role


def _error_text(body: object, generation: str) -> object:
    """The error a JSON answer carries, or None for a success."""
    if not isinstance(body, dict):
        return None
    if generation == "v1":
        return body.get("error")
    code = body.get("code")
    return (code, body.get("message")) if code not in (0, None) else None


@dataclass(slots=True)
class Comparison:
    """Shapes per endpoint, from both sides, and the per-answer problems."""

    real: dict[str, list[Shape]] = field(default_factory=lambda: defaultdict(list))
    simulated: dict[str, list[Shape]] = field(default_factory=lambda: defaultdict(list))
    problems: list[str] = field(default_factory=list)

    def shape_problems(self) -> list[str]:
        """Differences of the merged shapes, endpoint by endpoint."""
        out = []
        for endpoint, shapes in sorted(self.real.items()):
            out.extend(
                f"{endpoint}: {d}"
                for d in differences(
                    merge(shapes),
                    merge(self.simulated[endpoint]),
                    omitted_ok=OMITTED_OK,
                )
            )
        return out


async def _compare(
    m: Mirror, session: aiohttp.ClientSession, exchange: Exchange, out: Comparison
) -> None:
    answer = await m.ask(session, exchange)
    where = f"{exchange.path} as {exchange.auth}"
    if answer.status != exchange.status:
        out.problems.append(f"{where}: HTTP {answer.status}, real {exchange.status}")
    if answer.content_type != exchange.content_type:
        out.problems.append(
            f"{where}: {answer.content_type!r}, real {exchange.content_type!r}"
        )
    if answer.is_json != exchange.is_json:
        out.problems.append(f"{where}: JSON {answer.is_json}, real {exchange.is_json}")
        return
    if not exchange.is_json:
        return
    generation = m.recording.generation
    real_error = _error_text(exchange.body, generation)
    sim_error = _error_text(answer.body, generation)
    if real_error != sim_error:
        out.problems.append(f"{where}: error {sim_error!r}, real {real_error!r}")
    endpoint = _endpoint(exchange.path, exchange.auth)
    out.real[endpoint].append(shape(exchange.body))
    out.simulated[endpoint].append(shape(answer.body))


async def _compare_stream(
    m: Mirror,
    session: aiohttp.ClientSession,
    name: str,
    stream: StreamRecording,
    out: Comparison,
) -> None:
    status, frames = await m.frames(session, stream)
    if status != stream.status:
        out.problems.append(f"{name}: handshake {status}, real {stream.status}")
    elif stream.frames:
        out.real[name].append(shape(stream.frames))
        out.simulated[name].append(frames)


async def compare(recording: Recording) -> list[str]:
    """Every difference between the simulator and one recording."""
    out = Comparison()
    async with mirror(recording) as m, aiohttp.ClientSession() as session:
        for name in recording.meta["order"]:
            if name in recording.streams:
                await _compare_stream(m, session, name, recording.streams[name], out)
            else:
                await _compare(m, session, recording.exchanges[name], out)
    return out.problems + out.shape_problems()
