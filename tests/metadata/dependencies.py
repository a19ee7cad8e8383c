"""Hassfest's checks on the integration's modules: dependencies, config_schema, services."""

from __future__ import annotations

import ast
from pathlib import Path
import re

from homeassistant.util import slugify
import yaml  # type: ignore[import-untyped]

from .common import (
    PLATFORMS,
    Problems,
    _assigned,
    _is_str_list,
    _load_manifest,
    _parse,
    _python_files,
    _rel,
    _words,
)

# hassfest's ALLOWED_USED_COMPONENTS (script/hassfest/dependencies.py), besides the
# entity platforms, which are always allowed.
ALLOWED_USED_COMPONENTS = frozenset(
    _words(
        "alert automation conversation device_automation frontend group hassio"
        " homeassistant input_boolean input_button input_datetime input_number"
        " input_select input_text media_source onboarding panel_custom"
        " persistent_notification person script shopping_list sun system_health"
        " system_log timer webhook websocket_api zone mjpeg stream"
    )
)
SCHEMA_NAMES = frozenset(_words("CONFIG_SCHEMA PLATFORM_SCHEMA PLATFORM_SCHEMA_BASE"))
RE_REGISTERS = re.compile(
    r"hass\.services\.(async_)?register|async_register_entity_service|"
    r"async_register_admin_service"
)
# A manifest discovery key allows importing the matching integration.
DISCOVERY_INTEGRATIONS = {
    "dhcp": ("dhcp",),
    "mqtt": ("mqtt",),
    "ssdp": ("ssdp",),
    "zeroconf": ("zeroconf", "homekit"),
}


class _ImportCollector(ast.NodeVisitor):
    """Collect `homeassistant.components.<x>` references like hassfest does."""

    def __init__(self) -> None:
        self.referenced: dict[str, int] = {}

    def _add(self, domain: str, node: ast.AST) -> None:
        self.referenced.setdefault(domain, getattr(node, "lineno", 0))

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if module == "homeassistant.components.http.auth" and [
            alias.name for alias in node.names
        ] == ["async_sign_path"]:
            return
        if module.startswith("homeassistant.components."):
            self._add(module.split(".")[2], node)
        elif module == "homeassistant.components":
            for alias in node.names:
                self._add(alias.name, node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.startswith("homeassistant.components."):
                self._add(alias.name.split(".")[2], node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        value = node.value
        if (
            isinstance(value, ast.Attribute)
            and value.attr == "components"
            and (
                (isinstance(value.value, ast.Name) and value.value.id == "hass")
                or (
                    isinstance(value.value, ast.Attribute)
                    and value.value.attr in {"hass", "_hass"}
                )
            )
        ):
            self._add(node.attr, node)
        else:
            self.generic_visit(node)


def check_dependencies(integration: Path) -> Problems:
    """Hassfest's dependencies check on `homeassistant.components.<x>` imports."""
    problems: Problems = []
    manifest = _load_manifest(integration, problems)
    if manifest is None:
        return problems
    allowed = set(PLATFORMS | ALLOWED_USED_COMPONENTS)
    allowed.add(str(manifest.get("domain", integration.name)))
    for key in ("dependencies", "after_dependencies"):
        if _is_str_list(manifest.get(key)):
            allowed.update(manifest[key])
    for domain, keys in DISCOVERY_INTEGRATIONS.items():
        if any(key in manifest for key in keys):
            allowed.add(domain)
    for path in _python_files(integration):
        if (tree := _parse(path, problems)) is None:
            continue
        collector = _ImportCollector()
        collector.visit(tree)
        for domain, line in sorted(collector.referenced.items()):
            if domain in allowed:
                continue
            # A platform file or directory of this integration allows its component.
            if (integration / f"{domain}.py").is_file() or (
                integration / domain
            ).is_dir():
                continue
            problems.append(
                f"{_rel(path)}:{line}: Using component {domain} but it's not in "
                "'dependencies' or 'after_dependencies' of manifest.json"
            )
    return problems


def check_config_schema(integration: Path) -> Problems:
    """Hassfest's config_schema check (a warning for custom integrations)."""
    if not (init := integration / "__init__.py").is_file():
        return [
            f"{_rel(init)} does not exist; Home Assistant cannot load the integration"
        ]
    problems: Problems = []
    if (tree := _parse(init, problems)) is None:
        return problems
    functions = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    names = {name for name, _ in _assigned(tree.body)} | {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    if functions & {"setup", "async_setup"} and not names & SCHEMA_NAMES:
        problems.append(
            "__init__.py defines async_setup/setup but no CONFIG_SCHEMA; add "
            "CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)"
        )
    return problems


def check_services(integration: Path) -> Problems:
    """Hassfest's services check: registering services needs a services.yaml."""
    users = [
        _rel(path)
        for path in _python_files(integration)
        if RE_REGISTERS.search(path.read_text(encoding="utf-8"))
    ]
    if not (services_yaml := integration / "services.yaml").is_file():
        problem = (
            f"{', '.join(users)} register(s) services but services.yaml does not exist"
        )
        return [problem] if users else []
    try:
        services = yaml.safe_load(services_yaml.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        return [f"services.yaml is not valid YAML: {err}"]
    if not isinstance(services, dict):
        return ["services.yaml must be a mapping of service names"]
    return [
        f"services.yaml: {name!r} {problem}"
        for name, service in services.items()
        for problem, broken in (
            ("is not a valid slug", slugify(str(name)) != name),
            ("must be a mapping", not isinstance(service, dict | None)),
        )
        if broken
    ]
