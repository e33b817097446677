"""The database: engine, sessions, and the column types every model shares.

One transaction per user action: callers open a unit of work (``Runtime.write()`` or
``Runtime.read()``) at the edge — a view, a CLI command, a job — and pass it to the
services. On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so two writers queue
on the lock instead of failing half-way with "database is locked"; readers use WAL
snapshots and never block.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        # Straight on the driver: this runs once per unit of work, and SQLAlchemy's own
        # execute path costs more than the BEGIN itself.
        connection.connection.driver_connection.execute(f"BEGIN {mode}")


class Database:
    """An engine and the transactions units of work run in."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.engine = make_engine(url, **engine_options)
        self.dialect = self.engine.dialect.name
        self._writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Connection]:
        """A connection in one transaction: committed on success, rolled back on any error.

        Readers get a consistent snapshot (SQLite WAL, PostgreSQL MVCC) and never wait.
        """
        with (self._writer if write else self.engine).connect() as connection, connection.begin():
            yield connection

    def session(self, connection: Connection) -> Session:
        """An ORM session inside ``connection``'s transaction (it never commits it)."""
        return Session(
            bind=connection,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="rollback_only",
        )

    def dispose(self) -> None:
        self.engine.dispose()


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
                    processors[name] = processor
                if not bind.required:
                    fixed[name] = bind.effective_value  # literals such as LIMIT 1
            order = list(compiled.positiontup) if compiled.positional else None
            found = (compiled.string, order, processors, fixed)
            self._compiled[dialect.name] = found
        return found

    def run(self, connection: Any, params: dict[str, Any] | None = None) -> Any:
        """Execute on a SQLAlchemy ``Connection``'s DBAPI connection; returns the cursor."""
        sql, order, processors, fixed = self._compile(connection.dialect)
        values = {**fixed, **params} if params else dict(fixed)
        for name, processor in processors.items():
            if name in values:
                values[name] = processor(values[name])
        cursor = connection.connection.driver_connection.cursor()
        if order is None:
            cursor.execute(sql, values)
        else:
            cursor.execute(sql, [values[name] for name in order])
        return cursor
