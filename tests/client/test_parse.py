"""Unit tests of the lenient JSON field readers (client/parse.py)."""

from collections.abc import Callable
from datetime import UTC, datetime
import math
from typing import Any

import pytest

from custom_components.nezha.client.parse import (
    UINT64_MAX,
    FieldReader,
    finite_float,
    unix_millis,
)

GO_ZERO_TIME = -62135596800  # Unix seconds of 0001-01-01T00:00:00Z
ABSENT = object()  # the key is not in the object at all
ZERO = {"missing_is_zero": True}
NON_FINITE = (math.nan, math.inf, -math.inf, 10**400)
ITEM = {"Name": "acpitz", "Temperature": 27.8}
EMPTY: tuple[list[Any], dict[str, Any]] = ([], {})


def ok(method: str, value: object, expected: object, **kw: Any) -> tuple[Any, ...]:
    """A read that notes no problem."""
    return (method, value, kw, expected, False)


def bad(method: str, value: object, expected: object, **kw: Any) -> tuple[Any, ...]:
    """A read that notes the field as a problem."""
    return (method, value, kw, expected, True)


# A missing field is silently unknown (or 0/default/empty); present but unusable
# (null where Go never sends one, a bool for a number, ...) is noted as a problem.
CASES = [
    *(ok("uint", v, v) for v in (0, 1, 2**53 + 1, UINT64_MAX)),
    *(bad("uint", v, None) for v in (True, False, -1, -(2**70), UINT64_MAX + 1)),
    *(bad("uint", v, None) for v in (2**70, 1.5, 3.0, "12", *EMPTY)),
    *(ok("uint", ABSENT, None), ok("uint", ABSENT, 0, **ZERO)),
    *(bad("uint", None, None), bad("uint", None, 0, **ZERO)),
    *(ok("integer", v, v, default=99) for v in (0, -5, 7, UINT64_MAX, -UINT64_MAX)),
    *(bad("integer", v, 42, default=42) for v in (True, None, 2.0, "3")),
    *(bad("integer", v, 42, default=42) for v in (UINT64_MAX + 1, -(2**70))),
    *(ok("integer", ABSENT, 0), ok("integer", ABSENT, -3, default=-3)),
    *(ok("number", v, float(v)) for v in (0, 12.53, -4, 2**64)),
    *(bad("number", v, None) for v in (*NON_FINITE, -(10**400), True, "1.5", "NaN")),
    *(ok("number", ABSENT, None), ok("number", ABSENT, 0.0, **ZERO)),
    *(bad("number", None, None), bad("number", None, 0.0, **ZERO)),
    *(ok("text", v, v) for v in ("东京-web-03", "")),
    *(ok("text", ABSENT, ""), ok("text", None, ""), bad("text", 5, "")),  # Go's ""
    *(ok("flag", True, True), ok("flag", False, False), ok("flag", ABSENT, False)),
    *(bad("flag", v, False) for v in (1, 0, "true", None)),
    ok("str_tuple", ["NVIDIA GeForce RTX 3060"], ("NVIDIA GeForce RTX 3060",)),
    *(ok("str_tuple", v, ()) for v in (None, ABSENT, [])),
    bad("str_tuple", ["EPYC", 5, None, "", {"x": 1}, "M2", True], ("EPYC", "", "M2")),
    *(bad("str_tuple", v, ()) for v in ("a string", 5, {"a": "b"})),
    ok("obj", {"Arch": "x86_64"}, {"Arch": "x86_64"}),
    *(ok("obj", v, {}) for v in (None, ABSENT)),
    *(bad("obj", v, None) for v in (5, EMPTY[0])),
    ok("obj_list", [ITEM], [ITEM]),
    *(ok("obj_list", v, []) for v in (None, ABSENT)),
    *(bad("obj_list", [ITEM, 3, None, "x"], [ITEM]), bad("obj_list", 3, [])),
    ok("unix_seconds", 1733040000, datetime(2024, 12, 1, 8, 0, tzinfo=UTC)),
    # "Never reported" is a normal state, not a problem.
    *(ok("unix_seconds", v, None) for v in (GO_ZERO_TIME, 0, -1, ABSENT)),
    *(bad("unix_seconds", v, None) for v in (10**15, UINT64_MAX, "1733040000")),
    *(bad("unix_seconds", v, None) for v in (1733040000.5, True, None)),
]


@pytest.mark.parametrize("method", sorted({case[0] for case in CASES}))
def test_field_reader(method: str) -> None:
    for name, value, kwargs, expected, noted in CASES:
        if name != method:
            continue
        r = FieldReader({} if value is ABSENT else {"k": value}, "obj", [])
        result = getattr(r, method)("k", **kwargs)
        case = f"{method}({value!r}, {kwargs})"
        assert result == expected, case
        assert type(result) is type(expected), case  # exact ints never become floats
        assert r.problems == (["obj.k"] if noted else []), case


@pytest.mark.parametrize(
    ("read", "value", "expected"),
    [
        (unix_millis, 1733036400000, datetime(2024, 12, 1, 7, 0, tzinfo=UTC)),
        (unix_millis, 1733036400500.0, datetime(2024, 12, 1, 7, 0, 0, 500000, UTC)),
        *((unix_millis, v, None) for v in (0, -1, GO_ZERO_TIME * 1000, 10**20)),
        *((unix_millis, v, None) for v in (*NON_FINITE, True, "1733036400000")),
        *((unix_millis, v, None) for v in (None, [1])),
        *((finite_float, v, float(v)) for v in (0, 38.2185, 1000)),
        *((finite_float, v, None) for v in (*NON_FINITE, True, "1.0", None)),
    ],
)
def test_value_readers(
    read: Callable[[object], object], value: object, expected: object
) -> None:
    result = read(value)
    assert result == expected
    assert type(result) is type(expected)


def test_shared_problems_and_subclasses() -> None:
    """Readers share one problem list; int/str subclasses (enums) read like their bases."""
    problems: list[str] = []
    FieldReader({"a": "x"}, "host", problems).uint("a")
    FieldReader({"b": "y"}, "status", problems).number("b")
    FieldReader({"c": None}, "status", problems).uint("c")
    assert problems == ["host.a", "status.b", "status.c"]
    # Only exact int/str take the fast path; subclasses get the full checks.

    class Count(int):
        pass

    class Name(str):
        __slots__ = ()

    fields = FieldReader({"u": Count(7), "i": Count(-7), "s": Name("web")}, "o", [])
    assert [fields.uint("u"), fields.integer("i"), fields.text("s")] == [7, -7, "web"]
    assert fields.problems == []
