"""Sensors of a server's public note (v1/v2): billing and plan."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.util import dt as dt_util

from .client import Billing, Plan, Server, next_expiry
from .sensor_server import NezhaServerSensor, NezhaServerSensorDescription


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
