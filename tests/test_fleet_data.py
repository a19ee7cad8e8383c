"""Quotas, expiry, plan, services, ping statistics and facts of a v1 entry, time frozen."""

from dataclasses import replace
from datetime import datetime, timedelta
import json
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import ATTR_LAST_RESET
from homeassistant.const import ATTR_DEVICE_CLASS, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.nezha.client import TransferQuota
from custom_components.nezha.sensor_side import QUOTA_SENSORS
from nezha_dev.simulator import NezhaSimulator
from nezha_dev.simulator.services import cycle_transfer_json, services_json
from nezha_dev.simulator.v1_render import Viewer
from tests.helpers import (
    PAT,
    entity_id,
    keys,
    ping_round_done,
    registry_entry,
    setup_frozen,
    state,
    tick,
    v1_entry,
    wait_for,
)

GIB = 1024**3
TIB = 1024**4
HK, FRA, GPU_BOX, NAS, TOKYO, SGP, LAX = range(1, 8)

pytestmark = pytest.mark.usefixtures("frozen")


async def next_ping_round(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """Run the side coordinator's next round, a minute on."""
    coordinator = entry.runtime_data
    previous = coordinator.side.data.services  # each round's answer is a new dict
    await tick(hass, freezer, delta=timedelta(seconds=61), background=False)
    # The update polls REST first (the frozen stream is stale), then starts it.
    await wait_for(
        lambda: (
            coordinator.side.data.services is not previous
            and ping_round_done(coordinator)
        ),
        "the next ping round",
    )
    await hass.async_block_till_done()


def rules(sim: NezhaSimulator) -> dict[str, Any]:
    """``cycle_transfer_stats`` as the simulator serves it to the admin token."""
    return cycle_transfer_json(
        sim.fleet, Viewer(sim.get_token(PAT)), sim.now(), rules=sim.v1.cycle_rules
    )


async def test_defaults_and_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    fleet_entry: MockConfigEntry,
) -> None:
    """Quota used/usage and expiry on, the rest off; diagnostics redact notes' free text."""
    entry = fleet_entry
    quota_keys = {key for key in keys(hass, entry) if "_quota_" in key}
    monthly = {HK, FRA, TOKYO, SGP}  # the Production servers
    weekly = {FRA, GPU_BOX, LAX}  # Lab and fra-db-02, no maximum
    assert quota_keys == {
        f"{sid}_quota_1_{kind}"
        for sid in monthly
        for kind in ("used", "usage", "limit", "cycle_end")
    } | {f"{sid}_quota_2_{kind}" for sid in weekly for kind in ("used", "cycle_end")}
    pings = {
        k for k in keys(hass, entry) if "_ping_average_" in k or "_ping_loss_" in k
    }
    facts = {f"{FRA}_{key}" for key in ("architecture", "virtualization", "country")}
    assert pings
    enabled = {
        key
        for key in quota_keys | pings | facts | {f"{FRA}_plan", f"{FRA}_expiry"}
        if registry_entry(hass, entry, key).disabled_by is None
    }
    assert enabled == {
        key for key in quota_keys if key.endswith(("_used", "_usage"))
    } | {f"{FRA}_expiry"}

    # Prices, routes and remarks are redacted; dates and quotas are kept.
    data = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    dump = json.dumps(data, ensure_ascii=False)
    for secret in ("200EUR", "$5", "CN2 GIA", "DDoS protection", "pay him in beer"):
        assert secret not in dump
    fra = data["servers"][str(FRA)]["server"]["public_note"]
    assert fra["billing"]["amount"] == fra["plan"]["extra"] == "**REDACTED**"
    assert fra["billing"]["end"] == "2026-01-14T16:00:00+00:00"
    assert fra["plan"]["bandwidth"] == "10Gbps"
    quotas = {quota["id"]: quota for quota in data["traffic_quotas"]}
    assert sorted(quotas) == [1, 2] and quotas[2]["limit"] is None


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_values_and_changes(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    fleet_sim: NezhaSimulator,
    fleet_entry: MockConfigEntry,
) -> None:
    """Quotas, expiry, plan, 30-day services, ping statistics, facts; unchanged: no
    write; a rule left or deleted, a note gone: unavailable/unknown."""
    entry, checked = fleet_entry, 0
    # Quotas: used, percent of the limit, the limit, the cycle's end and start (units,
    # classes and categories: test_sensor.py's v1 snapshot).
    for rule_id, rule in rules(fleet_sim).items():
        start = dt_util.as_utc(datetime.fromisoformat(rule["from"]))
        for sid, used in rule["transfer"].items():
            checked += 1
            prefix = f"{sid}_quota_{rule_id}"
            used_state = state(hass, entry, f"{prefix}_used")
            assert float(used_state.state) == pytest.approx(used / GIB)
            assert used_state.attributes[ATTR_LAST_RESET] == start.isoformat()
            ends = state(hass, entry, f"{prefix}_cycle_end").state
            assert datetime.fromisoformat(ends) == datetime.fromisoformat(rule["to"])
            if rule["max"]:
                usage = float(state(hass, entry, f"{prefix}_usage").state)
                assert usage == round(100 * used / rule["max"], 2)
                limit = state(hass, entry, f"{prefix}_limit")
                assert float(limit.state) == rule["max"] / GIB == TIB / GIB
    assert checked == 7
    # 1 July 2026, midnight on the dashboard's clock (+08:00).
    assert state(hass, entry, f"{FRA}_quota_1_cycle_end").state == (
        "2026-06-30T16:00:00+00:00"
    )

    # Expiry only from billing data, values as the frontend shows them.
    found = {key for key in keys(hass, entry) if key.endswith("_expiry")}
    # 3: free text, 5: malformed JSON, 7: plan data only.
    assert found == {f"{sid}_expiry" for sid in (HK, FRA, NAS, SGP)}
    assert hass.config.time_zone == "US/Pacific"
    hk = state(hass, entry, f"{HK}_expiry")
    assert hk.state == "2026-08-31T16:00:00+00:00"  # 1 September, +08:00
    assert hk.attributes[ATTR_DEVICE_CLASS] == "timestamp"
    assert hk.attributes["auto_renewal"] is hk.attributes["never_expires"] is False
    assert hk.attributes["amount"] == "$5"
    # Renewed monthly since 15 January (local midnight in Shanghai, written as
    # UTC): months are counted on Home Assistant's calendar, US/Pacific here.
    fra = state(hass, entry, f"{FRA}_expiry")
    assert fra.state == "2026-06-14T15:00:00+00:00"
    billing = {
        "never_expires": False,
        "auto_renewal": True,
        "billing_cycle": "Month",
        "amount": "200EUR",
        "start_date": "2025-01-14T16:00:00+00:00",
        "end_date": "2026-01-14T16:00:00+00:00",
    }
    assert {key: fra.attributes.get(key) for key in billing} == billing
    nas = state(hass, entry, f"{NAS}_expiry")
    assert nas.state == STATE_UNKNOWN
    assert nas.attributes["never_expires"] is True
    assert nas.attributes["amount"] == "0"  # free, as the admin frontend writes it
    # Expired in May without auto-renewal: the date stays in the past. A date
    # without offset is local time.
    assert state(hass, entry, f"{SGP}_expiry").state == "2026-05-20T07:00:00+00:00"

    # The plan's badges as state, its facts as attributes.
    assert {key for key in keys(hass, entry) if key.endswith("_plan")} == {
        f"{sid}_plan" for sid in (HK, FRA, LAX)
    }
    fra = state(hass, entry, f"{FRA}_plan")
    assert fra.state == "10Gbps · 20TB/Month · IPv4 · IPv6"
    facts = {
        "bandwidth": "10Gbps",
        "traffic_volume": "20TB/Month",
        "traffic_type": "both",
        "ipv4": True,
        "ipv6": True,
        "network_routes": ["CN2 GIA", "CMI"],
        "extra": ["NVMe", "DDoS protection"],
    }
    assert {key: fra.attributes.get(key) for key in facts} == facts
    assert state(hass, entry, f"{LAX}_plan").state == "1Gbps · 3TB · IPv4"
    assert state(hass, entry, f"{LAX}_plan").attributes["traffic_type"] == "inbound"

    # Services over 30 days: availability, check-weighted mean delay.
    services = services_json(fleet_sim.fleet, fleet_sim.now(), fleet_sim.v1.failing)
    assert services
    for key, service in services.items():
        up, down = sum(service["up"]), sum(service["down"])
        days = zip(service["delay"], service["up"], strict=True)
        weighted = [(delay * count, count) for delay, count in days if count]
        availability = state(hass, entry, f"service_{key}_availability_30d")
        assert float(availability.state) == round(100 * up / (up + down), 3)
        latency = state(hass, entry, f"service_{key}_latency_30d")
        assert float(latency.state) == round(
            sum(w for w, _ in weighted) / sum(c for _, c in weighted), 2
        )
    # Ping mean delay and loss, and the server facts.
    checked = 0
    for sid, server in fleet_sim.fleet.servers.items():
        for series in fleet_sim.fleet.ping_history(sid):
            checked += 1
            received = [delay for delay in series.avg_delay if delay > 0]
            lost = len(series.avg_delay) - len(received)
            mid = series.monitor.id
            average = float(state(hass, entry, f"{sid}_ping_average_{mid}").state)
            assert average == round(sum(received) / len(received), 2)
            loss = float(state(hass, entry, f"{sid}_ping_loss_{mid}").state)
            assert loss == round(100 * lost / len(series.avg_delay), 2)
        host = server.host
        assert state(hass, entry, f"{sid}_architecture").state == host.arch
        assert state(hass, entry, f"{sid}_country").state == host.country_code.upper()
        virtualization = f"{sid}_virtualization"
        if host.virtualization:
            assert state(hass, entry, virtualization).state == host.virtualization
        else:
            assert entity_id(hass, entry, virtualization) is None
    assert checked > 5

    # Changes on the dashboard.
    used_key = f"{FRA}_quota_1_used"
    quiet = [used_key, f"{FRA}_quota_1_usage", f"{HK}_expiry", f"{FRA}_expiry"]
    before = {key: state(hass, entry, key) for key in quiet}
    # The same answer again (the simulator's clock is frozen): nothing written.
    await entry.runtime_data.side._async_start_round()
    await hass.async_block_till_done()
    for key, old in before.items():
        assert state(hass, entry, key).last_updated == old.last_updated, key
    # A minute on, the dashboard counted more traffic; the dates stay put.
    await next_ping_round(hass, frozen, entry)
    assert float(state(hass, entry, used_key).state) > float(before[used_key].state)
    for key in quiet[2:]:
        assert state(hass, entry, key).last_updated == before[key].last_updated

    # A rule that stops covering a server: that server's figures go unavailable.
    fleet_sim.v1.cycle_rules = [
        replace(rule, covers=lambda s: s.tag == "Production" and s.id != FRA)
        if rule.id == 1
        else rule
        for rule in fleet_sim.v1.cycle_rules
    ]
    await next_ping_round(hass, frozen, entry)
    for key in ("used", "usage"):
        assert state(hass, entry, f"{FRA}_quota_1_{key}").state == STATE_UNAVAILABLE
    assert state(hass, entry, f"{HK}_quota_1_used").state != STATE_UNAVAILABLE
    # A deleted rule turns unavailable, the other rule stays.
    fleet_sim.v1.cycle_rules = [r for r in fleet_sim.v1.cycle_rules if r.id != 1]
    await next_ping_round(hass, frozen, entry)
    assert state(hass, entry, f"{HK}_quota_1_used").state == STATE_UNAVAILABLE
    assert state(hass, entry, f"{FRA}_quota_2_used").state != STATE_UNAVAILABLE

    # Expiry and plan turn unknown, without attributes, when the note goes.
    fleet_sim.set_public_note(FRA, "")
    await next_ping_round(hass, frozen, entry)  # the stale stream polls REST
    for key in ("expiry", "plan"):
        gone = state(hass, entry, f"{FRA}_{key}")
        assert gone.state == STATE_UNKNOWN
        assert not {"auto_renewal", "bandwidth"} & gone.attributes.keys()


def test_quota_usage_of_no_traffic_and_of_no_limit() -> None:
    """0 bytes is 0 %, not unknown; without a limit or a figure there is none."""
    usage = next(d for d in QUOTA_SENSORS if d.key == "usage").value_fn
    quota = TransferQuota(1, "q", None, None, 10 * GIB, {FRA: 0, HK: GIB})
    assert (usage(quota, FRA), usage(quota, HK), usage(quota, NAS)) == (0.0, 10.0, None)
    assert usage(replace(quota, limit=None), HK) is None


async def test_expiry_needs_no_online_agent(
    hass: HomeAssistant, fleet_sim: NezhaSimulator
) -> None:
    """A server that never reported still has its renewal date."""
    fleet_sim.set_never_reported(HK)
    entry = v1_entry(fleet_sim)
    await setup_frozen(hass, entry)
    assert state(hass, entry, f"{HK}_expiry").state == "2026-08-31T16:00:00+00:00"
    assert await hass.config_entries.async_unload(entry.entry_id)
