"""The simulated dashboard's scheduled tasks: list, manual trigger, scopes, allow-lists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import ClientSession
import pytest

from nezha_dev.simulator import NezhaSimulator

pytestmark = pytest.mark.usefixtures("socket_enabled")

CRON_SCOPES = (
    "nezha:inventory:read",
    "nezha:service:read",
    "nezha:server:read",
    "nezha:cron:read",
    "nezha:cron:exec",
)


@pytest.fixture
async def sim() -> AsyncIterator[NezhaSimulator]:
    """A v2.3.7 dashboard whose main token may list and run tasks."""
    simulator = NezhaSimulator(generation="v1", servers=3, scopes=CRON_SCOPES)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def call(
    sim: NezhaSimulator, method: str, path: str, token: str | None = None
) -> tuple[int, Any]:
    """One request with a PAT; the status and the JSON body."""
    headers = {"Authorization": f"Bearer {token or sim.token}"}
    async with (
        ClientSession() as session,
        session.request(method, sim.url + path, headers=headers) as response,
    ):
        return response.status, await response.json(content_type=None)


async def test_list_shape_and_order(sim: NezhaSimulator) -> None:
    """``model.Cron`` with omitempty; trigger tasks have no schedule or job id."""
    backup = sim.add_cron("Backup", servers=[1, 2], command="tar czf /b.tgz /srv")
    alert = sim.add_cron("Restart on alert", task_type=1, cover=2)
    status, body = await call(sim, "GET", "/api/v1/cron")
    assert status == 200
    assert [task["id"] for task in body["data"]] == [backup, alert]
    first, second = body["data"]
    assert first["name"] == "Backup"
    assert first["scheduler"] == "0 0 3 * * *"
    assert first["command"] == "tar czf /b.tgz /srv"
    assert first["servers"] == [1, 2]
    assert first["cover"] == 0
    assert first["cron_job_id"] == 1
    assert first["last_executed_at"] == "0001-01-01T00:00:00Z"
    assert "last_result" not in first
    assert "push_successful" not in first
    assert (second["task_type"], second["cover"], second["scheduler"]) == (1, 2, "")
    assert "cron_job_id" not in second
    assert "command" not in second


async def test_empty_list_has_no_data(sim: NezhaSimulator) -> None:
    """An empty list is ``{"success":true}`` (Data omitted)."""
    assert await call(sim, "GET", "/api/v1/cron") == (200, {"success": True})


async def test_manual_trigger(sim: NezhaSimulator) -> None:
    """Success has no data; unknown ids and bad ids are HTTP 200 errors."""
    backup = sim.add_cron("Backup", servers=[1])
    assert await call(sim, "POST", f"/api/v1/cron/{backup}/manual") == (
        200,
        {"success": True},
    )
    assert sim.cron_runs == [backup]
    _, body = await call(sim, "GET", "/api/v1/cron")
    assert body["data"][0]["last_executed_at"] != "0001-01-01T00:00:00Z"
    assert body["data"][0]["last_result"] is True
    assert await call(sim, "POST", "/api/v1/cron/0/manual") == (
        200,
        {"error": "task id 0 does not exist"},
    )
    status, body = await call(sim, "POST", "/api/v1/cron/x/manual")
    assert (status, body["error"]) == (
        200,
        'strconv.ParseUint: parsing "x": invalid syntax',
    )
    # POST only (the CSRF fix): a GET is gin's 404.
    assert await call(sim, "GET", f"/api/v1/cron/{backup}/manual") == (
        404,
        {"error": "404 Not Found"},
    )
    assert sim.cron_runs == [backup]


async def test_alert_trigger_task_does_nothing_when_run_by_hand(
    sim: NezhaSimulator,
) -> None:
    """Cover 2 needs an alerting server; a manual trigger succeeds but runs nothing."""
    task = sim.add_cron("Restart on alert", task_type=1, cover=2)
    assert await call(sim, "POST", f"/api/v1/cron/{task}/manual") == (
        200,
        {"success": True},
    )
    assert sim.cron_runs == []
    with pytest.raises(ValueError, match="scheduled task"):
        sim.add_cron("Nonsense", task_type=0, cover=2)


async def test_scopes(sim: NezhaSimulator) -> None:
    """Listing needs nezha:cron:read, running nezha:cron:exec; no strike for either."""
    task = sim.add_cron("Backup")
    reader = sim.add_token(scopes=["nezha:cron:read"])
    runner = sim.add_token(scopes=["nezha:cron:exec"])
    status, body = await call(sim, "POST", f"/api/v1/cron/{task}/manual", reader)
    assert (status, body) == (
        403,
        {"error": "ApiErrorForbidden: api token lacks scope nezha:cron:exec"},
    )
    status, body = await call(sim, "GET", "/api/v1/cron", runner)
    assert (status, body) == (
        403,
        {"error": "ApiErrorForbidden: api token lacks scope nezha:cron:read"},
    )
    assert (await call(sim, "GET", "/api/v1/cron", reader))[0] == 200
    wildcard = sim.add_token(scopes=["nezha:cron:*"])
    assert await call(sim, "POST", f"/api/v1/cron/{task}/manual", wildcard) == (
        200,
        {"success": True},
    )
    assert sim.waf_strikes() == 0
    assert sim.cron_runs == [task]


async def test_server_allow_list(sim: NezhaSimulator) -> None:
    """A limited token sees and runs only tasks that stay within its servers."""
    inside = sim.add_cron("Only 1", servers=[1])
    outside = sim.add_cron("Only 3", servers=[3])
    all_but_3 = sim.add_cron("All but 3", servers=[3], cover=1)
    everywhere = sim.add_cron("Everywhere", cover=1)
    limited = sim.add_token(
        scopes=["nezha:cron:read", "nezha:cron:exec"], server_ids=[1, 2]
    )
    _, body = await call(sim, "GET", "/api/v1/cron", limited)
    assert [t["id"] for t in body["data"]] == [inside, all_but_3]
    for denied in (outside, everywhere):
        assert await call(sim, "POST", f"/api/v1/cron/{denied}/manual", limited) == (
            200,
            {"error": "permission denied"},
        )
    assert (await call(sim, "POST", f"/api/v1/cron/{inside}/manual", limited))[1] == {
        "success": True
    }
    assert sim.cron_runs == [inside]


async def test_admin_api(sim: NezhaSimulator) -> None:
    """``POST /_sim/crons`` creates a task; bad bodies are refused."""
    async with ClientSession() as session:
        async with session.post(
            sim.url + "/_sim/crons", json={"name": "Demo", "servers": [1]}
        ) as response:
            assert response.status == 201
            created = (await response.json())["id"]
        for bad in (
            {"servers": [1]},
            {"name": "x", "servers": "1"},
            {"name": "x", "cover": "1"},
            {"name": "x", "cover": 2},
        ):
            async with session.post(sim.url + "/_sim/crons", json=bad) as response:
                assert response.status == 400, bad
        async with session.get(sim.url + "/_sim/state") as response:
            state = await response.json()
    assert [task["id"] for task in state["v1"]["crons"]] == [created]
    sim.remove_cron(created)
    assert await call(sim, "GET", "/api/v1/cron") == (200, {"success": True})
