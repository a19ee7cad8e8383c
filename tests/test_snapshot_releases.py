"""Every supported Home Assistant release checks the one set in tests/snapshots/."""

from enum import StrEnum
from pathlib import Path

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
import pytest
from syrupy.location import PyTestLocation

from custom_components.nezha.sensor_server import BOOT_TIME_DEVICE_CLASS
from tests.snapshot import NormalisedSerializer, NormalisedSnapshotExtension

TESTS = Path(__file__).parent


class Key(StrEnum):
    """Enum keys as newer releases use them (EntityStateAttribute and friends)."""

    FRIENDLY_NAME = "friendly_name"
    STATE_CLASS = "state_class"


def serialize(data: object) -> str:
    """The snapshot text of one value."""
    return str(NormalisedSerializer.serialize(data))


def test_one_snapshot_directory(request: pytest.FixtureRequest) -> None:
    """Snapshots live in tests/snapshots/ whatever the release; no second copy."""
    location = PyTestLocation(request.node)
    assert NormalisedSnapshotExtension.dirname(test_location=location) == str(
        TESTS / "snapshots"
    )
    assert not list(TESTS.glob("snapshots-*")), "a per-release snapshot copy is back"


async def test_release_neutral_notation(
    hass: HomeAssistant, entity_registry: er.EntityRegistry
) -> None:
    """Enum keys as strings, only user aliases, the boot-time class as uptime."""
    # A state keyed by enums is written as one keyed by strings.
    plain = State("sensor.x", "1", {"friendly_name": "X", "state_class": "total"})
    enum = State("sensor.x", "1", {Key.FRIENDLY_NAME: "X", Key.STATE_CLASS: "total"})
    assert serialize(enum) == serialize(plain)
    assert "'friendly_name': 'X'" in serialize(enum)
    other = State("sensor.x", "2", {Key.FRIENDLY_NAME: "X", Key.STATE_CLASS: "total"})
    assert serialize(other) != serialize(plain), "the normalisation hides values"
    # Registry entries: only user aliases, capability keys as strings.
    entry = entity_registry.async_get_or_create(
        "sensor", "nezha", "a", capabilities={Key.STATE_CLASS: "total"}
    )
    text = serialize(entry)
    assert "'aliases': list([\n  ])" in text
    assert "'state_class': 'total'" in text
    entry = entity_registry.async_update_entity(entry.entity_id, aliases={"Box"})
    assert "'aliases': list([\n    'Box',\n  ])" in serialize(entry)
    # The boot-time sensor reads as uptime on every release; other timestamps stay.
    boot, seen = (
        entity_registry.async_get_or_create(
            "sensor",
            "nezha",
            f"e_1_{key}",
            suggested_object_id=f"box_{key}",
            translation_key=key,
            original_device_class=device_class,
        )
        for key, device_class in (
            ("last_boot", BOOT_TIME_DEVICE_CLASS),
            ("last_seen", SensorDeviceClass.TIMESTAMP),
        )
    )
    uptime = "<SensorDeviceClass.UPTIME: 'uptime'>"
    assert f"'original_device_class': {uptime}" in serialize(boot)
    assert f"'original_device_class': {uptime}" not in serialize(seen)
    state = State(boot.entity_id, "x", {"device_class": BOOT_TIME_DEVICE_CLASS.value})
    assert "'device_class': 'uptime'" in serialize(state)
    state = State(seen.entity_id, "x", {"device_class": "timestamp"})
    assert "'device_class': 'timestamp'" in serialize(state)
