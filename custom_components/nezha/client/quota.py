"""Traffic quotas: ``cycle_transfer_stats`` of ``GET /api/v1/service``.

Shape (``model/service_api.go`` ``CycleTransferStats``, filled by
``service/singleton/alertsentinel.go`` and ``model/rule.go`` ``Snapshot``)::

    "cycle_transfer_stats": {"<alert rule id>": {
        "name": str, "from": time, "to": time, "max": bytes, "min": bytes,
        "server_name": {"<server id>": str},      # these three maps are omitempty
        "transfer": {"<server id>": bytes},       # and filled together, per server,
        "next_update": {"<server id>": time}}}    # when the rule checks it

A rule appears for each enabled alert rule with a ``transfer_*_cycle`` rule;
``max`` is 0 when the rule sets no maximum. Since v2.1 the dashboard leaves out
the servers the token may not see, and a rule with none left.
"""

from collections.abc import Callable
from datetime import datetime
import re
from typing import Any

from .models import TransferQuota
from .parse import UINT64_MAX, FieldReader

_DECIMAL = re.compile(r"[0-9]{1,20}")


def _server_id(key: Any) -> int | None:
    if not isinstance(key, str) or not _DECIMAL.fullmatch(key):
        return None
    value = int(key)
    return value if 0 < value <= UINT64_MAX else None


type TimeParser = Callable[[Any], datetime | None]


def parse_quota(
    rule_key: Any, record: Any, parse_time: TimeParser
) -> TransferQuota | None:
    """Parse one rule; None when its id or body is unusable.

    ``parse_time`` reads the dashboard's RFC 3339 times (``v1.parse_time``).
    """
    rule_id = _server_id(rule_key)
    if rule_id is None or not isinstance(record, dict):
        return None
    reader = FieldReader(record, "cycle_transfer_stats", [])
    transfer = reader.obj("transfer") or {}
    used: dict[int, int] = {}
    for key, value in transfer.items():
        server_id = _server_id(key)
        if server_id is not None and type(value) is int and 0 <= value <= UINT64_MAX:
            used[server_id] = value
    limit = reader.uint("max")
    return TransferQuota(
        id=rule_id,
        name=reader.text("name") or f"Rule {rule_id}",
        cycle_start=parse_time(record.get("from")),
        cycle_end=parse_time(record.get("to")),
        limit=limit or None,
        used=used,
    )


def parse_quotas(data: Any, parse_time: TimeParser) -> dict[int, TransferQuota]:
    """Parse the ``cycle_transfer_stats`` map (absent when there is no such rule)."""
    if not isinstance(data, dict):
        return {}
    quotas = (parse_quota(key, record, parse_time) for key, record in data.items())
    return {q.id: q for q in sorted((q for q in quotas if q), key=lambda q: q.id)}
