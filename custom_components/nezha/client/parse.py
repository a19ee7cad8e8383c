"""Lenient readers for untrusted JSON values, and the parsers both generations share.

Each reader returns None for a value of the wrong type or range and notes the
field in ``problems`` so the caller can log it once. Nothing here raises.
"""

from datetime import UTC, datetime
import math
import re
from typing import Any

from .limits import MAX_POINTS_PER_MONITOR
from .models import PingMonitor, Temperature

UINT64_MAX = 2**64 - 1
# Names and other text from the dashboard become device and entity names and
# appear in logs: longer ones are cut (with "…").
MAX_TEXT_LENGTH = 100
# Control characters (C0, DEL, C1), bidi controls (U+202E shows "exe.png" as
# "gnp.exe") and the line/paragraph separators; the line breaking ones become
# a space, the rest is dropped.
UNSAFE_TEXT = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]"
)
_BREAKS = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029")


def _replace_unsafe(match: re.Match[str]) -> str:
    return " " if match.group(0) in _BREAKS else ""


def clean_text(value: str, limit: int = MAX_TEXT_LENGTH) -> str:
    """Return ``value`` without control or bidi characters, at most ``limit`` long."""
    if len(value) <= limit and UNSAFE_TEXT.search(value) is None:
        return value  # the common case, unchanged
    text = UNSAFE_TEXT.sub(_replace_unsafe, value).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class FieldReader:
    """Reads typed fields out of one JSON object, collecting what was wrong."""

    def __init__(self, data: dict[str, Any], where: str, problems: list[str]) -> None:
        """Wrap ``data``; ``where`` prefixes problem names (e.g. ``status``)."""
        self._data = data
        self._where = where
        self.problems = problems

    def _bad(self, key: str) -> None:
        self.problems.append(f"{self._where}.{key}")

    def uint(self, key: str, *, missing_is_zero: bool = False) -> int | None:
        """Read an unsigned 64-bit integer."""
        value = self._data.get(key)
        if type(value) is int and 0 <= value <= UINT64_MAX:
            return value  # the common case, without the checks below
        if value is None:
            if key in self._data:
                self._bad(key)
            return 0 if missing_is_zero else None
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= UINT64_MAX
        ):
            self._bad(key)
            return None
        return value

    def integer(self, key: str, default: int = 0) -> int:
        """Read a signed integer, falling back to ``default``."""
        value = self._data.get(key, default)
        if type(value) is int and -UINT64_MAX <= value <= UINT64_MAX:
            return value  # the common case, without the checks below
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or abs(value) > UINT64_MAX
        ):
            self._bad(key)
            return default
        return value

    def number(self, key: str, *, missing_is_zero: bool = False) -> float | None:
        """Read a finite number."""
        value = self._data.get(key)
        if type(value) is float and math.isfinite(value):
            return value  # the common case, without the checks below
        if value is None:
            if key in self._data:
                self._bad(key)
            return 0.0 if missing_is_zero else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self._bad(key)
            return None
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self._bad(key)
            return None
        return number

    def text(self, key: str) -> str:
        """Read a string (cleaned, see :func:`clean_text`); others become ``""``."""
        value = self._data.get(key, "")
        if isinstance(value, str):
            return clean_text(value)
        if value is not None:
            self._bad(key)
        return ""

    def flag(self, key: str) -> bool:
        """Read a boolean; anything else is False."""
        value = self._data.get(key, False)
        if not isinstance(value, bool):
            self._bad(key)
            return False
        return value

    def str_tuple(self, key: str) -> tuple[str, ...]:
        """Read a list of strings; ``null`` is empty, bad items are dropped."""
        value = self._data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self._bad(key)
            return ()
        items = tuple(clean_text(item) for item in value if isinstance(item, str))
        if len(items) != len(value):
            self._bad(key)
        return items

    def obj(self, key: str) -> dict[str, Any] | None:
        """Read a nested object; ``null`` or absent is an empty object, other types None."""
        value = self._data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self._bad(key)
            return None
        return value

    def raw_list(self, key: str) -> list[Any]:
        """Read a list as is; ``null`` or absent is empty, other types are noted."""
        value = self._data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self._bad(key)
            return []
        return value

    def obj_list(self, key: str) -> list[dict[str, Any]]:
        """Read a list of objects; ``null`` is empty, other items are dropped."""
        value = self._data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self._bad(key)
            return []
        items = [item for item in value if isinstance(item, dict)]
        if len(items) != len(value):
            self._bad(key)
        return items

    def unix_seconds(self, key: str) -> datetime | None:
        """Read Unix seconds; zero, negative (Go's zero time) or absurd values are None."""
        value = self.integer(key, 0)
        if value <= 0:
            return None
        try:
            return datetime.fromtimestamp(value, UTC)
        except OverflowError, OSError, ValueError:
            self._bad(key)
            return None


def unix_millis(value: Any) -> datetime | None:
    """Convert milliseconds since the epoch, or None for anything unusable."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        if not math.isfinite(value) or value <= 0:
            return None
        return datetime.fromtimestamp(value / 1000, UTC)
    except OverflowError, OSError, ValueError:
        return None


def finite_float(value: Any) -> float | None:
    """Return ``value`` as a finite float, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def parse_temperatures(reader: FieldReader, key: str) -> tuple[Temperature, ...]:
    """Read ``[{"Name", "Temperature"}]``; both generations use these keys."""
    raw = reader.obj_list(key)
    seen: dict[str, Temperature] = {}
    for item in raw:
        name = item.get("Name")
        celsius = finite_float(item.get("Temperature"))
        if isinstance(name, str):
            name = clean_text(name)
        if isinstance(name, str) and name and celsius is not None:
            seen.setdefault(name, Temperature(name=name, celsius=celsius))
    return tuple(seen.values())


def parse_monitor(record: Any, server_id: int) -> PingMonitor | None:
    """Parse a ping history entry; v1's ServiceInfos uses the same keys."""
    if not isinstance(record, dict):
        return None
    reader = FieldReader(record, "monitor", [])
    monitor_id = reader.uint("monitor_id")
    if monitor_id is None:
        return None
    stamps = record.get("created_at")
    delays = record.get("avg_delay")
    if not isinstance(stamps, list):
        stamps = []
    if not isinstance(delays, list):
        delays = []
    # Pairs go by position; only the newest points are read (a day is 1,440).
    count = min(len(stamps), len(delays))
    first = max(0, count - MAX_POINTS_PER_MONITOR)
    stamps, delays = stamps[first:count], delays[first:count]
    points = [
        (when, delay)
        for when, delay in zip(
            (unix_millis(s) for s in stamps),
            (finite_float(d) for d in delays),
            strict=False,
        )
        if when is not None and delay is not None
    ]
    latest_at = None
    latest_delay = None
    if points:
        # Arrays are chronological, but several points can share a minute; the
        # newest is the last of the latest timestamp.
        latest_at = max(when for when, _ in points)
        latest = [delay for when, delay in points if when == latest_at][-1]
        latest_delay = latest if latest > 0 else None
    return PingMonitor(
        monitor_id=monitor_id,
        server_id=server_id,
        name=reader.text("monitor_name") or f"Monitor {monitor_id}",
        latest_at=latest_at,
        latest_delay=latest_delay,
        points=len(points),
        lost=sum(1 for _, delay in points if delay <= 0),
        average_delay=_average([delay for _, delay in points if delay > 0]),
    )


def parse_monitors(records: list[Any], server_id: int) -> list[PingMonitor]:
    """Parse a server's ping histories: one monitor per id (the first), by id."""
    monitors: dict[int, PingMonitor] = {}
    for record in records:
        monitor = parse_monitor(record, server_id)
        if monitor is not None:
            monitors.setdefault(monitor.monitor_id, monitor)
    return sorted(monitors.values(), key=lambda monitor: monitor.monitor_id)


def _average(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None
