"""Alembic environment: runs migrations on the engine handed over in the config."""

from __future__ import annotations

from alembic import context

from formflow.models import metadata

engine = context.config.attributes["engine"]


def _include(obj, name, type_, reflected, compare_to):
    # Per-form indexes belong to definitions, not to migrations.
    return not (type_ == "index" and name and name.startswith(("ix_rf_", "ux_rf_")))


with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=_include,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
