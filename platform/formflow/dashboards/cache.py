"""Chart results cached per (chart query, dashboard filters, viewer's scope, data version).

The data version of a form is read from the database on every request — the newest live
record id, the newest ``updated_at`` of a live record and the newest ``deleted_at`` — three
index lookups, so any create, edit, delete or restore, by any process, changes the key and
the next view recomputes. The cache itself may therefore live in each process's memory:
no other process needs its contents, and a stale entry can never be found. Entries also
expire (names of people and departments shown in a chart are not part of the version).
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any

from sqlalchemy import func, literal_column, select

from ..records.models import Record

TTL_SECONDS = 300.0
MAX_ENTRIES = 2000


class ChartCache:
    def __init__(self, ttl: float = TTL_SECONDS, size: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.size = size
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] < time.monotonic():
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def cache_key(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def data_version(work: Any, form_id: int) -> tuple[Any, ...]:
    """What changes whenever a record of the form is created, edited, deleted or restored.

    Read once per read-only unit of work (which sees one unchanging state: a dashboard's
    charts over one form, or over sources reading the same forms, ask once)."""
    key = ("dashboards.data_version", form_id)
    if not work.writes and key in work.memo:
        return work.memo[key]
    found = tuple(work.connection.execute(_version_statement(int(form_id))).one())
    if not work.writes:
        work.memo[key] = found
    return found


@functools.lru_cache(maxsize=1024)
def _version_statement(form_id: int) -> Any:
    """The three lookups as one statement, built once per form (the form id is written
    into it, so SQLite can use the form's own partial indexes)."""
    form = literal_column(str(form_id))
    live = (Record.form_id == form) & Record.deleted_at.is_(None)
    return select(
        select(func.max(Record.id)).where(live).scalar_subquery(),
        select(func.max(Record.updated_at)).where(live).scalar_subquery(),
        select(func.max(Record.deleted_at))
        .where(Record.form_id == form, Record.deleted_at.is_not(None))
        .scalar_subquery(),
    )
