"""The shipped sales overview dashboard (11 charts: four number cards with the period
before, a gauge, a line, a funnel, a bar and three charts over the plugin's data sources)
at the demo's 10× scale, each figure beside a baseline measured in the same run.

* **Each chart** (``chart_result`` with the cache off, one unit of work per call, as the
  VP, who sees everything): a form chart beside the same aggregate written by hand as one
  SQL statement and run on the driver (a number card's baseline also runs the period
  before, as the card does). The three source charts (the top signers, the top KPI
  scores, the reps trailing their targets) and the company gauge are computed by the
  plugin's targets, measures and scorecards; their baseline is the one hand-written query
  of every per-person aggregate the month's scorecards read (``bench.sales_performance``).
  Before timing, each form chart's numbers are checked equal to its baseline's, and the
  top signers' amounts to the baseline's per-person signed amounts (credit splits
  included).
* **Time to all data**: the dashboard page (``GET /dashboards/sales_performance.overview``
  through the Flask app, signed in, every chart's data computed and the page rendered) as
  the VP and as a team manager (whose charts count only their team's records), with the
  result cache emptied before every call (*cold*) and kept (*warm*: the cache is checked
  against each form's data version, three index lookups a form, so it is never stale).
  Baseline: every hand-written query above in sequence, for the manager with the same
  row scope in ``WHERE``.

The period is October 2026, the last whole month of the loaded history (``--period year``:
the year 2026 so far, ten months of records). Calls alternate with their baseline's (two
warm-up calls each, then ``--repeat``); the report gives p50 and p95 wall times and their
ratio.

**Data**: ``bench.sales_performance``'s loader (the demo company's organisation and 10× its
records: 50,000 customers, 500,000 follow-ups, 30,000 opportunities, 20,000 contracts and
their payments), its KPI plans and targets; then the shipped dashboards are installed, the
demo's grants given, and the yearly copies of the KPI plans that bench adds switched off,
so the plans are the shipped monthly ones (with them on, a month's view also scores each
rep's year, which a dashboard includes as the plan period the month touches).

Run: ``python -m bench.dashboards --scale 10 --json bench/results/dashboards.json``
(``--reuse FOLDER`` measures an SQLite instance ``bench.sales_performance`` loaded before;
``--postgres`` starts a throwaway PostgreSQL server).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench import sales_performance as sales
from bench.harness import Instance, instance, percentile, ratio
from bench.records import _raw_connection
from formflow import Config, Runtime, create_app
from formflow.automations.triggers import QUIET
from formflow.dashboards import files as dashboard_files
from formflow.dashboards import service as dashboards
from formflow.dashboards.charts import chart_result
from formflow.dashboards.compile import Filters
from formflow.dashboards.periods import Range
from formflow.migrations import upgrade
from formflow.people import service as people
from formflow.people.models import User
from formflow.records.service import update_record

DASHBOARD = "sales_performance.overview"
PASSWORD = "bench password"
VIEWERS = ("vp", "manager1")
PERIODS = {
    "month": (dt.date(2026, 10, 1), dt.date(2026, 11, 1)),
    "year": (dt.date(2026, 1, 1), dt.date(2027, 1, 1)),
}
CHART_DATA = re.compile(r'<script type="application/json">(.*?)</script>', re.S)
SOURCE_BASELINE = "the month's per-person aggregates (one hand-written query)"


# -- the instance ----------------------------------------------------------------------------


def prepare(inst: Instance) -> None:
    """Migrate (a reused instance may predate the dashboards), install the shipped
    dashboards, give the demo's grants and let the viewers sign in."""
    from sales_performance.demo import _grant
    from sales_performance.kpi.plans import DEFAULT_PLANS, all_plans, plan_form

    runtime = inst.runtime
    upgrade(runtime.db.engine)
    [bundle] = [b for b in runtime.plugins.apps() if b.name == sales.APP]
    shipped = {plan["name"] for plan in DEFAULT_PLANS}
    with runtime.write() as work:
        work.memo[QUIET] = True
        people.ensure_role(work, "hr", "人力")
        _grant(work)
        for plan in all_plans(work):  # as shipped: bench.sales_performance's yearly copies off
            if plan.name not in shipped:
                update_record(work, plan_form(work), plan.id, {"active": False}, revision=None)
        dashboard_files.install(work, bundle.name, bundle.dashboards)
        for user in work.session.scalars(select(User).where(User.username.in_(VIEWERS))):
            people.set_password(work, user, PASSWORD)


# -- the baselines ---------------------------------------------------------------------------


@dataclass
class Query:
    sql: str
    params: list[Any]
    money: tuple[int, ...]  # result columns in cents on SQLite
    keys: int = 0  # leading columns that are a group's key (the rest are measures)

    def run(self, raw: Any) -> list[tuple[Any, ...]]:
        return list(raw.execute(self.sql, self.params).fetchall())


class Baselines:
    """The overview's form charts, each as one hand-written statement over ``records``."""

    def __init__(self, forms: dict[str, sales.Form], sql: sales.Sql, scope: str) -> None:
        self.forms, self.sql, self.scope = forms, sql, scope

    def week(self, expression: str) -> str:
        if self.sql.sqlite:  # the Monday of the ISO week
            return (
                f"date({expression}, '-' || ((CAST(strftime('%w', {expression}) AS INTEGER) "
                "+ 6) % 7) || ' days')"
            )
        return f"CAST(date_trunc('week', CAST({expression} AS date)) AS date)"

    def query(self, form: str, select_: str, where: list[str], params: list[Any], *,
              money: tuple[int, ...] = (), group: str = "") -> Query:  # fmt: skip
        f = self.forms[form]
        clauses = [self.sql.live(f), *where] + ([self.scope] if self.scope else [])
        text = f"SELECT {select_} FROM records WHERE {' AND '.join(clauses)}"
        if group:
            text += f" GROUP BY {group}"
        return Query(text, params, money, keys=1 if group else 0)

    def chart(self, chart_id: str, span: tuple[dt.date, dt.date]) -> Query:
        s, p, forms = self.sql, self.sql.p, self.forms
        c, pay, o, f = forms["contract"], forms["payment"], forms["opportunity"], forms["follow_up"]
        zone = f.loaded.spec.timezone
        bounds = sales._bounds(Range(*span), zone, s.sqlite)
        days = list(bounds["day"])

        def within(expression: str, kind: str = "day") -> str:
            return f"{expression} >= {p} AND {expression} < {p}"

        signed = [f"{s.field(c, 'status')} = 'signed'", within(s.field(c, "signed_on"))]
        if chart_id == "signed":
            amount = s.cents(s.field(c, "amount", "number"))
            return self.query("contract", f"SUM({amount}), COUNT(*)", signed, days, money=(0,))
        if chart_id == "collected":
            got = s.cents(s.field(pay, "actual_amount", "number"))
            where = [within(s.field(pay, "received_on"))]
            return self.query("payment", f"SUM({got}), COUNT(*)", where, days, money=(0,))
        if chart_id == "new_opportunities":
            amount = s.cents(s.field(o, "amount", "number"))
            where = [within("records.created_at")]
            params = list(bounds["created"])
            return self.query("opportunity", f"COUNT(*), SUM({amount})", where, params, money=(1,))
        if chart_id == "visits":
            where = [f"{s.field(f, 'type')} = 'visit'", within(s.field(f, "visited_at"))]
            return self.query("follow_up", "COUNT(*)", where, list(bounds["moment"]))
        if chart_id == "signed_by_week":
            week = self.week(s.field(c, "signed_on"))
            amount = s.cents(s.field(c, "amount", "number"))
            return self.query(
                "contract", f"{week}, SUM({amount})", signed, days, money=(1,), group="1"
            )
        if chart_id == "pipeline":
            stage = s.field(o, "stage")
            closing = within(s.field(o, "expected_close"))
            where = [f"({stage} != 'lost' OR {stage} IS NULL)", closing]
            amount = s.cents(s.field(o, "amount", "number"))
            return self.query(
                "opportunity", f"{stage}, COUNT(*), SUM({amount})", where, days,
                money=(2,), group="1",
            )  # fmt: skip
        if chart_id == "planned_vs_collected":
            week = self.week(s.field(pay, "planned_on"))
            planned = s.cents(s.field(pay, "planned_amount", "number"))
            got = s.cents(s.field(pay, "actual_amount", "number"))
            where = [within(s.field(pay, "planned_on"))]
            return self.query(
                "payment", f"{week}, SUM({planned}), SUM({got})", where, days,
                money=(1, 2), group="1",
            )  # fmt: skip
        raise KeyError(chart_id)


def _scope(work: Any, username: str) -> str:
    """The row scope of a viewer as the demo's grants give it, written by hand: all for the
    VP; a manager's own records and their departments' subtree."""
    user = work.session.scalar(select(User).where(User.username == username))
    if username == "vp":
        return ""
    _, member_of = people.roles_and_departments(work, user.id)
    tree = sorted(people.departments_below(work, set(member_of)))
    return (
        f"(records.owner_id = {user.id} OR records.created_by = {user.id} OR "
        f"records.department_id IN ({', '.join(map(str, tree))}))"
    )


def _number(value: Any, cents: bool) -> Decimal:
    if value is None:
        return Decimal(0)
    found = Decimal(str(value))
    return (found / 100 if cents else found).normalize()


def baseline_rows(query: Query, rows: list[tuple[Any, ...]], sqlite: bool) -> set[tuple]:
    return {
        tuple(
            str(v) if i < query.keys else _number(v, sqlite and i in query.money)
            for i, v in enumerate(row)
        )
        for row in rows
    }


def engine_rows(result: dict[str, Any]) -> set[tuple]:
    return {(*row["keys"], *(_number(v, False) for v in row["values"])) for row in result["rows"]}


# -- measuring -------------------------------------------------------------------------------


def paired(engine: Callable[[], Any], baseline: Callable[[], Any], repeat: int) -> tuple:
    """p50/p95 wall times of both, their calls alternating after two warm-up calls each."""
    wall: tuple[list[float], list[float]] = ([], [])
    for n in range(repeat + 2):
        for i, run in enumerate((engine, baseline)):
            start = time.perf_counter()
            run()
            if n >= 2:
                wall[i].append((time.perf_counter() - start) * 1000)
    return tuple(
        {"p50_ms": percentile(w, 0.5), "p95_ms": percentile(w, 0.95), "max_ms": max(w)}
        for w in wall
    )


def measure(inst: Instance, period: str, repeat: int) -> list[dict[str, Any]]:
    runtime = inst.runtime
    sql = sales.Sql(runtime.db.dialect)
    span = PERIODS[period]
    filters = Filters(period=Range(*span))
    raw = _raw_connection(inst)
    with runtime.read() as work:
        forms = {name: sales.Form.of(work, name) for name in
                 ("customer", "follow_up", "opportunity", "contract", "payment")}  # fmt: skip
        users = {u.username: u for u in work.session.scalars(
            select(User).where(User.username.in_(VIEWERS)))}  # fmt: skip
        scopes = {name: _scope(work, name) for name in VIEWERS}
        spec = dashboards.viewable(work, DASHBOARD)[1]
    per_person = sales.baseline_query(forms, sql, Range(*span), incentives=False)
    previous = Range(*span).previous()
    out: list[dict[str, Any]] = []

    def report(name: str, engine: dict, baseline: dict, note: str, **extra: Any) -> None:
        share = engine["p50_ms"] / baseline["p50_ms"]
        out.append({"figure": name, "engine": engine, "baseline": baseline, "ratio": share,
                    "note": note, **extra})  # fmt: skip
        print(
            f"  {name:<42} p50 {engine['p50_ms']:8.1f} ms  p95 {engine['p95_ms']:8.1f} ms  "
            f"beside {baseline['p50_ms']:7.1f} ms ({ratio(engine['p50_ms'], baseline['p50_ms'])})",
            flush=True,
        )

    def baselines_for(viewer: str) -> list[tuple[str, Callable[[], Any]]]:
        made = Baselines(forms, sql, scopes[viewer])
        found: list[tuple[str, Callable[[], Any]]] = []
        for chart in spec.charts:
            if chart.source:
                continue
            query = made.chart(chart.id, span)
            runs = [query]
            if chart.type == "number" and chart.compare:
                runs.append(made.chart(chart.id, (previous.start, previous.end)))
            found.append((chart.id, lambda runs=runs: [q.run(raw) for q in runs]))
        found.append(("per-person", lambda: sales.run_baseline(raw, per_person)))
        return found

    try:
        vp = users["vp"]
        made = Baselines(forms, sql, scopes["vp"])
        people_numbers = sales.Numbers.of(sales.run_baseline(raw, per_person), sql.sqlite)
        for i, chart in enumerate(spec.charts):

            def engine(chart: Any = chart, i: int = i) -> dict[str, Any]:
                with runtime.read(actor=vp) as work:
                    return chart_result(
                        work, chart, filters, language="zh-CN", where=f"charts[{i}]",
                        cache=False,
                    )  # fmt: skip

            result = engine()
            assert result["error"] is None, result["error"]
            if chart.source:
                checked = _check_source(chart.id, result, people_numbers)

                def base() -> Any:
                    return sales.run_baseline(raw, per_person)

                note = SOURCE_BASELINE
            else:
                query = made.chart(chart.id, span)
                want = baseline_rows(query, query.run(raw), sql.sqlite)
                assert engine_rows(result) == want, (chart.id, engine_rows(result), want)
                checked = len(want)
                runs = [query]
                if chart.type == "number" and chart.compare:
                    runs.append(made.chart(chart.id, (previous.start, previous.end)))

                def base(runs: list[Query] = runs) -> Any:
                    return [q.run(raw) for q in runs]

                note = "the same aggregate, hand-written"
            engine_t, base_t = paired(engine, base, repeat)
            report(f"chart {chart.id} ({chart.type})", engine_t, base_t, note, checked=checked)

        app = create_app(runtime=runtime)
        app.config["WTF_CSRF_ENABLED"] = False
        query_string = f"period=custom&from={span[0]}&to={span[1] - dt.timedelta(days=1)}"
        for viewer in VIEWERS:
            client = app.test_client()
            answer = client.post("/login", data={"username": viewer, "password": PASSWORD})
            assert answer.status_code == 302, f"{viewer} could not sign in"
            url = f"/dashboards/{DASHBOARD}?{query_string}"
            everything = baselines_for(viewer)

            def all_baselines(everything: Any = everything) -> Any:
                return [run() for _, run in everything]

            for cold in (True, False):

                def page(cold: bool = cold, url: str = url, client: Any = client) -> None:
                    if cold:
                        runtime.charts.clear()
                    response = client.get(url)
                    assert response.status_code == 200, response.status_code
                    shown = [json.loads(c) for c in CHART_DATA.findall(response.text)]
                    assert len(shown) == len(spec.charts), "a chart is missing"
                    assert not [c["error"] for c in shown if c["error"]], url

                engine_t, base_t = paired(page, all_baselines, repeat)
                report(
                    f"page, all data, {viewer}, {'cold' if cold else 'warm'} cache",
                    engine_t, base_t,
                    "every hand-written query above in sequence, in the viewer's row scope",
                )  # fmt: skip
    finally:
        raw.close()
    return out


def _check_source(chart_id: str, result: dict[str, Any], numbers: sales.Numbers) -> int:
    """The top signers' amounts are the people's signed amounts (credit splits included)."""
    if chart_id != "top_signers":
        return 0
    rows = result["rows"]
    for row in rows:
        member = int(row["keys"][0])
        want = numbers.of_person("contract_amount", member).quantize(Decimal("0.01"))
        assert Decimal(row["values"][0]) == want, (member, row["values"][0], want)
    amounts = numbers.measures["contract_amount"].values()
    ranked = sorted((a.quantize(Decimal("0.01")) for a in amounts), reverse=True)[: len(rows)]
    assert [Decimal(r["values"][0]) for r in rows] == ranked
    return len(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=10.0, help="of the demo's record counts")
    parser.add_argument("--repeat", type=int, default=10, help="timed calls per figure")
    parser.add_argument("--period", choices=sorted(PERIODS), default="month")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL")
    parser.add_argument("--reuse", type=Path, help="an SQLite instance folder loaded before")
    args = parser.parse_args(argv)

    server = None
    try:
        if args.reuse:  # a copy: this bench changes grants and plans
            folder = Path(tempfile.mkdtemp(prefix="formflow-bench-"))
            shutil.copyfile(args.reuse / "bench.db", folder / "bench.db")
            url = f"sqlite:///{folder / 'bench.db'}"
            inst = Instance(Runtime(Config(instance_path=folder, database_url=url)), None,
                            folder)  # fmt: skip
            made = json.loads((args.reuse / "sales_performance.json").read_text())
            print(f"reusing {args.reuse} (loaded at scale {made['scale']:g})", flush=True)
        else:
            url = None
            if args.postgres:
                url, server = sales._postgres()
            inst = instance(url)
            print(f"loading the demo company at {args.scale:g}× ({inst.folder})", flush=True)
            made = {"scale": args.scale, **sales.setup(inst, args.scale, print)}
            (inst.folder / "sales_performance.json").write_text(json.dumps(made, indent=2))
        prepare(inst)
        dialect = inst.runtime.db.dialect
        print(f"measuring on {dialect}, period {args.period} ({args.repeat} calls each)")
        results = measure(inst, args.period, args.repeat)
        inst.runtime.close()
    finally:
        if server is not None:
            server.stop()
        if args.reuse:
            shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                {
                    "database": dialect,
                    "commit": sales._commit(),
                    "period": args.period,
                    "setup": made,
                    "figures": results,
                },
                out,
                indent=2,
                default=str,
            )


if __name__ == "__main__":
    main()
