"""The Python code: hassfest's module checks, and its translation keys against en.json."""

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
import re
from typing import Any

from homeassistant.util import slugify
import yaml  # type: ignore[import-untyped]

from .common import (
    EN,
    PLATFORMS,
    Problems,
    _assigned,
    _call_name,
    _has_path,
    _is_str_list,
    _load_json,
    _load_manifest,
    _python_files,
    _rel,
    _trees,
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
COMPONENTS = "homeassistant.components."
# A manifest discovery key allows importing the matching integration.
DISCOVERY_INTEGRATIONS = {key: key for key in _words("dhcp mqtt ssdp zeroconf")}
DISCOVERY_INTEGRATIONS["homekit"] = "zeroconf"


def _components(node: ast.AST) -> Iterator[tuple[str, int]]:
    """(domain, line) of `homeassistant.components.<x>` references, like hassfest."""
    line = getattr(node, "lineno", 0)
    children: Iterable[ast.AST] = ast.iter_child_nodes(node)
    match node:
        case ast.If(
            test=ast.Name(id="TYPE_CHECKING") | ast.Attribute(attr="TYPE_CHECKING")
        ):
            children = node.orelse
        case ast.ImportFrom(module="homeassistant.components.http.auth") if [
            alias.name for alias in node.names
        ] == ["async_sign_path"]:
            return
        case ast.ImportFrom(module="homeassistant.components"):
            children = ()
            yield from ((alias.name, line) for alias in node.names)
        case ast.ImportFrom(module=str(module)) if module.startswith(COMPONENTS):
            children = ()
            yield module.split(".")[2], line
        case ast.Import():
            children = ()
            yield from (
                (alias.name.split(".")[2], line)
                for alias in node.names
                if alias.name.startswith(COMPONENTS)
            )
        case ast.Attribute(
            value=ast.Attribute(
                attr="components",
                value=ast.Name(id="hass") | ast.Attribute(attr="hass" | "_hass"),
            )
        ):
            children = ()
            yield node.attr, line
    for child in children:
        yield from _components(child)


def check_dependencies(integration: Path) -> Problems:
    """Hassfest's dependencies check on `homeassistant.components.<x>` imports."""
    problems: Problems = []
    if (manifest := _load_manifest(integration, problems)) is None:
        return problems
    allowed = {*PLATFORMS, *ALLOWED_USED_COMPONENTS}
    allowed.add(str(manifest.get("domain", integration.name)))
    for key in ("dependencies", "after_dependencies"):
        if _is_str_list(manifest.get(key)):
            allowed.update(manifest[key])
    allowed.update(
        domain for key, domain in DISCOVERY_INTEGRATIONS.items() if key in manifest
    )
    for path, tree in _trees(integration, problems).items():
        referenced: dict[str, int] = {}
        for domain, line in _components(tree):
            referenced.setdefault(domain, line)
        problems.extend(
            f"{_rel(path)}:{line}: Using component {domain} but it's not in "
            "'dependencies' or 'after_dependencies' of manifest.json"
            for domain, line in sorted(referenced.items())
            # A platform file or directory of this integration allows its component.
            if domain not in allowed
            and not (integration / f"{domain}.py").is_file()
            and not (integration / domain).is_dir()
        )
    return problems


def check_config_schema(integration: Path) -> Problems:
    """Hassfest's config_schema check (a warning for custom integrations)."""
    if not (init := integration / "__init__.py").is_file():
        return [
            f"{_rel(init)} does not exist; Home Assistant cannot load the integration"
        ]
    problems: Problems = []
    if (tree := _trees(integration, problems, "__init__.py").get(init)) is None:
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


# ========================================================= translation keys in code


@dataclass(frozen=True)
class TranslationUse:
    """A translation string that the Python code needs."""

    where: str
    path: tuple[str, ...]
    alternatives: tuple[tuple[str, ...], ...] = ()

    def found_in(self, strings: Any) -> bool:
        """Return whether en.json has the string (or one of its alternatives)."""
        return any(_has_path(strings, path) for path in (self.path, *self.alternatives))


EXCEPTION_SUFFIXES = ("Error", "Exception", "Failed", "NotReady", "Invalid")
ISSUE_FUNCTIONS = frozenset({"async_create_issue", "create_issue"})


def _platform_of(description_class: str, file_stem: str) -> str | None:
    if file_stem in PLATFORMS:
        return file_stem
    for platform in sorted(PLATFORMS, key=len, reverse=True):
        if platform.title().replace("_", "") in description_class:
            return platform
    return None


def _string_constants(trees: dict[Path, ast.Module]) -> dict[str, str]:
    """Module-level `NAME = "text"` constants of every module (const.py and others)."""
    return {
        name: value.value
        for tree in trees.values()
        for name, value in _assigned(tree.body)
        if isinstance(value, ast.Constant) and isinstance(value.value, str)
    }


def _resolve(node: ast.expr | None, constants: dict[str, str]) -> str | None:
    """A string literal, or a module-level string constant referenced by name."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.Attribute):  # const.CONF_X
        return constants.get(node.attr)
    return None


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in node.keywords if kw.arg == name), None)


def _argument(call: ast.Call, function: ast.FunctionDef, param: str) -> ast.expr | None:
    """The expression passed for `param` of `function` in `call` (or its default)."""
    if (value := _keyword(call, param)) is not None:
        return value
    positional = [arg.arg for arg in (*function.args.posonlyargs, *function.args.args)]
    if param in positional:
        index = positional.index(param)
        if index < len(call.args) and not isinstance(call.args[index], ast.Starred):
            return call.args[index]
        defaults = function.args.defaults
        offset = index - (len(positional) - len(defaults))
        return defaults[offset] if offset >= 0 else None
    kwonly = [arg.arg for arg in function.args.kwonlyargs]
    if param in kwonly:
        return function.args.kw_defaults[kwonly.index(param)]
    return None


def _use_for(
    call_name: str, raised: bool, where: str, stem: str, key: str
) -> TranslationUse | None:
    """What a `translation_key=key` keyword needs in en.json, by the call it is in."""
    if call_name.endswith("Description"):  # SensorEntityDescription, XSensorDescription
        return _entity_use(where, _platform_of(call_name, stem), key)
    if call_name in ISSUE_FUNCTIONS:
        return TranslationUse(where, ("issues", key, "title"))
    if call_name.endswith("SelectorConfig"):
        return TranslationUse(where, ("selector", key))
    if raised or call_name.endswith(EXCEPTION_SUFFIXES):
        return TranslationUse(where, ("exceptions", key, "message"))
    return None


def _code_translation_uses(
    trees: dict[Path, ast.Module], constants: dict[str, str]
) -> list[TranslationUse]:
    """Find the translation keys in the integration's code."""
    uses: list[TranslationUse] = []
    for path, tree in trees.items():
        stem = path.stem
        raised = {
            id(node.exc)
            for node in ast.walk(tree)
            if isinstance(node, ast.Raise) and node.exc
        }
        functions = {
            node.name: node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
        }
        # (helper name, parameter, call name, raised) for keys taken from a parameter
        forwarded: list[tuple[str, str, str, bool]] = []
        for function in functions.values():
            params = {
                arg.arg for arg in ast.walk(function.args) if isinstance(arg, ast.arg)
            }
            forwarded.extend(
                (function.name, value.id, _call_name(node), id(node) in raised)
                for node in ast.walk(function)
                if isinstance(node, ast.Call)
                and isinstance(value := _keyword(node, "translation_key"), ast.Name)
                and value.id in params
            )
        for node in ast.walk(tree):
            where = f"{_rel(path)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Call):
                name = _call_name(node)
                # The call's own key, and the keys it passes to a forwarding helper.
                found = [(name, id(node) in raised, _keyword(node, "translation_key"))]
                found.extend(
                    (call_name, was_raised, _argument(node, functions[helper], param))
                    for helper, param, call_name, was_raised in forwarded
                    if name == helper
                )
                uses.extend(
                    use
                    for call_name, was_raised, expr in found
                    if (key := _resolve(expr, constants)) is not None
                    and (use := _use_for(call_name, was_raised, where, stem, key))
                )
            for name, value in _assigned([node], attributes=True):
                if name == "_attr_translation_key" and (
                    key := _resolve(value, constants)
                ):
                    uses.append(_entity_use(where, _platform_of("", stem), key))
    return uses


def _entity_use(where: str, platform: str | None, key: str) -> TranslationUse:
    if platform is not None:
        return TranslationUse(where, ("entity", platform, key, "name"))
    # Platform unknown (e.g. a shared description class): any platform will do.
    return TranslationUse(
        where,
        ("entity", "<platform>", key, "name"),
        tuple(("entity", other, key, "name") for other in sorted(PLATFORMS)),
    )


def _missing(
    integration: Path, uses: list[TranslationUse], problems: Problems, needs: str
) -> Problems:
    """Add a problem per use whose string translations/en.json lacks."""
    if uses and (strings := _load_json(integration / EN, problems)) is not None:
        problems.extend(
            f"{use.where}: {needs} {'.'.join(use.path)} in translations/en.json"
            for use in uses
            if not use.found_in(strings)
        )
    return problems


def check_translation_keys_used(integration: Path) -> Problems:
    """Every literal translation_key in the code has its string in en.json."""
    problems: Problems = []
    trees = _trees(integration, problems)
    uses = _code_translation_uses(trees, _string_constants(trees))
    return _missing(integration, uses, problems, "translation key needs")


def _returned_keys(tree: ast.Module, constants: dict[str, str]) -> dict[str, set[str]]:
    """Strings each module function can return: literals, constants, mapping values."""
    tables = {
        name: {key for item in value.values if (key := _resolve(item, constants))}
        for name, value in _assigned(tree.body)
        if isinstance(value, ast.Dict)
    }
    returns: dict[str, set[str]] = {}
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        read = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
        keys = returns.setdefault(function.name, set())
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and node.value is not None:
                if (key := _resolve(node.value, constants)) is not None:
                    keys.add(key)
                else:  # a lookup in a table, or another helper's answer
                    keys.update(*(tables[name] for name in read & tables.keys()))
                    keys.update(*(returns[name] for name in read & returns.keys()))
    return returns


def _error_exprs(node: ast.AST) -> list[ast.expr]:
    """Form errors set by a node: `errors["base"] = ...` or `{"base": ...}`."""
    if isinstance(node, ast.Assign):
        return [
            node.value
            for target in node.targets
            if isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Name)
            and target.value.id == "errors"
        ]
    if isinstance(node, ast.Dict):
        return [
            value
            for key, value in zip(node.keys, node.values, strict=True)
            if isinstance(key, ast.Constant) and key.value == "base"
        ]
    return []


def _step_uses(
    node: ast.Call, method: str, section: str, where: str, constants: dict[str, str]
) -> list[TranslationUse]:
    """Steps and abort reasons named by a flow method's call."""
    name = _call_name(node)
    found: str | None = None
    if name in {"async_show_form", "async_show_menu"}:
        if step := _resolve(_keyword(node, "step_id"), constants):
            return [TranslationUse(where, (section, "step", step))]
    elif name == "async_abort":
        found = _resolve(_keyword(node, "reason"), constants)
    elif name in {"_abort_if_unique_id_configured", "_async_abort_entries_match"}:
        found = "already_configured"
    elif name == "async_update_reload_and_abort":
        found = _resolve(_keyword(node, "reason"), constants)
        for prefix in ("reauth", "reconfigure"):
            if found is None and method.startswith(f"async_step_{prefix}"):
                found = f"{prefix}_successful"
    return [] if found is None else [TranslationUse(where, (section, "abort", found))]


def _flow_uses(
    trees: dict[Path, ast.Module], constants: dict[str, str]
) -> list[TranslationUse]:
    """Steps, errors and abort reasons of config_flow.py and validation.py."""
    returns: dict[str, set[str]] = {}
    for tree in trees.values():
        for function, keys in _returned_keys(tree, constants).items():
            returns.setdefault(function, set()).update(keys)
    uses: list[TranslationUse] = []
    for path, tree in trees.items():
        scopes: list[tuple[str, str, ast.AST]] = [
            ("config", function.name, function)
            for function in tree.body
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
            bases = " ".join(ast.unparse(base) for base in cls.bases)
            if "SubentryFlow" not in bases:
                section = "options" if "OptionsFlow" in bases else "config"
                scopes.extend(
                    (section, method.name, method)
                    for method in cls.body
                    if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef)
                )
        for section, method, scope in scopes:
            for node in ast.walk(scope):
                where = f"{_rel(path)}:{getattr(node, 'lineno', '?')}"
                if isinstance(node, ast.Call):
                    uses.extend(_step_uses(node, method, section, where, constants))
                uses.extend(
                    TranslationUse(where, (section, "error", error))
                    for expr in _error_exprs(node)
                    for error in sorted(_error_keys(expr, constants, returns))
                )
    return uses


def _error_keys(
    expr: ast.expr, constants: dict[str, str], returns: dict[str, set[str]]
) -> set[str]:
    """Error keys an expression can produce: a literal, constant or helper call."""
    if (key := _resolve(expr, constants)) is not None:
        return {key}
    if isinstance(expr, ast.Call):
        return returns.get(_call_name(expr), set())
    return set()


def check_flow_strings(integration: Path) -> Problems:
    """Config/options flow steps, errors and abort reasons have strings (project rule)."""
    if not (integration / "config_flow.py").is_file():
        return []  # data-driven: nothing to check until the flow exists
    problems: Problems = []
    constants = _string_constants(_trees(integration, problems))
    flow = _trees(integration, problems, "config_flow.py", "validation.py")
    uses = _flow_uses(flow, constants)
    return _missing(integration, uses, problems, "needs")
