"""The v1 client's scheduled tasks against the simulator: list, run, probe the scope."""

from aiohttp import ClientSession, web
import pytest

from custom_components.nezha.client import (
    NezhaAuthError,
    NezhaProxyHeaderError,
    NezhaRefusedError,
    NezhaResponseError,
    NezhaScopeError,
    NezhaTokenError,
    NezhaV1Client,
    NezhaWafBlockedError,
)
from custom_components.nezha.client.cron import CronTask, parse_cron
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.client.common import expect, serve
from tests.config_flow.helpers import CRON_SCOPES, SCOPES
from tests.helpers import PAT, register_secret

# The client conftest's dashboard (v2.3.7), whose main token may list and run tasks.
CRON_SIM = pytest.mark.parametrize("sim", [{"scopes": CRON_SCOPES}], indirect=True)


def v1(session: ClientSession, sim: NezhaSimulator, token: str) -> NezhaV1Client:
    """A client for the simulator with ``token``."""
    return NezhaV1Client(session, sim.url, token)


@CRON_SIM
async def test_list_and_trigger(session: ClientSession, sim: NezhaSimulator) -> None:
    """Tasks in id order with all fields; a run is one POST; a refusal keeps its reason."""
    client = v1(session, sim, PAT)
    assert await client.async_get_crons() == []
    backup = sim.add_cron('Backup "db"', servers=[1, 2])
    alert = sim.add_cron("Restart on alert", task_type=1, cover=2)
    tasks = await client.async_get_crons()
    assert tasks == [
        CronTask(backup, 'Backup "db"', 0, "0 0 3 * * *", 0),
        CronTask(alert, "Restart on alert", 1, "", 2),
    ]
    assert [task.runs_on_demand for task in tasks] == [True, False]
    await client.async_trigger_cron(backup)
    assert sim.cron_runs == [backup]
    last = sim.requests[-1]
    assert (last.method, last.path) == ("POST", f"/api/v1/cron/{backup}/manual")
    err = await expect(NezhaRefusedError, client.async_trigger_cron(99))
    assert err.reason == "task id 99 does not exist"
    assert sim.cron_runs == [backup]


@CRON_SIM
async def test_scope_and_failures(session: ClientSession, sim: NezhaSimulator) -> None:
    """Task 0 tells whether the token may run tasks; failures keep their types."""
    assert await v1(session, sim, PAT).async_can_trigger_crons()
    reader = sim.add_token(scopes=(*SCOPES, "nezha:cron:read"))
    client = v1(session, sim, reader)
    assert not await client.async_can_trigger_crons()
    await expect(NezhaScopeError, client.async_trigger_cron(1))
    runner = sim.add_token(scopes=("nezha:cron:exec",))
    assert await v1(session, sim, runner).async_can_trigger_crons()
    await expect(NezhaScopeError, v1(session, sim, runner).async_get_crons())
    assert sim.waf_strikes() == 0
    # Auth, WAF and proxy failures keep their types; a bad answer stays generic.
    backup = sim.add_cron("Backup")
    wrong = register_secret("nzp_Wr0ngT0kenA1b2C3d4E5f6G7h8I9j0K1L")
    sim.waf_enabled = True
    await expect(NezhaAuthError, v1(session, sim, wrong).async_trigger_cron(backup))
    assert sim.waf_strikes() == 1
    client = v1(session, sim, PAT)
    await expect(NezhaWafBlockedError, client.async_trigger_cron(backup))
    sim.clear_waf()
    sim.real_ip_header = "X-Real-IP"
    await expect(NezhaProxyHeaderError, client.async_trigger_cron(backup))
    sim.waf_enabled = False
    sim.inject_fault(Fault.NOT_JSON, path=f"/api/v1/cron/{backup}/manual")
    with pytest.raises(NezhaResponseError) as info:
        await client.async_trigger_cron(backup)
    assert not isinstance(info.value, NezhaRefusedError)
    # A token with a line break is refused before anything is sent.
    before = len(sim.requests)
    await expect(NezhaTokenError, v1(session, sim, "nzp_x\nyz").async_trigger_cron(1))
    assert len(sim.requests) == before
    assert sim.cron_runs == []


@pytest.mark.usefixtures("socket_enabled")
async def test_odd_answers(session: ClientSession) -> None:
    """Records need an id (a name has a fallback); odd answers stay generic errors."""
    assert parse_cron(None) is None
    assert parse_cron({"id": 0, "name": "x"}) is None
    assert parse_cron({"id": "7"}) is None
    assert parse_cron({"id": 7, "name": None}) == CronTask(7, "Task 7", 0, "", 0)
    answers = iter(
        [
            web.json_response({"success": True}),  # a dashboard with a task 0
            web.json_response({"error": "  "}),  # a refusal needs a reason
            web.Response(status=400, text="<html>bad</html>", content_type="text/html"),
        ]
    )

    async def manual(request: web.Request) -> web.Response:
        return next(answers)

    app = web.Application()
    app.router.add_post("/api/v1/cron/{id}/manual", manual)
    async with serve(app) as url:
        client = NezhaV1Client(session, url, PAT)
        assert await client.async_can_trigger_crons()
        for _ in range(2):
            with pytest.raises(NezhaResponseError) as info:
                await client.async_trigger_cron(1)
            assert not isinstance(info.value, NezhaRefusedError)
