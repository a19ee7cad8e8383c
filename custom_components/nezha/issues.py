"""The repair issues of an entry, shared by its coordinators."""

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .budget import EntityBudget
from .client import NezhaError, NezhaTooLargeError
from .const import DOMAIN

ISSUES = (
    "too_many_servers",
    "too_many_monitors",
    "too_many_temperatures",
    "response_too_large",
    "too_many_entities",
)


@callback
def async_delete_issues(hass: HomeAssistant, entry_id: str) -> None:
    """Remove the repair issues of an entry (unloaded or removed)."""
    for kind in ISSUES:
        ir.async_delete_issue(hass, DOMAIN, f"{kind}_{entry_id}")


class EntryIssues:
    """Raises and clears an entry's repair issues, each only when it changes."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Start with no issue known (one left from an earlier setup is cleared)."""
        self._hass = hass
        self._entry = entry
        # Open repair issues: kind -> placeholders; answers refused as too large.
        self._open: dict[str, dict[str, str]] = {}
        self._too_large: dict[str, str] = {}
        self._closed = False

    @callback
    def close(self) -> None:
        """Raise nothing more: the entry unloads (its issues are deleted)."""
        self._closed = True

    @callback
    def set(self, kind: str, placeholders: dict[str, str] | None) -> None:
        """Raise the entry's repair issue of this kind, or clear it (None)."""
        issue_id = f"{kind}_{self._entry.entry_id}"
        if placeholders is None:
            # Also one an earlier setup attempt raised (a cheap no-op otherwise).
            self._open.pop(kind, None)
            ir.async_delete_issue(self._hass, DOMAIN, issue_id)
            return
        placeholders = {"title": self._entry.title, **placeholders}
        if self._closed or self._open.get(kind) == placeholders:
            return
        self._open[kind] = placeholders
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=kind,
            translation_placeholders=placeholders,
        )

    @callback
    def note_too_large(self, source: str, err: NezhaError | None) -> None:
        """Track which requests were refused as too large; one issue for all."""
        if isinstance(err, NezhaTooLargeError):
            self._too_large[source] = str(err)
        else:
            self._too_large.pop(source, None)
        self.set(
            "response_too_large",
            {"error": next(iter(self._too_large.values()))}
            if self._too_large
            else None,
        )

    def too_large(self, source: str) -> bool:
        """Return True while the last answer of ``source`` was refused as too large."""
        return source in self._too_large

    @callback
    def update_entities(self, budget: EntityBudget) -> None:
        """Say how many servers have entities left out (see budget.py)."""
        left_out = budget.left_out
        self.set(
            "too_many_entities",
            {
                "count": str(len(left_out)),
                "wanted": str(budget.wanted),
                "limit": str(budget.limit),
            }
            if left_out
            else None,
        )
