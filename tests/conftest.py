"""Fixtures shared by every test: real databases (SQLite and PostgreSQL), a real
Redis-compatible server, an app with users and tokens, and a controllable clock."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import MetaData, select, text

from formflow import Config, Runtime, create_app
from formflow.migrations import upgrade
from tests.support.postgres import PostgresServer, admin_connection

START = dt.datetime(2026, 3, 16, 2, 0, tzinfo=dt.UTC)  # a Monday, 10:00 in Shanghai


class Clock:
    """Time the engine sees; tests move it instead of sleeping."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


# -- databases -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    runtime = Runtime(
        Config(instance_path=path.parent, database_url=f"sqlite:///{path}"), load_plugins=False
    )
    upgrade(runtime.db.engine)
    runtime.close()
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The admin URL of a PostgreSQL server with a migrated ``formflow_template`` database."""
    external = os.environ.get("TEST_DATABASE_URL")
    server = None
    if external:
        base = external
    else:
        server = PostgresServer()
        base = server.start()
    template = base.rsplit("/", 1)[0] + "/formflow_template"
    with admin_connection(base) as connection:
        connection.execute("DROP DATABASE IF EXISTS formflow_template WITH (FORCE)")
        connection.execute("CREATE DATABASE formflow_template")
    runtime = Runtime(Config(instance_path=Path("/tmp"), database_url=template), load_plugins=False)
    upgrade(runtime.db.engine)
    runtime.close()
    yield base
    if server is not None:
        server.stop()


def _sqlite_url(tmp_path: Path, template: Path) -> str:
    path = tmp_path / "formflow.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    return _sqlite_url(tmp_path, sqlite_template)


@pytest.fixture
def postgres_url(postgres: str) -> Iterator[str]:
    name = "t_" + uuid.uuid4().hex[:16]
    with admin_connection(postgres) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE formflow_template")
    yield postgres.rsplit("/", 1)[0] + "/" + name
    with admin_connection(postgres) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh, migrated database: the test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return _sqlite_url(tmp_path, sqlite_template)
    return request.getfixturevalue("postgres_url")


# -- the engine ----------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runtime(db_url: str, tmp_path: Path, clock: Clock) -> Iterator[Runtime]:
    config = Config(
        instance_path=tmp_path / "instance",
        database_url=db_url,
        testing=True,
        max_upload_bytes=2 * 1024 * 1024,
    )
    runtime = Runtime(config, clock=clock)
    yield runtime
    runtime.close()


@pytest.fixture
def app(runtime: Runtime):
    made = create_app(runtime=runtime)
    made.test_client_class = EnglishClient
    return made


class EnglishClient(FlaskClient):
    """A browser that asks for English, so tests read the engine's own words; a test of the
    Chinese UI sends its own ``Accept-Language``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environ_base.setdefault("HTTP_ACCEPT_LANGUAGE", "en")


@dataclass
class Person:
    id: int
    username: str
    token: str
    is_admin: bool

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_person(runtime: Runtime, username: str, *, admin: bool = False) -> Person:
    from formflow.people import service, tokens

    with runtime.write() as work:
        user = service.create_user(work, username, is_admin=admin)
        token = tokens.issue(work, user, "test")
    return Person(user.id, username, token, admin)


@pytest.fixture
def admin(runtime: Runtime) -> Person:
    return make_person(runtime, "admin", admin=True)


@pytest.fixture
def rep(runtime: Runtime) -> Person:
    return make_person(runtime, "rep_a")


class Api:
    """The test client speaking JSON as a given person."""

    def __init__(self, client: Any, person: Person) -> None:
        self.client = client
        self.person = person

    def as_(self, person: Person) -> Api:
        return Api(self.client, person)

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        from formflow import jsoncodec

        headers = {**self.person.headers, **kwargs.pop("headers", {})}
        if body is not None and "data" not in kwargs:
            kwargs["data"] = body if isinstance(body, str | bytes) else jsoncodec.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        response = self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)
        response.body = (
            jsoncodec.loads(response.get_data())
            if response.mimetype == "application/json" and response.get_data()
            else None
        )
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def api(app: Any, admin: Person) -> Api:
    return Api(app.test_client(), admin)


@pytest.fixture
def make_app(runtime: Runtime):
    """Create an app (namespace for forms) by name."""
    from formflow.definitions.service import ensure_app

    def make(name: str = "demo", title: str = "Demo") -> None:
        with runtime.write() as work:
            ensure_app(work, name, title)

    return make


@pytest.fixture
def notes(api, make_app) -> str:
    """A one-field form ``crm.note`` (name, at most 20 characters) holding one record; its
    records' API path."""
    make_app("crm")
    definition = {
        "title": "Note",
        "type": "object",
        "properties": {"name": {"x-field": "text", "type": "string", "maxLength": 20}},
    }
    assert api.put("/forms/crm.note", definition).status_code == 201
    assert api.post("/forms/crm.note/records", {"data": {"name": "ACME"}}).status_code == 201
    return "/forms/crm.note/records"


#: Sign-in bookkeeping (a token's last use, login attempts) is not data a request changes.
SNAPSHOT_SKIPS = frozenset({"api_tokens", "login_attempts"})


def snapshot(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show a refused request changed nothing."""
    metadata = MetaData()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # expression indexes are listed by name below
        metadata.reflect(runtime.db.engine)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with runtime.db.engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name in SNAPSHOT_SKIPS:
                continue
            rows = connection.execute(select(table)).all()
            out[table.name] = sorted(tuple(map(repr, row)) for row in rows)
        if runtime.db.dialect == "sqlite":
            names = connection.execute(text("SELECT name FROM sqlite_master WHERE type='index'"))
        else:
            names = connection.execute(text("SELECT indexname FROM pg_indexes"))
        out["__indexes__"] = sorted(tuple(row) for row in names)
    return out


# -- Redis -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis-compatible server (the embedded Valkey) for the session, one per test
    process: on a port the OS hands out (left to itself, each process would try 16379)."""
    import socket

    from formflow.jobs import redis_server

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = redis_server.start(tmp_path_factory.mktemp("valkey"), port=port)
    yield redis_server.url_of(server)
    server.stop()


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The app served over real HTTP by a threaded server, for concurrency tests."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v1"
    server.shutdown()
    thread.join(timeout=10)


def grant(runtime: Runtime, form: str, *grants: dict[str, Any]) -> None:
    """Replace a form's permission grants (as the admin's editor would)."""
    from formflow.definitions.service import get_form
    from formflow.permissions.service import replace_grants

    with runtime.write() as work:
        replace_grants(work, get_form(work, form), list(grants))


EVERYONE_OWN = {"actions": ["view", "create", "edit", "delete"], "scope": "own"}
