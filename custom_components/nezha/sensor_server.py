"""Sensors of a server's own metrics: the descriptions and the entities."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfDataRate,
    UnitOfInformation,
    UnitOfTemperature,
)
from homeassistant.helpers.typing import StateType

from .client import Server
from .coordinator import NezhaCoordinator
from .entity import NezhaServerEntity
from .unique_id import temperature_key

# Added in Home Assistant 2026.5; it tolerates small drift of boot timestamps.
BOOT_TIME_DEVICE_CLASS = getattr(
    SensorDeviceClass, "UPTIME", SensorDeviceClass.TIMESTAMP
)


def percent(used: int | None, total: int | None) -> float | None:
    """Return used/total in percent, or None when either is unknown or total is 0."""
    if used is None or not total:
        return None
    return used * 100 / total


@dataclass(frozen=True, kw_only=True)
class NezhaServerSensorDescription(SensorEntityDescription):
    """Describes one sensor of a server."""

    value_fn: Callable[[Server], StateType | datetime]
    exists_fn: Callable[[Server], bool] = lambda _: True
    requires_online: bool = True


def _bytes(
    key: str,
    translation_key: str,
    value_fn: Callable[[Server], int | None],
    *,
    total: bool = False,
    enabled: bool = True,
) -> NezhaServerSensorDescription:
    return NezhaServerSensorDescription(
        key=key,
        translation_key=translation_key,
        device_class=SensorDeviceClass.DATA_SIZE,
        state_class=SensorStateClass.TOTAL_INCREASING
        if total
        else SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.GIBIBYTES,
        suggested_display_precision=2,
        entity_registry_enabled_default=enabled,
        value_fn=value_fn,
    )


def _rate(
    key: str, value_fn: Callable[[Server], int | None]
) -> NezhaServerSensorDescription:
    return NezhaServerSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.DATA_RATE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfDataRate.BYTES_PER_SECOND,
        # Connection plans and speed tests are quoted in Mbit/s.
        suggested_unit_of_measurement=UnitOfDataRate.MEGABITS_PER_SECOND,
        suggested_display_precision=2,
        value_fn=value_fn,
    )


def _percent(
    key: str,
    value_fn: Callable[[Server], float | None],
    *,
    enabled: bool = True,
    exists_fn: Callable[[Server], bool] = lambda _: True,
) -> NezhaServerSensorDescription:
    return NezhaServerSensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        entity_registry_enabled_default=enabled,
        value_fn=value_fn,
        exists_fn=exists_fn,
    )


def _count(
    key: str, value_fn: Callable[[Server], int | None]
) -> NezhaServerSensorDescription:
    return NezhaServerSensorDescription(
        key=key,
        translation_key=key,
        state_class=SensorStateClass.MEASUREMENT,
        entity_registry_enabled_default=False,
        value_fn=value_fn,
    )


def _load(
    key: str, value_fn: Callable[[Server], float | None], *, enabled: bool
) -> NezhaServerSensorDescription:
    return NezhaServerSensorDescription(
        key=key,
        translation_key=key,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        entity_registry_enabled_default=enabled,
        value_fn=value_fn,
    )


def _fact(
    key: str, value_fn: Callable[[Server], str | None]
) -> NezhaServerSensorDescription:
    """A static fact of the machine, created once the agent reported it."""
    return NezhaServerSensorDescription(
        key=key,
        translation_key=key,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        requires_online=False,
        value_fn=value_fn,
        exists_fn=lambda s: value_fn(s) is not None,
    )


def _highest_temperature(server: Server) -> float | None:
    temps = server.state.temperatures
    return max(t.celsius for t in temps) if temps else None


SERVER_SENSORS: tuple[NezhaServerSensorDescription, ...] = (
    _percent("cpu_usage", lambda s: s.state.cpu),
    _percent("memory_usage", lambda s: percent(s.state.mem_used, s.host.mem_total)),
    _bytes("memory_used", "memory_used", lambda s: s.state.mem_used, enabled=False),
    _percent(
        "swap_usage",
        lambda s: percent(s.state.swap_used, s.host.swap_total),
        enabled=False,
    ),
    _percent("disk_usage", lambda s: percent(s.state.disk_used, s.host.disk_total)),
    _bytes("disk_used", "disk_used", lambda s: s.state.disk_used, enabled=False),
    _rate("download_speed", lambda s: s.state.net_in_speed),
    _rate("upload_speed", lambda s: s.state.net_out_speed),
    # Agent counters restart from zero with the agent; TOTAL_INCREASING handles that.
    _bytes("downloaded", "downloaded", lambda s: s.state.net_in_transfer, total=True),
    _bytes("uploaded", "uploaded", lambda s: s.state.net_out_transfer, total=True),
    _load("load_1", lambda s: s.state.load_1, enabled=True),
    _load("load_5", lambda s: s.state.load_5, enabled=False),
    _load("load_15", lambda s: s.state.load_15, enabled=False),
    _count("tcp_connections", lambda s: s.state.tcp_conn_count),
    _count("udp_connections", lambda s: s.state.udp_conn_count),
    _count("processes", lambda s: s.state.process_count),
    _percent(
        "gpu_usage",
        lambda s: max(s.state.gpu) if s.state.gpu else None,
        exists_fn=lambda s: bool(s.host.gpu),
    ),
    NezhaServerSensorDescription(
        key="highest_temperature",
        translation_key="highest_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        value_fn=_highest_temperature,
        exists_fn=lambda s: bool(s.state.temperatures),
    ),
    NezhaServerSensorDescription(
        key="last_boot",
        translation_key="last_boot",
        device_class=BOOT_TIME_DEVICE_CLASS,
        entity_category=EntityCategory.DIAGNOSTIC,
        requires_online=False,
        value_fn=lambda s: s.host.boot_time,
    ),
    NezhaServerSensorDescription(
        key="last_seen",
        translation_key="last_seen",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        # It changes with every report, so it would write a state on every poll.
        entity_registry_enabled_default=False,
        requires_online=False,
        value_fn=lambda s: s.last_active,
    ),
    NezhaServerSensorDescription(
        key="ip_address",
        translation_key="ip_address",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        requires_online=False,
        value_fn=lambda s: s.valid_ip or None,
    ),
    _fact("architecture", lambda s: s.host.arch or None),
    _fact("virtualization", lambda s: s.host.virtualization or None),
    _fact("country", lambda s: s.host.country_code.upper() or None),
)


class NezhaServerSensor(NezhaServerEntity, SensorEntity):
    """A metric of one server."""

    entity_description: NezhaServerSensorDescription

    def __init__(
        self,
        coordinator: NezhaCoordinator,
        server_id: int,
        description: NezhaServerSensorDescription,
    ) -> None:
        """Create the sensor from its description."""
        super().__init__(coordinator, server_id, description.key)
        self.entity_description = description
        self.requires_online = description.requires_online

    @property
    def native_value(self) -> StateType | datetime:
        """Return the value, or None when the dashboard did not report it."""
        # ``server``'s lookup without its property call: read twice per update.
        server = self.coordinator.data.servers.get(self.server_id)
        return None if server is None else self.entity_description.value_fn(server)


class NezhaTemperatureSensor(NezhaServerEntity, SensorEntity):
    """One temperature sensor an agent reports; created when first seen."""

    _attr_translation_key = "temperature"
    _attr_device_class = SensorDeviceClass.TEMPERATURE
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = UnitOfTemperature.CELSIUS
    _attr_suggested_display_precision = 1
    # Agents report many sensors; "highest temperature" is the one enabled by default.
    _attr_entity_registry_enabled_default = False

    def __init__(
        self, coordinator: NezhaCoordinator, server_id: int, name: str
    ) -> None:
        """Bind to the sensor's name as the agent reports it."""
        super().__init__(coordinator, server_id, temperature_key(name))
        self._sensor_name = name
        self._attr_translation_placeholders = {"sensor": name}

    @property
    def native_value(self) -> float | None:
        """Return the reading, or None when the agent stopped reporting it."""
        server = self.server
        if server is None:
            return None
        for temperature in server.state.temperatures:
            if temperature.name == self._sensor_name:
                return temperature.celsius
        return None
