"""The sales plugin's phone pages through the whole web stack, each beside two baselines
measured in the same run: the page's template rendered alone with the context the view
produced (captured once), and the page's SQL hand-written and run on the driver (rows
fetched and their JSON decoded, nothing rendered).

* the customer page (``/sales/customers/<id>``) of a customer with 500 follow-ups, 50
  opportunities and 100 quotations (plus contacts, contracts and payments, and other reps'
  customers around it), as its rep: p50/p95 of the request;
* the rep's home (``/sales/``) in the demo company at 10× its size (``formflow seed-demo
  --scale 10``: 50,000 customers, 500,000 follow-ups, 15,000 quotations), as the rep with
  the most customers: p50/p95. Seeding that takes a while (about 35 minutes here); the bench
  keeps the seeded instance and ``--seeded <folder> --skip-customer`` measures it again;
  ``--scale`` makes a smaller company.

SQLite. Run: ``python -m bench.sales_pages --json bench/results/sales_pages.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import time
from pathlib import Path
from typing import Any

from flask import render_template, template_rendered
from sqlalchemy import func, select

from bench.harness import Instance, instance, latencies, ratio
from bench.records import _raw_connection
from formflow import Config, Runtime, create_app, jsoncodec
from formflow.apps.files import install
from formflow.automations import files as automation_files
from formflow.automations.triggers import QUIET
from formflow.definitions.service import LoadedForm, get_form
from formflow.flows import files as flow_files
from formflow.people import service as people
from formflow.people.models import User
from formflow.permissions.service import replace_grants
from formflow.records import service as records
from formflow.records.models import Record

APP = "sales_performance"
PASSWORD = "bench password"
OWN = {"actions": ["view", "create", "edit", "delete"], "scope": "own"}
VIEWS = {"actions": ["view"], "scope": "all"}
SALES_FORMS = ("customer", "contact", "follow_up", "opportunity", "quotation", "contract")


def _installed(inst: Instance) -> None:
    runtime = inst.runtime
    [bundle] = [b for b in runtime.plugins.apps() if b.name == APP]
    with runtime.write() as work:
        install(work, bundle.name, bundle.title, bundle.schemas, plugin=bundle.plugin)
        flow_files.install(work, bundle.name, bundle.workflows)
        automation_files.install(work, bundle.name, bundle.workflows)


def _signed_in(app: Any, username: str, password: str) -> Any:
    app.config["WTF_CSRF_ENABLED"] = False  # the bench signs in with a plain POST
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, f"{username} could not sign in"
    return client


def _template_alone(app: Any, client: Any, url: str, repeat: int) -> dict[str, float]:
    """Render the page's template with the context its view produced, captured once."""
    captured: dict[str, Any] = {}

    def capture(sender: Any, template: Any, context: dict[str, Any], **extra: Any) -> None:
        captured.setdefault("template", template.name)
        captured.setdefault("context", dict(context))

    template_rendered.connect(capture, app)
    assert client.get(url).status_code == 200
    template_rendered.disconnect(capture, app)
    context = captured["context"]
    with app.test_request_context(url):
        from flask import g

        g.user = context["g"].user
        return latencies(lambda: render_template(captured["template"], **context), repeat)


def _through_the_app(client: Any, url: str, repeat: int) -> dict[str, float]:
    def get() -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return latencies(get, repeat)


def _report(label: str, engine: dict[str, float], template: dict[str, float], sql: Any) -> None:
    p95 = engine["p95_ms"]
    print(
        f"{label}: p50 {engine['p50_ms']:.1f} ms, p95 {p95:.1f} ms   | its template alone: "
        f"p95 {template['p95_ms']:.1f} ms (page {ratio(p95, template['p95_ms'])})   | its SQL "
        f"by hand: p95 {sql['p95_ms']:.1f} ms (page {ratio(p95, sql['p95_ms'])})",
        flush=True,
    )


def _field(loaded: LoadedForm, key: str) -> str:
    """The SQL of a field's value (SQLite), as the engine's expression indexes have it."""
    return f"json_extract(data, '$.{loaded.spec.by_key[key].id}')"


# -- the customer page -----------------------------------------------------------------------


def customer_page(repeat: int, follow_ups: int, opportunities: int, quotations: int) -> Any:
    inst = instance()
    runtime = inst.runtime
    _installed(inst)
    with runtime.write() as work:
        rep = people.create_user(work, "rep", display_name="李丽", password=PASSWORD)
        other = people.create_user(work, "other", display_name="王强")
        team = people.create_department(work, "华东一组")
        people.set_memberships(work, rep.id, [team.id])
        people.set_memberships(work, other.id, [team.id])
        for form in (*SALES_FORMS, "payment"):
            replace_grants(work, get_form(work, f"{APP}.{form}"), [OWN])
        replace_grants(work, get_form(work, f"{APP}.product"), [VIEWS])
        product = records.create(
            work,
            get_form(work, f"{APP}.product"),
            {
                "name": "路由器",
                "code": "R-1",
                "product_line": "hardware",
                "list_price": "1000",
                "min_price": "800",
            },
        ).id
    rng = random.Random(7)
    start = time.perf_counter()
    customer = _customer_with_history(
        runtime, rep, product, rng, follow_ups, opportunities, quotations
    )
    for n in range(40):  # the neighbours: other customers of the same and another rep
        _customer_with_history(runtime, rep if n % 2 else other, product, rng, 50, 5, 5)
    loaded_in = time.perf_counter() - start

    app = create_app(runtime=runtime)
    client = _signed_in(app, "rep", PASSWORD)
    url = f"/sales/customers/{customer}"
    engine = _through_the_app(client, url, repeat)
    template = _template_alone(app, client, url, repeat)
    sql = _customer_page_sql(inst, rep.id, customer, repeat)
    _report(
        f"customer page, {follow_ups} follow-ups, {opportunities} opportunities, "
        f"{quotations} quotations (made in {loaded_in:.0f}s)",
        engine,
        template,
        sql,
    )
    runtime.close()
    return {
        "engine": engine,
        "template_alone": template,
        "sql_by_hand": sql,
        "follow_ups": follow_ups,
        "opportunities": opportunities,
        "quotations": quotations,
    }


def _customer_with_history(
    runtime: Any,
    owner: Any,
    product: int,
    rng: random.Random,
    follow_ups: int,
    opportunities: int,
    quotations: int,
) -> int:
    """A customer of ``owner`` with its history, created through the record service as the
    owner (validated, formulas computed), the automations quiet."""
    now = runtime.clock()
    with runtime.write(owner) as work:
        work.memo[QUIET] = True
        forms = {name: get_form(work, f"{APP}.{name}") for name in (*SALES_FORMS, "payment")}
        name = f"客户 {rng.randrange(10**9):09d}"
        customer = records.create(work, forms["customer"], {"name": name}).id

        def add(form: str, **data: Any) -> int:
            return records.create(work, forms[form], {"customer": customer, **data}).id

        for n in range(5):
            add("contact", name=f"联系人 {n}", position="采购", phone="13800138000")
        for n in range(follow_ups):
            add(
                "follow_up",
                type=rng.choice(["visit", "call", "demo", "email"]),
                visited_at=(now - dt.timedelta(hours=n * 7 + 1)).isoformat(),
                content="拜访客户，沟通需求与报价，客户希望下周看演示。" * 2,
                location={"lat": "31.2304", "lng": "121.4737", "accuracy": "12"},
            )
        for n in range(opportunities):
            add(
                "opportunity",
                name=f"商机 {n}",
                stage=rng.choice(["initial", "needs", "proposal", "negotiation"]),
                amount=str(rng.randrange(10_000, 900_000)),
            )
        for _ in range(quotations):
            add(
                "quotation",
                lines=[
                    {
                        "product": product,
                        "unit_price": str(rng.randrange(800, 1000)),
                        "quantity": rng.randrange(1, 50),
                    }
                ],
                overall_discount=str(rng.choice(["0", "0.05", "0.1"])),
            )
        for n in range(3):
            contract = add(
                "contract",
                name=f"合同 {n}",
                amount="100000",
                signed_on=(now - dt.timedelta(days=90 * n + 10)).date().isoformat(),
            )
            for half in (1, 2):
                add(
                    "payment",
                    contract=contract,
                    installment=f"第 {half} 期",
                    planned_amount="50000",
                    planned_on=(now - dt.timedelta(days=90 * n - 30 * half)).date().isoformat(),
                )
    return customer


def _customer_page_sql(inst: Instance, rep: int, customer: int, repeat: int) -> dict[str, float]:
    """The customer page's reads written by hand: the customer, then each section's newest
    51 rows of the rep's own, sorted as the page sorts them."""
    with inst.runtime.read() as work:
        forms = {name: get_form(work, f"{APP}.{name}") for name in (*SALES_FORMS, "payment")}
    scope = f"(owner_id = {rep} OR created_by = {rep})"
    statements = [
        f"SELECT id, data FROM records WHERE id = {customer} AND form_id = "
        f"{forms['customer'].form.id} AND deleted_at IS NULL AND {scope}"
    ]
    for form, sort in (
        ("contact", "name"),
        ("follow_up", "visited_at"),
        ("opportunity", None),
        ("quotation", None),
        ("contract", "signed_on"),
        ("payment", "planned_on"),
    ):
        loaded = forms[form]
        order = (
            f"{_field(loaded, sort)} {'ASC' if sort == 'name' else 'DESC'}, id DESC"
            if sort
            else "id DESC"
        )
        statements.append(
            f"SELECT id, data FROM records WHERE form_id = {loaded.form.id} AND deleted_at IS "
            f"NULL AND {scope} AND {_field(loaded, 'customer')} = {customer} "
            f"ORDER BY {order} LIMIT 51"
        )
    return _run_by_hand(inst, statements, repeat)


def _run_by_hand(inst: Instance, statements: list[str], repeat: int) -> dict[str, float]:
    raw = _raw_connection(inst)

    def run() -> None:
        for statement in statements:
            [jsoncodec.loads(row[1]) for row in raw.execute(statement).fetchall()]

    try:
        return latencies(run, repeat)
    finally:
        raw.close()


# -- the rep's home at 10× the demo ----------------------------------------------------------


def rep_home(repeat: int, scale: float, seeded: Path | None = None) -> Any:
    """The home of the rep with the most customers, in a demo company seeded now (or, with
    ``seeded``, in an instance folder this bench seeded before: it says where it keeps it)."""
    from sales_performance.demo import CUSTOMERS, DEMO_PASSWORD, seed_demo

    seeded_in = None
    if seeded is None:
        inst = instance()
        _installed(inst)
        start = time.perf_counter()
        seed_demo(inst.runtime, scale=scale, progress=lambda line: print(line, flush=True))
        seeded_in = time.perf_counter() - start
        print(f"  seeded instance kept in {inst.folder} (--seeded reuses it)", flush=True)
    else:
        config = Config(instance_path=seeded, database_url=f"sqlite:///{seeded / 'bench.db'}")
        inst = Instance(Runtime(config), None, seeded)
    runtime = inst.runtime
    with runtime.read() as work:
        forms = {name: get_form(work, f"{APP}.{name}") for name in ("customer", "quotation")}
        forms["follow_up"] = get_form(work, f"{APP}.follow_up")
        counts = {name: records.count(work, loaded.form.id) for name, loaded in forms.items()}
        busiest, owned = work.session.execute(
            select(Record.owner_id, func.count())
            .where(Record.form_id == forms["customer"].form.id, Record.deleted_at.is_(None))
            .group_by(Record.owner_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        username = work.session.get(User, busiest).username
    scale = counts["customer"] / CUSTOMERS
    runtime.db.engine.dispose()
    raw = _raw_connection(inst)
    raw.execute("PRAGMA analysis_limit = 1000")
    raw.execute("ANALYZE")
    raw.close()

    app = create_app(runtime=runtime)
    client = _signed_in(app, username, DEMO_PASSWORD)
    engine = _through_the_app(client, "/sales/", repeat)
    template = _template_alone(app, client, "/sales/", repeat)
    sql = _home_sql(inst, busiest, repeat)
    made = f"seeded in {seeded_in:.0f}s" if seeded_in is not None else f"seeded before, {seeded}"
    _report(
        f"rep home, demo at {scale:g}× ({counts['customer']:,} customers, "
        f"{counts['follow_up']:,} follow-ups, {counts['quotation']:,} quotations; the rep owns "
        f"{owned:,} customers; {made})",
        engine,
        template,
        sql,
    )
    runtime.close()
    return {
        "engine": engine,
        "template_alone": template,
        "sql_by_hand": sql,
        "scale": scale,
        "counts": counts,
        "rep_customers": owned,
    }


def _home_sql(inst: Instance, rep: int, repeat: int) -> dict[str, float]:
    """The home's reads written by hand: today's and overdue customers of the rep, their
    open quotations with whom each approval waits on, those quotations' customers' names,
    and the rep's customers by name for the picker."""
    from zoneinfo import ZoneInfo

    runtime = inst.runtime
    with runtime.read() as work:
        customer = get_form(work, f"{APP}.customer")
        quotation = get_form(work, f"{APP}.quotation")
        zone = ZoneInfo(runtime.config.timezone)
    today = runtime.clock().astimezone(zone).date()
    start = dt.datetime.combine(today, dt.time.min, tzinfo=zone).astimezone(dt.UTC)
    end = start + dt.timedelta(days=1)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    scope = f"(owner_id = {rep} OR created_by = {rep})"
    mine = f"form_id = {{form}} AND deleted_at IS NULL AND {scope} AND owner_id = {rep}"
    planned = _field(customer, "next_follow_up_at")
    status = _field(quotation, "status")
    open_ = "'draft', 'pricing', 'in_approval', 'approved', 'rejected', 'sent'"
    raw = _raw_connection(inst)
    quotes_sql = (
        f"SELECT id, data FROM records WHERE {mine.format(form=quotation.form.id)} AND "
        f"{status} IN ({open_}) ORDER BY id DESC LIMIT 51"
    )
    customers_sql = "SELECT id, data FROM records WHERE {where} ORDER BY {order} LIMIT {limit}"
    approvals_sql = (
        "SELECT i.record_id, i.id, i.state, t.node_id, u.display_name FROM flow_instances i "
        "LEFT JOIN flow_tasks t ON t.instance_id = i.id AND t.state = 'pending' "
        "LEFT JOIN users u ON u.id = t.assignee_id WHERE i.record_id IN ({ids}) "
        "ORDER BY i.id, t.id"
    )
    customer_rows = mine.format(form=customer.form.id)
    name = _field(customer, "name")
    picker_sql = (  # the picker reads two columns, not the documents
        f"SELECT id, {name} FROM records WHERE {customer_rows} ORDER BY {name}, id LIMIT 500"
    )

    def run() -> None:
        for where, order, limit in (
            (
                f"{customer_rows} AND {planned} >= '{start.strftime(iso)}' AND "
                f"{planned} < '{end.strftime(iso)}'",
                f"{planned} ASC, id DESC",
                51,
            ),
            (
                f"{customer_rows} AND {planned} < '{start.strftime(iso)}' AND "
                f"({_field(customer, 'status')} != 'lost' OR {_field(customer, 'status')} IS NULL)",
                f"{planned} DESC, id DESC",
                51,
            ),
        ):
            sql = customers_sql.format(where=where, order=order, limit=limit)
            [jsoncodec.loads(row[1]) for row in raw.execute(sql).fetchall()]
        raw.execute(picker_sql).fetchall()
        quotes = [(row[0], jsoncodec.loads(row[1])) for row in raw.execute(quotes_sql)]
        ids = ",".join(str(i) for i, _ in quotes) or "0"
        raw.execute(approvals_sql.format(ids=ids)).fetchall()
        linked = {data.get(quotation.spec.by_key["customer"].id) for _, data in quotes} - {None}
        named = ",".join(str(int(i)) for i in linked) or "0"
        raw.execute(
            f"SELECT id, data FROM records WHERE id IN ({named}) AND "
            f"form_id = {customer.form.id} AND deleted_at IS NULL AND {scope}"
        ).fetchall()

    try:
        return latencies(run, repeat)
    finally:
        raw.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--follow-ups", type=int, default=500)
    parser.add_argument("--opportunities", type=int, default=50)
    parser.add_argument("--quotations", type=int, default=100)
    parser.add_argument("--scale", type=float, default=10.0, help="of the demo company")
    parser.add_argument(
        "--seeded", type=Path, help="an instance folder this bench seeded before (skips seeding)"
    )
    parser.add_argument("--skip-customer", action="store_true", help="only the rep's home")
    parser.add_argument("--skip-home", action="store_true", help="only the customer page")
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    results: dict[str, Any] = {}
    if not args.skip_customer:
        results["customer page"] = customer_page(
            args.repeat, args.follow_ups, args.opportunities, args.quotations
        )
    if not args.skip_home:
        results["rep home"] = rep_home(args.repeat, args.scale, args.seeded)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
