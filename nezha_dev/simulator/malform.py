"""Raw-field overrides a test puts on rendered server objects (both APIs)."""

from typing import Any, Final


class _Missing:
    """Type of :data:`MISSING`."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""Pass as the value to :meth:`NezhaSimulator.set_malformed` to delete a key."""


def apply_overrides(
    overrides: dict[str, object], element: dict[str, Any]
) -> dict[str, Any]:
    """Apply dotted ``field -> value`` overrides to ``element`` in place."""
    for dotted, value in overrides.items():
        *parents, key = dotted.split(".")
        target: Any = element
        for parent in parents:
            target = target.get(parent) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            continue  # parent was itself overridden with a non-object
        if value is MISSING:
            target.pop(key, None)
        else:
            target[key] = value
    return element
