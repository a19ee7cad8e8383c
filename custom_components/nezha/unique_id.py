"""Entity unique ids and device identifiers: built and read back here only.

Existing registries hold these strings, so their form never changes:

- a server's entity: ``{entry_id}_{server_id}_{key}``
- a dashboard entity: ``{entry_id}_{key}``
- a server device: ``{entry_id}_{server_id}``; the dashboard device: ``{entry_id}``

Keys with an id or a name inside them are built by the functions below, so the
keys a platform remembers and the unique ids of its entities cannot drift apart.
"""

from collections.abc import Iterable, Sequence

from .const import DOMAIN

PING_PREFIX = "ping_"
TEMPERATURE_PREFIX = "temperature_"


def server_unique_id(entry_id: str, server_id: int, key: str) -> str:
    """Return the unique id of one server's entity."""
    return f"{entry_id}_{server_id}_{key}"


def dashboard_unique_id(entry_id: str, key: str) -> str:
    """Return the unique id of an entity of the dashboard device."""
    return f"{entry_id}_{key}"


def temperature_key(name: str) -> str:
    """Key of the sensor of one temperature an agent reports by name."""
    return f"{TEMPERATURE_PREFIX}{name}"


def ping_key(figure: str, monitor_id: int) -> str:
    """Key of a ping monitor's sensor; ``figure`` is ``ping`` or starts with ``ping_``.

    The newest point's sensor (figure ``ping``) is ``ping_<monitor id>``.
    """
    return f"{figure}_{monitor_id}"


def quota_key(rule_id: int, figure: str) -> str:
    """Key of one figure of a traffic quota rule, on a server it covers."""
    return f"quota_{rule_id}_{figure}"


def service_key(service_id: int, figure: str) -> str:
    """Key of one figure of a service monitor, on the dashboard device."""
    return f"service_{service_id}_{figure}"


def cron_key(task_id: int) -> str:
    """Key of the button that runs a scheduled task."""
    return f"cron_{task_id}"


def parse_server_unique_id(entry_id: str, unique_id: str) -> tuple[int, str] | None:
    """Return (server id, key) of a server entity's unique id, else None."""
    server, _, key = unique_id.removeprefix(f"{entry_id}_").partition("_")
    if not key or not server.isdecimal():
        return None
    return int(server), key


def is_ping_key(key: str) -> bool:
    """Return True for a ping monitor's sensors (latency and 24 h statistics)."""
    return key.startswith(PING_PREFIX)


def temperature_name(key: str) -> str | None:
    """Return the temperature name inside a temperature sensor's key, else None."""
    if key.startswith(TEMPERATURE_PREFIX):
        return key.removeprefix(TEMPERATURE_PREFIX)
    return None


def server_identifier(entry_id: str, server_id: int) -> str:
    """Identify a server device by entry and immutable server id, never by name."""
    return f"{entry_id}_{server_id}"


def dashboard_identifier(entry_id: str) -> str:
    """Identify the dashboard (service) device of an entry."""
    return entry_id


def server_id_in(identifiers: Iterable[Sequence[str]], entry_id: str) -> int | None:
    """Return the server id found in device identifiers, or None."""
    prefix = f"{entry_id}_"
    for domain, ident in identifiers:
        if domain == DOMAIN and ident.startswith(prefix):
            tail = ident.removeprefix(prefix)
            if tail.isdigit():
                return int(tail)
    return None
