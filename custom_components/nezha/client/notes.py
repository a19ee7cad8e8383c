"""Billing and plan data in a server's public note (v1/v2 dashboards).

The official admin frontend (``nezhahq/admin-frontend`` ``src/lib/public-note.ts``)
stores them in the note as JSON; the official user frontend
(``hamster1963/nezha-dash-v2`` ``src/lib/utils.ts``) reads them back::

    {
        "billingDataMod": {"startDate", "endDate", "autoRenewal", "cycle", "amount"},
        "planDataMod": {
            "bandwidth",
            "trafficVol",
            "trafficType",
            "IPv4",
            "IPv6",
            "networkRoute",
            "extra",
        },
    }

Every value is a string. Dates are ISO 8601 (the admin frontend writes
``toISOString()``, older notes carry an offset); ``0000-00-00T23:59:59+08:00``
means "never expires"; ``autoRenewal``, ``IPv4`` and ``IPv6`` are ``"0"``/``"1"``;
``amount`` is free text, with ``"0"`` for free and ``"-1"`` for pay as you go.
Anything else in a note (free text, other JSON, a huge note) is ignored quietly.
"""

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
import json
from typing import Any, Final

# Notes written by the admin frontend are a few hundred characters long.
MAX_NOTE_LENGTH: Final = 16 * 1024
NEVER_EXPIRES_PREFIX: Final = "0000-00-00"

# The renewal cycles the user frontend knows, in months (lower-cased); any other
# cycle counts as one month there, as it does here.
_CYCLE_MONTHS: Final = {
    **dict.fromkeys(("月", "m", "mo", "month", "monthly"), 1),
    **dict.fromkeys(("年", "y", "yr", "year", "annual"), 12),
    **dict.fromkeys(("季", "q", "qr", "quarterly"), 3),
    **dict.fromkeys(("半", "半年", "h", "half", "semi-annually"), 6),
}
# The admin frontend also offers Day and Week, which the user frontend treats as a
# month; a server renewed daily or weekly is renewed by that period here.
_CYCLE_DAYS: Final = {
    **dict.fromkeys(("day", "daily", "d", "天", "日"), 1),
    **dict.fromkeys(("week", "weekly", "w", "周"), 7),
}
_TRAFFIC_TYPES: Final = {"1": "inbound", "2": "both"}


@dataclass(frozen=True, slots=True)
class Billing:
    """``billingDataMod``. A naive date is wall-clock time where the user lives."""

    start: datetime | None
    end: datetime | None
    never_expires: bool
    auto_renewal: bool
    cycle: str
    amount: str


@dataclass(frozen=True, slots=True)
class Plan:
    """``planDataMod``: facts of the hosting plan, as the user typed them."""

    bandwidth: str
    traffic_volume: str
    traffic_type: str
    ipv4: bool | None
    ipv6: bool | None
    network_routes: tuple[str, ...]
    extra: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PublicNote:
    """The structured part of a public note; at least one of the two is set."""

    billing: Billing | None
    plan: Plan | None


def parse_public_note(value: Any) -> PublicNote | None:
    """Read billing and plan data from a note, or None when it holds neither."""
    if not isinstance(value, str) or not value or len(value) > MAX_NOTE_LENGTH:
        return None
    try:
        data = json.loads(value)
    except ValueError, RecursionError:
        return None
    if not isinstance(data, dict):
        return None
    billing_data = data.get("billingDataMod")
    plan_data = data.get("planDataMod")
    billing = _billing(billing_data) if isinstance(billing_data, dict) else None
    plan = _plan(plan_data) if isinstance(plan_data, dict) else None
    if billing is None and plan is None:
        return None
    return PublicNote(billing=billing, plan=plan)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def _flag(data: dict[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value in ("1", 1, True):
        return True
    if value in ("0", 0, False):
        return False
    return None


def _list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _billing(data: dict[str, Any]) -> Billing:
    end_text = _text(data, "endDate")
    return Billing(
        start=parse_note_date(_text(data, "startDate")),
        end=parse_note_date(end_text),
        never_expires=end_text.startswith(NEVER_EXPIRES_PREFIX),
        auto_renewal=_flag(data, "autoRenewal") is True,
        cycle=_text(data, "cycle"),
        amount=_text(data, "amount"),
    )


def _plan(data: dict[str, Any]) -> Plan:
    traffic_type = _text(data, "trafficType")
    return Plan(
        bandwidth=_text(data, "bandwidth"),
        traffic_volume=_text(data, "trafficVol"),
        traffic_type=_TRAFFIC_TYPES.get(traffic_type, traffic_type),
        ipv4=_flag(data, "IPv4"),
        ipv6=_flag(data, "IPv6"),
        network_routes=_list(_text(data, "networkRoute")),
        extra=_list(_text(data, "extra")),
    )


def parse_note_date(text: str) -> datetime | None:
    """Parse a note's date like a browser would; naive when it names no offset.

    Accepted: ISO 8601 with or without time and offset (``Z`` included), and the
    ``2026/09/01`` spelling. "Never expires" and anything unreadable are None.
    """
    if not text or text.startswith(NEVER_EXPIRES_PREFIX) or len(text) > 64:
        return None
    try:
        return datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        return None


def _add_months(moment: datetime, months: int) -> datetime:
    """Add calendar months, keeping the day within the month (like dayjs)."""
    total = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(total, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def next_expiry(billing: Billing, now: datetime, local: tzinfo) -> datetime | None:
    """When the server expires, as the user frontend counts it; None if never.

    Without auto-renewal it is the end date, past or not. With auto-renewal an
    end date in the past moves forward by whole cycles until it lies ahead,
    counted in the user's time zone (``local``) as a browser would.
    """
    end = billing.end
    if end is None or billing.never_expires:
        return None
    end = end.replace(tzinfo=local) if end.tzinfo is None else end
    if not billing.auto_renewal or now < end:
        return end
    cycle = billing.cycle.lower()
    if (days := _CYCLE_DAYS.get(cycle)) is not None:
        step = timedelta(days=days)
        count = (now - end) // step + 1
        return end + count * step
    months = _CYCLE_MONTHS.get(cycle, 1)
    start = end.astimezone(local)
    current = now.astimezone(local)
    elapsed = (current.year - start.year) * 12 + current.month - start.month
    # Counted from the end date each time, so the 31st stays the 31st where it can.
    count = max(1, elapsed // months)
    while (renewed := _add_months(start, count * months)) <= now:
        count += 1
    return renewed
