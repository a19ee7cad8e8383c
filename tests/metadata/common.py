"""Paths, the Problems type and small helpers shared by the metadata checks."""

import ast
from collections.abc import Iterable, Iterator
import json
from pathlib import Path
from typing import Any

from homeassistant.const import Platform
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "nezha"
INTEGRATION_DIR = REPO_ROOT / "custom_components" / DOMAIN
EN = "translations/en.json"

PLATFORMS = frozenset(platform.value for platform in Platform)

# Problems: a list of readable strings; an empty list means the check passes.
Problems = list[str]


def _rel(path: Path) -> str:
    """Return the path relative to the repository root when possible."""
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _load_json(path: Path, problems: Problems, *, object_only: bool = False) -> Any:
    """Load a JSON file (an object if ``object_only``); else a problem and None."""
    if not path.is_file():
        problems.append(f"{_rel(path)} does not exist")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        problems.append(f"Invalid JSON file {_rel(path)}: {err}")
        return None
    if object_only and not isinstance(data, dict):
        problems.append(f"{_rel(path)} must contain a JSON object")
        return None
    return data


def _load_manifest(integration: Path, problems: Problems) -> dict[str, Any] | None:
    return _load_json(integration / "manifest.json", problems, object_only=True)  # type: ignore[no-any-return]


def _python_files(integration: Path) -> Iterator[Path]:
    for path in sorted(integration.rglob("*.py")):
        if "__pycache__" not in path.parts and path.is_file():
            yield path


def _trees(
    integration: Path, problems: Problems, *names: str
) -> dict[Path, ast.Module]:
    """Parsed modules: those ``names`` that exist, or all; a problem per failure."""
    paths = (
        [integration / name for name in names] if names else _python_files(integration)
    )
    trees: dict[Path, ast.Module] = {}
    for path in (path for path in paths if path.is_file()):
        try:
            trees[path] = ast.parse(path.read_text(encoding="utf-8"), str(path))
        except SyntaxError as err:
            problems.append(f"{_rel(path)} does not parse: {err}")
    return trees


def _assigned(
    nodes: Iterable[ast.AST], *, attributes: bool = False
) -> Iterator[tuple[str, ast.expr | None]]:
    """(name, value) of the assignments among ``nodes``: ``x =`` (and ``self.x =``)."""
    for node in nodes:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    yield target.id, node.value
                elif attributes and isinstance(target, ast.Attribute):
                    yield target.attr, node.value


def _words(text: str) -> tuple[str, ...]:
    """The space-separated words of ``text``, in order."""
    return tuple(text.split())


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _call_name(node: ast.Call) -> str:
    """The called name: ``f`` of ``f()`` and of ``x.f()``."""
    return str(getattr(node.func, "id", None) or getattr(node.func, "attr", ""))


def _dig(data: Any, path: Iterable[str]) -> Any:
    """The value at the nested keys ``path`` (KeyError or TypeError when absent)."""
    for key in path:
        data = data[key]
    return data


def _has_path(data: Any, path: tuple[str, ...]) -> bool:
    try:
        _dig(data, path)
    except KeyError, TypeError:
        return False
    return True


def _report(problems: Problems, what: str) -> None:
    """Fail the calling test with one line per problem."""
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        pytest.fail(f"{what}: {len(problems)} problem(s)\n{lines}", pytrace=False)
