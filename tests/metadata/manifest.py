"""manifest.json and JSON files (hassfest); hacs.json, README, LICENSE, layout, brand (HACS)."""

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
import re
import struct
from typing import Any
from urllib.parse import urlparse

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy

from .common import Problems, _is_str_list, _load_json, _load_manifest, _rel, _words
from .translations import Rule, Validator, _at, _is, _obj, _typed

REQUIRED_KEYS = _words("domain name documentation codeowners version iot_class")
INTEGRATION_TYPES = sorted(_words("device entity hardware helper hub service system"))
IOT_CLASSES = sorted(
    _words("assumed_state calculated cloud_polling cloud_push local_polling local_push")
)
QUALITY_SCALES = list(
    _words("no_score legacy custom internal bronze silver gold platinum")
)
# hassfest's manifest versions; hacs.json and requirements take any AwesomeVersion reads.
VERSION_STRATEGIES = [
    AwesomeVersionStrategy[name]
    for name in _words("CALVER SEMVER SIMPLEVER BUILDVER PEP440")
]
KNOWN_STRATEGIES = [*AwesomeVersionStrategy.__members__.values()]
KNOWN_STRATEGIES.remove(AwesomeVersionStrategy.UNKNOWN)
RE_CODEOWNER = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:/[\w.-]+)?$")
RE_REQUIREMENT = re.compile(
    r"^(?:--.+\s)?([-_,.\w\d\[\]]+)(==|>=|<=|~=|!=|<|>|===)*(.*)$"
)
RE_VERSION_PART = re.compile(r"^(==|>=|<=|~=|!=|<|>|===)?(.*)$")


def _version(strategies: list[AwesomeVersionStrategy]) -> Rule:
    """A version string that AwesomeVersion reads with one of ``strategies``."""
    names = ", ".join(strategy.value for strategy in strategies)
    valid = _is(
        lambda value: AwesomeVersion(value).strategy in strategies,
        f"{{!r}} is not a valid version ({names})",
    )
    return _typed(str, "a string", valid)


def _url(*schemes: str, not_under: str = "") -> Rule:
    """A URL of one of ``schemes``; not under ``not_under`` (host and path) if given."""

    def rule(value: str) -> Problems:
        parsed = urlparse(value)
        if parsed.scheme not in schemes or not parsed.netloc:
            return [f"{value!r} is not an {' or '.join(schemes)} URL"]
        if not_under and (parsed.netloc.removeprefix("www.") + parsed.path).startswith(
            not_under
        ):
            return [f"should point to its own documentation, not {not_under}"]
        return []

    return _typed(str, "a URL string", rule)


ANY_VERSION = _version(KNOWN_STRATEGIES)


def _requirements(requirements: list[str]) -> Iterator[str]:
    """Hassfest's requirements check (format only; pinning is for core)."""
    for requirement in requirements:
        if " " in requirement:
            yield f'"{requirement}" contains a space'
        elif not (match := RE_REQUIREMENT.match(requirement)):
            yield f'"{requirement}" does not match the package pattern'
        else:
            package, _, version = match.groups()
            yield from (
                f"{requirement!r}: unable to parse the version {version!r} of {package}"
                for part in version.split(";", 1)[0].split(",")
                if part
                and (version_part := RE_VERSION_PART.match(part))
                and any(ANY_VERSION(version_part.group(2)))
            )


def _str_list(rule: Rule = lambda _: ()) -> Rule:
    return lambda value: (
        rule(value) if _is_str_list(value) else ["must be a list of strings"]
    )


def _codeowners(value: list[str]) -> Iterator[str]:
    if not value:
        yield "must list at least one GitHub @handle (project rule)"
    yield from (
        f"{owner!r} is not a GitHub handle like '@user'"
        for owner in value
        if not RE_CODEOWNER.match(owner)
    )


def _one_of(allowed: list[str]) -> Rule:
    return _is(lambda value: value in allowed, f"{{!r}} is not one of {allowed}")


BOOL = _typed(bool, "true or false")
STR = _typed(str, "a string")
# Every manifest key hassfest accepts, with its rule (hassfest rejects the others).
RULES: dict[str, Rule] = {
    "name": _is(
        lambda v: isinstance(v, str) and v.strip(), "must be a non-empty string"
    ),
    "version": _version(VERSION_STRATEGIES),
    "documentation": _url("https", not_under="home-assistant.io/integrations"),
    "issue_tracker": _url("http", "https"),
    "codeowners": _str_list(_codeowners),
    "iot_class": _one_of(IOT_CLASSES),
    "integration_type": _one_of(INTEGRATION_TYPES),
    "quality_scale": _one_of(QUALITY_SCALES),
    "disabled": STR,
    **dict.fromkeys(_words("config_flow single_config_entry import_executor"), BOOL),
    "requirements": _str_list(_requirements),
    **dict.fromkeys(_words("dependencies after_dependencies loggers"), _str_list()),
    # domain is checked against the directory; discovery matchers are not checked.
    **dict.fromkeys(
        _words("domain bluetooth dhcp homekit mqtt preview_features ssdp usb zeroconf"),
        lambda _: (),
    ),
}


def _schema(rules: dict[str, Rule], required: Iterable[str]) -> Validator:
    """An object with only the keys of ``rules``, each value checked by its rule."""
    return _obj({key: _at(rule) for key, rule in rules.items()}, required=required)


MANIFEST_SCHEMA = _schema(RULES, REQUIRED_KEYS)


def _manifest_problems(integration: Path, manifest: dict[str, Any]) -> Iterator[str]:
    yield from MANIFEST_SCHEMA(manifest, "")
    order = sorted(manifest, key=lambda key: {"domain": "", "name": " "}.get(key, key))
    if list(manifest) != order:
        yield f"keys are not sorted correctly: domain, name, then alphabetical order; expected {order}"
    domain, flow = manifest.get("domain"), manifest.get("config_flow")
    if "domain" in manifest and domain != integration.name:
        yield f"domain: {domain!r} does not match the directory name {integration.name!r}"
    if "issue_tracker" not in manifest:  # the HACS action's integration_manifest check
        yield "issue_tracker: is required by the HACS action"
    # hassfest defaults it to "hub", but its integration_type check errors on a config
    # flow without it (one version applies that to custom integrations too).
    if "integration_type" not in manifest:
        yield "integration_type: must be set explicitly (for example 'hub')"
    has_flow = (integration / "config_flow.py").is_file()
    if flow is True and not has_flow:
        yield "config_flow: is true but config_flow.py does not exist"
    if has_flow and flow is not True:
        yield "config_flow: must be true because config_flow.py exists (project rule)"
    scale = manifest.get("quality_scale")
    if scale in ("gold", "platinum") and not (integration / "diagnostics.py").is_file():
        yield f"quality_scale: a {scale} integration must implement diagnostics.py"
    for key in ("dependencies", "after_dependencies"):
        if _is_str_list(manifest.get(key)) and domain in manifest[key]:
            yield f"{key}: must not list the integration itself"


def check_manifest(integration: Path) -> Problems:
    """Check manifest.json like hassfest (manifest, requirements, config_flow) and HACS."""
    problems: Problems = []
    if (manifest := _load_manifest(integration, problems)) is None:
        return problems
    return [
        f"manifest.json: {problem}"
        for problem in _manifest_problems(integration, manifest)
    ]


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


# The HACS action's hacs.json schema (it rejects other keys).
def _countries(value: Any) -> bool:
    codes = [value] if isinstance(value, str) else value
    return _is_str_list(codes) and all(
        re.fullmatch(r"[A-Za-z]{2}|ALL", code) for code in codes
    )


HACS_SCHEMA = _schema(
    {
        **dict.fromkeys(
            _words("content_in_root hide_default_branch render_readme zip_release"),
            BOOL,
        ),
        **dict.fromkeys(_words("name filename persistent_directory"), STR),
        **dict.fromkeys(_words("hacs homeassistant"), ANY_VERSION),
        "country": _is(_countries, "must be an ISO code or a list of them"),
    },
    required=["name"],
)
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
    """The HACS action's hacsjson check, and two rules between keys."""
    problems: Problems = []
    if (data := _load_json(repo / "hacs.json", problems, object_only=True)) is None:
        return problems
    problems = HACS_SCHEMA(data, "")
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
