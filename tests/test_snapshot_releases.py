"""The snapshots of the oldest supported Home Assistant say what the newest say.

tests/snapshots-ha-<release>/ exists because older releases serialise registry
entries differently; regenerating it must not quietly accept different behaviour.
After normalising the serialisation, the only difference allowed is the boot-time
sensor's device class (uptime from 2026.5 on, timestamp before).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
import re

import pytest

SNAPSHOTS = Path(__file__).parent / "snapshots"
OTHER_RELEASES = sorted(SNAPSHOTS.parent.glob("snapshots-ha-*"))

ENUM_KEY = re.compile(r"<\w+Attribute\.\w+: ('[^']*')>")
ALIASES = re.compile(r"'aliases': (?:list\(\[\s*None,\s*\]\)|set\(\{\s*\}\)),")
UPTIME_FALLBACK = {
    "'device_class': 'uptime',": "'device_class': 'timestamp',",
    "'original_device_class': <SensorDeviceClass.UPTIME: 'uptime'>,": (
        "'original_device_class': <SensorDeviceClass.TIMESTAMP: 'timestamp'>,"
    ),
}


def lines(path: Path, *, fallback: bool = False) -> Counter[str]:
    """The snapshot's lines, stripped, with the release-specific notation unified."""
    text = ALIASES.sub("'aliases': (none),", ENUM_KEY.sub(r"\1", path.read_text()))
    result: Counter[str] = Counter()
    for raw in text.splitlines():
        line = raw.strip()
        result[UPTIME_FALLBACK.get(line, line) if fallback else line] += 1
    return result


def test_there_is_a_second_release() -> None:
    """The minimum release's snapshots are committed."""
    assert OTHER_RELEASES, "tests/snapshots-ha-<release>/ is missing"


@pytest.mark.parametrize("other", OTHER_RELEASES, ids=lambda p: p.name)
def test_same_snapshots_as_the_newest_release(other: Path) -> None:
    """Same files, and the same content apart from notation and the uptime class."""
    newest = sorted(p.name for p in SNAPSHOTS.glob("*.ambr"))
    assert sorted(p.name for p in other.glob("*.ambr")) == newest
    for name in newest:
        expected = lines(SNAPSHOTS / name, fallback=True)
        assert lines(other / name) == expected, name


def test_normalisation_sees_real_differences(tmp_path: Path) -> None:
    """A changed value survives the normalisation (the check is not vacuous)."""
    original = (SNAPSHOTS / "test_sensor.ambr").read_text()
    changed = tmp_path / "test_sensor.ambr"
    changed.write_text(original.replace("'state': '", "'state': '9", 1))
    assert lines(changed) != lines(SNAPSHOTS / "test_sensor.ambr")
