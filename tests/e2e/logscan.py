"""Deprecation reports about the integration in Home Assistant's output."""

import re

# The start of a record: a log line's timestamp, or a warning on stderr
# ("/path/file.py:12: DeprecationWarning: ...").
RECORD_START = re.compile(
    r"^(?:\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d|\S+\.py:\d+: \w*Warning: )"
)
DEPRECATION = re.compile(
    r"deprecat|will stop working|stops working|report_usage"
    r"|Detected that (?:custom )?integration|Detected code that",
    re.IGNORECASE,
)


def records(text: str) -> list[str]:
    """The records of a log or stderr text, continuation lines included."""
    found: list[str] = []
    for line in text.splitlines():
        if RECORD_START.match(line) or not found:
            found.append(line)
        else:
            found[-1] += "\n" + line
    return found


def deprecations(text: str, integration: str = "nezha") -> list[str]:
    """The records that report a deprecation and name ``integration``."""
    return [
        record
        for record in records(text)
        if DEPRECATION.search(record) and integration in record.lower()
    ]
