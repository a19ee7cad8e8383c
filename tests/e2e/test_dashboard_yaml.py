"""The README's "Example dashboard" is the dashboard that scripts/develop creates."""

import re

from nezha_dev.hass.browser import card_tags
from nezha_dev.hass.stack import REPO
from nezha_dev.provision_demo import (
    DASHBOARD_YAML,
    dashboard_config,
    dashboard_entity_ids,
)


def test_readme_shows_the_demo_dashboard() -> None:
    """Same text, so that what users paste is what the demo and screenshots show."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Example dashboard\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"^```yaml\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    assert match, "no ```yaml block in the Example dashboard section"
    assert match.group(1) == DASHBOARD_YAML


def test_dashboard_uses_built_in_cards_only() -> None:
    """No custom: cards, and entity ids of the five simulated servers."""
    types = {"glance", "grid", "gauge", "entities", "history-graph"}
    assert set(card_tags(dashboard_config())) == {f"hui-{t}-card" for t in types}
    servers = {"hk_edge_01", "fra_db_02", "gpu_box", "nas", "dong_jing_web_03"}
    for entity_id in dashboard_entity_ids():
        assert entity_id.split(".")[1].startswith(tuple(servers)), entity_id
