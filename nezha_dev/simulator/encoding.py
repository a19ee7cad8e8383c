"""JSON exactly as Go's ``encoding/json`` (used by gin) writes it.

Python's :func:`json.dumps` differs in ways a strict client could notice: ``54.0``
instead of ``54``, ``1e-05`` instead of ``0.00001``, and no HTML escaping of
``<``, ``>`` and ``&``. So values are serialised by hand here.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
import json
import math
from typing import Final

from aiohttp import web

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"

# The official v1 Docker image runs with TZ=Asia/Shanghai (no DST since 1991), so
# every time.Time the v1 dashboard prints carries +08:00.
DASHBOARD_TZ: Final = timezone(timedelta(hours=8))
# A zero time.Time is in UTC and is printed even with omitempty.
ZERO_TIME_TEXT: Final = "0001-01-01T00:00:00Z"
NANOS: Final = 1_000_000_000

# encoding/json escapes these inside strings (HTML safety, JS line separators).
_GO_ESCAPES = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)


class UnsupportedValueError(ValueError):
    """Raised for NaN/Inf, which make ``json.Marshal`` fail."""


def go_float(value: float) -> str:
    """Format a float64 the way Go's encoder does (shortest round-trip)."""
    if not math.isfinite(value):
        raise UnsupportedValueError(value)
    text = repr(value)
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        # Go uses exponent form here, with a one-digit exponent when possible.
        return text.replace("e-0", "e-").replace("e+0", "e+")
    plain = format(Decimal(text), "f")
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    return plain


def _encode(value: object, out: list[str]) -> None:
    # bool before int: bool is an int subclass in Python.
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(go_float(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False).translate(_GO_ESCAPES))
    elif isinstance(value, Mapping):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            _encode(str(key), out)
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def go_json(value: object) -> bytes | None:
    """Serialise ``value``; ``None`` when Go's marshal would fail (NaN/Inf)."""
    out: list[str] = []
    try:
        _encode(value, out)
    except UnsupportedValueError:
        return None
    # Go replaces invalid UTF-8 (here: lone surrogates) instead of failing.
    return "".join(out).encode("utf-8", "replace")


def json_response(value: object, status: int = 200) -> web.Response:
    """A gin ``c.JSON`` response.

    If marshalling fails gin has already written the status and content type, so
    the client gets that status with an empty body.
    """
    body = go_json(value)
    return web.Response(
        status=status,
        body=b"" if body is None else body,
        headers={"Content-Type": JSON_CONTENT_TYPE},
    )


def html_response(html: str, status: int) -> web.Response:
    """An HTML page response."""
    return web.Response(
        status=status, body=html.encode(), headers={"Content-Type": HTML_CONTENT_TYPE}
    )


def go_time(nanos: int | None) -> str:
    """A ``time.Time`` as Go marshals it: RFC 3339 with up to 9 fraction digits.

    ``nanos`` is Unix time in nanoseconds (integers keep all 9 digits exact);
    ``None`` is the zero time. Trailing zeros of the fraction are dropped, like
    Go's ``RFC3339Nano`` layout does.
    """
    if nanos is None:
        return ZERO_TIME_TEXT
    seconds, fraction = divmod(nanos, NANOS)
    text = datetime.fromtimestamp(seconds, DASHBOARD_TZ).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += "." + f"{fraction:09d}".rstrip("0")
    return text + "+08:00"
