"""Scheduled tasks ("cron") of a v1/v2 dashboard, which a token may run on demand.

``GET /api/v1/cron`` needs the scope ``nezha:cron:read`` and
``POST /api/v1/cron/:id/manual`` needs ``nezha:cron:exec``
(``cmd/dashboard/controller/controller.go`` since v2.1.0, when personal tokens
came). A token without a scope gets HTTP 403 ``ApiErrorForbidden: api token lacks
scope …``, which is not a WAF strike. The manual trigger answers
``{"success":true}``, or HTTP 200 with a (localised) ``error`` such as
``task id 9 does not exist`` or ``permission denied``.
"""

from dataclasses import dataclass
from typing import Any, Final

from .parse import FieldReader

CRON_PATH: Final = "/api/v1/cron"
CRON_TRIGGER_PATH: Final = "/api/v1/cron/{cron_id}/manual"
SCOPE_CRON_READ: Final = "nezha:cron:read"
SCOPE_CRON_EXEC: Final = "nezha:cron:exec"
# gorm ids start at 1: a trigger of task 0 passes the scope check and then
# finds no task, so it tells whether the token may run tasks without running one.
PROBE_CRON_ID: Final = 0
# model/cron.go: Cover 2 = "run on the server that triggered the alert"; a manual
# trigger has no such server and does nothing (service/singleton/crontask.go).
COVER_ALERT_TRIGGER: Final = 2


@dataclass(frozen=True, slots=True)
class CronTask:
    """One scheduled or trigger task."""

    id: int
    name: str
    task_type: int
    """0: scheduled task, 1: trigger task (``model.CronTypeCronTask/TriggerTask``)."""
    scheduler: str
    cover: int

    @property
    def runs_on_demand(self) -> bool:
        """Whether a manual trigger does anything (not "the alerting server")."""
        return self.cover != COVER_ALERT_TRIGGER


def parse_cron(record: Any) -> CronTask | None:
    """Parse one ``model.Cron``; None when it has no usable id."""
    if not isinstance(record, dict):
        return None
    reader = FieldReader(record, "cron", [])
    cron_id = reader.uint("id")
    if not cron_id:
        return None
    return CronTask(
        id=cron_id,
        name=reader.text("name") or f"Task {cron_id}",
        task_type=reader.integer("task_type"),
        scheduler=reader.text("scheduler"),
        cover=reader.integer("cover"),
    )
