"""The Home Assistant releases the project declares are the ones it tests."""

from importlib.metadata import requires, version
import json
from pathlib import Path
import re

from awesomeversion import AwesomeVersion
from homeassistant.const import __version__
import pytest

ROOT = Path(__file__).parent.parent
PHCC = "pytest-homeassistant-custom-component"


def pinned(name: str, package: str) -> str:
    """The version requirements file ``name`` pins (``pins: package==X`` comments too)."""
    pattern = rf"^(?:# pins: )?{re.escape(package)}==(\S+)$"
    match = re.search(pattern, (ROOT / name).read_text(), re.M)
    assert match, f"{package} is not pinned"
    return match.group(1)


MINIMUM = pinned("requirements_test_min.txt", "homeassistant")
NEWEST = pinned("requirements_test_new.txt", "homeassistant")
MAIN_PHCC = pinned("requirements_test.txt", PHCC)
MIN_PHCC = pinned("requirements_test_min.txt", PHCC)


def installed_phcc_release() -> str:
    """The Home Assistant release the installed PHCC pins."""
    for requirement in requires(PHCC) or []:
        if match := re.fullmatch(r"homeassistant==(\S+)", requirement.strip()):
            return match.group(1)
    raise AssertionError(f"{PHCC} {version(PHCC)} pins no homeassistant")


# Whether this run uses .venv (requirements_test.txt), not .venv-min.
MAIN_ENVIRONMENT = version(PHCC) == MAIN_PHCC
README = (ROOT / "README.md").read_text()


def test_suite_runs_on_a_tested_release() -> None:
    """This run's PHCC is one of the two pinned ones, with the release it pins."""
    assert version(PHCC) in {MAIN_PHCC, MIN_PHCC}
    assert __version__ == installed_phcc_release()
    if not MAIN_ENVIRONMENT:
        assert __version__ == MINIMUM  # the "# pins:" comment tells the truth


def test_newest_is_newer_than_the_main_release() -> None:
    """.venv-new tests a release that the other two do not."""
    if not MAIN_ENVIRONMENT:
        pytest.skip("the main release is known in .venv only")
    main = AwesomeVersion(installed_phcc_release())
    assert AwesomeVersion(NEWEST) > main > AwesomeVersion(MINIMUM), (
        f"requirements_test_new.txt pins {NEWEST}, not newer than the main "
        f"environment's {main}: raise it to the newest release on PyPI"
    )


def test_readme_and_hacs_name_the_tested_releases() -> None:
    """The README's table lists the three environments' releases; hacs.json the oldest."""
    section = README.split("### Supported Home Assistant versions\n", 1)[1]
    table = section.split("\n#", 1)[0].splitlines()
    rows = [line for line in table if line.startswith("|")][2:]  # header, separator
    listed = [re.findall(r"\b20\d\d\.\d+\.\d+\b", row) for row in rows]
    found = [versions[0] for versions in listed if versions]
    expected = [MINIMUM, NEWEST]
    if MAIN_ENVIRONMENT:
        expected.insert(1, installed_phcc_release())
        assert found == expected, rows
    else:
        assert [found[0], found[-1]] == expected, rows
    minimum = AwesomeVersion(MINIMUM)
    assert f"Home Assistant {minimum.major}.{minimum.minor} or newer" in README
    # hacs.json names the release (x.y.0) of the oldest Home Assistant tested.
    declared = json.loads((ROOT / "hacs.json").read_text())["homeassistant"]
    assert declared == f"{minimum.major}.{minimum.minor}.0"
