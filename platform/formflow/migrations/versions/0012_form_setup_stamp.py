"""forms.setup_stamp: a token the database changes whenever a form's flows, automations
or permission grants change, so what is read of them per record can be cached by it

A later migration that rebuilds ``forms`` or one of the watched tables on SQLite (batch mode
copies a table and drops the old one, its triggers with it; a trigger naming ``forms`` stops
the rename) must drop these triggers first and create them again after, as this one does;
``tests/platform/test_migrations.py`` checks they are all there at head.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: The tables whose rows name a form (``form_id``) and whose changes the stamp follows.
WATCHED = ("flows", "automations", "form_grants")


def upgrade() -> None:
    with op.batch_alter_table("forms", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("setup_stamp", sa.String(length=36), nullable=False, server_default="")
        )
    # Every form starts with a token of its own: a form made later under a reused id must
    # never find what was cached for the one before it.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("UPDATE forms SET setup_stamp = lower(hex(randomblob(8)))")
        _sqlite_triggers()
    else:
        op.execute("UPDATE forms SET setup_stamp = gen_random_uuid()::text")
        _postgresql_triggers()


def _sqlite_triggers() -> None:
    touch = "UPDATE forms SET setup_stamp = lower(hex(randomblob(8))) WHERE id = {row}.form_id;"
    for table in WATCHED:
        op.execute(
            f"CREATE TRIGGER {table}_insert_stamps_form AFTER INSERT ON {table} "
            f"BEGIN {touch.format(row='NEW')} END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_update_stamps_form AFTER UPDATE ON {table} "
            f"BEGIN {touch.format(row='OLD')} {touch.format(row='NEW')} END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_delete_stamps_form AFTER DELETE ON {table} "
            f"BEGIN {touch.format(row='OLD')} END"
        )


def _postgresql_triggers() -> None:
    op.execute(
        """
        CREATE FUNCTION formflow_stamp_form_setup() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                UPDATE forms SET setup_stamp = gen_random_uuid()::text WHERE id = OLD.form_id;
            END IF;
            IF TG_OP <> 'DELETE' THEN
                UPDATE forms SET setup_stamp = gen_random_uuid()::text WHERE id = NEW.form_id;
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    for table in WATCHED:
        op.execute(
            f"CREATE TRIGGER {table}_stamps_form AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION formflow_stamp_form_setup()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event}_stamps_form")
    else:
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_stamps_form ON {table}")
        op.execute("DROP FUNCTION IF EXISTS formflow_stamp_form_setup()")
    # Natively on SQLite too (3.35+): a batch rebuild of ``forms`` would trip its foreign keys.
    op.execute("ALTER TABLE forms DROP COLUMN setup_stamp")
