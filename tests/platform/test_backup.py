"""Backup and restore: an instance backed up while it is written to restores into a fresh
instance with every row and every uploaded file as they were at one moment; a damaged
archive or an occupied target is refused, and nothing is touched."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
import threading
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, func, select

from formflow import Config, Runtime
from formflow import backup as backup_module
from formflow.backup import BackupError, backup, restore
from formflow.definitions.service import ensure_app, get_form, get_form_by_id, publish, versions
from formflow.files import storage
from formflow.flows.models import FlowEvent, FlowInstance, FlowTask
from formflow.migrations import upgrade
from formflow.records import service as records
from formflow.records.models import Record
from sales_performance.incentives import statements
from tests.conftest import EVERYONE_OWN, grant
from tests.platform.files.test_uploads import PDF, png
from tests.plugins.sales_performance.test_incentives import commission, contract, plan, rep_target
from tests.plugins.sales_performance.test_incentives import run as run_statements
from tests.plugins.sales_performance.world import Sales, build
from tests.support.postgres import admin_connection

LINE = {
    "type": "object",
    "properties": {
        "item": {"x-field": "text", "type": "string", "title": "Item"},
        "quantity": {"x-field": "number", "type": "integer", "title": "Quantity"},
    },
}


def visit_form(*extra: str) -> dict[str, Any]:
    """A site visit: a subform, photos, a document and a signature; each version adds a
    text field."""
    properties: dict[str, Any] = {
        "site": {"x-field": "text", "type": "string", "title": "Site"},
        "lines": {"x-field": "subform", "type": "array", "title": "Lines", "items": LINE},
        "photos": {"x-field": "image", "type": "array", "title": "Photos"},
        "report": {"x-field": "attachment", "type": "array", "title": "Report"},
        "signed": {"x-field": "signature", "type": "string", "title": "Signed"},
    }
    for key in extra:
        properties[key] = {"x-field": "text", "type": "string", "title": key}
    return {"title": "Visit", "type": "object", "properties": properties}


TICK = {
    "title": "Tick",
    "type": "object",
    "properties": {"n": {"x-field": "number", "type": "integer", "title": "N"}},
}


@pytest.fixture
def sales(runtime, admin) -> Sales:
    from formflow.people import service as people
    from sales_performance.kpi import plans as kpi_plans

    world = build(runtime, admin)
    with runtime.write() as work:
        closer = people.ensure_role(work, "closer", "Closer")
        for name in ("rita", "ron"):
            people.set_roles(work, world.people[name].id, [closer.id])
        kpi_plans.ensure_defaults(work)
    return world


def populate(runtime: Runtime, sales: Sales) -> None:
    """Forms with records (subforms, files), edits, a deletion, a form at version 3, flow
    instances with tasks in several states, and incentive statements."""
    rita = sales.user("rita")
    with runtime.write() as work:
        ensure_app(work, "field", "Field work")
        publish(work, "field.visit", visit_form())
        publish(work, "field.tick", TICK)
    grant(runtime, "field.visit", EVERYONE_OWN)
    with runtime.write(rita) as work:
        photo = storage.save_upload(work, io.BytesIO(png(3, 2)), "front.png").id
        report = storage.save_upload(work, io.BytesIO(PDF), "report.pdf").id
        signature = storage.save_upload(work, io.BytesIO(png(5, 1)), "sign.png").id
        visit = get_form(work, "field.visit")
        first = records.create(
            work,
            visit,
            {
                "site": "Pudong",
                "lines": [{"item": "router", "quantity": 2}, {"item": "cable", "quantity": 9}],
                "photos": [photo],
                "report": [report],
                "signed": signature,
            },
        ).id
        second = records.create(work, visit, {"site": "Minhang", "lines": []}).id
    with runtime.write() as work:
        publish(work, "field.visit", visit_form("notes"))
        publish(work, "field.visit", visit_form("notes", "weather"))
    with runtime.write(rita) as work:
        visit = get_form(work, "field.visit")
        records.update_record(work, visit, first, {"notes": "gate B"}, revision=1)
        records.update_record(
            work, visit, first, {"lines": [{"item": "router", "quantity": 3}]}, revision=2
        )
        records.delete(work, visit, second)
    # approvals: one quotation waiting at its first step, one approved through every step
    sales.quote(("Router", "900", 2), discount="0.05")
    approved = sales.quote(("Licence", "9500", 1), discount="0.02")
    sales.approvers_until_done(approved)
    # incentives: a plan, a target, contracts and the statements computed from them
    plan(sales, commission())
    rep_target(sales, "rita", "1000000")
    contract(sales, "1000000")
    contract(sales, "300000", as_="ron")
    run_statements(sales)


class Ticker:
    """Writes while a backup runs: each transaction adds a tick and sets the counter record
    to the number of ticks, so a consistent copy has exactly ``counter`` ticks."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        with runtime.write() as work:
            self.counter = records.create(work, get_form(work, "field.tick"), {"n": 0}).id
        self.done = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                with self.runtime.write() as work:
                    ticks = get_form(work, "field.tick")
                    records.create(work, ticks, {"n": self.done + 1})
                    records.change_as_step(work, ticks, self.counter, {"n": self.done + 1}, None)
                self.done += 1
        except BaseException as error:  # reported by the test
            self.error = error

    def wait_for(self, count: int) -> None:
        while self.done < count:
            assert self.error is None, self.error
            assert self.thread.is_alive()
            threading.Event().wait(0.005)


def table_rows(engine: Any, tick_form: int) -> dict[str, list[str]]:
    """Every row of every table, but for the ticks (checked by their invariant)."""
    meta = MetaData()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta.reflect(engine)
    out = {}
    with engine.connect() as connection:
        ticks = set(connection.scalars(select(Record.id).where(Record.form_id == tick_form)).all())
        for table in meta.sorted_tables:
            rows = connection.execute(select(table)).mappings().all()
            if table.name == "records":
                rows = [r for r in rows if r["id"] not in ticks]
            elif table.name == "record_revisions":
                rows = [r for r in rows if r["record_id"] not in ticks]
            out[table.name] = sorted(repr(sorted(r.items())) for r in rows)
    return out


def through_services(runtime: Runtime) -> dict[str, Any]:
    """What the services read back: every record (values, revision, history), every
    definition version, every flow instance, task and event, every statement."""
    seen: dict[str, Any] = {}
    with runtime.read() as work:
        rows = work.session.scalars(select(Record).order_by(Record.id)).all()
        for row in rows:
            loaded = get_form_by_id(work, row.form_id)
            if loaded.form.name == "tick":
                continue
            record = records.get(work, row.id, deleted=row.deleted_at is not None)
            seen[f"record {row.id}"] = (
                loaded.form.name,
                dict(records.values_of(loaded, record)),
                record.revision,
                record.deleted_at,
                [
                    (r.revision, r.action, r.changes, r.actor_id)
                    for r in records.revisions(work, record)
                ],
            )
        for name in ("field.visit", "sales_performance.quotation", "sales_performance.contract"):
            seen[f"versions {name}"] = [(v.version, v.definition) for v in versions(work, name)]
        for model in (FlowInstance, FlowTask, FlowEvent):
            for item in work.session.scalars(select(model).order_by(model.id)):
                seen[f"{model.__name__} {item.id}"] = {
                    c.key: getattr(item, c.key) for c in model.__table__.columns
                }
        seen["statements"] = statements.list_statements(work, "2026-06")
    return seen


def uploads(runtime: Runtime) -> dict[str, bytes]:
    with runtime.read() as work:
        ids = work.session.scalars(select(storage.StoredFile.id)).all()
        return {i: storage.path_of(work, i).read_bytes() for i in ids}


@pytest.fixture
def fresh(runtime: Runtime, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Config]:
    """A second instance on the same kind of database, holding no data: on SQLite no
    database file at all, on PostgreSQL a migrated database with empty tables."""
    folder = tmp_path / "restored"
    if runtime.db.dialect == "sqlite":
        yield Config(instance_path=folder, database_url=f"sqlite:///{folder / 'formflow.db'}")
        return
    admin = request.getfixturevalue("postgres")
    name = "r_" + uuid.uuid4().hex[:16]
    with admin_connection(admin) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE formflow_template")
    yield Config(instance_path=folder, database_url=admin.rsplit("/", 1)[0] + "/" + name)
    with admin_connection(admin) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_backup_taken_while_records_are_written_restores_every_row_and_file(
    runtime, sales, fresh, tmp_path, clock
):
    populate(runtime, sales)
    ticker = Ticker(runtime)
    ticker.thread.start()
    ticker.wait_for(5)
    before = ticker.done
    report = backup(runtime.config, tmp_path / "backups")
    during = ticker.done
    ticker.wait_for(during + 5)  # still writing after the backup: the backup blocked no one
    ticker.stop.set()
    ticker.thread.join(timeout=30)
    assert ticker.error is None
    assert report.files == 3 and report.warnings == []

    result = restore(fresh, report.path)
    assert result.files == 3 and not result.needs_upgrade

    restored = Runtime(fresh, clock=clock)
    try:
        with restored.read() as work:
            ticks = get_form(work, "field.tick")
            counter = records.get(work, ticker.counter)
            made = work.session.scalar(
                select(func.count())
                .select_from(Record)
                .where(Record.form_id == ticks.form.id, Record.id != ticker.counter)
            )
            n = records.values_of(ticks, counter)["n"]
        # one moment: every tick the counter counts, no more, each with its history
        assert made == n and counter.revision == n + 1
        assert before <= n <= during + 1
        tick_form = ticks.form.id
        assert table_rows(restored.db.engine, tick_form) == table_rows(runtime.db.engine, tick_form)
        source = through_services(runtime)
        assert len(source["statements"]) == 2
        assert {s["state"] for k, s in source.items() if k.startswith("FlowInstance")} == {
            "running",
            "approved",
        }
        assert through_services(restored) == source
        assert uploads(restored) == uploads(runtime)
        # the restored instance carries on: new rows get new ids
        with restored.write(sales.user("rita")) as work:
            new = records.create(work, get_form(work, "field.visit"), {"site": "Jing'an"}).id
        assert new > ticker.counter
    finally:
        restored.close()


# -- refusals ------------------------------------------------------------------------------


@pytest.fixture
def small(runtime, admin, tmp_path) -> Path:
    """A backup of a small instance: a form, a record with a file."""
    with runtime.write() as work:
        ensure_app(work, "field", "Field work")
        publish(work, "field.visit", visit_form())
    with runtime.write(sales_user(runtime, "admin")) as work:
        photo = storage.save_upload(work, io.BytesIO(png()), "front.png").id
        records.create(work, get_form(work, "field.visit"), {"site": "A", "photos": [photo]})
    return backup(runtime.config, tmp_path / "small.tar.gz").path


def sales_user(runtime: Runtime, name: str) -> Any:
    from formflow.people import service as people

    with runtime.read() as work:
        user = people.get_user(work, name)
        work.session.expunge(user)
        return user


def rewrite(source: Path, target: Path, change) -> Path:
    """A copy of an archive with ``change(name, bytes) -> bytes | None`` applied to each
    member (None drops it)."""
    with tarfile.open(source, "r:gz") as archive, tarfile.open(target, "w:gz") as out:
        for member in archive:
            content = change(member.name, archive.extractfile(member).read())
            if content is None:
                continue
            member.size = len(content)
            out.addfile(member, io.BytesIO(content))
    return target


def untouched(config: Config) -> tuple[list[str], bool]:
    folder = config.instance_path
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []
    return names, folder.exists()


def assert_refused(config: Config, archive: Path, *words: str, force: bool = False) -> None:
    before = untouched(config)
    with pytest.raises(BackupError) as refused:
        restore(config, archive, force=force)
    message = str(refused.value)
    for word in words:
        assert word in message, message
    assert untouched(config) == before


def test_a_truncated_archive_is_refused_as_damaged(small, fresh, tmp_path):
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(small.read_bytes()[: small.stat().st_size // 2])
    assert_refused(fresh, cut, "cut.tar.gz is damaged")


def test_a_changed_file_fails_its_checksum_and_is_named(small, fresh, tmp_path):
    def flip(name: str, content: bytes) -> bytes:
        if name.startswith("uploads/"):
            return content[:-1] + bytes([content[-1] ^ 1])
        return content

    archive = rewrite(small, tmp_path / "flipped.tar.gz", flip)
    assert_refused(fresh, archive, "does not match its checksum", "uploads/")


def test_a_missing_member_or_a_manifest_of_another_format_is_named(small, fresh, tmp_path):
    dropped = rewrite(
        small,
        tmp_path / "dropped.tar.gz",
        lambda name, content: None if name.startswith("database") else content,
    )
    assert_refused(fresh, dropped, "database.", "is missing")

    def future(name: str, content: bytes) -> bytes:
        if name == "manifest.json":
            return json.dumps({**json.loads(content), "format_version": 99}).encode()
        return content

    assert_refused(fresh, rewrite(small, tmp_path / "f.tar.gz", future), "backup format 99")

    def newer(name: str, content: bytes) -> bytes:
        if name == "manifest.json":
            return json.dumps({**json.loads(content), "alembic_revision": "9999"}).encode()
        return content

    assert_refused(fresh, rewrite(small, tmp_path / "n.tar.gz", newer), "revision 9999")
    not_gzip = tmp_path / "plain.tar.gz"
    not_gzip.write_bytes(gzip.decompress(small.read_bytes())[:1000])
    assert_refused(fresh, not_gzip, "is damaged")


def test_a_target_holding_data_is_refused_without_force(runtime, small, tmp_path):
    with pytest.raises(BackupError) as refused:
        restore(runtime.config, small)
    assert "already holds data" in str(refused.value)
    assert "rows in" in str(refused.value) and "--force" in str(refused.value)
    # with --force the target is replaced by the backup
    with runtime.write(sales_user(runtime, "admin")) as work:
        records.create(work, get_form(work, "field.visit"), {"site": "B"})
    restore(runtime.config, small, force=True)
    with runtime.read() as work:
        visit = get_form(work, "field.visit")
        sites = [
            records.values_of(visit, r)["site"]
            for r in work.session.scalars(select(Record).where(Record.form_id == visit.form.id))
        ]
    assert sites == ["A"]


def test_a_forced_restore_that_fails_half_way_leaves_the_old_data(
    runtime, small, tmp_path, monkeypatch
):
    """The old rows are dropped in the same transaction that loads the backup's: a failure
    in the last statement (injected into the SQL the dump becomes) rolls all of it back.
    On SQLite the file is replaced in one step by the backup API."""
    with runtime.write(sales_user(runtime, "admin")) as work:
        records.create(work, get_form(work, "field.visit"), {"site": "B"})
    if runtime.db.dialect == "postgresql":
        made = backup_module._restore_script

        def failing(database: Path) -> Path:
            script = made(database)
            with script.open("a", encoding="utf-8") as out:
                out.write("\nSELECT 1 / 0;\n")
            return script

        monkeypatch.setattr(backup_module, "_restore_script", failing)
        with pytest.raises(BackupError, match="division by zero"):
            restore(runtime.config, small, force=True)
    else:

        def failing_copy(engine, database):
            raise BackupError("the disk is full")

        monkeypatch.setattr(backup_module, "_restore_sqlite", failing_copy)
        with pytest.raises(BackupError, match="disk is full"):
            restore(runtime.config, small, force=True)
    runtime.db.dispose()
    with runtime.read() as work:
        visit = get_form(work, "field.visit")
        sites = sorted(
            records.values_of(visit, r)["site"]
            for r in work.session.scalars(select(Record).where(Record.form_id == visit.form.id))
        )
    assert sites == ["A", "B"]


def test_a_backup_restores_only_into_the_same_kind_of_database(small, runtime, tmp_path):
    other = "postgresql://nobody@127.0.0.1:1/none" if runtime.db.dialect == "sqlite" else None
    if other is None:
        other = f"sqlite:///{tmp_path / 'other' / 'formflow.db'}"
    config = Config(instance_path=tmp_path / "other", database_url=other)
    assert_refused(config, small, "restores only into the same kind of database")


def test_a_backup_of_an_older_schema_restores_as_it_was_and_says_to_upgrade(tmp_path, clock):
    """The database of revision 0003 kept for the migration test, backed up and restored:
    the restore keeps its revision and asks for ``formflow init-db``, which then works."""
    source = tmp_path / "old" / "formflow.db"
    source.parent.mkdir()
    shutil.copy(Path(__file__).parents[1] / "fixtures" / "schema_0003.db", source)
    old = Config(instance_path=source.parent, database_url=f"sqlite:///{source}")
    made = backup(old, tmp_path / "old.tar.gz")
    assert made.revision == "0003" and made.warnings == ["file abababababababababababababababab "
        f"(photo.png) is missing from {old.upload_path}", "file efefefefefefefefefefefefefefefef "
        f"(draft.pdf) is missing from {old.upload_path}"]  # fmt: skip
    target = Config(instance_path=tmp_path / "new", database_url=f"sqlite:///{tmp_path / 'new.db'}")
    report = restore(target, made.path)
    assert report.revision == "0003" and report.needs_upgrade
    restored = Runtime(target, clock=clock, load_plugins=False)
    try:
        upgrade(restored.db.engine)
        with restored.read() as work:
            assert records.count(work, get_form(work, "crm.visit").form.id) == 2
    finally:
        restored.close()


# -- the command line ----------------------------------------------------------------------


def test_the_commands_back_up_and_restore_and_refuse_an_occupied_target(runtime, small, tmp_path):
    """``formflow backup`` / ``formflow restore`` (in-process: the work is tested above)."""
    from click.testing import CliRunner

    from formflow.cli import main

    def formflow(config: Config, *args: str) -> Any:
        env = {"FORMFLOW_INSTANCE": str(config.instance_path), "DATABASE_URL": config.database_url}
        return CliRunner().invoke(main, list(args), env=env)

    made = formflow(runtime.config, "backup", str(tmp_path / "b.tar.gz"))
    assert made.exit_code == 0, made.output
    assert f"backed up {runtime.db.dialect} database" in made.output
    assert "1 file(s)" in made.output
    refused = formflow(runtime.config, "restore", str(tmp_path / "b.tar.gz"))
    assert refused.exit_code == 1
    assert "error: the target instance already holds data (rows in" in refused.output
    forced = formflow(runtime.config, "restore", "--force", str(tmp_path / "b.tar.gz"))
    assert forced.exit_code == 0, forced.output
    assert "restored" in forced.output and "1 file(s)" in forced.output
