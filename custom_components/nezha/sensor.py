"""Sensors: per-server metrics, temperatures, ping latency and fleet counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    Platform,
    UnitOfDataRate,
    UnitOfInformation,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .client import (
    Billing,
    PingMonitor,
    Plan,
    Server,
    ServiceStatus,
    TransferQuota,
    next_expiry,
)
from .coordinator import NezhaConfigEntry, NezhaCoordinator, NezhaData
from .entity import (
    NezhaDashboardEntity,
    NezhaServerEntity,
    NezhaServiceEntity,
    SideDataEntity,
    add_entities_for_new_servers,
    add_entities_for_new_services,
    register_server_entities,
)
from .unique_id import ping_key, ping_stat_key, quota_key, temperature_key

PARALLEL_UPDATES = 0

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


@dataclass(frozen=True, kw_only=True)
class NezhaDashboardSensorDescription(SensorEntityDescription):
    """Describes one fleet-wide sensor."""

    value_fn: Callable[[NezhaData], int]


DASHBOARD_SENSORS: tuple[NezhaDashboardSensorDescription, ...] = (
    NezhaDashboardSensorDescription(
        key="servers_total",
        translation_key="servers_total",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: len(data.servers),
    ),
    NezhaDashboardSensorDescription(
        key="servers_online",
        translation_key="servers_online",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: sum(data.online.values()),
    ),
    NezhaDashboardSensorDescription(
        key="servers_offline",
        translation_key="servers_offline",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: len(data.online) - sum(data.online.values()),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NezhaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the dashboard sensors, then server sensors as servers appear."""
    coordinator = entry.runtime_data
    dashboard = [
        NezhaDashboardSensor(coordinator, description)
        for description in DASHBOARD_SENSORS
    ]
    budget = coordinator.entity_budget  # fleet-wide ones go first, unconditionally
    budget.take(Platform.SENSOR, budget.cost(Platform.SENSOR, dashboard))
    async_add_entities(dashboard)
    add_entities_for_new_servers(
        entry, async_add_entities, _server_entities, Platform.SENSOR
    )
    add_entities_for_new_services(
        entry, async_add_entities, NezhaServiceAvailabilitySensor, Platform.SENSOR
    )
    for service_description in SERVICE_SENSORS:
        add_entities_for_new_services(
            entry,
            async_add_entities,
            partial(NezhaServiceSensor, description=service_description),
            Platform.SENSOR,
        )


def _server_entities(
    coordinator: NezhaCoordinator, server: Server, known: set[str]
) -> Iterable[Entity]:
    # This runs for every server on every update, so the common case (nothing
    # new) is kept to a set lookup per key; ``known`` belongs to this server.
    for description in SERVER_SENSORS:
        key = description.key
        if key not in known and description.exists_fn(server):
            known.add(key)
            yield NezhaServerSensor(coordinator, server.id, description)
    if removed := coordinator.removed_temperatures.pop(server.id, None):
        known.difference_update(temperature_key(name) for name in removed)
    allowed = coordinator.temperatures.get(server.id, {})
    for temperature in server.state.temperatures:
        key = temperature_key(temperature.name)
        if key not in known and temperature.name in allowed:
            known.add(key)
            yield NezhaTemperatureSensor(coordinator, server.id, temperature.name)
    for monitor_id, monitor in coordinator.side.data.pings.get(server.id, {}).items():
        key = ping_key(monitor_id)
        if key not in known:
            known.add(key)
            yield NezhaPingSensor(coordinator, server.id, monitor)
    yield from _extra_server_entities(coordinator, server, known)


def _extra_server_entities(
    coordinator: NezhaCoordinator, server: Server, known: set[str]
) -> Iterable[Entity]:
    """Public-note, ping statistics and traffic-quota sensors of one server."""
    for description in NOTE_SENSORS:
        key = description.key
        if key not in known and description.exists_fn(server):
            known.add(key)
            yield NezhaNoteSensor(coordinator, server.id, description)
    for monitor_id, monitor in coordinator.side.data.pings.get(server.id, {}).items():
        for ping_description in PING_STAT_SENSORS:
            key = ping_stat_key(ping_description.key, monitor_id)
            if key not in known:
                known.add(key)
                yield NezhaPingStatSensor(
                    coordinator, server.id, monitor, ping_description
                )
    for quota in coordinator.side.data.quotas.values():
        if server.id not in quota.used:
            continue  # a rule that covers other servers, or none
        for quota_description in QUOTA_SENSORS:
            key = quota_key(quota.id, quota_description.key)
            if key not in known and quota_description.exists_fn(quota):
                known.add(key)
                yield NezhaQuotaSensor(coordinator, server.id, quota, quota_description)


register_server_entities(Platform.SENSOR, _server_entities)


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
        server = self.server
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


class NezhaPingSensor(SideDataEntity, NezhaServerEntity, SensorEntity):
    """Latency of one ping monitor from this server, from its newest point."""

    _attr_translation_key = "ping"
    _attr_device_class = SensorDeviceClass.DURATION
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = UnitOfTime.MILLISECONDS
    _attr_suggested_display_precision = 1

    def __init__(
        self, coordinator: NezhaCoordinator, server_id: int, monitor: PingMonitor
    ) -> None:
        """Bind to the monitor id; the name only feeds the entity name."""
        super().__init__(coordinator, server_id, ping_key(monitor.monitor_id))
        self._monitor_id = monitor.monitor_id
        self._attr_translation_placeholders = {"monitor": monitor.name}

    @property
    def native_value(self) -> float | None:
        """Return the newest delay; a lost probe (stored as 0) is unknown, not 0 ms."""
        pings = self.coordinator.side.data.pings
        monitor = pings.get(self.server_id, {}).get(self._monitor_id)
        return None if monitor is None else monitor.latest_delay


class NezhaDashboardSensor(NezhaDashboardEntity, SensorEntity):
    """A fleet-wide count on the dashboard device."""

    entity_description: NezhaDashboardSensorDescription

    def __init__(
        self,
        coordinator: NezhaCoordinator,
        description: NezhaDashboardSensorDescription,
    ) -> None:
        """Create the sensor from its description."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> int:
        """Return the count."""
        return self.entity_description.value_fn(self.coordinator.data)


class NezhaServiceAvailabilitySensor(NezhaServiceEntity, SensorEntity):
    """Share of a v1 service's checks that succeeded today (dashboard's local day)."""

    _attr_translation_key = "service_availability"
    _attr_native_unit_of_measurement = PERCENTAGE
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_suggested_display_precision = 2

    def __init__(self, coordinator: NezhaCoordinator, service: ServiceStatus) -> None:
        """Create the sensor for one service."""
        super().__init__(coordinator, service, "availability")

    @property
    def native_value(self) -> float | None:
        """Return today's availability, or None before the first check today."""
        service = self.service
        return None if service is None else service.availability_today


# -- Billing and plan data from the public note (v1/v2) -----------------------------


def _billing(server: Server) -> Billing | None:
    note = server.public_note
    return None if note is None else note.billing


def _plan(server: Server) -> Plan | None:
    note = server.public_note
    return None if note is None else note.plan


def _local_iso(moment: datetime | None) -> str | None:
    """A note's date as ISO 8601; a date without offset is local time."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt_util.get_default_time_zone())
    return moment.isoformat()


def _expiry(server: Server) -> datetime | None:
    billing = _billing(server)
    if billing is None:
        return None
    return next_expiry(billing, dt_util.now(), dt_util.get_default_time_zone())


def _billing_attributes(server: Server) -> dict[str, Any] | None:
    billing = _billing(server)
    if billing is None:
        return None
    return {
        "never_expires": billing.never_expires,
        "auto_renewal": billing.auto_renewal,
        "billing_cycle": billing.cycle or None,
        "amount": billing.amount or None,
        "start_date": _local_iso(billing.start),
        "end_date": _local_iso(billing.end),
    }


def _plan_summary(server: Server) -> str | None:
    """The plan's badges as the user frontend shows them, in one line."""
    plan = _plan(server)
    if plan is None:
        return None
    parts = [plan.bandwidth, plan.traffic_volume]
    parts += [name for name, has in (("IPv4", plan.ipv4), ("IPv6", plan.ipv6)) if has]
    summary = " · ".join(part for part in parts if part)
    return summary[:255] or None


def _plan_attributes(server: Server) -> dict[str, Any] | None:
    plan = _plan(server)
    if plan is None:
        return None
    return {
        "bandwidth": plan.bandwidth or None,
        "traffic_volume": plan.traffic_volume or None,
        "traffic_type": plan.traffic_type or None,
        "ipv4": plan.ipv4,
        "ipv6": plan.ipv6,
        "network_routes": list(plan.network_routes),
        "extra": list(plan.extra),
    }


@dataclass(frozen=True, kw_only=True)
class NezhaNoteSensorDescription(NezhaServerSensorDescription):
    """A sensor read from the public note; its other facts are attributes."""

    attributes_fn: Callable[[Server], dict[str, Any] | None]


NOTE_SENSORS: tuple[NezhaNoteSensorDescription, ...] = (
    NezhaNoteSensorDescription(
        key="expiry",
        translation_key="expiry",
        device_class=SensorDeviceClass.TIMESTAMP,
        requires_online=False,
        value_fn=_expiry,
        exists_fn=lambda s: _billing(s) is not None,
        attributes_fn=_billing_attributes,
    ),
    NezhaNoteSensorDescription(
        key="plan",
        translation_key="plan",
        entity_registry_enabled_default=False,
        requires_online=False,
        value_fn=_plan_summary,
        exists_fn=lambda s: _plan(s) is not None,
        attributes_fn=_plan_attributes,
    ),
)


class NezhaNoteSensor(NezhaServerSensor):
    """Expiry or plan of a server, from the billing data of its public note."""

    entity_description: NezhaNoteSensorDescription

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The other facts of the note (they change only when the note does)."""
        server = self.server
        return None if server is None else self.entity_description.attributes_fn(server)


# -- Ping statistics over the fetched window (24 h) ---------------------------------


@dataclass(frozen=True, kw_only=True)
class NezhaPingStatSensorDescription(SensorEntityDescription):
    """A statistic of one ping monitor's history from one server."""

    value_fn: Callable[[PingMonitor], float | None]


PING_STAT_SENSORS: tuple[NezhaPingStatSensorDescription, ...] = (
    NezhaPingStatSensorDescription(
        key="ping_average",
        translation_key="ping_average",
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        suggested_display_precision=1,
        entity_registry_enabled_default=False,
        value_fn=lambda m: m.average_delay,
    ),
    NezhaPingStatSensorDescription(
        key="ping_loss",
        translation_key="ping_loss",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        entity_registry_enabled_default=False,
        value_fn=lambda m: m.loss_percent,
    ),
)


class NezhaPingStatSensor(SideDataEntity, NezhaServerEntity, SensorEntity):
    """Average latency or loss of a ping monitor over the last 24 hours."""

    entity_description: NezhaPingStatSensorDescription

    def __init__(
        self,
        coordinator: NezhaCoordinator,
        server_id: int,
        monitor: PingMonitor,
        description: NezhaPingStatSensorDescription,
    ) -> None:
        """Bind to the monitor id; the name only feeds the entity name."""
        super().__init__(
            coordinator, server_id, ping_stat_key(description.key, monitor.monitor_id)
        )
        self.entity_description = description
        self._monitor_id = monitor.monitor_id
        self._attr_translation_placeholders = {"monitor": monitor.name}

    @property
    def native_value(self) -> float | None:
        """Return the statistic, or None without history."""
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


# -- Service monitors over the dashboard's 30 days (v1/v2) --------------------------


@dataclass(frozen=True, kw_only=True)
class NezhaServiceSensorDescription(SensorEntityDescription):
    """A figure of one service monitor."""

    value_fn: Callable[[ServiceStatus], float | None]


SERVICE_SENSORS: tuple[NezhaServiceSensorDescription, ...] = (
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
    """Availability or average latency of a service over the last 30 days."""

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
