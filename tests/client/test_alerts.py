"""Alert bodies as a dashboard fills the template, and the "silent server" rule."""

from datetime import UTC, datetime, timedelta
import json

import pytest

from custom_components.nezha.client import Server
from custom_components.nezha.client.alerts import (
    ALERT_TEMPLATE,
    MAX_ALERT_BYTES,
    MAX_MESSAGE_CHARS,
    AlertKind,
    AlertPayloadError,
    NezhaAlert,
    SilencedServers,
    classify,
    parse_alert,
)
from nezha_dev.simulator.notify import (
    FORM,
    JSON,
    TEMPLATE,
    AlertServer,
    alert_message,
    render,
)

TRICKY_NAMES = [
    *('web "prod" \\ 01', "东京-web-03", "<script>&amp;</script>", "line\nbreak\ttab"),
    *("a\u2028b", "#NEZHA#", "paren) (x", "emoji 🚀"),
]
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LANGUAGES = {
    AlertKind.INCIDENT: ("Incident", "Vorfall", "Incidente", "Инцидент", "事件"),
    AlertKind.RESOLVED: ("Resolved", "Gelöst", "Resolvido", "恢复", "恢復"),
    AlertKind.OTHER: ("IP Changed", "Latency"),
}
BAD_JSON = [
    *(b"", b"not json", b"[1, 2]", b'{"server_id": "1"}', b'{"message": 5}'),
    *(b'{"message": "x", "server_id": "12a"}', b'{"message": "x", "server_id": 3}'),
    *(b'{"message": "x", "server_id": "0"}', b'{"message": "x", "server_name": ["a"]}'),
    *(b'{"message": "\xff"}', b"[" * 100_000 + b"]" * 100_000),
    b'{"message": "x' + b"x" * MAX_ALERT_BYTES + b'"}',
]


def test_template_is_the_one_documented() -> None:
    """The simulator's sender uses the integration's template."""
    assert TEMPLATE == ALERT_TEMPLATE
    assert json.loads(ALERT_TEMPLATE) == {
        "message": "#NEZHA#",
        "server_id": "#SERVER.ID#",
        "server_name": "#SERVER.NAME#",
    }


@pytest.mark.parametrize("generation", ["v0", "v2"])
@pytest.mark.parametrize("request_type", [JSON, FORM])
@pytest.mark.parametrize("name", TRICKY_NAMES)
def test_any_server_name_survives(
    name: str, request_type: int, generation: str
) -> None:
    """Quotes, escapes, HTML, control and non-ASCII characters come through intact."""
    message = alert_message("Incident", name, "1.2.*.*", "CPU > 90%")
    server = AlertServer(7, name)
    body, type_ = render(
        message, server, request_type=request_type, generation=generation
    )
    alert = NezhaAlert(AlertKind.INCIDENT, message, 7, name, "CPU > 90%")
    assert parse_alert(body, type_) == alert


def test_placeholders_without_a_server() -> None:
    """No server, or a v2 one not reported since its restart: #SERVER.*# stay as written."""
    for request_type in (JSON, FORM):
        body, content_type = render("a test message", request_type=request_type)
        assert b"SERVER.ID" in body  # left as it is (form-encoded: %23SERVER.ID%23)
        alert = parse_alert(body, content_type)
        assert alert == NezhaAlert(AlertKind.TEST, "a test message", None, None, None)
    down = parse_alert(*render("[Down] HTTP Reporter: hk, Error: timeout"))
    assert down.kind is AlertKind.OTHER
    new = AlertServer(9, "new", reported=False)
    body, content_type = render("[Incident] new(…) Offline", new)
    assert body == ALERT_TEMPLATE.encode()
    assert parse_alert(body, content_type) == NezhaAlert(AlertKind.OTHER, *[None] * 4)
    # v0 has no such case: it replaces what it can.
    v0 = render("[Incident] new() Offline", new, generation="v0")
    assert parse_alert(*v0).server_id == 9


@pytest.mark.parametrize(
    ("word", "kind"), [(w, kind) for kind, ws in LANGUAGES.items() for w in ws]
)
def test_languages(word: str, kind: AlertKind) -> None:
    """The bracketed word in every language the dashboards ship."""
    message = alert_message(word, "hk-01", "1.2.*.*", "Offline 30s")
    found_kind, rule = classify(message, "hk-01")
    assert found_kind is kind
    assert rule == ("Offline 30s" if kind is not AlertKind.OTHER else None)


def test_rule_name() -> None:
    """The rule follows the known server name; without it, no guess is made."""
    for text, name, expected in [
        ("[Incident] a(b) (1.*) rule (x)", "a(b) ", (AlertKind.INCIDENT, "rule (x)")),
        ("[Resolved] hk(1.*) rule", None, (AlertKind.RESOLVED, None)),
        ("[Resolved] hk(1.*) rule", "other", (AlertKind.RESOLVED, None)),
        ("[Resolved] hk(1.*)", "hk", (AlertKind.RESOLVED, None)),
        ("[Resolved] hk(1.*) ", "hk", (AlertKind.RESOLVED, None)),
        ("这是测试消息", None, (AlertKind.TEST, None)),
        (None, None, (AlertKind.OTHER, None)),
    ]:
        assert classify(text, name) == expected


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(body, JSON_TYPE) for body in BAD_JSON]
    + [(b"message", FORM_TYPE), (b"server_id=1", FORM_TYPE)],
)
def test_bad_bodies(body: bytes, content_type: str) -> None:
    """Whatever the template cannot produce is refused."""
    with pytest.raises(AlertPayloadError):
        parse_alert(body, content_type)


def test_message_fields() -> None:
    """Extra placeholders are ignored, the first form value wins, long output is cut."""
    alert = parse_alert(
        b'{"message": "m", "server_id": "3", "cpu": "12.5", "extra": {"a": 1}}'
    )
    assert (alert.message, alert.server_id) == ("m", 3)
    alert = parse_alert(b"message=first&message=second&server_id=", FORM_TYPE)
    assert (alert.message, alert.server_id) == ("first", None)
    # A task's output can be long; the event keeps the start of it.
    task = "[Task] " + "x" * 10_000
    cut = task[: MAX_MESSAGE_CHARS - 1] + "…"
    assert parse_alert(*render(task)).message == cut


def server(last_active: datetime | None) -> Server:
    """A server record with only the report time set."""
    return Server(id=1, name="hk", last_active=last_active)


def test_silence_rule() -> None:
    """Silent for more than 6 s: offline until a newer report or the threshold."""
    silenced = SilencedServers()
    fresh, stale, back = (server(NOW + timedelta(seconds=s)) for s in (-6, -7, 1))
    never = server(None)
    for record, online, result, held in [
        (fresh, None, False, False),  # online None: mark() rather than apply()
        (fresh, True, True, False),
        (stale, None, True, True),
        (stale, True, False, True),  # held offline, the threshold says online
        (stale, False, False, False),  # the threshold caught up: released
        (stale, None, True, True),
        (back, True, True, False),  # a newer report: online again
        (never, None, True, True),
        (never, True, False, True),
        (back, True, True, False),
    ]:
        if online is None:
            assert silenced.mark(record, NOW) is result
        else:
            assert silenced.apply(record, online) is result
        assert (1 in silenced) is held
