"""The declared minimum Home Assistant is the one the matrix tests.

hacs.json tells HACS which release the integration needs; requirements_test_min.txt
installs the release scripts/test runs the suite against a second time. They must
name the same release, and the running suite must be one of the two tested ones.
"""

from __future__ import annotations

import json
from pathlib import Path
import re

from awesomeversion import AwesomeVersion
from homeassistant.const import __version__

ROOT = Path(__file__).parent.parent


def pinned(requirements: str, package: str) -> str:
    """The version a requirements file pins (``pins: package==X`` comments too)."""
    match = re.search(
        rf"^(?:# pins: )?{re.escape(package)}==(\S+)$", requirements, re.M
    )
    assert match, f"{package} is not pinned"
    return match.group(1)


def test_hacs_minimum_is_the_tested_minimum() -> None:
    """hacs.json names the release (x.y.0) of the oldest Home Assistant tested."""
    declared = json.loads((ROOT / "hacs.json").read_text())["homeassistant"]
    tested = AwesomeVersion(
        pinned((ROOT / "requirements_test_min.txt").read_text(), "homeassistant")
    )
    assert declared == f"{tested.major}.{tested.minor}.0"


def test_suite_runs_on_a_tested_release() -> None:
    """This run uses the newest release (PHCC 0.13.375) or the declared minimum."""
    newest = (ROOT / "requirements_test.txt").read_text()
    minimum = (ROOT / "requirements_test_min.txt").read_text()
    assert pinned(newest, "pytest-homeassistant-custom-component") == "0.13.375"
    assert __version__ in {"2026.10.4", pinned(minimum, "homeassistant")}
