"""Alembic migrations build exactly the tables the models describe, on both databases, and
carry a database an earlier schema made forward without losing a row."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select

from formflow import Config, Runtime
from formflow.migrations import HERE, current_revision, upgrade
from formflow.models import metadata


def test_migrated_database_matches_the_models(runtime):
    with runtime.db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_object": _engine_objects},
        )
        differences = compare_metadata(context, metadata)
    assert differences == []
    assert current_revision(runtime.db.engine) is not None


def _engine_objects(obj, name, type_, reflected, compare_to):
    return not (type_ == "index" and name and name.startswith(("ix_rf_", "ux_rf_")))


# -- upgrading a database an earlier schema made ------------------------------------------

FIXTURE = Path(__file__).parents[1] / "fixtures" / "schema_0003.db"


def _rows(engine) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every table's columns and rows, as stored (raw SQL, no types applied)."""
    with engine.connect() as connection:
        tables = [
            name
            for (name,) in connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'alembic_version'"
            )
        ]
        found = {}
        for table in tables:
            result = connection.exec_driver_sql(f'SELECT * FROM "{table}"')
            found[table] = (list(result.keys()), sorted(result.all(), key=repr))
        return found


def test_a_database_of_revision_0003_migrates_to_head_and_keeps_every_row(tmp_path):
    """tests/fixtures/schema_0003.db was made by the migrations of commit 5f0004b
    (tests/fixtures/make_schema_0003_db.py); every later migration runs over its rows."""
    from formflow.definitions.service import get_form, get_form_by_id, versions
    from formflow.files.storage import get_file
    from formflow.people import service as people
    from formflow.people import tokens
    from formflow.permissions.service import grants_of
    from formflow.records import comments
    from formflow.records import service as records
    from formflow.records.models import Record
    from tests.fixtures.make_schema_0003_db import RITA_TOKEN

    path = tmp_path / "formflow.db"
    shutil.copy(FIXTURE, path)
    runtime = Runtime(
        Config(instance_path=tmp_path, database_url=f"sqlite:///{path}"), load_plugins=False
    )
    try:
        assert current_revision(runtime.db.engine) == "0003"
        before = _rows(runtime.db.engine)
        upgrade(runtime.db.engine)
        assert current_revision(runtime.db.engine) == ScriptDirectory(str(HERE)).get_current_head()
        after = _rows(runtime.db.engine)
        for table, (columns, rows) in before.items():  # nothing changed, nothing lost
            now_columns, now_rows = after[table]
            assert now_columns[: len(columns)] == columns, table
            assert sorted((r[: len(columns)] for r in now_rows), key=repr) == rows, table
            added = now_columns[len(columns) :]
            if table == "forms":  # each form starts with a setup stamp of its own
                assert added == ["setup_stamp"]
                stamps = [r[-1] for r in now_rows]
                assert all(stamps) and len(set(stamps)) == len(stamps)
                continue
            # columns added later start empty (users' second factor, say)
            assert all(value is None for r in now_rows for value in r[len(columns) :]), table
        assert all(after[t][1] == [] for t in set(after) - set(before))  # new tables start empty
        with runtime.db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": _engine_objects}
            )
            assert compare_metadata(context, metadata) == []  # as if made at head

        with runtime.read() as work:
            rita, _ = tokens.authenticate(work, RITA_TOKEN)
            assert (rita.username, rita.display_name) == ("rita", "丽塔")
            assert people.roles_and_departments(work, rita.id) == ([1], [2])
            assert people.setting(work, rita.id, "records.crm.visit.columns") == ["amount", "on"]
            assert [v.version for v in versions(work, "crm.visit")] == [1, 2]
            visit = get_form(work, "crm.visit")
            assert visit.form.current_version == 2 and "notes" in visit.spec.by_key
            assert [g["scope"] for g in grants_of(work, visit)] == ["own"]
            seen = {}
            for row in work.session.scalars(select(Record).order_by(Record.id)):
                loaded = get_form_by_id(work, row.form_id)
                record = records.get(work, row.id, deleted=row.deleted_at is not None)
                seen[row.id] = (
                    dict(records.values_of(loaded, record)),
                    [(r.revision, r.action) for r in records.revisions(work, record)],
                )
            assert len(seen) == 5
            values, history = seen[3]
            assert values["amount"] == Decimal("12345.67")
            assert values["lines"][1] == {"item": "cable", "qty": 10}
            assert history == [(1, "create")]
            assert seen[4][0]["notes"] == "备注 two" and seen[4][1] == [
                (1, "create"),
                (2, "update"),
            ]
            assert seen[5][1] == [(1, "create"), (2, "delete")]
            photo = get_file(work, values["photos"][0])
            assert (photo.name, photo.record_id, photo.field_id) == ("photo.png", 3, "photos")
            assert [c.body for c in comments.of(work, visit, 3)] == [
                "Looks good — 好",
                "by a removed user",
            ]
        # and it keeps working: an edit, a new record, a newer version
        with runtime.write(rita) as work:
            visit = get_form(work, "crm.visit")
            records.update_record(work, visit, 3, {"notes": "later"}, revision=1)
            made = records.create(work, visit, {"customer": 2, "amount": "5", "lines": []})
        assert made.id == 6
    finally:
        runtime.close()


# -- the setup stamp's triggers (0012) ---------------------------------------------------------


def _triggers(engine) -> set[str]:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        return {name for (name,) in connection.exec_driver_sql(sql)}


def test_every_setup_stamp_trigger_is_there_at_head(runtime):
    """A later migration that rebuilds a watched table must not lose them (compare_metadata
    does not see triggers)."""
    watched = ("flows", "automations", "form_grants")
    if runtime.db.dialect == "sqlite":
        wanted = {f"{t}_{e}_stamps_form" for t in watched for e in ("insert", "update", "delete")}
    else:
        wanted = {f"{t}_stamps_form" for t in watched}
    assert wanted <= _triggers(runtime.db.engine)


def test_the_setup_stamp_and_second_factor_come_off_again_keeping_every_row(tmp_path):
    from alembic import command

    from formflow.migrations import alembic_config

    path = tmp_path / "formflow.db"
    shutil.copy(FIXTURE, path)
    runtime = Runtime(
        Config(instance_path=tmp_path, database_url=f"sqlite:///{path}"), load_plugins=False
    )
    try:
        upgrade(runtime.db.engine)
        before = _rows(runtime.db.engine)["forms"]
        everything = _rows(runtime.db.engine)
        command.downgrade(alembic_config(runtime.db.engine), "0011")
        assert current_revision(runtime.db.engine) == "0011"
        columns, rows = _rows(runtime.db.engine)["forms"]
        assert "setup_stamp" not in columns
        assert [r[: len(columns)] for r in rows] == [r[: len(columns)] for r in before[1]]
        assert not {t for t in _triggers(runtime.db.engine) if t.endswith("_stamps_form")}
        # one further down, past the second factor (0011): no row of any table is lost
        command.downgrade(alembic_config(runtime.db.engine), "0010")
        after = _rows(runtime.db.engine)
        for table, (_columns, rows) in after.items():
            assert len(rows) == len(everything[table][1]), table
        upgrade(runtime.db.engine)  # and on again
        assert len(_triggers(runtime.db.engine)) >= 9
    finally:
        runtime.close()
