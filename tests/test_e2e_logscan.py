"""tests/e2e/logscan.py finds Home Assistant's real deprecation reports."""

import logging
import warnings

from homeassistant.core import HomeAssistant
from homeassistant.helpers import frame
import pytest

from tests.e2e.logscan import deprecations, records

# Home Assistant's format of home-assistant.log records (homeassistant/bootstrap.py).
HA_FORMAT = (
    "%(asctime)s.%(msecs)03d %(levelname)s (%(threadName)s) [%(name)s] %(message)s"
)


@pytest.mark.usefixtures("init_integration")
async def test_frame_helper_report_is_found(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """report_usage for the nezha integration is one finding, in context."""
    caplog.clear()
    frame.report_usage(
        "calls `device_registry.async_get_device`, which is deprecated",
        breaks_in_ha_version="2027.8.0",
        integration_domain="nezha",
    )
    # The captured records as lines of home-assistant.log, after another line.
    formatter = logging.Formatter(HA_FORMAT, datefmt="%Y-%m-%d %H:%M:%S")
    logged = "2026-12-03 09:00:00.000 INFO (MainThread) [x] before\n" + "\n".join(
        formatter.format(record) for record in caplog.records
    )
    found = deprecations(logged)
    assert len(found) == 1
    assert "custom integration 'nezha'" in found[0]
    assert "will stop working in Home Assistant 2027.8.0" in found[0]
    assert deprecations(logged.replace("nezha", "other_integration")) == []


def test_only_the_integrations_deprecations_are_found() -> None:
    """A DeprecationWarning of its code on stderr; not other code's, nor ordinary lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn_explicit(
            "'asyncio.iscoroutinefunction' is deprecated",
            DeprecationWarning,
            "/srv/config/custom_components/nezha/coordinator.py",
            123,
        )
    found, source = caught[0], "        if asyncio.iscoroutinefunction(target):"
    text = warnings.formatwarning(
        found.message, found.category, found.filename, found.lineno, source
    )
    other = text.replace("custom_components/nezha", "site-packages/backoff")
    stderr = f"{other}{text}"
    assert len(records(stderr)) == 2
    assert deprecations(stderr) == [text.rstrip("\n")]
    # Lines that mention nezha, and a deprecation of another integration.
    log = (
        "2026-12-03 09:16:09.151+00:00 INFO (MainThread) [homeassistant.setup] "
        "Setting up nezha\n"
        "2026-12-03 09:16:09.357+00:00 INFO (MainThread) "
        "[homeassistant.helpers.entity_registry] Registered new sensor.nezha entity\n"
        "2026-12-03 09:16:10.000+00:00 WARNING (MainThread) [homeassistant.helpers"
        ".frame] Detected that integration 'hue' uses a deprecated call\n"
    )
    assert len(records(log)) == 3
    assert deprecations(log) == []
