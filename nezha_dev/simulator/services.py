"""``GET /api/v1/service``: daily service statistics derived from the fleet.

Spec: ``nezha-api.md`` B.7. Every agent that runs a monitor reports one result per
30 s (the default interval) while it is connected. The dashboard keeps 30 daily
buckets, index 29 = today since the dashboard's local midnight (+08:00, not UTC),
plus a rolling buffer of at most 30 recent results (``current_up/down``) that
resets when full. Values are pure functions of (seed, monitor, server, day), so a
frozen clock gives identical answers and past days do not change as time passes.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
import math
from typing import Any, Final

from .encoding import DASHBOARD_TZ, NANOS, go_time
from .fleet import Fleet, SimServer
from .metrics import CH_SERVICE_DELAY, CH_SERVICE_LOSS, CH_SERVICE_SAMPLE, DAY, unit
from .v1_render import Viewer

SAMPLE_SECONDS: Final = 30
DAYS: Final = 30
GIB: Final = 1024**3
TIB: Final = 1024**4
UTC_OFFSET: Final = 8 * 3600
# The first cycle-transfer alert rule: 1 TiB a month over the "Production" servers.
CYCLE_RULE_ID: Final = 1
CYCLE_RULE_NAME: Final = "Monthly 1 TiB"
CYCLE_RULE_TAG: Final = "Production"


@dataclass(frozen=True, slots=True)
class CycleRule:
    """An enabled alert rule with a ``transfer_*_cycle`` rule (``model/rule.go``)."""

    id: int
    name: str
    directions: tuple[str, ...]  # "in", "out": transfer_in/out/all_cycle
    max: int  # bytes; 0 when the rule sets no maximum
    weekly: bool  # cycle_unit "week" from a Monday; else "month" from the 1st
    covers: Callable[[SimServer], bool]


CYCLE_RULES: Final = (
    CycleRule(
        CYCLE_RULE_ID,
        CYCLE_RULE_NAME,
        ("in", "out"),
        TIB,
        weekly=False,
        covers=lambda s: s.tag == CYCLE_RULE_TAG,
    ),
    # No maximum (only counts), and a second rule for fra-db-02.
    CycleRule(
        2,
        "Weekly egress",
        ("out",),
        0,
        weekly=True,
        covers=lambda s: s.tag == "Lab" or s.name == "fra-db-02",
    ),
    # Covers no server (cover "ignore all" with no exception).
    CycleRule(3, "Spare quota", ("in", "out"), 500 * GIB, False, lambda _: False),
)

Window = tuple[float, float]


def local_midnight(now: float) -> int:
    """Unix second of the dashboard's (UTC+8) midnight starting today."""
    return math.floor((now + UTC_OFFSET) / DAY) * DAY - UTC_OFFSET


def _connected(server: SimServer, start: float, end: float) -> list[Window]:
    """Parts of ``[start, end)`` during which the server's agent was connected."""
    low = max(start, server.history_since)
    segments: list[Window] = [(low, end)] if low < end else []
    for gone, back in server.offline_windows:
        kept: list[Window] = []
        for seg_start, seg_end in segments:
            if back <= seg_start or gone >= seg_end:
                kept.append((seg_start, seg_end))
                continue
            if seg_start < gone:
                kept.append((seg_start, gone))
            if back < seg_end:
                kept.append((back, seg_end))
        segments = kept
    return segments


def _slots(start: float, end: float) -> int:
    """Result instants (multiples of 30 s) in ``[start, end)``."""
    if end <= start:
        return 0
    return math.ceil(end / SAMPLE_SECONDS) - math.ceil(start / SAMPLE_SECONDS)


def _day(
    fleet: Fleet, mid: int, start: float, end: float, failing: list[Window]
) -> tuple[float, int, int]:
    """(mean delay, up, down) of monitor ``mid`` over ``[start, end)``."""
    day_number = math.floor(start / DAY)
    seed = fleet.seed
    weighted = 0.0
    up = down = 0
    for server in fleet.servers.values():
        prof = server.ping.get(mid)
        if prof is None:
            continue
        segments = _connected(server, start, end)
        total = sum(_slots(a, b) for a, b in segments)
        forced = sum(
            _slots(max(a, f_start), min(b, f_end))
            for a, b in segments
            for f_start, f_end in failing
        )
        normal = total - forced
        lost = round(
            normal
            * prof.loss
            * 2
            * unit(seed, server.id, mid, CH_SERVICE_LOSS, day_number)
        )
        noise = 2 * unit(seed, server.id, mid, CH_SERVICE_DELAY, day_number) - 1
        weighted += prof.base * (1 + 0.04 * noise) * (normal - lost)
        up += normal - lost
        down += lost + forced
    return (weighted / up if up else 0.0), up, down


def _current(
    fleet: Fleet, mid: int, now: float, failing: Iterable[Window]
) -> tuple[int, int]:
    """(current_up, current_down) from the rolling buffer of recent results."""
    profiles = [s.ping[mid] for s in fleet.servers.values() if mid in s.ping]
    if not profiles:
        return 0, 0
    slot = math.floor(now / SAMPLE_SECONDS)
    size = slot % 30 + 1  # the buffer empties every 30 results
    if any(f_start <= now < f_end for f_start, f_end in failing):
        return 0, size
    loss = sum(p.loss for p in profiles) / len(profiles)
    lost = sum(
        unit(fleet.seed, mid, CH_SERVICE_SAMPLE, slot - back) < loss
        for back in range(size)
    )
    return size - lost, lost


def services_json(
    fleet: Fleet, now: float, failing: dict[int, list[Window]]
) -> dict[str, Any]:
    """The ``services`` map (string keys, sorted as strings like Go does)."""
    today = local_midnight(now)
    result: dict[str, Any] = {}
    for mid in sorted(fleet.monitors, key=str):
        windows = failing.get(mid, [])
        delay, up, down = [0.0] * DAYS, [0] * DAYS, [0] * DAYS
        for index in range(DAYS):
            start = today - (DAYS - 1 - index) * DAY
            # Today ends now; the tiny margin counts a result taken this instant.
            end = start + DAY if index < DAYS - 1 else now + 1e-6
            delay[index], up[index], down[index] = _day(fleet, mid, start, end, windows)
        current_up, current_down = _current(fleet, mid, now, windows)
        result[str(mid)] = {
            "service_name": fleet.monitors[mid].name,
            "current_up": current_up,
            "current_down": current_down,
            "total_up": sum(up),
            "total_down": sum(down),
            "delay": delay,
            "up": up,
            "down": down,
        }
    return result


def _month(now: float) -> tuple[int, int]:
    """Unix seconds of this and the next local month's first midnight."""
    local = datetime.fromtimestamp(now, DASHBOARD_TZ)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (first + timedelta(days=32)).replace(day=1)
    return int(first.timestamp()), int(following.timestamp())


def _week(now: float) -> tuple[int, int]:
    """Unix seconds of this and the next local Monday's midnight."""
    today = local_midnight(now)
    weekday = datetime.fromtimestamp(today, DASHBOARD_TZ).weekday()
    start = today - weekday * DAY
    return start, start + 7 * DAY


def _used(fleet: Fleet, sid: int, rule: CycleRule, start: int) -> int | None:
    """Bytes moved since the cycle started; None before the rule checked it."""
    state = fleet.status(sid)
    if state is None:
        return None  # Snapshot returns early for a server without state
    base = fleet.status_at(sid, max(start, fleet.servers[sid].host.boot_time))
    used = 0
    if "in" in rule.directions:
        used += state.net_in_transfer - base.net_in_transfer
    if "out" in rule.directions:
        used += state.net_out_transfer - base.net_out_transfer
    return max(0, used)


def _rule_json(
    fleet: Fleet, viewer: Viewer, now: float, rule: CycleRule
) -> dict[str, Any]:
    start, end = _week(now) if rule.weekly else _month(now)
    names: dict[str, str] = {}
    transfer: dict[str, int] = {}
    next_update: dict[str, str] = {}
    for sid, server in sorted(fleet.servers.items(), key=lambda i: str(i[0])):
        if not rule.covers(server) or not viewer.sees(server):
            continue
        used = _used(fleet, sid, rule, start)
        if used is None:
            continue
        # The three maps are written together when the rule checks a server.
        names[str(sid)] = server.name
        transfer[str(sid)] = used
        # Checked once a minute, a little after the minute starts.
        next_update[str(sid)] = go_time(
            (math.floor(now / 60) + 1) * 60 * NANOS + 123_000_000
        )
    return {
        "name": rule.name,
        "from": go_time(start * NANOS),
        "to": go_time(end * NANOS),
        "max": rule.max,
        "min": 0,
    } | {  # omitempty: an empty map is left out
        key: value
        for key, value in (
            ("server_name", names),
            ("transfer", transfer),
            ("next_update", next_update),
        )
        if value
    }


def cycle_transfer_json(
    fleet: Fleet,
    viewer: Viewer,
    now: float,
    *,
    rules: Iterable[CycleRule] = CYCLE_RULES,
    filtered: bool = True,
) -> dict[str, Any]:
    """``cycle_transfer_stats``, keyed by alert rule id.

    From v2.1 the dashboard drops the servers the viewer may not see and then
    every rule left without one (``filterCycleTransferStatsForViewer``);
    ``filtered=False`` is the older answer, which lists every rule.
    """
    result: dict[str, Any] = {}
    for rule in sorted(rules, key=lambda r: str(r.id)):
        item = _rule_json(fleet, viewer, now, rule)
        if filtered and "server_name" not in item:
            continue
        result[str(rule.id)] = item
    return result


def servers_with_services(fleet: Fleet, viewer: Viewer) -> list[int]:
    """``listServerWithServices``: servers some existing monitor covers."""
    return [
        sid
        for sid, server in fleet.servers.items()
        if any(mid in fleet.monitors for mid in server.ping) and viewer.sees(server)
    ]
