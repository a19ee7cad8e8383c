"""Notes as the admin frontend writes them (public-note.ts); expiry as nezha-dash-v2 counts."""

from datetime import UTC, datetime, timedelta, timezone
import json
from zoneinfo import ZoneInfo

import pytest

from custom_components.nezha.client import (
    Billing,
    Plan,
    PublicNote,
    next_expiry,
    parse_public_note,
)
from custom_components.nezha.client.notes import MAX_NOTE_LENGTH, parse_note_date
from nezha_dev.simulator.catalog import TEMPLATES

SHANGHAI = timezone(timedelta(hours=8))
PACIFIC = ZoneInfo("America/Los_Angeles")


def note(billing: dict[str, object] | None = None, **plan: object) -> str:
    """A note as JSON text, with ``planDataMod`` when plan keys are given."""
    data: dict[str, object] = {}
    if billing is not None:
        data["billingDataMod"] = billing
    if plan:
        data["planDataMod"] = plan
    return json.dumps(data)


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    """A UTC datetime."""
    return datetime(year, month, day, hour, tzinfo=UTC)


def billing(end: str | None, *, auto: bool = False, cycle: str = "") -> Billing:
    """A parsed billing record ending at ``end`` (as written in a note)."""
    never = end is not None and end.startswith("0000-00-00")
    parsed_end = None if end is None else parse_note_date(end)
    return Billing(None, parsed_end, never, auto, cycle, "")


IGNORED = [
    *(None, 42, "", "Rented from a friend; pay him in beer.", "[1, 2]", '"{}"'),
    '{"billingDataMod":{"endDate":"2026-07-01"',  # cut short
    '{"customData":{"orderLink":"https://example.com/order"}}',
    '{"billingDataMod":"2026-07-01","planDataMod":["1Gbps"]}',
    '{"a":' + "[" * 5000 + "]" * 5000 + "}",  # too deep for the parser
    note({"endDate": "2026-07-01", "amount": "x" * MAX_NOTE_LENGTH}),  # too long
]
FRA_DB_02 = next(t.public_note for t in TEMPLATES if t.name == "fra-db-02")
NEVER: dict[str, object] = {"endDate": "0000-00-00T23:59:59+08:00", "amount": "0"}
FRA_START, FRA_END = utc(2025, 1, 14, 16), utc(2026, 1, 14, 16)
FRA_BILLING = Billing(FRA_START, FRA_END, False, True, "Month", "200EUR")
ROUTES, EXTRA = ("CN2 GIA", "CMI"), ("NVMe", "DDoS protection")
FRA_PLAN = Plan("10Gbps", "20TB/Month", "both", True, True, ROUTES, EXTRA)
WRONG_TYPES: dict[str, object] = {
    "endDate": 1788000000,
    "autoRenewal": 1,
    "cycle": ["Month"],
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The simulator's fra-db-02 note: every field the admin frontend writes.
        (FRA_DB_02, PublicNote(FRA_BILLING, FRA_PLAN)),
        (note(NEVER), PublicNote(Billing(None, None, True, False, "", "0"), None)),
        (
            note(None, bandwidth=" 1Gbps ", trafficType="1", IPv4="0", extra=",,"),
            PublicNote(None, Plan("1Gbps", "", "inbound", False, None, (), ())),
        ),
        # Values of the wrong type are left out.
        (
            note(WRONG_TYPES, IPv4=True, IPv6="yes", trafficType="3", bandwidth=100),
            PublicNote(
                Billing(None, None, False, True, "", ""),
                Plan("", "", "3", True, None, (), ()),
            ),
        ),
        *((text, None) for text in IGNORED),  # no billing or plan
    ],
)
def test_parse_public_note(text: object, expected: PublicNote | None) -> None:
    assert parse_public_note(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-09-01T00:00:00+08:00", datetime(2026, 9, 1, tzinfo=SHANGHAI)),
        ("2026-08-31T16:00:00.000Z", datetime(2026, 8, 31, 16, tzinfo=UTC)),
        # Naive: the user's local time.
        ("2026-09-01", datetime(2026, 9, 1)),  # noqa: DTZ001
        ("2026/09/01", datetime(2026, 9, 1)),  # noqa: DTZ001
        ("2026-09-01 08:30", datetime(2026, 9, 1, 8, 30)),  # noqa: DTZ001
        ("0000-00-00T23:59:59+08:00", None),
        ("next year", None),
        ("2026-13-01", None),
        ("2026-09-01T00:00:00+08:00" + " " * 64, None),
        ("", None),
    ],
)
def test_note_dates(text: str, expected: datetime | None) -> None:
    assert parse_note_date(text) == expected


NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("end", "cycle", "expected"),
    [
        # Without auto-renewal (no cycle) the end date stands, even when it has passed.
        ("2026-09-01T00:00:00+08:00", None, datetime(2026, 9, 1, tzinfo=SHANGHAI)),
        ("2026-05-20", None, utc(2026, 5, 20)),
        # With it, an end date ahead stands too.
        ("2026-07-01T00:00:00Z", "Year", utc(2026, 7, 1)),
        # A passed one moves on by whole cycles, from the end date each time.
        ("2026-01-31T00:00:00Z", "Month", utc(2026, 6, 30)),
        ("2025-01-31T00:00:00Z", "monthly", utc(2026, 6, 30)),
        ("2024-07-15T00:00:00Z", "Year", utc(2026, 7, 15)),
        ("2026-02-10T00:00:00Z", "季", utc(2026, 8, 10)),
        ("2025-06-01T12:00:00Z", "half", utc(2026, 12, 1, 12)),
        # A cycle the user frontend does not know counts as a month there.
        ("2026-05-10T00:00:00Z", "fortnight", utc(2026, 6, 10)),
        ("2026-05-10T00:00:00Z", "", utc(2026, 6, 10)),
        # The admin frontend's Day and Week renew by a day and a week.
        ("2026-05-01T13:00:00Z", "Day", utc(2026, 6, 1, 13)),
        ("2026-05-01T00:00:00Z", "Week", utc(2026, 6, 5)),
        # Renewed at the very instant: the next cycle is the one ahead.
        ("2026-05-01T12:00:00Z", "Month", utc(2026, 7, 1, 12)),
        (None, "", None),
        ("0000-00-00T23:59:59+08:00", "", None),
        ("0000-00-00T23:59:59+08:00", None, None),
        # Local midnight (from a browser in California) stays local midnight across
        # daylight saving time; a date without offset is a date where the user lives.
        ("2026-01-15T08:00:00.000Z", "Month", datetime(2026, 6, 15, tzinfo=PACIFIC)),
        ("2026-06-10", None, datetime(2026, 6, 10, tzinfo=PACIFIC)),
    ],
)
def test_next_expiry(end: str | None, cycle: str | None, expected: object) -> None:
    """In the user's time zone: UTC, unless the row expects California's."""
    local = PACIFIC if getattr(expected, "tzinfo", None) is PACIFIC else UTC
    record = billing(end, auto=cycle is not None, cycle=cycle or "")
    # The same instant, and written in the same zone (the offset survives DST).
    assert repr(next_expiry(record, NOW, local)) == repr(expected)
