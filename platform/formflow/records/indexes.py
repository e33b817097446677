"""Per-form expression indexes on the records table.

Each form gets, for every field that is unique, indexed (``x-index``), a serial number or
a link (relation, member, department), a partial index over its projection
(``formflow.records.projection``) restricted to that form's live rows:

    CREATE INDEX ix_rf_7_amount_3fa2c1 ON records (json_extract(data, '$.amount'), id)
        WHERE form_id = 7 AND deleted_at IS NULL

so a filter or sort on the field is an index range scan, and only that form's writes pay
for it. ``x-unique`` makes the index UNIQUE: the database, not a read-then-write check,
refuses a duplicate. Publishing a definition syncs the set (the name carries a hash of the
index's SQL, so a changed expression makes a new index and drops the old one).

``x-index-with`` on a field adds a composite index: the field's projection, then those of
the fields it names, then ``id`` — what "the latest follow-up of each customer" needs, a
seek to (customer, its largest visit time) instead of reading every follow-up of the
customer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Dialect

from ..definitions.spec import FieldSpec, FormSpec
from ..errors import FieldError, ValidationFailed
from ..runtime import Work
from .projection import field_sql


@dataclass(frozen=True)
class IndexPlan:
    name: str
    field: FieldSpec
    unique: bool
    ddl: str
    #: The fields after ``field`` in a composite index (``x-index-with``).
    then: tuple[FieldSpec, ...] = ()


def _expression_sql(field: FieldSpec, dialect: Dialect) -> str:
    compiled = field_sql(field, dialect.name).compile(
        dialect=dialect, compile_kwargs={"literal_binds": True}
    )
    return str(compiled).replace("records.data", "data")


def planned_indexes(spec: FormSpec, form_id: int, dialect: Dialect) -> dict[str, IndexPlan]:
    plans: dict[str, IndexPlan] = {}
    where = f"form_id = {int(form_id)} AND deleted_at IS NULL"

    def column(field: FieldSpec) -> str:
        expression = _expression_sql(field, dialect)
        return f"({expression}) NULLS FIRST" if dialect.name == "postgresql" else expression

    for field in spec.fields:
        if field.indexed:
            columns = column(field) if field.unique else f"{column(field)}, id"
            plan = _plan(form_id, field, field.unique, f"ON records ({columns}) WHERE {where}")
            plans[plan.name] = plan
        then = tuple(spec.by_key[key] for key in field.schema.get("x-index-with") or ())
        if then:
            columns = ", ".join(column(f) for f in (field, *then))
            plan = _plan(form_id, field, False, f"ON records ({columns}, id) WHERE {where}", then)
            plans[plan.name] = plan
    return plans


def _plan(
    form_id: int, field: FieldSpec, unique: bool, body: str, then: tuple[FieldSpec, ...] = ()
) -> IndexPlan:
    digest = hashlib.sha1(f"{unique}|{body}".encode()).hexdigest()[:6]
    prefix = "ux" if unique else "ix"
    name = f"{prefix}_rf_{int(form_id)}_{field.id}_{digest}".lower()
    ddl = f"CREATE {'UNIQUE ' if unique else ''}INDEX {name} {body}"
    return IndexPlan(name, field, unique, ddl, then)


def existing_indexes(work: Work, form_id: int) -> set[str]:
    prefixes = (f"ix_rf_{int(form_id)}_", f"ux_rf_{int(form_id)}_")
    if work.dialect == "sqlite":
        rows = work.session.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'")
        )
    else:
        rows = work.session.execute(
            text("SELECT indexname FROM pg_indexes WHERE tablename = 'records'")
        )
    return {name for (name,) in rows if name.startswith(prefixes)}


def sync_indexes(
    work: Work, spec: FormSpec, form_id: int, *, deferred: frozenset[str] = frozenset()
) -> tuple[list[str], list[str]]:
    """Create the indexes ``spec`` needs and drop the ones it no longer does.

    A unique index over values that already repeat is refused with the field and the
    duplicate values named, and nothing changes. Fields whose ids are ``deferred`` keep the
    indexes they have and get no new one: their stored values are still being converted to
    a new type in the background (an index of the new type over unconverted values could
    not even be built on PostgreSQL); the conversion syncs them when it finishes.
    """
    dialect = work.session.get_bind().dialect
    plans = planned_indexes(spec, form_id, dialect)
    existing = existing_indexes(work, form_id)
    if deferred:
        plans = {
            name: plan
            for name, plan in plans.items()
            if not any(f.id in deferred for f in (plan.field, *plan.then))
        }
        lowered = {field_id.lower() for field_id in deferred}
        existing = {name for name in existing if _field_id(name, form_id) not in lowered}
    created = [name for name in plans if name not in existing]
    dropped = sorted(existing - set(plans))
    problems: list[FieldError] = []
    for name in created:
        if plans[name].unique:
            problems += _duplicates(work, plans[name].field, form_id, dialect)
    if problems:
        raise ValidationFailed(problems)
    for name in dropped:
        work.session.execute(text(f"DROP INDEX IF EXISTS {name}"))
    for name in created:
        work.session.execute(text(plans[name].ddl))
    if work.dialect == "sqlite":
        # Statistics let the planner choose between a filter's index and a sort's (without
        # them it sorts every match: 170 ms instead of 7 ms at 100k rows). A sample-limited
        # ANALYZE misjudges how many rows a value matches, so each new index is read whole.
        work.session.execute(text("PRAGMA analysis_limit = 0"))
        for name in created:
            work.session.execute(text(f"ANALYZE {name}"))
    else:
        _sync_statistics(work, plans, form_id)
    return created, dropped


def _field_id(name: str, form_id: int) -> str:
    """The (lower-cased) field id in an index name ``ix_rf_<form>_<field id>_<digest>``."""
    return name[len(f"ix_rf_{int(form_id)}_") : -7]


def _sync_statistics(work: Work, plans: dict[str, IndexPlan], form_id: int) -> None:
    """PostgreSQL ignores the statistics of partial indexes when it estimates a filter, so
    a filter on ``data ->> 'status'`` was guessed at 0.5 % of the rows (a quarter matched)
    and a filtered, sorted page sorted 25k rows (107 ms at 100k records). Extended
    statistics on each indexed expression give the planner the value distribution; the next
    ANALYZE (autovacuum's, or ``formflow analyze``) fills them."""
    wanted = {}
    for plan in plans.values():
        if plan.then:
            continue  # composite: its leading field's own statistics serve the planner
        expression = plan.ddl.split("ON records (", 1)[1].split(") WHERE", 1)[0]
        expression = expression.removesuffix(", id").removesuffix(" NULLS FIRST")
        wanted["st" + plan.name[2:]] = expression
    rows = work.session.execute(
        text("SELECT stxname FROM pg_statistic_ext WHERE stxname LIKE :prefix"),
        {"prefix": f"st_rf_{int(form_id)}_%"},
    )
    existing = {name for (name,) in rows}
    for name in sorted(existing - set(wanted)):
        work.session.execute(text(f"DROP STATISTICS IF EXISTS {name}"))
    for name, expression in wanted.items():
        if name not in existing:
            work.session.execute(text(f"CREATE STATISTICS {name} ON {expression} FROM records"))


def _duplicates(work: Work, field: FieldSpec, form_id: int, dialect: Dialect) -> list[FieldError]:
    expression = _expression_sql(field, dialect)
    rows = work.session.execute(
        text(
            f"SELECT {expression} AS value, COUNT(*) AS n FROM records "
            f"WHERE form_id = :form AND deleted_at IS NULL AND {expression} IS NOT NULL "
            f"GROUP BY {expression} HAVING COUNT(*) > 1 LIMIT 5"
        ),
        {"form": form_id},
    ).all()
    if not rows:
        return []
    shown = ", ".join(f"'{value}' ({n} records)" for value, n in rows)
    return [
        FieldError(
            f"{field.pointer}/x-unique",
            f"existing records repeat values of '{field.key}': {shown}",
            "unique",
        )
    ]
