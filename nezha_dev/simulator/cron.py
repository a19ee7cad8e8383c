"""Scheduled tasks of the v1/v2 dashboard: ``GET /cron`` and ``POST /cron/:id/manual``.

Source: ``nezhahq/nezha`` v2.3.7, ``cmd/dashboard/controller/cron.go`` and
``controller.go:166-170`` (scopes ``nezha:cron:read`` / ``nezha:cron:exec``, the
auth group: a PAT only, no guests), ``model/cron.go`` (JSON shape and
``HasPermission`` with a PAT's server allow-list) and
``service/singleton/crontask.go`` (a manual trigger of an "alert trigger" task
does nothing). Handler errors are HTTP 200 with the English text here.
"""

from dataclasses import dataclass, field
import math
from typing import TYPE_CHECKING, Any, Final, TypedDict, Unpack

from aiohttp import web

from .encoding import NANOS, go_time, json_response
from .v1_render import Viewer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .fleet import Fleet

SCOPE_CRON_READ: Final = "nezha:cron:read"
SCOPE_CRON_EXEC: Final = "nezha:cron:exec"
COVER_ONLY: Final = 0  # Servers is an allow-list
COVER_ALL_BUT: Final = 1  # Servers is a deny-list
COVER_ALERT_TRIGGER: Final = 2  # the server that triggered the alert


class CronOptions(TypedDict, total=False):
    """Optional settings of a new task."""

    task_type: int  # 0 scheduled (default), 1 triggered by an alert
    scheduler: str | None  # None: 03:00 daily for a scheduled task, none otherwise
    command: str  # ""
    servers: Iterable[int]  # none
    cover: int  # COVER_ONLY on servers, COVER_ALL_BUT them, COVER_ALERT_TRIGGER


@dataclass(slots=True)
class SimCron:
    """One row of the ``crons`` table."""

    id: int
    name: str
    task_type: int
    scheduler: str
    command: str
    servers: list[int]
    cover: int
    created: int  # ns
    push_successful: bool = False
    notification_group_id: int = 0
    last_executed: int | None = None  # ns; None = the zero time
    last_result: bool = False
    job_id: int = 0  # robfig/cron entry id; only scheduled tasks have one

    def json(self) -> dict[str, Any]:
        """``model.Cron`` as ``listCron`` serialises it (``omitempty`` kept)."""
        data: dict[str, Any] = {
            "id": self.id,
            "created_at": go_time(self.created),
            "updated_at": go_time(self.created),
            "name": self.name,
            "task_type": self.task_type,
            "scheduler": self.scheduler,
        }
        if self.command:
            data["command"] = self.command
        data["servers"] = list(self.servers)
        if self.push_successful:
            data["push_successful"] = True
        data["notification_group_id"] = self.notification_group_id
        # omitempty does not apply to a struct: the zero time is written out.
        data["last_executed_at"] = go_time(self.last_executed)
        if self.last_result:
            data["last_result"] = True
        data["cover"] = self.cover
        if self.job_id:
            data["cron_job_id"] = self.job_id
        return data


@dataclass
class CronTable:
    """The dashboard's tasks and the manual runs they had."""

    clock: Callable[[], float]
    tasks: dict[int, SimCron] = field(default_factory=dict)
    runs: list[int] = field(default_factory=list)
    """Ids of the tasks a manual trigger dispatched, in order."""
    _next_id: int = 1
    _next_job: int = 1

    def add(self, name: str, **options: Unpack[CronOptions]) -> int:
        """Create a task like the admin UI does; returns its id.

        The schedule defaults to 03:00 daily for a scheduled task (robfig/cron
        with seconds), and to none for a trigger task.
        """
        task_type = options.get("task_type", 0)
        cover = options.get("cover", COVER_ONLY)
        scheduler = options.get("scheduler")
        if task_type == 0 and cover == COVER_ALERT_TRIGGER:
            # createCron: "scheduled tasks cannot be triggered by alarms"
            raise ValueError("a scheduled task cannot run on the alerting server")
        task = SimCron(
            id=self._next_id,
            name=name,
            task_type=task_type,
            scheduler=("0 0 3 * * *" if task_type == 0 else "")
            if scheduler is None
            else scheduler,
            command=options.get("command", ""),
            servers=list(options.get("servers", ())),
            cover=cover,
            created=math.floor(self.clock() * NANOS),
        )
        if task_type == 0:
            task.job_id = self._next_job
            self._next_job += 1
        self._next_id += 1
        self.tasks[task.id] = task
        return task.id

    def remove(self, cron_id: int) -> None:
        """Delete a task (``batch-delete/cron``)."""
        del self.tasks[cron_id]


def permitted(task: SimCron, viewer: Viewer, fleet: Fleet) -> bool:
    """``Cron.HasPermission`` for the admin's tokens (the server allow-list only).

    Every simulated server belongs to the admin, so a deny-list task fans out to
    the whole fleet: each server outside the allow-list must be denied.
    """
    token = viewer.token
    if token is None or not token.server_ids:
        return True
    if task.cover == COVER_ALL_BUT:
        denied = set(task.servers)
        return all(token.can_access(sid) or sid in denied for sid in fleet.servers)
    return all(token.can_access(sid) for sid in task.servers)


def dispatch(task: SimCron, table: CronTable, fleet: Fleet) -> None:
    """``ManualTrigger``: send the command to the task's servers (recorded)."""
    if task.cover == COVER_ALERT_TRIGGER:
        return  # no triggering server: nothing happens
    listed = set(task.servers)
    targets = [
        sid for sid in fleet.servers if (sid in listed) == (task.cover == COVER_ONLY)
    ]
    table.runs.append(task.id)
    if targets:
        task.last_executed = math.floor(table.clock() * NANOS)
        task.last_result = all(fleet.servers[sid].online for sid in targets)


def task_list(table: CronTable, viewer: Viewer, fleet: Fleet) -> list[dict[str, Any]]:
    """``listHandler(listCron)``: sorted by id, filtered by permission."""
    return [
        table.tasks[cid].json()
        for cid in sorted(table.tasks)
        if permitted(table.tasks[cid], viewer, fleet)
    ]


def trigger(
    table: CronTable, fleet: Fleet, viewer: Viewer, text: str, parse_error: str | None
) -> str | None:
    """``manualTriggerCron``: the error text, or ``None`` after dispatching."""
    if parse_error is not None:
        return parse_error
    task = table.tasks.get(int(text))
    if task is None:
        return f"task id {int(text)} does not exist"
    if not permitted(task, viewer, fleet):
        return "permission denied"  # HasPermission, then the dispatch-scope check
    dispatch(task, table, fleet)
    return None


def routes(
    *,
    auth: Callable[..., Viewer | web.Response],
    table: CronTable,
    fleet: Callable[[], Fleet],
    parse_uint_error: Callable[[str], str | None],
    ok: Callable[[object], web.Response],
    fail: Callable[[str], web.Response],
) -> list[tuple[str, str, Callable[[web.Request], Any]]]:
    """The two routes, bound to the v1 routes' auth and envelope helpers."""

    async def list_cron(request: web.Request) -> web.Response:
        viewer = auth(request, strict=True, scope=SCOPE_CRON_READ)
        if isinstance(viewer, web.Response):
            return viewer
        return ok(task_list(table, viewer, fleet()))

    async def manual(request: web.Request) -> web.Response:
        viewer = auth(request, strict=True, scope=SCOPE_CRON_EXEC)
        if isinstance(viewer, web.Response):
            return viewer
        text = request.match_info["id"]
        error = trigger(table, fleet(), viewer, text, parse_uint_error(text))
        if error is not None:
            return fail(error)
        return json_response({"success": True})  # Data: nil is omitted

    return [
        ("GET", "/api/v1/cron", list_cron),
        ("POST", "/api/v1/cron/{id}/manual", manual),
    ]
