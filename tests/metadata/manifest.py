"""manifest.json and JSON files (hassfest); hacs.json, README, LICENSE, layout, brand (HACS)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
import re
import struct
from typing import Any
from urllib.parse import urlparse

from awesomeversion import (
    AwesomeVersion,
    AwesomeVersionException,
    AwesomeVersionStrategy,
)

from .common import Problems, _is_str_list, _load_json, _load_manifest, _rel, _words

MANIFEST_KEYS = frozenset(
    _words(
        "after_dependencies bluetooth codeowners config_flow dependencies dhcp disabled"
        " documentation domain homekit import_executor integration_type iot_class"
        " issue_tracker loggers mqtt name preview_features quality_scale requirements"
        " single_config_entry ssdp usb version zeroconf"
    )
)
REQUIRED_KEYS = _words("domain name documentation codeowners version iot_class")
INTEGRATION_TYPES = sorted(_words("device entity hardware helper hub service system"))
IOT_CLASSES = sorted(
    _words("assumed_state calculated cloud_polling cloud_push local_polling local_push")
)
QUALITY_SCALES = list(
    _words("no_score legacy custom internal bronze silver gold platinum")
)
VERSION_STRATEGIES = [
    AwesomeVersionStrategy[name]
    for name in _words("CALVER SEMVER SIMPLEVER BUILDVER PEP440")
]
RE_CODEOWNER = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:/[\w.-]+)?$")
RE_REQUIREMENT = re.compile(
    r"^(?:--.+\s)?([-_,.\w\d\[\]]+)(==|>=|<=|~=|!=|<|>|===)*(.*)$"
)
RE_VERSION_PART = re.compile(r"^(==|>=|<=|~=|!=|<|>|===)?(.*)$")

# A rule takes a key's value and returns its problems.
Rule = Callable[[Any], Iterable[str]]


def _version(value: Any) -> Problems:
    """Check a version string the way hassfest's manifest check does."""
    if not isinstance(value, str):
        return [f"must be a string, got {type(value).__name__}"]
    try:
        AwesomeVersion(value, ensure_strategy=VERSION_STRATEGIES)
    except AwesomeVersionException:
        return [
            f"{value!r} is not a valid version (CalVer, SemVer, SimpleVer, BuildVer or PEP 440)"
        ]
    return []


def _url(*schemes: str) -> Rule:
    def rule(value: Any) -> Problems:
        if not isinstance(value, str):
            return [f"must be a URL string, got {type(value).__name__}"]
        parsed = urlparse(value)
        if parsed.scheme not in schemes or not parsed.netloc:
            return [f"{value!r} is not an {' or '.join(schemes)} URL"]
        return []

    return rule


def _documentation(value: Any) -> Problems:
    if problems := _url("https")(value):
        return problems
    parsed = urlparse(value)
    if parsed.netloc.removeprefix("www.") == "home-assistant.io" and (
        parsed.path.startswith("/integrations")
    ):
        return ["should point to its own documentation, not home-assistant.io's"]
    return []


def _codeowners(value: Any) -> Iterator[str]:
    if not _is_str_list(value):
        yield "must be a list of strings"
        return
    if not value:
        yield "must list at least one GitHub @handle (project rule)"
    yield from (
        f"{owner!r} is not a GitHub handle like '@user'"
        for owner in value
        if not RE_CODEOWNER.match(owner)
    )


def _one_of(allowed: list[str]) -> Rule:
    return lambda value: (
        [] if value in allowed else [f"{value!r} is not one of {allowed}"]
    )


def _is(test: Callable[[Any], object], message: str) -> Rule:
    return lambda value: [] if test(value) else [message]


RULES: dict[str, Rule] = {
    "name": _is(
        lambda v: isinstance(v, str) and v.strip(), "must be a non-empty string"
    ),
    "version": _version,
    "documentation": _documentation,
    "issue_tracker": _url("http", "https"),
    "codeowners": _codeowners,
    "iot_class": _one_of(IOT_CLASSES),
    "integration_type": _one_of(INTEGRATION_TYPES),
    "quality_scale": _one_of(QUALITY_SCALES),
    "disabled": _is(lambda v: isinstance(v, str), "must be a string"),
    **dict.fromkeys(
        _words("config_flow single_config_entry import_executor"),
        _is(lambda v: isinstance(v, bool), "must be true or false"),
    ),
    **dict.fromkeys(
        _words("requirements dependencies after_dependencies loggers"),
        _is(_is_str_list, "must be a list of strings"),
    ),
}


def _manifest_problems(
    integration: Path, manifest: dict[str, Any]
) -> Iterator[tuple[str, str]]:
    """(key, problem) of each rule a manifest breaks."""
    for key, rule in RULES.items():
        if key in manifest:
            yield from ((key, problem) for problem in rule(manifest[key]))
    yield from ((key, "is required") for key in REQUIRED_KEYS if key not in manifest)
    domain = manifest.get("domain")
    if "domain" in manifest and domain != integration.name:
        yield (
            "domain",
            f"{domain!r} does not match the directory name {integration.name!r}",
        )
    # The HACS action's integration_manifest check requires issue_tracker.
    if "issue_tracker" not in manifest:
        yield "issue_tracker", "is required by the HACS action"
    # hassfest defaults it to "hub", but its integration_type check errors on a config
    # flow without it (one version applies that to custom integrations too).
    if "integration_type" not in manifest:
        yield "integration_type", "must be set explicitly (for example 'hub')"
    has_flow = (integration / "config_flow.py").is_file()
    if manifest.get("config_flow") is True and not has_flow:
        yield "config_flow", "is true but config_flow.py does not exist"
    if has_flow and manifest.get("config_flow") is not True:
        yield "config_flow", "must be true because config_flow.py exists (project rule)"
    scale = manifest.get("quality_scale")
    if scale in {"gold", "platinum"} and not (integration / "diagnostics.py").is_file():
        yield "quality_scale", f"a {scale} integration must implement diagnostics.py"
    for key in ("dependencies", "after_dependencies"):
        if _is_str_list(manifest.get(key)) and domain in manifest[key]:
            yield key, "must not list the integration itself"


def check_manifest(integration: Path) -> Problems:
    """Check manifest.json like hassfest (manifest, requirements, config_flow) and HACS."""
    problems: Problems = []
    if (manifest := _load_manifest(integration, problems)) is None:
        return problems
    if unknown := sorted(set(manifest) - MANIFEST_KEYS):
        problems.append(
            f"manifest.json has keys that hassfest rejects: {', '.join(unknown)}"
        )
    order = sorted(manifest, key=lambda key: {"domain": "", "name": " "}.get(key, key))
    if list(manifest) != order:
        problems.append(
            "manifest.json keys are not sorted correctly: domain, name, then "
            f"alphabetical order; expected {order}"
        )
    problems.extend(
        f"manifest.json '{key}': {problem}"
        for key, problem in _manifest_problems(integration, manifest)
    )
    if _is_str_list(manifest.get("requirements")):
        problems.extend(_requirement_problems(manifest["requirements"]))
    return problems


def _requirement_problems(requirements: list[str]) -> Problems:
    problems: Problems = []
    for requirement in requirements:
        if " " in requirement:
            problems.append(
                f'manifest.json requirement "{requirement}" contains a space'
            )
        elif not (match := RE_REQUIREMENT.match(requirement)):
            problems.append(
                f'manifest.json requirement "{requirement}" does not match the package pattern'
            )
        else:
            package, _, version = match.groups()
            problems.extend(
                f"manifest.json requirement {requirement!r}: unable to parse the "
                f"version {version!r} of {package}"
                for part in version.split(";", 1)[0].split(",")
                if part
                and (version_part := RE_VERSION_PART.match(part))
                and AwesomeVersion(version_part.group(2)).strategy
                == AwesomeVersionStrategy.UNKNOWN
            )
    return problems


def check_json_files(integration: Path) -> Problems:
    """Hassfest's json check: every *.json in the integration parses."""
    if not integration.is_dir():
        return [f"{_rel(integration)} does not exist"]
    problems: Problems = []
    if not (files := sorted(integration.rglob("*.json"))):
        problems.append(f"{_rel(integration)} contains no JSON files (manifest.json?)")
    for path in files:
        _load_json(path, problems)
    return problems


# ========================================================================= HACS

HACS_BOOL_KEYS = _words("content_in_root hide_default_branch render_readme zip_release")
HACS_STR_KEYS = _words("name filename hacs homeassistant persistent_directory")
HACS_KEYS = frozenset((*HACS_BOOL_KEYS, *HACS_STR_KEYS, "country"))
README_NAMES = frozenset(_words("readme readme.md info info.md"))
LICENSE_NAMES = frozenset(
    _words("license license.md license.txt licence copying copying.md")
)


# --------------------------------------------------------------------------- brand

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BRAND_IMAGES = frozenset(
    f"{dark}{kind}{size}.png"
    for dark in ("", "dark_")
    for kind in ("icon", "logo")
    for size in ("", "@2x")
)


def _png_size(path: Path) -> tuple[int, int] | str:
    """Return (width, height) from a PNG's IHDR chunk, or a problem string."""
    with path.open("rb") as file:
        header = file.read(24)
    if len(header) < 24 or header[:8] != PNG_SIGNATURE:
        return "is not a PNG file (bad signature)"
    if header[12:16] != b"IHDR":
        return "is not a valid PNG file (first chunk is not IHDR)"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def check_hacs_json(repo: Path) -> Problems:
    """The HACS action's hacsjson check (schema with PREVENT_EXTRA)."""
    problems: Problems = []
    if (data := _load_json(repo / "hacs.json", problems)) is None:
        return problems
    if not isinstance(data, dict):
        return ["hacs.json must contain a JSON object"]
    if unknown := sorted(set(data) - HACS_KEYS):
        problems.append(f"extra keys not allowed: {', '.join(unknown)}")
    if "name" not in data:
        problems.append("'name' is required")
    problems.extend(
        f"'{key}' must be a string, got {type(data[key]).__name__}"
        for key in sorted(set(HACS_STR_KEYS) & set(data))
        if not isinstance(data[key], str)
    )
    problems.extend(
        f"expected bool for '{key}', got {data[key]!r}"
        for key in sorted(set(HACS_BOOL_KEYS) & set(data))
        if not isinstance(data[key], bool)
    )
    problems.extend(
        f"'{key}' {value!r} is not a valid version"
        for key in ("homeassistant", "hacs")
        if isinstance(value := data.get(key), str)
        and AwesomeVersion(value).strategy == AwesomeVersionStrategy.UNKNOWN
    )
    codes = (
        [data["country"]]
        if isinstance(data.get("country"), str)
        else data.get("country", [])
    )
    if not _is_str_list(codes) or not all(
        re.fullmatch(r"[A-Za-z]{2}|ALL", c) for c in codes
    ):
        problems.append("'country' must be an ISO code or a list of them")
    if data.get("zip_release") is True and "filename" not in data:
        problems.append("'zip_release' needs 'filename'")
    if data.get("content_in_root") is True:
        problems.append(
            "'content_in_root' must not be true; the integration lives in "
            "custom_components/ (project rule)"
        )
    return [f"hacs.json: {problem}" for problem in problems]


def _root_file(names: frozenset[str], problem: str) -> Callable[[Path], Problems]:
    """A check that the repository root holds a file named one of ``names``."""

    def check(repo: Path) -> Problems:
        files = (path.name.lower() for path in repo.iterdir() if path.is_file())
        return [] if any(name in names for name in files) else [problem]

    return check


# The HACS action's information check: a README or info file at the root.
check_readme = _root_file(
    README_NAMES, "no README.md (or readme/info/info.md) at the repository root"
)
# The local part of the HACS action's license check: a LICENSE file exists.
check_license = _root_file(
    LICENSE_NAMES,
    "no LICENSE file at the repository root; the HACS action's 'license' "
    "check needs a GitHub-detected, OSI-approved license",
)


def check_single_integration(repo: Path) -> Problems:
    """HACS uses the first directory under custom_components/: there must be one."""
    base = repo / "custom_components"
    if not base.is_dir():
        return ["custom_components/ does not exist"]
    dirs = sorted(
        path.name
        for path in base.iterdir()
        if path.is_dir() and not path.name.startswith((".", "__"))
    )
    if len(dirs) != 1:
        return [f"custom_components/ must hold exactly one integration, found {dirs}"]
    return []


def check_brand(integration: Path) -> Problems:
    """HACS brands check (brand/icon.png) and the brand image rules of HA 2026.3+."""
    brand = integration / "brand"
    if not (icon := brand / "icon.png").is_file():
        return [f"{_rel(icon)} does not exist (HACS 'brands' check: a 256x256 PNG)"]
    problems: Problems = []
    for path in sorted(brand.iterdir()):
        name = path.name
        if name not in BRAND_IMAGES:
            allowed = ", ".join(sorted(BRAND_IMAGES))
            problems.append(
                f"brand/{name} is not an allowed brand image name ({allowed})"
            )
        elif isinstance(size := _png_size(path), str):
            problems.append(f"brand/{name} {size}")
        else:
            width, height = size
            scale = 2 if "@2x" in name else 1
            low, high = 128 * scale, 256 * scale
            if "icon" in name and size != (high, high):
                problems.append(
                    f"brand/{name} is {width}x{height}, must be {high}x{high}"
                )
            elif "icon" not in name and not low <= min(size) <= high:
                problems.append(
                    f"brand/{name} is {width}x{height}; a logo's shortest side must be "
                    f"{low}-{high} px"
                )
    return problems
