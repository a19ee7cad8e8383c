"""Translation files and icons: a small JSON schema language, hassfest's schemas and rules."""

from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from pathlib import Path
import re
import string
from typing import Any

from homeassistant.util import slugify

from .common import EN, PLATFORMS, Problems, _load_json, _load_manifest, _rel, _words

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

# A validator takes a value and its key path; a rule takes a value alone (`_at` makes
# it a validator). Both return problems.
Validator = Callable[[Any, str], Problems]
Rule = Callable[[Any], Iterable[str]]
KeyRule = Callable[[str], str | None]


def _at(rule: Rule) -> Validator:
    return lambda value, path: [f"{path}: {problem}" for problem in rule(value)]


def _is(test: Callable[[Any], object], message: str) -> Rule:
    """A rule: ``test(value)`` holds, else ``message`` (``{!r}`` in it is the value)."""
    return lambda value: [] if test(value) else [message.format(value)]


def _typed(kind: type, name: str, rule: Rule = lambda _: ()) -> Rule:
    """A rule: the value is a ``kind`` (described as ``name``) that passes ``rule``."""
    return lambda value: (
        rule(value)
        if isinstance(value, kind)
        else [f"must be {name}, got {type(value).__name__}"]
    )


def _text(*, placeholders: bool = True) -> Validator:
    return _at(_typed(str, "a string", lambda text: _strings(text, placeholders)))


# Hassfest's rules for a translated string: "the string should not contain {key}".
NOT_CONTAINED: dict[str, Callable[[str], object]] = {
    "HTML": RE_HTML.search,
    "placeholders inside single quotes": RE_SINGLE_QUOTED_PLACEHOLDER.search,
    "combined translations": RE_COMBINED_REFERENCE.search,
    "leading or trailing spaces": lambda value: value != value.strip(),
    "URLs, please use description placeholders instead": RE_URL.search,
}


def _strings(value: str, allow_placeholders: bool) -> Problems:
    """Hassfest's rules for a translated string (plus: references are not resolved)."""
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
        fields = _fields(value)
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
    key_rule: KeyRule | None = None,
) -> Validator:
    """A JSON object with known keys (others rejected unless `extra` validates them)."""
    required = tuple(required)

    def validate(value: Any, path: str) -> Problems:
        if not isinstance(value, dict):
            return [f"{path}: must be an object, got {type(value).__name__}"]
        problems = [
            f"{path}.{key}: is required" if path else f"{key}: is required"
            for key in required
            if key not in value
        ]
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if key_rule is not None and (problem := key_rule(key)):
                problems.append(f"{child}: {problem}")
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
    return _obj({}, extra=value_validator, key_rule=key_rule)


def _keyed(validator: Validator) -> Validator:
    """A JSON object with translation keys and uniform values."""
    return _map(validator, _translation_key_problem)


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


# ====================================================================== translations


def _data_description_subset(value: Any, path: str) -> Problems:
    """Hassfest: data_description keys must be a subset of data keys (per step)."""
    return [
        f"{path}.{block_path}.data_description.{key}: data_description key {key} "
        "is not in data"
        for block_path, _, block in _walk(value)
        if re.fullmatch(r"step\.[^.]+(\.sections\.[^.]+)?", block_path)
        and isinstance(block, dict)
        and isinstance(descriptions := block.get("data_description"), dict)
        for key in descriptions
        if not isinstance(data := block.get("data"), dict) or key not in data
    ]


def _data_entry_schema(
    *, subentry: bool = False, allow_title: bool = False
) -> Validator:
    text = _text()
    texts = _map(text)
    section = _obj(
        {"data": texts, "data_description": texts, "description": text, "name": text}
    )
    step_maps = "data data_description menu_options menu_option_descriptions"
    step = _obj(
        {"title": text, "description": text, "submit": text, "sections": _map(section)}
        | dict.fromkeys(_words(step_maps), texts)
    )
    fields: dict[str, Validator] = {
        "flow_title": text,
        "step": _map(step),
        **dict.fromkeys(_words("error abort progress create_entry"), texts),
        "initiate_flow": _obj(
            {"user": text}, required=["user"], extra=text if subentry else None
        ),
    }
    required = ["step"]
    if subentry:
        fields["entry_type"] = text
        required += ["entry_type", "initiate_flow"]
    if allow_title:  # deprecated; hassfest only warns for custom integrations
        fields["title"] = text
    return _all_of(_obj(fields, required=required), _data_description_subset)


def _issue_schema() -> Validator:
    text = _text()
    fields = {"title": text, "description": text, "fix_flow": _data_entry_schema()}
    exactly_one = _is(
        lambda issue: (
            not isinstance(issue, dict)
            or ("description" in issue) != ("fix_flow" in issue)
        ),
        "needs exactly one of 'description' or 'fix_flow'",
    )
    return _all_of(_obj(fields, required=["title"]), _at(exactly_one))


def _config_panel(value: Any, path: str) -> Problems:
    return _map(_any_of(_text(), _config_panel))(value, path)


def _translation_schema() -> Validator:
    text = _text()
    no_placeholders = _text(placeholders=False)
    states = _keyed(no_placeholders)

    def described(**more: Validator) -> Validator:
        """An object with a required name and description (and optional `more`)."""
        fields = {"name": text, "description": text, **more}
        return _obj(fields, required=["name", "description"])

    def entity(attribute_name: Validator, **more: Validator) -> Validator:
        """An entity's (or entity component's) name, states and state attributes."""
        attribute = _obj({"name": attribute_name, "state": states})
        fields = {"name": text, "state": states, "state_attributes": _keyed(attribute)}
        return _obj({**fields, **more})

    fields_schema = _keyed(described(example=text))
    action_like = described(fields=fields_schema)
    automation_keys = _words(
        "action_type condition_type trigger_type trigger_subtype extra_fields"
        " extra_fields_descriptions"
    )
    return _obj(
        {
            "title": text,
            "config": _data_entry_schema(allow_title=True),
            "config_subentries": _map(
                _data_entry_schema(subentry=True), _slug_or_underscore_problem
            ),
            "options": _data_entry_schema(),
            "preview_features": _keyed(
                described(enable_confirmation=text, disable_confirmation=text)
            ),
            "selector": _map(
                _obj(
                    dict.fromkeys(
                        _words("choices options unit_of_measurement"), _keyed(text)
                    )
                    | {"fields": _keyed(_any_of(text, described()))}
                ),
                _slug_or_underscore_problem,
            ),
            "device_automation": _obj({key: _map(text) for key in automation_keys}),
            "system_health": _obj({"info": _keyed(text)}),
            "config_panel": _config_panel,
            "application_credentials": _obj({"description": text}),
            "issues": _map(_issue_schema()),
            "entity_component": _map(entity(text), _slug_or_underscore_problem),
            "device": _keyed(_obj({"name": text})),
            "entity": _map(
                _keyed(entity(no_placeholders, unit_of_measurement=no_placeholders)),
                _platform_key_problem,
            ),
            "exceptions": _map(_obj({"message": text}), _slug_problem),
            "services": _keyed(
                described(
                    fields=fields_schema,
                    sections=_keyed(
                        _obj({"name": text, "description": text}, required=["name"])
                    ),
                )
            ),
            "conditions": _map(action_like, _underscore_slug_problem),
            "triggers": _map(action_like, _underscore_slug_problem),
            "conversation": _obj(
                {"agent": _obj({"done": text}, required=["done"])}, required=["agent"]
            ),
            "common": _map(text, _slug_problem),
        }
    )


def _walk(data: Any, prefix: str = "") -> Iterator[tuple[str, str, Any]]:
    """(key path, key, value) of every key in a translation file, depth first."""
    if isinstance(data, dict):
        for key, value in data.items():
            child = f"{prefix}.{key}" if prefix else str(key)
            yield child, key, value
            yield from _walk(value, child)


def _translation_files(
    integration: Path, problems: Problems, skip: str = ""
) -> Iterator[tuple[str, Any]]:
    """(label, data) of each translation file but ``skip`` that loads."""
    for path in sorted((integration / "translations").glob("*.json")):
        if path.name != skip and (data := _load_json(path, problems)) is not None:
            yield f"translations/{path.name}", data


def check_translation_files(integration: Path) -> Problems:
    """Translation file layout: translations/en.json, no strings.json, no .translations."""
    en = integration / EN
    broken = {
        f"{_rel(en)} does not exist; custom integrations ship their English strings "
        "there": not en.is_file(),
        "strings.json must not exist in a custom integration (HA docs); put the "
        "strings in translations/en.json": (integration / "strings.json").exists(),
        "the legacy '.translations' directory must be renamed 'translations'": (
            integration / ".translations"
        ).is_dir(),
    }
    return [problem for problem, is_broken in broken.items() if is_broken]


def check_translation_strings(integration: Path) -> Problems:
    """Hassfest's translation schema and string rules, for every translation file."""
    if not any((integration / "translations").glob("*.json")):
        return [f"{_rel(integration / 'translations')} has no *.json files"]
    problems: Problems = []
    schema = _translation_schema()
    for label, data in _translation_files(integration, problems):
        problems.extend(f"{label}: {problem}" for problem in schema(data, ""))
        for key_path, key, _ in _walk(data):
            if key != "_" and (problem := _translation_key_problem(key)):
                problems.append(f"{label}: {key_path}: {problem}")
    return problems


def _leaves(data: Any) -> dict[str, Any]:
    """Key path -> value of every leaf (non-object value) in a translation file."""
    return {
        path: value for path, _, value in _walk(data) if not isinstance(value, dict)
    }


def _fields(value: str) -> list[str]:
    """The {placeholders} of a string, sorted (TypeError/ValueError: none)."""
    return sorted(
        {field for _, field, _, _ in string.Formatter().parse(value) if field}
    )


def check_translation_key_sets(integration: Path) -> Problems:
    """Every translation file has exactly the keys of translations/en.json."""
    problems: Problems = []
    if (reference := _load_json(integration / EN, problems)) is None:
        return problems
    expected = {path for path, _, _ in _walk(reference)}
    english = _leaves(reference)
    for label, data in _translation_files(integration, problems, skip="en.json"):
        keys = {path for path, _, _ in _walk(data)}
        problems.extend(f"{label}: missing {key}" for key in sorted(expected - keys))
        problems.extend(
            f"{label}: {key} is not in en.json" for key in sorted(keys - expected)
        )
        for key, value in sorted(_leaves(data).items()):
            if key not in english:
                continue
            if isinstance(value, str) and not value.strip():
                problems.append(f"{label}: {key} is empty")
            with suppress(TypeError, ValueError):  # not both format strings
                want, got = _fields(english[key]), _fields(value)
                if want != got:
                    problems.append(
                        f"{label}: {key} has placeholders {got}, en.json has {want}"
                    )
    return problems


# ============================================================================ icons


def _icon_problems(value: str) -> Problems:
    if RE_HTML.search(value):
        return ["the icon should not contain HTML"]
    if not value.startswith("mdi:"):
        return [f"{value!r} must be a Material Design Icon starting with 'mdi:'"]
    return []


_icon = _at(_typed(str, "a string", _icon_problems))


def _number_key_problem(key: str) -> str | None:
    try:
        float(key)
    except ValueError:
        return f"range key {key!r} must be a number"
    return None


def _state_not_default(value: Any, path: str) -> Problems:
    if not isinstance(value, dict) or not isinstance(value.get("state"), dict):
        return []
    return [
        f"{path}.state.{state}: the icon is the same as the default icon and can be removed"
        for state, icon in value["state"].items()
        if icon == value.get("default") is not None
    ]


def _icons_schema(integration_type: str) -> Validator:
    icon_states = _keyed(_icon)
    icon_ranges = _map(_icon, _number_key_problem)
    icon_fields = {"default": _icon, "state": icon_states, "range": icon_ranges}
    attribute = _all_of(_obj(icon_fields), _state_not_default)
    attributes = _keyed(attribute)
    entry = _all_of(
        _obj(icon_fields | {"state_attributes": attributes}), _state_not_default
    )
    data_entry = _obj({"step": _map(_obj({"section": _map(_icon)}))})
    fields: dict[str, Validator] = {
        "config": data_entry,
        "options": data_entry,
        "issues": _map(_obj({"fix_flow": data_entry})),
        "services": _keyed(
            _any_of(_icon, _obj({"service": _icon, "sections": _map(_icon)}))
        ),
    }
    if integration_type not in {"entity", "system"}:
        fields["entity"] = _map(_keyed(entry), _platform_key_problem)
    if integration_type in {"entity", "helper", "system"}:
        fields["entity_component"] = _map(entry, _slug_or_underscore_problem)
    return _obj(fields)


def check_icons(integration: Path) -> Problems:
    """Hassfest's icons check (icons.json is optional; when present it must be valid)."""
    if not (path := integration / "icons.json").exists():
        return []
    problems: Problems = []
    if (icons := _load_json(path, problems)) is None:
        return problems
    manifest = _load_manifest(integration, []) or {}
    schema = _icons_schema(str(manifest.get("integration_type", "hub")))
    return [f"icons.json: {problem}" for problem in schema(icons, "")]
