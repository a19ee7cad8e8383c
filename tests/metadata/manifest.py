"""manifest.json (hassfest's manifest and requirements checks, HACS) and JSON files."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
import json
from pathlib import Path
import re
from typing import Any
from urllib.parse import urlparse

from awesomeversion import (
    AwesomeVersion,
    AwesomeVersionException,
    AwesomeVersionStrategy,
)

from .common import Problems, _is_str_list, _load_manifest, _rel, _words

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
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            problems.append(f"Invalid JSON file {_rel(path)}: {err}")
    return problems
