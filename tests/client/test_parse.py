"""Unit tests of the lenient JSON field readers (client/parse.py)."""

from __future__ import annotations

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


def reader(data: dict[str, Any]) -> FieldReader:
    """A reader over ``data`` with a fresh problem list, prefix ``obj``."""
    return FieldReader(data, "obj", [])


# -- uint ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 2**53 + 1, UINT64_MAX])
def test_uint_accepts_the_whole_uint64_range_exactly(value: int) -> None:
    r = reader({"n": value})
    result = r.uint("n")
    assert result == value
    assert type(result) is int  # never converted to float
    assert r.problems == []


@pytest.mark.parametrize("value", [True, False])
def test_uint_bool_is_not_an_int(value: bool) -> None:
    r = reader({"n": value})
    assert r.uint("n") is None
    assert r.problems == ["obj.n"]


@pytest.mark.parametrize(
    "value", [-1, -(2**70), UINT64_MAX + 1, 2**70, 1.5, 3.0, "12", [], {}]
)
def test_uint_rejects_out_of_range_and_wrong_types(value: object) -> None:
    r = reader({"n": value})
    assert r.uint("n") is None
    assert r.problems == ["obj.n"]


def test_uint_missing_vs_null() -> None:
    r = reader({"null": None})
    # Missing: silently unknown (or 0 when asked), no problem noted.
    assert r.uint("absent") is None
    assert r.uint("absent", missing_is_zero=True) == 0
    assert r.problems == []
    # Present but null: a problem, value still unknown (or 0 when asked).
    assert r.uint("null") is None
    assert r.uint("null", missing_is_zero=True) == 0
    assert r.problems == ["obj.null", "obj.null"]


# -- integer -------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -5, 7, UINT64_MAX, -UINT64_MAX])
def test_integer_accepts_signed_values(value: int) -> None:
    r = reader({"i": value})
    assert r.integer("i", default=99) == value
    assert r.problems == []


@pytest.mark.parametrize("value", [True, None, 2.0, "3", UINT64_MAX + 1, -(2**70)])
def test_integer_falls_back_to_default(value: object) -> None:
    r = reader({"i": value})
    assert r.integer("i", default=42) == 42
    assert r.problems == ["obj.i"]


def test_integer_missing_is_default_without_problem() -> None:
    r = reader({})
    assert r.integer("i") == 0
    assert r.integer("i", default=-3) == -3
    assert r.problems == []


# -- number --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0.0), (12.53, 12.53), (-4, -4.0), (2**64, 2.0**64)]
)
def test_number_reads_finite_numbers_as_float(value: float, expected: float) -> None:
    r = reader({"x": value})
    result = r.number("x")
    assert result == expected
    assert isinstance(result, float)
    assert r.problems == []


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, 10**400, -(10**400), True, "1.5", "NaN"]
)
def test_number_rejects_non_finite_bool_and_strings(value: object) -> None:
    r = reader({"x": value})
    assert r.number("x") is None
    assert r.problems == ["obj.x"]


def test_number_missing_vs_null() -> None:
    r = reader({"null": None})
    assert r.number("absent") is None
    assert r.number("absent", missing_is_zero=True) == 0.0
    assert r.problems == []
    assert r.number("null") is None
    assert r.number("null", missing_is_zero=True) == 0.0
    assert r.problems == ["obj.null", "obj.null"]


# -- text / flag ---------------------------------------------------------------------


def test_text() -> None:
    r = reader({"s": "东京-web-03", "null": None, "num": 5, "empty": ""})
    assert r.text("s") == "东京-web-03"
    assert r.text("empty") == ""
    assert r.text("absent") == ""
    assert r.text("null") == ""
    assert r.problems == []  # null and missing strings are Go's "" — fine
    assert r.text("num") == ""
    assert r.problems == ["obj.num"]


@pytest.mark.parametrize(("value", "expected"), [(True, True), (False, False)])
def test_flag_reads_booleans(value: bool, expected: bool) -> None:
    r = reader({"b": value})
    assert r.flag("b") is expected
    assert r.problems == []


@pytest.mark.parametrize("value", [1, 0, "true", None])
def test_flag_anything_else_is_false(value: object) -> None:
    r = reader({"b": value})
    assert r.flag("b") is False
    assert r.problems == ["obj.b"]


def test_flag_missing_is_false_without_problem() -> None:
    r = reader({})
    assert r.flag("b") is False
    assert r.problems == []


# -- str_tuple -----------------------------------------------------------------------


def test_str_tuple_keeps_strings_and_drops_other_items() -> None:
    r = reader({"cpu": ["AMD EPYC", 5, None, "", {"x": 1}, "Apple M2", True]})
    assert r.str_tuple("cpu") == ("AMD EPYC", "", "Apple M2")
    assert r.problems == ["obj.cpu"]


def test_str_tuple_clean_list_null_and_missing() -> None:
    r = reader({"gpu": ["NVIDIA GeForce RTX 3060"], "null": None, "empty": []})
    assert r.str_tuple("gpu") == ("NVIDIA GeForce RTX 3060",)
    assert r.str_tuple("null") == ()
    assert r.str_tuple("absent") == ()
    assert r.str_tuple("empty") == ()
    assert r.problems == []


@pytest.mark.parametrize("value", ["a string", 5, {"a": "b"}])
def test_str_tuple_non_list_is_empty(value: object) -> None:
    r = reader({"v": value})
    assert r.str_tuple("v") == ()
    assert r.problems == ["obj.v"]


# -- obj / obj_list ------------------------------------------------------------------


def test_obj() -> None:
    r = reader({"host": {"Arch": "x86_64"}, "null": None, "num": 5, "list": []})
    assert r.obj("host") == {"Arch": "x86_64"}
    assert r.obj("null") == {}
    assert r.obj("absent") == {}
    assert r.problems == []
    assert r.obj("num") is None
    assert r.obj("list") is None
    assert r.problems == ["obj.num", "obj.list"]


def test_obj_list() -> None:
    item = {"Name": "acpitz", "Temperature": 27.8}
    r = reader({"t": [item, 3, None, "x"], "ok": [item], "null": None, "num": 3})
    assert r.obj_list("ok") == [item]
    assert r.obj_list("null") == []
    assert r.obj_list("absent") == []
    assert r.problems == []
    assert r.obj_list("t") == [item]
    assert r.problems == ["obj.t"]
    assert r.obj_list("num") == []
    assert r.problems == ["obj.t", "obj.num"]


# -- unix_seconds --------------------------------------------------------------------


def test_unix_seconds_reads_aware_utc() -> None:
    r = reader({"t": 1733040000})
    result = r.unix_seconds("t")
    assert result == datetime(2024, 12, 1, 8, 0, tzinfo=UTC)
    assert result is not None and result.utcoffset() is not None
    assert r.problems == []


@pytest.mark.parametrize("value", [GO_ZERO_TIME, 0, -1])
def test_unix_seconds_go_zero_time_and_non_positive_are_none(value: int) -> None:
    r = reader({"t": value})
    assert r.unix_seconds("t") is None
    assert r.problems == []  # "never reported" is a normal state, not a problem


def test_unix_seconds_missing_is_none() -> None:
    r = reader({})
    assert r.unix_seconds("t") is None
    assert r.problems == []


@pytest.mark.parametrize("value", [10**15, UINT64_MAX])
def test_unix_seconds_absurd_values_are_none_and_noted(value: int) -> None:
    r = reader({"t": value})
    assert r.unix_seconds("t") is None
    assert r.problems == ["obj.t"]


@pytest.mark.parametrize("value", ["1733040000", 1733040000.5, True, None])
def test_unix_seconds_wrong_types_are_none_and_noted(value: object) -> None:
    r = reader({"t": value})
    assert r.unix_seconds("t") is None
    assert r.problems == ["obj.t"]


def test_problems_list_is_shared_and_prefixed() -> None:
    problems: list[str] = []
    FieldReader({"a": "x"}, "host", problems).uint("a")
    FieldReader({"b": "y"}, "status", problems).number("b")
    assert problems == ["host.a", "status.b"]


# -- module-level helpers ------------------------------------------------------------


def test_unix_millis() -> None:
    assert unix_millis(1733036400000) == datetime(2024, 12, 1, 7, 0, tzinfo=UTC)
    assert unix_millis(1733036400500.0) == datetime(
        2024, 12, 1, 7, 0, 0, 500000, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "value",
    [
        *(0, -1, GO_ZERO_TIME * 1000, 10**400, 10**20),
        *(math.nan, math.inf, -math.inf),
        *(True, "1733036400000", None, [1]),
    ],
)
def test_unix_millis_unusable_values_are_none(value: object) -> None:
    assert unix_millis(value) is None


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0.0), (38.2185, 38.2185), (1000, 1000.0)]
)
def test_finite_float(value: float, expected: float) -> None:
    assert finite_float(value) == expected


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, 10**400, True, "1.0", None]
)
def test_finite_float_rejects(value: object) -> None:
    assert finite_float(value) is None


def test_int_and_str_subclasses_read_like_their_base_types() -> None:
    """Only exact ``int``/``str`` take the fast path; subclasses pass the full checks.

    JSON never produces them, but a caller may hand over enums or other subclasses.
    """

    class Count(int):
        pass

    class Name(str):
        __slots__ = ()

    fields = reader({"u": Count(7), "i": Count(-7), "s": Name("web-01")})
    assert fields.uint("u") == 7
    assert fields.integer("i") == -7
    assert fields.text("s") == "web-01"
    assert fields.problems == []
