"""The shape of a JSON answer: every path with the kinds of value seen there.

``data[].host.cpu[]`` names the elements of ``cpu`` in every element of ``data``;
objects whose keys are all decimal ids (``services``, ``transfer``) are maps, so
their keys fold into ``{id}``. Values are classified by what a parser cares about:
``null``, ``bool``, ``number``, ``string``, ``time`` (RFC 3339 with a zone),
``zero-time`` (Go's zero ``time.Time``), ``object``, ``array`` and ``[]`` (an empty
array, which Go writes for an empty slice but not for a nil one: that is ``null``).
"""

from collections import defaultdict
from datetime import datetime
import re
from typing import Any

type Shape = dict[str, set[str]]

_ID = re.compile(r"-?[0-9]+")


def kind(value: Any) -> str:
    """The kind of one JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return _string_kind(value)
    if isinstance(value, list):
        return "array" if value else "[]"
    return "object"


def _string_kind(value: str) -> str:
    if value.startswith("0001-01-01T00:00:00"):
        return "zero-time"
    if len(value) >= 20 and value[4] == "-" and value[10] == "T":
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return "string"
        return "time" if parsed.tzinfo is not None else "string"
    return "string"


def shape(value: Any) -> Shape:
    """Every path of ``value`` with the kinds seen there."""
    found: Shape = defaultdict(set)
    _walk(value, "$", found)
    return dict(found)


def _walk(value: Any, path: str, found: Shape) -> None:
    found[path].add(kind(value))
    if isinstance(value, dict):
        is_map = bool(value) and all(_ID.fullmatch(k) for k in value)
        for key, item in value.items():
            _walk(item, f"{path}.{{id}}" if is_map else f"{path}.{key}", found)
    elif isinstance(value, list):
        for item in value:
            _walk(item, f"{path}[]", found)


def merge(shapes: list[Shape]) -> Shape:
    """One shape for several answers of the same endpoint."""
    merged: Shape = defaultdict(set)
    for one in shapes:
        for path, kinds in one.items():
            merged[path] |= kinds
    return dict(merged)


def _parent(path: str) -> str:
    if path.endswith("[]"):
        return path[:-2]
    return path.rsplit(".", 1)[0]


def differences(
    real: Shape, simulated: Shape, *, omitted_ok: frozenset[str] = frozenset()
) -> list[str]:
    """What the simulator does differently from the real dashboard.

    A path one side lacks counts only where the other side's container is
    there and not empty: the recorded fleet decides what is filled in (a
    dashboard without groups has no group fields), not the dashboard's code.
    Paths in ``omitted_ok`` are the keys Go omits when their value is zero or
    empty (``omitempty``), which depends on the recorded values. On common paths
    the kinds must agree (null and an empty list are different kinds).
    """
    problems = []
    for path in sorted(real.keys() ^ simulated.keys()):
        has, lacks = (real, simulated) if path in real else (simulated, real)
        parent = _parent(path)
        if path in omitted_ok or parent not in lacks:
            continue  # omitempty, or reported at the parent already
        if lacks[parent] <= {"[]", "null"}:
            continue  # empty there: nothing to compare
        side = "real" if has is real else "simulator"
        other = "simulator" if has is real else "real"
        problems.append(f"{path}: {side} {sorted(has[path])}, {other} lacks it")
    problems.extend(
        f"{path}: real {sorted(real[path])}, simulator {sorted(simulated[path])}"
        for path in sorted(real.keys() & simulated.keys())
        if not _compatible(real[path], simulated[path])
    )
    return problems


def _compatible(real: set[str], simulated: set[str]) -> bool:
    """Kinds that differ only by what the values happened to be.

    An array empty in one answer and filled in another is one field, so is a
    time that was zero (server offline) in one of them, and a field that was
    null for one record (a server that never reported) but not for the others.
    An empty value written as null on one side and as [] on the other is not.
    """
    fold = {"[]": "array", "zero-time": "time"}
    if not {fold.get(k, k) for k in real} & {fold.get(k, k) for k in simulated}:
        return False
    for one, other in ((real, simulated), (simulated, real)):
        if "null" in one and "[]" not in one and "[]" in other and "null" not in other:
            return False
    return True
