"""The sensor platform against the simulated v0 and v1 dashboards, time frozen."""

from datetime import timedelta
import math
from unittest.mock import patch

from homeassistant.const import STATE_ON, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from nezha_dev.simulator import NezhaSimulator
from nezha_dev.simulator.metrics import CH_PING_LOSS, unit
from nezha_dev.simulator.services import services_json
from tests.helpers import V1_ENTRY_ID, Dashboard, Harness, setup_frozen, state, v1_entry

GIB = 1024**3
# Servers of the default fleet (seed 1): see nezha_dev/simulator/catalog.py.
HK, FRA = 1, 2

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_sensor_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    dashboard: Dashboard,
) -> None:
    """Every sensor, its registry entry and state (v1: services, notes, quotas too)."""
    with patch("custom_components.nezha.PLATFORMS", [Platform.SENSOR]):
        entry = await dashboard.setup(hass)
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_values_match_the_raw_report(
    hass: HomeAssistant, dashboard: Dashboard
) -> None:
    """Percentages, conversions, boot time, pings (v1: services) from raw figures."""
    entry, fleet = await dashboard.setup(hass), dashboard.sim.fleet
    for sid in fleet.servers:
        raw, host = fleet.status(sid), fleet.servers[sid].host
        assert raw is not None

        def value(key: str, sid: int = sid) -> float:
            return float(state(hass, entry, f"{sid}_{key}").state)

        expected = {
            "cpu_usage": raw.cpu,
            "memory_usage": 100 * raw.mem_used / host.mem_total,
            "disk_usage": 100 * raw.disk_used / host.disk_total,
            "memory_used": raw.mem_used / GIB,
            "download_speed": raw.net_in_speed * 8 / 1e6,
            "downloaded": raw.net_in_transfer / GIB,
            "uploaded": raw.net_out_transfer / GIB,
            "load_1": raw.load1,
        }
        if host.gpu:
            expected["gpu_usage"] = raw.gpu
        if host.swap_total:
            expected["swap_usage"] = 100 * raw.swap_used / host.swap_total
        else:  # no swap: unknown, never a division by zero or 0 %
            assert state(hass, entry, f"{sid}_swap_usage").state == STATE_UNKNOWN
        for series in fleet.ping_history(sid):
            if series.avg_delay[-1]:  # 0 is a lost probe: unknown
                expected[f"ping_{series.monitor.id}"] = series.avg_delay[-1]
        assert {key: value(key) for key in expected} == pytest.approx(expected)
        assert value("processes") == raw.process_count
        if raw.temperatures:
            highest = max(t.temperature for t in raw.temperatures)
            assert value("highest_temperature") == highest
        boot = dt_util.utc_from_timestamp(host.boot_time).isoformat()
        assert state(hass, entry, f"{sid}_last_boot").state == boot
    # Beyond 2^53 the counter is exact only as an integer; the sensor keeps it.
    assert fleet.status(FRA).net_in_transfer > 2**53  # type: ignore[union-attr]
    if dashboard.generation == "v0":
        return
    # A v1 dashboard's services: availability of the newest day, and up.
    services = services_json(fleet, dashboard.sim.now(), dashboard.sim.v1.failing)
    for key, service in services.items():
        up, down = service["up"][-1], service["down"][-1]
        availability = state(hass, entry, f"service_{key}_availability").state
        assert float(availability) == pytest.approx(100 * up / (up + down), abs=1e-3)
        up_state = state(hass, entry, f"service_{key}_up", "binary_sensor").state
        assert up_state == STATE_ON


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_new_temperature_bad_metric_and_lost_ping(
    nz: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A new temperature gets its entity; wrong types and lost probes are unknown."""
    assert nz.entity_id(f"{HK}_temperature_cpu_thermal") is None
    assert nz.entity_id(f"{HK}_highest_temperature") is None
    reading = [{"Name": "cpu_thermal", "Temperature": 51.5}]
    nz.sim.set_malformed(HK, "status.Temperatures", reading)
    await nz.tick()
    assert nz.state(f"{HK}_temperature_cpu_thermal") == "51.5"
    assert nz.state(f"{HK}_highest_temperature") == "51.5"
    # It stops reporting it: unknown, not removed and not stale.
    nz.sim.clear_malformed(HK)
    await nz.tick()
    assert nz.state(f"{HK}_temperature_cpu_thermal") == STATE_UNKNOWN

    # A metric of the wrong type is unknown; the rest of the record still works.
    assert float(nz.state(f"{HK}_ping_2")) > 0
    nz.sim.set_malformed(HK, "status.CPU", "oops")
    nz.sim.set_malformed(HK, "host.MemTotal", 0)
    await nz.tick(2)
    assert nz.state(f"{HK}_cpu_usage") == STATE_UNKNOWN
    assert nz.state(f"{HK}_memory_usage") == STATE_UNKNOWN
    assert 0 < float(nz.state(f"{HK}_disk_usage")) < 100
    now = dt_util.utcnow().timestamp()
    # The first minute past the ping interval whose ping point the simulator loses.
    minute = math.floor((now + 600) / 60) + 1
    loss = nz.sim.fleet.servers[HK].ping[2].loss
    while unit(nz.sim.fleet.seed, HK, 2, CH_PING_LOSS, minute) >= loss:
        minute += 1
    await nz.tick(delta=timedelta(seconds=minute * 60 + 5 - now))
    series = {s.monitor.id: s for s in nz.sim.fleet.ping_history(HK)}
    assert series[2].created_at[-1] == minute * 60_000
    assert series[2].avg_delay[-1] == 0.0  # the newest point is a lost probe
    assert nz.state(f"{HK}_ping_2") == STATE_UNKNOWN
    # The other monitor of that server still has a latency.
    assert float(nz.state(f"{HK}_ping_5")) == series[5].avg_delay[-1]
    warnings = [r for r in caplog.records if "status.CPU" in r.getMessage()]
    assert len(warnings) == 1  # logged once, not on every poll


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_same_fleet_same_states_as_v0(
    nz: Harness, v1_sim: NezhaSimulator
) -> None:
    """One fleet served as v0 and as v1 gives the same server entity states."""
    hass, config_entry = nz.hass, nz.entry  # v0 first: it waits for its tasks
    v1 = v1_entry(v1_sim, entry_id=V1_ENTRY_ID)
    await setup_frozen(hass, v1)

    def states(entry_id: str) -> dict[str, str]:
        items = er.async_entries_for_config_entry(er.async_get(hass), entry_id)
        now = {
            i.unique_id.split("_", 1)[1]: hass.states.get(i.entity_id) for i in items
        }
        return {k: s.state for k, s in now.items() if s and k.split("_")[0].isdigit()}

    v0_states, v1_states = states(config_entry.entry_id), states(v1.entry_id)
    # Only v1 shows public notes and traffic quotas.
    v1_only = {
        key: value
        for key, value in v1_states.items()
        if key.split("_", 1)[1] in ("expiry", "plan") or "_quota_" in key
    }
    assert len(v1_only) > 10 and not v1_only.keys() & v0_states.keys()
    assert len(v1_states) > 100
    assert {k: v for k, v in v1_states.items() if k not in v1_only} == v0_states
