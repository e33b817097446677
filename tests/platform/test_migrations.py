"""Alembic migrations build exactly the tables the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from formflow.migrations import current_revision
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
