"""Billing and plan data in public notes (client/notes.py).

The notes are those the official admin frontend writes (``src/lib/public-note.ts``)
and the expiry is counted as the official user frontend counts it
(``nezha-dash-v2`` ``getDaysBetweenDatesWithAutoRenewal``).
"""

from __future__ import annotations

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


def billing(
    end: str | None,
    *,
    auto: bool = False,
    cycle: str = "",
    start: datetime | None = None,
) -> Billing:
    """A parsed billing record ending at ``end`` (as written in a note)."""
    return Billing(
        start=start,
        end=None if end is None else parse_note_date(end),
        never_expires=end is not None and end.startswith("0000-00-00"),
        auto_renewal=auto,
        cycle=cycle,
        amount="",
    )


def test_admin_frontend_note_with_everything() -> None:
    """The simulator's fra-db-02 note: every field the admin frontend writes."""
    text = next(t.public_note for t in TEMPLATES if t.name == "fra-db-02")
    assert parse_public_note(text) == PublicNote(
        billing=Billing(
            start=datetime(2025, 1, 14, 16, tzinfo=UTC),
            end=datetime(2026, 1, 14, 16, tzinfo=UTC),
            never_expires=False,
            auto_renewal=True,
            cycle="Month",
            amount="200EUR",
        ),
        plan=Plan(
            bandwidth="10Gbps",
            traffic_volume="20TB/Month",
            traffic_type="both",
            ipv4=True,
            ipv6=True,
            network_routes=("CN2 GIA", "CMI"),
            extra=("NVMe", "DDoS protection"),
        ),
    )


def test_never_expires_and_partial_notes() -> None:
    never = parse_public_note(
        note({"endDate": "0000-00-00T23:59:59+08:00", "amount": "0"})
    )
    assert never is not None and never.plan is None
    assert never.billing == Billing(None, None, True, False, "", "0")
    assert next_expiry(never.billing, datetime.now(UTC), UTC) is None

    plan_only = parse_public_note(
        note(None, bandwidth=" 1Gbps ", trafficType="1", IPv4="0", extra=",,")
    )
    assert plan_only == PublicNote(
        billing=None,
        plan=Plan("1Gbps", "", "inbound", False, None, (), ()),
    )


@pytest.mark.parametrize(
    "text",
    [
        None,
        42,
        "",
        "Rented from a friend; pay him in beer.",
        '{"billingDataMod":{"endDate":"2026-07-01"',  # cut short
        "[1, 2]",
        '"{}"',
        '{"customData":{"orderLink":"https://example.com/order"}}',
        '{"billingDataMod":"2026-07-01","planDataMod":["1Gbps"]}',
        '{"a":' + "[" * 5000 + "]" * 5000 + "}",  # too deep for the parser
        note({"endDate": "2026-07-01", "amount": "x" * MAX_NOTE_LENGTH}),  # too long
    ],
)
def test_notes_without_billing_or_plan_are_ignored(text: object) -> None:
    assert parse_public_note(text) is None


def test_values_of_the_wrong_type_are_left_out() -> None:
    parsed = parse_public_note(
        note(
            {"endDate": 1788000000, "autoRenewal": 1, "cycle": ["Month"]},
            IPv4=True,
            IPv6="yes",
            trafficType="3",
            bandwidth=100,
        )
    )
    assert parsed == PublicNote(
        billing=Billing(None, None, False, True, "", ""),
        plan=Plan("", "", "3", True, None, (), ()),
    )


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
    ("record", "expected"),
    [
        # Without auto-renewal the end date stands, even when it has passed.
        (billing("2026-09-01T00:00:00+08:00"), datetime(2026, 8, 31, 16, tzinfo=UTC)),
        (billing("2026-05-20"), datetime(2026, 5, 20, tzinfo=UTC)),
        # With it, an end date ahead stands too.
        (
            billing("2026-07-01T00:00:00Z", auto=True, cycle="Year"),
            datetime(2026, 7, 1, tzinfo=UTC),
        ),
        # A passed one moves on by whole cycles, from the end date each time.
        (
            billing("2026-01-31T00:00:00Z", auto=True, cycle="Month"),
            datetime(2026, 6, 30, tzinfo=UTC),
        ),
        (
            billing("2025-01-31T00:00:00Z", auto=True, cycle="monthly"),
            datetime(2026, 6, 30, tzinfo=UTC),
        ),
        (
            billing("2024-07-15T00:00:00Z", auto=True, cycle="Year"),
            datetime(2026, 7, 15, tzinfo=UTC),
        ),
        (
            billing("2026-02-10T00:00:00Z", auto=True, cycle="季"),
            datetime(2026, 8, 10, tzinfo=UTC),
        ),
        (
            billing("2025-06-01T12:00:00Z", auto=True, cycle="half"),
            datetime(2026, 12, 1, 12, tzinfo=UTC),
        ),
        # A cycle the user frontend does not know counts as a month there.
        (
            billing("2026-05-10T00:00:00Z", auto=True, cycle="fortnight"),
            datetime(2026, 6, 10, tzinfo=UTC),
        ),
        (
            billing("2026-05-10T00:00:00Z", auto=True),
            datetime(2026, 6, 10, tzinfo=UTC),
        ),
        # The admin frontend's Day and Week renew by a day and a week.
        (
            billing("2026-05-01T13:00:00Z", auto=True, cycle="Day"),
            datetime(2026, 6, 1, 13, tzinfo=UTC),
        ),
        (
            billing("2026-05-01T00:00:00Z", auto=True, cycle="Week"),
            datetime(2026, 6, 5, tzinfo=UTC),
        ),
        # Renewed at the very instant: the next cycle is the one ahead.
        (
            billing("2026-05-01T12:00:00Z", auto=True, cycle="Month"),
            datetime(2026, 7, 1, 12, tzinfo=UTC),
        ),
        (billing(None, auto=True), None),
        (billing("0000-00-00T23:59:59+08:00", auto=True), None),
    ],
)
def test_next_expiry(record: Billing, expected: datetime | None) -> None:
    assert next_expiry(record, NOW, UTC) == expected


def test_next_expiry_counts_months_on_the_local_calendar() -> None:
    """Local midnight stays local midnight across daylight saving time."""
    # Written by a browser in California: 15 January, local midnight.
    record = billing("2026-01-15T08:00:00.000Z", auto=True, cycle="Month")
    renewed = next_expiry(record, NOW, PACIFIC)
    assert renewed == datetime(2026, 6, 15, tzinfo=PACIFIC)
    assert renewed is not None and renewed.utcoffset() == timedelta(hours=-7)
    # A date without offset is a date where the user lives.
    naive = billing("2026-06-10", cycle="Month")
    assert next_expiry(naive, NOW, PACIFIC) == datetime(2026, 6, 10, tzinfo=PACIFIC)
