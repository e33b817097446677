"""The performance pages, phone first: my targets, my scorecard, my bonus — each number with
the arithmetic and the records behind it — and, for managers and finance, the team's.

- ``/sales/performance``: this month's progress against my targets beside the time gone,
  my KPI score so far, my payout so far, and the what-if estimator; a manager also sees
  each person they manage.
- ``/sales/targets`` and ``/sales/targets/<id>``: progress by level; a target's split into
  children with the largest-remainder steps, and (for its manager) override and decompose.
- ``/sales/kpi/<period>/<member>``: a scorecard line by line, each metric's records one tap
  away, and the appeal form on a published one.
- ``/sales/bonus`` and ``/sales/bonus/<id>``: statements, their lines and records, the run,
  submission to approval and the payroll export (finance, HR, admins).

The pages call the same services as the REST API, as the signed-in user: a page shows only
what that person may see, and every refusal is the service's own message.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for

from formflow.definitions.service import get_form
from formflow.errors import FormflowError
from formflow.people import service as people
from formflow.records import service as records
from formflow.records.prepare import from_document
from formflow.runtime import Work
from formflow.web.session import current_user, login_required, read, write

from . import org
from .explanations import show
from .functions import local_today
from .incentives import estimate as estimator
from .incentives import export as payroll
from .incentives import statements
from .incentives.compute import compute, parse_records
from .kpi import scorecards
from .periods import Period
from .split import format_percent
from .targets import progress, tree
from .web import APP, WORDS, blueprint, reader_language, say

WORDS.update(
    {
        "My performance": {"zh-CN": "我的业绩"},
        "Targets": {"zh-CN": "销售目标"},
        "Scorecard": {"zh-CN": "考核"},
        "Scorecards": {"zh-CN": "考核结果"},
        "Bonus": {"zh-CN": "奖金"},
        "Bonus statements": {"zh-CN": "奖金单"},
        "Target": {"zh-CN": "目标"},
        "Actual": {"zh-CN": "实际"},
        "Attainment": {"zh-CN": "达成率"},
        "Time gone": {"zh-CN": "时间进度"},
        "Forecast": {"zh-CN": "预测"},
        "Trailing": {"zh-CN": "落后"},
        "Score": {"zh-CN": "得分"},
        "Weight": {"zh-CN": "权重"},
        "Grade": {"zh-CN": "等级"},
        "How": {"zh-CN": "计算过程"},
        "Records": {"zh-CN": "依据记录"},
        "Live": {"zh-CN": "实时"},
        "Published": {"zh-CN": "已发布"},
        "Payout so far": {"zh-CN": "当前奖金"},
        "What if I close…": {"zh-CN": "如果我拿下……"},
        "Estimate": {"zh-CN": "估算"},
        "Now": {"zh-CN": "现在"},
        "Then": {"zh-CN": "之后"},
        "My team": {"zh-CN": "我的团队"},
        "No targets for this period.": {"zh-CN": "本期没有目标。"},
        "No scorecard for this period.": {"zh-CN": "本期没有考核。"},
        "No statements for this period.": {"zh-CN": "本期没有奖金单。"},
        "Appeal this metric": {"zh-CN": "对此指标申诉"},
        "Why": {"zh-CN": "理由"},
        "Score asked for": {"zh-CN": "申请得分"},
        "Send the appeal": {"zh-CN": "提交申诉"},
        "Appeal sent to your manager.": {"zh-CN": "申诉已提交给上级。"},
        "Split": {"zh-CN": "分解"},
        "Split into": {"zh-CN": "分解为"},
        "By period": {"zh-CN": "按时间"},
        "Over the organisation": {"zh-CN": "按组织"},
        "Weights": {"zh-CN": "权重"},
        "Replace the current split": {"zh-CN": "替换现有分解"},
        "Change this target": {"zh-CN": "调整此目标"},
        "Reason": {"zh-CN": "原因"},
        "Save": {"zh-CN": "保存"},
        "Saved.": {"zh-CN": "已保存。"},
        "Sent for approval.": {"zh-CN": "已提交审批。"},
        "Run the period": {"zh-CN": "计算本期奖金"},
        "Send for approval": {"zh-CN": "提交审批"},
        "Export for payroll": {"zh-CN": "导出工资表"},
        "Total": {"zh-CN": "合计"},
        "Period": {"zh-CN": "期间"},
        "Show": {"zh-CN": "查看"},
        "Pick the opportunities you expect to close this period.": {
            "zh-CN": "选择你预计本期拿下的商机。"
        },
        "You have no open opportunities.": {"zh-CN": "你没有进行中的商机。"},
        "Adjusts statement #%(id)s": {"zh-CN": "调整奖金单 #%(id)s"},
        "Computed on": {"zh-CN": "计算依据"},
        "status:draft": {"zh-CN": "草稿", "en": "Draft"},
        "status:in_approval": {"zh-CN": "审批中", "en": "In approval"},
        "status:approved": {"zh-CN": "已批准", "en": "Approved"},
        "status:rejected": {"zh-CN": "已驳回", "en": "Rejected"},
        "status:superseded": {"zh-CN": "已作废", "en": "Superseded"},
    }
)

MONEY_MEASURES = ("money",)


def money(value: Any) -> str:
    if value in (None, ""):
        return ""
    return f"{Decimal(str(value)).quantize(Decimal('0.01')):,}"


def percent(value: Any) -> str:
    if value in (None, ""):
        return "—"
    return format_percent(Decimal(str(value)))


@blueprint.app_template_filter("perf_money")
def _money_filter(value: Any) -> str:
    return money(value)


@blueprint.app_template_filter("perf_percent")
def _percent_filter(value: Any) -> str:
    return percent(value)


@blueprint.app_template_filter("explain")
def _explain_filter(value: Any) -> str:
    """An explanation (computed, or stored on a statement or scorecard) in the reader's
    language; one stored before explanations were bilingual reads as it was stored."""
    return show(value, reader_language())


def _period(kind: str = "month", key: str | None = None) -> Period:
    try:
        return Period.parse(key) if key else Period.containing(kind, _today())
    except ValueError:
        abort(400)


def _today() -> dt.date:
    with read() as work:
        return local_today(work)


def _fail(error: FormflowError) -> int:
    """Say what went wrong above the page (its status: 400, or stop at 403/404 — a refusal
    is not a form to correct)."""
    if error.status in (403, 404):
        abort(error.status)
    for problem in error.errors:
        flash(f"{problem.field}: {problem.message}" if problem.field else problem.message, "error")
    return error.status


# -- my performance ---------------------------------------------------------------------------


@blueprint.get("/performance")
@login_required
def performance() -> Any:
    me = current_user()
    assert me is not None
    period = _period("month", request.args.get("period"))
    with read() as work:
        today = local_today(work)
        rows = [p for p in progress.progress(work, period.key, today=today)]
        mine = [p for p in rows if p.target.level == "rep" and p.target.member == me.id]
        cards = scorecards.scorecards(work, period.key, live=True)
        card = next((c for c in cards if c.member == me.id), None)
        mine_paid = compute(work, period, members={me.id})
        team = sorted(org.headed_by(work, me.id))
        team_cards = [c for c in cards if c.member != me.id] if team else []
        team_rows = [p for p in rows if p.target.member != me.id] if team else []
        names = people.display_names(work, {c.member for c in team_cards} | {me.id})
    return render_template(
        "sales_performance/performance.html",
        period=period,
        previous=period.previous(),
        mine=mine,
        card=card,
        paid=mine_paid,
        payout=sum((s.total for s in mine_paid), Decimal("0.00")),
        team_cards=team_cards,
        team_rows=team_rows,
        names=names,
    )


# -- targets ----------------------------------------------------------------------------------


@blueprint.get("/targets")
@login_required
def targets() -> Any:
    period = _period("month", request.args.get("period"))
    level = request.args.get("level") or None
    with read() as work:
        rows = progress.progress(work, period.key, level=level)
        names = people.display_names(work, {p.target.member for p in rows if p.target.member})
    order = {name: i for i, name in enumerate(tree.LEVELS)}
    rows.sort(key=lambda p: (order.get(p.target.level, 9), p.target.name))
    return render_template(
        "sales_performance/targets.html", period=period, rows=rows, names=names, level=level
    )


@blueprint.route("/targets/<int:target_id>", methods=["GET", "POST"])
@login_required
def target(target_id: int) -> Any:
    status = 200
    if request.method == "POST":
        try:
            with write() as work:
                if request.form.get("action") == "override":
                    result = tree.override(
                        work,
                        target_id,
                        request.form.get("amount", ""),
                        reason=request.form.get("reason") or None,
                    )
                    if "adjustment" in result:
                        flash(say("Sent for approval."))
                else:
                    weights = [
                        w.strip() for w in request.form.get("weights", "").split(",") if w.strip()
                    ]
                    tree.decompose(
                        work,
                        target_id,
                        by=request.form.get("by", "period"),
                        into=request.form.get("into") or None,
                        method=request.form.get("method", "equal"),
                        weights=weights or None,
                        replace=bool(request.form.get("replace")),
                    )
            return redirect(url_for("sales.target", target_id=target_id))
        except FormflowError as error:
            status = _fail(error)
    try:
        with read() as work:
            root = tree.tree(work, target_id)
            steps = tree.explain_split(work, target_id)
            today = local_today(work)
            state = progress.progress_of(work, root, today)
            children = {c.id: progress.progress_of(work, c, today) for c in root.children}
            manages = org.may_manage(work, root.department, root.member)
            names = people.display_names(
                work, {t.member for t in [root, *root.children] if t.member is not None}
            )
    except FormflowError as error:
        abort(error.status)
    return render_template(
        "sales_performance/target.html",
        root=root,
        steps=steps,
        state=state,
        children=children,
        manages=manages,
        names=names,
    ), status


# -- scorecards -------------------------------------------------------------------------------


@blueprint.get("/kpi")
@login_required
def kpi() -> Any:
    period = _period("month", request.args.get("period"))
    with read() as work:
        cards = scorecards.scorecards(work, period.key)
        names = people.display_names(work, {c.member for c in cards})
    return render_template("sales_performance/kpi.html", period=period, cards=cards, names=names)


@blueprint.route("/kpi/<period_key>/<int:member>", methods=["GET", "POST"])
@login_required
def scorecard(period_key: str, member: int) -> Any:
    period = _period(key=period_key)
    status = 200
    if request.method == "POST":
        try:
            with write() as work:
                records.create(
                    work,
                    get_form(work, f"{APP}.kpi_appeal"),
                    {
                        "result": request.form.get("result", type=int),
                        "metric": request.form.get("metric"),
                        "comment": request.form.get("comment"),
                        "proposed_score": request.form.get("proposed_score") or None,
                    },
                )
            flash(say("Appeal sent to your manager."))
            return redirect(url_for("sales.scorecard", period_key=period.key, member=member))
        except FormflowError as error:
            status = _fail(error)
    try:
        with read() as work:
            card = scorecards.scorecard(work, period.key, member)
            names = people.display_names(work, {member})
    except FormflowError as error:
        abort(error.status)
    me = current_user()
    return render_template(
        "sales_performance/scorecard.html",
        card=card,
        period=period,
        name=names.get(member, f"#{member}"),
        may_appeal=card.status == "published" and me is not None and me.id == member,
    ), status


@blueprint.get("/kpi/<period_key>/<int:member>/<metric>")
@login_required
def scorecard_records(period_key: str, member: int, metric: str) -> Any:
    period = _period(key=period_key)
    try:
        with read() as work:
            rows = scorecards.counted_records(work, period.key, member, metric)
            names = people.display_names(work, {member})
    except (FormflowError, LookupError) as error:
        abort(getattr(error, "status", 404))
    return render_template(
        "sales_performance/records.html",
        rows=rows,
        title=f"{names.get(member, member)} · {metric} · {period.key}",
    )


# -- bonus statements -------------------------------------------------------------------------


@blueprint.get("/bonus")
@login_required
def bonus() -> Any:
    period = _period("month", request.args.get("period"))
    with read() as work:
        found = statements.list_statements(work, period.key)
        names = people.display_names(work, {s["member"] for s in found})
        runs = statements.may_run(work)
    return render_template(
        "sales_performance/bonus.html", period=period, statements=found, names=names, runs=runs
    )


@blueprint.post("/bonus/run")
@login_required
def bonus_run() -> Any:
    period = _period("month", request.form.get("period"))
    try:
        with write() as work:
            statements.run_period(work, period.key)
        flash(say("Saved."))
    except FormflowError as error:
        _fail(error)
    return redirect(url_for("sales.bonus", period=period.key))


@blueprint.get("/bonus/export")
@login_required
def bonus_export() -> Any:
    period = _period("month", request.args.get("period"))
    try:
        with read() as work:
            content, mimetype, filename = payroll.export(
                work, period.key, request.args.get("format", "csv"), reader_language()
            )
    except FormflowError as error:
        abort(error.status)
    return Response(
        content,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@blueprint.route("/bonus/<int:statement_id>", methods=["GET", "POST"])
@login_required
def bonus_statement(statement_id: int) -> Any:
    if request.method == "POST":
        try:
            with write() as work:
                statements.submit(work, statement_id)
            flash(say("Sent for approval."))
        except FormflowError as error:
            _fail(error)
        return redirect(url_for("sales.bonus_statement", statement_id=statement_id))
    try:
        with read() as work:
            found = statements.get_statement(work, statement_id)
            names = people.display_names(work, {found["member"]})
            runs = statements.may_run(work)
    except FormflowError as error:
        abort(error.status)
    for line in found["lines"]:
        line["links"] = _links(line.get("records"))
    return render_template(
        "sales_performance/statement.html",
        statement=found,
        name=names.get(found["member"], ""),
        runs=runs,
    )


def _links(text: str | None) -> list[tuple[str, str]]:
    found = []
    for part in (text or "").split(";"):
        form, values = parse_records(part)
        for record_id in list(values)[:50]:
            found.append((f"#{record_id}", url_for("records.show_record", form=f"{APP}.{form}",
                                                    record_id=record_id)))  # fmt: skip
    return found


# -- what if ----------------------------------------------------------------------------------


@blueprint.route("/estimate", methods=["GET", "POST"])
@login_required
def estimate() -> Any:
    me = current_user()
    assert me is not None
    period = _period("month", request.values.get("period"))
    result = None
    chosen = [int(v) for v in request.form.getlist("opportunity") if v.isdigit()]
    with read() as work:
        opportunities = _open_opportunities(work, me.id)
        if request.method == "POST":
            try:
                result = estimator.estimate(work, me.id, period.key, chosen)
            except FormflowError as error:
                _fail(error)
    return render_template(
        "sales_performance/estimate.html",
        period=period,
        opportunities=opportunities,
        chosen=set(chosen),
        result=result,
    )


def _open_opportunities(work: Work, member: int) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from formflow.records.models import Record
    from formflow.records.projection import field_sql
    from formflow.records.query import form_rows

    loaded = get_form(work, f"{APP}.opportunity")
    keys = loaded.spec.by_key
    if not {"owner", "stage", "amount"} <= set(keys):
        return []
    statement = (
        select(Record)
        .where(
            *form_rows(loaded.form.id),
            field_sql(keys["owner"], work.dialect) == member,
            field_sql(keys["stage"], work.dialect).not_in(["won", "lost"]),
        )
        .order_by(Record.id.desc())
        .limit(100)
    )
    from formflow.web.i18n import localized

    stages = {
        option["value"]: localized(option.get("label"), option["value"])
        for option in keys["stage"].schema.get("x-options", [])
    }
    found = []
    for record in work.session.scalars(statement):
        values = dict(from_document(loaded.spec, record.data))
        found.append(
            {
                "id": record.id,
                "name": values.get("name") or f"#{record.id}",
                "amount": values.get("amount"),
                "stage": stages.get(values.get("stage"), values.get("stage")),
                "expected_close": values.get("expected_close"),
            }
        )
    return found
