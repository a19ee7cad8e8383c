"""Assemble a Fleet from raw server records; shared by every API generation."""

from collections.abc import Callable
from datetime import datetime
import logging
from typing import Any

from .limits import MAX_SERVERS
from .models import Fleet, Server

type ParsedRecord = tuple[Server | None, int | None, list[str]]
type Problems = list[tuple[object, list[str]]]
type Report = Callable[[Problems], None]

# Problems remembered as already logged (hashes; a dict keeps them in order).
MAX_REMEMBERED = 10_000
_EXAMPLES = 5


class ProblemLog:
    """Logs unexpected values: at most one warning per answer, for what is new.

    A record's problems are new when that server had not had exactly these
    problems before; the memory of what was logged is bounded, so a flood of
    new ones costs at most one line per answer and a fixed amount of memory.
    """

    def __init__(self, logger: logging.Logger) -> None:
        """Log to ``logger``."""
        self._logger = logger
        self._seen: dict[int, None] = {}

    @property
    def remembered(self) -> int:
        """How many problems are remembered as logged."""
        return len(self._seen)

    def report(self, found: Problems) -> None:
        """Log the new problems of one answer in a single warning."""
        new = [
            (server, problems)
            for server, problems in found
            if self._new(server, problems)
        ]
        if not new:
            return
        examples = "; ".join(
            f"server {server}: {', '.join(problems)}"
            for server, problems in new[:_EXAMPLES]
        )
        more = len(new) - _EXAMPLES
        self._logger.warning(
            "Unexpected values in %d server record(s) of the dashboard answer, "
            "shown as unknown: %s%s",
            len(new),
            examples,
            f"; and {more} more" if more > 0 else "",
        )

    def _new(self, server: object, problems: list[str]) -> bool:
        key = hash((str(server), *problems))
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > MAX_REMEMBERED:
            del self._seen[next(iter(self._seen))]  # forget the oldest
        return True


def collect_fleet(
    records: list[Any],
    parse: Callable[[Any], ParsedRecord],
    server_time: datetime,
    report: Report | None = None,
) -> Fleet:
    """Parse each record into a Fleet ordered as the dashboard orders it.

    A record whose id is readable but whose body is not is skipped by id (its
    device stays); one without even an id makes the answer incomplete, so no
    device is removed on its strength. The first of duplicate ids wins. Only the
    first ``MAX_SERVERS`` records are read; the answer is then incomplete too.
    """
    left_out = max(0, len(records) - MAX_SERVERS)
    if left_out:
        records = records[:MAX_SERVERS]
    servers: dict[int, Server] = {}
    skipped: set[int] = set()
    complete = not left_out
    found: Problems = []
    for index, record in enumerate(records):
        server, server_id, problems = parse(record)
        if problems:
            found.append(
                (server_id if server_id is not None else f"#{index}", problems)
            )
        if server is not None:
            servers.setdefault(server.id, server)
        elif server_id is not None:
            skipped.add(server_id)
        else:
            complete = False
    if found and report is not None:
        report(found)
    ordered = dict(
        sorted(servers.items(), key=lambda item: (-item[1].display_index, item[0]))
    )
    return Fleet(
        servers=ordered,
        server_time=server_time,
        skipped_ids=frozenset(skipped),
        complete=complete,
        left_out=left_out,
    )
