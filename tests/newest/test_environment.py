"""This environment runs the release requirements_test_new.txt pins."""

from pathlib import Path
import re

from awesomeversion import AwesomeVersion
from homeassistant.const import __version__
import pytest

ROOT = Path(__file__).resolve().parents[2]
NEWEST = re.search(
    r"^homeassistant==(\S+)$", (ROOT / "requirements_test_new.txt").read_text(), re.M
)


def test_runs_the_pinned_newest_release() -> None:
    """.venv-new has the release the file pins, and no older one runs this."""
    assert NEWEST, "requirements_test_new.txt pins no homeassistant"
    if AwesomeVersion(__version__) < AwesomeVersion(NEWEST.group(1)):
        pytest.skip(f"{__version__} is not the newest release {NEWEST.group(1)}")
    assert __version__ == NEWEST.group(1), (
        f"this environment runs {__version__}, newer than requirements_test_new.txt's "
        f"{NEWEST.group(1)}: raise that file to the newest release on PyPI"
    )
