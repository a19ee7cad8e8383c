"""Assemble a Fleet from raw server records; shared by every API generation."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from .models import Fleet, Server

type ParsedRecord = tuple[Server | None, int | None, list[str]]
type Report = Callable[[object, list[str]], None]


def collect_fleet(
    records: Iterable[Any],
    parse: Callable[[Any], ParsedRecord],
    server_time: datetime,
    report: Report | None = None,
) -> Fleet:
    """Parse each record into a Fleet ordered as the dashboard orders it.

    A record whose id is readable but whose body is not is skipped by id (its
    device stays); one without even an id makes the answer incomplete, so no
    device is removed on its strength. The first of duplicate ids wins.
    """
    servers: dict[int, Server] = {}
    skipped: set[int] = set()
    complete = True
    for index, record in enumerate(records):
        server, server_id, problems = parse(record)
        if problems and report is not None:
            report(server_id if server_id is not None else f"#{index}", problems)
        if server is not None:
            servers.setdefault(server.id, server)
        elif server_id is not None:
            skipped.add(server_id)
        else:
            complete = False
    ordered = dict(
        sorted(servers.items(), key=lambda item: (-item[1].display_index, item[0]))
    )
    return Fleet(
        servers=ordered,
        server_time=server_time,
        skipped_ids=frozenset(skipped),
        complete=complete,
    )
