"""Lenient readers for untrusted JSON values.

Each reader returns None for a value of the wrong type or range and notes the
field in ``problems`` so the caller can log it once. Nothing here raises.
"""

from __future__ import annotations

from datetime import UTC, datetime
import math
import re
from typing import Any

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
        if type(value) is str:
            return clean_text(value)  # the common case, without the checks below
        if value is None:
            return ""
        if not isinstance(value, str):
            self._bad(key)
            return ""
        return clean_text(value)

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
