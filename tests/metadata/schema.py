"""A small schema language for JSON files, and hassfest's string and key rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
import re
import string
from typing import Any

from homeassistant.util import slugify

from .common import PLATFORMS, Problems

RE_TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")
RE_HTML = re.compile(r"<[a-z].*?>", re.IGNORECASE)
RE_SINGLE_QUOTED_PLACEHOLDER = re.compile(r"'{\w+}'")
RE_COMBINED_REFERENCE = re.compile(r"(.+\[%)|(%\].+)")
RE_REFERENCE = re.compile(r"\[%key:[^%]*%\]")
RE_URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5)://|www\.)"
    r"[a-z0-9]+([-.][a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(/.*)?)",
    re.IGNORECASE,
)

Validator = Callable[[Any, str], Problems]
KeyRule = Callable[[str], str | None]


def _text(*, placeholders: bool = True) -> Validator:
    return lambda value, path: [
        f"{path}: {problem}" for problem in _string_problems(value, placeholders)
    ]


# Hassfest's rules for a translated string: "the string should not contain {key}".
NOT_CONTAINED: dict[str, Callable[[str], object]] = {
    "HTML": RE_HTML.search,
    "placeholders inside single quotes": RE_SINGLE_QUOTED_PLACEHOLDER.search,
    "combined translations": RE_COMBINED_REFERENCE.search,
    "leading or trailing spaces": lambda value: value != value.strip(),
    "URLs, please use description placeholders instead": RE_URL.search,
}


def _string_problems(value: Any, allow_placeholders: bool) -> Problems:
    """Hassfest's rules for a translated string (plus: references are not resolved)."""
    if not isinstance(value, str):
        return [f"must be a string, got {type(value).__name__}"]
    problems = [
        f"the string should not contain {what}"
        for what, test in NOT_CONTAINED.items()
        if test(value)
    ]
    if RE_REFERENCE.search(value) and not RE_COMBINED_REFERENCE.search(value):
        problems.append(
            "[%key:...%] references are not resolved for custom integrations; "
            "write the text out"
        )
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(value) if field]
    except ValueError as err:
        problems.append(f"the string is not a valid format string ({err})")
        fields = []
    if fields and not allow_placeholders:
        problems.append("placeholders are not supported in this value")
    problems.extend(
        f"placeholder {{{field}}} must be a valid identifier"
        for field in fields
        if not field.isidentifier()
    )
    return problems


def _translation_key_problem(key: str) -> str | None:
    if RE_TRANSLATION_KEY.match(key):
        return None
    return f"invalid translation key {key!r}: must be [a-z0-9-_]+ and cannot start or end with, or repeat, a hyphen or underscore"


def _slug_problem(key: str) -> str | None:
    return (
        None if slugify(key) == key else f"invalid slug {key!r} (try {slugify(key)!r})"
    )


def _slug_or_underscore_problem(key: str) -> str | None:
    return None if key == "_" else _slug_problem(key)


def _underscore_slug_problem(key: str) -> str | None:
    return _slug_problem(key.removeprefix("_"))


def _obj(
    fields: dict[str, Validator],
    *,
    required: Iterable[str] = (),
    extra: Validator | None = None,
) -> Validator:
    """A JSON object with known keys (others rejected unless `extra` validates them)."""
    required = tuple(required)

    def validate(value: Any, path: str) -> Problems:
        if not isinstance(value, dict):
            return [f"{path}: must be an object, got {type(value).__name__}"]
        problems = [
            f"{path}: '{key}' is required" for key in required if key not in value
        ]
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if key in fields:
                problems.extend(fields[key](item, child))
            elif extra is not None:
                problems.extend(extra(item, child))
            else:
                allowed = ", ".join(sorted(fields))
                problems.append(f"{child}: key not allowed here (allowed: {allowed})")
        return problems

    return validate


def _map(value_validator: Validator, key_rule: KeyRule | None = None) -> Validator:
    """A JSON object with arbitrary keys (checked by key_rule) and uniform values."""

    def validate(value: Any, path: str) -> Problems:
        if not isinstance(value, dict):
            return [f"{path}: must be an object, got {type(value).__name__}"]
        problems: Problems = []
        for key, item in value.items():
            child = f"{path}.{key}"
            if key_rule is not None and (problem := key_rule(key)):
                problems.append(f"{child}: {problem}")
            problems.extend(value_validator(item, child))
        return problems

    return validate


def _any_of(*validators: Validator) -> Validator:
    def validate(value: Any, path: str) -> Problems:
        results = [validator(value, path) for validator in validators]
        return [] if not all(results) else results[0]

    return validate


def _all_of(*validators: Validator) -> Validator:
    return lambda value, path: [p for v in validators for p in v(value, path)]


def _platform_key_problem(key: str) -> str | None:
    if problem := _slug_problem(key):
        return problem
    if key not in PLATFORMS:
        return f"{key!r} is not an entity platform (project rule; e.g. 'sensor')"
    return None
