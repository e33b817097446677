"""The running engine: configuration, database, registries, and units of work.

A :class:`Runtime` is built once per process (by ``create_app``, the CLI or a worker); it
holds nothing another process needs — the database is the truth. Every user action is one
:class:`Work`: a transaction, the person acting, and the moment it happens, passed to the
services so the web UI, the API and the CLI all go through the same code.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from threading import Lock
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from . import models as _models  # noqa: F401 - every table registered before any session
from .config import Config
from .dashboards.cache import ChartCache
from .db import Database, DriverStatement, utcnow
from .fields import FieldTypeRegistry, field_types

if TYPE_CHECKING:
    from .extensions import PluginManager
    from .people.models import User


class SpecCache:
    """Compiled specs by (form id, version, field types version, digest): versions never
    change once published. Also holds what is built from a spec and a form's row alone
    (``definitions.service`` keeps its LoadedForms here) and what hangs off a form, by its
    setup stamp (``definitions.attached``), under keys of their own: entries under an old
    stamp or digest are never asked for again and leave as the least recently used."""

    def __init__(self, size: int = 512) -> None:
        self._specs: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._size = size
        self._lock = Lock()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            spec = self._specs.get(key)
            if spec is not None:
                self._specs.move_to_end(key)
            return spec

    def put(self, key: tuple[Any, ...], spec: Any) -> None:
        with self._lock:
            self._specs[key] = spec
            while len(self._specs) > self._size:
                self._specs.popitem(last=False)


class Runtime:
    """One engine instance over one database."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        load_plugins: bool = True,
        **engine_options: Any,
    ) -> None:
        from .extensions import load_plugin_manager

        self.config = config
        self.db = Database(config.database_url, **engine_options)
        self.field_types: FieldTypeRegistry = field_types
        self.plugins: PluginManager = load_plugin_manager(load_plugins)
        self.plugins.register_field_types(self.field_types)
        self.specs = SpecCache()
        #: Dashboard chart results (``formflow.dashboards.cache``).
        self.charts = ChartCache()
        self.clock = clock or utcnow

    @contextmanager
    def write(self, actor: User | None = None) -> Iterator[Work]:
        """A unit of work that may write; committed when the block ends without error.

        Callbacks registered with :meth:`Work.after_commit` run once the commit succeeded.
        """
        with self.db.transaction(write=True) as connection:
            work = Work(self, connection, actor, self.clock(), writes=True)
            try:
                yield work
                work.flush()
            finally:
                work.close()
        for callback in work.committed:
            callback()

    @contextmanager
    def read(self, actor: User | None = None) -> Iterator[Work]:
        with self.db.transaction(write=False) as connection:
            work = Work(self, connection, actor, self.clock())
            try:
                yield work
            finally:
                work.close()

    def close(self) -> None:
        self.db.dispose()


class Work:
    """One user action: its transaction, who acts, and when (one clock reading).

    Hot paths run Core or driver statements on ``connection``; an ORM ``session`` over the
    same transaction is made only when a service asks for one.
    """

    def __init__(
        self,
        runtime: Runtime,
        connection: Connection,
        actor: User | None,
        now: dt.datetime,
        *,
        writes: bool = False,
    ) -> None:
        self.runtime = runtime
        #: Whether this unit of work may write: a read-only one sees one unchanging state,
        #: so what it computed once (a month's aggregates) it may reuse.
        self.writes = writes
        self.connection = connection
        self.actor = actor
        self.now = now
        #: Lookups memoised for the length of this unit of work (a user's department, say).
        self.memo: dict[Any, Any] = {}
        #: What to do once this unit of work has committed (see :meth:`after_commit`).
        self.committed: list[Callable[[], None]] = []
        self._session: Session | None = None
        self._driver: Any = None

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after the transaction commits (never if it rolls back): how a
        service hands work to a queue that must only see what was saved."""
        self.committed.append(callback)

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self.runtime.db.session(self.connection)
        return self._session

    def flush(self) -> None:
        if self._session is not None:
            self._session.flush()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    @property
    def dialect(self) -> str:
        return self.runtime.db.dialect

    def run(self, statement: DriverStatement, params: dict[str, Any] | None = None) -> Any:
        """Run a precompiled hot-path statement in this transaction; returns the cursor."""
        driver = self._driver
        if driver is None:  # the DBAPI connection, looked up once per unit of work
            driver = self._driver = self.connection.connection.driver_connection
        return statement.run_on(driver, self.connection.dialect, params)

    @property
    def actor(self) -> User | None:
        return self._actor

    @actor.setter
    def actor(self, actor: User | None) -> None:
        self._actor = actor
        self._actor_id: int | None = None

    @property
    def actor_id(self) -> int | None:
        # Read once per actor (an ORM attribute read costs a descriptor call a time).
        if self._actor_id is None and self._actor is not None:
            self._actor_id = self._actor.id
        return self._actor_id

    @property
    def config(self) -> Config:
        return self.runtime.config
