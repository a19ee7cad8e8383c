"""One snapshot notation for every supported Home Assistant release."""

# From 2026.5 attribute keys and capabilities are enums and registry aliases hold the
# entity's own name as None (plain strings / an empty set before).

from collections.abc import Mapping
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.core import State
from homeassistant.helpers import entity_registry as er
from homeassistant.util.read_only_dict import ReadOnlyDict
from pytest_homeassistant_custom_component.syrupy import (
    HomeAssistantSnapshotExtension,
    HomeAssistantSnapshotSerializer,
)
from syrupy.types import SerializableData

# Releases before 2026.5 have no uptime device class; the integration's boot-time
# sensor falls back to timestamp there (sensor.BOOT_TIME_DEVICE_CLASS). The
# snapshots record the newest release's class for that one sensor.
UPTIME: Any = getattr(SensorDeviceClass, "UPTIME", None)
BOOT_TIME_KEY = "last_boot"


class NormalisedSerializer(HomeAssistantSnapshotSerializer):
    """Home Assistant's serializer with the release-specific notation removed."""

    @classmethod
    def _serializable_state(cls, data: State) -> SerializableData:
        serialized: Any = super()._serializable_state(data)
        attributes = _plain_keys(data.attributes)
        if (
            UPTIME is None
            and data.entity_id.endswith(f"_{BOOT_TIME_KEY}")
            and attributes.get("device_class") == SensorDeviceClass.TIMESTAMP
        ):
            attributes["device_class"] = "uptime"
        serialized["attributes"] = ReadOnlyDict(attributes)
        return serialized

    @classmethod
    def _serializable_entity_registry_entry(
        cls, data: er.RegistryEntry
    ) -> SerializableData:
        serialized: Any = super()._serializable_entity_registry_entry(data)
        if data.capabilities is not None:
            serialized["capabilities"] = _plain_keys(data.capabilities)
        # Only the aliases a user gave; the entity's own name is implicit.
        serialized["aliases"] = sorted(a for a in data.aliases if isinstance(a, str))
        if (
            UPTIME is None
            and data.translation_key == BOOT_TIME_KEY
            and data.original_device_class == SensorDeviceClass.TIMESTAMP
        ):
            serialized["original_device_class"] = _NewestUptime()
        return serialized


def _plain_keys(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """The mapping with enum keys (such as EntityStateAttribute) as plain strings."""
    return {str(key): value for key, value in mapping.items()}


class _NewestUptime:
    """Stands for SensorDeviceClass.UPTIME on releases that lack it."""

    def __repr__(self) -> str:
        return "<SensorDeviceClass.UPTIME: 'uptime'>"


class NormalisedSnapshotExtension(HomeAssistantSnapshotExtension):
    """Home Assistant's snapshot format in tests/snapshots/, on every release."""

    serializer_class = NormalisedSerializer
