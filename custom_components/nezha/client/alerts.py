"""Alerts a Nezha dashboard pushes to a custom webhook (a "notification method").

What the dashboard sends (``model/notification.go``, the same in ``naiba/nezha``
v0-final and ``nezhahq/nezha`` v2.3.7): the user's body template, with each
placeholder replaced. ``#NEZHA#`` is the message; ``#SERVER.ID#`` and
``#SERVER.NAME#`` name the server the alert is about, when there is one. With the
request type JSON each value is JSON-escaped without its quotes, so a placeholder
inside a JSON string stays valid JSON whatever the server is called; with the type
Form the template is a JSON object of fields whose values are form-encoded. So
:data:`ALERT_TEMPLATE` works with both types.

Placeholders that have no value stay in the text as they are: ``#SERVER.*#`` when
the message is not about a server (test messages, service monitors, IP changes,
task results), and on v1/v2 *every* placeholder, ``#NEZHA#`` included, when the
server has not reported since the dashboard started.

The message itself is ``[<Incident|Resolved>] <server>(<masked IP>) <rule name>``
for alert rules (``service/singleton/alertsentinel.go``), in the dashboard's
language. It does not say which metric the rule watches: that is only in the rule,
which the user names.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
import json
import re
from typing import Any, Final
from urllib.parse import parse_qsl

from .models import Server

ALERT_TEMPLATE: Final = (
    '{"message":"#NEZHA#","server_id":"#SERVER.ID#","server_name":"#SERVER.NAME#"}'
)
MAX_ALERT_BYTES: Final = 64 * 1024
# Task results carry the command's output; the event keeps the start of it.
MAX_MESSAGE_CHARS: Final = 4000
FORM_TYPE: Final = "application/x-www-form-urlencoded"

# rule.go: an "offline" rule fails once the last report is more than 6 s old.
SILENT_SECONDS: Final = 6.0

# The bracketed word of alert-rule messages in every language the dashboards
# ship: "Incident"/"Resolved" of v2.3.7's pkg/i18n .po files (empty ones fall
# back to English) and of v0-final's resource/l10n/*.toml.
_INCIDENT: Final = frozenset(
    {"Incident", "Vorfall", "Incidente", "Инцидент", "நிகழ்வு", "事件"}
)
_RESOLVED: Final = frozenset(
    {
        "Resolved",
        "Gelöst",
        "Resuelto",
        "Resolvido",
        "Решено",
        "தீர்க்கப்பட்டது",
        "恢复",
        "恢復",
    }
)
# Sent when a notification method is saved, unless "Do not send test message"
# is ticked: "a test message" (v2) and v0's fixed Chinese text.
_TEST: Final = frozenset(
    {
        "a test message",
        "testnachricht",
        "un mensaje de prueba",
        "tes pesan",
        "uma mensagem de teste",
        "тестовое сообщение",
        "ஒரு சோதனை செய்தி",
        "一条测试信息",
        "一條測試資訊",
        "这是测试消息",
    }
)
_BRACKET = re.compile(r"\[([^\]\n]{1,40})\] ")
_SERVER_ID = re.compile(r"[0-9]{1,20}")


class AlertKind(StrEnum):
    """What an alert is, as far as its message tells."""

    INCIDENT = "incident"
    RESOLVED = "resolved"
    TEST = "test"
    OTHER = "other"


class AlertPayloadError(ValueError):
    """The body is not what the template produces."""


@dataclass(frozen=True, slots=True)
class NezhaAlert:
    """One alert as the dashboard sent it."""

    kind: AlertKind
    message: str | None
    server_id: int | None
    server_name: str | None
    rule: str | None
    """The alert rule's name (incidents and resolutions only)."""


def _fields(body: bytes, content_type: str) -> dict[str, Any]:
    if len(body) > MAX_ALERT_BYTES:
        raise AlertPayloadError("too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise AlertPayloadError("not UTF-8") from err
    if content_type == FORM_TYPE:
        try:
            pairs = parse_qsl(
                text, keep_blank_values=True, strict_parsing=True, max_num_fields=50
            )
        except ValueError as err:
            raise AlertPayloadError("not a form") from err
        fields: dict[str, Any] = {}
        for key, value in pairs:
            fields.setdefault(key, value)  # like Go's url.Values.Get
        return fields
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise AlertPayloadError("not JSON") from err
    if not isinstance(data, dict):
        raise AlertPayloadError("not a JSON object")
    return data


def _text(fields: dict[str, Any], key: str, placeholder: str) -> str | None:
    """A string field; None when absent, empty or still the placeholder."""
    value = fields.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise AlertPayloadError(f"{key} is not a string")
    return None if value in ("", placeholder) else value


def _rule(message: str, start: int, server_name: str | None) -> str | None:
    """The rule name after ``<server>(<masked IP>) `` (the server name is known)."""
    if not server_name:
        return None
    rest = message[start:]
    if not rest.startswith(f"{server_name}("):
        return None
    tail = rest[len(server_name) + 1 :]
    end = tail.find(") ")
    if end < 0:
        return None
    return tail[end + 2 :] or None


def classify(
    message: str | None, server_name: str | None
) -> tuple[AlertKind, str | None]:
    """The kind of a message, and the rule name for alert-rule messages."""
    if message is None:
        return AlertKind.OTHER, None
    match = _BRACKET.match(message)
    if match and match.group(1) in _INCIDENT:
        return AlertKind.INCIDENT, _rule(message, match.end(), server_name)
    if match and match.group(1) in _RESOLVED:
        return AlertKind.RESOLVED, _rule(message, match.end(), server_name)
    if message.strip() in _TEST:
        return AlertKind.TEST, None
    return AlertKind.OTHER, None


def parse_alert(body: bytes, content_type: str = "application/json") -> NezhaAlert:
    """Parse a body made from :data:`ALERT_TEMPLATE` (JSON or form).

    Raises :class:`AlertPayloadError` for anything the template cannot produce.
    Other fields are ignored, so a template with more placeholders still works.
    """
    fields = _fields(body, content_type)
    if "message" not in fields:
        raise AlertPayloadError("no message")
    message = _text(fields, "message", "#NEZHA#")
    server_name = _text(fields, "server_name", "#SERVER.NAME#")
    raw_id = _text(fields, "server_id", "#SERVER.ID#")
    server_id: int | None = None
    if raw_id is not None:
        if not _SERVER_ID.fullmatch(raw_id) or int(raw_id) == 0:
            raise AlertPayloadError("server_id is not a server id")
        server_id = int(raw_id)
    kind, rule = classify(message, server_name)
    if message is not None and len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return NezhaAlert(
        kind=kind,
        message=message,
        server_id=server_id,
        server_name=server_name if server_id is not None else None,
        rule=rule,
    )


class SilencedServers:
    """Servers that an alert found silent: offline until their agent reports again.

    The dashboard raises an offline alert after the agent has been silent for
    more than :data:`SILENT_SECONDS` (for the rule's duration), usually long
    before the integration's own offline threshold is reached. Such a server is
    shown offline until a report newer than the one seen at the alert arrives,
    or until the threshold agrees (then the normal rule takes over).
    """

    def __init__(self) -> None:
        """Start with no silenced server."""
        self._last_seen: dict[int, datetime | None] = {}

    def __contains__(self, server_id: object) -> bool:
        """Whether the server is held offline."""
        return server_id in self._last_seen

    def mark(self, server: Server, now: datetime) -> bool:
        """Hold the server offline if it has not reported for too long; True if so.

        ``now`` is the dashboard's clock of the same answer as ``server``.
        """
        age = server.seconds_since_report(now)
        if age is not None and age <= SILENT_SECONDS:
            return False
        self._last_seen[server.id] = server.last_active
        return True

    def apply(self, server: Server, is_online: bool) -> bool:
        """The online state to show, given the one the threshold computed."""
        if server.id not in self._last_seen:
            return is_online
        seen = self._last_seen[server.id]
        if server.last_active is not None and (
            seen is None or server.last_active > seen
        ):
            del self._last_seen[server.id]  # the agent reported again
            return is_online
        if not is_online:
            del self._last_seen[server.id]  # the threshold caught up
        return False
