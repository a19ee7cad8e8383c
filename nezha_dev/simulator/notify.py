"""What a dashboard sends to a custom webhook ("notification method").

``model/notification.go`` of ``naiba/nezha`` v0-final and ``nezhahq/nezha``
v2.3.7, for the placeholders the integration's template uses:

* request type JSON (1): the body template with each placeholder replaced by its
  value JSON-escaped *without* the quotes (``json.Marshal(v)[1:len-1]``, which
  also escapes ``<``, ``>``, ``&``, U+2028 and U+2029);
* request type Form (2): the template is a JSON object; each value has its
  placeholders replaced as they are, then the whole is ``url.Values.Encode()``
  (keys sorted, ``QueryEscape``);
* placeholders without a value stay as they are: ``#SERVER.*#`` without a server,
  and on v2 *everything* when the server has no runtime state yet (it has not
  reported since the dashboard started);
* v0 replaces one placeholder after the other (``strings.ReplaceAll``), v2 in one
  pass (``strings.NewReplacer``): only a value that itself contains a
  placeholder would tell them apart.

The alert texts follow ``service/singleton/alertsentinel.go``.
"""

from dataclasses import dataclass
import json
from typing import Final
from urllib.parse import quote_plus

import aiohttp

JSON: Final = 1
FORM: Final = 2
TEMPLATE: Final = (
    '{"message":"#NEZHA#","server_id":"#SERVER.ID#","server_name":"#SERVER.NAME#"}'
)


@dataclass(frozen=True, slots=True)
class AlertServer:
    """The server a notification is about (``NotificationServerBundle.Server``)."""

    id: int
    name: str
    reported: bool = True  # has runtime state (v2 replaces nothing without it)


def go_json_escape(value: str) -> str:
    """``json.Marshal(value)`` without the surrounding quotes."""
    text = json.dumps(value, ensure_ascii=False)[1:-1]
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


def replace_params(
    text: str,
    message: str,
    server: AlertServer | None,
    *,
    escape: bool,
    generation: str = "v2",
) -> str:
    """``replaceParamsInString`` for #NEZHA# and #SERVER.ID#/#SERVER.NAME#."""

    def mod(value: str) -> str:
        return go_json_escape(value) if escape else value

    if generation == "v2" and server is not None and not server.reported:
        return text
    pairs = [("#NEZHA#", mod(message))]
    if server is not None:
        pairs += [
            ("#SERVER.NAME#", mod(server.name)),
            ("#SERVER.ID#", mod(str(server.id))),
        ]
    if generation == "v0":
        for placeholder, value in pairs:
            text = text.replace(placeholder, value)
        return text
    out: list[str] = []
    index = 0
    while index < len(text):
        for placeholder, value in pairs:
            if text.startswith(placeholder, index):
                out.append(value)
                index += len(placeholder)
                break
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def render(
    message: str,
    server: AlertServer | None = None,
    *,
    request_type: int = JSON,
    template: str = TEMPLATE,
    generation: str = "v2",
) -> tuple[bytes, str]:
    """The body and Content-Type a POST notification carries."""
    if request_type == FORM:
        fields = json.loads(template)
        encoded = "&".join(
            f"{quote_plus(key, safe='-_.~')}="
            + quote_plus(
                replace_params(
                    value, message, server, escape=False, generation=generation
                ),
                safe="-_.~",
            )
            for key, value in sorted(fields.items())
        )
        return encoded.encode(), "application/x-www-form-urlencoded"
    body = replace_params(template, message, server, escape=True, generation=generation)
    return body.encode(), "application/json"


def alert_message(word: str, server_name: str, masked_ip: str, rule: str) -> str:
    """``[Incident|Resolved] <server>(<masked IP>) <rule name>``."""
    return f"[{word}] {server_name}({masked_ip}) {rule}"


async def send(
    session: aiohttp.ClientSession,
    url: str,
    message: str,
    server: AlertServer | None = None,
    *,
    request_type: int = JSON,
    generation: str = "v2",
) -> int:
    """POST the notification to ``url`` (loopback only in tests); the status."""
    body, content_type = render(
        message, server, request_type=request_type, generation=generation
    )
    async with session.post(
        url, data=body, headers={"Content-Type": content_type}
    ) as response:
        await response.read()
        return response.status
