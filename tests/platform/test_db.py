"""Units of work on SQLite reuse open connections: what they must still guarantee."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from formflow import db as dbmodule
from formflow.db import Database


@pytest.fixture
def database(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with database.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    yield database
    database.dispose()


def _rows(database: Database) -> list[str]:
    with database.transaction(write=False) as connection:
        return [r[0] for r in connection.exec_driver_sql("SELECT v FROM t ORDER BY id")]


def _driver(connection):  # type: ignore[no-untyped-def]
    return connection.connection.driver_connection


def test_a_unit_of_work_reuses_the_previous_connection(database: Database) -> None:
    with database.transaction(write=True) as first:
        first.exec_driver_sql("INSERT INTO t (v) VALUES ('a')")
        driver = _driver(first)
    with database.transaction(write=True) as second:
        assert _driver(second) is driver
        second.exec_driver_sql("INSERT INTO t (v) VALUES ('b')")
    assert _rows(database) == ["a", "b"]


def test_writes_begin_immediate_and_reads_deferred(database: Database) -> None:
    """A writer holds the write lock from its first statement on, so two writers queue
    instead of failing half-way; a reader takes no lock at all."""
    with database.transaction(write=True) as writer:
        assert _driver(writer).in_transaction
        other = database.engine.raw_connection()
        try:
            other.driver_connection.execute("PRAGMA busy_timeout = 0")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.driver_connection.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
    with database.transaction(write=False) as reader:
        assert _driver(reader).in_transaction
        with database.transaction(write=True) as writer:  # not blocked by the reader
            writer.exec_driver_sql("INSERT INTO t (v) VALUES ('w')")
        reader.exec_driver_sql("SELECT 1")


def test_a_failed_unit_of_work_rolls_back_and_leaves_a_clean_connection(
    database: Database,
) -> None:
    with pytest.raises(RuntimeError), database.transaction(write=True) as connection:
        connection.exec_driver_sql("INSERT INTO t (v) VALUES ('lost')")
        failed = _driver(connection)
        raise RuntimeError("bad input")
    assert not failed.in_transaction  # rolled back, so it may be kept
    assert _rows(database) == []
    with database.transaction(write=True) as connection:
        assert _driver(connection) is failed  # kept, and begun afresh
        connection.exec_driver_sql("INSERT INTO t (v) VALUES ('kept')")
    assert _rows(database) == ["kept"]


def test_a_constraint_failure_half_way_writes_nothing(database: Database) -> None:
    with pytest.raises(IntegrityError), database.transaction(write=True) as connection:
        connection.exec_driver_sql("INSERT INTO t (v) VALUES ('first')")
        connection.exec_driver_sql("INSERT INTO t (v) VALUES (NULL)")
    assert _rows(database) == []


def test_driver_only_units_of_work_commit_and_roll_back(database: Database) -> None:
    """A unit of work that runs statements straight on the driver (the record hot path)
    never begins SQLAlchemy's bookkeeping; its work still commits, or rolls back whole."""
    with database.transaction(write=True) as connection:
        _driver(connection).execute("INSERT INTO t (v) VALUES ('driver')")
        assert not connection.in_transaction()
    with pytest.raises(RuntimeError), database.transaction(write=True) as connection:
        _driver(connection).execute("INSERT INTO t (v) VALUES ('lost')")
        failed = _driver(connection)
        raise RuntimeError("bad input")
    assert not failed.in_transaction
    assert _rows(database) == ["driver"]


def test_a_session_joins_the_unit_of_work_and_its_close_keeps_the_work(
    database: Database,
) -> None:
    """A session made after driver statements joins the one transaction: closing it
    (as every unit of work does) neither commits nor rolls back what came before."""
    with database.transaction(write=True) as connection:
        _driver(connection).execute("INSERT INTO t (v) VALUES ('before')")
        session = database.session(connection)
        session.execute(text("INSERT INTO t (v) VALUES ('by the session')"))
        session.close()
        assert _driver(connection).in_transaction
        _driver(connection).execute("INSERT INTO t (v) VALUES ('after')")
    assert _rows(database) == ["before", "by the session", "after"]
    with pytest.raises(RuntimeError), database.transaction(write=True) as connection:
        session = database.session(connection)
        session.execute(text("INSERT INTO t (v) VALUES ('lost')"))
        session.close()
        raise RuntimeError("bad input")
    assert _rows(database) == ["before", "by the session", "after"]


def test_old_connections_are_reopened_for_fresh_statistics(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database.transaction(write=False) as connection:
        driver = _driver(connection)
    monkeypatch.setattr(dbmodule, "STATS_RELOAD_SECONDS", 0)
    with database.transaction(write=False) as connection:
        assert _driver(connection) is not driver


def test_concurrent_units_of_work_each_get_their_own_connection(database: Database) -> None:
    seen: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(n: int) -> None:
        try:
            with database.transaction(write=False) as connection:
                barrier.wait(timeout=10)
                seen.append(id(_driver(connection)))
            for i in range(20):
                with database.transaction(write=True) as connection:
                    connection.exec_driver_sql(f"INSERT INTO t (v) VALUES ('{n}-{i}')")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(seen)) == 4
    assert len(_rows(database)) == 80


def test_dispose_closes_the_kept_connections(database: Database) -> None:
    with database.transaction(write=True) as connection:
        connection.exec_driver_sql("INSERT INTO t (v) VALUES ('a')")
    database.dispose()
    assert database.engine.pool.checkedout() == 0
    assert _rows(database) == ["a"]


def test_engine_connections_outside_units_of_work_still_get_transactions(
    database: Database,
) -> None:
    """Migrations, backups and benches use the engine directly: its BEGIN listener still
    makes their blocks atomic."""
    with pytest.raises(IntegrityError), database.engine.begin() as connection:
        connection.execute(text("INSERT INTO t (v) VALUES ('x')"))
        connection.execute(text("INSERT INTO t (v) VALUES (NULL)"))
    assert _rows(database) == []


def test_disposing_the_engine_reopens_the_kept_connections(database: Database) -> None:
    """Benches and tests dispose the engine after an ANALYZE so connections reopen with the
    new statistics; the kept ones follow."""
    with database.transaction(write=False) as connection:
        driver = _driver(connection)
    database.engine.dispose()
    with database.transaction(write=False) as connection:
        assert _driver(connection) is not driver
