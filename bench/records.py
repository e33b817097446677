"""Record writes and lists through the engine, each beside a baseline measured in the same run.

* create: records created per second through the engine (form lookup, coercion, formulas,
  validation, reference checks, insert, revision — one transaction per record, as a user
  submits them) beside raw INSERTs of the very same stored JSON rows into the same table
  with the same indexes, also one transaction per row;
* validate: the engine's whole input pipeline per record, beside the compiled validator
  alone and pure-Python jsonschema on the same documents;
* list: the first page (50) of a filtered, sorted list at 100k and 1M records, through the
  engine's query builder, beside the same SQL hand-written and run on the driver.

Run: ``scripts/bench.sh records`` (or ``python -m bench.records --help``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sqlite3
import time
from decimal import Decimal
from typing import Any

import jsonschema
from sqlalchemy import text

from bench.forms import BENCH_FORM, REGIONS, STATUSES, record_data
from bench.harness import Instance, instance, latencies, ratio
from formflow import jsoncodec
from formflow.definitions.service import get_form
from formflow.expressions import EvalContext
from formflow.records import service as records
from formflow.records.prepare import prepare
from formflow.records.query import Filter, Query, Sort, list_records

FORM = "bench.order"


# -- create ----------------------------------------------------------------------------------


def _raw_connection(inst: Instance) -> Any:
    url = inst.runtime.db.engine.url
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database, isolation_level=None)
        # The engine's own connection settings (formflow.db), foreign keys included: the
        # baseline writes to the same database under the same rules, minus the engine.
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=60000",
            "temp_store=MEMORY",
            "cache_size=-65536",
        ):
            connection.execute(f"PRAGMA {pragma}")
        return connection
    import psycopg

    return psycopg.connect(
        url.render_as_string(hide_password=False).replace("+psycopg", ""), autocommit=True
    )


_RECORD_COLUMNS = (
    "form_id, data, form_version, revision, owner_id, department_id, created_by, "
    "created_at, updated_by, updated_at"
)
_REVISION_COLUMNS = "revision, action, form_version, actor_id, at, changes"


def _raw_insert(
    connection: Any,
    rows: list[tuple[Any, ...]],
    sqlite: bool,
    revisions: list[tuple[Any, ...]] | None = None,
) -> float:
    """Seconds to insert ``rows``, one transaction each, straight on the driver; with
    ``revisions``, each row's revision row too, in the same transaction."""
    if sqlite:
        sql = f"INSERT INTO records ({_RECORD_COLUMNS}) VALUES ({', '.join('?' * 10)})"
        revision_sql = (
            f"INSERT INTO record_revisions (record_id, {_REVISION_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
    else:
        sql = (
            f"INSERT INTO records ({_RECORD_COLUMNS}) "
            "VALUES (%s, %s::jsonb, %s, %s, %s, %s, %s, %s, %s, %s)"
        )
        if revisions is not None:
            sql += " RETURNING id"
        revision_sql = (
            f"INSERT INTO record_revisions (record_id, {_REVISION_COLUMNS}) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb)"
        )
    start = time.perf_counter()
    for i, row in enumerate(rows):
        if sqlite:
            connection.execute("BEGIN IMMEDIATE")
            cursor = connection.execute(sql, row)
            if revisions is not None:
                connection.execute(revision_sql, (cursor.lastrowid, *revisions[i]))
            connection.execute("COMMIT")
        else:
            with connection.transaction():
                cursor = connection.execute(sql, row)
                if revisions is not None:
                    record_id = cursor.fetchone()[0]
                    connection.execute(revision_sql, (record_id, *revisions[i]))
    return time.perf_counter() - start


def bench_create(inst: Instance, count: int, rounds: int = 5) -> dict[str, Any]:
    rng = random.Random(42)
    inputs = [record_data(rng, inst.user.id) for _ in range(count)]
    runtime = inst.runtime
    sqlite = runtime.db.dialect == "sqlite"
    raw = _raw_connection(inst)
    engine_seconds = raw_seconds = both_seconds = 0.0
    per_round = count // rounds
    for i in range(rounds):  # interleaved, so drift in machine load hits both alike
        batch = inputs[i * per_round : (i + 1) * per_round]
        start = time.perf_counter()
        created_ids = []
        for data in batch:
            with runtime.write(inst.user) as work:
                created_ids.append(records.create(work, get_form(work, FORM), data).id)
        engine_seconds += time.perf_counter() - start
        span = f"BETWEEN {min(created_ids)} AND {max(created_ids)}"
        with runtime.db.engine.connect() as connection:
            stored = connection.execute(
                text(f"SELECT {_RECORD_COLUMNS} FROM records WHERE id {span} ORDER BY id")
            ).all()
            stored_revisions = connection.execute(
                text(
                    f"SELECT {_REVISION_COLUMNS} FROM record_revisions "
                    f"WHERE record_id {span} ORDER BY record_id"
                )
            ).all()
        rows = [(r[0], _json_text(r[1]), *r[2:]) for r in stored]
        revisions = [(*r[:5], _json_text(r[5])) for r in stored_revisions]
        raw_seconds += _raw_insert(raw, rows, sqlite)
        both_seconds += _raw_insert(raw, rows, sqlite, revisions)
    raw.close()
    done = per_round * rounds
    return {
        "records": done,
        "engine_per_s": done / engine_seconds,
        "raw_per_s": done / raw_seconds,
        "ratio": (done / engine_seconds) / (done / raw_seconds),
        "raw_with_revision_per_s": done / both_seconds,
    }


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else jsoncodec.dumps(value)


def bench_validate(count: int) -> dict[str, Any]:
    """The input pipeline alone, and the validators alone, on the same documents."""
    inst_spec = _spec()
    rng = random.Random(7)
    inputs = [record_data(rng, 1) for _ in range(count)]
    context = EvalContext.current()
    prepared = []
    start = time.perf_counter()
    for data in inputs:
        values, errors = prepare(
            inst_spec, data, current=None, partial=False, defaults={}, context=context
        )
        assert not errors, errors
        prepared.append(values)
    pipeline = count / (time.perf_counter() - start)
    compiled = inst_spec.validator
    start = time.perf_counter()
    for values in prepared:
        assert compiled.is_valid(values)
    rust = count / (time.perf_counter() - start)
    reference = jsonschema.Draft202012Validator(
        inst_spec.data_schema, format_checker=jsonschema.FormatChecker()
    )
    start = time.perf_counter()
    for values in prepared:
        assert reference.is_valid(values)
    python = count / (time.perf_counter() - start)
    return {"pipeline_per_s": pipeline, "jsonschema_rs_per_s": rust, "jsonschema_per_s": python}


def _spec() -> Any:
    from formflow.definitions.spec import compile_spec
    from formflow.fields import field_types

    return compile_spec(BENCH_FORM, field_types, name=FORM)


# -- list ------------------------------------------------------------------------------------


def _documents(inst: Instance, rng: random.Random, templates: int = 500) -> list[dict[str, Any]]:
    """Stored documents made by the engine's own pipeline, to vary per loaded row."""
    spec = _spec()
    context = EvalContext.current()
    out = []
    from formflow.records.prepare import to_document

    for _ in range(templates):
        values, errors = prepare(
            spec,
            record_data(rng, inst.user.id),
            current=None,
            partial=False,
            defaults={},
            context=context,
        )
        assert not errors
        out.append(to_document(spec, values, None, set()))
    return out


def load(inst: Instance, total: int, chunk: int = 20_000) -> int:
    """Bulk-load rows until the form holds ``total`` records; returns seconds taken.

    Each row is an engine-made document with its indexed fields re-drawn, so values spread
    like real data; loading skips the per-record pipeline (measured by ``create``).
    """
    runtime = inst.runtime
    rng = random.Random(total)
    templates = _documents(inst, rng)
    with runtime.read() as work:
        form_id = get_form(work, FORM).form.id
        have = work.session.execute(
            text(f"SELECT COUNT(*) FROM records WHERE form_id = {form_id}")
        ).scalar_one()
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f") if runtime.db.dialect == "sqlite" else now
    start = time.perf_counter()
    raw = _raw_connection(inst)
    sqlite = runtime.db.dialect == "sqlite"
    placeholder = "?" if sqlite else "%s"
    data_param = placeholder if sqlite else "%s::jsonb"
    sql = (
        "INSERT INTO records (form_id, data, form_version, revision, owner_id, created_by, "
        f"created_at, updated_by, updated_at) VALUES ({placeholder}, {data_param}, "
        + ", ".join([placeholder] * 7)
        + ")"
    )
    while have < total:
        size = min(chunk, total - have)
        rows = []
        for _ in range(size):
            document = dict(rng.choice(templates))
            document["status"] = rng.choice(STATUSES)
            document["region"] = rng.choice(REGIONS)
            document["amount"] = Decimal(rng.randint(100, 10_000_000)) / 100
            document["customer"] = f"Customer {rng.randint(1, 50_000):05d}"
            document["signed_on"] = (
                dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 1000))
            ).isoformat()
            rows.append(
                (
                    form_id,
                    jsoncodec.dumps(document),
                    1,
                    1,
                    inst.user.id,
                    inst.user.id,
                    stamp,
                    inst.user.id,
                    stamp,
                )
            )
        if sqlite:
            raw.execute("BEGIN")
            raw.executemany(sql, rows)
            raw.execute("COMMIT")
        else:
            with raw.transaction(), raw.cursor() as cursor:
                cursor.executemany(sql, rows)
        have += size
    if sqlite:
        raw.execute("PRAGMA analysis_limit = 0")
    raw.execute("ANALYZE records")  # as `formflow analyze` (run by the scheduler) does
    raw.close()
    runtime.db.engine.dispose()  # pooled connections reopen with the new statistics
    return round(time.perf_counter() - start)


LIST_CASES = [
    ("status = x, sort amount desc", "status", "eq", "amount", True),
    ("region = x, sort signed_on desc", "region", "eq", "signed_on", True),
    ("amount between x and x+5000, sort amount", "amount", "between", "amount", False),
    ("customer = x, sort _id desc", "customer", "eq", "_id", True),
]


def _value(field: str, rng: random.Random) -> Any:
    if field == "status":
        return rng.choice(STATUSES)
    if field == "region":
        return rng.choice(REGIONS)
    if field == "customer":
        return f"Customer {rng.randint(1, 50_000):05d}"
    low = Decimal(rng.randint(100, 9_990_000)) / 100
    return f"{low},{low + 5000}"


def _raw_sql(form_id: int, field: str, op: str, sort: str, descending: bool, sqlite: bool) -> str:
    def expr(name: str) -> str:
        if name == "_id":
            return "id"
        if sqlite:
            return f"json_extract(data, '$.{name}')"
        return f"CAST(data ->> '{name}' AS NUMERIC)" if name == "amount" else f"(data ->> '{name}')"

    p = "?" if sqlite else "%s"
    condition = f"{expr(field)} BETWEEN {p} AND {p}" if op == "between" else f"{expr(field)} = {p}"
    direction = "DESC" if descending else "ASC"
    nulls = "" if sqlite else (" NULLS LAST" if descending else " NULLS FIRST")
    order = f"{expr(sort)} {direction}{nulls}"
    if sort != "_id":
        order += f", id {direction}"  # ties follow the sort's direction, as the engine's do
    return (
        f"SELECT id, form_id, data, revision FROM records WHERE form_id = {form_id} "
        f"AND deleted_at IS NULL AND {condition} ORDER BY {order} LIMIT 51"
    )


def bench_list(inst: Instance, repeat: int) -> list[dict[str, Any]]:
    runtime = inst.runtime
    sqlite = runtime.db.dialect == "sqlite"
    with runtime.read() as work:
        form_id = get_form(work, FORM).form.id
    raw = _raw_connection(inst)
    results = []
    for label, field, op, sort, descending in LIST_CASES:
        rng = random.Random(label)

        def engine_call(
            field: str = field,
            op: str = op,
            sort: str = sort,
            descending: bool = descending,
            rng: random.Random = rng,
        ) -> None:
            query = Query(
                filters=[Filter(field, op, _value(field, rng))],
                sort=[Sort(sort, descending)],
                limit=50,
            )
            with runtime.read(inst.user) as work:
                loaded = get_form(work, FORM)
                list_records(work, loaded.spec, loaded.form.id, query)

        sql = _raw_sql(form_id, field, op, sort, descending, sqlite)
        raw_rng = random.Random(label)

        def raw_call(
            field: str = field, sql: str = sql, op: str = op, rng: random.Random = raw_rng
        ) -> None:
            value = _value(field, rng)
            params: list[Any] = value.split(",") if op == "between" else [value]
            if op == "between":
                params = [float(p) for p in params] if sqlite else [Decimal(p) for p in params]
            rows = raw.execute(sql, params).fetchall()
            [jsoncodec.loads(r[2]) if isinstance(r[2], str) else r[2] for r in rows]

        engine = latencies(engine_call, repeat)
        baseline = latencies(raw_call, repeat)
        results.append({"case": label, "engine": engine, "raw": baseline})
    raw.close()
    return results


# -- report ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--creates", type=int, default=3000)
    parser.add_argument(
        "--sizes", default="100000,1000000", help="record counts to list at (comma-separated)"
    )
    parser.add_argument("--repeat", type=int, default=200, help="list queries per case")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    results: dict[str, Any] = {"database": "postgresql" if args.database else "sqlite"}
    inst = instance(args.database, BENCH_FORM, FORM)
    print(f"database: {results['database']}  (instance {inst.folder})", flush=True)

    create = bench_create(inst, args.creates)
    results["create"] = create
    print(f"\ncreate, one transaction per record ({create['records']} records):")
    print(f"  engine   {create['engine_per_s']:9.0f} records/s")
    print(f"  raw SQL  {create['raw_per_s']:9.0f} rows/s   engine = {create['ratio']:.2f} of raw")
    both = create["raw_with_revision_per_s"]
    print(
        f"  raw SQL, each row with its revision row  {both:9.0f} rows/s   "
        f"engine = {create['engine_per_s'] / both:.2f} of that"
    )

    validate = bench_validate(2000)
    results["validate"] = validate
    print("\nvalidate a 20-field record with a 5-row subform:")
    print(f"  whole input pipeline      {validate['pipeline_per_s']:9.0f} records/s")
    print(f"  jsonschema-rs (compiled)  {validate['jsonschema_rs_per_s']:9.0f} records/s")
    print(
        f"  jsonschema (pure Python)  {validate['jsonschema_per_s']:9.0f} records/s  "
        f"(compiled = {ratio(validate['jsonschema_rs_per_s'], validate['jsonschema_per_s'])})"
    )

    results["list"] = {}
    for size in [int(s) for s in args.sizes.split(",") if s]:
        seconds = load(inst, size)
        cases = bench_list(inst, args.repeat)
        results["list"][size] = cases
        print(f"\nlist, first page of 50, {size:,} records (loaded in {seconds}s):")
        for case in cases:
            e, r = case["engine"], case["raw"]
            print(
                f"  {case['case']:<42} engine p50 {e['p50_ms']:6.1f} ms  p95 {e['p95_ms']:6.1f} ms"
                f"   | raw SQL p50 {r['p50_ms']:6.1f} ms  p95 {r['p95_ms']:6.1f} ms"
            )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2, default=str)
    inst.runtime.close()


if __name__ == "__main__":
    main()
