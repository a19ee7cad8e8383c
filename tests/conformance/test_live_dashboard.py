"""scripts/check-dashboard's checks against a dashboard of your own (see the skip)."""

import os

import aiohttp
import pytest

from nezha_dev.conformance.check import check

URL = os.environ.get("NEZHA_CONFORMANCE_URL", "")
TOKEN = os.environ.get("NEZHA_CONFORMANCE_TOKEN", "")

pytestmark = pytest.mark.skipif(
    not (URL and TOKEN),
    reason="set NEZHA_CONFORMANCE_URL and NEZHA_CONFORMANCE_TOKEN to check a dashboard",
)


async def test_dashboard_conforms(socket_enabled: None) -> None:
    """The integration sees the dashboard as it expects: no deviation."""
    async with aiohttp.ClientSession() as session:
        report = await check(session, URL, TOKEN)
    print(report.render())  # noqa: T201 - the report is the point of this test
    assert not report.auth_failed, "the token was refused; checking stopped there"
    assert report.servers > 0, "the token sees no server"
    assert not report.deviations, "\n".join(report.deviations)
