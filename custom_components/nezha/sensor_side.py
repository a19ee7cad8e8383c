"""Sensors of the side data: ping latency and statistics, traffic quotas, services."""

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
    UnitOfInformation,
    UnitOfTime,
)
from homeassistant.helpers.typing import StateType

from .client import PingMonitor, ServiceStatus, TransferQuota
from .coordinator import NezhaCoordinator
from .entity import NezhaServerEntity, NezhaServiceEntity, SideDataEntity
from .unique_id import ping_key, quota_key

# -- Ping monitors: the newest point and statistics over the fetched window (24 h) --


@dataclass(frozen=True, kw_only=True)
class NezhaPingSensorDescription(SensorEntityDescription):
    """A figure of one ping monitor's history from one server."""

    value_fn: Callable[[PingMonitor], float | None]


PING_SENSORS: tuple[NezhaPingSensorDescription, ...] = (
    NezhaPingSensorDescription(
        key="ping",
        translation_key="ping",
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        suggested_display_precision=1,
        # A lost probe (stored as 0) is unknown, not 0 ms.
        value_fn=lambda m: m.latest_delay,
    ),
    NezhaPingSensorDescription(
        key="ping_average",
        translation_key="ping_average",
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        suggested_display_precision=1,
        entity_registry_enabled_default=False,
        value_fn=lambda m: m.average_delay,
    ),
    NezhaPingSensorDescription(
        key="ping_loss",
        translation_key="ping_loss",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        entity_registry_enabled_default=False,
        value_fn=lambda m: m.loss_percent,
    ),
)


class NezhaPingSensor(SideDataEntity, NezhaServerEntity, SensorEntity):
    """Latest latency, or average latency or loss over 24 h, of a ping monitor."""

    entity_description: NezhaPingSensorDescription

    def __init__(
        self,
        coordinator: NezhaCoordinator,
        server_id: int,
        monitor: PingMonitor,
        description: NezhaPingSensorDescription,
    ) -> None:
        """Bind to the monitor id; the name only feeds the entity name."""
        super().__init__(
            coordinator, server_id, ping_key(description.key, monitor.monitor_id)
        )
        self.entity_description = description
        self._monitor_id = monitor.monitor_id
        self._attr_translation_placeholders = {"monitor": monitor.name}

    @property
    def native_value(self) -> float | None:
        """Return the figure, or None without history."""
        pings = self.coordinator.side.data.pings
        monitor = pings.get(self.server_id, {}).get(self._monitor_id)
        return None if monitor is None else self.entity_description.value_fn(monitor)


# -- Traffic quotas: cycle-transfer alert rules (v1/v2) -----------------------------


@dataclass(frozen=True, kw_only=True)
class NezhaQuotaSensorDescription(SensorEntityDescription):
    """One figure of a traffic quota for one of the servers it covers."""

    value_fn: Callable[[TransferQuota, int], StateType | datetime]
    exists_fn: Callable[[TransferQuota], bool] = lambda _: True


def _quota_usage(quota: TransferQuota, server_id: int) -> float | None:
    used = quota.used.get(server_id)
    if used is None or not quota.limit:
        return None
    return round(100 * used / quota.limit, 2)


QUOTA_SENSORS: tuple[NezhaQuotaSensorDescription, ...] = (
    NezhaQuotaSensorDescription(
        key="used",
        translation_key="quota_used",
        device_class=SensorDeviceClass.DATA_SIZE,
        # The count restarts with each cycle, which last_reset tells.
        state_class=SensorStateClass.TOTAL,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.GIBIBYTES,
        suggested_display_precision=2,
        value_fn=lambda quota, sid: quota.used.get(sid),
    ),
    NezhaQuotaSensorDescription(
        key="usage",
        translation_key="quota_usage",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=_quota_usage,
        exists_fn=lambda quota: quota.limit is not None,
    ),
    NezhaQuotaSensorDescription(
        key="limit",
        translation_key="quota_limit",
        device_class=SensorDeviceClass.DATA_SIZE,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.GIBIBYTES,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda quota, _: quota.limit,
        exists_fn=lambda quota: quota.limit is not None,
    ),
    NezhaQuotaSensorDescription(
        key="cycle_end",
        translation_key="quota_cycle_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_registry_enabled_default=False,
        value_fn=lambda quota, _: quota.cycle_end,
    ),
)


class NezhaQuotaSensor(SideDataEntity, NezhaServerEntity, SensorEntity):
    """Traffic used by one server under one quota rule, keyed by the rule's id."""

    entity_description: NezhaQuotaSensorDescription
    requires_online = False  # the dashboard keeps counting for offline servers

    def __init__(
        self,
        coordinator: NezhaCoordinator,
        server_id: int,
        quota: TransferQuota,
        description: NezhaQuotaSensorDescription,
    ) -> None:
        """Bind to the rule id; its name only feeds the entity name."""
        super().__init__(coordinator, server_id, quota_key(quota.id, description.key))
        self.entity_description = description
        self.rule_id = quota.id
        self._attr_translation_placeholders = {"rule": quota.name}

    @property
    def quota(self) -> TransferQuota | None:
        """Return the rule's latest figures, or None when the rule is gone."""
        return self.coordinator.side.data.quotas.get(self.rule_id)

    @property
    def available(self) -> bool:
        """Unavailable once the rule no longer covers the server (or is deleted)."""
        quota = self.quota
        return super().available and quota is not None and self.server_id in quota.used

    @property
    def native_value(self) -> StateType | datetime:
        """Return the figure, or None when the dashboard no longer reports it."""
        quota = self.quota
        return (
            None
            if quota is None
            else self.entity_description.value_fn(quota, self.server_id)
        )

    @property
    def last_reset(self) -> datetime | None:
        """The start of the current cycle, for the total of traffic used."""
        if self.entity_description.state_class is not SensorStateClass.TOTAL:
            return None
        quota = self.quota
        return None if quota is None else quota.cycle_start


# -- Service monitors (v1/v2) ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NezhaServiceSensorDescription(SensorEntityDescription):
    """A figure of one service monitor."""

    value_fn: Callable[[ServiceStatus], float | None]


SERVICE_SENSORS: tuple[NezhaServiceSensorDescription, ...] = (
    NezhaServiceSensorDescription(
        key="availability",
        translation_key="service_availability",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        # The dashboard's local day.
        value_fn=lambda s: s.availability_today,
    ),
    NezhaServiceSensorDescription(
        key="availability_30d",
        translation_key="service_availability_30d",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda s: s.availability_30d,
    ),
    NezhaServiceSensorDescription(
        key="latency_30d",
        translation_key="service_latency_30d",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda s: s.delay_30d,
    ),
)


class NezhaServiceSensor(NezhaServiceEntity, SensorEntity):
    """Availability today or over 30 days, or average latency over 30 days, of a service."""

    entity_description: NezhaServiceSensorDescription

    def __init__(
        self,
        coordinator: NezhaCoordinator,
        service: ServiceStatus,
        *,
        description: NezhaServiceSensorDescription,
    ) -> None:
        """Create the sensor for one service."""
        super().__init__(coordinator, service, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> float | None:
        """Return the figure, or None before the first check."""
        service = self.service
        return None if service is None else self.entity_description.value_fn(service)
