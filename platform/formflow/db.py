"""The database: engine, sessions, and the column types every model shares.

One transaction per user action: callers open a unit of work (``Runtime.write()`` or
``Runtime.read()``) at the edge — a view, a CLI command, a job — and pass it to the
services. On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so two writers queue
on the lock instead of failing half-way with "database is locked"; readers use WAL
snapshots and never block.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from . import jsoncodec

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: How old a pooled SQLite connection may get before it is reopened (fresh statistics).
STATS_RELOAD_SECONDS = 300


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


#: Record documents: JSONB on PostgreSQL (indexable with ->>), JSON text on SQLite.
Document = JSON().with_variant(JSONB(), "postgresql")
#: 64-bit ids on PostgreSQL; SQLite's INTEGER PRIMARY KEY is already 64-bit and autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: Document}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here; other URLs pass through."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    options: dict[str, Any] = {
        "json_serializer": jsoncodec.dumps,
        "json_deserializer": jsoncodec.loads,
    }
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 60, "check_same_thread": False}
        # A connection keeps the planner statistics it loaded when it opened; reopening
        # pooled connections now and then picks up an ANALYZE run elsewhere (by
        # `formflow analyze`, or a publish in another process). Without fresh statistics a
        # filtered, sorted list may sort every match instead of walking the sort's index
        # (170 ms instead of 4 ms at 100k rows). ("ANALYZE sqlite_schema" would reload them in
        # place, but it takes a lock, and readers must never wait for a writer.)
        options["pool_recycle"] = STATS_RELOAD_SECONDS
    else:
        options.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    options.update(kwargs)
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit BEGIN is DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=60000",
            "temp_store=MEMORY",
            "cache_size=-65536",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        driver = connection.connection.driver_connection
        if driver.in_transaction:
            return  # begun by a unit of work (see _KeptConnections)
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        # Straight on the driver: SQLAlchemy's own execute path costs more than the BEGIN.
        driver.execute(f"BEGIN {mode}")


class Database:
    """An engine and the transactions units of work run in."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.engine = make_engine(url, **engine_options)
        self.dialect = self.engine.dialect.name
        self._writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._kept = _KeptConnections(self.engine) if self.dialect == "sqlite" else None

    def transaction(self, *, write: bool) -> AbstractContextManager[Connection]:
        """A connection in one transaction: committed on success, rolled back on any error.

        Readers get a consistent snapshot (SQLite WAL, PostgreSQL MVCC) and never wait.
        """
        if self._kept is not None:
            return self._kept.transaction("IMMEDIATE" if write else "DEFERRED")
        return self._pooled(write)

    @contextmanager
    def _pooled(self, write: bool) -> Iterator[Connection]:
        with (self._writer if write else self.engine).connect() as connection, connection.begin():
            yield connection

    def session(self, connection: Connection) -> Session:
        """An ORM session inside ``connection``'s transaction (it never commits it)."""
        if not connection.in_transaction():
            # A kept SQLite connection begins SQLAlchemy's bookkeeping lazily; a session
            # must join it, not begin (and on closing, roll back) one of its own.
            connection.begin()
        return Session(
            bind=connection,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="rollback_only",
        )

    def dispose(self) -> None:
        """Close every idle connection (kept or pooled); the database stays usable and opens
        new ones as needed, with the planner statistics as they are now."""
        if self._kept is not None:
            self._kept.close()
        self.engine.dispose()


class _KeptConnections:
    """SQLite connections kept open between units of work, each begun on the driver.

    Checking a connection out of SQLAlchemy's pool and back in for every unit of work costs
    more than a small write transaction's own ``BEGIN``/``COMMIT`` (about 100 µs against a
    few). Units of work on SQLite therefore take an idle connection from here, issue
    ``BEGIN`` straight on the driver (the ``begin`` listener then has nothing to do) and hand
    the connection back afterwards. The connections still come from the engine's pool, with
    its pragmas. A connection is not kept when it is older than
    :data:`STATS_RELOAD_SECONDS` or the engine was disposed since it was made (either way
    the pool opens a new one, with the planner statistics as they are now), when it is left
    in a transaction or invalidated, or when ``keep`` idle ones are kept already. A forked
    process never reuses its parent's.
    """

    def __init__(self, engine: Engine, keep: int = 4) -> None:
        self._engine = engine
        self._keep = keep
        self._idle: list[tuple[Connection, float, Any, Any]] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _take(self) -> tuple[Connection, float, Any]:
        with self._lock:
            if self._pid != os.getpid():
                # A forked child must not touch its parent's SQLite connections at all
                # (closing them would release the parent's file locks): forget them.
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                connection, born, pool, driver = self._idle.pop()
                if pool is self._engine.pool and time.monotonic() - born < STATS_RELOAD_SECONDS:
                    return connection, born, driver
                # Too old, or the engine was disposed since (a new pool, so that every
                # connection reopens): the pool opens a new one in its place.
                connection.invalidate()
                connection.close()
        connection = self._engine.connect()
        return connection, time.monotonic(), connection.connection.driver_connection

    @contextmanager
    def transaction(self, mode: str) -> Iterator[Connection]:
        connection, born, driver = self._take()
        driver.execute(f"BEGIN {mode}")
        # SQLAlchemy's own transaction bookkeeping is begun only when something asks for it
        # (a Core execute autobegins; :meth:`Database.session` begins before a session
        # joins): a unit of work that runs driver statements only never pays for it.
        # pysqlite emits nothing for it, and its commit or rollback ends the BEGIN above.
        try:
            yield connection
        except BaseException:
            try:
                if connection.in_transaction():
                    connection.rollback()
                elif driver.in_transaction:
                    driver.rollback()
            finally:
                self._give(connection, born, driver)
            raise
        try:
            if connection.in_transaction():
                connection.commit()
            else:
                driver.commit()
        except BaseException:
            if connection.in_transaction():
                connection.rollback()
            elif driver.in_transaction:
                driver.rollback()
            self._give(connection, born, driver)
            raise
        self._give(connection, born, driver)

    def _give(self, connection: Connection, born: float, driver: Any) -> None:
        """Keep ``connection`` for the next unit of work if it is idle and healthy."""
        healthy = not connection.invalidated and not connection.in_transaction()
        if healthy and not driver.in_transaction:
            with self._lock:
                if len(self._idle) < self._keep and self._pid == os.getpid():
                    self._idle.append((connection, born, self._engine.pool, driver))
                    return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection, _born, _pool, _driver in idle:
            connection.close()


def refresh_statistics(database: Database) -> float:
    """Recompute planner statistics for the whole database; returns the seconds it took.

    SQLite reads every index whole (a sample misjudges how many rows a value matches);
    PostgreSQL's autovacuum does this by itself, but an explicit run after a bulk import
    helps it too.
    """
    start = time.monotonic()
    with database.engine.connect() as connection:
        if database.dialect == "sqlite":
            connection.exec_driver_sql("PRAGMA analysis_limit = 0")
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    return time.monotonic() - start


def _last_remembered(processor: Any) -> Any:
    """``processor`` with the last value it converted remembered, for immutable values
    (timestamps) passed again and again: the same object gives the same result."""
    last: tuple[Any, Any] = (object(), None)

    def process(value: Any) -> Any:
        nonlocal last
        seen = last  # one read: another thread may replace it, never half of it
        if seen[0] is value:
            return seen[1]
        out = processor(value)
        last = (value, out)
        return out

    return process


#: Per dialect, the one remembering timestamp converter every DriverStatement shares.
_STAMPS: dict[str, Any] = {}


class DriverStatement:
    """A Core statement compiled once per dialect and run straight on the DBAPI cursor.

    SQLAlchemy's execute path costs about 160 µs a statement on this machine against 4 µs
    for the driver itself; a record write runs five statements, so the hot paths (form
    lookup, reference checks, record and revision inserts) use this instead. Parameters
    still go through each column type's public ``bind_processor`` (JSON encoding, UTC
    timestamps), so what is stored is exactly what the ORM would store.
    """

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, list[str] | None, dict[str, Any], dict[str, Any]]] = {}

    def _compile(
        self, dialect: Any
    ) -> tuple[str, list[str] | None, dict[str, Any], dict[str, Any]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            processors = {}
            fixed = {}
            for name, bind in compiled.binds.items():
                processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    if isinstance(bind.type, UTCDateTime):
                        # A unit of work stamps its rows with one clock reading: one
                        # conversion, remembered across the columns and statements.
                        processor = _STAMPS.setdefault(dialect.name, _last_remembered(processor))
                    processors[name] = processor
                if not bind.required:
                    fixed[name] = bind.effective_value  # literals such as LIMIT 1
            order = list(compiled.positiontup) if compiled.positional else None
            found = (compiled.string, order, processors, fixed)
            self._compiled[dialect.name] = found
        return found

    def run_on(self, driver: Any, dialect: Any, params: dict[str, Any] | None = None) -> Any:
        """Execute on the DBAPI connection ``driver`` of ``dialect``; returns the cursor."""
        sql, order, processors, fixed = self._compile(dialect)
        values = {**fixed, **params} if params else dict(fixed)
        for name, processor in processors.items():
            if name in values:
                values[name] = processor(values[name])
        cursor = driver.cursor()
        if order is None:
            cursor.execute(sql, values)
        else:
            cursor.execute(sql, [values[name] for name in order])
        return cursor
