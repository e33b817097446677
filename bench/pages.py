"""Page rendering through the whole web stack, each beside the bare template in the same run.

* a 50-field form page (new record) — server time of the request beside rendering the same
  Jinja template with the same context prepared in advance;
* a 50-row list page — likewise;
* the list page at 1,000,000 records for a rep whose permission scope is "own department"
  (p50/p95), beside the same page's SQL hand-written and run on the driver.

Run: ``scripts/bench.sh pages`` (or ``python -m bench.pages --help``).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from typing import Any

from flask import render_template

from bench.harness import instance, latencies
from bench.records import _raw_connection
from formflow import create_app, jsoncodec
from formflow.definitions.service import get_form
from formflow.people import service as people
from formflow.permissions.service import replace_grants

FORM = "bench.wide"
TYPES = [
    "text",
    "number",
    "money",
    "date",
    "select",
    "textarea",
    "boolean",
    "phone",
    "email",
    "percent",
]


def wide_form(fields: int = 50) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for i in range(fields):
        kind = TYPES[i % len(TYPES)]
        prop: dict[str, Any] = {"x-field": kind, "title": f"字段 {i + 1}"}
        prop["type"] = {
            "number": "number",
            "money": "number",
            "percent": "number",
            "boolean": "boolean",
        }.get(kind, "string")
        if kind == "date":
            prop["format"] = "date"
        if kind == "select":
            prop["enum"] = [f"option {n}" for n in range(8)]
        if i == 0:
            prop["x-index"] = True
        properties[f"f{i + 1}"] = prop
    return {
        "title": "Wide form",
        "type": "object",
        "properties": properties,
        "x-form": {"list_columns": [f"f{i + 1}" for i in range(8)]},
    }


def _data(rng: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, kind in enumerate(TYPES * 5):
        key = f"f{i + 1}"
        out[key] = {
            "text": f"text {rng.randint(1, 9999)}",
            "number": rng.randint(1, 999),
            "money": f"{rng.randint(1, 99999)}.50",
            "date": "2026-03-15",
            "select": f"option {rng.randint(0, 7)}",
            "textarea": "a longer note " * 3,
            "boolean": rng.random() < 0.5,
            "phone": "+86 13800138000",
            "email": "buyer@example.com",
            "percent": "0.15",
        }[kind]
    return out


def _timed(client: Any, url: str, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def _template_only(app: Any, client: Any, url: str, repeat: int) -> list[float]:
    """Render the page's template with the context the view produced, captured once."""
    from flask import template_rendered

    captured: dict[str, Any] = {}

    def capture(sender: Any, template: Any, context: dict[str, Any], **extra: Any) -> None:
        if "template" not in captured:
            captured["template"] = template.name
            captured["context"] = dict(context)

    template_rendered.connect(capture, app)
    client.get(url)
    template_rendered.disconnect(capture, app)
    samples = []
    with app.test_request_context(url):
        from flask import g

        g.user = captured["context"].get("g").user if captured["context"].get("g") else None
        for _ in range(repeat):
            start = time.perf_counter()
            render_template(captured["template"], **captured["context"])
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    inst = instance(None, wide_form(), FORM)
    runtime = inst.runtime
    app = create_app(runtime=runtime)
    app.config["WTF_CSRF_ENABLED"] = False  # the bench signs in with a plain POST
    with runtime.write() as work:
        people.set_password(work, work.session.merge(inst.user), "bench password")
    client = app.test_client()
    signed_in = client.post("/login", data={"username": "bench", "password": "bench password"})
    assert signed_in.status_code == 302
    rng = random.Random(1)
    from formflow.records import service as records

    for _ in range(60):
        with runtime.write(inst.user) as work:
            records.create(work, get_form(work, FORM), _data(rng))

    results: dict[str, Any] = {}
    for label, url in (
        ("form page, 50 fields", f"/f/{FORM}/new"),
        ("list page, 50 rows", f"/f/{FORM}/?size=50"),
    ):
        engine = _timed(client, url, args.repeat)
        template = _template_only(app, client, url, args.repeat)
        results[label] = {
            "engine_median_ms": statistics.median(engine),
            "template_median_ms": statistics.median(template),
        }
        print(
            f"{label:<24} request median {statistics.median(engine):6.1f} ms   | the template "
            f"alone, same context: {statistics.median(template):6.1f} ms",
            flush=True,
        )

    results["scoped list"] = _scoped_list(inst, app, args.records, args.repeat)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)
    runtime.close()


def _scoped_list(inst: Any, app: Any, total: int, repeat: int) -> dict[str, Any]:
    """A rep who may see their own department's records, at ``total`` records in all."""
    runtime = inst.runtime
    with runtime.write() as work:
        departments = [people.create_department(work, f"Team {i}").id for i in range(20)]
        rep = people.create_user(work, "rep", password="rep password")
        role = people.ensure_role(work, "sales_rep", "Sales rep")
        people.set_roles(work, rep.id, [role.id])
        people.set_memberships(work, rep.id, [departments[3]])
        loaded = get_form(work, FORM)
        replace_grants(
            work, loaded, [{"role": "sales_rep", "actions": ["view"], "scope": "department"}]
        )
        form_id = loaded.form.id
        template = jsoncodec.dumps(_data(random.Random(2)))
    raw = _raw_connection(inst)
    start = time.perf_counter()
    rng = random.Random(3)
    stamp = "2026-03-16 02:00:00.000000"
    have = 60
    while have < total:
        size = min(20_000, total - have)
        raw.execute("BEGIN")
        raw.executemany(
            "INSERT INTO records (form_id, data, form_version, revision, owner_id,"
            " department_id, created_by, created_at, updated_by, updated_at)"
            " VALUES (?, ?, 1, 1, ?, ?, ?, ?, ?, ?)",
            [
                (
                    form_id,
                    template,
                    inst.user.id,
                    rng.choice(departments),
                    inst.user.id,
                    stamp,
                    inst.user.id,
                    stamp,
                )
                for _ in range(size)
            ],
        )
        raw.execute("COMMIT")
        have += size
    raw.execute("PRAGMA analysis_limit = 0")
    raw.execute("ANALYZE records")
    loaded_in = time.perf_counter() - start
    runtime.db.engine.dispose()
    client = app.test_client()
    signed_in = client.post("/login", data={"username": "rep", "password": "rep password"})
    assert signed_in.status_code == 302
    engine = latencies(lambda: client.get(f"/f/{FORM}/"), repeat)
    sql = (
        f"SELECT id, data FROM records WHERE form_id = {form_id} AND deleted_at IS NULL AND "
        f"department_id IN ({departments[3]}) ORDER BY id DESC LIMIT 26"
    )
    count = (
        f"SELECT COUNT(*) FROM records WHERE form_id = {form_id} AND deleted_at IS NULL AND "
        f"department_id IN ({departments[3]})"
    )

    def hand_written() -> None:
        [jsoncodec.loads(r[1]) for r in raw.execute(sql).fetchall()]
        raw.execute(count).fetchone()

    baseline = latencies(hand_written, repeat)
    raw.close()
    print(
        f"list page, 'own department' scope, {total:,} records (loaded in {loaded_in:.0f}s): "
        f"p50 {engine['p50_ms']:.1f} ms, p95 {engine['p95_ms']:.1f} ms   | its SQL by hand "
        f"(page + count): p50 {baseline['p50_ms']:.1f} ms, p95 {baseline['p95_ms']:.1f} ms",
        flush=True,
    )
    return {"engine": engine, "raw": baseline, "records": total}


if __name__ == "__main__":
    main()
